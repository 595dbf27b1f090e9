//! Pooling on MLX: average and max (with and without indices), 1-d and 2-d,
//! forward and backward, with Burn's conventions (those of its reference backend).
//!
//! - **Windows.** The input is padded once (zeros for averages, `-inf` for maxima, plus the
//!   extra right padding `ceil_mode` needs), and each window position `(kh, kw)` of every window
//!   at once is a strided slice of it (start `k * dilation`, step `stride`). Maxima fold those
//!   slices with a strict `>` (the first maximum wins, as in Burn, and also NaN is passed over as
//!   Burn's reference backend does), which also gives the indices; sums are separable, `KW`
//!   slices along the width then `KH` along the height. Everything stays channels-first, with no
//!   transposes. (MLX's own pooling layers reduce an `as_strided` window view instead: on MLX
//!   0.32.4's CPU backend, reductions over such overlapping views can return wrong values.)
//! - **On the CPU**, max pooling of floating-point inputs (with or without indices, 1-d and 2-d)
//!   is instead one pass of the `mlx` crate's own kernel, [`ops::window_max_2d`], with the same
//!   definition (strict `>`, NaN passed over, the same indices). The fold above runs about six
//!   ops per window position, each allocating a result when MLX schedules it, and MLX's CPU
//!   evaluation schedules well ahead of the computing, so they were all held at once: the digit
//!   CNN's forward pass at batch 256 (its validation batches) peaked at 57 MB of MLX buffers in
//!   31 ms (2 CPU cores), 44.6 MB in 23 ms with the kernel, which reads the input through its
//!   strides (a convolution's channel-major result costs no copy) and writes only the results.
//! - **Average divisors** depend only on the output position and are separable, so they are
//!   computed on the host: with `count_include_pad` the window positions inside the padded input
//!   (positions past it, which only `ceil_mode` reaches, do not count), otherwise those inside
//!   the input. A window with no position to count divides by zero, as in Burn (`NaN`).
//! - **Average backward** is the adjoint of the average, which is separable too: along each
//!   axis, output `o` reads positions `o * stride + k * dilation - padding` with weight
//!   `1 / divisor`, and the transposed taps (computed on the host: for each input position, the
//!   windows that contain it) gather the output gradient, one `take_along_axis`, multiply and
//!   sum per axis. No scatter, no atomics, deterministic; about 10 times faster on MLX's CPU
//!   backend than the VJP of `as_strided` (a scatter over every window element) and than adding
//!   the gradient through `KH + KW` strided `slice_update_add`s.
//! - **Max indices** are Burn's: the flat position `ih * W + iw` in the unpadded input of the
//!   first maximum in window order (row by row), and 0 for a window whose values are all `-inf`
//!   (padding only, say). The backward pass scatter-adds the output gradient at those positions
//!   (`scatter_add_axis` over the flattened spatial axis), as the indices may come from anywhere.

use burn_backend::TensorMetadata;
use burn_backend::ops::conv::calculate_pool_output_size;
use mlx::{Array, Dtype, Scalar, ops};

use super::base::{in_dtype, on_cpu};
use super::interpolate::{Taps, compute_dtype};
use super::layout;
use super::pick::{Picker, pick};
use crate::eval::{op, op_multi};
use crate::tensor::MlxTensor;

/// One spatial axis of a pooling window, resolved.
#[derive(Clone, Copy, Debug)]
struct Axis {
    size: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
    out: usize,
}

impl Axis {
    fn new(
        name: &str,
        size: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        ceil_mode: bool,
    ) -> Axis {
        if kernel == 0 || stride == 0 || dilation == 0 {
            panic!(
                "burn-mlx: {name}: kernel size, stride and dilation must be positive (got {kernel}, {stride}, {dilation})"
            );
        }
        let span = dilation * (kernel - 1) + 1;
        if size + 2 * padding < span {
            panic!(
                "burn-mlx: {name}: the window ({span} positions with dilation) is larger than the padded input \
                 ({size} + 2 * {padding})"
            );
        }
        let out = calculate_pool_output_size(kernel, stride, padding, dilation, size, ceil_mode);
        Axis {
            size,
            kernel,
            stride,
            padding,
            dilation,
            out,
        }
    }

