//! Max pooling on `Mlx` against `NdArray`: values and indices, 1-d and 2-d, forward and backward
//! (through `Autodiff`), over many window options, ties, NaN and infinities, non-contiguous
//! inputs and a convolution's (channels-last) results, at small sizes and at sizes that take the
//! CPU's bit-level selections.

use crate::common;
use crate::pool::{Layout, input, ties};

use burn::tensor::Int;
use burn::tensor::module::{
    conv2d, max_pool1d, max_pool1d_with_indices, max_pool2d, max_pool2d_with_indices,
};
use burn::tensor::ops::ConvOptions;
use common::*;

/// `x` itself for every layout but [`Layout::ConvOutput`], where it becomes the result of a
/// depthwise 1×1 convolution with weight 1: the same values, channels-last in memory.
fn through_layout<B: Backend>(x: Tensor<B, 4>, layout: Layout) -> Tensor<B, 4> {
    let Layout::ConvOutput = layout else {
        return x;
    };
    let channels = x.dims()[1];
    let ones = Tensor::<B, 4>::ones([channels, 1, 1, 1], (&x.device(), x.dtype()));
    conv2d(
        x,
        ones,
        None,
        ConvOptions::new([1, 1], [0, 0], [1, 1], channels),
    )
}

// ---- max pooling --------------------------------------------------------------------------------

#[derive(Clone)]
struct MaxPool2 {
    x: TensorData,
    layout: Layout,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    ceil: bool,
}

impl Case for MaxPool2 {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = input::<B, 4>(&self.x, self.layout, device, dtype);
        let x = through_layout(x, self.layout);
        let plain = max_pool2d(
            x.clone(),
            self.kernel,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil,
        );
        let (out, idx) = max_pool2d_with_indices(
            x,
            self.kernel,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil,
        );
        vec![plain.into_data(), out.into_data(), idx.into_data()]
    }
}

impl GradCase for MaxPool2 {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = input::<B, 4>(&self.x, self.layout, device, dtype).require_grad();
        let out = max_pool2d(
            through_layout(x.clone(), self.layout),
            self.kernel,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil,
        );
        let w = tensor::<B, 4>(&floats_exact(out.dims(), 99), device, dtype);
        let g1 = grad_of(&x, out.clone(), w.clone());
        // The same through the op returning indices.
        // (A backward pass consumes the graph behind it: the layout's op is made again.)
        let (out2, _) = max_pool2d_with_indices(
            through_layout(x.clone(), self.layout),
            self.kernel,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil,
        );
        let g2 = grad_of(&x, out2, w);
        vec![out.into_data(), g1, g2]
    }
}

/// (shape, kernel, stride, padding, dilation, ceil_mode)
type MaxConfig = (
    [usize; 4],
    [usize; 2],
    [usize; 2],
    [usize; 2],
    [usize; 2],
    bool,
);

const MAX_CONFIGS: &[MaxConfig] = &[
    ([2, 3, 7, 9], [3, 3], [2, 2], [1, 1], [1, 1], false),
    ([2, 3, 7, 9], [3, 3], [2, 2], [1, 1], [1, 1], true),
    ([1, 2, 8, 8], [2, 2], [2, 2], [0, 0], [1, 1], false),
    ([2, 2, 9, 7], [2, 3], [1, 2], [1, 0], [2, 1], false),
    ([1, 3, 10, 11], [3, 2], [3, 2], [1, 1], [2, 2], true),
    ([3, 1, 5, 5], [5, 5], [1, 1], [2, 2], [1, 1], false),
    ([1, 1, 1, 1], [1, 1], [1, 1], [0, 0], [1, 1], false),
    ([2, 4, 6, 13], [1, 4], [1, 3], [0, 2], [1, 1], true),
    ([1, 2, 6, 6], [2, 2], [2, 2], [1, 1], [1, 1], true),
    ([2, 1, 12, 5], [3, 1], [2, 1], [1, 0], [3, 1], false),
    ([1, 5, 4, 4], [4, 4], [4, 4], [0, 0], [1, 1], false),
    // Tiling windows that leave the last row and column unread, and 3x3 tiles.
    ([2, 3, 7, 9], [2, 2], [2, 2], [0, 0], [1, 1], false),
    ([1, 2, 9, 6], [3, 3], [3, 3], [0, 0], [1, 1], false),
];

#[test]
fn max_pool2d_forward() {
    for (i, &(shape, kernel, stride, padding, dilation, ceil)) in MAX_CONFIGS.iter().enumerate() {
        let case = MaxPool2 {
            x: floats_exact(shape, i as u64),
            layout: Layout::Contiguous,
            kernel,
            stride,
            padding,
            dilation,
            ceil,
        };
        for prec in ALL_PRECS {
            check_tol(format!("max_pool2d #{i}"), prec, prec.tight_tol(), &case);
        }
    }
}

