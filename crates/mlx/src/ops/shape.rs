//! Shape manipulation: squeeze, expand_dims, concatenate, stack, split, pad, tile, repeat, ...
//!
//! Negative axes count from the end. Where Python takes `axis=None`, these functions take an
//! `Option<i32>` or an `Option<&[i32]>` with `None` in its place (see
//! [the crate's conventions](crate#conventions-and-differences-from-python-mlx)).

use std::ffi::CStr;

use mlx_sys as sys;

use super::reduce::opt_dtype;
use super::{call, call_vec};
use crate::array::{Array, ints};
use crate::dtype::Dtype;
use crate::error::{Result, invalid};

fn handles(arrays: &[Array]) -> Vec<sys::mlxc_array> {
    arrays.iter().map(Array::as_raw).collect()
}

fn arrays(raws: &[sys::mlxc_array]) -> sys::mlxc_arrays {
    sys::mlxc_arrays {
        data: raws.as_ptr(),
        len: raws.len(),
    }
}

/// Merges axes `start_axis..=end_axis` into one (`flatten(a, 0, -1)` gives a 1-d array).
pub fn flatten(a: &Array, start_axis: i32, end_axis: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_flatten(r, a.as_raw(), start_axis, end_axis, s) })
}

/// Splits `axis` into several axes of `shape` (one entry may be `-1`, inferred).
pub fn unflatten(a: &Array, axis: i32, shape: &[i32]) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_unflatten(r, a.as_raw(), axis, ints(shape), s) })
}

/// Removes the size-one `axes`; `None` removes every size-one axis (`Some(&[])` none).
pub fn squeeze(a: &Array, axes: Option<&[i32]>) -> Result<Array> {
    match axes {
        None => call(|r, s| unsafe { sys::mlxc_squeeze_all(r, a.as_raw(), s) }),
        Some(axes) => call(|r, s| unsafe { sys::mlxc_squeeze(r, a.as_raw(), ints(axes), s) }),
    }
}

/// Inserts size-one axes at `axes` (positions in the result).
pub fn expand_dims(a: &Array, axes: &[i32]) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_expand_dims(r, a.as_raw(), ints(axes), s) })
}

/// Exchanges two axes.
pub fn swapaxes(a: &Array, axis1: i32, axis2: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_swapaxes(r, a.as_raw(), axis1, axis2, s) })
}

/// Moves axis `source` to position `destination`, keeping the others in order.
pub fn moveaxis(a: &Array, source: i32, destination: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_moveaxis(r, a.as_raw(), source, destination, s) })
}

/// Exchanges the last two axes (`a.mT` in Python).
pub fn matrix_transpose(a: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_matrix_transpose(r, a.as_raw(), s) })
}

/// `a` broadcast to `shape` (NumPy's rules), without copying.
pub fn broadcast_to(a: &Array, shape: &[i32]) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_broadcast_to(r, a.as_raw(), ints(shape), s) })
}

/// The arrays broadcast against one another to their common shape.
pub fn broadcast_arrays(inputs: &[Array]) -> Result<Vec<Array>> {
    let raws = handles(inputs);
    call_vec(|r, s| unsafe { sys::mlxc_broadcast_arrays(r, arrays(&raws), s) })
}

/// Joins arrays along an existing `axis` (`None`: flattens them first). The other dimensions
/// must agree; dtypes are promoted.
pub fn concatenate(inputs: &[Array], axis: Option<i32>) -> Result<Array> {
    let raws = handles(inputs);
    match axis {
        Some(axis) => call(|r, s| unsafe { sys::mlxc_concatenate(r, arrays(&raws), axis, s) }),
        None => call(|r, s| unsafe { sys::mlxc_concatenate_all(r, arrays(&raws), s) }),
    }
}

/// Joins arrays of one shape along a new `axis`.
pub fn stack(inputs: &[Array], axis: i32) -> Result<Array> {
    let raws = handles(inputs);
    call(|r, s| unsafe { sys::mlxc_stack(r, arrays(&raws), axis, s) })
}

/// The slices of `a` along `axis`, which is removed (the inverse of [`stack`]).
pub fn unstack(a: &Array, axis: i32) -> Result<Vec<Array>> {
    call_vec(|r, s| unsafe { sys::mlxc_unstack(r, a.as_raw(), axis, s) })
}

