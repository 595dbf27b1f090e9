//! Core ops: creation, basic arithmetic, reshaping, summing, casting.

use mlx_sys as sys;

use super::call;
use crate::array::{Array, ints};
use crate::dtype::{ArrayElement, Dtype};
use crate::error::Result;

/// `a + b`, broadcasting.
pub fn add(a: &Array, b: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_add(r, a.as_raw(), b.as_raw(), s) })
}

/// `a - b`, broadcasting.
pub fn subtract(a: &Array, b: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_subtract(r, a.as_raw(), b.as_raw(), s) })
}

/// `a * b`, broadcasting.
pub fn multiply(a: &Array, b: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_multiply(r, a.as_raw(), b.as_raw(), s) })
}

/// `a / b`, broadcasting (true division: integers give floats).
pub fn divide(a: &Array, b: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_divide(r, a.as_raw(), b.as_raw(), s) })
}

/// Matrix product with NumPy's broadcasting rules for batch dimensions.
pub fn matmul(a: &Array, b: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_matmul(r, a.as_raw(), b.as_raw(), s) })
}

/// The same data with a new shape; one dimension may be `-1` (inferred).
pub fn reshape(a: &Array, shape: &[i32]) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_reshape(r, a.as_raw(), ints(shape), s) })
}

/// Permutes the axes to the order `axes` gives; `None` reverses them (as [`Array::t`]).
/// `axes` must name every axis once, so `Some(&[])` is accepted only for a scalar.
pub fn transpose(a: &Array, axes: Option<&[i32]>) -> Result<Array> {
    match axes {
        None => call(|r, s| unsafe { sys::mlxc_transpose_all(r, a.as_raw(), s) }),
        Some(axes) => call(|r, s| unsafe { sys::mlxc_transpose(r, a.as_raw(), ints(axes), s) }),
    }
}

/// Sum over `axes` (all axes when `None`; `Some(&[])` returns `a` unchanged, as in Python MLX).
pub fn sum(a: &Array, axes: Option<&[i32]>, keepdims: bool) -> Result<Array> {
    match axes {
        None => call(|r, s| unsafe { sys::mlxc_sum_all(r, a.as_raw(), keepdims, s) }),
        Some(axes) => call(|r, s| unsafe { sys::mlxc_sum(r, a.as_raw(), ints(axes), keepdims, s) }),
    }
}

/// Converts to another element type.
pub fn astype(a: &Array, dtype: Dtype) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_astype(r, a.as_raw(), dtype.to_sys(), s) })
}

/// A row-major copy of `a` (or `a` itself when it already is).
pub fn contiguous(a: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_contiguous(r, a.as_raw(), false, s) })
}

/// An array of zeros.
pub fn zeros(shape: &[i32], dtype: Dtype) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_zeros(r, ints(shape), dtype.to_sys(), s) })
}

/// An array of `shape` and `dtype` to be overwritten: zeros, since MLX has no uninitialized
/// arrays (Python MLX's `empty` is also `zeros`).
pub fn empty(shape: &[i32], dtype: Dtype) -> Result<Array> {
    zeros(shape, dtype)
}

/// An array like `a` (its shape, and its dtype unless `dtype` is given) to be overwritten:
/// zeros, as [`empty`].
pub fn empty_like(a: &Array, dtype: Option<Dtype>) -> Result<Array> {
    super::zeros_like(a, dtype)
}

/// An array of ones.
pub fn ones(shape: &[i32], dtype: Dtype) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_ones(r, ints(shape), dtype.to_sys(), s) })
}

/// An array of `shape` filled with `value` (broadcast), converted to `dtype`.
pub fn full(shape: &[i32], value: &Array, dtype: Dtype) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_full(r, ints(shape), value.as_raw(), dtype.to_sys(), s) })
}

/// Evenly spaced values in `[start, stop)` with `step`.
pub fn arange(start: f64, stop: f64, step: f64, dtype: Dtype) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_arange(r, start, stop, step, dtype.to_sys(), s) })
}

/// `num` evenly spaced values from `start` to `stop` (inclusive).
pub fn linspace(start: f64, stop: f64, num: i32, dtype: Dtype) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_linspace(r, start, stop, num, true, dtype.to_sys(), s) })
}

/// An `n × m` matrix with ones on diagonal `k` (0: main, > 0: above, < 0: below).
pub fn eye(n: i32, m: i32, k: i32, dtype: Dtype) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_eye(r, n, m, k, dtype.to_sys(), s) })
}

impl Array {
    /// Zeros of `T`.
    pub fn zeros<T: ArrayElement>(shape: &[i32]) -> Result<Array> {
        zeros(shape, T::DTYPE)
    }

    /// Ones of `T`.
    pub fn ones<T: ArrayElement>(shape: &[i32]) -> Result<Array> {
        ones(shape, T::DTYPE)
    }

    /// `shape` filled with `value`.
    pub fn full<T: ArrayElement>(shape: &[i32], value: T) -> Result<Array> {
        full(shape, &Array::scalar(value), T::DTYPE)
    }

    /// `[0, 1, …, n - 1]` as `T`.
    pub fn arange<T: ArrayElement>(n: i32) -> Result<Array> {
        arange(0.0, f64::from(n), 1.0, T::DTYPE)
    }

    /// The `n × n` identity of `T`.
    pub fn eye<T: ArrayElement>(n: i32) -> Result<Array> {
        eye(n, n, 0, T::DTYPE)
    }

    /// See [`reshape`].
    pub fn reshape(&self, shape: &[i32]) -> Result<Array> {
        reshape(self, shape)
    }

    /// See [`transpose`].
    pub fn transpose(&self, axes: Option<&[i32]>) -> Result<Array> {
        transpose(self, axes)
    }

    /// Reverses the axes (`a.T` in Python).
    pub fn t(&self) -> Result<Array> {
        transpose(self, None)
    }

    /// See [`sum`].
    pub fn sum(&self, axes: Option<&[i32]>, keepdims: bool) -> Result<Array> {
        sum(self, axes, keepdims)
    }

    /// See [`astype`].
    pub fn astype(&self, dtype: Dtype) -> Result<Array> {
        astype(self, dtype)
    }

    /// See [`matmul`].
    pub fn matmul(&self, other: &Array) -> Result<Array> {
        matmul(self, other)
    }
}