#[test]
fn max_pool2d_backward() {
    for (i, &(shape, kernel, stride, padding, dilation, ceil)) in MAX_CONFIGS.iter().enumerate() {
        let case = MaxPool2 {
            x: floats_exact(shape, 100 + i as u64),
            layout: Layout::Contiguous,
            kernel,
            stride,
            padding,
            dilation,
            ceil,
        };
        for prec in ALL_PRECS {
            check_grad_tol(
                format!("max_pool2d backward #{i}"),
                prec,
                prec.tight_tol(),
                &case,
            );
        }
    }
}

#[test]
fn max_pool2d_ties_pick_the_first_maximum() {
    // Few distinct values: most windows hold several maxima; Burn takes the first (row by row).
    for (i, &(shape, kernel, stride, padding, dilation, ceil)) in MAX_CONFIGS.iter().enumerate() {
        let case = MaxPool2 {
            x: ties(shape, 200 + i as u64),
            layout: Layout::Contiguous,
            kernel,
            stride,
            padding,
            dilation,
            ceil,
        };
        check_tol(
            format!("max_pool2d ties #{i}"),
            Prec::F32,
            Prec::F32.tight_tol(),
            &case,
        );
        check_grad_tol(
            format!("max_pool2d ties backward #{i}"),
            Prec::F32,
            Prec::F32.tight_tol(),
            &case,
        );
    }
}

#[test]
fn max_pool2d_non_contiguous_inputs() {
    for layout in [
        Layout::Swapped,
        Layout::Permuted,
        Layout::Stepped,
        Layout::ConvOutput,
    ] {
        for (i, &(shape, kernel, stride, padding, dilation, ceil)) in
            MAX_CONFIGS.iter().enumerate().take(5)
        {
            let case = MaxPool2 {
                x: floats_exact(shape, 300 + i as u64),
                layout,
                kernel,
                stride,
                padding,
                dilation,
                ceil,
            };
            check_tol(
                format!("max_pool2d {layout:?} #{i}"),
                Prec::F32,
                Prec::F32.tight_tol(),
                &case,
            );
            check_grad_tol(
                format!("max_pool2d backward {layout:?} #{i}"),
                Prec::F32,
                Prec::F32.tight_tol(),
                &case,
            );
        }
    }
}

/// `x` with `-inf` at the flat `positions`.
fn with_neg_inf(x: &TensorData, positions: &[usize]) -> TensorData {
    let mut v = x.to_vec::<f32>().unwrap();
    for &i in positions {
        v[i] = f32::NEG_INFINITY;
    }
    TensorData::new(v, x.shape.clone())
}

/// Values and indices, then the input gradient, of `case` against burn-ndarray, exactly.
fn check_exact(label: &str, case: &MaxPool2) {
    check_tol(label, Prec::F32, Prec::F32.tight_tol(), case);
    check_grad_tol(
        format!("{label} backward"),
        Prec::F32,
        Prec::F32.tight_tol(),
        case,
    );
}

#[test]
fn max_pool2d_windows_of_padding_only() {
    // With ceil_mode, Burn's last window can lie in the padding (and past it): its maximum is
    // -inf and its index 0. Inputs of -inf give index 0 too.
    let x = floats_exact([1, 2, 5, 5], 7);
    let case = MaxPool2 {
        x: x.clone(),
        layout: Layout::Contiguous,
        kernel: [2, 2],
        stride: [2, 2],
        padding: [1, 1],
        dilation: [1, 1],
        ceil: true,
    };
    check_exact("max_pool2d padding-only windows", &case);
    let case = MaxPool2 {
        x: with_neg_inf(&x, &[0, 1, 5, 6, 30, 31, 35, 36]),
        ..case
    };
    check_tol(
        "max_pool2d -inf inputs",
        Prec::F32,
        Prec::F32.tight_tol(),
        &case,
    );
    // Tiling windows (stride = kernel, no padding) whose values are all -inf, one of them away
    // from the origin: index 0 all the same.
    let case = MaxPool2 {
        x: with_neg_inf(&case.x, &[12, 13, 17, 18, 25, 26, 30, 31]),
        padding: [0, 0],
        ceil: false,
        ..case
    };
    check_exact("max_pool2d -inf tiling windows", &case);
}