/// Splits `a` along `axis` into `sections` equal parts (the size must divide evenly).
pub fn split(a: &Array, sections: i32, axis: i32) -> Result<Vec<Array>> {
    call_vec(|r, s| unsafe { sys::mlxc_split(r, a.as_raw(), sections, axis, s) })
}

/// Splits `a` along `axis` before each of `indices` (`[2, 5]` gives `[:2]`, `[2:5]`, `[5:]`).
pub fn split_indices(a: &Array, indices: &[i32], axis: i32) -> Result<Vec<Array>> {
    call_vec(|r, s| unsafe { sys::mlxc_split_indices(r, a.as_raw(), ints(indices), axis, s) })
}

/// `a` repeated `reps[i]` times along each axis (NumPy's `tile`).
pub fn tile(a: &Array, reps: &[i32]) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_tile(r, a.as_raw(), ints(reps), s) })
}

/// Each element repeated `repeats` times along `axis` (`None`: in the flattened array).
pub fn repeat(a: &Array, repeats: i32, axis: Option<i32>) -> Result<Array> {
    match axis {
        Some(axis) => call(|r, s| unsafe { sys::mlxc_repeat(r, a.as_raw(), repeats, axis, s) }),
        None => call(|r, s| unsafe { sys::mlxc_repeat_all(r, a.as_raw(), repeats, s) }),
    }
}

/// Shifts elements along `axes`, wrapping around. `shift` has one entry (used for every axis)
/// or one per axis (extra entries are ignored). With `axes` `None` the flattened array is rolled
/// by the sum of the shifts; `Some(&[])` rolls nothing.
pub fn roll(a: &Array, shift: &[i32], axes: Option<&[i32]>) -> Result<Array> {
    let Some(axes) = axes else {
        return call(|r, s| unsafe { sys::mlxc_roll_all(r, a.as_raw(), ints(shift), s) });
    };
    let repeated;
    let shift = match shift {
        [one] if axes.len() != 1 => {
            repeated = vec![*one; axes.len()];
            &repeated[..]
        }
        _ => shift,
    };
    call(|r, s| unsafe { sys::mlxc_roll(r, a.as_raw(), ints(shift), ints(axes), s) })
}

/// How [`pad`] fills the new elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PadMode {
    /// With a constant value.
    #[default]
    Constant,
    /// With the nearest edge value.
    Edge,
    /// With the mirror image, not repeating the edge (`[1, 2, 3]` → `[3, 2 | 1, 2, 3 | 2, 1]`).
    Reflect,
    /// With the mirror image, repeating the edge (`[1, 2, 3]` → `[2, 1 | 1, 2, 3 | 3, 2]`).
    Symmetric,
}

impl PadMode {
    fn c_name(self) -> &'static CStr {
        match self {
            PadMode::Constant => c"constant",
            PadMode::Edge => c"edge",
            PadMode::Reflect => c"reflect",
            PadMode::Symmetric => c"symmetric",
        }
    }
}

/// `a` grown by `widths[i] = (before, after)` elements on each side of axis `i`; a single pair
/// applies to every axis. `value` (a scalar array, converted to `a`'s dtype) fills the new
/// elements in [`PadMode::Constant`] and is ignored otherwise.
///
/// A 0-d array has no axis: with one pair or none it is returned unchanged, as in NumPy.
///
/// Gradients flow to `a`, but not correctly to `value`: MLX 0.32.4 returns the cotangent of
/// `a`'s elements for it.
pub fn pad(a: &Array, widths: &[(i32, i32)], value: &Array, mode: PadMode) -> Result<Array> {
    if a.ndim() == 0 && widths.len() <= 1 {
        // A 0-d array has no axis to pad: NumPy and MLX's Python API return it unchanged.
        return Ok(a.clone());
    }
    let widths = match widths {
        [one] => vec![*one; a.ndim().max(1)],
        _ => widths.to_vec(),
    };
    let flat: Vec<i32> = widths.iter().flat_map(|&(lo, hi)| [lo, hi]).collect();
    let mode = mode.c_name();
    call(|r, s| unsafe {
        sys::mlxc_pad(r, a.as_raw(), ints(&flat), value.as_raw(), mode.as_ptr(), s)
    })
}

