//! Indexing: take, gather, slice, slice_update, the scatter family, put_along_axis, flip, and
//! NumPy-style indexing of arrays ([`Array::index`], [`Array::index_put`], [`idx!`](crate::idx!)).
//!
//! Out-of-range indices never touch memory outside an array: see
//! [`Idx`](Idx#out-of-range-indices) for the rules.

mod entries;
mod indexing;

pub use self::entries::{Ellipsis, Idx, Indexer, NewAxis};

use mlx_sys as sys;

use super::call;
use super::shape::broadcast_to;
use crate::array::{Array, ints};
use crate::dtype::Dtype;
use crate::error::{Error, Result, invalid};

fn arrays(raws: &[sys::mlxc_array]) -> sys::mlxc_arrays {
    sys::mlxc_arrays {
        data: raws.as_ptr(),
        len: raws.len(),
    }
}

fn handles(v: &[Array]) -> Vec<sys::mlxc_array> {
    v.iter().map(Array::as_raw).collect()
}

/// MLX checks the dtype of these index arrays only when it computes (or not at all).
fn check_integer_indices(indices: &Array, what: &str) -> Result<()> {
    if !indices.dtype().is_integer() {
        return invalid(format!(
            "[{what}] Indices must have an integer dtype, got {}.",
            indices.dtype()
        ));
    }
    Ok(())
}

/// `axis` in `[0, ndim)` if it names an axis of an `ndim`-dimensional array.
fn normalize_axis(axis: i32, ndim: usize) -> Option<usize> {
    let n = ndim as i64;
    let a = i64::from(axis);
    let a = if a < 0 { a + n } else { a };
    (0..n).contains(&a).then_some(a as usize)
}

/// Axes with negative values made non-negative; axes out of range are kept, so that MLX reports
/// them.
fn normalize_axes(axes: &[i32], ndim: usize) -> Vec<i32> {
    axes.iter()
        .map(|&ax| normalize_axis(ax, ndim).map_or(ax, |a| a as i32))
        .collect()
}

// ---- in-graph index sanitizers ------------------------------------------------------------------

/// Indices valid for reading a window of `window` elements on an axis of `size` (clamped).
fn clamp_indices(indices: &Array, size: i32, window: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_index_clamp(r, indices.as_raw(), size, window, s) })
}

/// Indices for writing a window of `window` elements on an axis of `size` padded by `window`:
/// out-of-range ones point into the padding.
fn drop_indices(indices: &Array, size: i32, window: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_index_drop(r, indices.as_raw(), size, window, s) })
}

fn clamp_start(start: &Array, sizes: &[i32], windows: &[i32]) -> Result<Array> {
    call(|r, s| unsafe {
        sys::mlxc_index_clamp_start(r, start.as_raw(), ints(sizes), ints(windows), s)
    })
}

pub(crate) fn pad_end(a: &Array, axes: &[i32], amounts: &[i32]) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_index_pad_end(r, a.as_raw(), ints(axes), ints(amounts), s) })
}

/// The leading `shape` corner of `a` (undoes [`pad_end`]).
fn crop(a: &Array, shape: &[i32]) -> Result<Array> {
    let zeros = vec![0; shape.len()];
    let ones = vec![1; shape.len()];
    raw_slice(a, &zeros, shape, &ones)
}

fn raw_slice(a: &Array, start: &[i32], stop: &[i32], strides: &[i32]) -> Result<Array> {
    call(|r, s| unsafe {
        sys::mlxc_slice(r, a.as_raw(), ints(start), ints(stop), ints(strides), s)
    })
}

fn flatten(a: &Array) -> Result<Array> {
    a.reshape(&[-1])
}

fn dim_of(a: &Array, axis: usize) -> i32 {
    a.shape()[axis]
}

fn size_i32(a: &Array, what: &str) -> Result<i32> {
    i32::try_from(a.size()).map_err(|_| {
        Error::InvalidArgument(format!(
            "[{what}] the array has too many elements to index as flat"
        ))
    })
}

// ---- take ---------------------------------------------------------------------------------------

