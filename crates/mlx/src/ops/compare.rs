//! Comparisons, `where`, `isclose`/`allclose`, `array_equal`.
//!
//! Comparisons broadcast their operands, promote them to a common dtype and give bool arrays.
//! `Array` does not implement `PartialEq`/`PartialOrd` (those must return `bool`); use the
//! functions or the methods (`a.equal(&b)`, `a.greater(&b)`, …) instead.

use mlx_sys as sys;

use super::call;
use crate::array::Array;
use crate::error::Result;

macro_rules! comparisons {
    ($($(#[$attr:meta])* $name:ident => $sys:ident;)*) => {$(
        $(#[$attr])*
        pub fn $name(a: &Array, b: &Array) -> Result<Array> {
            call(|r, s| unsafe { sys::$sys(r, a.as_raw(), b.as_raw(), s) })
        }
    )*};
}

comparisons! {
    /// `a == b` elementwise, as bool (NaN equals nothing).
    equal => mlxc_equal;
    /// `a != b` elementwise, as bool (NaN differs from everything).
    not_equal => mlxc_not_equal;
    /// `a < b` elementwise, as bool.
    less => mlxc_less;
    /// `a <= b` elementwise, as bool.
    less_equal => mlxc_less_equal;
    /// `a > b` elementwise, as bool.
    greater => mlxc_greater;
    /// `a >= b` elementwise, as bool.
    greater_equal => mlxc_greater_equal;
}

/// A scalar bool array: true when `a` and `b` have the same shape and equal values (dtypes
/// may differ). With `equal_nan`, NaNs compare equal to NaNs.
pub fn array_equal(a: &Array, b: &Array, equal_nan: bool) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_array_equal(r, a.as_raw(), b.as_raw(), equal_nan, s) })
}

/// Tolerances of [`isclose`] and [`allclose`]: `|a - b| <= atol + rtol * |b|`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CloseOptions {
    /// Relative tolerance (default `1e-5`).
    pub rtol: f64,
    /// Absolute tolerance (default `1e-8`).
    pub atol: f64,
    /// Whether NaNs compare equal to NaNs (default `false`).
    pub equal_nan: bool,
}

impl Default for CloseOptions {
    fn default() -> Self {
        CloseOptions {
            rtol: 1e-5,
            atol: 1e-8,
            equal_nan: false,
        }
    }
}

impl CloseOptions {
    /// Sets the relative tolerance.
    pub fn with_rtol(mut self, rtol: f64) -> Self {
        self.rtol = rtol;
        self
    }

    /// Sets the absolute tolerance.
    pub fn with_atol(mut self, atol: f64) -> Self {
        self.atol = atol;
        self
    }

    /// Sets whether NaNs compare equal to NaNs.
    pub fn with_equal_nan(mut self, equal_nan: bool) -> Self {
        self.equal_nan = equal_nan;
        self
    }
}

/// Elementwise `|a - b| <= atol + rtol * |b|` with broadcasting, as bool. Infinities are
/// close only to infinities of the same sign.
pub fn isclose(a: &Array, b: &Array, options: CloseOptions) -> Result<Array> {
    let CloseOptions {
        rtol,
        atol,
        equal_nan,
    } = options;
    call(|r, s| unsafe { sys::mlxc_isclose(r, a.as_raw(), b.as_raw(), rtol, atol, equal_nan, s) })
}

/// A scalar bool array: whether [`isclose`] holds for every element (after broadcasting).
pub fn allclose(a: &Array, b: &Array, options: CloseOptions) -> Result<Array> {
    let CloseOptions {
        rtol,
        atol,
        equal_nan,
    } = options;
    call(|r, s| unsafe { sys::mlxc_allclose(r, a.as_raw(), b.as_raw(), rtol, atol, equal_nan, s) })
}

/// Picks `x` where `condition` is true and `y` elsewhere; the three broadcast together and the
/// result has the promoted dtype of `x` and `y`. Python's `mx.where` (`where` is a Rust
/// keyword, hence the underscore). Differentiable with respect to `x` and `y`.
pub fn where_(condition: &Array, x: &Array, y: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_where(r, condition.as_raw(), x.as_raw(), y.as_raw(), s) })
}

macro_rules! comparison_methods {
    ($($name:ident),*) => {$(
        #[doc = concat!("See [`", stringify!($name), "`].")]
        pub fn $name(&self, other: &Array) -> Result<Array> {
            $name(self, other)
        }
    )*};
}

impl Array {
    comparison_methods!(equal, not_equal, less, less_equal, greater, greater_equal);

    /// See [`array_equal`].
    pub fn array_equal(&self, other: &Array, equal_nan: bool) -> Result<Array> {
        array_equal(self, other, equal_nan)
    }

    /// See [`isclose`].
    pub fn isclose(&self, other: &Array, options: CloseOptions) -> Result<Array> {
        isclose(self, other, options)
    }

    /// See [`allclose`].
    pub fn allclose(&self, other: &Array, options: CloseOptions) -> Result<Array> {
        allclose(self, other, options)
    }
}
