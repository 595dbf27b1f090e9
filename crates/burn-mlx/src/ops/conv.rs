//! Convolutions on MLX: `conv1d`/`conv2d`/`conv3d`, their transposes and `unfold4d`, with every
//! backward pass (the deformable convolution is in `deform_conv`).
//!
//! Burn lays tensors out channels-first (`[N, C, *S]`, weights `[C_out, C_in / groups, *K]`,
//! transposed weights `[C_in, C_out / groups, *K]`); MLX's convolutions are channels-last
//! (`[N, *S, C]`, weights `[C_out, *K, C_in / groups]`). Each op transposes once on the way in
//! and once on the way out; MLX folds these transposes into the copies it makes anyway. Results
//! are views of channels-last memory and say so ([`super::layout`]), so that the ops after a
//! convolution can keep that order.
//!
//! On the CPU, float32 convolutions and their input gradients with one group are channel-major
//! matrix products instead ([`super::conv_cm`]: less memory, no OpenBLAS buffer growth). Every
//! other convolution and input gradient is one call of [`conv_cl`]: MLX's general convolution
//! with per-axis stride, padding before and after, kernel and input dilation, groups and kernel
//! flip. It steers around what MLX 0.32 gets wrong or lacks:
//!
//! - negative padding (cropping) together with input dilation gives wrong values, so padding is
//!   never passed negative: stride-1 convolutions crop their output, the others their input;
//! - grouped 3-D convolutions are not implemented: they are summed from grouped 2-D
//!   convolutions over depth slices;
//! - float64 convolutions compute in float32 precision, and fail with input dilation: float64
//!   goes through im2col and a float64 matmul.
//!
//! The backward passes are single MLX expressions rather than Burn's default bodies (which, for
//! groups, loop over the groups with several backend calls each):
//!
//! - input gradient of a convolution: the transposed convolution of the output gradient, i.e.
//!   an input-dilated convolution with the flipped, group-transposed kernel; input gradient of
//!   a transposed convolution: the plain convolution of the output gradient;
//! - weight gradient (both kinds): im2col of the (padded) input with the convolution's own
//!   geometry, then one matmul batched over the groups and the batch with the output gradient
//!   (read in place), summed over the batch;
//! - bias gradient: one sum over every axis but the channels.
//!
//! These are written out rather than taken from MLX's VJP of its convolution primitive because
//! the same formulas then serve transposed convolutions, whose MLX VJP has the wrong input
//! gradient with output padding and large padding, and because they go through the detours
//! above (float64, grouped 3-D).

use burn_backend::TensorMetadata;
use burn_backend::ops::{ConvOptions, ConvTransposeOptions, UnfoldOptions};
use mlx::{Array, Dtype, Error, Result, ops};

use super::base::{cpu_half_in_f32, half_in_f32};
use super::conv_cm;
use super::layout::{from_cl, is_channels_last, mark_channels_last, to_cl};
use crate::eval::op;
use crate::tensor::MlxTensor;

// ---- layouts ------------------------------------------------------------------------------------

/// The kernel that maps the other side of a grouped convolution: `[O, *K, I / g]` to
/// `[I, *K, O / g]`, exchanging input and output channels within each group.
///
/// This is the kernel of a convolution's input gradient, and, applied to a Burn transposed
/// weight `[I, O / g, *K]` read as a convolution weight, the kernel of the transposed
/// convolution.
fn group_transpose(w: &Array, groups: i32) -> Result<Array> {
    let shape = w.shape().to_vec();
    let n = shape.len() - 2;
    let (o, i) = (shape[0], shape[n + 1]);
    if o % groups != 0 {
        return invalid(format!("{o} channels cannot be split into {groups} groups"));
    }
    let mut split = vec![groups, o / groups];
    split.extend_from_slice(&shape[1..]);
    let mut axes = vec![0, n as i32 + 2];
    axes.extend(2..n as i32 + 2);
    axes.push(1);
    let mut merged = vec![groups * i];
    merged.extend_from_slice(&shape[1..=n]);
    merged.push(o / groups);
    w.reshape(&split)?.transpose(Some(&axes))?.reshape(&merged)
}

