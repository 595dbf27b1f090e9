//! Pooling on `Mlx` against `NdArray`: average and adaptive average, 1-d and 2-d, forward and
//! backward (through `Autodiff`), over many window options, every float precision,
//! non-contiguous inputs, and Burn's pooling modules; the input layouts every pooling test uses
//! (max pooling's tests are in `max_pool`).

use crate::common;

use burn::nn::pool::{
    AdaptiveAvgPool1dConfig, AdaptiveAvgPool2dConfig, AvgPool1dConfig, AvgPool2dConfig,
    MaxPool1dConfig, MaxPool2dConfig,
};
use burn::nn::{PaddingConfig1d, PaddingConfig2d};
use burn::tensor::Slice;
use burn::tensor::module::{
    adaptive_avg_pool1d, adaptive_avg_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d,
    max_pool2d_with_indices,
};
use common::*;

/// How the input reaches the op: as created, or through a non-contiguous view of the same
/// logical values.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Layout {
    Contiguous,
    /// Created with the spatial axes swapped, then swapped back.
    Swapped,
    /// Created as [H, W, N, C] (or [L, N, C]) and permuted into place.
    Permuted,
    /// Every other column of a twice-as-wide tensor whose other columns are large decoys, read
    /// backwards (a slice with step -2).
    Stepped,
    /// The result of a depthwise 1×1 convolution with weight 1 (exact, NaN and infinities
    /// included): channels-last in memory, as a convolution's results are (see
    /// `max_pool::through_layout`).
    ConvOutput,
}

/// The logical NCHW (or NCL) input of `data`, through `layout`.
pub(crate) fn input<B: Backend, const D: usize>(
    data: &TensorData,
    layout: Layout,
    device: &B::Device,
    dtype: DType,
) -> Tensor<B, D> {
    let x = tensor::<B, D>(data, device, dtype);
    match layout {
        Layout::Contiguous => x,
        Layout::Swapped => {
            // Store the transposed values, then view them transposed back.
            let t = x.swap_dims(D - 2, D - 1);
            let stored = Tensor::<B, D>::from_data(t.into_data(), (device, dtype));
            stored.swap_dims(D - 2, D - 1)
        }
        Layout::Permuted => {
            let (to, back): (Vec<usize>, Vec<usize>) = if D == 4 {
                (vec![2, 3, 0, 1], vec![2, 3, 0, 1])
            } else {
                (vec![2, 0, 1], vec![1, 2, 0])
            };
            let to: [usize; D] = to.try_into().unwrap();
            let back: [usize; D] = back.try_into().unwrap();
            let stored = Tensor::<B, D>::from_data(x.permute(to).into_data(), (device, dtype));
            stored.permute(back)
        }
        Layout::Stepped => {
            // stored[..., 2j + 1] = x[..., L - 1 - j]; stored[..., 2j] = decoy.
            let shape = data.shape.clone();
            let len = shape[D - 1];
            let v = data.to_vec::<f32>().unwrap();
            let mut wide = Vec::with_capacity(v.len() * 2);
            for row in v.chunks(len) {
                for j in 0..len {
                    wide.push(1000.0 + j as f32);
                    wide.push(row[len - 1 - j]);
                }
            }
            let mut wide_shape = shape.clone();
            wide_shape[D - 1] = 2 * len;
            let stored =
                Tensor::<B, D>::from_data(TensorData::new(wide, wide_shape), (device, dtype));
            let mut slices = [Slice::new(0, None, 1); D];
            slices[D - 1] = Slice::new(0, None, -2);
            stored.slice(slices)
        }
        // Made by `max_pool::through_layout`, from the contiguous input.
        Layout::ConvOutput => x,
    }
}

/// Values from a few levels only: many ties.
pub(crate) fn ties<const D: usize>(shape: [usize; D], seed: u64) -> TensorData {
    floats_from(shape, seed, &[-1.0, 0.0, 1.0, 2.0])
}

// ---- average pooling ----------------------------------------------------------------------------

#[derive(Clone)]
struct AvgPool2 {
    x: TensorData,
    layout: Layout,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    count_include_pad: bool,
    ceil: bool,
}

impl Case for AvgPool2 {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = input::<B, 4>(&self.x, self.layout, device, dtype);
        vec![
            avg_pool2d(
                x,
                self.kernel,
                self.stride,
                self.padding,
                self.count_include_pad,
                self.ceil,
            )
            .into_data(),
        ]
    }
}

