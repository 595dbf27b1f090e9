//! The rest of MLX's ops: copies and views, gradient stopping, graph dependencies, `*_like`
//! creation, triangular matrices, window functions, the Hadamard transform.

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

fn opt_dtype(d: Option<Dtype>) -> sys::mlxc_opt_dtype {
    sys::mlxc_opt_dtype {
        has: d.is_some(),
        value: d.unwrap_or(Dtype::Float32).to_sys(),
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
    call_vec(|r, _s| unsafe { sys::mlxc_depends(r, arrays(&ins), arrays(&deps), _s) })
}

/// The bytes of `a` read as `dtype`. The last axis is rescaled by the ratio of the element
/// sizes (it must divide evenly when `dtype` is larger).
pub fn view(a: &Array, dtype: Dtype) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_view(r, a.as_raw(), dtype.to_sys(), s) })
}

/// A strided view of the row-major elements of `a`: element `[i₀, i₁, …]` of the result is
/// element `offset + Σ iₖ·strides[k]` of `a.flatten()` (strides in elements, may be negative).
///
/// Fails (instead of reading outside `a`) unless every addressed element is within `a`.
pub fn as_strided(a: &Array, shape: &[i32], strides: &[i64], offset: usize) -> Result<Array> {
    if shape.len() != strides.len() {
        return invalid(format!(
            "[as_strided] shape {shape:?} and strides {strides:?} have different lengths"
        ));
    }
    if let Some(d) = shape.iter().find(|d| **d < 0) {
        return invalid(format!("[as_strided] negative dimension {d} in {shape:?}"));
    }
    if shape.iter().all(|d| *d > 0) {
        // The lowest and highest flat index the view addresses.
        let mut lo = offset as i128;
        let mut hi = offset as i128;
        for (d, st) in shape.iter().zip(strides) {
            let reach = i128::from(*d - 1) * i128::from(*st);
            if reach < 0 {
                lo += reach;
            } else {
                hi += reach;
            }
        }
        if lo < 0 || hi >= a.size() as i128 {
            return invalid(format!(
                "[as_strided] shape {shape:?}, strides {strides:?} and offset {offset} address \
                 elements {lo}..={hi}, outside the {} elements of the array",
                a.size()
            ));
        }
    }
    call(|r, s| unsafe {
        sys::mlxc_as_strided(
            r,
            a.as_raw(),
            ints(shape),
            sys::mlxc_i64s {
                data: strides.as_ptr(),
                len: strides.len(),
            },
            offset,
            s,
        )
    })
}

/// Zeros with the shape and dtype of `a`.
pub fn zeros_like(a: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_zeros_like(r, a.as_raw(), opt_dtype(None), s) })
}

/// Ones with the shape and dtype of `a`.
pub fn ones_like(a: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_ones_like(r, a.as_raw(), opt_dtype(None), s) })
}

/// The shape of `a` filled with `value` (broadcast), of `dtype` (default: the dtype of `a`).
pub fn full_like(a: &Array, value: &Array, dtype: Option<Dtype>) -> Result<Array> {
    let dtype = Some(dtype.unwrap_or(a.dtype()));
    call(|r, s| unsafe { sys::mlxc_full_like(r, a.as_raw(), value.as_raw(), opt_dtype(dtype), s) })
}

/// The `n × n` identity matrix.
pub fn identity(n: i32, dtype: Dtype) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_identity(r, n, dtype.to_sys(), s) })
}

/// An `n × m` matrix with ones at and below diagonal `k` (0: main, > 0: above) and zeros
/// elsewhere.
pub fn tri(n: i32, m: i32, k: i32, dtype: Dtype) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_tri(r, n, m, k, dtype.to_sys(), s) })
}

/// `a` with the elements above diagonal `k` of its last two axes set to zero.
pub fn tril(a: &Array, k: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_tril(r, a.as_raw(), k, s) })
}

/// `a` with the elements below diagonal `k` of its last two axes set to zero.
pub fn triu(a: &Array, k: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_triu(r, a.as_raw(), k, s) })
}

/// The Walsh–Hadamard transform along the last axis, times `scale` (default
/// `1/sqrt(n)`, which makes it orthonormal). The size must be `m·2ᵏ` with `m` in 1, 12, 20, 28,
/// and the dtype float32, float16 or bfloat16 (integers are converted to float32); MLX checks
/// both when the result is evaluated.
pub fn hadamard_transform(a: &Array, scale: Option<f32>) -> Result<Array> {
    let scale = sys::mlxc_opt_float {
        has: scale.is_some(),
        value: scale.unwrap_or(0.0),
    };
    call(|r, s| unsafe { sys::mlxc_hadamard_transform(r, a.as_raw(), scale, s) })
}

/// The number of elements along `axes` of `a` (their product), or its reciprocal with
/// `inverted`, as a scalar of `dtype`. Computed lazily, so it stays valid under shapeless
/// compilation.
pub fn number_of_elements(a: &Array, axes: &[i32], inverted: bool, dtype: Dtype) -> Result<Array> {
    // MLX does not check the axes (it wraps them around); reject bad ones here.
    let n = a.ndim() as i32;
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

impl Array {
    /// See [`view`].
    pub fn view(&self, dtype: Dtype) -> Result<Array> {
        view(self, dtype)
    }
}
