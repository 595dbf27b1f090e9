//! Reductions over axes (with keepdims) and cumulative ops.
//!
//! Reductions take `axes: Option<&[i32]>` and `keepdims` (keep reduced axes as size-one
//! dimensions): `None` reduces over every axis (Python's `axis=None`), `Some(&[..])` over
//! those axes (negative ones count from the end), and `Some(&[])` over no axis, returning the
//! input (in the reduction's result dtype) as Python MLX's `axis=[]` does; see
//! [the crate's conventions](crate#conventions-and-differences-from-python-mlx). Cumulative
//! ops take `axis: Option<i32>` (`None` scans the flattened array) and [`ScanOptions`].

use mlx_sys as sys;

use super::{call, call_vec};
use crate::array::{Array, ints};
use crate::dtype::Dtype;
use crate::error::{Result, invalid};

/// An optional dtype as mlxc takes it.
pub(super) fn opt_dtype(dtype: Option<Dtype>) -> sys::mlxc_opt_dtype {
    sys::mlxc_opt_dtype {
        has: dtype.is_some(),
        value: dtype.unwrap_or(Dtype::Float32).to_sys(),
    }
}

/// Defines a reduction `name(a, axes, keepdims)` over the mlxc pair `name` / `name_all`.
macro_rules! reduction {
    ($(#[$doc:meta])* $name:ident, $axes_fn:ident, $all_fn:ident) => {
        $(#[$doc])*
        pub fn $name(a: &Array, axes: Option<&[i32]>, keepdims: bool) -> Result<Array> {
            match axes {
                None => call(|r, s| unsafe { sys::$all_fn(r, a.as_raw(), keepdims, s) }),
                Some(axes) => {
                    call(|r, s| unsafe { sys::$axes_fn(r, a.as_raw(), ints(axes), keepdims, s) })
                }
            }
        }
    };
}

reduction!(
    /// Product over `axes` (all axes when `None`). The product of nothing is 1.
    prod, mlxc_prod, mlxc_prod_all
);
reduction!(
    /// Arithmetic mean over `axes` (all axes when `None`); integers give float32.
    mean, mlxc_mean, mlxc_mean_all
);
reduction!(
    /// Median over `axes` (all axes when `None`): the mean of the two middle values when the
    /// count is even.
    median, mlxc_median, mlxc_median_all
);
reduction!(
    /// Maximum over `axes` (all axes when `None`). Fails on an empty reduction; NaN propagates.
    max, mlxc_max, mlxc_max_all
);
reduction!(
    /// Minimum over `axes` (all axes when `None`). Fails on an empty reduction; NaN propagates.
    min, mlxc_min, mlxc_min_all
);
reduction!(
    /// Whether every element over `axes` (all axes when `None`) is true (non-zero); `true` for
    /// nothing.
    all, mlxc_all, mlxc_all_all
);
reduction!(
    /// Whether some element over `axes` (all axes when `None`) is true (non-zero); `false` for
    /// nothing.
    any, mlxc_any, mlxc_any_all
);

/// `log(sum(exp(a)))` over `axes` (all axes when `None`), computed stably. Integers and bools
/// give float32.
pub fn logsumexp(a: &Array, axes: Option<&[i32]>, keepdims: bool) -> Result<Array> {
    // MLX 0.32.4 subtracts the maximum in the input's dtype when reducing several axes, which
    // wraps for bool and unsigned inputs; the result is float32 for them anyway, so convert
    // first.
    let converted;
    let a = if a.dtype().is_inexact() {
        a
    } else {
        converted = super::astype(a, Dtype::Float32)?;
        &converted
    };
    match axes {
        None => call(|r, s| unsafe { sys::mlxc_logsumexp_all(r, a.as_raw(), keepdims, s) }),
        Some(axes) => {
            call(|r, s| unsafe { sys::mlxc_logsumexp(r, a.as_raw(), ints(axes), keepdims, s) })
        }
    }
}

reduction!(
    /// Number of non-zero elements over `axes` (all axes when `None`), as int32.
    count_nonzero, mlxc_count_nonzero, mlxc_count_nonzero_all
);

/// Variance over `axes` (all axes when `None`), dividing by `N - ddof`.
pub fn var(a: &Array, axes: Option<&[i32]>, keepdims: bool, ddof: i32) -> Result<Array> {
    match axes {
        None => call(|r, s| unsafe { sys::mlxc_var_all(r, a.as_raw(), keepdims, ddof, s) }),
        Some(axes) => {
            call(|r, s| unsafe { sys::mlxc_var(r, a.as_raw(), ints(axes), keepdims, ddof, s) })
        }
    }
}

/// Standard deviation over `axes` (all axes when `None`), dividing by `N - ddof`.
pub fn std(a: &Array, axes: Option<&[i32]>, keepdims: bool, ddof: i32) -> Result<Array> {
    match axes {
        None => call(|r, s| unsafe { sys::mlxc_std_all(r, a.as_raw(), keepdims, ddof, s) }),
        Some(axes) => {
            call(|r, s| unsafe { sys::mlxc_std(r, a.as_raw(), ints(axes), keepdims, ddof, s) })
        }
    }
}

/// Minimum and maximum over `axes` (all axes when `None`), in that order.
pub fn minmax(a: &Array, axes: Option<&[i32]>, keepdims: bool) -> Result<(Array, Array)> {
    let v = match axes {
        None => call_vec(|r, s| unsafe { sys::mlxc_minmax_all(r, a.as_raw(), keepdims, s) })?,
        Some(axes) => {
            call_vec(|r, s| unsafe { sys::mlxc_minmax(r, a.as_raw(), ints(axes), keepdims, s) })?
        }
    };
    let mut it = v.into_iter();
    match (it.next(), it.next()) {
        (Some(lo), Some(hi)) => Ok((lo, hi)),
        _ => invalid("[minmax] expected two results"),
    }
}

/// Index (uint32) of the largest value along `axis`, or in the flattened array when `None`.
/// The first one wins on ties.
pub fn argmax(a: &Array, axis: Option<i32>, keepdims: bool) -> Result<Array> {
    match axis {
        Some(axis) => call(|r, s| unsafe { sys::mlxc_argmax(r, a.as_raw(), axis, keepdims, s) }),
        None => call(|r, s| unsafe { sys::mlxc_argmax_all(r, a.as_raw(), keepdims, s) }),
    }
}

/// Index (uint32) of the smallest value along `axis`, or in the flattened array when `None`.
/// The first one wins on ties.
pub fn argmin(a: &Array, axis: Option<i32>, keepdims: bool) -> Result<Array> {
    match axis {
        Some(axis) => call(|r, s| unsafe { sys::mlxc_argmin(r, a.as_raw(), axis, keepdims, s) }),
        None => call(|r, s| unsafe { sys::mlxc_argmin_all(r, a.as_raw(), keepdims, s) }),
    }
}

/// Options of the cumulative ops ([`cumsum`], [`cumprod`], [`cummax`], [`cummin`],
/// [`logcumsumexp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOptions {
    /// Scan from the end towards the start.
    pub reverse: bool,
    /// Include the element itself (`true`, the default) or only those before it; an exclusive
    /// scan starts from the op's identity (0 for sums, 1 for products, ...).
    pub inclusive: bool,
    /// Accumulate in and return this dtype ([`cumsum`] and [`cumprod`] only).
    pub dtype: Option<Dtype>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            reverse: false,
            inclusive: true,
            dtype: None,
        }
    }
}