#[test]
fn max_pool2d_passes_over_nan() {
    // Burn's reference backend only takes values strictly above the running maximum, so NaN
    // never wins a window (unless nothing else is there: then -inf and index 0).
    let mut v = floats_exact([2, 2, 6, 7], 9).to_vec::<f32>().unwrap();
    for i in [
        0, 3, 10, 11, 17, 18, 24, 25, 40, 41, 42, 48, 49, 50, 55, 56, 57, 90,
    ] {
        v[i] = f32::NAN;
    }
    let x = TensorData::new(v, [2, 2, 6, 7]);
    for (kernel, stride, padding, ceil, layout) in [
        ([2, 2], [2, 2], [0, 0], false, Layout::Contiguous),
        ([3, 3], [1, 2], [1, 1], true, Layout::Contiguous),
        ([2, 2], [2, 2], [0, 0], false, Layout::ConvOutput),
        ([3, 3], [1, 2], [1, 1], true, Layout::ConvOutput),
    ] {
        let case = MaxPool2 {
            x: x.clone(),
            layout,
            kernel,
            stride,
            padding,
            dilation: [1, 1],
            ceil,
        };
        check_tol(
            format!("max_pool2d NaN {kernel:?} {layout:?}"),
            Prec::F32,
            Prec::F32.tight_tol(),
            &case,
        );
        check_grad_tol(
            format!("max_pool2d NaN backward {kernel:?} {layout:?}"),
            Prec::F32,
            Prec::F32.tight_tol(),
            &case,
        );
    }
}

#[test]
fn max_pool2d_indices_in_the_backend_int_dtype() {
    let device = mlx_device();
    let x = Tensor::<Mlx<f32, i64>, 4>::from_data(floats_exact([1, 2, 5, 6], 3), &device);
    let (_, idx) = max_pool2d_with_indices(x, [2, 2], [1, 2], [0, 1], [1, 1], false);
    assert_eq!(idx.dtype(), DType::I64);
    let expected = max_pool2d_with_indices(
        Tensor::<Nd, 4>::from_data(floats_exact([1, 2, 5, 6], 3), &Default::default()),
        [2, 2],
        [1, 2],
        [0, 1],
        [1, 1],
        false,
    )
    .1;
    assert_data_close(
        "i64 indices",
        &idx.into_data(),
        &expected.into_data(),
        Tol::EXACT,
    );
}

#[derive(Clone)]
struct MaxPool1 {
    x: TensorData,
    layout: Layout,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
    ceil: bool,
}

impl Case for MaxPool1 {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = input::<B, 3>(&self.x, self.layout, device, dtype);
        let plain = max_pool1d(
            x.clone(),
            self.kernel,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil,
        );
        let (out, idx) = max_pool1d_with_indices(
            x,
            self.kernel,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil,
        );
        vec![plain.into_data(), out.into_data(), idx.into_data()]
    }
}

impl GradCase for MaxPool1 {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = input::<B, 3>(&self.x, self.layout, device, dtype).require_grad();
        let out = max_pool1d(
            x.clone(),
            self.kernel,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil,
        );
        let w = tensor::<B, 3>(&floats_exact(out.dims(), 98), device, dtype);
        let g1 = grad_of(&x, out.clone(), w.clone());
        let (out2, _) = max_pool1d_with_indices(
            x.clone(),
            self.kernel,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil,
        );
        let g2 = grad_of(&x, out2, w);
        vec![out.into_data(), g1, g2]
    }
}

/// (shape, kernel, stride, padding, dilation, ceil_mode)
type Max1Config = ([usize; 3], usize, usize, usize, usize, bool);

const MAX1_CONFIGS: &[Max1Config] = &[
    ([2, 3, 11], 3, 2, 1, 1, false),
    ([2, 3, 11], 3, 2, 1, 1, true),
    ([1, 2, 10], 2, 2, 0, 1, false),
    ([3, 1, 13], 3, 1, 2, 2, false),
    ([1, 4, 9], 4, 3, 2, 1, true),
    ([1, 1, 1], 1, 1, 0, 1, false),
    ([2, 2, 5], 2, 2, 1, 1, true),
];

#[test]
fn max_pool1d_forward_and_backward() {
    for (i, &(shape, kernel, stride, padding, dilation, ceil)) in MAX1_CONFIGS.iter().enumerate() {
        for (layout, seed) in [
            (Layout::Contiguous, 0),
            (Layout::Permuted, 50),
            (Layout::Stepped, 70),
        ] {
            let case = MaxPool1 {
                x: floats_exact(shape, 400 + seed + i as u64),
                layout,
                kernel,
                stride,
                padding,
                dilation,
                ceil,
            };
            for prec in ALL_PRECS {
                check_tol(
                    format!("max_pool1d {layout:?} #{i}"),
                    prec,
                    prec.tight_tol(),
                    &case,
                );
                check_grad_tol(
                    format!("max_pool1d backward {layout:?} #{i}"),
                    prec,
                    prec.tight_tol(),
                    &case,
                );
            }
        }
        let case = MaxPool1 {
            x: ties(shape, 450 + i as u64),
            layout: Layout::Contiguous,
            kernel,
            stride,
            padding,
            dilation,
            ceil,
        };
        check_tol(
            format!("max_pool1d ties #{i}"),
            Prec::F32,
            Prec::F32.tight_tol(),
            &case,
        );
        check_grad_tol(
            format!("max_pool1d ties backward #{i}"),
            Prec::F32,
            Prec::F32.tight_tol(),
            &case,
        );
    }
}

