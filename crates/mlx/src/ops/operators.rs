//! Operators for arrays and scalars (`+ - * / % & | ^ << >>`, unary `-` and `!`), documented
//! on [`Scalar`].

use std::ops::{Add, BitAnd, BitOr, BitXor, Div, Mul, Neg, Not, Rem, Shl, Shr, Sub};

use half::{bf16, f16};
use num_complex::Complex32;

use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};

/// A Rust scalar on its way into an array: Python's `bool`, `int` and `float`.
///
/// # Operators
///
/// Arrays have these operators:
///
/// | operator | function |
/// |----------|----------|
/// | `a + b`, `a - b`, `a * b`, `a / b` | [`super::add`], [`super::subtract`], [`super::multiply`], [`super::divide`] (true division) |
/// | `a % b` | [`super::remainder`] (sign of the divisor, as in Python) |
/// | `a & b`, `a \| b`, `a ^ b` | [`super::bitwise_and`], [`super::bitwise_or`], [`super::bitwise_xor`] (integer and bool arrays) |
/// | `a << b`, `a >> b` | [`super::left_shift`], [`super::right_shift`] (integer and bool arrays) |
/// | `-a` | [`super::negative`] (not for bool) |
/// | `!a` | [`super::logical_not`] for bool arrays, [`super::bitwise_invert`] otherwise (integers) |
///
/// Each binary operator takes arrays by value or by reference on either side, or an array and a
/// scalar in either order.
///
/// Operators cannot return `Result`, so they **panic** when MLX rejects the operands (say,
/// shapes that do not broadcast, or `&` on float arrays), with MLX's message. Use the functions
/// to get a `Result` instead.
///
/// Scalars are `f64` or `i64` only: with exactly one float and one integer type, unsuffixed
/// literals infer (`&a * 2.0`, `&a % 3`, `&a << 1`), which they would not if every primitive
/// type had an impl. The scalars are "weak", as in MLX's Python API: they take the array's dtype
/// when it can hold them, so `&half_array * 2.0` stays float16, `&int_array + 1` stays int32 and
/// `&u8_array << 1` stays uint8; a float scalar with an integer or bool array gives float32 (so
/// `&int_array & 1.0` panics: bitwise ops reject floats), an integer scalar with a bool array
/// gives int32.
///
/// ```
/// let a = mlx::array![5, -7];
/// assert_eq!((&a % 3).to_vec::<i32>()?, vec![2, 2]);
/// assert_eq!((&a & 6).to_vec::<i32>()?, vec![4, 0]);
/// assert_eq!((1 << &a.abs()?).to_vec::<i32>()?, vec![32, 128]);
/// assert_eq!((!&a).to_vec::<i32>()?, vec![-6, 6]);
/// assert_eq!((&a * 0.5).dtype(), mlx::Dtype::Float32);
/// # Ok::<(), mlx::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// A boolean.
    Bool(bool),
    /// Any integer that fits `i64`.
    Int(i64),
    /// Any floating-point value.
    Float(f64),
}

macro_rules! scalar_from {
    ($variant:ident: $($t:ty),*) => {$(
        impl From<$t> for Scalar {
            fn from(v: $t) -> Scalar {
                Scalar::$variant(v.into())
            }
        }
    )*};
}
scalar_from!(Bool: bool);
scalar_from!(Int: i8, i16, i32, i64, u8, u16, u32);
scalar_from!(Float: f32, f64);

impl From<f16> for Scalar {
    fn from(v: f16) -> Scalar {
        Scalar::Float(v.to_f64())
    }
}

impl From<bf16> for Scalar {
    fn from(v: bf16) -> Scalar {
        Scalar::Float(v.to_f64())
    }
}

impl Scalar {
    /// A zero-dimensional array of `dtype` holding this value (converted as `as` would).
    pub fn to_array(self, dtype: Dtype) -> Array {
        let (f, i, b) = match self {
            Scalar::Bool(b) => (f64::from(u8::from(b)), i64::from(b), b),
            Scalar::Int(i) => (i as f64, i, i != 0),
            Scalar::Float(f) => (f, f as i64, f != 0.0),
        };
        match dtype {
            Dtype::Bool => Array::scalar(b),
            Dtype::Uint8 => Array::scalar(i as u8),
            Dtype::Uint16 => Array::scalar(i as u16),
            Dtype::Uint32 => Array::scalar(i as u32),
            Dtype::Uint64 => Array::scalar(i as u64),
            Dtype::Int8 => Array::scalar(i as i8),
            Dtype::Int16 => Array::scalar(i as i16),
            Dtype::Int32 => Array::scalar(i as i32),
            Dtype::Int64 => Array::scalar(i),
            Dtype::Float16 => Array::scalar(f16::from_f64(f)),
            Dtype::Float32 => Array::scalar(f as f32),
            Dtype::Float64 => Array::scalar(f),
            Dtype::Bfloat16 => Array::scalar(bf16::from_f64(f)),
            Dtype::Complex64 => Array::scalar(Complex32::new(f as f32, 0.0)),
        }
    }
}

