//! Max pooling on MLX (with and without indices), 1-d and 2-d, forward and backward, with
//! Burn's conventions (those of its reference backend), on the window geometry of [`super::pool`].
//!
//! - **Maxima** fold the strided slices of the padded input, one per window position, with a
//!   strict `>` (the first maximum wins, as in Burn, and also NaN is passed over as Burn's
//!   reference backend does), which also gives the indices.
//! - **On the CPU**, max pooling of floating-point inputs (with or without indices, 1-d and 2-d)
//!   is instead one pass of the `mlx` crate's own kernel, [`ops::window_max_2d`], with the same
//!   definition (strict `>`, NaN passed over, the same indices). The fold runs about six ops
//!   per window position, each allocating a result when MLX schedules it, and MLX's CPU
//!   evaluation schedules well ahead of the computing, so they were all held at once: the digit
//!   CNN's forward pass at batch 256 (its validation batches) peaked at 57 MB of MLX buffers in
//!   31 ms (2 CPU cores), 44.6 MB in 23 ms with the kernel, which reads the input through its
//!   strides (a convolution's channel-major result costs no copy) and writes only the results.
//! - **Max indices** are Burn's: the flat position `ih * W + iw` in the unpadded input of the
//!   first maximum in window order (row by row), and 0 for a window whose values are all `-inf`
//!   (padding only, say). The backward pass scatter-adds the output gradient at those positions
//!   (`scatter_add_axis` over the flattened spatial axis), as the indices may come from anywhere.

use burn_backend::TensorMetadata;
use mlx::{Array, Dtype, Scalar, ops};

use super::base::on_cpu;
use super::pick::{Picker, pick};
use super::pool::{Geometry, Order, as_image, as_signal, dims3, dims4, image_dims};
use crate::eval::{op, op_multi};
use crate::tensor::MlxTensor;

/// The running maximum over the window positions, in Burn's order (row by row): a position
/// replaces the maximum only when strictly greater, so the first maximum wins, and NaN (never
/// greater) is passed over, as in Burn's reference backend. `track` also keeps, for every
/// window, the flat input position `ih * W + iw` of its maximum (0 while nothing is above
/// `-inf`).
///
/// The fold starts from the first window position (its NaNs read as `-inf`), and a window's
/// index is the offset of the winning position within the window (a scalar per position,
/// `kh * dilation * W + kw * dilation`) plus where the window starts, one host-built array for
/// all positions. Three ops per window position with indices, one slice view of the padded
/// input each.
///
/// Not an `argmax` over a `[…, KH*KW]` view of the windows, although that is fewer ops: MLX's
/// arg-reduction kernel gives each output its own thread block, which on a GPU made the argmax
/// of the benchmark CNN's 2×2 pool (590k windows of 4) take 0.41 ms of a 2.5 ms training step
/// (an H100), against about 0.1 ms for the comparisons; and the windows view had to be copied
/// first.
fn running_max(
    x: &Array,
    g: &Geometry,
    track: bool,
    order: Order,
) -> mlx::Result<(Array, Option<Array>)> {
    let padded = g.padded(x, f64::NEG_INFINITY, order)?;
    let lowest = Scalar::Float(f64::NEG_INFINITY).to_array(x.dtype());
    let (h, w) = (&g.h, &g.w);
    let first = g.tap(&padded, 0, 0, order)?;
    let mut best = pick(&ops::isnan(&first)?, &lowest, &first)?;
    let mut within = track.then(|| Array::scalar(0i32));
    for (kh, kw) in (0..h.kernel)
        .flat_map(|kh| (0..w.kernel).map(move |kw| (kh, kw)))
        .skip(1)
    {
        let tap = g.tap(&padded, kh, kw, order)?;
        let above = ops::greater(&tap, &best)?;
        let mut picker = Picker::new(&above);
        best = picker.pick(&tap, &best)?;
        if let Some(previous) = within.take() {
            let offset = kh * h.dilation * w.size + kw * w.dilation;
            within = Some(picker.pick(&Array::scalar(offset as i32), &previous)?);
        }
    }
    let Some(within) = within else {
        return Ok((best, None));
    };
    // Where each window starts in the unpadded input (negative inside the padding, where only
    // -inf is read and never wins).
    let starts: Vec<i32> = (0..h.out as i64)
        .flat_map(|o| {
            let row = o * h.stride as i64 - h.padding as i64;
            (0..w.out as i64)
                .map(move |p| (row * w.size as i64 + p * w.stride as i64 - w.padding as i64) as i32)
        })
        .collect();
    let (oh, ow) = (h.out as i32, w.out as i32);
    let starts = match order {
        Order::ChannelsFirst => Array::from_slice(&starts, &[oh, ow])?,
        Order::ChannelsLast => Array::from_slice(&starts, &[oh, ow, 1])?,
    };
    let flat = ops::add(&within, &starts)?;
    // Burn's index for a window with nothing above -inf is 0.
    let index = pick(&ops::greater(&best, &lowest)?, &flat, &Array::scalar(0i32))?;
    Ok((best, Some(index)))
}

