//! Convolutions on MLX against burn-ndarray: conv1d/2d/3d, transposed convolutions, the
//! deformable convolution and unfold4d, forward and backward (x, weight, bias, offset and mask
//! gradients through `Autodiff`), over many option combinations and dtypes, and Burn's nn
//! modules built on them.

use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{
    Conv1dConfig, Conv2dConfig, Conv3dConfig, ConvTranspose1dConfig, ConvTranspose2dConfig,
    ConvTranspose3dConfig, DeformConv2dConfig,
};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::module;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions, DeformConvOptions, UnfoldOptions};
use burn::tensor::{DType, Tensor, TensorData};

use crate::common::{AM, AN, M, Nd, Prec, Rng, assert_close_to_largest, mlx_device, tensor};

// ---- harness ------------------------------------------------------------------------------------

/// How close MLX's results must be at `prec`, relative to the largest expected magnitude: a
/// convolution sums many products, so its rounding error follows the size of the terms (see
/// [`assert_close_to_largest`]).
fn conv_tol(prec: Prec) -> f64 {
    match prec {
        Prec::F32 => 1e-4,
        Prec::F64 => 1e-9,
        Prec::F16 => 2e-2,
        Prec::BF16 => 6e-2,
    }
}

/// An op of an input, a weight and an optional bias, written once for every backend.
trait Op<const D: usize> {
    fn run<B: Backend>(
        &self,
        x: Tensor<B, D>,
        w: Tensor<B, D>,
        b: Option<Tensor<B, 1>>,
    ) -> Tensor<B, D>;
}

/// A grouped (transposed) convolution as one ungrouped `f` per group, concatenated: the
/// reference for grouped 1-D convolutions. burn-backend 0.21's default weight gradient of
/// grouped 1-D convolutions (which burn-ndarray uses) panics when the stride leaves input
/// elements unused: unlike its 2-D and 3-D siblings, it assigns the larger per-group gradient
/// without cropping it to the kernel.
///
/// The weight is split along its first axis: `C_out` for convolutions, `C_in` for transposed
/// ones (`[C_in, C_out / groups, *K]`).
fn by_groups<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    w: Tensor<B, D>,
    b: Option<Tensor<B, 1>>,
    groups: usize,
    f: impl Fn(Tensor<B, D>, Tensor<B, D>, Option<Tensor<B, 1>>) -> Tensor<B, D>,
) -> Tensor<B, D> {
    let cin = x.dims()[1] / groups;
    let wpart = w.dims()[0] / groups;
    let parts: Vec<Tensor<B, D>> = (0..groups)
        .map(|g| {
            f(
                x.clone().narrow(1, g * cin, cin),
                w.clone().narrow(0, g * wpart, wpart),
                None,
            )
        })
        .collect();
    let y = Tensor::cat(parts, 1);
    match b {
        Some(b) => {
            let mut shape = [1; D];
            shape[1] = b.dims()[0];
            y + b.reshape(shape)
        }
        None => y,
    }
}

/// How the inputs are laid out in memory before the op sees them (the convolutions' own
/// layouts: the weight is viewed too).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Layout {
    /// Contiguous tensors, straight from data.
    Plain,
    /// Views: `x` and `w` built with their first two axes exchanged, then swapped back.
    Swapped,
}

fn input<B: Backend, const D: usize>(
    data: &TensorData,
    dtype: DType,
    device: &B::Device,
    layout: Layout,
) -> Tensor<B, D> {
    match layout {
        Layout::Plain => tensor(data, device, dtype),
        Layout::Swapped => {
            let t: Tensor<B, D> = tensor(data, device, dtype);
            let swapped = Tensor::<B, D>::from_data(t.swap_dims(0, 1).into_data(), (device, dtype));
            swapped.swap_dims(0, 1)
        }
    }
}

struct Outputs {
    y: TensorData,
    gx: TensorData,
    gw: TensorData,
    gb: Option<TensorData>,
}

#[allow(clippy::too_many_arguments)]
fn run_autodiff<B: AutodiffBackend, const D: usize, O: Op<D>>(
    op: &O,
    xd: &TensorData,
    wd: &TensorData,
    bd: Option<&TensorData>,
    gd: &TensorData,
    dtype: DType,
    device: &B::Device,
    layout: Layout,
) -> Outputs {
    let x = input::<B, D>(xd, dtype, device, layout).require_grad();
    let w = input::<B, D>(wd, dtype, device, layout).require_grad();
    let b = bd.map(|d| tensor::<B, 1>(d, device, dtype).require_grad());
    let y = op.run(x.clone(), w.clone(), b.clone());
    let loss = (y.clone() * tensor::<B, D>(gd, device, dtype)).sum();
    let grads = loss.backward();
    Outputs {
        y: y.into_data(),
        gx: x.grad(&grads).expect("x gradient").into_data(),
        gw: w.grad(&grads).expect("weight gradient").into_data(),
        gb: b.map(|b| b.grad(&grads).expect("bias gradient").into_data()),
    }
}

/// One differential test of `op`: forward on `Mlx` vs `NdArray`, then forward and the `x`,
/// weight and bias gradients on the autodiff backends, for the loss `sum(y * g)` with a random
/// `g`.
#[allow(clippy::too_many_arguments)]
fn check<const D: usize, O: Op<D>>(
    what: &str,
    op: &O,
    x_shape: [usize; D],
    w_shape: [usize; D],
    bias: Option<usize>,
    prec: Prec,
    layout: Layout,
    seed: u64,
) {
    check_against(what, op, op, x_shape, w_shape, bias, prec, layout, seed)
}

