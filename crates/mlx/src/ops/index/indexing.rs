//! NumPy-style indexing: [`Array::index`] for reading and [`Array::index_put`] (and the
//! accumulating variants) for functional updates, from the entries of `entries.rs`.

use super::entries::{Idx, Indexer};
use super::{ScatterMode, broadcast_to, clamp_indices, masked_scatter, raw_slice, scatter_checked};
use crate::array::{Array, ints};
use crate::dtype::Dtype;
use crate::error::{Result, invalid};
use crate::ops::call;
use mlx_sys as sys;

// ---- planning -----------------------------------------------------------------------------------

/// One entry of an index, resolved against the array's shape.
#[derive(Clone)]
enum Item {
    NewAxis,
    /// A position on `axis`, normalized to `[0, n)`.
    Int {
        axis: usize,
        index: i32,
    },
    /// A normalized slice on `axis` of `len` elements, `start` being the first.
    Slice {
        axis: usize,
        start: i64,
        step: i64,
        len: i64,
    },
    /// An integer index array on `axis`.
    Array {
        axis: usize,
        array: Array,
    },
    /// A boolean mask over `axis .. axis + mask.ndim()`.
    Mask {
        axis: usize,
        mask: Array,
    },
}

impl Item {
    fn is_advanced(&self) -> bool {
        matches!(self, Item::Int { .. } | Item::Array { .. })
    }

    /// Whether this is a slice that keeps all of its axis in order.
    fn is_full(&self, shape: &[i32]) -> bool {
        match self {
            Item::Slice {
                axis,
                start,
                step,
                len,
            } => *start == 0 && *step == 1 && *len == i64::from(shape[*axis]),
            _ => false,
        }
    }

    /// MLX static-slice parameters (start, stop, stride) selecting this item's positions on its
    /// axis (a single position for integers, the whole axis for arrays).
    fn slice_params(&self, n: i32) -> (i32, i32, i32) {
        match self {
            Item::Int { index, .. } => (*index, *index + 1, 1),
            Item::Slice {
                start, step, len, ..
            } => {
                if *len == 0 {
                    return (0, 0, 1);
                }
                if *len == 1 {
                    return (*start as i32, *start as i32 + 1, 1);
                }
                let stop = start + step * len;
                // MLX reads a negative stop from the end; before-the-first is any stop < -n.
                let stop = if stop < 0 {
                    i32::MIN
                } else {
                    stop.min(i64::from(i32::MAX)) as i32
                };
                (*start as i32, stop, *step as i32)
            }
            _ => (0, n, 1),
        }
    }
}

/// Python's `slice.indices(n)`: (first position, step, number of elements).
fn resolve_slice(start: Option<i32>, stop: Option<i32>, step: i32, n: i32) -> (i64, i64, i64) {
    let (n, step) = (i64::from(n), i64::from(step));
    let (lower, upper) = if step > 0 { (0, n) } else { (-1, n - 1) };
    let clamp = |v: i64| {
        if v < 0 {
            (v + n).max(lower)
        } else {
            v.min(upper)
        }
    };
    let start = start.map_or(if step > 0 { lower } else { upper }, |s| clamp(s.into()));
    let stop = stop.map_or(if step > 0 { upper } else { lower }, |s| clamp(s.into()));
    let len = if step > 0 {
        if stop > start {
            (stop - start + step - 1) / step
        } else {
            0
        }
    } else if start > stop {
        (start - stop - step - 1) / -step
    } else {
        0
    };
    (start, step, len)
}