/// The windows of `g` for the CPU kernel, where it computes max pooling of `x`: a floating-point
/// array on the CPU, every parameter within `i32`.
fn kernel_windows(x: &Array, g: &Geometry) -> Option<ops::Windows2d> {
    if !(x.dtype().is_float() && on_cpu().unwrap_or(false)) {
        return None;
    }
    let two = |h: usize, w: usize| Some([i32::try_from(h).ok()?, i32::try_from(w).ok()?]);
    let (h, w) = (&g.h, &g.w);
    Some(ops::Windows2d {
        kernel: two(h.kernel, w.kernel)?,
        stride: two(h.stride, w.stride)?,
        padding: two(h.padding, w.padding)?,
        dilation: two(h.dilation, w.dilation)?,
        out: two(h.out, w.out)?,
    })
}

/// Max pooling of NCHW `x`: the maxima, with `track` Burn's indices (int32), and the memory
/// order the results are in. On the CPU (decided here, on the op's own stream) the kernel reads
/// `x` as it is and writes channels-first results; elsewhere the fold of [`running_max`] works
/// in `order`.
fn max_pool_arrays(
    x: &Array,
    g: &Geometry,
    track: bool,
    order: Order,
) -> mlx::Result<(Array, Option<Array>, Order)> {
    if let Some(windows) = kernel_windows(x, g) {
        let (best, at) = ops::window_max_2d(x, &windows, track)?;
        return Ok((best, at, Order::ChannelsFirst));
    }
    let (best, at) = running_max(&order.view(x)?, g, track, order)?;
    let at = at.map(|a| order.unview(&a)).transpose()?;
    Ok((order.unview(&best)?, at, order))
}

/// Adds `grad` (NCHW) at the flat spatial positions `indices` of a zero `[N, C, H, W]`
/// (working in `order`); `in_range`: the indices are known to lie in `[0, H * W)`.
fn max_pool_backward_array(
    x_shape: [usize; 4],
    grad: &Array,
    indices: &Array,
    in_range: bool,
    order: Order,
) -> mlx::Result<Array> {
    let [n, c, h, w] = x_shape.map(|d| d as i32);
    let s = grad.shape();
    let windows = s[2] * s[3];
    let (flat, zeros, axis, shape) = match order {
        Order::ChannelsFirst => ([n, c, windows], [n, c, h * w], 2, [n, c, h, w]),
        Order::ChannelsLast => ([n, windows, c], [n, h * w, c], 1, [n, h, w, c]),
    };
    let flat_grad = order.view(grad)?.reshape(&flat)?;
    let flat_indices = order.view(indices)?.reshape(&flat)?;
    let zeros = ops::zeros(&zeros, grad.dtype())?;
    let sum = if in_range {
        // SAFETY: every index lies in `[0, H * W)`, the length of `axis` (the caller's check).
        unsafe { ops::scatter_add_axis_unchecked(&zeros, &flat_indices, &flat_grad, axis)? }
    } else {
        ops::scatter_add_axis(&zeros, &flat_indices, &flat_grad, Some(axis))?
    };
    order.unview(&sum.reshape(&shape)?)
}

pub(crate) fn max_pool2d(
    x: MlxTensor,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    ceil_mode: bool,
) -> MlxTensor {
    let g = Geometry::new(
        "max_pool2d",
        dims4(&x, "max_pool2d"),
        kernel,
        stride,
        padding,
        dilation,
        ceil_mode,
    );
    let mut order = Order::of(&x);
    let best = op(&[&x], "max_pool2d", || {
        let (best, _, used) = max_pool_arrays(&x.array, &g, false, order)?;
        order = used;
        Ok(best)
    });
    order.mark(best)
}

pub(crate) fn max_pool2d_with_indices(
    x: MlxTensor,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    ceil_mode: bool,
    index_dtype: Dtype,
) -> (MlxTensor, MlxTensor) {
    let name = "max_pool2d_with_indices";
    let g = Geometry::new(
        name,
        dims4(&x, name),
        kernel,
        stride,
        padding,
        dilation,
        ceil_mode,
    );
    let mut order = Order::of(&x);
    let mut out = op_multi(&[&x], name, || {
        let (best, at, used) = max_pool_arrays(&x.array, &g, true, order)?;
        order = used;
        Ok(vec![best, at.expect("tracked").astype(index_dtype)?])
    })
    .into_iter()
    .map(|t| order.mark(t));
    let values = out.next().expect("two outputs");
    (values, mark_positions(out.next().expect("two outputs"), &g))
}