impl GradCase for AvgPool2 {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = input::<B, 4>(&self.x, self.layout, device, dtype).require_grad();
        let out = avg_pool2d(
            x.clone(),
            self.kernel,
            self.stride,
            self.padding,
            self.count_include_pad,
            self.ceil,
        );
        let w = tensor::<B, 4>(&floats_exact(out.dims(), 97), device, dtype);
        let g = grad_of(&x, out.clone(), w);
        vec![out.into_data(), g]
    }
}

/// (shape, kernel, stride, padding); each runs with every count_include_pad and ceil_mode.
type AvgConfig = ([usize; 4], [usize; 2], [usize; 2], [usize; 2]);

const AVG_CONFIGS: &[AvgConfig] = &[
    ([2, 3, 7, 9], [3, 3], [2, 2], [1, 1]),
    ([1, 2, 8, 8], [2, 2], [2, 2], [0, 0]),
    ([2, 2, 9, 7], [2, 3], [1, 2], [1, 0]),
    ([1, 3, 10, 11], [3, 2], [3, 2], [1, 1]),
    ([3, 1, 5, 5], [5, 5], [1, 1], [2, 2]),
    ([1, 1, 1, 1], [1, 1], [1, 1], [0, 0]),
    ([2, 4, 6, 13], [1, 4], [1, 3], [0, 2]),
    ([1, 2, 11, 6], [4, 3], [3, 3], [2, 1]),
    ([2, 1, 4, 4], [4, 4], [4, 4], [0, 0]),
    ([1, 2, 12, 12], [3, 3], [1, 1], [1, 1]),
];

#[test]
fn avg_pool2d_forward() {
    for (i, &(shape, kernel, stride, padding)) in AVG_CONFIGS.iter().enumerate() {
        for count_include_pad in [true, false] {
            for ceil in [false, true] {
                let case = AvgPool2 {
                    x: floats_exact(shape, 500 + i as u64),
                    layout: Layout::Contiguous,
                    kernel,
                    stride,
                    padding,
                    count_include_pad,
                    ceil,
                };
                for prec in ALL_PRECS {
                    check_tol(
                        format!("avg_pool2d #{i} include_pad={count_include_pad} ceil={ceil}"),
                        prec,
                        prec.tight_tol(),
                        &case,
                    );
                }
            }
        }
    }
}

#[test]
fn avg_pool2d_backward() {
    for (i, &(shape, kernel, stride, padding)) in AVG_CONFIGS.iter().enumerate() {
        for count_include_pad in [true, false] {
            for ceil in [false, true] {
                let case = AvgPool2 {
                    x: floats_exact(shape, 600 + i as u64),
                    layout: Layout::Contiguous,
                    kernel,
                    stride,
                    padding,
                    count_include_pad,
                    ceil,
                };
                for prec in ALL_PRECS {
                    check_grad_tol(
                        format!(
                            "avg_pool2d backward #{i} include_pad={count_include_pad} ceil={ceil}"
                        ),
                        prec,
                        prec.tight_tol(),
                        &case,
                    );
                }
            }
        }
    }
}

#[test]
fn avg_pool2d_non_contiguous_inputs() {
    for layout in [Layout::Swapped, Layout::Permuted, Layout::Stepped] {
        for (i, &(shape, kernel, stride, padding)) in AVG_CONFIGS.iter().enumerate().take(4) {
            let case = AvgPool2 {
                x: floats_exact(shape, 700 + i as u64),
                layout,
                kernel,
                stride,
                padding,
                count_include_pad: false,
                ceil: true,
            };
            check_tol(
                format!("avg_pool2d {layout:?} #{i}"),
                Prec::F32,
                Prec::F32.tight_tol(),
                &case,
            );
            check_grad_tol(
                format!("avg_pool2d backward {layout:?} #{i}"),
                Prec::F32,
                Prec::F32.tight_tol(),
                &case,
            );
        }
    }
}

