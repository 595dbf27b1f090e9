//! Element types.

use std::fmt;

use half::{bf16, f16};
use mlx_sys as sys;
use num_complex::Complex32;

/// MLX's element types.
///
/// `Float64` runs on the CPU only: MLX's GPU backends reject it with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dtype {
    /// `bool`, one byte.
    Bool,
    /// `u8`
    Uint8,
    /// `u16`
    Uint16,
    /// `u32`
    Uint32,
    /// `u64`
    Uint64,
    /// `i8`
    Int8,
    /// `i16`
    Int16,
    /// `i32`
    Int32,
    /// `i64`
    Int64,
    /// IEEE half precision ([`half::f16`]).
    Float16,
    /// `f32`
    Float32,
    /// `f64` (CPU only).
    Float64,
    /// bfloat16 ([`half::bf16`]).
    Bfloat16,
    /// Two `f32`s ([`num_complex::Complex32`]).
    Complex64,
}

/// A dtype or one of MLX's dtype categories (Python's `mx.generic`, `mx.number`,
/// `mx.integer`, `mx.signedinteger`, `mx.unsignedinteger`, `mx.inexact`, `mx.floating`,
/// `mx.complexfloating`), for [`Dtype::issubdtype`]. `Bool` belongs to `Generic` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtypeCategory {
    /// One dtype.
    Exactly(Dtype),
    /// Every dtype.
    Generic,
    /// Every dtype but `Bool`.
    Number,
    /// Signed and unsigned integers.
    Integer,
    /// Signed integers.
    SignedInteger,
    /// Unsigned integers.
    UnsignedInteger,
    /// Floating-point and complex types.
    Inexact,
    /// Real floating-point types.
    Floating,
    /// Complex types.
    ComplexFloating,
}

impl From<Dtype> for DtypeCategory {
    fn from(d: Dtype) -> Self {
        DtypeCategory::Exactly(d)
    }
}

impl DtypeCategory {
    /// Whether the category `self` lies inside `other` (`Floating` inside `Inexact`, any dtype
    /// inside its categories, ...), as Python MLX's `issubdtype` on two categories.
    pub fn is_within(self, other: DtypeCategory) -> bool {
        use DtypeCategory::*;
        match (self, other) {
            (Exactly(d), _) => d.issubdtype(other),
            (_, Generic) => true,
            (a, b) if a == b => true,
            (SignedInteger | UnsignedInteger, Integer | Number) => true,
            (Integer | Inexact, Number) => true,
            (Floating | ComplexFloating, Inexact | Number) => true,
            _ => false,
        }
    }
}

/// The dtype type promotion gives operands of these dtypes (Python MLX's `result_type` of
/// dtypes; for arrays pass their `dtype()`); `None` for an empty list.
pub fn result_type(dtypes: &[Dtype]) -> Option<Dtype> {
    dtypes.iter().copied().reduce(Dtype::promote)
}

/// Every dtype, in MLX's order.
pub const ALL_DTYPES: [Dtype; 14] = [
    Dtype::Bool,
    Dtype::Uint8,
    Dtype::Uint16,
    Dtype::Uint32,
    Dtype::Uint64,
    Dtype::Int8,
    Dtype::Int16,
    Dtype::Int32,
    Dtype::Int64,
    Dtype::Float16,
    Dtype::Float32,
    Dtype::Float64,
    Dtype::Bfloat16,
    Dtype::Complex64,
];