/// Max pooling's indices, marked as flat positions `ih * W + iw` of the input, all in range.
fn mark_positions(mut indices: MlxTensor, g: &Geometry) -> MlxTensor {
    indices.index_bound = u32::try_from(g.h.size * g.w.size).unwrap_or(0);
    indices
}

/// Whether `indices` are this backend's own max-pooling indices for an input of `[H, W]`
/// (`[L, 1]` in 1-d), so that the backward pass can skip its guard against indices out of range.
fn own_positions(indices: &MlxTensor, [_, _, h, w]: [usize; 4]) -> bool {
    indices.index_bound != 0 && indices.index_bound as usize == h * w
}

pub(crate) fn max_pool2d_with_indices_backward(
    x: MlxTensor,
    output_grad: MlxTensor,
    indices: MlxTensor,
) -> MlxTensor {
    let name = "max_pool2d_with_indices_backward";
    let dims = dims4(&x, name);
    check_same_shape(&output_grad, &indices, name);
    let order = Order::of(&x);
    let own = own_positions(&indices, dims);
    order.mark(op(&[&output_grad, &indices], name, || {
        max_pool_backward_array(dims, &output_grad.array, &indices.array, own, order)
    }))
}

fn check_same_shape(grad: &MlxTensor, indices: &MlxTensor, name: &str) {
    if grad.shape() != indices.shape() {
        panic!(
            "burn-mlx: {name}: output gradient {:?} and indices {:?} differ in shape",
            grad.shape(),
            indices.shape()
        );
    }
}

pub(crate) fn max_pool1d(
    x: MlxTensor,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
    ceil_mode: bool,
) -> MlxTensor {
    let dims = image_dims(dims3(&x, "max_pool1d"));
    let g = Geometry::new(
        "max_pool1d",
        dims,
        [kernel, 1],
        [stride, 1],
        [padding, 0],
        [dilation, 1],
        ceil_mode,
    );
    op(&[&x], "max_pool1d", || {
        let (best, _, _) = max_pool_arrays(&as_image(&x.array)?, &g, false, Order::ChannelsFirst)?;
        as_signal(&best)
    })
}

/// 1-d indices are positions along the length: the 2-d flat index of an `[L, 1]` image.
pub(crate) fn max_pool1d_with_indices(
    x: MlxTensor,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
    ceil_mode: bool,
    index_dtype: Dtype,
) -> (MlxTensor, MlxTensor) {
    let name = "max_pool1d_with_indices";
    let dims = image_dims(dims3(&x, name));
    let g = Geometry::new(
        name,
        dims,
        [kernel, 1],
        [stride, 1],
        [padding, 0],
        [dilation, 1],
        ceil_mode,
    );
    let mut out = op_multi(&[&x], name, || {
        let (best, at, _) = max_pool_arrays(&as_image(&x.array)?, &g, true, Order::ChannelsFirst)?;
        let at = at.expect("tracked").astype(index_dtype)?;
        Ok(vec![as_signal(&best)?, as_signal(&at)?])
    });
    let indices = mark_positions(out.pop().expect("two outputs"), &g);
    (out.pop().expect("two outputs"), indices)
}

pub(crate) fn max_pool1d_with_indices_backward(
    x: MlxTensor,
    output_grad: MlxTensor,
    indices: MlxTensor,
) -> MlxTensor {
    let name = "max_pool1d_with_indices_backward";
    let dims = image_dims(dims3(&x, name));
    check_same_shape(&output_grad, &indices, name);
    let own = own_positions(&indices, dims);
    op(&[&output_grad, &indices], name, || {
        as_signal(&max_pool_backward_array(
            dims,
            &as_image(&output_grad.array)?,
            &as_image(&indices.array)?,
            own,
            Order::ChannelsFirst,
        )?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn_backend::TensorData;

    #[test]
    fn only_the_backends_own_indices_skip_the_range_guard() {
        let device = crate::MlxDevice::Cpu;
        let x = MlxTensor::from_data(
            TensorData::new(vec![0.5f32; 2 * 6 * 4], [1, 2, 6, 4]),
            device,
        );
        for (kernel, stride) in [([2, 2], [2, 2]), ([3, 2], [1, 1])] {
            let (_, own) = max_pool2d_with_indices(
                x.clone(),
                kernel,
                stride,
                [0, 0],
                [1, 1],
                false,
                Dtype::Int32,
            );
            assert!(own_positions(&own, [1, 2, 6, 4]));
            // The same positions for an input of another size are not known to be in range.
            assert!(!own_positions(&own, [1, 2, 6, 5]));
        }
        let made = MlxTensor::from_data(TensorData::new(vec![0i32; 4], [1, 1, 2, 2]), device);
        assert!(!own_positions(&made, [1, 1, 4, 4]));
    }
}