/// A view of `a`'s data with the given `shape`, `strides` (in elements, may be negative) and
/// `offset` (in elements from the start of `a`'s row-major data).
///
/// Every element the view can reach must lie inside `a`'s data; otherwise this returns
/// [`crate::Error::InvalidArgument`] (MLX itself does not check, and reading outside the data
/// would be undefined behavior).
pub fn as_strided(a: &Array, shape: &[i32], strides: &[i64], offset: usize) -> Result<Array> {
    if shape.len() != strides.len() {
        return invalid(format!(
            "[as_strided] shape {shape:?} and strides {strides:?} differ in length"
        ));
    }
    if shape.iter().any(|&d| d < 0) {
        return invalid(format!(
            "[as_strided] negative dimension in shape {shape:?}"
        ));
    }
    if !shape.contains(&0) {
        let (mut lo, mut hi) = (offset as i128, offset as i128);
        for (&d, &st) in shape.iter().zip(strides) {
            let reach = i128::from(d - 1) * i128::from(st);
            if reach < 0 {
                lo += reach;
            } else {
                hi += reach;
            }
        }
        if lo < 0 || hi >= a.size() as i128 {
            return invalid(format!(
                "[as_strided] shape {shape:?}, strides {strides:?} and offset {offset} reach \
                 elements {lo}..={hi}, outside an array of {} elements",
                a.size()
            ));
        }
    }
    let strides = sys::mlxc_i64s {
        data: strides.as_ptr(),
        len: strides.len(),
    };
    call(|r, s| unsafe { sys::mlxc_as_strided(r, a.as_raw(), ints(shape), strides, offset, s) })
}

/// The bytes of `a` reinterpreted as `dtype`; the last axis is rescaled by the ratio of the
/// element sizes.
pub fn view(a: &Array, dtype: Dtype) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_view(r, a.as_raw(), dtype.to_sys(), s) })
}

/// `a` with at least one dimension (a scalar becomes shape `[1]`).
pub fn atleast_1d(a: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_atleast_1d(r, a.as_raw(), s) })
}

/// `a` with at least two dimensions (shape `[n]` becomes `[1, n]`).
pub fn atleast_2d(a: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_atleast_2d(r, a.as_raw(), s) })
}

/// `a` with at least three dimensions (`[n]` becomes `[1, n, 1]`, `[m, n]` becomes
/// `[m, n, 1]`).
pub fn atleast_3d(a: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_atleast_3d(r, a.as_raw(), s) })
}

/// Axis order of [`meshgrid`]'s outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Indexing {
    /// Cartesian: with inputs of lengths `m` and `n` the grids have shape `[n, m]`.
    #[default]
    Xy,
    /// Matrix: the grids have shape `[m, n]`.
    Ij,
}

/// Coordinate grids from 1-d coordinate arrays. With `sparse`, each output keeps size one on
/// the other axes (broadcastable) instead of being expanded.
pub fn meshgrid(inputs: &[Array], sparse: bool, indexing: Indexing) -> Result<Vec<Array>> {
    let raws = handles(inputs);
    let indexing = match indexing {
        Indexing::Xy => c"xy",
        Indexing::Ij => c"ij",
    };
    call_vec(|r, s| unsafe { sys::mlxc_meshgrid(r, arrays(&raws), sparse, indexing.as_ptr(), s) })
}

/// Of a 2-d array, its `k`-th diagonal (`k > 0` above the main one); of a 1-d array, a square
/// matrix with it on the `k`-th diagonal.
pub fn diag(a: &Array, k: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_diag(r, a.as_raw(), k, s) })
}

/// The diagonal at `offset` of the matrices on `axis1` and `axis2`; those axes are removed and
/// the diagonal becomes the last axis.
pub fn diagonal(a: &Array, offset: i32, axis1: i32, axis2: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_diagonal(r, a.as_raw(), offset, axis1, axis2, s) })
}

