//! Arithmetic and math: binary ops, every unary function, bitwise and logical ops.
//!
//! Binary ops broadcast their operands and promote their dtypes as MLX does (`int32` with
//! `float32` gives `float32`, …). To combine an array with a Rust number, make the number an
//! array first, e.g. with [`super::weak_scalar`] so that it takes the array's dtype, or use the
//! operators (`&a % 2`, `&a << 1`, …; listed on [`super::Scalar`]).
//!
//! Functions that only make sense for floating-point inputs (`exp`, `sin`, `sqrt`, …) give
//! `float32` for integer and bool inputs, as in MLX.

use mlx_sys as sys;

use super::{call, call_vec};
use crate::array::{Array, ints};
use crate::error::Result;

macro_rules! binary_ops {
    ($($(#[$attr:meta])* $name:ident => $sys:ident;)*) => {$(
        $(#[$attr])*
        pub fn $name(a: &Array, b: &Array) -> Result<Array> {
            call(|r, s| unsafe { sys::$sys(r, a.as_raw(), b.as_raw(), s) })
        }
    )*};
}

macro_rules! unary_ops {
    ($($(#[$attr:meta])* $name:ident => $sys:ident;)*) => {$(
        $(#[$attr])*
        pub fn $name(a: &Array) -> Result<Array> {
            call(|r, s| unsafe { sys::$sys(r, a.as_raw(), s) })
        }
    )*};
}

binary_ops! {
    /// `a` raised to the power `b`, elementwise with broadcasting.
    ///
    /// Integer bases with integer exponents stay integers (wrapping on overflow); there a
    /// negative exponent gives 0, whatever the base.
    power => mlxc_power;
    /// `floor(a / b)`, elementwise with broadcasting. For integers the quotient rounds toward
    /// negative infinity, as in Python (`-7 // 2 == -4`).
    floor_divide => mlxc_floor_divide;
    /// The remainder of `floor_divide`: it takes the sign of the divisor, as in Python
    /// (`-7 % 2 == 1`, `7 % -2 == -1`). Also available as the `%` operator.
    remainder => mlxc_remainder;
    /// The larger of `a` and `b`, elementwise with broadcasting; NaN if either is NaN.
    maximum => mlxc_maximum;
    /// The smaller of `a` and `b`, elementwise with broadcasting; NaN if either is NaN.
    minimum => mlxc_minimum;
    /// `log(exp(a) + exp(b))`, computed without overflow.
    logaddexp => mlxc_logaddexp;
    /// The angle of the point `(b, a)`: `atan(a / b)` in the right quadrant, in `[-π, π]`.
    arctan2 => mlxc_arctan2;
    /// Bitwise AND of integer or bool arrays (logical AND for bool). Also the `&` operator.
    bitwise_and => mlxc_bitwise_and;
    /// Bitwise OR of integer or bool arrays (logical OR for bool). Also the `|` operator.
    bitwise_or => mlxc_bitwise_or;
    /// Bitwise XOR of integer or bool arrays (logical XOR for bool). Also the `^` operator.
    bitwise_xor => mlxc_bitwise_xor;
    /// `a` shifted left by `b` bits (integer or bool arrays). Also the `<<` operator.
    left_shift => mlxc_left_shift;
    /// `a` shifted right by `b` bits (arithmetic shift for signed integers). Also the `>>`
    /// operator.
    right_shift => mlxc_right_shift;
    /// Logical AND: both operands are read as truth values (non-zero is true); gives bool.
    logical_and => mlxc_logical_and;
    /// Logical OR: both operands are read as truth values (non-zero is true); gives bool.
    logical_or => mlxc_logical_or;
    /// Logical XOR: both operands are read as truth values (non-zero is true); gives bool.
    logical_xor => mlxc_logical_xor;
}

/// Quotient and remainder at once: `(floor_divide(a, b), remainder(a, b))`.
pub fn divmod(a: &Array, b: &Array) -> Result<(Array, Array)> {
    let mut v = call_vec(|r, s| unsafe { sys::mlxc_divmod(r, a.as_raw(), b.as_raw(), s) })?;
    let remainder = v.pop().expect("divmod gives two arrays");
    let quotient = v.pop().expect("divmod gives two arrays");
    Ok((quotient, remainder))
}

unary_ops! {
    /// Absolute value (the modulus for complex arrays, as `float32`).
    abs => mlxc_abs;
    /// `-a`; fails for bool arrays (use [`logical_not`]). Also the unary `-` operator.
    negative => mlxc_negative;
    /// `+a`: the values unchanged.
    positive => mlxc_positive;
    /// -1, 0 or 1 by the sign of each element (0 for zeros and NaN); unsigned ints give 0 or 1,
    /// bools are unchanged.
    sign => mlxc_sign;
    /// `1 / a`.
    reciprocal => mlxc_reciprocal;
    /// `a * a`.
    square => mlxc_square;
    /// Square root.
    sqrt => mlxc_sqrt;
    /// `1 / sqrt(a)`.
    rsqrt => mlxc_rsqrt;
    /// `e` to the power `a`.
    exp => mlxc_exp;
    /// `exp(a) - 1`, accurate for small `a`.
    expm1 => mlxc_expm1;
    /// Natural logarithm.
    log => mlxc_log;
    /// `log(1 + a)`, accurate for small `a`.
    log1p => mlxc_log1p;
    /// Base-2 logarithm.
    log2 => mlxc_log2;
    /// Base-10 logarithm.
    log10 => mlxc_log10;
    /// Sine (radians).
    sin => mlxc_sin;
    /// Cosine (radians).
    cos => mlxc_cos;
    /// Tangent (radians).
    tan => mlxc_tan;
    /// Inverse sine, in `[-π/2, π/2]`.
    arcsin => mlxc_arcsin;
    /// Inverse cosine, in `[0, π]`.
    arccos => mlxc_arccos;
    /// Inverse tangent, in `(-π/2, π/2)`.
    arctan => mlxc_arctan;
    /// Hyperbolic sine.
    sinh => mlxc_sinh;
    /// Hyperbolic cosine.
    cosh => mlxc_cosh;
    /// Hyperbolic tangent.
    tanh => mlxc_tanh;
    /// Inverse hyperbolic sine.
    arcsinh => mlxc_arcsinh;
    /// Inverse hyperbolic cosine (defined for `a >= 1`).
    arccosh => mlxc_arccosh;
    /// Inverse hyperbolic tangent (defined for `-1 < a < 1`).
    arctanh => mlxc_arctanh;
    /// Radians to degrees.
    degrees => mlxc_degrees;
    /// Degrees to radians.
    radians => mlxc_radians;
    /// The error function `erf(a) = 2/√π ∫₀ᵃ e^(-t²) dt`.
    erf => mlxc_erf;
    /// The inverse of [`erf`] (defined for `-1 <= a <= 1`).
    erfinv => mlxc_erfinv;
    /// The logistic function `1 / (1 + exp(-a))`.
    sigmoid => mlxc_sigmoid;
    /// Largest integer not above each element (integers unchanged).
    floor => mlxc_floor;
    /// Smallest integer not below each element (integers unchanged).
    ceil => mlxc_ceil;
    /// Rounds toward zero (integers unchanged).
    trunc => mlxc_trunc;
    /// Flips every bit of an integer array (logical NOT for bool). Also the `!` operator.
    bitwise_invert => mlxc_bitwise_invert;
    /// Logical NOT: true where the element is zero (or false); gives bool.
    logical_not => mlxc_logical_not;
    /// Complex conjugate (other dtypes are returned unchanged).
    conjugate => mlxc_conjugate;
    /// The real part of a complex array (other dtypes unchanged).
    real => mlxc_real;
    /// The imaginary part of a complex array (zeros for other dtypes).
    imag => mlxc_imag;
    /// True where the element is NaN.
    isnan => mlxc_isnan;
    /// True where the element is positive or negative infinity.
    isinf => mlxc_isinf;
    /// True where the element is neither infinite nor NaN.
    isfinite => mlxc_isfinite;
    /// True where the element is positive infinity.
    isposinf => mlxc_isposinf;
    /// True where the element is negative infinity.
    isneginf => mlxc_isneginf;
}

/// Rounds to `decimals` decimal places (negative: to tens, hundreds, …), halves to even as
/// NumPy does. Integer arrays keep their dtype (and change only for negative `decimals`).
///
/// MLX scales by `10^decimals` in `float32`, so with `decimals != 0` float64 results are only
/// accurate to about 1e-7 relative.
pub fn round(a: &Array, decimals: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_round(r, a.as_raw(), decimals, s) })
}

/// `exp(a) / sum(exp(a))` over `axes` (all axes when `None`), computed stably.
///
/// With `precise`, half-precision inputs are accumulated in `float32`.
pub fn softmax(a: &Array, axes: Option<&[i32]>, precise: bool) -> Result<Array> {
    match axes {
        None => call(|r, s| unsafe { sys::mlxc_softmax_all(r, a.as_raw(), precise, s) }),
        Some(axes) => {
            call(|r, s| unsafe { sys::mlxc_softmax(r, a.as_raw(), ints(axes), precise, s) })
        }
    }
}

/// Replaces NaN by `nan`, positive infinity by `posinf` and negative infinity by `neginf`;
/// infinities left as `None` become the dtype's largest (or lowest) finite value. Integer and
/// bool arrays are returned unchanged; MLX has no float64 version.
pub fn nan_to_num(a: &Array, nan: f32, posinf: Option<f32>, neginf: Option<f32>) -> Result<Array> {
    let opt = |v: Option<f32>| sys::mlxc_opt_float {
        has: v.is_some(),
        value: v.unwrap_or(0.0),
    };
    call(|r, s| unsafe { sys::mlxc_nan_to_num(r, a.as_raw(), nan, opt(posinf), opt(neginf), s) })
}

/// Limits the values to `[a_min, a_max]` (either bound may be `None`, not both); the bounds
/// broadcast with `a`. Use [`super::weak_scalar`] for scalar bounds of `a`'s dtype.
pub fn clip(a: &Array, a_min: Option<&Array>, a_max: Option<&Array>) -> Result<Array> {
    let raw = |v: Option<&Array>| v.map_or(std::ptr::null_mut(), Array::as_raw);
    call(|r, s| unsafe { sys::mlxc_clip(r, a.as_raw(), raw(a_min), raw(a_max), s) })
}

macro_rules! unary_methods {
    ($($name:ident),*) => {$(
        #[doc = concat!("See [`", stringify!($name), "`].")]
        pub fn $name(&self) -> Result<Array> {
            $name(self)
        }
    )*};
}

macro_rules! binary_methods {
    ($($name:ident),*) => {$(
        #[doc = concat!("See [`", stringify!($name), "`].")]
        pub fn $name(&self, other: &Array) -> Result<Array> {
            $name(self, other)
        }
    )*};
}

impl Array {
    unary_methods!(
        abs,
        negative,
        sign,
        reciprocal,
        square,
        sqrt,
        rsqrt,
        exp,
        expm1,
        log,
        log1p,
        log2,
        log10,
        sin,
        cos,
        tan,
        arcsin,
        arccos,
        arctan,
        sinh,
        cosh,
        tanh,
        arcsinh,
        arccosh,
        arctanh,
        erf,
        erfinv,
        sigmoid,
        floor,
        ceil,
        trunc,
        conjugate,
        real,
        imag,
        isnan,
        isinf,
        isfinite,
        logical_not,
        bitwise_invert
    );

    binary_methods!(
        power,
        floor_divide,
        remainder,
        maximum,
        minimum,
        logaddexp,
        logical_and,
        logical_or
    );

    /// Complex conjugate (Python's `a.conj()`); see [`conjugate`].
    pub fn conj(&self) -> Result<Array> {
        conjugate(self)
    }

    /// See [`round`].
    pub fn round(&self, decimals: i32) -> Result<Array> {
        round(self, decimals)
    }

    /// See [`softmax`].
    pub fn softmax(&self, axes: Option<&[i32]>, precise: bool) -> Result<Array> {
        softmax(self, axes, precise)
    }

    /// See [`clip`].
    pub fn clip(&self, a_min: Option<&Array>, a_max: Option<&Array>) -> Result<Array> {
        clip(self, a_min, a_max)
    }
}

/// `e^x` as [`exp`], but for float32 on the CPU computed by this crate's vectorized kernel:
/// MLX's CPU `exp`, as the PyPI wheels build it, computes one element at a time (calling libm
/// for each multiply-add), and took 5 times as long on 8M floats (2 CPU cores). Not an MLX op;
/// within 2 ulp of the exact value, as MLX's own polynomial is; +inf above 88.72, NaN for NaN,
/// and 0 for results below the smallest normal float where the CPU flushes subnormals (MLX's
/// CPU evaluation does by default; see [`crate::set_cpu_flush_subnormals`]), else down to
/// -103.97. Other dtypes and devices get MLX's `exp`. Differentiable (its
/// derivative is itself), vectorizable and compilable like `exp`.
pub fn exp_vectorized(a: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_exp_vectorized(r, a.as_raw(), s) })
}