/// A scalar as an array that combines with arrays of dtype `like` as MLX's weak scalars do:
/// it takes `like` when that can hold it; a float with an integer or bool array gives float32,
/// an integer with a bool array int32. The value is converted in Rust, so no float64 array is
/// ever created (GPUs reject float64).
///
/// An integer that the integer dtype `like` cannot hold is an error, as in MLX's Python API
/// (`u8_array + 300` would otherwise wrap silently); a float given to a float16 or bfloat16
/// array is rounded (and may become infinite), also as in MLX.
///
/// ```
/// use mlx::{Dtype, weak_scalar};
/// assert_eq!(weak_scalar(255, Dtype::Uint8)?.dtype(), Dtype::Uint8);
/// assert!(weak_scalar(300, Dtype::Uint8).is_err());
/// assert_eq!(weak_scalar(300, Dtype::Float16)?.dtype(), Dtype::Float16);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn weak_scalar(value: impl Into<Scalar>, like: Dtype) -> Result<Array> {
    let value = value.into();
    let target = match value {
        Scalar::Float(_) if !like.is_inexact() => Dtype::Float32,
        Scalar::Int(_) if like == Dtype::Bool => Dtype::Int32,
        _ => like,
    };
    if let Scalar::Int(i) = value
        && !int_fits(i, target)
    {
        return Err(Error::InvalidArgument(format!(
            "Converting {i} to {} would result in overflow.",
            target.name()
        )));
    }
    Ok(value.to_array(target))
}

/// Whether `dtype` holds `i` exactly (floating types always take it, possibly rounded).
fn int_fits(i: i64, dtype: Dtype) -> bool {
    let (lo, hi): (i64, i128) = match dtype {
        Dtype::Uint8 => (0, u8::MAX.into()),
        Dtype::Uint16 => (0, u16::MAX.into()),
        Dtype::Uint32 => (0, u32::MAX.into()),
        Dtype::Uint64 => (0, u64::MAX.into()),
        Dtype::Int8 => (i8::MIN.into(), i8::MAX.into()),
        Dtype::Int16 => (i16::MIN.into(), i16::MAX.into()),
        Dtype::Int32 => (i32::MIN.into(), i32::MAX.into()),
        _ => return true,
    };
    i >= lo && i128::from(i) <= hi
}

fn unwrap_op(result: Result<Array>, op: &str) -> Array {
    result.unwrap_or_else(|e| panic!("array {op} failed: {e}"))
}

macro_rules! binary_operator {
    ($tr:ident, $method:ident, $func:path, $sym:literal) => {
        impl $tr<&Array> for &Array {
            type Output = Array;
            fn $method(self, rhs: &Array) -> Array {
                unwrap_op($func(self, rhs), $sym)
            }
        }
        impl $tr<Array> for Array {
            type Output = Array;
            fn $method(self, rhs: Array) -> Array {
                unwrap_op($func(&self, &rhs), $sym)
            }
        }
        impl $tr<&Array> for Array {
            type Output = Array;
            fn $method(self, rhs: &Array) -> Array {
                unwrap_op($func(&self, rhs), $sym)
            }
        }
        impl $tr<Array> for &Array {
            type Output = Array;
            fn $method(self, rhs: Array) -> Array {
                unwrap_op($func(self, &rhs), $sym)
            }
        }
        // One float and one integer type, so unsuffixed literals (`&a * 2.0`, `&a + 1`) infer.
        binary_operator!(@scalars $tr, $method, $func, $sym, f64, i64);
    };
    (@scalars $tr:ident, $method:ident, $func:path, $sym:literal, $($t:ty),*) => {$(
        impl $tr<$t> for &Array {
            type Output = Array;
            fn $method(self, rhs: $t) -> Array {
                unwrap_op(weak_scalar(rhs, self.dtype()).and_then(|b| $func(self, &b)), $sym)
            }
        }
        impl $tr<$t> for Array {
            type Output = Array;
            fn $method(self, rhs: $t) -> Array {
                (&self).$method(rhs)
            }
        }
        impl $tr<&Array> for $t {
            type Output = Array;
            fn $method(self, rhs: &Array) -> Array {
                unwrap_op(weak_scalar(self, rhs.dtype()).and_then(|a| $func(&a, rhs)), $sym)
            }
        }
        impl $tr<Array> for $t {
            type Output = Array;
            fn $method(self, rhs: Array) -> Array {
                self.$method(&rhs)
            }
        }
    )*};
}

binary_operator!(Add, add, super::add, "+");
binary_operator!(Sub, sub, super::subtract, "-");
binary_operator!(Mul, mul, super::multiply, "*");
binary_operator!(Div, div, super::divide, "/");
binary_operator!(Rem, rem, super::remainder, "%");
binary_operator!(BitAnd, bitand, super::bitwise_and, "&");
binary_operator!(BitOr, bitor, super::bitwise_or, "|");
binary_operator!(BitXor, bitxor, super::bitwise_xor, "^");
binary_operator!(Shl, shl, super::left_shift, "<<");
binary_operator!(Shr, shr, super::right_shift, ">>");

impl Neg for &Array {
    type Output = Array;
    fn neg(self) -> Array {
        unwrap_op(super::negative(self), "negation")
    }
}

impl Neg for Array {
    type Output = Array;
    fn neg(self) -> Array {
        -&self
    }
}

impl Not for &Array {
    type Output = Array;
    fn not(self) -> Array {
        if self.dtype() == Dtype::Bool {
            unwrap_op(super::logical_not(self), "!")
        } else {
            unwrap_op(super::bitwise_invert(self), "!")
        }
    }
}

impl Not for Array {
    type Output = Array;
    fn not(self) -> Array {
        !&self
    }
}