#[test]
fn avg_pool2d_window_of_padding_only() {
    // ceil_mode's last window covers one padding position and one past it: the divisor is 1
    // with count_include_pad (the average is 0) and 0 without (0 / 0 = NaN), as in Burn.
    for count_include_pad in [true, false] {
        let case = AvgPool2 {
            x: floats_exact([1, 2, 5, 5], 8),
            layout: Layout::Contiguous,
            kernel: [2, 2],
            stride: [2, 2],
            padding: [1, 1],
            count_include_pad,
            ceil: true,
        };
        check_tol(
            format!("avg_pool2d padding-only window include_pad={count_include_pad}"),
            Prec::F32,
            Prec::F32.tight_tol(),
            &case,
        );
        check_grad_tol(
            format!("avg_pool2d padding-only window backward include_pad={count_include_pad}"),
            Prec::F32,
            Prec::F32.tight_tol(),
            &case,
        );
    }
}

#[derive(Clone)]
struct AvgPool1 {
    x: TensorData,
    layout: Layout,
    kernel: usize,
    stride: usize,
    padding: usize,
    count_include_pad: bool,
    ceil: bool,
}

impl Case for AvgPool1 {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = input::<B, 3>(&self.x, self.layout, device, dtype);
        vec![
            avg_pool1d(
                x,
                self.kernel,
                self.stride,
                self.padding,
                self.count_include_pad,
                self.ceil,
            )
            .into_data(),
        ]
    }
}

impl GradCase for AvgPool1 {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = input::<B, 3>(&self.x, self.layout, device, dtype).require_grad();
        let out = avg_pool1d(
            x.clone(),
            self.kernel,
            self.stride,
            self.padding,
            self.count_include_pad,
            self.ceil,
        );
        let w = tensor::<B, 3>(&floats_exact(out.dims(), 96), device, dtype);
        let g = grad_of(&x, out.clone(), w);
        vec![out.into_data(), g]
    }
}

#[test]
fn avg_pool1d_forward_and_backward() {
    let configs: &[([usize; 3], usize, usize, usize)] = &[
        ([2, 3, 11], 3, 2, 1),
        ([1, 2, 10], 2, 2, 0),
        ([3, 1, 13], 4, 3, 2),
        ([1, 1, 1], 1, 1, 0),
        ([2, 2, 9], 5, 1, 2),
    ];
    for (i, &(shape, kernel, stride, padding)) in configs.iter().enumerate() {
        for count_include_pad in [true, false] {
            for ceil in [false, true] {
                for (layout, seed) in [
                    (Layout::Contiguous, 0),
                    (Layout::Permuted, 50),
                    (Layout::Stepped, 70),
                ] {
                    let case = AvgPool1 {
                        x: floats_exact(shape, 800 + seed + i as u64),
                        layout,
                        kernel,
                        stride,
                        padding,
                        count_include_pad,
                        ceil,
                    };
                    let name = format!(
                        "avg_pool1d {layout:?} #{i} include_pad={count_include_pad} ceil={ceil}"
                    );
                    for prec in ALL_PRECS {
                        check_tol(&name, prec, prec.tight_tol(), &case);
                        check_grad_tol(&name, prec, prec.tight_tol(), &case);
                    }
                }
            }
        }
    }
}

// ---- adaptive average pooling -------------------------------------------------------------------

#[derive(Clone)]
struct Adaptive2 {
    x: TensorData,
    layout: Layout,
    out: [usize; 2],
}

impl Case for Adaptive2 {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = input::<B, 4>(&self.x, self.layout, device, dtype);
        vec![adaptive_avg_pool2d(x, self.out).into_data()]
    }
}

impl GradCase for Adaptive2 {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = input::<B, 4>(&self.x, self.layout, device, dtype).require_grad();
        let out = adaptive_avg_pool2d(x.clone(), self.out);
        let w = tensor::<B, 4>(&floats_exact(out.dims(), 95), device, dtype);
        let g = grad_of(&x, out.clone(), w);
        vec![out.into_data(), g]
    }
}

/// Input size -> output size pairs: even splits, uneven and overlapping windows, global
/// pooling, identity, and outputs larger than inputs.
const ADAPTIVE_SIZES: &[(usize, usize)] = &[
    (8, 4),
    (7, 3),
    (5, 5),
    (10, 3),
    (3, 5),
    (1, 1),
    (9, 1),
    (6, 4),
    (1, 3),
    (13, 6),
];