/// Elements of `a` at `indices` along `axis` (`None`: of the flattened array), as
/// `mx.take(a, indices, axis)`.
///
/// The result has `a`'s shape with `axis` replaced by the shape of `indices`. Out-of-range
/// indices are clamped (see [out-of-range indices](Idx#out-of-range-indices)).
///
/// ```
/// use mlx::ops;
/// let a = mlx::array![[1, 2, 3], [4, 5, 6]];
/// let cols = ops::take(&a, &mlx::array![2, 0, -1], Some(1))?;
/// assert_eq!(cols.to_vec::<i32>()?, vec![3, 1, 3, 6, 4, 6]);
/// let flat = ops::take(&a, &mlx::array![[0, 5]], None)?;
/// assert_eq!(flat.shape(), &[1, 2]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn take(a: &Array, indices: &Array, axis: Option<i32>) -> Result<Array> {
    match axis {
        None => {
            call(|r, s| unsafe { sys::mlxc_take_flat(r, a.as_raw(), indices.as_raw(), s) })?;
            let safe = clamp_indices(indices, size_i32(a, "take")?, 1)?;
            call(|r, s| unsafe { sys::mlxc_take_flat(r, a.as_raw(), safe.as_raw(), s) })
        }
        Some(axis) => {
            let unchecked =
                call(|r, s| unsafe { sys::mlxc_take(r, a.as_raw(), indices.as_raw(), axis, s) })?;
            let Some(ax) = normalize_axis(axis, a.ndim()) else {
                return Ok(unchecked);
            };
            let safe = clamp_indices(indices, dim_of(a, ax), 1)?;
            call(|r, s| unsafe { sys::mlxc_take(r, a.as_raw(), safe.as_raw(), axis, s) })
        }
    }
}

/// The slice of `a` at one integer position along `axis` (`None`: the element of the flattened
/// array), removing that axis. Negative `index` counts from the end; an index out of range is an
/// `Err` (`InvalidArgument`).
///
/// ```
/// let a = mlx::array![[1, 2, 3], [4, 5, 6]];
/// assert_eq!(mlx::ops::take_index(&a, -1, Some(1))?.to_vec::<i32>()?, vec![3, 6]);
/// assert_eq!(mlx::ops::take_index(&a, 4, None)?.item::<i32>()?, 5);
/// assert!(mlx::ops::take_index(&a, 2, Some(0)).is_err());
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn take_index(a: &Array, index: i32, axis: Option<i32>) -> Result<Array> {
    let (n, shown_axis) = match axis {
        None => (i64::try_from(a.size()).unwrap_or(i64::MAX), None),
        Some(axis) => match normalize_axis(axis, a.ndim()) {
            Some(ax) => (i64::from(dim_of(a, ax)), Some(axis)),
            // Let MLX report the bad axis.
            None => {
                return call(|r, s| unsafe { sys::mlxc_take_index(r, a.as_raw(), index, axis, s) });
            }
        },
    };
    if a.size() == 0 {
        // MLX's "non-empty take from an array with zero elements" error.
        return match axis {
            None => call(|r, s| unsafe { sys::mlxc_take_index_flat(r, a.as_raw(), 0, s) }),
            Some(ax) => call(|r, s| unsafe { sys::mlxc_take_index(r, a.as_raw(), 0, ax, s) }),
        };
    }
    let i = i64::from(index);
    let i = if i < 0 { i + n } else { i };
    if !(0..n).contains(&i) {
        return match shown_axis {
            Some(ax) => invalid(format!(
                "[take] Index {index} is out of bounds for axis {ax} with size {n}."
            )),
            None => invalid(format!(
                "[take] Index {index} is out of bounds for the flattened array of size {n}."
            )),
        };
    }
    let i = i as i32;
    match axis {
        None => call(|r, s| unsafe { sys::mlxc_take_index_flat(r, a.as_raw(), i, s) }),
        Some(ax) => call(|r, s| unsafe { sys::mlxc_take_index(r, a.as_raw(), i, ax, s) }),
    }
}