pub(super) fn invalid<T>(message: String) -> Result<T> {
    Err(Error::InvalidArgument(message))
}

pub(super) fn i32s(values: &[usize]) -> Vec<i32> {
    values
        .iter()
        .map(|v| {
            i32::try_from(*v)
                .unwrap_or_else(|_| panic!("burn-mlx: convolution parameter {v} exceeds i32"))
        })
        .collect()
}

fn spatial(a: &Array) -> Vec<i32> {
    let shape = a.shape();
    shape[1..shape.len() - 1].to_vec()
}

fn kernel(w_cl: &Array) -> Vec<i32> {
    spatial(w_cl)
}

/// Number of windows of a kernel spanning `d * (k - 1) + 1` elements, every `s`, over `len`
/// elements; an error when none fits.
pub(super) fn windows_count(len: i32, k: i32, s: i32, d: i32) -> Result<i32> {
    let span = d * (k - 1) + 1;
    if len < span {
        return invalid(format!(
            "the kernel spans {span} elements (size {k}, dilation {d}) but the padded input has only {len}"
        ));
    }
    Ok((len - span) / s + 1)
}

// ---- the general convolution ------------------------------------------------------------------

/// One convolution as MLX's `conv_general` computes it, per spatial axis.
#[derive(Clone, Debug)]
pub(super) struct Spec {
    pub(super) stride: Vec<i32>,
    /// Padding before each axis; negative crops.
    pub(super) lo: Vec<i32>,
    /// Padding after each axis; negative crops.
    pub(super) hi: Vec<i32>,
    pub(super) kdil: Vec<i32>,
    pub(super) idil: Vec<i32>,
    pub(super) groups: i32,
    pub(super) flip: bool,
}

impl Spec {
    fn options(&self) -> ops::ConvGeneralOptions {
        ops::ConvGeneralOptions::new()
            .with_stride(&self.stride)
            .with_padding_lo_hi(&self.lo, &self.hi)
            .with_kernel_dilation(&self.kdil)
            .with_input_dilation(&self.idil)
            .with_groups(self.groups)
            .with_flip(self.flip)
    }

    /// The stride-1 convolution with the flipped kernel that transposes one of `stride`: its
    /// input gets `stride - 1` zeros between neighbours and `dilation * (k - 1) - padding` of
    /// padding before each axis; `hi` is the padding after.
    fn transposing(
        kernel: &[i32],
        stride: &[i32],
        padding: &[i32],
        dilation: &[i32],
        hi: Vec<i32>,
        groups: i32,
    ) -> Spec {
        Spec {
            stride: vec![1; kernel.len()],
            lo: (0..kernel.len())
                .map(|j| dilation[j] * (kernel[j] - 1) - padding[j])
                .collect(),
            hi,
            kdil: dilation.to_vec(),
            idil: stride.to_vec(),
            groups,
            flip: true,
        }
    }

    /// The same convolution over the spatial axes from `from` on.
    fn tail(&self, from: usize) -> Spec {
        Spec {
            stride: self.stride[from..].to_vec(),
            lo: self.lo[from..].to_vec(),
            hi: self.hi[from..].to_vec(),
            kdil: self.kdil[from..].to_vec(),
            idil: self.idil[from..].to_vec(),
            groups: self.groups,
            flip: self.flip,
        }
    }
}

/// `x` with `factor - 1` zeros between neighbours along `axis`.
pub(super) fn dilate(x: &Array, axis: usize, factor: i32) -> Result<Array> {
    let len = x.shape()[axis];
    if factor == 1 || len <= 1 {
        return Ok(x.clone());
    }
    let mut shape = x.shape().to_vec();
    shape[axis] = (len - 1) * factor + 1;
    let zeros = ops::zeros(&shape, x.dtype())?;
    let start = vec![0; shape.len()];
    let mut strides = vec![1; shape.len()];
    strides[axis] = factor;
    ops::slice_update(&zeros, x, &start, &shape, &strides)
}

