//! Sorting, partitioning, top-k, binary search and unique values.
//!
//! Ops take `axis: Option<i32>`: negative axes count from the end, `None` works on the
//! flattened array. Sorts are stable and put NaNs last.

use std::ffi::CStr;

use mlx_sys as sys;

use super::{call, call_vec};
use crate::array::Array;
use crate::error::{Result, invalid};

/// A sorted copy of `a` along `axis` (`None`: the flattened array).
pub fn sort(a: &Array, axis: Option<i32>) -> Result<Array> {
    match axis {
        Some(axis) => call(|r, s| unsafe { sys::mlxc_sort(r, a.as_raw(), axis, s) }),
        None => call(|r, s| unsafe { sys::mlxc_sort_all(r, a.as_raw(), s) }),
    }
}

/// The indices (uint32) that sort `a` along `axis` (`None`: the flattened array).
pub fn argsort(a: &Array, axis: Option<i32>) -> Result<Array> {
    match axis {
        Some(axis) => call(|r, s| unsafe { sys::mlxc_argsort(r, a.as_raw(), axis, s) }),
        None => call(|r, s| unsafe { sys::mlxc_argsort_all(r, a.as_raw(), s) }),
    }
}

/// A copy of `a` rearranged along `axis` (`None`: the flattened array) so that the element at
/// position `kth` is the one a sort would put there, smaller or equal ones come before it and
/// larger or equal ones after (in no particular order). Negative `kth` counts from the end.
pub fn partition(a: &Array, kth: i32, axis: Option<i32>) -> Result<Array> {
    match axis {
        Some(axis) => call(|r, s| unsafe { sys::mlxc_partition(r, a.as_raw(), kth, axis, s) }),
        None => call(|r, s| unsafe { sys::mlxc_partition_all(r, a.as_raw(), kth, s) }),
    }
}

/// The indices (uint32) that [`partition`] `a` around `kth` along `axis` (`None`: the
/// flattened array).
pub fn argpartition(a: &Array, kth: i32, axis: Option<i32>) -> Result<Array> {
    match axis {
        Some(axis) => call(|r, s| unsafe { sys::mlxc_argpartition(r, a.as_raw(), kth, axis, s) }),
        None => call(|r, s| unsafe { sys::mlxc_argpartition_all(r, a.as_raw(), kth, s) }),
    }
}

/// The `k` largest elements along `axis` (`None`: of the flattened array), in no particular
/// order.
pub fn topk(a: &Array, k: i32, axis: Option<i32>) -> Result<Array> {
    match axis {
        Some(axis) => call(|r, s| unsafe { sys::mlxc_topk(r, a.as_raw(), k, axis, s) }),
        None => call(|r, s| unsafe { sys::mlxc_topk_all(r, a.as_raw(), k, s) }),
    }
}

/// Which insertion point [`searchsorted`] returns among equal values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Side {
    /// The first suitable position (`sorted[i - 1] < v <= sorted[i]`).
    #[default]
    Left,
    /// The last suitable position (`sorted[i - 1] <= v < sorted[i]`).
    Right,
}

impl Side {
    fn c_name(self) -> &'static CStr {
        match self {
            Side::Left => c"left",
            Side::Right => c"right",
        }
    }
}

/// For each of `values`, the index (uint32) at which inserting it into the 1-d ascending
/// `sorted_sequence` keeps it sorted.
pub fn searchsorted(sorted_sequence: &Array, values: &Array, side: Side) -> Result<Array> {
    let side = side.c_name();
    call(|r, s| unsafe {
        sys::mlxc_searchsorted(
            r,
            sorted_sequence.as_raw(),
            values.as_raw(),
            side.as_ptr(),
            s,
        )
    })
}

/// Options of [`unique`]: which extra results to compute, and the padding value.
#[derive(Debug, Clone, Default)]
pub struct UniqueOptions {
    /// Also return, for each unique value, the flat index of its first occurrence.
    pub return_index: bool,
    /// Also return, for each element of the input, the index of its value in the result.
    pub return_inverse: bool,
    /// Also return how many times each unique value occurs.
    pub return_counts: bool,
    /// The value of entries past the last unique element (default: the smallest value).
    pub fill_value: Option<Array>,
}

impl UniqueOptions {
    /// No extra results, default padding.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`UniqueOptions::return_index`].
    pub fn with_index(mut self, yes: bool) -> Self {
        self.return_index = yes;
        self
    }

    /// Sets [`UniqueOptions::return_inverse`].
    pub fn with_inverse(mut self, yes: bool) -> Self {
        self.return_inverse = yes;
        self
    }

    /// Sets [`UniqueOptions::return_counts`].
    pub fn with_counts(mut self, yes: bool) -> Self {
        self.return_counts = yes;
        self
    }

    /// Sets [`UniqueOptions::fill_value`].
    pub fn with_fill_value(mut self, value: Array) -> Self {
        self.fill_value = Some(value);
        self
    }
}

/// The results of [`unique`]; the optional parts are present when requested.
#[derive(Debug, Clone)]
pub struct Unique {
    /// The sorted unique values, padded or truncated to the requested size.
    pub values: Array,
    /// Flat index (uint32) in the input of each value's first occurrence.
    pub index: Option<Array>,
    /// For each input element (same shape as the input), the index (uint32) of its value.
    pub inverse: Option<Array>,
    /// Occurrences (int32) of each value; 0 for padding.
    pub counts: Option<Array>,
}

/// The sorted unique elements of the flattened `a`, as exactly `size` entries: truncated to the
/// `size` smallest when there are more, padded with `options.fill_value` when fewer. The size
/// is given because MLX never makes shapes depend on values (`a` is not evaluated).
pub fn unique(a: &Array, size: i32, options: &UniqueOptions) -> Result<Unique> {
    let fill = options
        .fill_value
        .as_ref()
        .map_or(std::ptr::null_mut(), Array::as_raw);
    let (ri, rv, rc) = (
        options.return_index,
        options.return_inverse,
        options.return_counts,
    );
    let out =
        call_vec(|r, s| unsafe { sys::mlxc_unique(r, a.as_raw(), size, ri, rv, rc, fill, s) })?;
    let mut it = out.into_iter();
    let Some(values) = it.next() else {
        return invalid("[unique] no result");
    };
    let index = if ri { it.next() } else { None };
    let inverse = if rv { it.next() } else { None };
    let counts = if rc { it.next() } else { None };
    Ok(Unique {
        values,
        index,
        inverse,
        counts,
    })
}
