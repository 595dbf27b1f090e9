//! Parameter initializers (MLX's `mlx.nn.init`).
//!
//! Python MLX's initializers are factories (`nn.init.glorot_uniform(dtype)(array, gain)`);
//! here each is one function taking the shape to fill, its parameters and the dtype, and
//! returning a new array. Random ones draw from MLX's global random state, so
//! [`crate::random::seed`] makes them reproducible — with the same seed and the same calls
//! they draw the same values as Python MLX.
//!
//! The scaled initializers (Glorot, He) compute fans as Python MLX does ([`fan_in_fan_out`]):
//! for a weight of shape `[out, k…, in]` (MLX's layout for linear and convolution weights),
//! `fan_in = in · Πk` and `fan_out = out · Πk`.
//!
//! ```
//! use mlx::nn::init::{self, FanMode};
//! use mlx::Dtype;
//!
//! mlx::random::seed(0)?;
//! let w = init::glorot_uniform(&[64, 32], 1.0, Dtype::Float32)?;
//! let limit = (6.0f32 / (64.0 + 32.0)).sqrt();
//! assert!(w.abs()?.max(None, false)?.item::<f32>()? <= limit);
//! let conv = init::he_normal(&[16, 3, 3, 8], FanMode::FanIn, 1.0, Dtype::Float32)?;
//! assert_eq!(conv.shape(), &[16, 3, 3, 8]);
//! assert_eq!(init::fan_in_fan_out(&[16, 3, 3, 8])?, (72, 144));
//! # Ok::<(), mlx::Error>(())
//! ```

use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::{linalg, ops, random};

fn invalid<T>(init: &str, message: String) -> Result<T> {
    Err(Error::InvalidArgument(format!("[init.{init}] {message}")))
}

/// A float32 scalar array.
fn f32_scalar(value: f64) -> Array {
    Array::scalar(value as f32)
}

/// `value` everywhere.
pub fn constant(shape: &[i32], value: f64, dtype: Dtype) -> Result<Array> {
    ops::full(shape, &f32_scalar(value), dtype)
}

/// Samples of the normal distribution with mean `mean` and standard deviation `std`.
pub fn normal(shape: &[i32], mean: f64, std: f64, dtype: Dtype) -> Result<Array> {
    random::normal_with(shape, dtype, &f32_scalar(mean), &f32_scalar(std), None)
}

/// Samples of the uniform distribution on `[low, high)`.
pub fn uniform(shape: &[i32], low: f64, high: f64, dtype: Dtype) -> Result<Array> {
    random::uniform_range(&f32_scalar(low), &f32_scalar(high), shape, dtype, None)
}

/// The identity matrix; `shape` must be square (`[n, n]`).
pub fn identity(shape: &[i32], dtype: Dtype) -> Result<Array> {
    if shape.len() != 2 || shape[0] != shape[1] {
        return invalid(
            "identity",
            format!("the shape must be a square matrix, got {shape:?}"),
        );
    }
    ops::eye(shape[0], shape[0], 0, dtype)
}

/// `(fan_in, fan_out)` of a weight of `shape` (at least 2 dimensions): `shape[-1]` and
/// `shape[0]`, each times the product of the dimensions in between (the receptive field).
pub fn fan_in_fan_out(shape: &[i32]) -> Result<(i32, i32)> {
    if shape.len() < 2 {
        return invalid(
            "fan_in_fan_out",
            format!("Glorot and He initialization need at least 2 dimensions, got shape {shape:?}"),
        );
    }
    let receptive: i32 = shape[1..shape.len() - 1].iter().product();
    Ok((shape[shape.len() - 1] * receptive, shape[0] * receptive))
}

/// Which fan the He initializers scale by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FanMode {
    /// The number of inputs (keeps the variance of activations in the forward pass; Python's
    /// default `"fan_in"`).
    #[default]
    FanIn,
    /// The number of outputs (keeps the variance of gradients in the backward pass;
    /// `"fan_out"`).
    FanOut,
}

fn fan(shape: &[i32], mode: FanMode) -> Result<f64> {
    let (fan_in, fan_out) = fan_in_fan_out(shape)?;
    let f = match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    };
    if f <= 0 {
        return invalid("he", format!("the fan of shape {shape:?} is zero"));
    }
    Ok(f64::from(f))
}

