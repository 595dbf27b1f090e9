//! The test harness of burn-mlx: the same computation on `Mlx` and on `NdArray` (the oracle),
//! compared within a tolerance that fits the dtype. Every test binary of the crate includes it
//! (`mod common;`, or `#[path = "../common/mod.rs"] mod common;` from `tests/it/`).
//!
//! - `rng.rs`: one seeded generator ([`Rng`]) and the input data made from it ([`floats`],
//!   [`floats_in`], [`floats_unit`], [`floats_exact`], [`ints`], [`bools`], ...), never either
//!   backend's RNG.
//! - `prec.rs`: the precisions under test ([`Prec`]) and tolerances ([`Tol`]).
//! - `compare.rs`: closeness assertions ([`assert_data_close`], [`assert_outputs`], ...).
//! - `cx.rs`: [`Cx`], the inputs of one run at the precision under test (F16 and BF16 run as such
//!   on MLX and in f32 on ndarray, which has neither, on identical rounded values), reached
//!   through a [`Layout`] (`layout.rs`: the same logical input through a non-contiguous view).
//! - `cases.rs`: a test body written once, generic over the backend, with [`case!`] (forward
//!   values) or [`grad_case!`] (through `Autodiff`, values and gradients); [`check`] /
//!   [`check_grad`] run it on both backends and compare every output.
//! - `sweep.rs`: [`float_fn!`] / [`float_fn2!`] and the `sweep_*` functions run a float op over
//!   the shape lists ([`SHAPES`], [`BROADCAST_PAIRS`], [`EMPTY_SHAPES`]) and every layout.
//! - `modules.rs`: Burn modules with the same weights on both backends, and their parameters'
//!   gradients.
//!
//! ```ignore
//! mod common;
//! use common::*;
//!
//! let x = floats([3, 4], 1);
//! check("exp", Prec::F32, &case!(x: TensorData = x; |B, cx| rf::<B>(B::float_exp(cx.f(&x)))));
//! sweep_unary("exp", &float_fn!(|B, x| B::float_exp(x)), &floats_gen(-3.0, 3.0), &ALL_PRECS);
//! ```
//!
//! Set `BURN_MLX_TEST_DEVICE=gpu` to run the MLX side on the GPU ([`mlx_device`]); every
//! precision runs there (float64 ops run on MLX's CPU stream). `BURN_MLX_TEST_TRACE=1` names
//! each case on stderr before it runs.

// Each test binary uses a different part of the harness.
#![allow(dead_code, unused_macros, unused_imports)]

mod cases;
mod compare;
mod cx;
mod layout;
mod modules;
mod prec;
mod rng;
mod sweep;

pub use burn::tensor::{Bool, Int, Tensor, TensorPrimitive};
pub use burn_backend::ops::{
    ActivationOps, BoolTensorOps, FloatTensorOps, IntTensorOps, ModuleOps, TransactionOps,
};
pub use burn_backend::tensor::{BoolTensor, FloatTensor, IndexingUpdateOp, IntTensor};
pub use burn_backend::{
    AutodiffBackend, Backend, BoolDType, BoolStore, DType, Distribution, FloatDType, IntDType,
    Scalar, Shape, Slice, TensorData, TensorMetadata,
};
pub use burn_mlx::{Mlx, MlxDevice};

pub use cases::*;
pub use compare::*;
pub use cx::*;
pub use layout::*;
pub use modules::*;
pub use prec::*;
pub use rng::*;
pub use sweep::*;
// The macros by name: a `macro_rules!` macro can be re-exported only within the crate.
pub(crate) use cases::{case, grad_case};
pub(crate) use sweep::{float_fn, float_fn2};

/// The backend under test.
pub type M = Mlx<f32, i32>;
/// The oracle, with the same default element types.
pub type Nd = burn_ndarray::NdArray<f32, i32>;
/// The backend under test, trainable.
pub type AM = burn_autodiff::Autodiff<M>;
/// The oracle, trainable.
pub type AN = burn_autodiff::Autodiff<Nd>;

/// Bool dtype as both backends store it.
pub const BOOL: DType = DType::Bool(BoolStore::Native);
/// Burn's bool dtype argument.
pub const BOOL_OUT: BoolDType = BoolStore::Native;

/// The MLX device the tests run on: the CPU, or the GPU with `BURN_MLX_TEST_DEVICE=gpu`.
pub fn mlx_device() -> MlxDevice {
    match std::env::var("BURN_MLX_TEST_DEVICE").as_deref() {
        Ok("gpu") => MlxDevice::Gpu,
        _ => MlxDevice::Cpu,
    }
}