#[test]
fn adaptive_avg_pool2d_forward_and_backward() {
    for (i, &(h, oh)) in ADAPTIVE_SIZES.iter().enumerate() {
        let (w, ow) = ADAPTIVE_SIZES[(i * 3 + 1) % ADAPTIVE_SIZES.len()];
        let case = Adaptive2 {
            x: floats_exact([2, 3, h, w], 900 + i as u64),
            layout: Layout::Contiguous,
            out: [oh, ow],
        };
        let name = format!("adaptive_avg_pool2d {h}x{w} -> {oh}x{ow}");
        for prec in ALL_PRECS {
            check_tol(&name, prec, prec.tight_tol(), &case);
            check_grad_tol(&name, prec, prec.tight_tol(), &case);
        }
        for layout in [Layout::Permuted, Layout::Stepped] {
            let case = Adaptive2 {
                layout,
                ..case.clone()
            };
            check_tol(
                format!("{name} {layout:?}"),
                Prec::F32,
                Prec::F32.tight_tol(),
                &case,
            );
            check_grad_tol(
                format!("{name} {layout:?}"),
                Prec::F32,
                Prec::F32.tight_tol(),
                &case,
            );
        }
    }
}

#[derive(Clone)]
struct Adaptive1 {
    x: TensorData,
    layout: Layout,
    out: usize,
}

impl Case for Adaptive1 {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = input::<B, 3>(&self.x, self.layout, device, dtype);
        vec![adaptive_avg_pool1d(x, self.out).into_data()]
    }
}

impl GradCase for Adaptive1 {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = input::<B, 3>(&self.x, self.layout, device, dtype).require_grad();
        let out = adaptive_avg_pool1d(x.clone(), self.out);
        let w = tensor::<B, 3>(&floats_exact(out.dims(), 94), device, dtype);
        let g = grad_of(&x, out.clone(), w);
        vec![out.into_data(), g]
    }
}

#[test]
fn adaptive_avg_pool1d_forward_and_backward() {
    for (i, &(l, o)) in ADAPTIVE_SIZES.iter().enumerate() {
        for layout in [Layout::Contiguous, Layout::Permuted, Layout::Stepped] {
            let case = Adaptive1 {
                x: floats_exact([2, 3, l], 1000 + i as u64),
                layout,
                out: o,
            };
            let name = format!("adaptive_avg_pool1d {l} -> {o} {layout:?}");
            for prec in ALL_PRECS {
                check_tol(&name, prec, prec.tight_tol(), &case);
                check_grad_tol(&name, prec, prec.tight_tol(), &case);
            }
        }
    }
}

// ---- Burn's pooling modules ---------------------------------------------------------------------

struct Modules {
    x4: TensorData,
    x3: TensorData,
}

impl Modules {
    fn outputs<B: Backend>(
        &self,
        x4: Tensor<B, 4>,
        x3: Tensor<B, 3>,
    ) -> (Vec<Tensor<B, 4>>, Vec<Tensor<B, 3>>) {
        let two = vec![
            MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init()
                .forward(x4.clone()),
            MaxPool2dConfig::new([2, 3])
                .with_strides([1, 1])
                .with_padding(PaddingConfig2d::Same)
                .init()
                .forward(x4.clone()),
            MaxPool2dConfig::new([2, 2])
                .with_dilation([2, 1])
                .with_ceil_mode(true)
                .init()
                .forward(x4.clone()),
            AvgPool2dConfig::new([3, 3])
                .with_strides([2, 1])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init()
                .forward(x4.clone()),
            AvgPool2dConfig::new([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_count_include_pad(false)
                .with_ceil_mode(true)
                .init()
                .forward(x4.clone()),
            AvgPool2dConfig::new([3, 3])
                .with_strides([1, 1])
                .with_padding(PaddingConfig2d::Same)
                .init()
                .forward(x4.clone()),
            AdaptiveAvgPool2dConfig::new([3, 4])
                .init()
                .forward(x4.clone()),
            AdaptiveAvgPool2dConfig::new([1, 1]).init().forward(x4),
        ];
        let one = vec![
            MaxPool1dConfig::new(3)
                .with_stride(2)
                .with_padding(PaddingConfig1d::Explicit(1, 1))
                .init()
                .forward(x3.clone()),
            MaxPool1dConfig::new(2)
                .with_stride(1)
                .with_padding(PaddingConfig1d::Same)
                .with_dilation(2)
                .init()
                .forward(x3.clone()),
            AvgPool1dConfig::new(3)
                .with_stride(2)
                .with_padding(PaddingConfig1d::Explicit(1, 1))
                .with_count_include_pad(false)
                .init()
                .forward(x3.clone()),
            AvgPool1dConfig::new(4)
                .with_ceil_mode(true)
                .init()
                .forward(x3.clone()),
            AdaptiveAvgPool1dConfig::new(4).init().forward(x3.clone()),
            AdaptiveAvgPool1dConfig::new(1).init().forward(x3),
        ];
        (two, one)
    }
}

impl Case for Modules {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let (two, one) = self.outputs::<B>(
            tensor(&self.x4, device, dtype),
            tensor(&self.x3, device, dtype),
        );
        two.into_iter()
            .map(|t| t.into_data())
            .chain(one.into_iter().map(|t| t.into_data()))
            .collect()
    }
}

impl GradCase for Modules {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x4 = tensor::<B, 4>(&self.x4, device, dtype).require_grad();
        let x3 = tensor::<B, 3>(&self.x3, device, dtype).require_grad();
        let (two, one) = self.outputs::<B>(x4.clone(), x3.clone());
        let mut out = Vec::new();
        for (k, y) in two.into_iter().enumerate() {
            let w = tensor::<B, 4>(&floats_exact(y.dims(), 80 + k as u64), device, dtype);
            out.push(grad_of(&x4, y, w));
        }
        for (k, y) in one.into_iter().enumerate() {
            let w = tensor::<B, 3>(&floats_exact(y.dims(), 90 + k as u64), device, dtype);
            out.push(grad_of(&x3, y, w));
        }
        out
    }
}