/// Max pooling (after a ReLU, or of the raw values), forward and backward, on images large
/// enough for the CPU's bit-level selections (at least 16384 elements per selection), with ties
/// and infinities among the values (and NaN where no ReLU comes first: ReLU's NaN is
/// backend-defined): plain and as a convolution's (channels-last) result.
#[derive(Clone)]
struct ReluPool {
    x: TensorData,
    relu: bool,
    layout: Layout,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
}

impl ReluPool {
    fn forward<B: Backend>(&self, x: Tensor<B, 4>) -> (Tensor<B, 4>, Tensor<B, 4, Int>) {
        let x = through_layout(x, self.layout);
        let x = if self.relu {
            burn::tensor::activation::relu(x)
        } else {
            x
        };
        max_pool2d_with_indices(x, self.kernel, self.stride, self.padding, [1, 1], false)
    }
}

impl Case for ReluPool {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let x = input::<B, 4>(&self.x, Layout::Contiguous, &cx.dev, cx.dtype());
        let (out, idx) = self.forward(x);
        vec![out.into_data(), idx.into_data()]
    }
}

impl GradCase for ReluPool {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = input::<B, 4>(&self.x, Layout::Contiguous, device, dtype).require_grad();
        let (out, _) = self.forward(x.clone());
        let w = tensor::<B, 4>(&floats_exact(out.dims(), 98), device, dtype);
        vec![out.clone().into_data(), grad_of(&x, out, w)]
    }
}

#[test]
fn relu_and_max_pool2d_on_large_images() {
    let shape = [2, 16, 64, 64];
    let with = |specials: &[f32]| {
        let mut v = ties(shape, 21).to_vec::<f32>().unwrap();
        for (k, &special) in specials.iter().enumerate() {
            for i in (k * 13..v.len()).step_by(89) {
                v[i] = special;
            }
        }
        TensorData::new(v, shape)
    };
    for relu in [true, false] {
        let x = if relu {
            with(&[f32::INFINITY, f32::NEG_INFINITY])
        } else {
            with(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0])
        };
        for layout in [Layout::Contiguous, Layout::ConvOutput] {
            for (kernel, stride, padding) in [([2, 2], [2, 2], [0, 0]), ([3, 3], [2, 2], [1, 1])] {
                let case = ReluPool {
                    x: x.clone(),
                    relu,
                    layout,
                    kernel,
                    stride,
                    padding,
                };
                let label = format!("relu {relu} + max_pool2d {kernel:?} {layout:?}");
                check_tol(&label, Prec::F32, Prec::F32.tight_tol(), &case);
                check_grad_tol(
                    format!("{label} backward"),
                    Prec::F32,
                    Prec::F32.tight_tol(),
                    &case,
                );
            }
        }
    }
}

#[test]
fn max_pool2d_backward_with_indices_from_data() {
    // Indices the caller made (not the backend's own pooling): repeated positions add up, a
    // negative one counts from the end (as MLX's indices do), and positions outside the input
    // are dropped instead of writing outside the result.
    fn run<B: Backend>(indices: Vec<i32>, device: &B::Device) -> TensorData {
        let x: Tensor<B, 4> = Tensor::zeros([1, 2, 4, 4], device);
        let grad: Tensor<B, 4> = tensor(
            &TensorData::new((1..=8).map(|v| v as f32).collect::<Vec<_>>(), [1, 2, 2, 2]),
            device,
            DType::F32,
        );
        let indices =
            Tensor::<B, 4, Int>::from_data(TensorData::new(indices, [1, 2, 2, 2]), device);
        let back = B::max_pool2d_with_indices_backward(
            x.into_primitive().tensor(),
            [2, 2],
            [2, 2],
            [0, 0],
            [1, 1],
            false,
            grad.into_primitive().tensor(),
            indices.into_primitive(),
        );
        Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(back.x_grad)).into_data()
    }
    let in_range = vec![0, 0, 15, 5, 3, 3, 3, 12];
    assert_data_close(
        "max_pool2d backward, caller's indices",
        &run::<M>(in_range.clone(), &mlx_device()),
        &run::<Nd>(in_range, &Default::default()),
        Prec::F32.tight_tol(),
    );
    let outside = run::<M>(vec![0, 16, -1, 5, 1000, 3, -70000, 12], &mlx_device());
    let mut expected = vec![0.0f32; 32];
    for (grad, position) in [(1.0, 0), (3.0, 15), (4.0, 5), (6.0, 16 + 3), (8.0, 16 + 12)] {
        expected[position] += grad;
    }
    assert_eq!(outside.to_vec::<f32>().unwrap(), expected);
}