/// [`check`] with `op` on MLX and `reference` (an equivalent composition) on ndarray.
#[allow(clippy::too_many_arguments)]
fn check_against<const D: usize, O: Op<D>, R: Op<D>>(
    what: &str,
    op: &O,
    reference: &R,
    x_shape: [usize; D],
    w_shape: [usize; D],
    bias: Option<usize>,
    prec: Prec,
    layout: Layout,
    seed: u64,
) {
    eprintln!("checking {what}");
    let tol = conv_tol(prec);
    let mut rng = Rng::new(seed);
    let xd = prec.round(&rng.floats(x_shape, -1.0, 1.0));
    let wd = prec.round(&rng.floats(w_shape, -1.0, 1.0));
    let bd = bias.map(|n| prec.round(&rng.floats([n], -1.0, 1.0)));
    let (dm, dn) = (mlx_device(), Default::default());

    let ym = op.run::<M>(
        input(&xd, prec.dtype(), &dm, layout),
        input(&wd, prec.dtype(), &dm, layout),
        bd.as_ref().map(|d| tensor(d, &dm, prec.dtype())),
    );
    let yn = reference.run::<Nd>(
        tensor(&xd, &dn, prec.oracle_dtype()),
        tensor(&wd, &dn, prec.oracle_dtype()),
        bd.as_ref().map(|d| tensor(d, &dn, prec.oracle_dtype())),
    );
    assert_eq!(ym.dtype(), prec.dtype(), "{what}: output dtype");
    let gd = prec.round(&rng.floats(yn.dims(), -1.0, 1.0));
    assert_close_to_largest(
        &format!("{what}: forward"),
        &ym.into_data(),
        &yn.into_data(),
        tol,
    );

    let m = run_autodiff::<AM, D, O>(op, &xd, &wd, bd.as_ref(), &gd, prec.dtype(), &dm, layout);
    let n = run_autodiff::<AN, D, R>(
        reference,
        &xd,
        &wd,
        bd.as_ref(),
        &gd,
        prec.oracle_dtype(),
        &dn,
        Layout::Plain,
    );
    assert_close_to_largest(&format!("{what}: autodiff forward"), &m.y, &n.y, tol);
    assert_close_to_largest(&format!("{what}: x gradient"), &m.gx, &n.gx, tol);
    assert_close_to_largest(&format!("{what}: weight gradient"), &m.gw, &n.gw, tol);
    if let (Some(a), Some(e)) = (m.gb, n.gb) {
        assert_close_to_largest(&format!("{what}: bias gradient"), &a, &e, tol);
    }
}

// ---- ops under test ---------------------------------------------------------------------------

struct Conv1(ConvOptions<1>);
struct Conv2(ConvOptions<2>);
struct Conv3(ConvOptions<3>);
struct ConvT1(ConvTransposeOptions<1>);
struct ConvT2(ConvTransposeOptions<2>);
struct ConvT3(ConvTransposeOptions<3>);

impl Op<3> for Conv1 {
    fn run<B: Backend>(
        &self,
        x: Tensor<B, 3>,
        w: Tensor<B, 3>,
        b: Option<Tensor<B, 1>>,
    ) -> Tensor<B, 3> {
        module::conv1d(x, w, b, self.0.clone())
    }
}

impl Op<4> for Conv2 {
    fn run<B: Backend>(
        &self,
        x: Tensor<B, 4>,
        w: Tensor<B, 4>,
        b: Option<Tensor<B, 1>>,
    ) -> Tensor<B, 4> {
        module::conv2d(x, w, b, self.0.clone())
    }
}

impl Op<5> for Conv3 {
    fn run<B: Backend>(
        &self,
        x: Tensor<B, 5>,
        w: Tensor<B, 5>,
        b: Option<Tensor<B, 1>>,
    ) -> Tensor<B, 5> {
        module::conv3d(x, w, b, self.0.clone())
    }
}

impl Op<3> for ConvT1 {
    fn run<B: Backend>(
        &self,
        x: Tensor<B, 3>,
        w: Tensor<B, 3>,
        b: Option<Tensor<B, 1>>,
    ) -> Tensor<B, 3> {
        module::conv_transpose1d(x, w, b, self.0.clone())
    }
}

impl Op<4> for ConvT2 {
    fn run<B: Backend>(
        &self,
        x: Tensor<B, 4>,
        w: Tensor<B, 4>,
        b: Option<Tensor<B, 1>>,
    ) -> Tensor<B, 4> {
        module::conv_transpose2d(x, w, b, self.0.clone())
    }
}

impl Op<5> for ConvT3 {
    fn run<B: Backend>(
        &self,
        x: Tensor<B, 5>,
        w: Tensor<B, 5>,
        b: Option<Tensor<B, 1>>,
    ) -> Tensor<B, 5> {
        module::conv_transpose3d(x, w, b, self.0.clone())
    }
}

/// The reference for grouped 1-D convolutions: one ungrouped call per group (see `by_groups`).
struct Split1(ConvOptions<1>);

macro_rules! split_op {
    ($name:ident, $dim:literal, $f:path) => {
        impl Op<$dim> for $name {
            fn run<B: Backend>(
                &self,
                x: Tensor<B, $dim>,
                w: Tensor<B, $dim>,
                b: Option<Tensor<B, 1>>,
            ) -> Tensor<B, $dim> {
                let o = &self.0;
                let one = ConvOptions::new(o.stride, o.padding, o.dilation, 1);
                by_groups(x, w, b, o.groups, |x, w, b| $f(x, w, b, one.clone()))
            }
        }
    };
}

split_op!(Split1, 3, module::conv1d);

fn conv_opts<const D: usize>(
    stride: [usize; D],
    padding: [usize; D],
    dilation: [usize; D],
    groups: usize,
) -> ConvOptions<D> {
    ConvOptions::new(stride, padding, dilation, groups)
}

fn convt_opts<const D: usize>(
    stride: [usize; D],
    padding: [usize; D],
    padding_out: [usize; D],
    dilation: [usize; D],
    groups: usize,
) -> ConvTransposeOptions<D> {
    ConvTransposeOptions::new(stride, padding, padding_out, dilation, groups)
}

// ---- conv1d -------------------------------------------------------------------------------------

/// (x, weight, bias, stride, padding, dilation, groups)
type Case1 = ([usize; 3], [usize; 3], bool, usize, usize, usize, usize);

const CONV1D: &[Case1] = &[
    ([2, 3, 11], [4, 3, 3], true, 1, 0, 1, 1),
    ([1, 3, 11], [4, 3, 3], false, 2, 1, 2, 1),
    // Strides that leave input elements unused at the end.
    ([2, 6, 13], [9, 2, 4], true, 3, 2, 1, 3),
    // Depthwise, with channel multiplier 2.
    ([3, 4, 10], [8, 1, 3], true, 1, 1, 1, 4),
    // Padding larger than the kernel's reach.
    ([2, 2, 5], [3, 2, 2], true, 1, 3, 1, 1),
    ([2, 2, 9], [3, 2, 3], true, 2, 5, 3, 1),
    // Kernel as large as the padded input: one output element.
    ([2, 3, 4], [2, 3, 6], true, 1, 1, 1, 1),
    ([1, 1, 1], [1, 1, 1], true, 1, 0, 1, 1),
];

#[test]
fn conv1d_matches_ndarray() {
    for (i, &(x, w, bias, s, p, d, g)) in CONV1D.iter().enumerate() {
        let what = format!("conv1d case {i}");
        check_against(
            &what,
            &Conv1(conv_opts([s], [p], [d], g)),
            &Split1(conv_opts([s], [p], [d], g)),
            x,
            w,
            bias.then_some(w[0]),
            Prec::F32,
            Layout::Plain,
            i as u64,
        );
    }
}

