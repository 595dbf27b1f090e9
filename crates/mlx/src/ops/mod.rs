//! Operations on arrays, named as in MLX's Python API (`mlx.core`).
//!
//! Every op is lazy: it adds a node to the graph and returns at once. Ops run on the current
//! stream (see [`crate::with_stream`] and [`crate::with_device`]). Each op returns
//! `Result`, carrying MLX's message when MLX rejects the arguments.
//!
//! Axes follow [the crate's conventions](crate#conventions-and-differences-from-python-mlx):
//! `axes: Option<&[i32]>` with `None` for every axis (Python's `axis=None`) and `Some(&[])` for
//! none, `axis: Option<i32>` with `None` for the flattened array; negative axes count from the
//! end.
//!
//! Every `unsafe` block in these modules is a call into mlxc with handles borrowed from live
//! `Array`s and views of live slices; mlxc copies what it keeps.

pub mod arith;
pub mod compare;
pub mod conv;
pub mod core;
pub mod index;
pub mod misc;
mod operators;
pub mod quant;
pub mod reduce;
pub mod shape;
pub mod sort;

pub use self::operators::{Scalar, weak_scalar};

pub use self::arith::*;
pub use self::compare::*;
pub use self::conv::*;
pub use self::core::*;
pub use self::index::*;
pub use self::misc::*;
pub use self::quant::*;
pub use self::reduce::*;
pub use self::shape::*;
pub use self::sort::*;
pub use crate::linalg::{
    addmm, block_masked_mm, einsum, einsum_path, gather_mm, hadamard_transform, inner, kron, outer,
    segmented_mm, tensordot, tensordot_axes, vecdot,
};

use std::os::raw::c_int;

use mlx_sys as sys;

use crate::array::Array;
use crate::device::stream_arg;
use crate::error::{Result, check};

/// Calls an mlxc op that returns one array.
pub(crate) fn call(
    f: impl FnOnce(&mut sys::mlxc_array, sys::mlxc_stream) -> c_int,
) -> Result<Array> {
    let mut res: sys::mlxc_array = std::ptr::null_mut();
    check(f(&mut res, stream_arg()))?;
    // SAFETY: on success mlxc wrote a valid owned handle.
    Ok(unsafe { Array::from_raw(res) })
}

/// Calls an mlxc op that returns several arrays.
pub(crate) fn call_vec(
    f: impl FnOnce(&mut sys::mlxc_vector_array, sys::mlxc_stream) -> c_int,
) -> Result<Vec<Array>> {
    let mut res: sys::mlxc_vector_array = std::ptr::null_mut();
    check(f(&mut res, stream_arg()))?;
    Ok(crate::vector::take_vector(res))
}