#[test]
fn burn_pooling_modules() {
    let case = Modules {
        x4: floats_exact([2, 3, 9, 10], 1100),
        x3: floats_exact([2, 3, 11], 1101),
    };
    // Not F64: Burn's `pad` (used for "same" padding) mixes in the default float dtype, which
    // ndarray rejects for F64 tensors of an f32 backend.
    for prec in [Prec::F32, Prec::F16, Prec::BF16] {
        check_tol("pooling modules", prec, prec.tight_tol(), &case);
        check_grad_tol("pooling modules backward", prec, prec.tight_tol(), &case);
    }
}

// ---- empty batches and channels -----------------------------------------------------------------

struct Empty {
    x4: TensorData,
    x3: TensorData,
}

impl Case for Empty {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = tensor::<B, 4>(&self.x4, device, dtype);
        let s = tensor::<B, 3>(&self.x3, device, dtype);
        let (m, idx) = max_pool2d_with_indices(x.clone(), [2, 2], [1, 2], [1, 0], [1, 1], true);
        vec![
            max_pool2d(x.clone(), [3, 2], [2, 1], [1, 1], [2, 1], false).into_data(),
            m.into_data(),
            idx.into_data(),
            avg_pool2d(x.clone(), [3, 3], [2, 2], [1, 1], false, true).into_data(),
            adaptive_avg_pool2d(x, [2, 3]).into_data(),
            max_pool1d(s.clone(), 3, 2, 1, 1, false).into_data(),
            avg_pool1d(s.clone(), 2, 2, 1, true, false).into_data(),
            adaptive_avg_pool1d(s, 2).into_data(),
        ]
    }
}

impl GradCase for Empty {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = tensor::<B, 4>(&self.x4, device, dtype).require_grad();
        let ys = [
            max_pool2d(x.clone(), [3, 2], [2, 1], [1, 1], [2, 1], false),
            avg_pool2d(x.clone(), [3, 3], [2, 2], [1, 1], false, false),
            adaptive_avg_pool2d(x.clone(), [2, 4]),
        ];
        ys.into_iter()
            .map(|y| grad_of(&x, y.clone(), y.ones_like()))
            .collect()
    }
}

#[test]
fn empty_batches_and_channels() {
    for (x4, x3) in [([0, 3, 5, 6], [0, 3, 7]), ([2, 0, 5, 6], [2, 0, 7])] {
        let case = Empty {
            x4: floats_exact(x4, 1),
            x3: floats_exact(x3, 2),
        };
        check_tol(
            format!("pooling {x4:?}"),
            Prec::F32,
            Prec::F32.tight_tol(),
            &case,
        );
        check_grad_tol(
            format!("pooling backward {x4:?}"),
            Prec::F32,
            Prec::F32.tight_tol(),
            &case,
        );
    }
}