impl ScanOptions {
    /// The defaults: forward, inclusive, the input's dtype.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`ScanOptions::reverse`].
    pub fn with_reverse(mut self, reverse: bool) -> Self {
        self.reverse = reverse;
        self
    }

    /// Sets [`ScanOptions::inclusive`].
    pub fn with_inclusive(mut self, inclusive: bool) -> Self {
        self.inclusive = inclusive;
        self
    }

    /// Sets [`ScanOptions::dtype`].
    pub fn with_dtype(mut self, dtype: Dtype) -> Self {
        self.dtype = Some(dtype);
        self
    }

    fn no_dtype(&self, op: &str) -> Result<()> {
        match self.dtype {
            Some(d) => invalid(format!("[{op}] takes no dtype option (got {d})")),
            None => Ok(()),
        }
    }
}

/// Cumulative sum along `axis` (`None`: over the flattened array).
pub fn cumsum(a: &Array, axis: Option<i32>, options: ScanOptions) -> Result<Array> {
    let ScanOptions {
        reverse,
        inclusive,
        dtype,
    } = options;
    let d = opt_dtype(dtype);
    match axis {
        Some(axis) => {
            call(|r, s| unsafe { sys::mlxc_cumsum(r, a.as_raw(), axis, reverse, inclusive, d, s) })
        }
        None => {
            call(|r, s| unsafe { sys::mlxc_cumsum_all(r, a.as_raw(), reverse, inclusive, d, s) })
        }
    }
}

/// Cumulative product along `axis` (`None`: over the flattened array).
pub fn cumprod(a: &Array, axis: Option<i32>, options: ScanOptions) -> Result<Array> {
    let ScanOptions {
        reverse,
        inclusive,
        dtype,
    } = options;
    let d = opt_dtype(dtype);
    match axis {
        Some(axis) => {
            call(|r, s| unsafe { sys::mlxc_cumprod(r, a.as_raw(), axis, reverse, inclusive, d, s) })
        }
        None => {
            call(|r, s| unsafe { sys::mlxc_cumprod_all(r, a.as_raw(), reverse, inclusive, d, s) })
        }
    }
}

