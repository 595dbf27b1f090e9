//! Raw FFI bindings to MLX through `mlxc`, this workspace's C API over MLX's C++ API
//! (`mlx-c/` in the repository).
//!
//! Everything here is `unsafe` and mirrors `mlxc.h` one to one; use the `mlx` crate for a safe
//! API. The build script finds or provisions MLX (see the crate's README and `build/main.rs`),
//! builds mlxc with CMake, and links both.
//!
//! Conventions of every function: it returns 0 on success, non-zero on failure with the message
//! in [`mlxc_last_error`]; results come back through out-pointers; handles are released with
//! their `*_free` function.
#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case)]
#![allow(missing_docs, clippy::all)]

pub mod allocator;

#[cfg(feature = "bindgen")]
include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
#[cfg(not(feature = "bindgen"))]
include!("bindings.rs");

/// The MLX version this crate was built against.
pub const MLX_VERSION: &str = env!("MLX_SYS_VERSION");
/// The MLX install prefix used by the build.
pub const MLX_PREFIX: &str = env!("MLX_SYS_PREFIX");
/// How the build found MLX: `MLX_DIR`, `python (...)` or `download (<wheel>)`.
pub const MLX_SOURCE: &str = env!("MLX_SYS_SOURCE");
/// The folder of the system OpenBLAS linked ahead of libmlx, or empty when none was.
pub const OPENBLAS_DIR: &str = env!("MLX_SYS_OPENBLAS_DIR");

/// The stream argument that selects MLX's default stream.
pub const DEFAULT_STREAM: mlxc_stream = mlxc_stream {
    index: -1,
    device: mlxc_device {
        type_: mlxc_device_type::MLXC_CPU,
        index: 0,
    },
};
