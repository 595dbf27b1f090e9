//! The [`array!`](crate::array!) literal.

use half::{bf16, f16};
use num_complex::Complex32;

use crate::array::Array;
use crate::dtype::ArrayElement;
use crate::error::Result;

/// A (nested) Rust array literal that can become an MLX array. Fixed-size Rust arrays are
/// rectangular by construction, so a ragged literal does not compile.
pub trait NestedLiteral {
    /// Element type of the resulting array.
    type Elem: ArrayElement;
    /// Appends the dimensions of this level and below.
    fn push_shape(&self, shape: &mut Vec<i32>);
    /// Appends the elements in row-major order.
    fn push_elems(&self, out: &mut Vec<Self::Elem>);
}

impl<T: NestedLiteral, const N: usize> NestedLiteral for [T; N] {
    type Elem = T::Elem;
    fn push_shape(&self, shape: &mut Vec<i32>) {
        shape.push(N as i32);
        if let Some(first) = self.first() {
            first.push_shape(shape);
        }
    }
    fn push_elems(&self, out: &mut Vec<Self::Elem>) {
        for item in self {
            item.push_elems(out);
        }
    }
}

macro_rules! leaf {
    ($($t:ty => $e:ty),* $(,)?) => {$(
        impl NestedLiteral for $t {
            type Elem = $e;
            fn push_shape(&self, _: &mut Vec<i32>) {}
            fn push_elems(&self, out: &mut Vec<$e>) {
                out.push(*self as $e);
            }
        }
    )*};
}

// Float literals become float32, as in MLX's Python API (`f64` arrays cannot run on GPUs).
leaf!(f64 => f32, f32 => f32, i8 => i8, i16 => i16, i32 => i32, i64 => i64,
      u8 => u8, u16 => u16, u32 => u32, u64 => u64, bool => bool);

macro_rules! leaf_identity {
    ($($t:ty),*) => {$(
        impl NestedLiteral for $t {
            type Elem = $t;
            fn push_shape(&self, _: &mut Vec<i32>) {}
            fn push_elems(&self, out: &mut Vec<$t>) {
                out.push(*self);
            }
        }
    )*};
}
leaf_identity!(f16, bf16, Complex32);

impl Array {
    /// Builds an array from a nested Rust array (see [`array!`](crate::array!)).
    pub fn from_nested<L: NestedLiteral>(literal: L) -> Result<Array> {
        let mut shape = Vec::new();
        literal.push_shape(&mut shape);
        let mut data = Vec::new();
        literal.push_elems(&mut data);
        Array::from_slice(&data, &shape)
    }
}

/// An array literal, row by row, as in `mx.array([[1, 2], [3, 4]])`.
///
/// ```
/// let a = mlx::array![[1.0, 2.0], [3.0, 4.0]];
/// assert_eq!(a.shape(), &[2, 2]);
/// assert_eq!(a.dtype(), mlx::Dtype::Float32); // float literals give float32, as in MLX
/// let b = mlx::array![1u8, 2, 3];
/// assert_eq!(b.dtype(), mlx::Dtype::Uint8);
/// ```
///
/// Rows of different lengths do not compile. Unsuffixed float literals (and `f64` values) give
/// `float32`; build `float64` arrays with [`Array::from_slice`].
#[macro_export]
macro_rules! array {
    ($($tokens:tt)+) => {
        $crate::Array::from_nested([$($tokens)+]).expect("array! literal")
    };
}
