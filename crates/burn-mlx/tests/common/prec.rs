//! The float precisions under test and the tolerances results are compared within.

use burn_backend::{DType, TensorData};

/// The float precision a case runs at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prec {
    F32,
    F16,
    BF16,
    F64,
}

pub const ALL_PRECS: [Prec; 4] = [Prec::F32, Prec::F16, Prec::BF16, Prec::F64];
pub const F32_ONLY: [Prec; 1] = [Prec::F32];

impl Prec {
    /// The float dtype MLX runs with.
    pub fn dtype(self) -> DType {
        match self {
            Prec::F32 => DType::F32,
            Prec::F16 => DType::F16,
            Prec::BF16 => DType::BF16,
            Prec::F64 => DType::F64,
        }
    }

    /// The float dtype the oracle runs with (ndarray has no F16/BF16).
    pub fn oracle_dtype(self) -> DType {
        match self {
            Prec::F16 | Prec::BF16 => DType::F32,
            p => p.dtype(),
        }
    }

    pub fn is_half(self) -> bool {
        matches!(self, Prec::F16 | Prec::BF16)
    }

    /// The default tolerance of a single op's result at this precision.
    pub fn tol(self) -> Tol {
        match self {
            Prec::F32 => Tol::new(1e-4, 1e-5),
            Prec::F64 => Tol::new(1e-10, 1e-12),
            Prec::F16 => Tol::new(1e-2, 1e-2),
            Prec::BF16 => Tol::new(3e-2, 3e-2),
        }
    }

    /// A tighter tolerance than [`Prec::tol`], for ops that do little arithmetic per output
    /// element on inputs exact at every precision ([`floats_exact`](super::floats_exact)):
    /// pooling, interpolation, grid sampling.
    pub fn tight_tol(self) -> Tol {
        match self {
            Prec::F32 => Tol::new(1e-5, 1e-5),
            Prec::F64 => Tol::new(1e-12, 1e-12),
            Prec::F16 => Tol::new(4e-3, 8e-3),
            Prec::BF16 => Tol::new(2e-2, 4e-2),
        }
    }

    /// Rounds f32/f64 values to this precision (as MLX will see them).
    pub fn round(self, data: &TensorData) -> TensorData {
        data.clone().convert_dtype(self.dtype())
    }
}

/// `|got - want| <= abs + rel * |want|`, element-wise.
#[derive(Clone, Copy, Debug)]
pub struct Tol {
    pub rel: f64,
    pub abs: f64,
}

impl Tol {
    pub const fn new(rel: f64, abs: f64) -> Self {
        Tol { rel, abs }
    }

    /// Exact equality.
    pub const EXACT: Tol = Tol::new(0.0, 0.0);

    /// This tolerance scaled by `k` (for chains of ops, gradients, long reductions).
    pub fn times(self, k: f64) -> Self {
        Tol {
            rel: self.rel * k,
            abs: self.abs * k,
        }
    }

    /// An absolute tolerance of `k` times the largest magnitude in `want` (at least `k`): for
    /// sums of many products (convolutions, matmuls), whose rounding error follows the size of
    /// the terms rather than of each result, which cancellation can make small.
    pub fn of_largest(k: f64, want: &TensorData) -> Self {
        let largest = want
            .clone()
            .convert_dtype(DType::F64)
            .iter::<f64>()
            .fold(1.0f64, |m, v| m.max(v.abs()));
        Tol::new(0.0, k * largest)
    }
}