#[test]
fn conv1d_dtypes() {
    for (i, &(x, w, bias, s, p, d, g)) in CONV1D.iter().enumerate().take(4) {
        for prec in [Prec::F16, Prec::BF16, Prec::F64] {
            let what = format!("conv1d case {i} {:?}", prec.dtype());
            check_against(
                &what,
                &Conv1(conv_opts([s], [p], [d], g)),
                &Split1(conv_opts([s], [p], [d], g)),
                x,
                w,
                bias.then_some(w[0]),
                prec,
                Layout::Plain,
                100 + i as u64,
            );
        }
    }
}

// ---- conv2d -------------------------------------------------------------------------------------

/// (x, weight, bias, stride, padding, dilation, groups)
type Case2 = (
    [usize; 4],
    [usize; 4],
    bool,
    [usize; 2],
    [usize; 2],
    [usize; 2],
    usize,
);

const CONV2D: &[Case2] = &[
    ([2, 3, 8, 8], [5, 3, 3, 3], true, [1, 1], [1, 1], [1, 1], 1),
    // Non-square everything.
    ([2, 4, 7, 9], [6, 2, 3, 2], true, [2, 1], [1, 2], [1, 2], 2),
    (
        [1, 2, 10, 6],
        [3, 2, 4, 3],
        false,
        [3, 2],
        [0, 1],
        [2, 1],
        1,
    ),
    // Depthwise.
    ([2, 5, 8, 6], [5, 1, 3, 3], true, [2, 2], [1, 1], [1, 1], 5),
    ([1, 3, 7, 7], [6, 1, 3, 3], true, [1, 2], [2, 0], [2, 2], 3),
    // 1x1 kernel, strided.
    ([2, 4, 5, 7], [3, 4, 1, 1], true, [2, 3], [0, 0], [1, 1], 1),
    // Padding beyond the kernel's reach.
    ([1, 2, 4, 5], [2, 2, 2, 2], true, [1, 2], [3, 2], [1, 1], 1),
    // Kernel covering the whole padded input.
    ([3, 2, 3, 4], [4, 2, 5, 4], true, [1, 1], [1, 0], [1, 1], 1),
    // Many groups with several channels each.
    ([2, 8, 6, 6], [12, 2, 3, 3], true, [2, 1], [1, 1], [1, 2], 4),
    // Batches whose unfolded input the CPU multiplies a block of images at a time: the forward
    // pass in 2 blocks and the input gradient in 4; then, strided, the input gradient (of a
    // zero-dilated output gradient) in 3.
    (
        [32, 8, 24, 24],
        [24, 8, 3, 3],
        true,
        [1, 1],
        [1, 1],
        [1, 1],
        1,
    ),
    (
        [16, 8, 25, 25],
        [24, 8, 3, 3],
        true,
        [2, 2],
        [1, 1],
        [1, 1],
        1,
    ),
];

#[test]
fn conv2d_matches_ndarray() {
    for (i, &(x, w, bias, s, p, d, g)) in CONV2D.iter().enumerate() {
        let what = format!("conv2d case {i}");
        check(
            &what,
            &Conv2(conv_opts(s, p, d, g)),
            x,
            w,
            bias.then_some(w[0]),
            Prec::F32,
            Layout::Plain,
            200 + i as u64,
        );
    }
}

#[test]
fn conv2d_dtypes() {
    for (i, &(x, w, bias, s, p, d, g)) in CONV2D.iter().enumerate().take(5) {
        for prec in [Prec::F16, Prec::BF16, Prec::F64] {
            let what = format!("conv2d case {i} {:?}", prec.dtype());
            check(
                &what,
                &Conv2(conv_opts(s, p, d, g)),
                x,
                w,
                bias.then_some(w[0]),
                prec,
                Layout::Plain,
                300 + i as u64,
            );
        }
    }
}

#[test]
fn conv2d_on_views() {
    for (i, &(x, w, bias, s, p, d, g)) in CONV2D.iter().enumerate().take(4) {
        let what = format!("conv2d case {i} on views");
        check(
            &what,
            &Conv2(conv_opts(s, p, d, g)),
            x,
            w,
            bias.then_some(w[0]),
            Prec::F32,
            Layout::Swapped,
            400 + i as u64,
        );
    }
}

// ---- conv3d -------------------------------------------------------------------------------------

/// (x, weight, bias, stride, padding, dilation, groups)
type Case3 = (
    [usize; 5],
    [usize; 5],
    bool,
    [usize; 3],
    [usize; 3],
    [usize; 3],
    usize,
);

const CONV3D: &[Case3] = &[
    (
        [2, 2, 5, 6, 4],
        [3, 2, 2, 3, 2],
        true,
        [1, 2, 1],
        [1, 0, 1],
        [2, 1, 1],
        1,
    ),
    (
        [1, 3, 4, 4, 4],
        [2, 3, 3, 3, 3],
        false,
        [1, 1, 1],
        [1, 1, 1],
        [1, 1, 1],
        1,
    ),
    // Grouped and depthwise: MLX has no grouped 3-D convolution.
    (
        [2, 4, 5, 4, 6],
        [6, 2, 3, 2, 3],
        true,
        [2, 1, 2],
        [1, 1, 0],
        [1, 2, 1],
        2,
    ),
    (
        [1, 3, 4, 5, 5],
        [3, 1, 2, 3, 3],
        true,
        [1, 2, 1],
        [2, 1, 1],
        [2, 1, 1],
        3,
    ),
    (
        [2, 2, 3, 3, 3],
        [4, 1, 1, 2, 2],
        true,
        [3, 1, 2],
        [2, 0, 1],
        [1, 1, 1],
        2,
    ),
    // Padding beyond the kernel's reach.
    (
        [1, 2, 3, 3, 2],
        [2, 2, 2, 2, 1],
        true,
        [1, 1, 2],
        [2, 3, 1],
        [1, 1, 1],
        1,
    ),
];

#[test]
fn conv3d_matches_ndarray() {
    for (i, &(x, w, bias, s, p, d, g)) in CONV3D.iter().enumerate() {
        let what = format!("conv3d case {i}");
        check(
            &what,
            &Conv3(conv_opts(s, p, d, g)),
            x,
            w,
            bias.then_some(w[0]),
            Prec::F32,
            Layout::Plain,
            500 + i as u64,
        );
    }
}

#[test]
fn conv3d_dtypes() {
    for (i, &(x, w, bias, s, p, d, g)) in CONV3D.iter().enumerate().take(4) {
        for prec in [Prec::F16, Prec::BF16, Prec::F64] {
            let what = format!("conv3d case {i} {:?}", prec.dtype());
            check(
                &what,
                &Conv3(conv_opts(s, p, d, g)),
                x,
                w,
                bias.then_some(w[0]),
                prec,
                Layout::Plain,
                600 + i as u64,
            );
        }
    }
}

