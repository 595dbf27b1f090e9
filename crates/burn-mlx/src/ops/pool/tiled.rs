//! Max pooling whose windows tile the input: stride equal to the kernel, no padding, no dilation
//! (`MaxPool2d` with its default stride, as most CNNs use it). Each window position is then a
//! strided view of the input (a reshape that splits each spatial axis into windows and positions
//! within them, then a slice): no padding, no copy, no per-position index array built on the
//! host. The maximum is a running comparison over those views, a few elementwise ops per window
//! position (three with indices).
//!
//! Not an `argmax` over a `[…, KH*KW]` view of the windows, although that is fewer ops: MLX's
//! arg-reduction kernel gives each output its own thread block, which on a GPU made the argmax
//! of the benchmark CNN's 2×2 pool (590k windows of 4) take 0.41 ms of a 2.5 ms training step
//! (an H100), against about 0.1 ms for the comparisons; and the windows view had to be copied
//! first.
//!
//! Burn's conventions are kept exactly: NaN is passed over (read as `-inf`: a comparison with
//! NaN is false, and a NaN at the first position is replaced), the first maximum in window order
//! wins (a later position replaces it only when strictly greater), and a window whose values are
//! all `-inf` gives index 0.

use mlx::{Array, Scalar, ops};

use super::{Geometry, Order};
use crate::ops::pick::{Picker, pick};

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

/// How the window positions of `x` (NCHW worked on in `order`) are views: the shape that splits
/// each spatial axis into (window, position within it), the two position axes of that shape,
/// and the output's shape.
struct Split {
    shape: [i32; 6],
    position_axes: [usize; 2],
    out: [i32; 4],
}

impl Split {
    fn new(g: &Geometry, order: Order) -> Split {
        let (n, c) = (g.batch as i32, g.channels as i32);
        let (oh, ow) = (g.h.out as i32, g.w.out as i32);
        let (kh, kw) = (g.h.kernel as i32, g.w.kernel as i32);
        match order {
            Order::ChannelsFirst => Split {
                shape: [n, c, oh, kh, ow, kw],
                position_axes: [3, 5],
                out: [n, c, oh, ow],
            },
            Order::ChannelsLast => Split {
                shape: [n, oh, kh, ow, kw, c],
                position_axes: [2, 4],
                out: [n, oh, ow, c],
            },
        }
    }
}

/// One strided view of `x` per window position, row by row.
fn taps(x: &Array, g: &Geometry, order: Order, split: &Split) -> mlx::Result<Vec<Array>> {
    let first = order.first_spatial();
    let mut stop = x.shape().to_vec();
    stop[first] = g.h.out as i32 * g.h.kernel as i32;
    stop[first + 1] = g.w.out as i32 * g.w.kernel as i32;
    let covered = if stop == x.shape() {
        x.clone()
    } else {
        ops::slice(x, &[0; 4], &stop, &[1; 4])?
    };
    let windows = covered.reshape(&split.shape)?;
    let [row_axis, col_axis] = split.position_axes;
    let mut taps = Vec::with_capacity(g.h.kernel * g.w.kernel);
    for i in 0..g.h.kernel as i32 {
        for j in 0..g.w.kernel as i32 {
            let mut start = [0; 6];
            let mut stop = split.shape;
            (start[row_axis], stop[row_axis]) = (i, i + 1);
            (start[col_axis], stop[col_axis]) = (j, j + 1);
            taps.push(ops::slice(&windows, &start, &stop, &[1; 6])?);
        }
    }
    Ok(taps)
}

/// The running maximum over the window positions, in the taps' shape, and with `track` the
/// position within the window of each maximum as Burn counts input positions (`i * W + j` for
/// row `i`, column `j` of the window).
fn running_max(
    x: &Array,
    g: &Geometry,
    order: Order,
    split: &Split,
    track: bool,
) -> mlx::Result<(Array, Option<Array>)> {
    let lowest = lowest(x);
    let mut taps = taps(x, g, order, split)?.into_iter();
    let first = taps
        .next()
        .expect("a pooling window has at least one position");
    let mut best = if x.dtype().is_float() {
        pick(&ops::isnan(&first)?, &lowest, &first)?
    } else {
        first
    };
    let mut within = track.then(|| Array::scalar(0i32));
    let (width, kw) = (g.w.size as i32, g.w.kernel as i32);
    for (k, tap) in (1i32..).zip(taps) {
        let above = ops::greater(&tap, &best)?;
        let mut picker = Picker::new(&above);
        best = picker.pick(&tap, &best)?;
        if let Some(previous) = within.take() {
            let here = Array::scalar((k / kw) * width + k % kw);
            within = Some(picker.pick(&here, &previous)?);
        }
    }
    Ok((best, within))
}

/// The lowest value of `x`'s dtype as Burn's max pooling starts from: `-inf` for floats.
fn lowest(x: &Array) -> Array {
    Scalar::Float(f64::NEG_INFINITY).to_array(x.dtype())
}

/// The maxima of tiling windows, in `order`'s layout.
pub(super) fn max_pool(x: &Array, g: &Geometry, order: Order) -> mlx::Result<Array> {
    let split = Split::new(g, order);
    let (best, _) = running_max(x, g, order, &split, false)?;
    best.reshape(&split.out)
}

/// The maxima of tiling windows and Burn's indices of them (the flat input position
/// `ih * W + iw`, int32), both in `order`'s layout.
pub(super) fn max_pool_with_indices(
    x: &Array,
    g: &Geometry,
    order: Order,
) -> mlx::Result<(Array, Array)> {
    let split = Split::new(g, order);
    let (best, within) = running_max(x, g, order, &split, true)?;
    let within = within.expect("tracked");
    // Where each window starts, broadcast against the taps' shape.
    let (oh, ow) = (g.h.out as i32, g.w.out as i32);
    let (width, kh, kw) = (g.w.size as i32, g.h.kernel as i32, g.w.kernel as i32);
    let starts: Vec<i32> = (0..oh)
        .flat_map(|o| (0..ow).map(move |p| o * kh * width + p * kw))
        .collect();
    let starts = match order {
        Order::ChannelsFirst => Array::from_slice(&starts, &[oh, 1, ow, 1])?,
        Order::ChannelsLast => Array::from_slice(&starts, &[oh, 1, ow, 1, 1])?,
    };
    let flat = ops::add(&within, &starts)?;
    // Burn's index for a window with nothing above -inf is 0.
    let found = best.greater(&lowest(x))?;
    let index = pick(&found, &flat, &Array::scalar(0i32))?;
    Ok((best.reshape(&split.out)?, index.reshape(&split.out)?))
}
