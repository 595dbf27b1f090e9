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
//!
//! # Conventions and differences from Python MLX
//!
//! Names and semantics follow Python MLX; these are the deliberate differences, each described
//! in full where it applies.
//!
//! - **"All axes" is `None`.** A parameter naming several axes that may mean all of them is
//!   `axes: Option<&[i32]>`: `None` is Python's `axis=None` (every axis; the reversed axes for
//!   [`transpose`](ops::transpose), the flattened array for [`roll`](ops::roll)),
//!   `Some(&[1, -1])` those axes, and `Some(&[])` no axis at all, exactly as Python's `axis=[]`:
//!   a reduction over no axis returns its input (in the dtype the reduction gives), a flip or
//!   squeeze changes nothing, and a transpose of a non-scalar is an error. This holds for the
//!   reductions ([`sum`](ops::sum), [`mean`](ops::mean), [`max`](ops::max),
//!   [`var`](ops::var), [`logsumexp`](ops::logsumexp), [`minmax`](ops::minmax), ... and their
//!   [`Array`] methods), [`softmax`](ops::softmax), [`flip`](ops::flip),
//!   [`squeeze`](ops::squeeze), [`transpose`](ops::transpose), [`roll`](ops::roll),
//!   [`number_of_elements`](ops::number_of_elements), [`linalg::norm`] and the [`fft`] module.
//!   A single axis that may mean "the flattened array" is `axis: Option<i32>` (`argmax`,
//!   `cumsum`, `take`, `concatenate`, ...), the same convention. Where an axis list is always
//!   required (`expand_dims`, `gather`, `pad`, ...) it is a plain `&[i32]`. Python's default
//!   arguments are written out: `x.sum(None, false)` is `x.sum()`.
//! - **`Result` from functions, panics from operators.** Every function in [`ops`] (and the
//!   other modules) returns [`Result`] where Python raises; the operators (`&a + &b`, `-&a`,
//!   ...) cannot, so they panic on operands MLX rejects (see [`Scalar`]).
//! - **Paths are used exactly as given.** [`io`] appends no `.npy`, `.safetensors` or `.gguf`
//!   suffix to a file name.
//! - **One default stream per device for the whole process** ([`with_stream`]), not one per
//!   thread: any array may be built, evaluated or dropped on any thread.
//! - **Activations along an axis take it explicitly** ([`nn::softmax`], [`nn::log_softmax`],
//!   [`nn::glu`], ...): Python's default there is `-1`.
//! - **Losses check shapes** where Python MLX broadcasts silently (see [`nn::losses`]).
//! - **Optimizers** are configured with builder methods and differ in a few state details
//!   (see [the optimizers' differences](optimizers#differences-from-python-mlx)).

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
    Device, DeviceType, GpuBackend, Stream, ThreadLocalStream, cpu_flush_subnormals, gpu_backend,
    set_cpu_flush_subnormals, synchronize, with_device, with_stream,
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

    /// The malloc this process runs on, e.g. `jemalloc 5.3.1` or `system malloc`.
    ///
    /// On Linux the `jemalloc` feature (on by default in `mlx`, `mlx-sys` and `burn-mlx`) links
    /// jemalloc as the whole process's malloc: MLX allocates and frees several small objects per op,
    /// and the host's share of a training step takes about half the time it takes under glibc's
    /// malloc. It keeps one arena for the process and keeps freed pages for reuse (as MLX's GPU
    /// buffer cache keeps freed buffers) until [`crate::memory::clear_cache`]; `MALLOC_CONF` in the environment
    /// changes that (jemalloc's option syntax). Build a `cdylib` loaded by another program (a Python
    /// extension) without the feature: a library cannot replace its host program's malloc.
    pub fn allocator() -> String {
        mlx_sys::allocator::name()
    }
}