/// Picks elements along `axis` with `indices` of the same rank as `a` (the other dimensions
/// broadcast), as `mx.take_along_axis`; `None` works on the flattened arrays. Out-of-range
/// indices are clamped.
///
/// ```
/// let a = mlx::array![[10, 30, 20], [60, 40, 50]];
/// let idx = mlx::array![[1], [0]];
/// assert_eq!(mlx::ops::take_along_axis(&a, &idx, Some(1))?.to_vec::<i32>()?, vec![30, 60]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn take_along_axis(a: &Array, indices: &Array, axis: Option<i32>) -> Result<Array> {
    let (a, indices, axis) = match axis {
        None => (flatten(a)?, flatten(indices)?, 0),
        Some(axis) => (a.clone(), indices.clone(), axis),
    };
    let unchecked = call(|r, s| unsafe {
        sys::mlxc_take_along_axis(r, a.as_raw(), indices.as_raw(), axis, s)
    })?;
    let Some(ax) = normalize_axis(axis, a.ndim()) else {
        return Ok(unchecked);
    };
    check_integer_indices(&indices, "take_along_axis")?;
    let safe = clamp_indices(&indices, dim_of(&a, ax), 1)?;
    call(|r, s| unsafe { sys::mlxc_take_along_axis(r, a.as_raw(), safe.as_raw(), axis, s) })
}

/// [`take_along_axis`] along `axis` without the nodes that clamp the indices: for indices the
/// caller built itself and knows to be in range (from `argsort` or `argmax` of `a` along the
/// same axis, or computed tap positions), where the clamp would only cost kernels.
///
/// # Safety
/// Every index must lie in `[-n, n)`, `n` being `a`'s size along `axis`: MLX does not check,
/// and an index outside reads memory outside `a`.
pub unsafe fn take_along_axis_unchecked(a: &Array, indices: &Array, axis: i32) -> Result<Array> {
    check_integer_indices(indices, "take_along_axis")?;
    call(|r, s| unsafe { sys::mlxc_take_along_axis(r, a.as_raw(), indices.as_raw(), axis, s) })
}

/// [`take`] without the nodes that clamp the indices, for indices the caller built itself and
/// knows to be in range (see [`take_along_axis_unchecked`]).
///
/// # Safety
/// Every index must lie in `[-n, n)`, `n` being `a`'s size along `axis` (its element count for
/// `None`): MLX does not check, and an index outside reads memory outside `a`.
pub unsafe fn take_unchecked(a: &Array, indices: &Array, axis: Option<i32>) -> Result<Array> {
    match axis {
        None => call(|r, s| unsafe { sys::mlxc_take_flat(r, a.as_raw(), indices.as_raw(), s) }),
        Some(axis) => {
            call(|r, s| unsafe { sys::mlxc_take(r, a.as_raw(), indices.as_raw(), axis, s) })
        }
    }
}

/// [`scatter_add_axis`] along `axis` without the nodes that drop out-of-range indices, for
/// indices the caller knows to be in range (positions a reduction of the same axis produced).
///
/// # Safety
/// Every index must lie in `[-n, n)`, `n` being `a`'s size along `axis`: MLX does not check,
/// and an index outside writes memory outside the result.
pub unsafe fn scatter_add_axis_unchecked(
    a: &Array,
    indices: &Array,
    values: &Array,
    axis: i32,
) -> Result<Array> {
    check_integer_indices(indices, "scatter_add_axis")?;
    call(|r, s| unsafe {
        sys::mlxc_scatter_add_axis(r, a.as_raw(), indices.as_raw(), values.as_raw(), axis, s)
    })
}

#[derive(Clone, Copy)]
enum AxisWrite {
    Put,
    Add,
}

