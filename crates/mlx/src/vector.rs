//! Conversions between Rust vectors of arrays and mlxc's `mlxc_vector_array`.

use mlx_sys as sys;

use crate::array::Array;
use crate::error::{Result, check};

/// Takes ownership of a vector handle and returns its arrays.
pub(crate) fn take_vector(v: sys::mlxc_vector_array) -> Vec<Array> {
    let arrays = read_vector(v);
    // SAFETY: we own `v` and free it once.
    unsafe { sys::mlxc_vector_array_free(v) };
    arrays
}

/// New handles to the arrays of a borrowed vector handle.
pub(crate) fn read_vector(v: sys::mlxc_vector_array) -> Vec<Array> {
    // SAFETY: `v` is a valid vector handle for the duration of the call.
    let n = unsafe { sys::mlxc_vector_array_size(v) };
    (0..n)
        .map(|i| {
            let mut a = std::ptr::null_mut();
            // SAFETY: i < n; valid out-pointer.
            let status = unsafe { sys::mlxc_vector_array_get(&mut a, v, i) };
            assert_eq!(status, 0, "mlxc_vector_array_get failed");
            // SAFETY: success means a valid owned handle.
            unsafe { Array::from_raw(a) }
        })
        .collect()
}

/// Appends arrays to a borrowed vector handle.
pub(crate) fn push_all(v: sys::mlxc_vector_array, arrays: &[Array]) -> Result<()> {
    for a in arrays {
        // SAFETY: valid handles.
        check(unsafe { sys::mlxc_vector_array_push(v, a.as_raw()) })?;
    }
    Ok(())
}