    /// Length of the padded axis the windows read: the input, `padding` before it, and after it
    /// the padding or what the last window reaches, whichever is needed (`ceil_mode` can reach
    /// past the padding; without it the windows may stop short of it).
    fn padded_len(&self) -> usize {
        self.padding + self.size + self.pad_after()
    }

    fn pad_after(&self) -> usize {
        let reach = (self.out - 1) * self.stride + (self.kernel - 1) * self.dilation + 1;
        reach.saturating_sub(self.padding + self.size)
    }

    /// The average along this axis as a resampling: output `o` reads input positions
    /// `o * stride + k * dilation - padding`, each inside the input weighted `1 / divisor`
    /// (positions in the padding read zeros: weight 0).
    fn average_taps(&self, count_include_pad: bool) -> Taps {
        let divisors = self.divisors(count_include_pad);
        let mut taps = Taps {
            len_in: self.size,
            len_out: self.out,
            width: self.kernel,
            index: Vec::new(),
            weight: Vec::new(),
        };
        for (o, divisor) in divisors.into_iter().enumerate() {
            for k in 0..self.kernel {
                let p = (o * self.stride + k * self.dilation) as isize - self.padding as isize;
                let inside = (0..self.size as isize).contains(&p);
                taps.index.push(if inside { p as i32 } else { 0 });
                // A window with an input position has a positive divisor.
                taps.weight
                    .push(if inside { 1.0 / divisor as f64 } else { 0.0 });
            }
        }
        taps
    }

    /// How many positions of each window the average divides by (see the module docs).
    fn divisors(&self, count_include_pad: bool) -> Vec<usize> {
        let (lo, hi) = if count_include_pad {
            (0, self.size + 2 * self.padding)
        } else {
            (self.padding, self.padding + self.size)
        };
        (0..self.out)
            .map(|o| {
                (0..self.kernel)
                    .map(|k| o * self.stride + k * self.dilation)
                    .filter(|p| (lo..hi).contains(p))
                    .count()
            })
            .collect()
    }
}

pub(super) fn dims4(x: &MlxTensor, name: &str) -> [usize; 4] {
    let shape = x.shape();
    if shape.num_dims() != 4 {
        panic!(
            "burn-mlx: {name}: expected a [batch, channels, height, width] tensor, got shape {shape:?}"
        );
    }
    [shape[0], shape[1], shape[2], shape[3]]
}

pub(super) fn dims3(x: &MlxTensor, name: &str) -> [usize; 3] {
    let shape = x.shape();
    if shape.num_dims() != 3 {
        panic!(
            "burn-mlx: {name}: expected a [batch, channels, length] tensor, got shape {shape:?}"
        );
    }
    [shape[0], shape[1], shape[2]]
}

/// A 2-d pooling geometry: both axes, and the batch and channel sizes.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    batch: usize,
    channels: usize,
    h: Axis,
    w: Axis,
}