fn scatter_axis(
    kind: AxisWrite,
    a: &Array,
    indices: &Array,
    values: &Array,
    axis: Option<i32>,
) -> Result<Array> {
    let Some(axis) = axis else {
        let values = if values.ndim() > 0 {
            flatten(values)?
        } else {
            values.clone()
        };
        let flat = scatter_axis(kind, &flatten(a)?, &flatten(indices)?, &values, Some(0))?;
        return flat.reshape(a.shape());
    };
    let run = |a: &Array, indices: &Array| match kind {
        AxisWrite::Put => call(|r, s| unsafe {
            sys::mlxc_put_along_axis(r, a.as_raw(), indices.as_raw(), values.as_raw(), axis, s)
        }),
        AxisWrite::Add => call(|r, s| unsafe {
            sys::mlxc_scatter_add_axis(r, a.as_raw(), indices.as_raw(), values.as_raw(), axis, s)
        }),
    };
    let unchecked = run(a, indices)?;
    let Some(ax) = normalize_axis(axis, a.ndim()) else {
        return Ok(unchecked);
    };
    check_integer_indices(
        indices,
        match kind {
            AxisWrite::Put => "put_along_axis",
            AxisWrite::Add => "scatter_add_axis",
        },
    )?;
    if a.size() == 0 {
        // MLX returns `a` itself: nothing is written.
        return Ok(unchecked);
    }
    let n = dim_of(a, ax);
    let safe = drop_indices(indices, n, 1)?;
    let padded = pad_end(a, &[ax as i32], &[1])?;
    let out = run(&padded, &safe)?;
    crop(&out, a.shape())
}

/// `a` with `values` written at `indices` along `axis` (the inverse of [`take_along_axis`]), as
/// `mx.put_along_axis`; `None` works on the flattened array. Updates at out-of-range indices are
/// dropped; with repeated indices, which value lands is unspecified.
///
/// ```
/// let a = mlx::ops::zeros(&[2, 3], mlx::Dtype::Int32)?;
/// let out = mlx::ops::put_along_axis(&a, &mlx::array![[2], [0]], &mlx::array![[7], [8]], Some(1))?;
/// assert_eq!(out.to_vec::<i32>()?, vec![0, 0, 7, 8, 0, 0]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn put_along_axis(
    a: &Array,
    indices: &Array,
    values: &Array,
    axis: Option<i32>,
) -> Result<Array> {
    scatter_axis(AxisWrite::Put, a, indices, values, axis)
}

/// Like [`put_along_axis`] but adds `values` into `a`; repeated indices accumulate.
///
/// ```
/// let a = mlx::ops::zeros(&[3], mlx::Dtype::Float32)?;
/// let out = mlx::ops::scatter_add_axis(&a, &mlx::array![0, 0, 2], &mlx::array![1.0, 2.0, 5.0], Some(0))?;
/// assert_eq!(out.to_vec::<f32>()?, vec![3.0, 0.0, 5.0]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn scatter_add_axis(
    a: &Array,
    indices: &Array,
    values: &Array,
    axis: Option<i32>,
) -> Result<Array> {
    scatter_axis(AxisWrite::Add, a, indices, values, axis)
}

// ---- slices -------------------------------------------------------------------------------------

/// Strides for a slice of an array of `shape`: empty means all ones; a zero stride is an error
/// (MLX would divide by it). Strides longer than their axis select at most one element, so they
/// are shortened to the axis length (MLX's size computation would overflow on huge strides).
fn slice_strides(shape: &[i32], strides: &[i32], ndim: usize, what: &str) -> Result<Vec<i32>> {
    if strides.is_empty() {
        return Ok(vec![1; ndim]);
    }
    if strides.contains(&0) {
        return invalid(format!(
            "[{what}] Slice strides must be non-zero, got {strides:?}."
        ));
    }
    Ok(strides
        .iter()
        .enumerate()
        .map(|(i, &st)| {
            let n = shape.get(i).copied().unwrap_or(1).max(1);
            st.clamp(-n, n)
        })
        .collect())
}