/// Resolves an index against `shape`: ellipsis expanded, missing trailing axes filled with full
/// slices, integers checked.
fn plan(shape: &[i32], entries: Vec<Idx>, what: &str) -> Result<Vec<Item>> {
    let ndim = shape.len();
    let mut consumed = 0usize;
    let mut ellipses = 0;
    for e in &entries {
        match e {
            Idx::Int(_) | Idx::Slice { .. } => consumed += 1,
            Idx::Array(a) if a.dtype() == Dtype::Bool => consumed += a.ndim(),
            Idx::Array(_) => consumed += 1,
            Idx::Ellipsis => ellipses += 1,
            Idx::NewAxis => {}
        }
    }
    if ellipses > 1 {
        return invalid(format!(
            "[{what}] An index can only have a single ellipsis."
        ));
    }
    if consumed > ndim {
        return invalid(format!(
            "[{what}] Too many indices for an array with {ndim} dimensions: {consumed} were given."
        ));
    }
    let full = |axis: usize| Item::Slice {
        axis,
        start: 0,
        step: 1,
        len: i64::from(shape[axis]),
    };
    let mut items = Vec::with_capacity(entries.len() + ndim);
    let mut axis = 0usize;
    for e in entries {
        match e {
            Idx::NewAxis => items.push(Item::NewAxis),
            Idx::Ellipsis => {
                for _ in 0..ndim - consumed {
                    items.push(full(axis));
                    axis += 1;
                }
            }
            Idx::Int(i) => {
                let n = shape[axis];
                let j = if i < 0 {
                    i64::from(i) + i64::from(n)
                } else {
                    i64::from(i)
                };
                if !(0..i64::from(n)).contains(&j) {
                    return invalid(format!(
                        "[{what}] Index {i} is out of bounds for axis {axis} with size {n}."
                    ));
                }
                items.push(Item::Int {
                    axis,
                    index: j as i32,
                });
                axis += 1;
            }
            Idx::Slice { start, stop, step } => {
                if step == 0 {
                    return invalid(format!("[{what}] Slice step cannot be zero."));
                }
                let (start, step, len) = resolve_slice(start, stop, step, shape[axis]);
                items.push(Item::Slice {
                    axis,
                    start,
                    step,
                    len,
                });
                axis += 1;
            }
            Idx::Array(array) if array.dtype() == Dtype::Bool => {
                let k = array.ndim();
                if k == 0 {
                    return invalid(format!(
                        "[{what}] A boolean mask index needs at least one dimension."
                    ));
                }
                items.push(Item::Mask { axis, mask: array });
                axis += k;
            }
            Idx::Array(array) => {
                items.push(Item::Array { axis, array });
                axis += 1;
            }
        }
    }
    while axis < ndim {
        items.push(full(axis));
        axis += 1;
    }
    Ok(items)
}

/// NumPy's broadcast of several shapes.
fn broadcast_shapes<'a>(shapes: impl Iterator<Item = &'a [i32]>, what: &str) -> Result<Vec<i32>> {
    let mut out: Vec<i32> = Vec::new();
    for s in shapes {
        if s.len() > out.len() {
            let mut grown = vec![1; s.len() - out.len()];
            grown.extend_from_slice(&out);
            out = grown;
        }
        let off = out.len() - s.len();
        for (i, &d) in s.iter().enumerate() {
            let o = &mut out[off + i];
            if *o == 1 {
                *o = d;
            } else if d != 1 && d != *o {
                return invalid(format!(
                    "[{what}] The index arrays cannot be broadcast together: got a shape {s:?} \
                     against {out:?}."
                ));
            }
        }
    }
    Ok(out)
}

/// Whether the advanced entries (integers and arrays) are all next to each other, in which case
/// NumPy puts their broadcast dimensions where they stand rather than first.
fn advanced_adjacent(items: &[Item]) -> bool {
    let pos: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, it)| it.is_advanced())
        .map(|(i, _)| i)
        .collect();
    pos.windows(2).all(|w| w[1] == w[0] + 1)
}

/// The output dimension each non-advanced entry contributes (`NewAxis` 1, slices their length).
fn basic_dim(item: &Item) -> Option<i32> {
    match item {
        Item::NewAxis => Some(1),
        Item::Slice { len, .. } => Some(*len as i32),
        _ => None,
    }
}