// ---- transposed convolutions ------------------------------------------------------------------

/// (x, weight `[C_in, C_out / groups, K]`, bias, stride, padding, padding_out, dilation, groups)
type CaseT1 = (
    [usize; 3],
    [usize; 3],
    bool,
    usize,
    usize,
    usize,
    usize,
    usize,
);

const CONV_T1D: &[CaseT1] = &[
    ([2, 3, 7], [3, 4, 3], true, 1, 0, 0, 1, 1),
    ([1, 3, 6], [3, 2, 3], true, 2, 1, 1, 1, 1),
    ([2, 4, 5], [4, 3, 4], false, 3, 2, 2, 2, 2),
    // Padding beyond the kernel's reach (MLX's own transposed convolution gets this wrong).
    ([2, 2, 6], [2, 3, 2], true, 3, 2, 0, 1, 1),
    ([1, 2, 8], [2, 2, 3], true, 2, 4, 1, 2, 1),
    // Output padding beyond the padding: zeros (plus bias) at the end.
    ([2, 3, 4], [3, 2, 2], true, 3, 0, 2, 1, 1),
    // Output padding at least the stride (allowed with a larger dilation).
    ([1, 2, 5], [2, 2, 3], true, 1, 1, 1, 2, 1),
    // Depthwise.
    ([2, 4, 6], [4, 1, 3], true, 2, 1, 1, 1, 4),
];

#[test]
fn conv_transpose1d_matches_ndarray() {
    for (i, &(x, w, bias, s, p, po, d, g)) in CONV_T1D.iter().enumerate() {
        let what = format!("conv_transpose1d case {i}");
        let opts = convt_opts([s], [p], [po], [d], g);
        check(
            &what,
            &ConvT1(opts),
            x,
            w,
            bias.then_some(w[1] * g),
            Prec::F32,
            Layout::Plain,
            700 + i as u64,
        );
    }
}

#[test]
fn conv_transpose1d_dtypes() {
    for (i, &(x, w, bias, s, p, po, d, g)) in CONV_T1D.iter().enumerate().take(4) {
        for prec in [Prec::F16, Prec::BF16, Prec::F64] {
            let what = format!("conv_transpose1d case {i} {:?}", prec.dtype());
            let opts = convt_opts([s], [p], [po], [d], g);
            check(
                &what,
                &ConvT1(opts),
                x,
                w,
                bias.then_some(w[1] * g),
                prec,
                Layout::Plain,
                800 + i as u64,
            );
        }
    }
}

/// (x, weight, bias, stride, padding, padding_out, dilation, groups)
type CaseT2 = (
    [usize; 4],
    [usize; 4],
    bool,
    [usize; 2],
    [usize; 2],
    [usize; 2],
    [usize; 2],
    usize,
);

const CONV_T2D: &[CaseT2] = &[
    (
        [2, 3, 4, 4],
        [3, 5, 3, 3],
        true,
        [1, 1],
        [0, 0],
        [0, 0],
        [1, 1],
        1,
    ),
    (
        [1, 2, 5, 3],
        [2, 3, 3, 2],
        true,
        [2, 3],
        [1, 0],
        [1, 2],
        [1, 1],
        1,
    ),
    (
        [2, 4, 3, 4],
        [4, 2, 2, 3],
        false,
        [2, 1],
        [1, 2],
        [0, 0],
        [2, 1],
        2,
    ),
    // Padding beyond the kernel's reach, output padding beyond the padding.
    (
        [1, 2, 5, 4],
        [2, 2, 2, 2],
        true,
        [3, 2],
        [2, 0],
        [0, 1],
        [1, 1],
        1,
    ),
    // Depthwise, strided, dilated.
    (
        [2, 3, 4, 5],
        [3, 1, 3, 3],
        true,
        [2, 2],
        [1, 1],
        [1, 0],
        [2, 1],
        3,
    ),
    // Groups with several channels each, stride 1.
    (
        [1, 6, 5, 5],
        [6, 2, 2, 3],
        true,
        [1, 1],
        [1, 1],
        [0, 0],
        [1, 2],
        3,
    ),
];

#[test]
fn conv_transpose2d_matches_ndarray() {
    for (i, &(x, w, bias, s, p, po, d, g)) in CONV_T2D.iter().enumerate() {
        let what = format!("conv_transpose2d case {i}");
        let opts = convt_opts(s, p, po, d, g);
        check(
            &what,
            &ConvT2(opts),
            x,
            w,
            bias.then_some(w[1] * g),
            Prec::F32,
            Layout::Plain,
            900 + i as u64,
        );
    }
}

#[test]
fn conv_transpose2d_dtypes_and_views() {
    for (i, &(x, w, bias, s, p, po, d, g)) in CONV_T2D.iter().enumerate().take(5) {
        let opts = convt_opts(s, p, po, d, g);
        for prec in [Prec::F16, Prec::BF16, Prec::F64] {
            let what = format!("conv_transpose2d case {i} {:?}", prec.dtype());
            check(
                &what,
                &ConvT2(opts.clone()),
                x,
                w,
                bias.then_some(w[1] * g),
                prec,
                Layout::Plain,
                1000 + i as u64,
            );
        }
        let what = format!("conv_transpose2d case {i} on views");
        check(
            &what,
            &ConvT2(opts),
            x,
            w,
            bias.then_some(w[1] * g),
            Prec::F32,
            Layout::Swapped,
            1100 + i as u64,
        );
    }
}

/// (x, weight, bias, stride, padding, padding_out, dilation, groups)
type CaseT3 = (
    [usize; 5],
    [usize; 5],
    bool,
    [usize; 3],
    [usize; 3],
    [usize; 3],
    [usize; 3],
    usize,
);

const CONV_T3D: &[CaseT3] = &[
    (
        [2, 2, 3, 3, 3],
        [2, 3, 2, 2, 2],
        true,
        [1, 1, 1],
        [0, 0, 0],
        [0, 0, 0],
        [1, 1, 1],
        1,
    ),
    (
        [1, 3, 2, 3, 4],
        [3, 2, 3, 2, 2],
        true,
        [2, 1, 2],
        [1, 0, 1],
        [1, 0, 1],
        [1, 2, 1],
        1,
    ),
    // Grouped: MLX has no grouped 3-D (transposed) convolution.
    (
        [2, 4, 3, 2, 3],
        [4, 2, 2, 3, 2],
        true,
        [2, 2, 1],
        [1, 1, 0],
        [1, 0, 0],
        [1, 1, 2],
        2,
    ),
    (
        [1, 3, 3, 3, 2],
        [3, 1, 3, 2, 2],
        false,
        [1, 3, 2],
        [2, 1, 1],
        [0, 2, 1],
        [1, 1, 1],
        3,
    ),
    // Padding beyond the kernel's reach.
    (
        [1, 2, 4, 3, 3],
        [2, 2, 2, 2, 1],
        true,
        [2, 2, 3],
        [2, 1, 1],
        [0, 1, 2],
        [1, 1, 1],
        1,
    ),
];