/// The elements `start[i]`, `start[i] + strides[i]`, … before `stop[i]` on every axis, as MLX's
/// C++ `slice`. One entry per axis; empty `strides` means all ones.
///
/// Negative `start`/`stop` count from the end and both are clamped to the axis, so a slice never
/// fails for being out of range (it may be empty). With a negative stride the slice runs
/// backwards from `start` down to, excluding, `stop`; as `-1` means the last element, pass
/// `stop = -(n + 1)` (or `i32::MIN`) to run through element 0. For Python-style slicing use
/// [`Array::index`].
///
/// ```
/// let a = mlx::array![[0, 1, 2, 3], [4, 5, 6, 7]];
/// let s = mlx::ops::slice(&a, &[0, 1], &[2, 4], &[1, 2])?;
/// assert_eq!(s.to_vec::<i32>()?, vec![1, 3, 5, 7]);
/// let r = mlx::ops::slice(&a, &[1, 3], &[0, i32::MIN], &[-1, -1])?;
/// assert_eq!(r.to_vec::<i32>()?, vec![7, 6, 5, 4]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn slice(a: &Array, start: &[i32], stop: &[i32], strides: &[i32]) -> Result<Array> {
    let strides = slice_strides(a.shape(), strides, start.len(), "slice")?;
    raw_slice(a, start, stop, &strides)
}

/// A slice of `slice_size` (one entry per axis of `a`) whose start on `axes` is read from the
/// integer array `start` (one entry per axis in `axes`; the other axes start at 0), as
/// `mx.slice(a, start, axes, slice_size)` in Python. The start can be computed in the graph.
///
/// Negative starts count from the end; every start is then clamped so that the slice fits.
///
/// ```
/// let a = mlx::array![0, 1, 2, 3, 4, 5];
/// let s = mlx::ops::slice_dynamic(&a, &mlx::array![2], &[0], &[3])?;
/// assert_eq!(s.to_vec::<i32>()?, vec![2, 3, 4]);
/// let clamped = mlx::ops::slice_dynamic(&a, &mlx::array![5], &[0], &[3])?;
/// assert_eq!(clamped.to_vec::<i32>()?, vec![3, 4, 5]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn slice_dynamic(a: &Array, start: &Array, axes: &[i32], slice_size: &[i32]) -> Result<Array> {
    call(|r, s| unsafe {
        sys::mlxc_slice_dynamic(
            r,
            a.as_raw(),
            start.as_raw(),
            ints(axes),
            ints(slice_size),
            s,
        )
    })?;
    let mut sizes = Vec::with_capacity(axes.len());
    let mut windows = Vec::with_capacity(axes.len());
    for &axis in axes {
        // Validated by MLX above.
        let ax = normalize_axis(axis, a.ndim()).expect("axis checked by MLX");
        sizes.push(dim_of(a, ax));
        windows.push(slice_size[ax]);
    }
    let safe = clamp_start(start, &sizes, &windows)?;
    call(|r, s| unsafe {
        sys::mlxc_slice_dynamic(
            r,
            a.as_raw(),
            safe.as_raw(),
            ints(axes),
            ints(slice_size),
            s,
        )
    })
}

/// `src` with the slice `start:stop:strides` (as in [`slice()`]) replaced by `update`, which
/// broadcasts to the slice's shape and is converted to `src`'s dtype. Functional: `src` is not
/// modified.
///
/// ```
/// let a = mlx::ops::zeros(&[5], mlx::Dtype::Int32)?;
/// let out = mlx::ops::slice_update(&a, &mlx::array![7, 8], &[1], &[5], &[2])?;
/// assert_eq!(out.to_vec::<i32>()?, vec![0, 7, 0, 8, 0]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn slice_update(
    src: &Array,
    update: &Array,
    start: &[i32],
    stop: &[i32],
    strides: &[i32],
) -> Result<Array> {
    let strides = slice_strides(src.shape(), strides, start.len(), "slice_update")?;
    call(|r, s| unsafe {
        sys::mlxc_slice_update(
            r,
            src.as_raw(),
            update.as_raw(),
            ints(start),
            ints(stop),
            ints(&strides),
            s,
        )
    })
}