/// One static slice applying every integer and slice entry (array entries keep their axis).
fn basic_slice(a: &Array, items: &[Item]) -> Result<Array> {
    let shape = a.shape();
    let ndim = shape.len();
    let (mut start, mut stop, mut strides) = (vec![0; ndim], shape.to_vec(), vec![1; ndim]);
    for it in items {
        let axis = match it {
            Item::Int { axis, .. }
            | Item::Slice { axis, .. }
            | Item::Array { axis, .. }
            | Item::Mask { axis, .. } => *axis,
            Item::NewAxis => continue,
        };
        let (s, e, st) = it.slice_params(shape[axis]);
        start[axis] = s;
        stop[axis] = e;
        strides[axis] = st;
    }
    raw_slice(a, &start, &stop, &strides)
}

/// The shape of `a[items]` when no entry is advanced.
fn basic_shape(items: &[Item]) -> Vec<i32> {
    items.iter().filter_map(basic_dim).collect()
}

fn index_read(a: &Array, entries: Vec<Idx>) -> Result<Array> {
    let items = plan(a.shape(), entries, "index")?;
    if items.iter().any(|it| matches!(it, Item::Mask { .. })) {
        return invalid(
            "[index] Boolean mask indices cannot be read (the result's shape would depend on the \
             data); use index_put to write through a mask, or where.",
        );
    }
    let sliced = basic_slice(a, &items)?;
    let arrays: Vec<(usize, &Array)> = items
        .iter()
        .filter_map(|it| match it {
            Item::Array { axis, array } => Some((*axis, array)),
            _ => None,
        })
        .collect();
    if arrays.is_empty() {
        return sliced.reshape(&basic_shape(&items));
    }
    // Gather the advanced axes of the sliced array (integer axes already have size 1).
    let sshape = sliced.shape().to_vec();
    let mut slice_sizes = sshape.clone();
    let mut indices = Vec::with_capacity(arrays.len());
    let mut axes = Vec::with_capacity(arrays.len());
    for &(axis, array) in &arrays {
        slice_sizes[axis] = 1;
        indices.push(clamp_indices(array, sshape[axis], 1)?);
        axes.push(axis as i32);
    }
    let raws: Vec<_> = indices.iter().map(Array::as_raw).collect();
    let gathered = call(|r, s| unsafe {
        sys::mlxc_gather(
            r,
            sliced.as_raw(),
            sys::mlxc_arrays {
                data: raws.as_ptr(),
                len: raws.len(),
            },
            ints(&axes),
            ints(&slice_sizes),
            s,
        )
    })?;
    let nb = gathered.ndim() - sshape.len();
    let mut shape: Vec<i32> = gathered.shape()[..nb].to_vec();
    let rest = basic_shape(&items);
    shape.extend_from_slice(&rest);
    let out = gathered.reshape(&shape)?;
    if !advanced_adjacent(&items) {
        return Ok(out);
    }
    let first = items.iter().position(Item::is_advanced).unwrap_or(0);
    let p = items[..first].iter().filter_map(basic_dim).count();
    if p == 0 {
        return Ok(out);
    }
    let (nb, nr) = (nb as i32, rest.len() as i32);
    let p = p as i32;
    let perm: Vec<i32> = (nb..nb + p).chain(0..nb).chain(nb + p..nb + nr).collect();
    out.transpose(Some(&perm))
}

