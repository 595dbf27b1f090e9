//! `+ - * /` and unary `-` for arrays and scalars.
//!
//! Operators cannot return `Result`, so they **panic** when MLX rejects the operands (say,
//! shapes that do not broadcast), with MLX's message. Use the functions ([`super::add`],
//! [`super::subtract`], …) to get a `Result` instead.
//!
//! Scalars are "weak", as in MLX's Python API: they take the array's dtype when it can hold
//! them, so `&half_array * 2.0` stays float16 and `&int_array + 1` stays int32; a float scalar
//! with an integer or bool array gives float32.

use std::ops::{Add, Div, Mul, Neg, Sub};

use half::{bf16, f16};

use crate::array::Array;
use crate::dtype::{ArrayElement, Dtype};
use crate::error::Result;

/// A scalar converted to an array that combines with `like` as MLX's weak scalars do.
pub fn weak_scalar<T: ArrayElement>(value: T, like: Dtype) -> Result<Array> {
    let scalar = Array::scalar(value);
    let own = T::DTYPE;
    let target = if own == Dtype::Complex64 {
        Dtype::Complex64
    } else if own.is_float() {
        if like.is_inexact() {
            like
        } else {
            Dtype::Float32
        }
    } else if own.is_integer() && like == Dtype::Bool {
        Dtype::Int32
    } else {
        like
    };
    if target == own {
        Ok(scalar)
    } else {
        scalar.astype(target)
    }
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
        binary_operator!(@scalars $tr, $method, $func, $sym,
            f32, f64, f16, bf16, i8, i16, i32, i64, u8, u16, u32, u64, bool);
    };
    (@scalars $tr:ident, $method:ident, $func:path, $sym:literal, $($t:ty),*) => {$(
        impl $tr<$t> for &Array {
            type Output = Array;
            fn $method(self, rhs: $t) -> Array {
                let rhs = weak_scalar(rhs, self.dtype());
                unwrap_op(rhs.and_then(|r| $func(self, &r)), $sym)
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
                let lhs = weak_scalar(self, rhs.dtype());
                unwrap_op(lhs.and_then(|l| $func(&l, rhs)), $sym)
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

impl Neg for &Array {
    type Output = Array;
    fn neg(self) -> Array {
        let zero = weak_scalar(0i32, self.dtype());
        unwrap_op(zero.and_then(|z| super::subtract(&z, self)), "negation")
    }
}

impl Neg for Array {
    type Output = Array;
    fn neg(self) -> Array {
        -&self
    }
}
