//! MLX arrays for Rust.
//!
//! [MLX](https://github.com/ml-explore/mlx) is an array framework with lazy evaluation,
//! composable function transforms and unified memory, running on CPUs, NVIDIA GPUs (CUDA) and
//! Apple silicon (Metal). This crate is a safe interface to it; names follow MLX's Python API.
//!
//! ```
//! use mlx::{Array, Dtype};
//!
//! let a = mlx::array![[1.0, 2.0], [3.0, 4.0]];
//! let b = Array::ones::<f32>(&[2, 2])?;
//! let c = (&a + &b).matmul(&a)?; // nothing is computed yet
//! assert_eq!(c.to_vec::<f32>()?, vec![11.0, 16.0, 19.0, 28.0]); // reading evaluates
//! # Ok::<(), mlx::Error>(())
//! ```
//!
//! Fallible functions return [`Result`] with MLX's own message in [`Error::Mlx`]. No C++
//! exception ever reaches Rust: the C layer catches them all.

#![warn(missing_docs)]

// Lets the `Parameters` derive (which names `::mlx`) be used inside this crate.
extern crate self as mlx;

mod array;
mod device;
pub mod distributed;
mod dtype;
mod error;
pub mod fast;
pub mod fft;
pub mod io;
pub mod linalg;
mod literal;
pub mod memory;
pub mod nn;
pub mod ops;
pub mod optimizers;
pub mod params;
pub mod random;
pub mod region;
pub mod transforms;
mod vector;

pub use array::{Array, Status, async_eval, eval, export_to_dot};
pub use device::{
    Device, DeviceType, GpuBackend, Stream, ThreadLocalStream, gpu_backend, synchronize,
    with_device, with_stream,
};
pub use dtype::{
    ALL_DTYPES, ArrayElement, Dtype, DtypeCategory, FloatElement, NumElement, result_type,
};
pub use error::{Error, Result};
pub use literal::NestedLiteral;
/// Derives [`Parameters`] for a struct of arrays; see [`params`] for the field options.
pub use mlx_macros::Parameters;
pub use ops::{Ellipsis, Idx, NewAxis, Scalar, weak_scalar};
pub use params::Parameters;

pub use half::{bf16, f16};
pub use num_complex::{self, Complex32};

/// The MLX version in use (from the library, e.g. `"0.32.4"`).
pub fn version() -> String {
    // SAFETY: returns a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(mlx_sys::mlxc_mlx_version()) }
        .to_string_lossy()
        .into_owned()
}

/// Facts about the MLX build this crate is linked against.
pub mod build_info {
    /// The MLX version the crate was built for.
    pub const MLX_VERSION: &str = mlx_sys::MLX_VERSION;
    /// The MLX install prefix used at build time.
    pub const MLX_PREFIX: &str = mlx_sys::MLX_PREFIX;
    /// How the build found MLX (`MLX_DIR`, `python (…)` or `download (<wheel>)`).
    pub const MLX_SOURCE: &str = mlx_sys::MLX_SOURCE;

    /// Which BLAS the CPU path calls.
    pub fn blas() -> String {
        let mut s = std::ptr::null_mut();
        // SAFETY: valid out-pointer; the string is freed by take_string.
        if unsafe { mlx_sys::mlxc_blas_info(&mut s) } != 0 {
            return "unknown".into();
        }
        crate::device::take_string(s)
    }
}