/// `a[start..stop:step]` along `axis`.
fn slice_axis(a: &Array, axis: usize, start: i32, stop: i32, step: i32) -> Result<Array> {
    let shape = a.shape();
    let mut begin = vec![0; shape.len()];
    let mut end = shape.to_vec();
    let mut strides = vec![1; shape.len()];
    begin[axis] = start;
    end[axis] = stop.max(start);
    strides[axis] = step;
    ops::slice(a, &begin, &end, &strides)
}

/// Zero padding of the spatial axes, `first..first + lo.len()` (1 for a channels-last array,
/// 2 for a channels-first one); all widths `>= 0`.
pub(super) fn pad_spatial(x: &Array, first: usize, lo: &[i32], hi: &[i32]) -> Result<Array> {
    if lo.iter().chain(hi).all(|p| *p == 0) {
        return Ok(x.clone());
    }
    let mut widths = vec![(0, 0); x.ndim()];
    for (j, (l, h)) in lo.iter().zip(hi).enumerate() {
        widths[first + j] = (*l, *h);
    }
    ops::pad(
        x,
        &widths,
        &ops::weak_scalar(0.0, x.dtype())?,
        ops::PadMode::Constant,
    )
}

/// The convolution of channels-last `x` `[N, *S, C]` with `w` `[O, *K, C / groups]`, giving
/// `[N, *S_out, O]`.
fn conv_cl(x: &Array, w: &Array, spec: &Spec) -> Result<Array> {
    let n = spec.stride.len();
    let mut x = x.clone();
    let mut s = spec.clone();
    let mut crop = vec![(0, 0); n];
    for (j, crop) in crop.iter_mut().enumerate() {
        if s.lo[j] >= 0 && s.hi[j] >= 0 {
            continue;
        }
        let (cut_lo, cut_hi) = ((-s.lo[j]).max(0), (-s.hi[j]).max(0));
        s.lo[j] = s.lo[j].max(0);
        s.hi[j] = s.hi[j].max(0);
        if s.stride[j] == 1 {
            // Every output position moves with the padding: crop the output.
            *crop = (cut_lo, cut_hi);
        } else {
            // Crop the input, once its dilation is written out.
            if s.idil[j] > 1 {
                x = dilate(&x, j + 1, s.idil[j])?;
                s.idil[j] = 1;
            }
            let len = x.shape()[j + 1];
            x = slice_axis(&x, j + 1, cut_lo, len - cut_hi, 1)?;
        }
    }
    let y = if x.dtype() == Dtype::Float64 || w.dtype() == Dtype::Float64 {
        conv_im2col(&x, w, &s)?
    } else if n == 3 && s.groups > 1 {
        conv3d_grouped(&x, w, &s)?
    } else {
        ops::conv_general(&x, w, s.options())?
    };
    if crop.iter().all(|c| *c == (0, 0)) {
        return Ok(y);
    }
    let shape = y.shape().to_vec();
    let mut start = vec![0; shape.len()];
    let mut stop = shape.clone();
    for (j, (cut_lo, cut_hi)) in crop.into_iter().enumerate() {
        start[j + 1] = cut_lo;
        stop[j + 1] = (shape[j + 1] - cut_hi).max(cut_lo);
    }
    ops::slice(&y, &start, &stop, &[])
}

/// The element strides of a row-major array of `shape`, for strided views of its windows.
pub(super) fn row_major_strides(shape: &[i32]) -> Vec<i64> {
    let mut strides = vec![1i64; shape.len()];
    for axis in (0..shape.len().saturating_sub(1)).rev() {
        strides[axis] = strides[axis + 1] * i64::from(shape[axis + 1]);
    }
    strides
}