macro_rules! slice_update_reduce {
    ($(#[$doc:meta])* $name:ident, $sys:ident) => {
        $(#[$doc])*
        pub fn $name(
            src: &Array,
            update: &Array,
            start: &[i32],
            stop: &[i32],
            strides: &[i32],
        ) -> Result<Array> {
            let strides = slice_strides(src.shape(), strides, start.len(), stringify!($name))?;
            call(|r, s| unsafe {
                sys::$sys(
                    r,
                    src.as_raw(),
                    update.as_raw(),
                    ints(start),
                    ints(stop),
                    ints(&strides),
                    s,
                )
            })
        }
    };
}

slice_update_reduce!(
    /// Like [`slice_update`], adding `update` to the slice.
    ///
    /// ```
    /// let a = mlx::array![1, 1, 1, 1];
    /// let out = mlx::ops::slice_update_add(&a, &mlx::array![5], &[1], &[3], &[])?;
    /// assert_eq!(out.to_vec::<i32>()?, vec![1, 6, 6, 1]);
    /// # Ok::<(), mlx::Error>(())
    /// ```
    slice_update_add,
    mlxc_slice_update_add
);
slice_update_reduce!(
    /// Like [`slice_update`], multiplying the slice by `update`.
    slice_update_prod,
    mlxc_slice_update_prod
);
slice_update_reduce!(
    /// Like [`slice_update`], keeping the larger of the slice and `update`.
    slice_update_max,
    mlxc_slice_update_max
);
slice_update_reduce!(
    /// Like [`slice_update`], keeping the smaller of the slice and `update`.
    slice_update_min,
    mlxc_slice_update_min
);

/// `src` with a window replaced by `update`, the window starting on `axes` at the positions held
/// by the integer array `start` (other axes start at 0), as `mx.slice_update(a, update, start,
/// axes)` in Python. The window's size is `update`'s shape (leading axes `update` lacks have
/// size 1 on `axes` and full size elsewhere).
///
/// Negative starts count from the end; every start is then clamped so that the window fits.
///
/// ```
/// let a = mlx::ops::zeros(&[5], mlx::Dtype::Int32)?;
/// let out = mlx::ops::slice_update_dynamic(&a, &mlx::array![7, 8], &mlx::array![-2], &[0])?;
/// assert_eq!(out.to_vec::<i32>()?, vec![0, 0, 0, 7, 8]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn slice_update_dynamic(
    src: &Array,
    update: &Array,
    start: &Array,
    axes: &[i32],
) -> Result<Array> {
    if update.ndim() > src.ndim() {
        return invalid(format!(
            "[slice_update] The update has {} dimensions but the array only {}.",
            update.ndim(),
            src.ndim()
        ));
    }
    call(|r, s| unsafe {
        sys::mlxc_slice_update_dynamic(
            r,
            src.as_raw(),
            update.as_raw(),
            start.as_raw(),
            ints(axes),
            s,
        )
    })?;
    let dim_diff = src.ndim() - update.ndim();
    let mut sizes = Vec::with_capacity(axes.len());
    let mut windows = Vec::with_capacity(axes.len());
    for &axis in axes {
        let ax = normalize_axis(axis, src.ndim()).expect("axis checked by MLX");
        let n = dim_of(src, ax);
        sizes.push(n);
        windows.push(if ax < dim_diff {
            1
        } else {
            update.shape()[ax - dim_diff].min(n)
        });
    }
    let safe = clamp_start(start, &sizes, &windows)?;
    call(|r, s| unsafe {
        sys::mlxc_slice_update_dynamic(
            r,
            src.as_raw(),
            update.as_raw(),
            safe.as_raw(),
            ints(axes),
            s,
        )
    })
}

// ---- gather and scatter -------------------------------------------------------------------------

/// Windows of `a` at the positions given by `indices`, one index array per axis in `axes`, as
/// MLX's C++ `gather`.
///
/// The index arrays broadcast together to a shape `B`; `slice_sizes` (one entry per axis of `a`)
/// is the window taken at every position (axes not in `axes` start at 0). The result has shape
/// `B + slice_sizes`. Out-of-range starts are clamped so that each window fits.
///
/// ```
/// let a = mlx::array![[0, 1, 2], [3, 4, 5], [6, 7, 8]];
/// // Elements (2, 0) and (0, 1): windows of 1 × 1.
/// let g = mlx::ops::gather(&a, &[mlx::array![2, 0], mlx::array![0, 1]], &[0, 1], &[1, 1])?;
/// assert_eq!(g.shape(), &[2, 1, 1]);
/// assert_eq!(g.to_vec::<i32>()?, vec![6, 1]);
/// // Rows 1 and 2, first two columns.
/// let rows = mlx::ops::gather(&a, &[mlx::array![1, 2]], &[0], &[1, 2])?;
/// assert_eq!(rows.to_vec::<i32>()?, vec![3, 4, 6, 7]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn gather(a: &Array, indices: &[Array], axes: &[i32], slice_sizes: &[i32]) -> Result<Array> {
    let axes = normalize_axes(axes, a.ndim());
    let raws = handles(indices);
    let unchecked = call(|r, s| unsafe {
        sys::mlxc_gather(
            r,
            a.as_raw(),
            arrays(&raws),
            ints(&axes),
            ints(slice_sizes),
            s,
        )
    })?;
    drop(unchecked);
    let safe = indices
        .iter()
        .zip(&axes)
        .map(|(idx, &ax)| {
            let ax = ax as usize;
            clamp_indices(idx, dim_of(a, ax), slice_sizes[ax])
        })
        .collect::<Result<Vec<_>>>()?;
    let raws = handles(&safe);
    call(|r, s| unsafe {
        sys::mlxc_gather(
            r,
            a.as_raw(),
            arrays(&raws),
            ints(&axes),
            ints(slice_sizes),
            s,
        )
    })
}