/// Running maximum along `axis` (`None`: over the flattened array). `options.dtype` must be
/// `None`.
pub fn cummax(a: &Array, axis: Option<i32>, options: ScanOptions) -> Result<Array> {
    options.no_dtype("cummax")?;
    let ScanOptions {
        reverse, inclusive, ..
    } = options;
    match axis {
        Some(axis) => {
            call(|r, s| unsafe { sys::mlxc_cummax(r, a.as_raw(), axis, reverse, inclusive, s) })
        }
        None => call(|r, s| unsafe { sys::mlxc_cummax_all(r, a.as_raw(), reverse, inclusive, s) }),
    }
}

/// Running minimum along `axis` (`None`: over the flattened array). `options.dtype` must be
/// `None`.
pub fn cummin(a: &Array, axis: Option<i32>, options: ScanOptions) -> Result<Array> {
    options.no_dtype("cummin")?;
    let ScanOptions {
        reverse, inclusive, ..
    } = options;
    match axis {
        Some(axis) => {
            call(|r, s| unsafe { sys::mlxc_cummin(r, a.as_raw(), axis, reverse, inclusive, s) })
        }
        None => call(|r, s| unsafe { sys::mlxc_cummin_all(r, a.as_raw(), reverse, inclusive, s) }),
    }
}

/// Cumulative `log(sum(exp(a)))` along `axis` (`None`: over the flattened array).
/// `options.dtype` must be `None`.
pub fn logcumsumexp(a: &Array, axis: Option<i32>, options: ScanOptions) -> Result<Array> {
    options.no_dtype("logcumsumexp")?;
    let ScanOptions {
        reverse, inclusive, ..
    } = options;
    match axis {
        Some(axis) => call(|r, s| unsafe {
            sys::mlxc_logcumsumexp(r, a.as_raw(), axis, reverse, inclusive, s)
        }),
        None => {
            call(|r, s| unsafe { sys::mlxc_logcumsumexp_all(r, a.as_raw(), reverse, inclusive, s) })
        }
    }
}

/// The `n`-th discrete difference along `axis` (`a[1:] - a[:-1]`, applied `n` times).
pub fn diff(a: &Array, n: i32, axis: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_diff(r, a.as_raw(), n, axis, s) })
}

impl Array {
    /// See [`prod`].
    pub fn prod(&self, axes: Option<&[i32]>, keepdims: bool) -> Result<Array> {
        prod(self, axes, keepdims)
    }

    /// See [`mean`].
    pub fn mean(&self, axes: Option<&[i32]>, keepdims: bool) -> Result<Array> {
        mean(self, axes, keepdims)
    }

    /// See [`var`].
    pub fn var(&self, axes: Option<&[i32]>, keepdims: bool, ddof: i32) -> Result<Array> {
        var(self, axes, keepdims, ddof)
    }

    /// See [`std()`].
    pub fn std(&self, axes: Option<&[i32]>, keepdims: bool, ddof: i32) -> Result<Array> {
        std(self, axes, keepdims, ddof)
    }

    /// See [`max`].
    pub fn max(&self, axes: Option<&[i32]>, keepdims: bool) -> Result<Array> {
        max(self, axes, keepdims)
    }

    /// See [`min`].
    pub fn min(&self, axes: Option<&[i32]>, keepdims: bool) -> Result<Array> {
        min(self, axes, keepdims)
    }

    /// See [`all`].
    pub fn all(&self, axes: Option<&[i32]>, keepdims: bool) -> Result<Array> {
        all(self, axes, keepdims)
    }

    /// See [`any`].
    pub fn any(&self, axes: Option<&[i32]>, keepdims: bool) -> Result<Array> {
        any(self, axes, keepdims)
    }

    /// See [`logsumexp`].
    pub fn logsumexp(&self, axes: Option<&[i32]>, keepdims: bool) -> Result<Array> {
        logsumexp(self, axes, keepdims)
    }

    /// See [`argmax`].
    pub fn argmax(&self, axis: Option<i32>, keepdims: bool) -> Result<Array> {
        argmax(self, axis, keepdims)
    }

    /// See [`argmin`].
    pub fn argmin(&self, axis: Option<i32>, keepdims: bool) -> Result<Array> {
        argmin(self, axis, keepdims)
    }

    /// See [`cumsum`].
    pub fn cumsum(&self, axis: Option<i32>, options: ScanOptions) -> Result<Array> {
        cumsum(self, axis, options)
    }

    /// See [`cumprod`].
    pub fn cumprod(&self, axis: Option<i32>, options: ScanOptions) -> Result<Array> {
        cumprod(self, axis, options)
    }

    /// See [`cummax`].
    pub fn cummax(&self, axis: Option<i32>, options: ScanOptions) -> Result<Array> {
        cummax(self, axis, options)
    }

    /// See [`cummin`].
    pub fn cummin(&self, axis: Option<i32>, options: ScanOptions) -> Result<Array> {
        cummin(self, axis, options)
    }

    /// See [`logcumsumexp`].
    pub fn logcumsumexp(&self, axis: Option<i32>, options: ScanOptions) -> Result<Array> {
        logcumsumexp(self, axis, options)
    }
}