impl Geometry {
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: &str,
        [batch, channels, height, width]: [usize; 4],
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        ceil_mode: bool,
    ) -> Geometry {
        Geometry {
            batch,
            channels,
            h: Axis::new(
                name,
                height,
                kernel[0],
                stride[0],
                padding[0],
                dilation[0],
                ceil_mode,
            ),
            w: Axis::new(
                name,
                width,
                kernel[1],
                stride[1],
                padding[1],
                dilation[1],
                ceil_mode,
            ),
        }
    }

    /// The input (channels-first or channels-last, see [`Order`]) padded with `value`:
    /// `padding` before each spatial axis, and after it as much as the windows reach (see
    /// [`Axis::padded_len`]).
    fn padded(&self, x: &Array, value: f64, order: Order) -> mlx::Result<Array> {
        let (h, w) = (&self.h, &self.w);
        if h.padded_len() == h.size && w.padded_len() == w.size {
            return Ok(x.clone());
        }
        let mut widths = vec![(0, 0); 4];
        let first = order.first_spatial();
        widths[first] = (h.padding as i32, h.pad_after() as i32);
        widths[first + 1] = (w.padding as i32, w.pad_after() as i32);
        let value = Scalar::Float(value).to_array(x.dtype());
        ops::pad(x, &widths, &value, ops::PadMode::Constant)
    }

    /// Window position `(kh, kw)` of every window: a strided slice of the padded input,
    /// `[N, C, OH, OW]` channels-first or `[N, OH, OW, C]` channels-last.
    fn tap(&self, padded: &Array, kh: usize, kw: usize, order: Order) -> mlx::Result<Array> {
        let (h, w) = (&self.h, &self.w);
        let (y, x) = ((kh * h.dilation) as i32, (kw * w.dilation) as i32);
        let mut start = [0; 4];
        let mut stop = padded.shape().to_vec();
        let mut step = [1; 4];
        let first = order.first_spatial();
        start[first] = y;
        start[first + 1] = x;
        stop[first] = y + ((h.out - 1) * h.stride) as i32 + 1;
        stop[first + 1] = x + ((w.out - 1) * w.stride) as i32 + 1;
        step[first] = h.stride as i32;
        step[first + 1] = w.stride as i32;
        ops::slice(padded, &start, &stop, &step)
    }

    /// The divisors of every output position, shaped `[OH, OW]` in `dtype`.
    fn divisors(&self, count_include_pad: bool, dtype: Dtype) -> mlx::Result<Array> {
        let (dh, dw) = (
            self.h.divisors(count_include_pad),
            self.w.divisors(count_include_pad),
        );
        let values: Vec<f32> = dh
            .iter()
            .flat_map(|a| dw.iter().map(move |b| (a * b) as f32))
            .collect();
        Array::from_slice(&values, &[self.h.out as i32, self.w.out as i32])?.astype(dtype)
    }
}

// ---- average pooling ----------------------------------------------------------------------------

fn avg_pool_array(x: &Array, g: &Geometry, count_include_pad: bool) -> mlx::Result<Array> {
    let dtype = x.dtype();
    let compute = compute_dtype(dtype);
    let padded = g.padded(x, 0.0, Order::ChannelsFirst)?;
    let padded = if dtype == compute {
        padded
    } else {
        padded.astype(compute)?
    };
    // Window sums, separable: along the width (`KW` strided slices of the padded input, full
    // height), then along the height (`KH` strided slices of those).
    let (h, w) = (&g.h, &g.w);
    let (n, c) = (g.batch as i32, g.channels as i32);
    let hp = h.padded_len() as i32;
    let mut rows: Option<Array> = None;
    for kw in 0..w.kernel {
        let x0 = (kw * w.dilation) as i32;
        let stop = [n, c, hp, x0 + ((w.out - 1) * w.stride) as i32 + 1];
        let part = ops::slice(&padded, &[0, 0, 0, x0], &stop, &[1, 1, 1, w.stride as i32])?;
        rows = Some(match rows {
            Some(acc) => ops::add(&acc, &part)?,
            None => part,
        });
    }
    let rows = rows.expect("a kernel has positions");
    let ow = w.out as i32;
    let mut sums: Option<Array> = None;
    for kh in 0..h.kernel {
        let y0 = (kh * h.dilation) as i32;
        let stop = [n, c, y0 + ((h.out - 1) * h.stride) as i32 + 1, ow];
        let part = ops::slice(&rows, &[0, 0, y0, 0], &stop, &[1, 1, h.stride as i32, 1])?;
        sums = Some(match sums {
            Some(acc) => ops::add(&acc, &part)?,
            None => part,
        });
    }
    let out = ops::divide(
        &sums.expect("a kernel has positions"),
        &g.divisors(count_include_pad, compute)?,
    )?;
    if dtype == compute {
        Ok(out)
    } else {
        out.astype(dtype)
    }
}