/// How a scatter combines updates with the array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScatterMode {
    Put,
    Add,
    Prod,
    Max,
    Min,
}

impl ScatterMode {
    fn run(self, a: &Array, indices: &[Array], updates: &Array, axes: &[i32]) -> Result<Array> {
        let raws = handles(indices);
        let f = match self {
            ScatterMode::Put => sys::mlxc_scatter,
            ScatterMode::Add => sys::mlxc_scatter_add,
            ScatterMode::Prod => sys::mlxc_scatter_prod,
            ScatterMode::Max => sys::mlxc_scatter_max,
            ScatterMode::Min => sys::mlxc_scatter_min,
        };
        call(|r, s| unsafe {
            f(
                r,
                a.as_raw(),
                arrays(&raws),
                updates.as_raw(),
                ints(axes),
                s,
            )
        })
    }
}

/// A scatter whose index arrays are sanitized unless marked `trusted` (built in range).
pub(crate) fn scatter_checked(
    mode: ScatterMode,
    a: &Array,
    indices: &[Array],
    trusted: &[bool],
    updates: &Array,
    axes: &[i32],
) -> Result<Array> {
    if indices.iter().any(|i| i.dtype() == Dtype::Bool) {
        // MLX throws this message as a bare string, which would surface as an unknown exception.
        return Err(Error::Mlx(
            "[scatter] Boolean indices not supported.".into(),
        ));
    }
    let axes = normalize_axes(axes, a.ndim());
    let unchecked = mode.run(a, indices, updates, &axes)?;
    let idx_ndim = updates.ndim() - a.ndim();
    let mut safe = Vec::with_capacity(indices.len());
    let (mut pad_axes, mut pad_amounts) = (Vec::new(), Vec::new());
    for (k, (idx, &ax)) in indices.iter().zip(&axes).enumerate() {
        if trusted.get(k).copied().unwrap_or(false) {
            safe.push(idx.clone());
            continue;
        }
        let ax = ax as usize;
        let window = updates.shape()[idx_ndim + ax];
        safe.push(drop_indices(idx, dim_of(a, ax), window)?);
        pad_axes.push(ax as i32);
        pad_amounts.push(window);
    }
    if pad_axes.is_empty() {
        return Ok(unchecked);
    }
    let padded = pad_end(a, &pad_axes, &pad_amounts)?;
    let out = mode.run(&padded, &safe, updates, &axes)?;
    crop(&out, a.shape())
}