/// The sum of the diagonal at `offset` of the matrices on `axis1` and `axis2`, optionally in
/// `dtype`.
pub fn trace(
    a: &Array,
    offset: i32,
    axis1: i32,
    axis2: i32,
    dtype: Option<Dtype>,
) -> Result<Array> {
    let d = opt_dtype(dtype);
    let t = call(|r, s| unsafe { sys::mlxc_trace(r, a.as_raw(), offset, axis1, axis2, d, s) })?;
    // MLX 0.32.4 can spend many seconds summing an empty diagonal of an array with more than
    // two dimensions (its empty diagonal view confuses the CPU reduction); the sum of nothing
    // is zero, so give that directly. MLX has validated the axes by now.
    let shape = a.shape();
    let n = shape.len() as i32;
    let dim = |axis: i32| i64::from(shape[(if axis < 0 { axis + n } else { axis }) as usize]);
    let (rows, cols, off) = (dim(axis1), dim(axis2), i64::from(offset));
    let len = if off >= 0 {
        rows.min(cols - off)
    } else {
        (rows + off).min(cols)
    };
    if len <= 0 {
        return super::zeros(t.shape(), t.dtype());
    }
    Ok(t)
}

/// An `n × m` matrix with ones at and below diagonal `k` and zeros elsewhere.
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

/// Zeros of `a`'s shape, of `dtype` or `a`'s dtype.
pub fn zeros_like(a: &Array, dtype: Option<Dtype>) -> Result<Array> {
    let d = opt_dtype(dtype);
    call(|r, s| unsafe { sys::mlxc_zeros_like(r, a.as_raw(), d, s) })
}

/// Ones of `a`'s shape, of `dtype` or `a`'s dtype.
pub fn ones_like(a: &Array, dtype: Option<Dtype>) -> Result<Array> {
    let d = opt_dtype(dtype);
    call(|r, s| unsafe { sys::mlxc_ones_like(r, a.as_raw(), d, s) })
}

/// `vals` broadcast to `a`'s shape, converted to `dtype` (default: `a`'s dtype).
pub fn full_like(a: &Array, vals: &Array, dtype: Option<Dtype>) -> Result<Array> {
    let d = opt_dtype(dtype);
    call(|r, s| unsafe { sys::mlxc_full_like(r, a.as_raw(), vals.as_raw(), d, s) })
}

/// The `n × n` identity matrix.
pub fn identity(n: i32, dtype: Dtype) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_identity(r, n, dtype.to_sys(), s) })
}

impl Array {
    /// See [`flatten`].
    pub fn flatten(&self, start_axis: i32, end_axis: i32) -> Result<Array> {
        flatten(self, start_axis, end_axis)
    }

    /// See [`squeeze`].
    pub fn squeeze(&self, axes: Option<&[i32]>) -> Result<Array> {
        squeeze(self, axes)
    }

    /// See [`expand_dims`].
    pub fn expand_dims(&self, axes: &[i32]) -> Result<Array> {
        expand_dims(self, axes)
    }

    /// See [`swapaxes`].
    pub fn swapaxes(&self, axis1: i32, axis2: i32) -> Result<Array> {
        swapaxes(self, axis1, axis2)
    }

    /// See [`moveaxis`].
    pub fn moveaxis(&self, source: i32, destination: i32) -> Result<Array> {
        moveaxis(self, source, destination)
    }

    /// Exchanges the last two axes (`a.mT` in Python); see [`matrix_transpose`].
    pub fn mt(&self) -> Result<Array> {
        matrix_transpose(self)
    }

    /// See [`split`].
    pub fn split(&self, sections: i32, axis: i32) -> Result<Vec<Array>> {
        split(self, sections, axis)
    }

    /// See [`diag`].
    pub fn diag(&self, k: i32) -> Result<Array> {
        diag(self, k)
    }

    /// See [`diagonal`].
    pub fn diagonal(&self, offset: i32, axis1: i32, axis2: i32) -> Result<Array> {
        diagonal(self, offset, axis1, axis2)
    }

    /// See [`view`].
    pub fn view(&self, dtype: Dtype) -> Result<Array> {
        view(self, dtype)
    }

    /// See [`broadcast_to`].
    pub fn broadcast_to(&self, shape: &[i32]) -> Result<Array> {
        broadcast_to(self, shape)
    }
}