/// One strided view per kernel position (row-major over the kernel) of the spatial axes
/// `first..first + kernel.len()` of `x`, each with `out` windows per axis.
fn window_views(
    x: &Array,
    first: usize,
    kernel: &[i32],
    stride: &[i32],
    dil: &[i32],
    out: &[i32],
) -> Result<Vec<Array>> {
    let shape = x.shape().to_vec();
    let total: i32 = kernel.iter().product();
    let mut views = Vec::with_capacity(total as usize);
    for flat in 0..total {
        let (mut start, mut stop, mut strides) =
            (vec![0; shape.len()], shape.clone(), vec![1; shape.len()]);
        let mut rest = flat;
        for j in (0..kernel.len()).rev() {
            let k = rest % kernel[j];
            rest /= kernel[j];
            let axis = first + j;
            start[axis] = k * dil[j];
            stop[axis] = start[axis] + (out[j] - 1).max(0) * stride[j] + 1;
            if out[j] == 0 {
                stop[axis] = start[axis];
            }
            strides[axis] = stride[j];
        }
        views.push(ops::slice(x, &start, &stop, &strides)?);
    }
    Ok(views)
}

/// im2col of channels-last `x` (padding and dilation written out): `[N, *out, K, C]` with the
/// kernel positions flattened row-major.
fn patches(
    x: &Array,
    spec: &Spec,
    kernel: &[i32],
    out: Option<&[i32]>,
) -> Result<(Array, Vec<i32>)> {
    let n = kernel.len();
    let mut x = x.clone();
    for j in 0..n {
        x = dilate(&x, j + 1, spec.idil[j])?;
    }
    let x = pad_spatial(&x, 1, &spec.lo, &spec.hi)?;
    let len = spatial(&x);
    let out = match out {
        Some(out) => out.to_vec(),
        None => (0..n)
            .map(|j| windows_count(len[j], kernel[j], spec.stride[j], spec.kdil[j]))
            .collect::<Result<Vec<_>>>()?,
    };
    if out.contains(&0) {
        let views = window_views(&x, 1, kernel, &spec.stride, &spec.kdil, &out)?;
        return Ok((ops::stack(&views, n as i32 + 1)?, out));
    }
    // One strided view of every window, `[N, *out, *kernel, C]` (what MLX's own weight gradient
    // does), copied once by the reshape that flattens the kernel positions: one op where a
    // slice per kernel position and their stack were `2 * K + 1`.
    let shape = x.shape().to_vec();
    let row_major = row_major_strides(&shape);
    let mut view_shape = vec![shape[0]];
    view_shape.extend(&out);
    view_shape.extend(kernel);
    view_shape.push(shape[n + 1]);
    let mut strides = vec![row_major[0]];
    strides.extend((0..n).map(|j| i64::from(spec.stride[j]) * row_major[j + 1]));
    strides.extend((0..n).map(|j| i64::from(spec.kdil[j]) * row_major[j + 1]));
    strides.push(1);
    let mut flat_shape = vec![shape[0]];
    flat_shape.extend(&out);
    flat_shape.push(kernel.iter().product());
    flat_shape.push(shape[n + 1]);
    let cols = ops::as_strided(&x, &view_shape, &strides, 0)?.reshape(&flat_shape)?;
    Ok((cols, out))
}

/// [`conv_cl`] as im2col and one batched matmul over the groups (any float dtype, float64
/// included; padding `>= 0`).
fn conv_im2col(x: &Array, w: &Array, spec: &Spec) -> Result<Array> {
    let n = spec.stride.len();
    let k = kernel(w);
    let (cols, out) = patches(x, spec, &k, None)?;
    let w = if spec.flip {
        ops::flip(w, Some(&(1..=n as i32).collect::<Vec<_>>()))?
    } else {
        w.clone()
    };
    let (batch, c, o, g) = (x.shape()[0], x.shape()[n + 1], w.shape()[0], spec.groups);
    let kk: i32 = k.iter().product();
    let cg = w.shape()[n + 1];
    if cg * g != c || o % g != 0 {
        return invalid(format!(
            "a weight of {o} output and {cg} input channels per group does not fit {c} input channels in {g} groups"
        ));
    }
    let m = batch * out.iter().product::<i32>();
    let cols = cols
        .reshape(&[m, kk, g, cg])?
        .transpose(Some(&[2, 0, 1, 3]))?
        .reshape(&[g, m, kk * cg])?;
    let w = w.reshape(&[g, o / g, kk * cg])?.swapaxes(1, 2)?;
    let y = ops::matmul(&cols, &w)?;
    let mut shape = vec![batch];
    shape.extend(&out);
    shape.push(o);
    y.swapaxes(0, 1)?.reshape(&shape)
}

