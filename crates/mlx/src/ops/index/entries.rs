//! The vocabulary of NumPy-style indices: [`Idx`], [`NewAxis`], [`Ellipsis`], the
//! [`Indexer`] conversions and the [`idx!`](crate::idx!) macro. What they mean for a given
//! array is worked out in `indexing.rs`.

use std::ops::RangeBounds;
use std::ops::{Bound, Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

use crate::array::Array;

/// One entry of an index, like one item between the brackets of `a[...]` in Python.
///
/// Build entries with `From` (integers, ranges, arrays, [`NewAxis`], [`Ellipsis`]), with
/// [`Idx::step`] or [`Idx::slice`] for strided slices, or all at once with
/// [`idx!`](crate::idx!).
///
/// # Out-of-range indices
///
/// MLX itself does not check the values of index arrays: on MLX's own API an out-of-range index
/// reads or writes memory outside the array. The functions here never do. Without evaluating
/// anything, they route index arrays through a few extra graph nodes so that every access stays
/// inside the array, with the same rules as JAX:
///
/// - **reads** ([`take`](crate::ops::take), [`take_along_axis`](crate::ops::take_along_axis), [`gather`](crate::ops::gather), [`slice_dynamic`](crate::ops::slice_dynamic), [`Array::index`]):
///   an index in `[-n, n)` is used as is (negative values count from the end); any other index
///   is *clamped* to the nearest valid one (the first element for too-negative values, the last
///   for too-large ones). When the read takes a window of several elements (gather with slice
///   sizes above one, dynamic slices), the start is clamped so that the whole window fits.
/// - **writes** ([`scatter`](crate::ops::scatter) and its variants, [`put_along_axis`](crate::ops::put_along_axis), [`scatter_add_axis`](crate::ops::scatter_add_axis),
///   [`Array::index_put`] and friends): an update whose index is out of range, or whose window
///   would run past the end, is *dropped*.
/// - **dynamic slice updates** ([`slice_update_dynamic`](crate::ops::slice_update_dynamic)): the start is clamped like a read.
/// - **integer indices** given as plain `i32` ([`take_index`](crate::ops::take_index), integers in [`Array::index`]) are
///   checked at once: out of range is an `Err`.
///
/// Index arrays must have an integer dtype (MLX rejects floating-point indices and, except for
/// boolean masks in [`Array::index_put`], boolean ones).
#[derive(Debug, Clone)]
pub enum Idx {
    /// One position (negative counts from the end); the axis is removed. Out of range is an
    /// error.
    Int(i32),
    /// Python's `start:stop:step` (bounds `None` take the default for the step's direction,
    /// negative bounds count from the end, out-of-range bounds are clamped). A zero step is an
    /// error.
    Slice {
        /// First position (`None`: the start, or the end for a negative step).
        start: Option<i32>,
        /// Position where the slice stops, excluded (`None`: past the end in the step's
        /// direction).
        stop: Option<i32>,
        /// Distance between positions; negative runs backwards.
        step: i32,
    },
    /// Inserts an axis of size 1 (`None` / `np.newaxis` in Python).
    NewAxis,
    /// Stands for as many full slices as needed (`...` in Python); at most one per index.
    Ellipsis,
    /// An integer array of positions along one axis ("fancy" indexing; several broadcast
    /// together), or a boolean mask (only in [`Array::index_put`]).
    Array(Array),
}

/// Inserts an axis of size 1: `NewAxis.into()` is [`Idx::NewAxis`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NewAxis;

/// Full slices over all the axes not otherwise indexed: `Ellipsis.into()` is
/// [`Idx::Ellipsis`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ellipsis;

impl Idx {
    /// The slice `start:stop:step` with Python's semantics.
    ///
    /// ```
    /// use mlx::ops::Idx;
    /// let a = mlx::array![0, 1, 2, 3, 4, 5];
    /// // a[4:0:-2]
    /// assert_eq!(a.index(Idx::slice(4, 0, -2))?.to_vec::<i32>()?, vec![4, 2]);
    /// // a[:-3]
    /// assert_eq!(a.index(Idx::slice(None, -3, 1))?.to_vec::<i32>()?, vec![0, 1, 2]);
    /// # Ok::<(), mlx::Error>(())
    /// ```
    pub fn slice(start: impl Into<Option<i32>>, stop: impl Into<Option<i32>>, step: i32) -> Idx {
        Idx::Slice {
            start: start.into(),
            stop: stop.into(),
            step,
        }
    }

    /// A Rust range traversed with `step`: `Idx::step(1.., 2)` is Python's `1::2` and
    /// `Idx::step(.., -1)` is `::-1`.
    ///
    /// The range's bounds are the Python slice's `start` and `stop`, so with a negative step the
    /// start is the larger position: `Idx::step(3.., -1)` is `3::-1` (positions 3, 2, 1, 0) and
    /// `Idx::step(..=2, -1)` runs from the last position down to 2. An inclusive end is included
    /// in either direction.
    ///
    /// Clippy rejects range literals whose start exceeds their end (its deny-by-default
    /// `reversed_empty_ranges` lint), which covers Python slices such as `1:-1` or `4:1:-1`:
    /// write those with [`Idx::slice`] (`Idx::slice(1, -1, 1)`, `Idx::slice(4, 1, -1)`).
    ///
    /// ```
    /// use mlx::ops::Idx;
    /// let a = mlx::array![0, 1, 2, 3, 4, 5];
    /// assert_eq!(a.index(Idx::step(1.., 2))?.to_vec::<i32>()?, vec![1, 3, 5]);
    /// assert_eq!(a.index(Idx::step(.., -1))?.to_vec::<i32>()?, vec![5, 4, 3, 2, 1, 0]);
    /// assert_eq!(a.index(Idx::step(..=3, -1))?.to_vec::<i32>()?, vec![5, 4, 3]);
    /// assert_eq!(a.index(Idx::step(2.., -2))?.to_vec::<i32>()?, vec![2, 0]);
    /// # Ok::<(), mlx::Error>(())
    /// ```
    pub fn step(range: impl RangeBounds<i32>, step: i32) -> Idx {
        let start = match range.start_bound() {
            Bound::Included(&s) => Some(s),
            Bound::Excluded(&s) => {
                if step < 0 {
                    s.checked_sub(1)
                } else {
                    s.checked_add(1)
                }
            }
            Bound::Unbounded => None,
        };
        let stop = match range.end_bound() {
            Bound::Excluded(&e) => Some(e),
            // One past `e` in the step's direction; past the last (first) element is "no bound".
            Bound::Included(&e) => {
                if step < 0 {
                    if e == 0 { None } else { e.checked_sub(1) }
                } else if e == -1 {
                    None
                } else {
                    e.checked_add(1)
                }
            }
            Bound::Unbounded => None,
        };
        Idx::Slice { start, stop, step }
    }

    /// The full slice `:`.
    pub fn full() -> Idx {
        Idx::Slice {
            start: None,
            stop: None,
            step: 1,
        }
    }
}

impl From<i32> for Idx {
    fn from(i: i32) -> Idx {
        Idx::Int(i)
    }
}

macro_rules! idx_from_range {
    ($($t:ty),*) => {$(
        impl From<$t> for Idx {
            fn from(r: $t) -> Idx {
                Idx::step(r, 1)
            }
        }
    )*};
}
idx_from_range!(
    Range<i32>,
    RangeFrom<i32>,
    RangeTo<i32>,
    RangeFull,
    RangeInclusive<i32>,
    RangeToInclusive<i32>
);

impl From<Array> for Idx {
    fn from(a: Array) -> Idx {
        Idx::Array(a)
    }
}

impl From<&Array> for Idx {
    fn from(a: &Array) -> Idx {
        Idx::Array(a.clone())
    }
}

impl From<NewAxis> for Idx {
    fn from(_: NewAxis) -> Idx {
        Idx::NewAxis
    }
}

impl From<Ellipsis> for Idx {
    fn from(_: Ellipsis) -> Idx {
        Idx::Ellipsis
    }
}

/// Anything that can index an array: one entry (an `i32`, a range, an [`Array`], [`NewAxis`],
/// [`Ellipsis`], an [`Idx`]), a tuple of such entries (`(0, 1..3)`), or a list of [`Idx`]
/// (an array such as [`idx!`](crate::idx!) builds, a slice or a `Vec`).
pub trait Indexer {
    /// The entries of the index.
    fn into_entries(self) -> Vec<Idx>;
}

macro_rules! single_indexer {
    ($($t:ty),*) => {$(
        impl Indexer for $t {
            fn into_entries(self) -> Vec<Idx> {
                vec![Idx::from(self)]
            }
        }
    )*};
}
single_indexer!(
    i32,
    Range<i32>,
    RangeFrom<i32>,
    RangeTo<i32>,
    RangeFull,
    RangeInclusive<i32>,
    RangeToInclusive<i32>,
    Array,
    &Array,
    NewAxis,
    Ellipsis
);

impl Indexer for Idx {
    fn into_entries(self) -> Vec<Idx> {
        vec![self]
    }
}

impl<const N: usize> Indexer for [Idx; N] {
    fn into_entries(self) -> Vec<Idx> {
        self.into()
    }
}

impl Indexer for &[Idx] {
    fn into_entries(self) -> Vec<Idx> {
        self.to_vec()
    }
}

impl Indexer for Vec<Idx> {
    fn into_entries(self) -> Vec<Idx> {
        self
    }
}

impl Indexer for &Vec<Idx> {
    fn into_entries(self) -> Vec<Idx> {
        self.clone()
    }
}

macro_rules! tuple_indexer {
    ($($name:ident),+) => {
        impl<$($name: Into<Idx>),+> Indexer for ($($name,)+) {
            #[allow(non_snake_case)]
            fn into_entries(self) -> Vec<Idx> {
                let ($($name,)+) = self;
                vec![$($name.into()),+]
            }
        }
    };
}
tuple_indexer!(A);
tuple_indexer!(A, B);
tuple_indexer!(A, B, C);
tuple_indexer!(A, B, C, D);
tuple_indexer!(A, B, C, D, E);
tuple_indexer!(A, B, C, D, E, F);
tuple_indexer!(A, B, C, D, E, F, G);
tuple_indexer!(A, B, C, D, E, F, G, H);

/// An index for [`Array::index`] and [`Array::index_put`], written like Python's `a[...]`:
/// comma-separated entries, each anything that converts into [`Idx`] (integers, ranges,
/// arrays, [`NewAxis`], [`Ellipsis`]), and `range ; step` for a strided slice (Python's
/// `start:stop:step`, see [`Idx::step`]).
///
/// | Python            | Rust                          |
/// |-------------------|-------------------------------|
/// | `a[1, -1]`        | `a.index(idx![1, -1])`        |
/// | `a[1:3, :]`       | `a.index(idx![1..3, ..])`     |
/// | `a[::2, 4:]`      | `a.index(idx![..;2, 4..])`    |
/// | `a[::-1]`         | `a.index(idx![..;-1])`        |
/// | `a[:, :3]`        | `a.index(idx![.., ..=2])`     |
/// | `a[None, ..., 0]` | `a.index(idx![NewAxis, Ellipsis, 0])` |
/// | `a[idx, 0]`       | `a.index(idx![&idx, 0])`      |
/// | `a[1:-1, 5:1:-2]` | `a.index(idx![Idx::slice(1, -1, 1), Idx::slice(5, 1, -2)])` |
///
/// Ranges whose start exceeds their end, such as `1..-1`, are valid slices but clippy rejects
/// them (its deny-by-default `reversed_empty_ranges` lint); [`Idx::slice`] expresses every
/// Python slice without that problem.
///
/// ```
/// use mlx::idx;
/// use mlx::ops::{Ellipsis, NewAxis};
/// let a = mlx::ops::arange(0.0, 12.0, 1.0, mlx::Dtype::Int32)?.reshape(&[3, 4])?;
/// assert_eq!(a.index(idx![1, -1])?.item::<i32>()?, 7);
/// assert_eq!(a.index(idx![..;2, 2..])?.to_vec::<i32>()?, vec![2, 3, 10, 11]);
/// assert_eq!(a.index(idx![NewAxis, Ellipsis, 0])?.shape(), &[1, 3]);
/// let rows = mlx::array![2, 0];
/// assert_eq!(a.index(idx![&rows, ..;-3])?.to_vec::<i32>()?, vec![11, 8, 3, 0]);
/// # Ok::<(), mlx::Error>(())
/// ```
#[macro_export]
macro_rules! idx {
    (@acc [$($out:expr),*]) => { [$($out),*] };
    (@acc [$($out:expr),*] $e:expr ; $s:expr) => {
        $crate::idx!(@acc [$($out,)* $crate::ops::Idx::step($e, $s)])
    };
    (@acc [$($out:expr),*] $e:expr ; $s:expr , $($rest:tt)*) => {
        $crate::idx!(@acc [$($out,)* $crate::ops::Idx::step($e, $s)] $($rest)*)
    };
    (@acc [$($out:expr),*] $e:expr) => {
        $crate::idx!(@acc [$($out,)* $crate::ops::Idx::from($e)])
    };
    (@acc [$($out:expr),*] $e:expr , $($rest:tt)*) => {
        $crate::idx!(@acc [$($out,)* $crate::ops::Idx::from($e)] $($rest)*)
    };
    ($($body:tt)*) => { $crate::idx!(@acc [] $($body)*) };
}