/// Aligns `value`'s shape with `target` (NumPy broadcasting: leading size-1 axes may be dropped,
/// missing leading axes are 1) and checks that it broadcasts.
fn align_value(value: &Array, target: &[i32], what: &str) -> Result<Vec<i32>> {
    let vs = value.shape();
    let fail = || {
        invalid(format!(
            "[{what}] Cannot broadcast a value of shape {vs:?} to the indexed shape {target:?}."
        ))
    };
    let aligned: Vec<i32> = if vs.len() > target.len() {
        let extra = vs.len() - target.len();
        if vs[..extra].iter().any(|&d| d != 1) {
            return fail();
        }
        vs[extra..].to_vec()
    } else {
        let mut v = vec![1; target.len() - vs.len()];
        v.extend_from_slice(vs);
        v
    };
    if aligned.iter().zip(target).any(|(&v, &t)| v != t && v != 1) {
        return fail();
    }
    Ok(aligned)
}

fn mode_name(mode: ScatterMode) -> &'static str {
    match mode {
        ScatterMode::Put => "index_put",
        ScatterMode::Add => "index_add",
        ScatterMode::Prod => "index_prod",
        ScatterMode::Max => "index_max",
        ScatterMode::Min => "index_min",
    }
}

fn index_write(a: &Array, entries: Vec<Idx>, value: &Array, mode: ScatterMode) -> Result<Array> {
    let what = mode_name(mode);
    let items = plan(a.shape(), entries, what)?;
    let shape = a.shape().to_vec();

    // Boolean mask: `a[mask] = value`.
    if let Some(pos) = items.iter().position(|it| matches!(it, Item::Mask { .. })) {
        let Item::Mask { axis, mask } = &items[pos] else {
            unreachable!()
        };
        let only_full_rest = items
            .iter()
            .enumerate()
            .all(|(i, it)| i == pos || it.is_full(&shape));
        if mode != ScatterMode::Put || *axis != 0 || !only_full_rest {
            return invalid(format!(
                "[{what}] A boolean mask is supported only as the first entry of index_put, \
                 followed by nothing but full slices."
            ));
        }
        return masked_scatter(a, mask, value);
    }

    let target = basic_or_advanced_shape(&items)?;
    let has_arrays = items.iter().any(|it| matches!(it, Item::Array { .. }));
    if !has_arrays {
        // One static slice update; the value takes the slice's shape (size-1 axes for integers).
        let aligned = align_value(value, &target.shape, what)?;
        let mut vshape = Vec::with_capacity(shape.len());
        let mut k = 0;
        for it in &items {
            match it {
                Item::NewAxis => k += 1,
                Item::Int { .. } => vshape.push(1),
                _ => {
                    vshape.push(aligned[k]);
                    k += 1;
                }
            }
        }
        let v = value.reshape(&vshape)?;
        let mut start = vec![0; shape.len()];
        let mut stop = shape.clone();
        let mut strides = vec![1; shape.len()];
        for it in &items {
            if let Item::Int { axis, .. } | Item::Slice { axis, .. } = it {
                let (s, e, st) = it.slice_params(shape[*axis]);
                start[*axis] = s;
                stop[*axis] = e;
                strides[*axis] = st;
            }
        }
        let f = match mode {
            ScatterMode::Put => sys::mlxc_slice_update,
            ScatterMode::Add => sys::mlxc_slice_update_add,
            ScatterMode::Prod => sys::mlxc_slice_update_prod,
            ScatterMode::Max => sys::mlxc_slice_update_max,
            ScatterMode::Min => sys::mlxc_slice_update_min,
        };
        return call(|r, s| unsafe {
            f(
                r,
                a.as_raw(),
                v.as_raw(),
                ints(&start),
                ints(&stop),
                ints(&strides),
                s,
            )
        });
    }

    // Scatter. Trailing full slices become update windows; every other consuming entry becomes
    // an index array laid out on the grid of the indexed shape.
    let tail_from = items
        .iter()
        .rposition(|it| !matches!(it, Item::NewAxis) && !it.is_full(&shape))
        .map_or(0, |i| i + 1);
    let grid_items = &items[..tail_from];
    let tail_axes: Vec<usize> = items[tail_from..]
        .iter()
        .filter_map(|it| match it {
            Item::Slice { axis, .. } => Some(*axis),
            _ => None,
        })
        .collect();

    // Positions on the grid: the broadcast dimensions of the arrays, then or among the slices.
    let nb = target.broadcast.len();
    let mut grid: Vec<i32> = Vec::new();
    let mut b0 = 0usize;
    let mut slice_pos: Vec<Option<usize>> = vec![None; grid_items.len()];
    let place_b_first = !target.adjacent;
    if place_b_first {
        grid.extend_from_slice(&target.broadcast);
    }
    let first_adv = grid_items.iter().position(Item::is_advanced);
    for (i, it) in grid_items.iter().enumerate() {
        if !place_b_first && Some(i) == first_adv {
            b0 = grid.len();
            grid.extend_from_slice(&target.broadcast);
        }
        if let Item::Slice { len, .. } = it {
            slice_pos[i] = Some(grid.len());
            grid.push(*len as i32);
        }
    }
    let rank = grid.len();
    let mut indices = Vec::new();
    let mut trusted = Vec::new();
    let mut axes = Vec::new();
    for (i, it) in grid_items.iter().enumerate() {
        match it {
            Item::NewAxis | Item::Mask { .. } => {}
            Item::Int { axis, index } => {
                indices.push(Array::scalar(*index));
                trusted.push(true);
                axes.push(*axis as i32);
            }
            Item::Slice {
                axis,
                start,
                step,
                len,
            } => {
                let positions = crate::ops::arange(
                    *start as f64,
                    (start + step * len) as f64,
                    *step as f64,
                    Dtype::Int32,
                )?;
                let mut s = vec![1; rank];
                s[slice_pos[i].expect("slice placed on the grid")] = *len as i32;
                indices.push(positions.reshape(&s)?);
                trusted.push(true);
                axes.push(*axis as i32);
            }
            Item::Array { axis, array } => {
                let mut s = vec![1; rank];
                let ashape = array.shape();
                let off = b0 + nb - ashape.len();
                s[off..off + ashape.len()].copy_from_slice(ashape);
                indices.push(array.reshape(&s)?);
                trusted.push(false);
                axes.push(*axis as i32);
            }
        }
    }
    // The value, broadcast to the indexed shape, becomes updates of shape grid + window.
    let aligned = align_value(value, &target.shape, what)?;
    let mut vshape: Vec<i32> = Vec::with_capacity(rank + shape.len());
    vshape.extend(
        target
            .kinds
            .iter()
            .zip(&aligned)
            .filter(|(kind, _)| !kind.is_new_axis)
            .map(|(_, &d)| d),
    );
    // `vshape` now lists grid dims then tail dims (in order); insert 1s for the grid axes'
    // windows between them.
    let grid_axes = shape.len() - tail_axes.len();
    let tail_dims: Vec<i32> = vshape.split_off(rank);
    vshape.extend(std::iter::repeat_n(1, grid_axes));
    vshape.extend_from_slice(&tail_dims);
    let mut ushape = grid.clone();
    ushape.extend(std::iter::repeat_n(1, grid_axes));
    ushape.extend(tail_axes.iter().map(|&ax| shape[ax]));
    let updates = broadcast_to(&value.reshape(&vshape)?, &ushape)?;
    scatter_checked(mode, a, &indices, &trusted, &updates, &axes)
}

