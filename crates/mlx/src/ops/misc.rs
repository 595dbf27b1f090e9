//! The rest of MLX's ops: copies, gradient stopping, graph dependencies, element counts and
//! window functions.

use mlx_sys as sys;

use super::{call, call_vec};
use crate::array::{Array, ints};
use crate::dtype::Dtype;
use crate::error::{Result, invalid};

fn raws(arrays: &[Array]) -> Vec<sys::mlxc_array> {
    arrays.iter().map(Array::as_raw).collect()
}

fn arrays(raws: &[sys::mlxc_array]) -> sys::mlxc_arrays {
    sys::mlxc_arrays {
        data: raws.as_ptr(),
        len: raws.len(),
    }
}

/// A copy of `a` (a new graph node with the same values).
pub fn copy(a: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_copy(r, a.as_raw(), s) })
}

/// `a` itself in the forward pass, a constant for transforms: its gradient is zero.
pub fn stop_gradient(a: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_stop_gradient(r, a.as_raw(), s) })
}

/// `inputs` unchanged, except that evaluating them first evaluates every array of
/// `dependencies`.
pub fn depends(inputs: &[Array], dependencies: &[Array]) -> Result<Vec<Array>> {
    let ins = raws(inputs);
    let deps = raws(dependencies);
    call_vec(|r, s| unsafe { sys::mlxc_depends(r, arrays(&ins), arrays(&deps), s) })
}

/// The number of elements along `axes` of `a` (their product; every axis when `None`, 1 for
/// `Some(&[])`), or its reciprocal with `inverted`, as a scalar of `dtype`. Computed lazily, so
/// it stays valid under shapeless compilation.
pub fn number_of_elements(
    a: &Array,
    axes: Option<&[i32]>,
    inverted: bool,
    dtype: Dtype,
) -> Result<Array> {
    let n = a.ndim() as i32;
    let every;
    let axes = match axes {
        Some(axes) => axes,
        None => {
            every = (0..n).collect::<Vec<_>>();
            &every[..]
        }
    };
    // MLX does not check the axes (it wraps them around); reject bad ones here.
    if let Some(ax) = axes.iter().find(|ax| **ax < -n || **ax >= n) {
        return invalid(format!(
            "[number_of_elements] axis {ax} is out of bounds for an array of {n} dimensions"
        ));
    }
    call(|r, s| unsafe {
        sys::mlxc_number_of_elements(r, a.as_raw(), ints(axes), inverted, dtype.to_sys(), s)
    })
}

/// The Hann window of `m` points: `0.5 − 0.5·cos(2πn/(m−1))` (float32).
pub fn hanning(m: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_hanning(r, m, s) })
}

/// The Hamming window of `m` points: `0.54 − 0.46·cos(2πn/(m−1))` (float32).
pub fn hamming(m: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_hamming(r, m, s) })
}

/// The Bartlett (triangular) window of `m` points: `1 − |2n/(m−1) − 1|` (float32).
pub fn bartlett(m: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_bartlett(r, m, s) })
}

/// The Blackman window of `m` points:
/// `0.42 − 0.5·cos(2πn/(m−1)) + 0.08·cos(4πn/(m−1))` (float32).
pub fn blackman(m: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_blackman(r, m, s) })
}