/// The adjoint of the average: every input position gathers, along each axis, the windows
/// that contain it, weighted by `1 / divisor` (the divisors are separable, see
/// [`Axis::average_taps`]). NCHW in, NCHW out.
fn avg_pool_backward_array(
    x_dtype: Dtype,
    grad: &Array,
    g: &Geometry,
    count_include_pad: bool,
) -> mlx::Result<Array> {
    let compute = compute_dtype(x_dtype);
    let rows = g.h.average_taps(count_include_pad).transpose();
    let cols = g.w.average_taps(count_include_pad).transpose();
    let out = rows.apply(grad, 2, compute)?;
    let out = cols.apply(&out, 3, compute)?;
    in_dtype(&out, x_dtype)
}

pub(crate) fn avg_pool2d(
    x: MlxTensor,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    count_include_pad: bool,
    ceil_mode: bool,
) -> MlxTensor {
    let g = Geometry::new(
        "avg_pool2d",
        dims4(&x, "avg_pool2d"),
        kernel,
        stride,
        padding,
        [1, 1],
        ceil_mode,
    );
    op(&[&x], "avg_pool2d", || {
        avg_pool_array(&x.array, &g, count_include_pad)
    })
}

pub(crate) fn avg_pool2d_backward(
    x: MlxTensor,
    grad: MlxTensor,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    count_include_pad: bool,
    ceil_mode: bool,
) -> MlxTensor {
    let name = "avg_pool2d_backward";
    let g = Geometry::new(
        name,
        dims4(&x, name),
        kernel,
        stride,
        padding,
        [1, 1],
        ceil_mode,
    );
    check_grad(&grad, &g, name);
    op(&[&grad], name, || {
        avg_pool_backward_array(x.array.dtype(), &grad.array, &g, count_include_pad)
    })
}

/// 1-d pooling is 2-d pooling of an `[N, C, L, 1]` image: the reshapes are free views, and the
/// whole op stays one MLX expression.
pub(super) fn as_image(a: &Array) -> mlx::Result<Array> {
    let s = a.shape();
    a.reshape(&[s[0], s[1], s[2], 1])
}

pub(super) fn as_signal(a: &Array) -> mlx::Result<Array> {
    let s = a.shape();
    a.reshape(&[s[0], s[1], s[2]])
}

fn image_dims([n, c, l]: [usize; 3]) -> [usize; 4] {
    [n, c, l, 1]
}

pub(crate) fn avg_pool1d(
    x: MlxTensor,
    kernel: usize,
    stride: usize,
    padding: usize,
    count_include_pad: bool,
    ceil_mode: bool,
) -> MlxTensor {
    let dims = image_dims(dims3(&x, "avg_pool1d"));
    let g = Geometry::new(
        "avg_pool1d",
        dims,
        [kernel, 1],
        [stride, 1],
        [padding, 0],
        [1, 1],
        ceil_mode,
    );
    op(&[&x], "avg_pool1d", || {
        as_signal(&avg_pool_array(
            &as_image(&x.array)?,
            &g,
            count_include_pad,
        )?)
    })
}

pub(crate) fn avg_pool1d_backward(
    x: MlxTensor,
    grad: MlxTensor,
    kernel: usize,
    stride: usize,
    padding: usize,
    count_include_pad: bool,
    ceil_mode: bool,
) -> MlxTensor {
    let name = "avg_pool1d_backward";
    let dims = image_dims(dims3(&x, name));
    let g = Geometry::new(
        name,
        dims,
        [kernel, 1],
        [stride, 1],
        [padding, 0],
        [1, 1],
        ceil_mode,
    );
    check_grad_1d(&grad, &g, name);
    op(&[&grad], name, || {
        as_signal(&avg_pool_backward_array(
            x.array.dtype(),
            &as_image(&grad.array)?,
            &g,
            count_include_pad,
        )?)
    })
}

fn check_grad(grad: &MlxTensor, g: &Geometry, name: &str) {
    let expected = [g.batch, g.channels, g.h.out, g.w.out];
    if grad.shape().as_slice() != expected {
        panic!(
            "burn-mlx: {name}: the output gradient has shape {:?}, the pooling output {expected:?}",
            grad.shape()
        );
    }
}