/// A grouped 3-D [`conv_cl`] (padding `>= 0`) as the sum over the kernel's depth of grouped
/// 2-D convolutions of depth slices (MLX has no grouped 3-D convolution): the depth axis is
/// folded into the batch.
fn conv3d_grouped(x: &Array, w: &Array, spec: &Spec) -> Result<Array> {
    let x = dilate(x, 1, spec.idil[0])?;
    let mut widths = vec![(0, 0); 5];
    widths[1] = (spec.lo[0], spec.hi[0]);
    let x = ops::pad(
        &x,
        &widths,
        &ops::weak_scalar(0.0, x.dtype())?,
        ops::PadMode::Constant,
    )?;
    let [batch, depth, h, wd, c] = x.shape().try_into().expect("rank 5");
    let kd = w.shape()[1];
    let (s, d) = (spec.stride[0], spec.kdil[0]);
    let d_out = windows_count(depth, kd, s, d)?;
    let inner = spec.tail(1);
    let mut sum: Option<Array> = None;
    for k in 0..kd {
        let xs = slice_axis(&x, 1, k * d, k * d + (d_out - 1) * s + 1, s)?.reshape(&[
            batch * d_out,
            h,
            wd,
            c,
        ])?;
        let wk = ops::take_index(w, if spec.flip { kd - 1 - k } else { k }, Some(1))?;
        let y = ops::conv_general(&xs, &wk, inner.options())?;
        sum = Some(match sum {
            None => y,
            Some(acc) => ops::add(&acc, &y)?,
        });
    }
    let y = sum.expect("kernel depth >= 1");
    let [_, ho, wo, o] = y.shape().try_into().expect("rank 4");
    y.reshape(&[batch, d_out, ho, wo, o])
}

/// The weight gradient `[O, *K, C / groups]` of the convolution of channels-last `input`
/// `[N, *S, C]` (padding `lo` before each axis) whose output gradient is the channels-first
/// `cotan` `[N, O, *S_out]`: im2col of the input with the convolution's geometry, then, per
/// group and batch element, `cotan · columns`, summed over the batch.
///
/// The batch stays a matmul batch so that `cotan` is read in place whatever its memory order:
/// `[N, O, P]` is a plain or a transposed matrix per batch element whether the gradient was
/// produced channels-first or channels-last, where folding the batch into the contraction
/// would copy it into channels-last order first.
fn weight_grad_cl(
    input: &Array,
    cotan: &Array,
    kernel: &[i32],
    stride: &[i32],
    lo: &[i32],
    dilation: &[i32],
    groups: i32,
) -> Result<Array> {
    let n = kernel.len();
    let len = spatial(input);
    let out: Vec<i32> = cotan.shape()[2..].to_vec();
    // Enough padding after each axis for the windows the output gradient covers.
    let hi: Vec<i32> = (0..n)
        .map(|j| {
            (stride[j] * (out[j] - 1) + dilation[j] * (kernel[j] - 1) + 1 - len[j] - lo[j]).max(0)
        })
        .collect();
    let spec = Spec {
        stride: stride.to_vec(),
        lo: lo.to_vec(),
        hi,
        kdil: dilation.to_vec(),
        idil: vec![1; n],
        groups,
        flip: false,
    };
    let (cols, _) = patches(input, &spec, kernel, Some(&out))?;
    let (batch, c, o) = (input.shape()[0], input.shape()[n + 1], cotan.shape()[1]);
    if c % groups != 0 || o % groups != 0 {
        return invalid(format!(
            "{c} input and {o} output channels cannot be split into {groups} groups"
        ));
    }
    let kk: i32 = kernel.iter().product();
    let positions: i32 = out.iter().product();
    let cg = c / groups;
    // [G, N, P, K * Cg] and [G, N, O / G, P]
    let cols = cols
        .reshape(&[batch, positions, kk, groups, cg])?
        .transpose(Some(&[3, 0, 1, 2, 4]))?
        .reshape(&[groups, batch, positions, kk * cg])?;
    let cot = cotan
        .reshape(&[batch, groups, o / groups, positions])?
        .swapaxes(0, 1)?;
    // Half types add the batch's partial products in float32 (on the CPU the products too,
    // see `cpu_half_in_f32`), so the sum over the batch rounds once, as one product would.
    let grad = cpu_half_in_f32([&cot, &cols], |[cot, cols]| {
        half_in_f32(&ops::matmul(&cot, &cols)?, |g| {
            ops::sum(g, Some(&[1]), false)
        })
    })?;
    let mut shape = vec![o];
    shape.extend_from_slice(kernel);
    shape.push(cg);
    grad.reshape(&shape)
}