/// What one dimension of the indexed shape comes from.
struct TargetDim {
    is_new_axis: bool,
}

/// The shape of `a[items]` with NumPy's placement of advanced dimensions.
struct Target {
    shape: Vec<i32>,
    /// Per dimension of `shape`.
    kinds: Vec<TargetDim>,
    /// Broadcast shape of the advanced entries (empty when there are none).
    broadcast: Vec<i32>,
    adjacent: bool,
}

fn basic_or_advanced_shape(items: &[Item]) -> Result<Target> {
    let advanced: Vec<&[i32]> = items
        .iter()
        .filter_map(|it| match it {
            Item::Array { array, .. } => Some(array.shape()),
            Item::Int { .. } => Some(&[][..]),
            _ => None,
        })
        .collect();
    let has_arrays = items.iter().any(|it| matches!(it, Item::Array { .. }));
    let basic = |it: &Item| {
        basic_dim(it).map(|d| {
            (
                d,
                TargetDim {
                    is_new_axis: matches!(it, Item::NewAxis),
                },
            )
        })
    };
    if !has_arrays {
        let (shape, kinds) = items.iter().filter_map(basic).unzip();
        return Ok(Target {
            shape,
            kinds,
            broadcast: Vec::new(),
            adjacent: true,
        });
    }
    let broadcast = broadcast_shapes(advanced.into_iter(), "index")?;
    let adjacent = advanced_adjacent(items);
    let first = items.iter().position(Item::is_advanced).unwrap_or(0);
    let bdims = || {
        broadcast
            .iter()
            .map(|&d| (d, TargetDim { is_new_axis: false }))
            .collect::<Vec<_>>()
    };
    let mut dims: Vec<(i32, TargetDim)> = Vec::new();
    if !adjacent {
        dims.extend(bdims());
    }
    for (i, it) in items.iter().enumerate() {
        if adjacent && i == first {
            dims.extend(bdims());
        }
        if let Some(d) = basic(it) {
            dims.push(d);
        }
    }
    let (shape, kinds) = dims.into_iter().unzip();
    Ok(Target {
        shape,
        kinds,
        broadcast,
        adjacent,
    })
}