#[test]
fn conv_transpose3d_matches_ndarray() {
    for (i, &(x, w, bias, s, p, po, d, g)) in CONV_T3D.iter().enumerate() {
        let what = format!("conv_transpose3d case {i}");
        let opts = convt_opts(s, p, po, d, g);
        check(
            &what,
            &ConvT3(opts),
            x,
            w,
            bias.then_some(w[1] * g),
            Prec::F32,
            Layout::Plain,
            1200 + i as u64,
        );
    }
}

#[test]
fn conv_transpose3d_dtypes() {
    for (i, &(x, w, bias, s, p, po, d, g)) in CONV_T3D.iter().enumerate().take(4) {
        for prec in [Prec::F16, Prec::BF16, Prec::F64] {
            let what = format!("conv_transpose3d case {i} {:?}", prec.dtype());
            let opts = convt_opts(s, p, po, d, g);
            check(
                &what,
                &ConvT3(opts),
                x,
                w,
                bias.then_some(w[1] * g),
                prec,
                Layout::Plain,
                1300 + i as u64,
            );
        }
    }
}

// ---- deformable convolution -------------------------------------------------------------------

struct DeformCase {
    x: [usize; 4],
    w: [usize; 4],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    weight_groups: usize,
    offset_groups: usize,
    mask: bool,
    bias: bool,
}

const DEFORM: &[DeformCase] = &[
    DeformCase {
        x: [2, 4, 6, 7],
        w: [6, 4, 3, 3],
        stride: [1, 1],
        padding: [1, 1],
        dilation: [1, 1],
        weight_groups: 1,
        offset_groups: 1,
        mask: true,
        bias: true,
    },
    DeformCase {
        x: [1, 4, 7, 6],
        w: [4, 2, 3, 2],
        stride: [2, 1],
        padding: [0, 1],
        dilation: [1, 2],
        weight_groups: 2,
        offset_groups: 2,
        mask: false,
        bias: false,
    },
    DeformCase {
        x: [2, 6, 5, 5],
        w: [4, 3, 2, 2],
        stride: [1, 2],
        padding: [2, 0],
        dilation: [2, 1],
        weight_groups: 2,
        offset_groups: 3,
        mask: true,
        bias: false,
    },
    DeformCase {
        x: [1, 2, 4, 4],
        w: [2, 2, 3, 3],
        stride: [1, 1],
        padding: [0, 0],
        dilation: [1, 1],
        weight_groups: 1,
        offset_groups: 1,
        mask: false,
        bias: true,
    },
    // Depthwise in both groupings.
    DeformCase {
        x: [2, 3, 5, 6],
        w: [3, 1, 3, 3],
        stride: [2, 2],
        padding: [1, 1],
        dilation: [1, 1],
        weight_groups: 3,
        offset_groups: 3,
        mask: true,
        bias: true,
    },
];

