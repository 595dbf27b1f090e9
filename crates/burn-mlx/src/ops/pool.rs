//! Average pooling on MLX, 1-d and 2-d, forward and backward, and the window geometry that
//! max pooling (`max_pool`) shares, with Burn's conventions (those of its reference backend).
//!
//! - **Windows.** The input is padded once (zeros for averages, `-inf` for maxima, plus the
//!   extra right padding `ceil_mode` needs), and each window position `(kh, kw)` of every window
//!   at once is a strided slice of it (start `k * dilation`, step `stride`). Sums are separable,
//!   `KW` slices along the width then `KH` along the height. Everything stays channels-first,
//!   with no transposes. (MLX's own pooling layers reduce an `as_strided` window view instead:
//!   on MLX 0.32.4's CPU backend, reductions over such overlapping views can return wrong
//!   values.)
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

use burn_backend::TensorMetadata;
use burn_backend::ops::conv::calculate_pool_output_size;
use mlx::{Array, Dtype, Scalar, ops};

use super::base::in_dtype;
use super::interpolate::{Taps, compute_dtype};
use super::layout;
use crate::eval::op;
use crate::tensor::MlxTensor;

/// One spatial axis of a pooling window, resolved.
#[derive(Clone, Copy, Debug)]
pub(super) struct Axis {
    pub(super) size: usize,
    pub(super) kernel: usize,
    pub(super) stride: usize,
    pub(super) padding: usize,
    pub(super) dilation: usize,
    pub(super) out: usize,
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
pub(super) struct Geometry {
    pub(super) batch: usize,
    pub(super) channels: usize,
    pub(super) h: Axis,
    pub(super) w: Axis,
}

impl Geometry {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
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
    pub(super) fn padded(&self, x: &Array, value: f64, order: Order) -> mlx::Result<Array> {
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
    pub(super) fn tap(
        &self,
        padded: &Array,
        kh: usize,
        kw: usize,
        order: Order,
    ) -> mlx::Result<Array> {
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

pub(super) fn image_dims([n, c, l]: [usize; 3]) -> [usize; 4] {
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

/// The memory order max pooling works in (see `max_pool`): channels-last for an input that is channels-last in
/// memory (a convolution's result, see [`layout`]), so its comparisons run on contiguous
/// channels and its results stay channels-last for the next convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Order {
    ChannelsFirst,
    ChannelsLast,
}

impl Order {
    pub(super) fn of(t: &MlxTensor) -> Order {
        if layout::is_channels_last(t) {
            Order::ChannelsLast
        } else {
            Order::ChannelsFirst
        }
    }

    /// The first spatial axis of an array worked on in this order.
    pub(super) fn first_spatial(self) -> usize {
        match self {
            Order::ChannelsFirst => 2,
            Order::ChannelsLast => 1,
        }
    }

    /// An NCHW array as worked on in this order (a view).
    pub(super) fn view(self, a: &Array) -> mlx::Result<Array> {
        match self {
            Order::ChannelsFirst => Ok(a.clone()),
            Order::ChannelsLast => layout::to_cl(a),
        }
    }

    /// A result worked on in this order, as NCHW (a view).
    pub(super) fn unview(self, a: &Array) -> mlx::Result<Array> {
        match self {
            Order::ChannelsFirst => Ok(a.clone()),
            Order::ChannelsLast => layout::from_cl(a),
        }
    }

    /// `t` with the hint this order leaves on its results.
    pub(super) fn mark(self, t: MlxTensor) -> MlxTensor {
        match self {
            Order::ChannelsFirst => t,
            Order::ChannelsLast => layout::mark_channels_last(t),
        }
    }
}
