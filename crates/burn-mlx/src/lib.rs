//! A [Burn](https://burn.dev) backend on [MLX](https://github.com/ml-explore/mlx).
//!
//! `Mlx` implements Burn 0.21's backend traits natively on MLX ops, so any Burn program runs on
//! MLX by choosing the backend type; `Autodiff<Mlx>` trains.
//!
//! ```
//! use burn_backend::TensorMetadata;
//! use burn_mlx::{Mlx, MlxDevice};
//! # let _device = MlxDevice::default();
//! ```
//!
//! Devices: [`MlxDevice::Cpu`] and [`MlxDevice::Gpu`] (Metal on macOS, CUDA on Linux with the
//! `cuda` feature); the default is the GPU when there is one. Float64 works on both: MLX's GPU
//! backends have no float64, so on the GPU device float64 ops run on MLX's CPU stream (never a
//! silent downcast).
//!
//! MLX is lazy; see [`eval`] for when the backend evaluates, which keeps long training loops in
//! bounded memory.

mod backend;
pub mod compile;
mod device;
pub mod distributed;
mod element;
pub mod eval;
mod memo;
mod ops;
mod qtensor;
mod rng;
mod switch;
mod tensor;

pub use backend::Mlx;
pub use device::MlxDevice;
pub use element::{MlxFloat, MlxInt};
pub use qtensor::MlxQTensor;
pub use tensor::MlxTensor;

/// `Mlx` with automatic differentiation: the backend to train with.
pub type MlxAutodiff<F = f32, I = i32> = burn_autodiff::Autodiff<Mlx<F, I>>;