/// Sum of a channels-first output gradient over every axis but the channels; `channels_last`:
/// summed through a channels-last view, whose reduced axes are then the leading, contiguous
/// ones (see [`super::layout`]).
pub(super) fn bias_grad(grad: &Array, channels_last: bool) -> Result<Array> {
    let r = grad.ndim() as i32;
    let (grad, axes) = if channels_last {
        (to_cl(grad)?, (0..r - 1).collect::<Vec<_>>())
    } else {
        (grad.clone(), [0].into_iter().chain(2..r).collect())
    };
    // Half types accumulate in float32, as Burn's sums do (see `half_in_f32`).
    half_in_f32(&grad, |g| ops::sum(g, Some(&axes), false))
}

fn name(family: [&'static str; 3], n: usize) -> &'static str {
    family[n - 1]
}

// ---- convolutions -------------------------------------------------------------------------------

pub(crate) fn conv<const N: usize>(
    x: MlxTensor,
    weight: MlxTensor,
    bias: Option<MlxTensor>,
    options: &ConvOptions<N>,
) -> MlxTensor {
    let spec = Spec {
        stride: i32s(&options.stride),
        lo: i32s(&options.padding),
        hi: i32s(&options.padding),
        kdil: i32s(&options.dilation),
        idil: vec![1; N],
        groups: i32s(&[options.groups])[0],
        flip: false,
    };
    let mut inputs = vec![&x, &weight];
    inputs.extend(bias.as_ref());
    let channel_major = conv_cm::applies(x.device, &x.array, &weight.array, &spec);
    let y = op(&inputs, name(["conv1d", "conv2d", "conv3d"], N), || {
        if channel_major {
            let bias = bias.as_ref().map(|b| &*b.array);
            return conv_cm::conv(&x.array, &weight.array, bias, &spec);
        }
        let y = conv_cl(&to_cl(&x.array)?, &to_cl(&weight.array)?, &spec)?;
        let y = match &bias {
            Some(b) => ops::add(&y, &b.array)?,
            None => y,
        };
        from_cl(&y)
    });
    if channel_major {
        y
    } else {
        mark_channels_last(y)
    }
}

pub(crate) fn conv_x_backward<const N: usize>(
    x: MlxTensor,
    weight: MlxTensor,
    output_grad: MlxTensor,
    options: &ConvOptions<N>,
) -> MlxTensor {
    let len_in = i32s(&x.shape()[2..]);
    let (stride, padding, dilation) = (
        i32s(&options.stride),
        i32s(&options.padding),
        i32s(&options.dilation),
    );
    let groups = i32s(&[options.groups])[0];
    let k = i32s(&weight.shape()[2..]);
    let len_out = i32s(&output_grad.shape()[2..]);
    // The output gradient, `stride - 1` zeros between its elements, correlated with the flipped
    // kernel: padded so that the result has the input's size exactly.
    let hi = (0..N)
        .map(|j| len_in[j] - (stride[j] * (len_out[j] - 1) + 1) + padding[j])
        .collect();
    let spec = Spec::transposing(&k, &stride, &padding, &dilation, hi, groups);
    let channel_major =
        conv_cm::applies(output_grad.device, &output_grad.array, &weight.array, &spec);
    let x_grad = op(
        &[&output_grad, &weight],
        name(
            [
                "conv1d_x_backward",
                "conv2d_x_backward",
                "conv3d_x_backward",
            ],
            N,
        ),
        || {
            if channel_major {
                // One group: the kernel's input and output channels simply exchange.
                let w = weight.array.swapaxes(0, 1)?;
                return conv_cm::conv(&output_grad.array, &w, None, &spec);
            }
            let w = group_transpose(&to_cl(&weight.array)?, groups)?;
            from_cl(&conv_cl(&to_cl(&output_grad.array)?, &w, &spec)?)
        },
    );
    if channel_major {
        x_grad
    } else {
        mark_channels_last(x_grad)
    }
}

pub(crate) fn conv_weight_backward<const N: usize>(
    x: MlxTensor,
    weight: MlxTensor,
    output_grad: MlxTensor,
    options: &ConvOptions<N>,
) -> MlxTensor {
    let k = i32s(&weight.shape()[2..]);
    let (stride, padding, dilation) = (
        i32s(&options.stride),
        i32s(&options.padding),
        i32s(&options.dilation),
    );
    let groups = i32s(&[options.groups])[0];
    op(
        &[&x, &output_grad],
        name(
            [
                "conv1d_weight_backward",
                "conv2d_weight_backward",
                "conv3d_weight_backward",
            ],
            N,
        ),
        || {
            let grad = weight_grad_cl(
                &to_cl(&x.array)?,
                &output_grad.array,
                &k,
                &stride,
                &padding,
                &dilation,
                groups,
            )?;
            from_cl(&grad)
        },
    )
}

/// Bias gradient of a convolution or transposed convolution.
pub(crate) fn conv_bias_backward(
    output_grad: MlxTensor,
    bias: &MlxTensor,
    name: &str,
) -> MlxTensor {
    let shape = bias.array.shape().to_vec();
    let channels_last = is_channels_last(&output_grad);
    op(&[&output_grad], name, || {
        bias_grad(&output_grad.array, channels_last)?.reshape(&shape)
    })
}

// ---- transposed convolutions ------------------------------------------------------------------

pub(crate) fn conv_transpose<const N: usize>(
    x: MlxTensor,
    weight: MlxTensor,
    bias: Option<MlxTensor>,
    options: &ConvTransposeOptions<N>,
) -> MlxTensor {
    let (stride, padding, dilation) = (
        i32s(&options.stride),
        i32s(&options.padding),
        i32s(&options.dilation),
    );
    let padding_out = i32s(&options.padding_out);
    let groups = i32s(&[options.groups])[0];
    let mut inputs = vec![&x, &weight];
    inputs.extend(bias.as_ref());
    mark_channels_last(op(
        &inputs,
        name(
            ["conv_transpose1d", "conv_transpose2d", "conv_transpose3d"],
            N,
        ),
        || {
            // The weight read as a convolution's `[C_in, *K, C_out / g]`, group-transposed into the
            // kernel `[C_out, *K, C_in / g]` that the input-dilated convolution applies flipped.
            let w = group_transpose(&to_cl(&weight.array)?, groups)?;
            let k = kernel(&w);
            let hi = (0..N)
                .map(|j| dilation[j] * (k[j] - 1) - padding[j] + padding_out[j])
                .collect();
            let spec = Spec::transposing(&k, &stride, &padding, &dilation, hi, groups);
            let y = conv_cl(&to_cl(&x.array)?, &w, &spec)?;
            let y = match &bias {
                Some(b) => ops::add(&y, &b.array)?,
                None => y,
            };
            from_cl(&y)
        },
    ))
}

pub(crate) fn conv_transpose_x_backward<const N: usize>(
    weight: MlxTensor,
    output_grad: MlxTensor,
    options: &ConvTransposeOptions<N>,
) -> MlxTensor {
    let (stride, padding, dilation) = (
        i32s(&options.stride),
        i32s(&options.padding),
        i32s(&options.dilation),
    );
    let padding_out = i32s(&options.padding_out);
    let groups = i32s(&[options.groups])[0];
    let name = name(
        [
            "conv_transpose1d_x_backward",
            "conv_transpose2d_x_backward",
            "conv_transpose3d_x_backward",
        ],
        N,
    );
    mark_channels_last(op(&[&output_grad, &weight], name, || {
        // The convolution that this transposes, with the weight as it is: less padding after
        // each axis by the output padding gives exactly the input's size.
        let spec = Spec {
            stride: stride.clone(),
            lo: padding.clone(),
            hi: (0..N).map(|j| padding[j] - padding_out[j]).collect(),
            kdil: dilation.clone(),
            idil: vec![1; N],
            groups,
            flip: false,
        };
        from_cl(&conv_cl(
            &to_cl(&output_grad.array)?,
            &to_cl(&weight.array)?,
            &spec,
        )?)
    }))
}

pub(crate) fn conv_transpose_weight_backward<const N: usize>(
    x: MlxTensor,
    weight: MlxTensor,
    output_grad: MlxTensor,
    options: &ConvTransposeOptions<N>,
) -> MlxTensor {
    let k = i32s(&weight.shape()[2..]);
    let (stride, padding, dilation) = (
        i32s(&options.stride),
        i32s(&options.padding),
        i32s(&options.dilation),
    );
    let groups = i32s(&[options.groups])[0];
    let name = name(
        [
            "conv_transpose1d_weight_backward",
            "conv_transpose2d_weight_backward",
            "conv_transpose3d_weight_backward",
        ],
        N,
    );
    op(&[&x, &output_grad], name, || {
        // The weight gradient of the convolution this transposes, whose input is the output
        // gradient and whose output gradient is `x`.
        let grad = weight_grad_cl(
            &to_cl(&output_grad.array)?,
            &x.array,
            &k,
            &stride,
            &padding,
            &dilation,
            groups,
        )?;
        from_cl(&grad)
    })
}

// ---- unfold4d -----------------------------------------------------------------------------------

/// im2col of `[N, C, H, W]`: `[N, C * KH * KW, L]`, channel-major then kernel row-major, the
/// windows row-major. Strided views of the padded input, stacked: no arithmetic at all (Burn's
/// default convolves with a one-hot kernel of `(C * KH * KW)²` entries).
pub(crate) fn unfold4d(
    x: MlxTensor,
    kernel_size: [usize; 2],
    options: &UnfoldOptions,
) -> MlxTensor {
    let k = i32s(&kernel_size);
    let (stride, padding, dilation) = (
        i32s(&options.stride),
        i32s(&options.padding),
        i32s(&options.dilation),
    );
    op(&[&x], "unfold4d", || {
        let a = &x.array;
        let [n, c, h, w] = a
            .shape()
            .try_into()
            .map_err(|_| Error::InvalidArgument("unfold4d takes a rank-4 tensor".into()))?;
        let a = ops::pad(
            a,
            &[
                (0, 0),
                (0, 0),
                (padding[0], padding[0]),
                (padding[1], padding[1]),
            ],
            &ops::weak_scalar(0.0, a.dtype())?,
            ops::PadMode::Constant,
        )?;
        let out = [
            windows_count(h + 2 * padding[0], k[0], stride[0], dilation[0])?,
            windows_count(w + 2 * padding[1], k[1], stride[1], dilation[1])?,
        ];
        let views = window_views(&a, 2, &k, &stride, &dilation, &out)?;
        ops::stack(&views, 2)?.reshape(&[n, c * k[0] * k[1], out[0] * out[1]])
    })
}