fn check_grad_1d(grad: &MlxTensor, g: &Geometry, name: &str) {
    let expected = [g.batch, g.channels, g.h.out];
    if grad.shape().as_slice() != expected {
        panic!(
            "burn-mlx: {name}: the output gradient has shape {:?}, the pooling output {expected:?}",
            grad.shape()
        );
    }
}

// ---- max pooling --------------------------------------------------------------------------------

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
    if order == Order::ChannelsFirst
        && let Some(windows) = kernel_windows(x, g)
    {
        return ops::window_max_2d(x, &windows, track);
    }
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

/// Max pooling of NCHW `x` (working in `order`, see [`Order`]).
fn max_pool_array(x: &Array, g: &Geometry, order: Order) -> mlx::Result<Array> {
    let (best, _) = running_max(&order.view(x)?, g, false, order)?;
    order.unview(&best)
}

/// Maxima and Burn's indices (NCHW, indices in `index_dtype`).
fn max_pool_with_indices_array(
    x: &Array,
    g: &Geometry,
    index_dtype: Dtype,
    order: Order,
) -> mlx::Result<Vec<Array>> {
    let (values, index) = running_max(&order.view(x)?, g, true, order)?;
    let index = index.expect("tracked").astype(index_dtype)?;
    Ok(vec![order.unview(&values)?, order.unview(&index)?])
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

/// The memory order max pooling works in: channels-last for an input that is channels-last in
/// memory (a convolution's result, see [`layout`]), so its comparisons run on contiguous
/// channels and its results stay channels-last for the next convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    ChannelsFirst,
    ChannelsLast,
}

impl Order {
    fn of(t: &MlxTensor) -> Order {
        if layout::is_channels_last(t) {
            Order::ChannelsLast
        } else {
            Order::ChannelsFirst
        }
    }

    /// The order max pooling of `t` works in: channels-first where the CPU kernel computes it
    /// (it reads any memory order through the strides), else as [`Order::of`].
    fn for_max(t: &MlxTensor, g: &Geometry) -> Order {
        if kernel_windows(&t.array, g).is_some() {
            Order::ChannelsFirst
        } else {
            Order::of(t)
        }
    }

    /// The first spatial axis of an array worked on in this order.
    fn first_spatial(self) -> usize {
        match self {
            Order::ChannelsFirst => 2,
            Order::ChannelsLast => 1,
        }
    }

    /// An NCHW array as worked on in this order (a view).
    fn view(self, a: &Array) -> mlx::Result<Array> {
        match self {
            Order::ChannelsFirst => Ok(a.clone()),
            Order::ChannelsLast => layout::to_cl(a),
        }
    }

    /// A result worked on in this order, as NCHW (a view).
    fn unview(self, a: &Array) -> mlx::Result<Array> {
        match self {
            Order::ChannelsFirst => Ok(a.clone()),
            Order::ChannelsLast => layout::from_cl(a),
        }
    }

    /// `t` with the hint this order leaves on its results.
    fn mark(self, t: MlxTensor) -> MlxTensor {
        match self {
            Order::ChannelsFirst => t,
            Order::ChannelsLast => layout::mark_channels_last(t),
        }
    }
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
    let order = Order::for_max(&x, &g);
    order.mark(op(&[&x], "max_pool2d", || {
        max_pool_array(&x.array, &g, order)
    }))
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
    let order = Order::for_max(&x, &g);
    let mut out = op_multi(&[&x], name, || {
        max_pool_with_indices_array(&x.array, &g, index_dtype, order)
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
        as_signal(&max_pool_array(
            &as_image(&x.array)?,
            &g,
            Order::ChannelsFirst,
        )?)
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
        let arrays = max_pool_with_indices_array(
            &as_image(&x.array)?,
            &g,
            index_dtype,
            Order::ChannelsFirst,
        )?;
        arrays.iter().map(as_signal).collect()
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