struct DeformOutputs {
    y: TensorData,
    grads: Vec<(&'static str, TensorData)>,
}

impl DeformCase {
    fn options(&self) -> DeformConvOptions<2> {
        DeformConvOptions::new(
            self.stride,
            self.padding,
            self.dilation,
            self.weight_groups,
            self.offset_groups,
        )
    }
}

/// The deformable convolution of `case` on backend `B`, its output, and the gradients of
/// `sum(y * g)` with respect to every input.
///
/// With `split`, the convolution is composed of one call per offset group, each with one
/// offset group and one weight group (the weight expanded to a dense, block-diagonal one):
/// burn-ndarray 0.21 computes the offset and mask gradients of a call with several offset
/// groups from the sampled columns of the first group's channels (its
/// `compute_offset_and_mask_gradient` indexes the columns without the group's channel offset),
/// so those are checked against this composition instead.
fn deform_run<B: AutodiffBackend>(
    case: &DeformCase,
    data: &[TensorData; 6],
    dtype: DType,
    device: &B::Device,
    split: bool,
) -> DeformOutputs {
    let [xd, od, wd, md, bd, gd] = data;
    let x = tensor::<B, 4>(xd, device, dtype).require_grad();
    let offset = tensor::<B, 4>(od, device, dtype).require_grad();
    let w = tensor::<B, 4>(wd, device, dtype).require_grad();
    let mask = case
        .mask
        .then(|| tensor::<B, 4>(md, device, dtype).require_grad());
    let bias = case
        .bias
        .then(|| tensor::<B, 1>(bd, device, dtype).require_grad());
    let y = if split {
        let [b, c, h, wd] = case.x;
        let [o, cgw, kh, kw] = case.w;
        let (g, gw, kk) = (case.offset_groups, case.weight_groups, kh * kw);
        let (cg, og) = (c / g, o / gw);
        let mut dense = Tensor::<B, 4>::zeros([o, c, kh, kw], (device, dtype));
        for j in 0..gw {
            let block = w
                .clone()
                .slice([j * og..(j + 1) * og, 0..cgw, 0..kh, 0..kw]);
            dense = dense.slice_assign(
                [j * og..(j + 1) * og, j * cgw..(j + 1) * cgw, 0..kh, 0..kw],
                block,
            );
        }
        let options = DeformConvOptions::new(case.stride, case.padding, case.dilation, 1, 1);
        let mut sum: Option<Tensor<B, 4>> = None;
        for i in 0..g {
            let [_, _, ho, wo] = offset.dims();
            let part = module::deform_conv2d(
                x.clone().slice([0..b, i * cg..(i + 1) * cg, 0..h, 0..wd]),
                offset
                    .clone()
                    .slice([0..b, i * 2 * kk..(i + 1) * 2 * kk, 0..ho, 0..wo]),
                dense
                    .clone()
                    .slice([0..o, i * cg..(i + 1) * cg, 0..kh, 0..kw]),
                mask.clone()
                    .map(|m| m.slice([0..b, i * kk..(i + 1) * kk, 0..ho, 0..wo])),
                None,
                options.clone(),
            );
            sum = Some(match sum {
                None => part,
                Some(acc) => acc + part,
            });
        }
        let y = sum.unwrap();
        match &bias {
            Some(bias) => y + bias.clone().reshape([1, o, 1, 1]),
            None => y,
        }
    } else {
        module::deform_conv2d(
            x.clone(),
            offset.clone(),
            w.clone(),
            mask.clone(),
            bias.clone(),
            case.options(),
        )
    };
    let grads = (y.clone() * tensor::<B, 4>(gd, device, dtype))
        .sum()
        .backward();
    let mut out = vec![
        ("x", x.grad(&grads).unwrap().into_data()),
        ("offset", offset.grad(&grads).unwrap().into_data()),
        ("weight", w.grad(&grads).unwrap().into_data()),
    ];
    if let Some(m) = mask {
        out.push(("mask", m.grad(&grads).unwrap().into_data()));
    }
    if let Some(b) = bias {
        out.push(("bias", b.grad(&grads).unwrap().into_data()));
    }
    DeformOutputs {
        y: y.into_data(),
        grads: out,
    }
}

/// The checks of [`check_against`] for the deformable convolution, within `tol` (see
/// [`conv_tol`]).
fn deform_check(i: usize, case: &DeformCase, prec: Prec, tol: f64) {
    let what = format!("deform_conv2d case {i} {:?}", prec.dtype());
    eprintln!("checking {what}");
    let mut rng = Rng::new(1400 + i as u64);
    let [b, c, h, w] = case.x;
    let [o, _, kh, kw] = case.w;
    let out = |len: usize, k: usize, j: usize| {
        (len + 2 * case.padding[j] - case.dilation[j] * (k - 1) - 1) / case.stride[j] + 1
    };
    let (ho, wo) = (out(h, kh, 0), out(w, kw, 1));
    let g = case.offset_groups;
    assert_eq!(c % g, 0);
    let data = [
        prec.round(&rng.floats(case.x, -1.0, 1.0)),
        // Offsets of up to two pixels: some taps fall partly or wholly outside the image.
        prec.round(&rng.floats([b, 2 * g * kh * kw, ho, wo], -2.0, 2.0)),
        prec.round(&rng.floats(case.w, -1.0, 1.0)),
        prec.round(&rng.floats([b, g * kh * kw, ho, wo], 0.0, 1.0)),
        prec.round(&rng.floats([o], -1.0, 1.0)),
        prec.round(&rng.floats([b, o, ho, wo], -1.0, 1.0)),
    ];
    // Forward without autodiff.
    let dm = mlx_device();
    let plain = module::deform_conv2d(
        tensor::<M, 4>(&data[0], &dm, prec.dtype()),
        tensor::<M, 4>(&data[1], &dm, prec.dtype()),
        tensor::<M, 4>(&data[2], &dm, prec.dtype()),
        case.mask
            .then(|| tensor::<M, 4>(&data[3], &dm, prec.dtype())),
        case.bias
            .then(|| tensor::<M, 1>(&data[4], &dm, prec.dtype())),
        case.options(),
    );
    assert_eq!(plain.dtype(), prec.dtype(), "{what}: output dtype");
    let m = deform_run::<AM>(case, &data, prec.dtype(), &dm, false);
    let n = deform_run::<AN>(case, &data, prec.oracle_dtype(), &Default::default(), false);
    let split = (g > 1)
        .then(|| deform_run::<AN>(case, &data, prec.oracle_dtype(), &Default::default(), true));
    if let Some(split) = &split {
        assert_close_to_largest(
            &format!("{what}: split reference forward"),
            &split.y,
            &n.y,
            tol,
        );
    }
    assert_close_to_largest(&format!("{what}: forward"), &plain.into_data(), &n.y, tol);
    assert_close_to_largest(&format!("{what}: autodiff forward"), &m.y, &n.y, tol);
    assert_eq!(m.grads.len(), n.grads.len());
    for (k, ((name, a), (_, e))) in m.grads.into_iter().zip(n.grads).enumerate() {
        let e = match (&split, name) {
            (Some(split), "offset" | "mask") => split.grads[k].1.clone(),
            _ => e,
        };
        assert_close_to_largest(&format!("{what}: {name} gradient"), &a, &e, tol);
    }
}

#[test]
fn deform_conv2d_matches_ndarray() {
    for (i, case) in DEFORM.iter().enumerate() {
        deform_check(i, case, Prec::F32, conv_tol(Prec::F32));
    }
}

#[test]
fn deform_conv2d_dtypes() {
    for (i, case) in DEFORM.iter().enumerate().take(3) {
        // burn-ndarray samples in float32 even for float64 inputs.
        for (prec, tol) in [
            (Prec::F16, conv_tol(Prec::F16)),
            (Prec::BF16, conv_tol(Prec::BF16)),
            (Prec::F64, 1e-5),
        ] {
            deform_check(i, case, prec, tol);
        }
    }
}

// ---- unfold4d ---------------------------------------------------------------------------------

/// (x, kernel, stride, padding, dilation)
type UnfoldCase = ([usize; 4], [usize; 2], [usize; 2], [usize; 2], [usize; 2]);

#[test]
fn unfold4d_matches_ndarray() {
    let cases: &[UnfoldCase] = &[
        ([2, 3, 6, 6], [2, 2], [1, 1], [0, 0], [1, 1]),
        ([1, 2, 7, 5], [3, 2], [2, 1], [1, 2], [1, 2]),
        ([2, 1, 5, 8], [1, 3], [3, 2], [0, 1], [1, 1]),
        ([1, 4, 4, 4], [4, 4], [1, 1], [0, 0], [1, 1]),
        ([3, 2, 6, 7], [3, 3], [2, 3], [2, 1], [2, 2]),
    ];
    for (i, &(x, k, s, p, d)) in cases.iter().enumerate() {
        for prec in [Prec::F32, Prec::F16, Prec::BF16, Prec::F64] {
            let mut rng = Rng::new(1500 + i as u64);
            let xd = prec.round(&rng.floats(x, -1.0, 1.0));
            let opts = UnfoldOptions::new(s, p, d);
            let a = module::unfold4d(
                tensor::<M, 4>(&xd, &mlx_device(), prec.dtype()),
                k,
                opts.clone(),
            );
            let e = module::unfold4d(
                tensor::<Nd, 4>(&xd, &Default::default(), prec.oracle_dtype()),
                k,
                opts,
            );
            assert_eq!(a.dtype(), prec.dtype());
            // Unfolding copies values: exact in every dtype.
            assert_close_to_largest(
                &format!("unfold4d case {i} {:?}", prec.dtype()),
                &a.into_data(),
                &e.into_data(),
                0.0,
            );
        }
    }
}

#[test]
fn unfold4d_gradient_through_autodiff() {
    let mut rng = Rng::new(1600);
    let xd = rng.floats([2, 3, 5, 6], -1.0, 1.0);
    let opts = UnfoldOptions::new([2, 1], [1, 1], [1, 2]);
    fn grad<B: AutodiffBackend>(
        xd: &TensorData,
        gd: &TensorData,
        opts: &UnfoldOptions,
        device: &B::Device,
    ) -> TensorData {
        let x = tensor::<B, 4>(xd, device, DType::F32).require_grad();
        let y = module::unfold4d(x.clone(), [3, 2], opts.clone());
        let grads = (y * tensor::<B, 3>(gd, device, DType::F32))
            .sum()
            .backward();
        x.grad(&grads).unwrap().into_data()
    }
    let shape = module::unfold4d(
        tensor::<Nd, 4>(&xd, &Default::default(), DType::F32),
        [3, 2],
        opts.clone(),
    )
    .dims();
    let gd = rng.floats(shape, -1.0, 1.0);
    assert_close_to_largest(
        "unfold4d x gradient",
        &grad::<AM>(&xd, &gd, &opts, &mlx_device()),
        &grad::<AN>(&xd, &gd, &opts, &Default::default()),
        conv_tol(Prec::F32),
    );
}

// ---- Burn's nn modules ------------------------------------------------------------------------

/// Runs a module on both autodiff backends with the same parameters and input; compares the
/// output and the gradients of the input and of every parameter.
macro_rules! module_check {
    ($what:expr, $config:expr, $dim:literal, $x_shape:expr, $seed:expr) => {{
        fn run<B: AutodiffBackend>(
            xd: &TensorData,
            params: &[TensorData],
            device: &B::Device,
            grad_seed: u64,
        ) -> Vec<TensorData> {
            let mut m = $config.init::<B>(device);
            m.weight = Param::from_tensor(tensor::<B, $dim>(&params[0], device, DType::F32));
            if m.bias.is_some() {
                m.bias = Some(Param::from_tensor(tensor::<B, 1>(
                    &params[1],
                    device,
                    DType::F32,
                )));
            }
            let x = tensor::<B, $dim>(xd, device, DType::F32).require_grad();
            let y = m.forward(x.clone());
            let gd = Rng::new(grad_seed).floats(&y.dims(), -1.0, 1.0);
            let grads = (y.clone() * tensor::<B, $dim>(&gd, device, DType::F32))
                .sum()
                .backward();
            let mut out = vec![
                y.into_data(),
                x.grad(&grads).unwrap().into_data(),
                m.weight.grad(&grads).unwrap().into_data(),
            ];
            if let Some(b) = &m.bias {
                out.push(b.grad(&grads).unwrap().into_data());
            }
            out
        }
        let mut rng = Rng::new($seed);
        let probe = $config.init::<Nd>(&Default::default());
        let mut params = vec![rng.floats(&probe.weight.dims(), -0.5, 0.5)];
        if let Some(b) = &probe.bias {
            params.push(rng.floats(&b.dims(), -0.5, 0.5));
        }
        let xd = rng.floats(&$x_shape, -1.0, 1.0);
        let a = run::<AM>(&xd, &params, &mlx_device(), $seed + 1);
        let e = run::<AN>(&xd, &params, &Default::default(), $seed + 1);
        assert_eq!(a.len(), e.len());
        for (name, (a, e)) in [
            "output",
            "input gradient",
            "weight gradient",
            "bias gradient",
        ]
        .iter()
        .zip(a.into_iter().zip(e))
        {
            assert_close_to_largest(&format!("{} {name}", $what), &a, &e, conv_tol(Prec::F32));
        }
    }};
}

#[test]
fn nn_conv_modules_match_ndarray() {
    module_check!(
        "Conv1d",
        Conv1dConfig::new(3, 6, 3)
            .with_stride(2)
            .with_dilation(2)
            .with_groups(3),
        3,
        [2, 3, 15],
        1700
    );
    module_check!(
        "Conv1d same padding",
        Conv1dConfig::new(4, 2, 4).with_padding(burn::nn::PaddingConfig1d::Same),
        3,
        [2, 4, 9],
        1710
    );
    module_check!(
        "Conv2d",
        Conv2dConfig::new([4, 6], [3, 2])
            .with_stride([2, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 0, 2, 1))
            .with_groups(2),
        4,
        [2, 4, 9, 7],
        1720
    );
    module_check!(
        "Conv2d same padding",
        Conv2dConfig::new([3, 4], [4, 3]).with_padding(PaddingConfig2d::Same),
        4,
        [1, 3, 7, 6],
        1730
    );
    module_check!(
        "Conv3d",
        Conv3dConfig::new([2, 3], [2, 3, 2])
            .with_stride([1, 2, 1])
            .with_padding(burn::nn::PaddingConfig3d::Explicit(1, 0, 1)),
        5,
        [2, 2, 4, 5, 3],
        1740
    );
    module_check!(
        "ConvTranspose1d",
        ConvTranspose1dConfig::new([4, 6], 3)
            .with_stride(2)
            .with_padding(1)
            .with_padding_out(1)
            .with_groups(2),
        3,
        [2, 4, 6],
        1750
    );
    module_check!(
        "ConvTranspose2d",
        ConvTranspose2dConfig::new([3, 2], [3, 3])
            .with_stride([2, 2])
            .with_padding([1, 1])
            .with_padding_out([1, 0])
            .with_dilation([1, 2]),
        4,
        [2, 3, 4, 5],
        1760
    );
    module_check!(
        "ConvTranspose3d",
        ConvTranspose3dConfig::new([2, 4], [2, 3, 2])
            .with_stride([2, 1, 2])
            .with_padding([0, 1, 1])
            .with_groups(2),
        5,
        [1, 2, 3, 3, 4],
        1770
    );
}

#[test]
fn nn_deform_conv2d_matches_ndarray() {
    fn run<B: AutodiffBackend>(data: &[TensorData], device: &B::Device) -> Vec<TensorData> {
        // One offset group: see `deform_run` on burn-ndarray's offset gradient with several.
        let config = DeformConv2dConfig::new([4, 6], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_weight_groups(2);
        let mut m = config.init::<B>(device);
        // burn-nn 0.21's init copies `weight_groups` into `offset_groups`: set it back.
        m.offset_groups = 1;
        m.weight = Param::from_tensor(tensor::<B, 4>(&data[0], device, DType::F32));
        m.bias = Some(Param::from_tensor(tensor::<B, 1>(
            &data[1],
            device,
            DType::F32,
        )));
        let x = tensor::<B, 4>(&data[2], device, DType::F32).require_grad();
        let offset = tensor::<B, 4>(&data[3], device, DType::F32).require_grad();
        let mask = tensor::<B, 4>(&data[4], device, DType::F32).require_grad();
        let y = m.forward(x.clone(), offset.clone(), Some(mask.clone()));
        let grads = (y.clone() * tensor::<B, 4>(&data[5], device, DType::F32))
            .sum()
            .backward();
        vec![
            y.into_data(),
            x.grad(&grads).unwrap().into_data(),
            offset.grad(&grads).unwrap().into_data(),
            mask.grad(&grads).unwrap().into_data(),
            m.weight.grad(&grads).unwrap().into_data(),
            m.bias.as_ref().unwrap().grad(&grads).unwrap().into_data(),
        ]
    }
    let mut rng = Rng::new(1800);
    let data = vec![
        rng.floats([6, 2, 3, 3], -0.5, 0.5),
        rng.floats([6], -0.5, 0.5),
        rng.floats([2, 4, 5, 6], -1.0, 1.0),
        rng.floats([2, 2 * 9, 5, 6], -1.5, 1.5),
        rng.floats([2, 9, 5, 6], 0.0, 1.0),
        rng.floats([2, 6, 5, 6], -1.0, 1.0),
    ];
    let a = run::<AM>(&data, &mlx_device());
    let e = run::<AN>(&data, &Default::default());
    for (name, (a, e)) in [
        "output",
        "x gradient",
        "offset gradient",
        "mask gradient",
        "weight gradient",
        "bias gradient",
    ]
    .iter()
    .zip(a.into_iter().zip(e))
    {
        assert_close_to_largest(&format!("DeformConv2d {name}"), &a, &e, conv_tol(Prec::F32));
    }
}

// ---- the backend's backward methods, called directly ------------------------------------------

/// Burn's autodiff calls these only for tensors that require gradients; call them directly
/// too, with an output gradient shaped like the forward result.
#[test]
fn backward_methods_called_directly() {
    use burn::tensor::TensorPrimitive;
    fn prim<B: Backend, const D: usize>(t: Tensor<B, D>) -> B::FloatTensorPrimitive {
        t.into_primitive().tensor()
    }
    fn data<B: Backend, const D: usize>(p: B::FloatTensorPrimitive) -> TensorData {
        Tensor::<B, D>::from_primitive(TensorPrimitive::Float(p)).into_data()
    }
    fn run<B: Backend>(device: &B::Device) -> Vec<TensorData> {
        let mut rng = Rng::new(1900);
        let x: Tensor<B, 4> = tensor(&rng.floats([2, 4, 7, 6], -1.0, 1.0), device, DType::F32);
        let w: Tensor<B, 4> = tensor(&rng.floats([6, 2, 3, 3], -1.0, 1.0), device, DType::F32);
        let b: Tensor<B, 1> = tensor(&rng.floats([6], -1.0, 1.0), device, DType::F32);
        let opts = ConvOptions::new([2, 1], [1, 2], [1, 2], 2);
        let g: Tensor<B, 4> = tensor(&rng.floats([2, 6, 4, 6], -1.0, 1.0), device, DType::F32);
        let gx = B::conv2d_x_backward(
            prim(x.clone()),
            prim(w.clone()),
            prim(g.clone()),
            opts.clone(),
        );
        let gw = B::conv2d_weight_backward(prim(x.clone()), prim(w.clone()), prim(g.clone()), opts);
        let gb = B::conv2d_bias_backward(prim(x.clone()), prim(b), prim(g));
        // The transposed convolution with the same weight, read as [C_in = 6, C_out / g = 2, 3, 3].
        let topts = ConvTransposeOptions::new([2, 1], [1, 0], [1, 0], [1, 1], 3);
        let xt: Tensor<B, 4> = tensor(&rng.floats([2, 6, 3, 4], -1.0, 1.0), device, DType::F32);
        let gt: Tensor<B, 4> = tensor(&rng.floats([2, 6, 6, 6], -1.0, 1.0), device, DType::F32);
        let gxt = B::conv_transpose2d_x_backward(prim(w.clone()), prim(gt.clone()), topts.clone());
        let gwt = B::conv_transpose2d_weight_backward(prim(xt.clone()), prim(w), prim(gt), topts);
        vec![
            data::<B, 4>(gx),
            data::<B, 4>(gw),
            data::<B, 1>(gb),
            data::<B, 4>(gxt),
            data::<B, 4>(gwt),
        ]
    }
    let a = run::<M>(&mlx_device());
    let e = run::<Nd>(&Default::default());
    for (name, (a, e)) in [
        "conv2d x",
        "conv2d weight",
        "conv2d bias",
        "conv_transpose2d x",
        "conv_transpose2d weight",
    ]
    .iter()
    .zip(a.into_iter().zip(e))
    {
        assert_close_to_largest(&format!("{name} backward"), &a, &e, conv_tol(Prec::F32));
    }
}

// ---- sanity of the harness ----------------------------------------------------------------------

/// A hand-computed case, so that the harness cannot pass by comparing two equally wrong
/// results.
#[test]
fn conv1d_known_values() {
    let device = mlx_device();
    let x = Tensor::<M, 3>::from_data([[[1.0f32, 2.0, 3.0, 4.0]]], &device);
    let w = Tensor::<M, 3>::from_data([[[1.0f32, 10.0]]], &device);
    let b = Tensor::<M, 1>::from_data([0.5f32], &device);
    let y = module::conv1d(x, w, Some(b), ConvOptions::new([2], [1], [1], 1));
    assert_close_to_largest(
        "conv1d known values",
        &y.into_data(),
        &TensorData::from([[[10.5f32, 32.5, 4.5]]]),
        0.0,
    );
}

// ---- empty batches ----------------------------------------------------------------------------

#[test]
fn empty_batch() {
    let dm = mlx_device();
    let x = Tensor::<M, 4>::zeros([0, 2, 5, 4], &dm);
    let w = Tensor::<M, 4>::ones([3, 2, 3, 3], &dm);
    let b = Tensor::<M, 1>::ones([3], &dm);
    let y = module::conv2d(
        x.clone(),
        w.clone(),
        Some(b.clone()),
        ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
    );
    assert_eq!(y.dims(), [0, 3, 5, 4]);
    let wt = Tensor::<M, 4>::ones([2, 3, 3, 3], &dm);
    let yt = module::conv_transpose2d(
        x.clone(),
        wt,
        Some(b),
        ConvTransposeOptions::new([2, 2], [1, 1], [1, 0], [1, 1], 1),
    );
    assert_eq!(yt.dims(), [0, 3, 10, 7]);
    let u = module::unfold4d(x, [2, 2], UnfoldOptions::new([1, 1], [0, 0], [1, 1]));
    assert_eq!(u.dims(), [0, 8, 12]);
    assert_eq!(u.into_data().num_elements(), 0);
}
