//! The network: two 3×3 convolutions with max-pooling, then two linear layers.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, Relu};
use burn::prelude::*;

use crate::data::{IMAGE_SIDE, NUM_CLASSES};

/// Side of the feature map after the two conv + pool stages: 28 → 26 → 13 → 11 → 5.
const FEATURE_SIDE: usize = ((IMAGE_SIDE - 2) / 2 - 2) / 2;

/// Layer sizes, dropout rate and how convolutions are computed.
#[derive(Config, Debug)]
pub struct CnnConfig {
    #[config(default = 16)]
    pub conv1_channels: usize,
    #[config(default = 32)]
    pub conv2_channels: usize,
    #[config(default = 128)]
    pub hidden: usize,
    #[config(default = 0.25)]
    pub dropout: f64,
    /// Use the backend's `conv2d` instead of a matrix product over image patches.
    #[config(default = false)]
    pub native_conv: bool,
}

/// `[batch, 1, 28, 28]` images in, `[batch, 10]` logits out.
///
/// conv 3×3 (1→16) → ReLU → max-pool 2 → conv 3×3 (16→32) → ReLU → max-pool 2
/// → flatten → dropout → linear (800→128) → ReLU → dropout → linear (128→10)
#[derive(Module, Debug)]
pub struct Cnn<B: Backend> {
    conv1: Conv2d<B>,
    conv2: Conv2d<B>,
    pool: MaxPool2d,
    fc1: Linear<B>,
    fc2: Linear<B>,
    dropout: Dropout,
    relu: Relu,
    native_conv: bool,
}

impl CnnConfig {
    /// Creates the model with freshly initialised weights on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Cnn<B> {
        let conv = |channels| Conv2dConfig::new(channels, [3, 3]).init(device);
        let flat = self.conv2_channels * FEATURE_SIDE * FEATURE_SIDE;
        Cnn {
            conv1: conv([1, self.conv1_channels]),
            conv2: conv([self.conv1_channels, self.conv2_channels]),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc1: LinearConfig::new(flat, self.hidden).init(device),
            fc2: LinearConfig::new(self.hidden, NUM_CLASSES).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            relu: Relu::new(),
            native_conv: self.native_conv,
        }
    }
}

impl<B: Backend> Cnn<B> {
    /// Forward pass. Dropout is only active on an autodiff backend, i.e. while training.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = self.conv(&self.conv1, images);
        let x = self.pool.forward(self.relu.forward(x));
        let x = self.conv(&self.conv2, x);
        let x = self.pool.forward(self.relu.forward(x));
        let x = self.dropout.forward(x.flatten::<2>(1, 3));
        let x = self.dropout.forward(self.relu.forward(self.fc1.forward(x)));
        self.fc2.forward(x)
    }

    fn conv(&self, layer: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
        if self.native_conv {
            layer.forward(x)
        } else {
            conv3x3_as_matmul(layer, x)
        }
    }

    /// Number of trainable scalars.
    pub fn parameter_count(&self) -> usize {
        self.num_params()
    }
}

/// Computes `layer` (a 3×3 convolution with stride 1 and no padding) as one matrix product:
/// the nine shifted views of the input are stacked into a `[batch, in·9, positions]` patch
/// matrix ("im2col") and multiplied by the `[out, in·9]` kernel matrix.
///
/// The result equals `layer.forward(x)`. It exists because backends differ in how fast they
/// differentiate `conv2d`: Burn's NdArray backend derives the kernel gradient with a direct
/// convolution whose kernel is the whole output image, which makes a training step of this
/// model more than ten times slower than this form, whose gradient is only slicing and
/// matrix products. `--native-conv` switches back to `layer.forward`.
fn conv3x3_as_matmul<B: Backend>(layer: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [batch, channels, height, width] = x.dims();
    let (out_height, out_width) = (height - 2, width - 2);
    let shifted: Vec<Tensor<B, 4>> = (0..3)
        .flat_map(|dy| (0..3).map(move |dx| (dy, dx)))
        .map(|(dy, dx)| {
            x.clone().slice([
                0..batch,
                0..channels,
                dy..dy + out_height,
                dx..dx + out_width,
            ])
        })
        .collect();
    // [batch, in, 9, h, w] → [batch, in·9, h·w]; the row order (channel, then dy, dx) matches
    // the kernel's [out, in, 3, 3] layout flattened to [out, in·9].
    let patches: Tensor<B, 5> = Tensor::stack(shifted, 2);
    let patches: Tensor<B, 3> = patches.reshape([batch, channels * 9, out_height * out_width]);

    let [out_channels, ..] = layer.weight.dims();
    let kernel: Tensor<B, 3> = layer.weight.val().reshape([1, out_channels, channels * 9]);
    let mut y = kernel.matmul(patches);
    if let Some(bias) = &layer.bias {
        y = y + bias.val().reshape([1, out_channels, 1]);
    }
    y.reshape([batch, out_channels, out_height, out_width])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};
    use burn_ndarray::NdArray;

    #[test]
    fn matmul_convolution_matches_conv2d() {
        let device = Default::default();
        for [c_in, c_out, side] in [[1, 4, 7], [3, 5, 6]] {
            let layer = Conv2dConfig::new([c_in, c_out], [3, 3]).init::<NdArray>(&device);
            let x =
                Tensor::<NdArray, 4>::random([2, c_in, side, side], Distribution::Default, &device);
            let expected = layer.forward(x.clone()).into_data();
            conv3x3_as_matmul(&layer, x)
                .into_data()
                .assert_approx_eq::<f32>(&expected, Tolerance::default());
        }
    }
}
