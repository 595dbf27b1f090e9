//! The network: two 3×3 convolutions with max-pooling, then two linear layers.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, Relu};
use burn::prelude::*;

use crate::data::{IMAGE_SIDE, NUM_CLASSES};

/// Side of the feature map after the two conv + pool stages: 28 → 26 → 13 → 11 → 5.
const FEATURE_SIDE: usize = ((IMAGE_SIDE - 2) / 2 - 2) / 2;

/// Layer sizes and dropout rate.
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
        }
    }
}

impl<B: Backend> Cnn<B> {
    /// Forward pass. Dropout is only active on an autodiff backend, i.e. while training.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = self.conv1.forward(images);
        let x = self.pool.forward(self.relu.forward(x));
        let x = self.conv2.forward(x);
        let x = self.pool.forward(self.relu.forward(x));
        let x = self.dropout.forward(x.flatten::<2>(1, 3));
        let x = self.dropout.forward(self.relu.forward(self.fc1.forward(x)));
        self.fc2.forward(x)
    }

    /// Number of trainable scalars.
    pub fn parameter_count(&self) -> usize {
        self.num_params()
    }
}