impl Array {
    /// `self[index]` with NumPy's rules (see [`idx!`](crate::idx!) for writing indices).
    ///
    /// Integers pick one position and remove the axis (out of range is an `Err`); ranges and
    /// [`Idx::step`] slice (bounds are clamped, as in Python); [`NewAxis`](super::NewAxis)
    /// inserts an axis; [`Ellipsis`](super::Ellipsis) fills in full slices; integer arrays pick
    /// positions along their axis and broadcast together ("advanced" indexing, with NumPy's
    /// placement of the broadcast dimensions: where the advanced entries stand if they are
    /// adjacent, first otherwise).
    /// Indices inside integer arrays that are out of range are clamped (see
    /// [out-of-range indices](Idx#out-of-range-indices)). Boolean masks cannot be
    /// read (the shape would depend on the data). Only slices and integers give views; array
    /// entries gather.
    ///
    /// ```
    /// use mlx::idx;
    /// let a = mlx::ops::arange(0.0, 24.0, 1.0, mlx::Dtype::Int32)?.reshape(&[2, 3, 4])?;
    /// assert_eq!(a.index(1)?.shape(), &[3, 4]);
    /// assert_eq!(a.index((0, 1..))?.to_vec::<i32>()?, vec![4, 5, 6, 7, 8, 9, 10, 11]);
    /// assert_eq!(a.index(idx![-1, -1, ..;-2])?.to_vec::<i32>()?, vec![23, 21]);
    /// // Advanced: one element per (row, column) pair.
    /// let r = a.index(idx![0, &mlx::array![2, 0], &mlx::array![1, 3]])?;
    /// assert_eq!(r.to_vec::<i32>()?, vec![9, 3]);
    /// # Ok::<(), mlx::Error>(())
    /// ```
    pub fn index(&self, index: impl Indexer) -> Result<Array> {
        index_read(self, index.into_entries())
    }