impl Dtype {
    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            Dtype::Bool | Dtype::Uint8 | Dtype::Int8 => 1,
            Dtype::Uint16 | Dtype::Int16 | Dtype::Float16 | Dtype::Bfloat16 => 2,
            Dtype::Uint32 | Dtype::Int32 | Dtype::Float32 => 4,
            Dtype::Uint64 | Dtype::Int64 | Dtype::Float64 | Dtype::Complex64 => 8,
        }
    }

    /// True for the floating-point types (not complex).
    pub fn is_float(self) -> bool {
        matches!(
            self,
            Dtype::Float16 | Dtype::Float32 | Dtype::Float64 | Dtype::Bfloat16
        )
    }

    /// True for floating-point and complex types.
    pub fn is_inexact(self) -> bool {
        self.is_float() || self == Dtype::Complex64
    }

    /// True for signed and unsigned integers.
    pub fn is_integer(self) -> bool {
        self.is_signed_integer() || self.is_unsigned_integer()
    }

    /// True for `Int8` … `Int64`.
    pub fn is_signed_integer(self) -> bool {
        matches!(
            self,
            Dtype::Int8 | Dtype::Int16 | Dtype::Int32 | Dtype::Int64
        )
    }

    /// True for `Uint8` … `Uint64`.
    pub fn is_unsigned_integer(self) -> bool {
        matches!(
            self,
            Dtype::Uint8 | Dtype::Uint16 | Dtype::Uint32 | Dtype::Uint64
        )
    }

    /// MLX's name, as Python prints it (`float32`, `bool`, …).
    pub fn name(self) -> &'static str {
        match self {
            Dtype::Bool => "bool",
            Dtype::Uint8 => "uint8",
            Dtype::Uint16 => "uint16",
            Dtype::Uint32 => "uint32",
            Dtype::Uint64 => "uint64",
            Dtype::Int8 => "int8",
            Dtype::Int16 => "int16",
            Dtype::Int32 => "int32",
            Dtype::Int64 => "int64",
            Dtype::Float16 => "float16",
            Dtype::Float32 => "float32",
            Dtype::Float64 => "float64",
            Dtype::Bfloat16 => "bfloat16",
            Dtype::Complex64 => "complex64",
        }
    }

    /// The dtype MLX's type promotion gives an operation on `self` and `other` (MLX's
    /// `promote_types`): `Int32` with `Float16` gives `Float16`, `Uint8` with `Int8` gives
    /// `Int16`, and so on.
    pub fn promote(self, other: Dtype) -> Dtype {
        let mut out = sys::mlxc_dtype::MLXC_BOOL;
        // SAFETY: valid out-pointer; every dtype pair has a promotion in MLX.
        let rc = unsafe { sys::mlxc_promote_types(&mut out, self.to_sys(), other.to_sys()) };
        assert_eq!(rc, 0, "MLX's promote_types failed for {self} and {other}");
        Dtype::from_sys(out)
    }

    /// Whether a value of `self` can be cast to `to` by type promotion: promoting the two gives
    /// back `to` (Python MLX's `can_cast`).
    pub fn can_cast(self, to: Dtype) -> bool {
        self.promote(to) == to
    }

    /// Whether `self` is `category` or belongs to it (Python MLX's `issubdtype`; a dtype is a
    /// subtype of itself only).
    pub fn issubdtype(self, category: impl Into<DtypeCategory>) -> bool {
        match category.into() {
            DtypeCategory::Exactly(d) => self == d,
            DtypeCategory::Generic => true,
            DtypeCategory::Number => self != Dtype::Bool,
            DtypeCategory::Integer => self.is_integer(),
            DtypeCategory::SignedInteger => self.is_signed_integer(),
            DtypeCategory::UnsignedInteger => self.is_unsigned_integer(),
            DtypeCategory::Inexact => self.is_inexact(),
            DtypeCategory::Floating => self.is_float(),
            DtypeCategory::ComplexFloating => self == Dtype::Complex64,
        }
    }

    pub(crate) fn to_sys(self) -> sys::mlxc_dtype {
        sys::mlxc_dtype(self as u32)
    }

    pub(crate) fn from_sys(d: sys::mlxc_dtype) -> Dtype {
        // mlxc_dtype follows MLX's order, as does this enum.
        ALL_DTYPES.get(d.0 as usize).copied().unwrap_or(Dtype::Bool)
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that is the element type of an MLX dtype.
///
/// Implemented for `bool`, `u8`–`u64`, `i8`–`i64`, [`half::f16`], [`half::bf16`], `f32`, `f64` and
/// [`Complex32`] (MLX's `complex64`).
pub trait ArrayElement:
    Copy + Send + Sync + fmt::Debug + PartialEq + 'static + sealed::Sealed
{
    /// The matching MLX dtype.
    const DTYPE: Dtype;
}

/// Real numeric element types (every element type except `bool` and complex).
pub trait NumElement: ArrayElement + num_traits::Num + num_traits::NumCast + PartialOrd {}

/// Floating-point element types.
pub trait FloatElement: NumElement + num_traits::Float {}

macro_rules! elements {
    ($($t:ty => $d:ident),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl ArrayElement for $t {
            const DTYPE: Dtype = Dtype::$d;
        }
    )*};
}

elements!(
    bool => Bool, u8 => Uint8, u16 => Uint16, u32 => Uint32, u64 => Uint64,
    i8 => Int8, i16 => Int16, i32 => Int32, i64 => Int64,
    f16 => Float16, f32 => Float32, f64 => Float64, bf16 => Bfloat16, Complex32 => Complex64,
);

macro_rules! marker {
    ($tr:ident: $($t:ty),*) => {$(impl $tr for $t {})*};
}
marker!(NumElement: u8, u16, u32, u64, i8, i16, i32, i64, f16, bf16, f32, f64);
marker!(FloatElement: f16, bf16, f32, f64);