macro_rules! scatter_fn {
    ($(#[$doc:meta])* $name:ident, $mode:ident) => {
        $(#[$doc])*
        pub fn $name(a: &Array, indices: &[Array], updates: &Array, axes: &[i32]) -> Result<Array> {
            scatter_checked(ScatterMode::$mode, a, indices, &[], updates, axes)
        }
    };
}

scatter_fn!(
    /// `a` with windows replaced by `updates` at the positions given by `indices` (one index
    /// array per axis in `axes`), as MLX's C++ `scatter`. Functional: `a` is not modified.
    ///
    /// The index arrays broadcast together to a shape `B`; `updates` has shape
    /// `B + window`, where `window` has one entry per axis of `a` (windows start at the index on
    /// `axes` and at 0 on the other axes). Updates whose window does not fit are dropped; with
    /// repeated positions, which update lands is unspecified.
    ///
    /// ```
    /// let a = mlx::ops::zeros(&[3, 2], mlx::Dtype::Int32)?;
    /// // Rows 2 and 0 get [1, 2] and [3, 4]: updates of shape [2] + [1, 2].
    /// let upd = mlx::array![[[1, 2]], [[3, 4]]];
    /// let out = mlx::ops::scatter(&a, &[mlx::array![2, 0]], &upd, &[0])?;
    /// assert_eq!(out.to_vec::<i32>()?, vec![3, 4, 0, 0, 1, 2]);
    /// # Ok::<(), mlx::Error>(())
    /// ```
    scatter,
    Put
);
scatter_fn!(
    /// Like [`scatter`], adding the updates; repeated positions accumulate.
    ///
    /// ```
    /// let a = mlx::ops::zeros(&[3], mlx::Dtype::Float32)?;
    /// let upd = mlx::array![[1.0], [2.0], [4.0]];
    /// let out = mlx::ops::scatter_add(&a, &[mlx::array![0, 0, 2]], &upd, &[0])?;
    /// assert_eq!(out.to_vec::<f32>()?, vec![3.0, 0.0, 4.0]);
    /// # Ok::<(), mlx::Error>(())
    /// ```
    scatter_add,
    Add
);
scatter_fn!(
    /// Like [`scatter`], multiplying by the updates; repeated positions accumulate.
    scatter_prod,
    Prod
);
scatter_fn!(
    /// Like [`scatter`], keeping the maximum of the array and all updates at each position.
    scatter_max,
    Max
);
scatter_fn!(
    /// Like [`scatter`], keeping the minimum of the array and all updates at each position.
    scatter_min,
    Min
);

/// `a` with the positions where `mask` is true filled, in row-major order, from the elements of
/// `src`, as MLX's `masked_scatter` (what `a[mask] = src` does in Python).
///
/// `mask` is boolean with the shape of `a` or of its leading axes (then whole sub-arrays are
/// replaced). `src` supplies one row per true position (its first axis), and broadcasts if it has
/// fewer dimensions. If `src` has fewer rows than there are true positions, evaluating the
/// result fails (MLX checks it when it computes).
///
/// ```
/// let a = mlx::ops::zeros(&[4], mlx::Dtype::Float32)?;
/// let out = mlx::ops::masked_scatter(&a, &mlx::array![true, false, true, false], &mlx::array![5.0, 6.0])?;
/// assert_eq!(out.to_vec::<f32>()?, vec![5.0, 0.0, 6.0, 0.0]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn masked_scatter(a: &Array, mask: &Array, src: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_masked_scatter(r, a.as_raw(), mask.as_raw(), src.as_raw(), s) })
}

/// Reverses the order of the elements along `axes` (all axes when `None`; none for
/// `Some(&[])`).
///
/// ```
/// let a = mlx::array![[1, 2], [3, 4]];
/// assert_eq!(mlx::ops::flip(&a, Some(&[1]))?.to_vec::<i32>()?, vec![2, 1, 4, 3]);
/// assert_eq!(mlx::ops::flip(&a, None)?.to_vec::<i32>()?, vec![4, 3, 2, 1]);
/// assert_eq!(mlx::ops::flip(&a, Some(&[]))?.to_vec::<i32>()?, vec![1, 2, 3, 4]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn flip(a: &Array, axes: Option<&[i32]>) -> Result<Array> {
    match axes {
        None => call(|r, s| unsafe { sys::mlxc_flip_all(r, a.as_raw(), s) }),
        Some(axes) => call(|r, s| unsafe { sys::mlxc_flip(r, a.as_raw(), ints(axes), s) }),
    }
}
