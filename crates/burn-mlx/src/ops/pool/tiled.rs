//! Max pooling whose windows tile the input: stride equal to the kernel, no padding, no dilation
//! (`MaxPool2d` with its default stride, as most CNNs use it). The windows are then a reshape of
//! the input, and one `argmax` per window replaces the running maximum's comparisons of every
//! window position: a 2×2 pool with indices is about a dozen MLX ops instead of about sixty, and
//! the input is read once instead of once per window position.
//!
//! Burn's conventions are kept exactly: NaN is passed over (read as `-inf`), the first maximum in
//! window order wins (MLX's `argmax` returns the first of equal maxima, on the CPU and in its
//! CUDA kernels alike), and a window whose values are all `-inf` gives index 0.

use mlx::{Array, Scalar, ops};

use super::{Geometry, Order};

impl Geometry {
    /// Whether the windows tile the input: each axis has stride = kernel, no padding and no
    /// dilation, and its windows lie inside it (rows and columns past the last window, which
    /// no window reads, are left out).
    pub(super) fn tiles(&self) -> bool {
        [&self.h, &self.w].iter().all(|a| {
            a.stride == a.kernel && a.padding == 0 && a.dilation == 1 && a.out * a.kernel <= a.size
        })
    }
}

/// The windows of `x` (NCHW worked on in `order`), one per row of the last axis, window
/// positions row by row: `[N, C, OH, OW, KH*KW]` channels-first, `[N, OH, OW, C, KH*KW]`
/// channels-last. NaN reads as `-inf`, so that it never wins.
fn windows(x: &Array, g: &Geometry, order: Order) -> mlx::Result<Array> {
    let (n, c) = (g.batch as i32, g.channels as i32);
    let (oh, ow) = (g.h.out as i32, g.w.out as i32);
    let (kh, kw) = (g.h.kernel as i32, g.w.kernel as i32);
    let first = order.first_spatial();
    let mut stop = x.shape().to_vec();
    stop[first] = oh * kh;
    stop[first + 1] = ow * kw;
    let covered = if stop == x.shape() {
        x.clone()
    } else {
        ops::slice(x, &[0; 4], &stop, &[1; 4])?
    };
    let (split, order_of_axes, lead) = match order {
        Order::ChannelsFirst => ([n, c, oh, kh, ow, kw], [0, 1, 2, 4, 3, 5], [n, c, oh, ow]),
        Order::ChannelsLast => ([n, oh, kh, ow, kw, c], [0, 1, 3, 5, 2, 4], [n, oh, ow, c]),
    };
    let windows = covered
        .reshape(&split)?
        .transpose(Some(&order_of_axes))?
        .reshape(&[lead[0], lead[1], lead[2], lead[3], kh * kw])?;
    if !x.dtype().is_float() {
        return Ok(windows);
    }
    let lowest = Scalar::Float(f64::NEG_INFINITY).to_array(x.dtype());
    ops::where_(&ops::isnan(&windows)?, &lowest, &windows)
}

/// The maxima of tiling windows, in `order`'s layout.
pub(super) fn max_pool(x: &Array, g: &Geometry, order: Order) -> mlx::Result<Array> {
    windows(x, g, order)?.max(Some(&[-1]), false)
}

/// The maxima of tiling windows and Burn's indices of them (the flat input position
/// `ih * W + iw`, int32), both in `order`'s layout.
pub(super) fn max_pool_with_indices(
    x: &Array,
    g: &Geometry,
    order: Order,
) -> mlx::Result<(Array, Array)> {
    let windows = windows(x, g, order)?;
    let position = windows.argmax(Some(-1), true)?;
    // SAFETY (both gathers): `position` is an argmax along the last axis of `windows`, whose
    // length is the length of `within`.
    let values =
        unsafe { ops::take_along_axis_unchecked(&windows, &position, -1)? }.squeeze(Some(&[-1]))?;
    // The flat input position: where the window starts, plus where `position` lies in it.
    let (width, kw) = (g.w.size as i32, g.w.kernel as i32);
    let within: Vec<i32> = (0..g.h.kernel as i32 * kw)
        .map(|k| (k / kw) * width + k % kw)
        .collect();
    let within = Array::from_slice(&within, &[within.len() as i32])?;
    let within = unsafe { ops::take_unchecked(&within, &position.squeeze(Some(&[-1]))?, None)? };
    let (oh, ow) = (g.h.out as i32, g.w.out as i32);
    let starts: Vec<i32> = (0..oh)
        .flat_map(|o| (0..ow).map(move |p| o * g.h.kernel as i32 * width + p * kw))
        .collect();
    let starts = match order {
        Order::ChannelsFirst => Array::from_slice(&starts, &[oh, ow])?,
        Order::ChannelsLast => Array::from_slice(&starts, &[oh, ow, 1])?,
    };
    let flat = ops::add(&within, &starts)?;
    // Burn's index for a window with nothing above -inf is 0.
    let lowest = Scalar::Float(f64::NEG_INFINITY).to_array(x.dtype());
    let index = ops::where_(&values.greater(&lowest)?, &flat, &Array::scalar(0i32))?;
    Ok((values, index))
}