fn glorot_fans(shape: &[i32]) -> Result<f64> {
    let (fan_in, fan_out) = fan_in_fan_out(shape)?;
    if fan_in + fan_out <= 0 {
        return invalid("glorot", format!("the fans of shape {shape:?} are zero"));
    }
    Ok(f64::from(fan_in + fan_out))
}

/// Glorot (Xavier) normal: `normal(0, σ)` with `σ = gain · √(2 / (fan_in + fan_out))`.
pub fn glorot_normal(shape: &[i32], gain: f64, dtype: Dtype) -> Result<Array> {
    let std = gain * (2.0 / glorot_fans(shape)?).sqrt();
    normal(shape, 0.0, std, dtype)
}

/// Glorot (Xavier) uniform: `uniform(-l, l)` with `l = gain · √(6 / (fan_in + fan_out))`.
pub fn glorot_uniform(shape: &[i32], gain: f64, dtype: Dtype) -> Result<Array> {
    let limit = gain * (6.0 / glorot_fans(shape)?).sqrt();
    uniform(shape, -limit, limit, dtype)
}

/// He (Kaiming) normal: `normal(0, σ)` with `σ = gain / √fan` (fan chosen by `mode`).
pub fn he_normal(shape: &[i32], mode: FanMode, gain: f64, dtype: Dtype) -> Result<Array> {
    let std = gain / fan(shape, mode)?.sqrt();
    normal(shape, 0.0, std, dtype)
}

/// He (Kaiming) uniform: `uniform(-l, l)` with `l = gain · √(3 / fan)` (fan chosen by `mode`).
pub fn he_uniform(shape: &[i32], mode: FanMode, gain: f64, dtype: Dtype) -> Result<Array> {
    let limit = gain * (3.0 / fan(shape, mode)?).sqrt();
    uniform(shape, -limit, limit, dtype)
}

/// A 2-d matrix of `normal(mean, std)` samples in which, in every row,
/// `ceil(sparsity · columns)` entries chosen at random are zero (`sparsity` in `[0, 1]`).
pub fn sparse(shape: &[i32], sparsity: f64, mean: f64, std: f64, dtype: Dtype) -> Result<Array> {
    if shape.len() != 2 {
        return invalid(
            "sparse",
            format!("only 2-d shapes are supported, got {shape:?}"),
        );
    }
    if !(0.0..=1.0).contains(&sparsity) {
        return invalid(
            "sparse",
            format!("sparsity must be in [0, 1], got {sparsity}"),
        );
    }
    let cols = shape[1];
    let num_zeros = (sparsity * f64::from(cols)).ceil() as i32;
    // A random order of each row's columns (drawn first, as Python MLX does); an entry is
    // zeroed when its column comes among the first `num_zeros` of its row's order.
    let order = ops::argsort(&random::uniform(shape, Dtype::Float32, None)?, Some(1))?;
    let values = normal(shape, mean, std, dtype)?;
    let rank = ops::argsort(&order, Some(1))?;
    let zeroed = ops::less(&rank, &Array::scalar(num_zeros))?;
    ops::where_(&zeroed, &ops::zeros(&[], dtype)?, &values)
}

/// A (semi-)orthogonal matrix times `gain`: the `Q` of the QR factorization of a square
/// normal matrix of side `max(rows, columns)`, with column signs fixed by `R`'s diagonal
/// (so that it is uniformly distributed), cut to `shape`. Rows are orthonormal when
/// `rows <= columns`, columns otherwise. The QR runs on the CPU.
pub fn orthogonal(shape: &[i32], gain: f64, dtype: Dtype) -> Result<Array> {
    if shape.len() != 2 {
        return invalid(
            "orthogonal",
            format!("only 2-d shapes are supported, got {shape:?}"),
        );
    }
    let (rows, cols) = (shape[0], shape[1]);
    let n = rows.max(cols);
    let m = random::normal(&[n, n], Dtype::Float32, None)?;
    let (q, r) = linalg::qr(&m)?;
    let signs = ops::sign(&r.diag(0)?)?;
    let q = ops::multiply(&q, &signs)?;
    let q = ops::slice(&q, &[0, 0], &[rows, cols], &[1, 1])?;
    ops::multiply(&q, &f32_scalar(gain))?.astype(dtype)
}
