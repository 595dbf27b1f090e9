//! Adaptive average pooling on MLX, 1-d and 2-d, forward and backward.
//!
//! Burn's windows are `floor(o * in / out) .. ceil((o + 1) * in / out)` (computed in f32 as
//! Burn does). Sizes that divide evenly reshape and average; others are a separable resampling
//! with per-window weights `1 / len` (see [`super::interpolate::Taps`]), whose backward pass
//! gathers through the transposed taps.

use mlx::{Array, Dtype, Scalar, ops};

use super::base::in_dtype;
use super::interpolate::{Taps, compute_dtype};
use super::pool::{as_image, as_signal, dims3, dims4};
use crate::eval::op;
use crate::tensor::MlxTensor;

/// Burn's adaptive windows along one axis, `start .. end` for each output, computed in f32 as
/// the reference backend does.
fn adaptive_window(o: usize, len_out: usize, len_in: usize) -> (usize, usize) {
    let start = ((o as f32 * len_in as f32) / len_out as f32).floor() as usize;
    let end = (((o + 1) as f32 * len_in as f32) / len_out as f32).ceil() as usize;
    (start, end.min(len_in))
}

/// One axis of an adaptive average pool.
enum Adaptive {
    /// Equal windows of `len` positions (`in` divisible by `out`): reshape and average.
    Even { len: usize },
    /// Windows of varying lengths: a resampling with weights `1 / len`.
    Taps(Taps),
}

impl Adaptive {
    fn new(name: &str, len_in: usize, len_out: usize) -> Adaptive {
        if len_in == 0 || len_out == 0 {
            panic!("burn-mlx: {name}: sizes must be positive (input {len_in}, output {len_out})");
        }
        if len_in.is_multiple_of(len_out) {
            return Adaptive::Even {
                len: len_in / len_out,
            };
        }
        let windows: Vec<(usize, usize)> = (0..len_out)
            .map(|o| adaptive_window(o, len_out, len_in))
            .collect();
        let width = windows.iter().map(|(s, e)| e - s).max().unwrap_or(1).max(1);
        let mut taps = Taps {
            len_in,
            len_out,
            width,
            index: Vec::new(),
            weight: Vec::new(),
        };
        for (start, end) in windows {
            let len = end - start;
            for t in 0..width {
                let inside = t < len;
                taps.index.push(if inside {
                    (start + t) as i32
                } else {
                    start as i32
                });
                taps.weight
                    .push(if inside { 1.0 / len as f64 } else { 0.0 });
            }
        }
        Adaptive::Taps(taps)
    }

    /// Averages `axis` of `a` (in `dtype`, the compute dtype).
    fn forward(&self, a: &Array, axis: usize, dtype: Dtype) -> mlx::Result<Array> {
        match self {
            Adaptive::Even { len: 1 } => Ok(a.clone()),
            Adaptive::Even { len } => {
                let mut shape = a.shape().to_vec();
                let n = shape[axis];
                shape.splice(axis..=axis, [n / *len as i32, *len as i32]);
                in_dtype(a, dtype)?
                    .reshape(&shape)?
                    .mean(Some(&[axis as i32 + 1]), false)
            }
            Adaptive::Taps(taps) => taps.apply(a, axis, dtype),
        }
    }

    /// The adjoint of [`Adaptive::forward`].
    fn backward(&self, g: &Array, axis: usize, dtype: Dtype) -> mlx::Result<Array> {
        match self {
            Adaptive::Even { len: 1 } => Ok(g.clone()),
            Adaptive::Even { len } => {
                // Each input position receives its window's gradient divided by the length.
                let len = *len as i32;
                let g = ops::divide(
                    &in_dtype(g, dtype)?,
                    &Scalar::Float(len as f64).to_array(dtype),
                )?;
                let mut expanded = g.shape().to_vec();
                expanded.insert(axis + 1, len);
                let mut merged = g.shape().to_vec();
                merged[axis] *= len;
                ops::broadcast_to(&ops::expand_dims(&g, &[axis as i32 + 1])?, &expanded)?
                    .reshape(&merged)
            }
            Adaptive::Taps(taps) => taps.transpose().apply(g, axis, dtype),
        }
    }
}

fn adaptive_forward_array(x: &Array, rows: &Adaptive, cols: &Adaptive) -> mlx::Result<Array> {
    let dtype = x.dtype();
    let compute = compute_dtype(dtype);
    let out = rows.forward(x, 2, compute)?;
    let out = cols.forward(&out, 3, compute)?;
    in_dtype(&out, dtype)
}

fn adaptive_backward_array(
    x_dtype: Dtype,
    grad: &Array,
    rows: &Adaptive,
    cols: &Adaptive,
) -> mlx::Result<Array> {
    let compute = compute_dtype(x_dtype);
    let out = rows.backward(grad, 2, compute)?;
    let out = cols.backward(&out, 3, compute)?;
    in_dtype(&out, x_dtype)
}

pub(crate) fn adaptive_avg_pool2d(x: MlxTensor, output_size: [usize; 2]) -> MlxTensor {
    let name = "adaptive_avg_pool2d";
    let [_, _, h, w] = dims4(&x, name);
    let (rows, cols) = (
        Adaptive::new(name, h, output_size[0]),
        Adaptive::new(name, w, output_size[1]),
    );
    op(&[&x], name, || {
        adaptive_forward_array(&x.array, &rows, &cols)
    })
}

pub(crate) fn adaptive_avg_pool2d_backward(x: MlxTensor, grad: MlxTensor) -> MlxTensor {
    let name = "adaptive_avg_pool2d_backward";
    let [_, _, h, w] = dims4(&x, name);
    let [_, _, oh, ow] = dims4(&grad, name);
    let (rows, cols) = (Adaptive::new(name, h, oh), Adaptive::new(name, w, ow));
    op(&[&grad], name, || {
        adaptive_backward_array(x.array.dtype(), &grad.array, &rows, &cols)
    })
}

pub(crate) fn adaptive_avg_pool1d(x: MlxTensor, output_size: usize) -> MlxTensor {
    let name = "adaptive_avg_pool1d";
    let [_, _, l] = dims3(&x, name);
    let (rows, cols) = (
        Adaptive::new(name, l, output_size),
        Adaptive::Even { len: 1 },
    );
    op(&[&x], name, || {
        as_signal(&adaptive_forward_array(&as_image(&x.array)?, &rows, &cols)?)
    })
}

pub(crate) fn adaptive_avg_pool1d_backward(x: MlxTensor, grad: MlxTensor) -> MlxTensor {
    let name = "adaptive_avg_pool1d_backward";
    let [_, _, l] = dims3(&x, name);
    let [_, _, o] = dims3(&grad, name);
    let (rows, cols) = (Adaptive::new(name, l, o), Adaptive::Even { len: 1 });
    op(&[&grad], name, || {
        as_signal(&adaptive_backward_array(
            x.array.dtype(),
            &as_image(&grad.array)?,
            &rows,
            &cols,
        )?)
    })
}