    /// A copy of `self` with `self[index]` replaced by `value` (Python's `a[index] = value`, done
    /// functionally like `a.at[index].set(value)` in JAX): `self` is not modified.
    ///
    /// `value` broadcasts to the shape of `self[index]` and is converted to `self`'s dtype. Index
    /// entries are as in [`Array::index`]; in addition, a boolean mask with the shape of
    /// `self` (or of its leading axes) as the only entry fills the true positions, in order, from
    /// `value` (see [`masked_scatter`]). Updates through integer arrays that are out of range are
    /// dropped; when the same position is written several times, which value lands is
    /// unspecified.
    ///
    /// ```
    /// use mlx::idx;
    /// let a = mlx::ops::zeros(&[3, 4], mlx::Dtype::Int32)?;
    /// let b = a.index_put(idx![1, ..;2], &mlx::array![5, 6])?;
    /// assert_eq!(b.to_vec::<i32>()?, vec![0, 0, 0, 0, 5, 0, 6, 0, 0, 0, 0, 0]);
    /// let c = a.index_put(idx![&mlx::array![0, 2], -1], &mlx::array![7])?;
    /// assert_eq!(c.index(idx![.., 3])?.to_vec::<i32>()?, vec![7, 0, 7]);
    /// # Ok::<(), mlx::Error>(())
    /// ```
    pub fn index_put(&self, index: impl Indexer, value: &Array) -> Result<Array> {
        index_write(self, index.into_entries(), value, ScatterMode::Put)
    }

    /// A copy of `self` with `value` added to `self[index]` (`a.at[index].add(value)` in MLX's
    /// Python API). Positions repeated in integer-array entries accumulate every update.
    ///
    /// ```
    /// use mlx::idx;
    /// let a = mlx::ops::zeros(&[3], mlx::Dtype::Float32)?;
    /// let b = a.index_add(idx![&mlx::array![0, 0, 2]], &mlx::array![1.0, 2.0, 3.0])?;
    /// assert_eq!(b.to_vec::<f32>()?, vec![3.0, 0.0, 3.0]);
    /// # Ok::<(), mlx::Error>(())
    /// ```
    pub fn index_add(&self, index: impl Indexer, value: &Array) -> Result<Array> {
        index_write(self, index.into_entries(), value, ScatterMode::Add)
    }

    /// A copy of `self` with `self[index]` multiplied by `value` (`a.at[index].multiply(value)`);
    /// repeated positions multiply every update.
    pub fn index_prod(&self, index: impl Indexer, value: &Array) -> Result<Array> {
        index_write(self, index.into_entries(), value, ScatterMode::Prod)
    }

    /// A copy of `self` with `self[index]` replaced by its maximum with `value`
    /// (`a.at[index].maximum(value)`).
    pub fn index_max(&self, index: impl Indexer, value: &Array) -> Result<Array> {
        index_write(self, index.into_entries(), value, ScatterMode::Max)
    }

    /// A copy of `self` with `self[index]` replaced by its minimum with `value`
    /// (`a.at[index].minimum(value)`).
    pub fn index_min(&self, index: impl Indexer, value: &Array) -> Result<Array> {
        index_write(self, index.into_entries(), value, ScatterMode::Min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn python_slice_indices() {
        // (start, step, len) of slice(start, stop, step).indices(n), checked against Python.
        assert_eq!(resolve_slice(None, None, 1, 5), (0, 1, 5));
        assert_eq!(resolve_slice(None, None, -1, 5), (4, -1, 5));
        assert_eq!(resolve_slice(Some(-10), Some(2), 1, 5), (0, 1, 2));
        assert_eq!(resolve_slice(Some(4), Some(1), -2, 5), (4, -2, 2));
        assert_eq!(resolve_slice(Some(10), None, -3, 5), (4, -3, 2));
        assert_eq!(resolve_slice(Some(1), Some(4), -1, 5), (1, -1, 0));
        assert_eq!(resolve_slice(None, None, 2, 0), (0, 2, 0));
        assert_eq!(resolve_slice(Some(-1), Some(-10), -1, 5), (4, -1, 5));
    }

    #[test]
    fn error_variant_for_planning() {
        let e = plan(&[2, 2], vec![Idx::Ellipsis, Idx::Ellipsis], "index");
        assert!(matches!(e, Err(Error::InvalidArgument(_))));
    }
}
