//! Operations shared by float, int and bool tensors. Burn's trait methods for the three kinds
//! delegate here, so each behaviour (slicing with steps, gather/scatter along a dim, masking,
//! comparisons, reductions with Burn's kept dimension ...) is written once.

use std::cell::RefCell;

use burn_backend::{Scalar, Shape, Slice, TensorMetadata};
use mlx::{Array, Dtype, ops};

use super::pick::pick;
use crate::eval::{op, op_multi};
use crate::tensor::{MlxTensor, to_mlx_shape};

/// An MLX axis from a Burn dimension index.
pub(crate) fn axis(dim: usize) -> i32 {
    dim as i32
}

/// A 0-d array holding `value` converted to `dtype` (Burn converts scalars to the tensor's
/// element type).
///
/// The same few scalars recur op after op (`x + 1.0` in a loop, an optimizer's constants, a
/// mask's fill value), so each thread keeps the [`RECENT_SCALARS`] it used last and hands out
/// the same MLX array again: one handle instead of a new array with its own buffer. MLX arrays
/// are immutable, and MLX never writes into an input another graph also holds, so sharing one
/// between graphs is safe.
pub(crate) fn scalar(value: Scalar, dtype: Dtype) -> Array {
    let (value, key) = scalar_key(value, dtype);
    cached_scalar(value, key)
}

/// [`scalar`] once its key is known.
fn cached_scalar(value: mlx::Scalar, key: ScalarKey) -> Array {
    let Ok(a) = RECENT.with(|recent| {
        recently_made(recent, key, RECENT_SCALARS, || {
            Ok::<_, std::convert::Infallible>(value.to_array(key.0))
        })
    });
    a
}

/// The array kept under `key` in one of a thread's short lists of arrays it made recently (most
/// recently used first), or a new one from `make`, kept in place of the least recently used
/// once the list holds `capacity`.
fn recently_made<K: PartialEq, E>(
    list: &RefCell<Vec<(K, Array)>>,
    key: K,
    capacity: usize,
    make: impl FnOnce() -> Result<Array, E>,
) -> Result<Array, E> {
    let mut list = list.borrow_mut();
    if let Some(at) = list.iter().position(|(k, _)| *k == key) {
        // A hit moves to the front, so that a loop's arrays are found at once.
        list[..=at].rotate_right(1);
        return Ok(list[0].1.clone());
    }
    let a = make()?;
    if list.len() == capacity {
        list.pop();
    }
    list.insert(0, (key, a.clone()));
    Ok(a)
}

/// Burn's scalar as MLX's for `dtype`, and what identifies it in the caches.
fn scalar_key(value: Scalar, dtype: Dtype) -> (mlx::Scalar, ScalarKey) {
    let value = mlx_scalar(value, dtype);
    let bits = match value {
        mlx::Scalar::Float(f) => (0u8, f.to_bits()),
        mlx::Scalar::Int(i) => (1, i as u64),
        mlx::Scalar::Bool(b) => (2, b as u64),
    };
    (value, (dtype, bits))
}

/// How many scalars each thread keeps for [`scalar`].
const RECENT_SCALARS: usize = 16;

type ScalarKey = (Dtype, (u8, u64));

thread_local! {
    static RECENT: RefCell<Vec<(ScalarKey, Array)>> =
        const { RefCell::new(Vec::new()) };
}

/// Burn's scalar as MLX's, for `dtype`.
fn mlx_scalar(value: Scalar, dtype: Dtype) -> mlx::Scalar {
    match value {
        Scalar::Float(f) => mlx::Scalar::Float(f),
        Scalar::Int(i) => mlx::Scalar::Int(i),
        // Values above i64::MAX wrap to the same bits, which `as u64` restores.
        Scalar::UInt(u) if dtype.is_unsigned_integer() => mlx::Scalar::Int(u as i64),
        // Exact for every value a signed dtype can hold (f64 would round beyond 2^53).
        Scalar::UInt(u) if u <= i64::MAX as u64 => mlx::Scalar::Int(u as i64),
        Scalar::UInt(u) => mlx::Scalar::Float(u as f64),
        Scalar::Bool(b) => mlx::Scalar::Bool(b),
    }
}

/// `a` in `dtype` (no cast when it already is).
pub(crate) fn in_dtype(a: &Array, dtype: Dtype) -> mlx::Result<Array> {
    if a.dtype() == dtype {
        Ok(a.clone())
    } else {
        a.astype(dtype)
    }
}

/// `f(tensor, scalar)` with the scalar in the tensor's dtype, already broadcast to the tensor's
/// shape (see [`broadcast_scalar`]); `f` is elementwise.
pub(crate) fn with_scalar(
    t: &MlxTensor,
    value: Scalar,
    name: &str,
    f: impl FnOnce(&Array, &Array) -> mlx::Result<Array>,
) -> MlxTensor {
    op(&[t], name, || {
        let s = broadcast_scalar(value, t.array.dtype(), t.array.shape(), t.device)?;
        f(&t.array, &s)
    })
}

/// The scalar `value` in `dtype`, broadcast to `shape`: the same array as long as the same
/// scalar meets the same shape on the same device.
///
/// MLX broadcasts a 0-d operand of an elementwise op with a `Broadcast` node of its own, and
/// evaluating each node costs a hand-off to the stream's thread (on the CPU) like any other op:
/// `x + 1.0` was two nodes. A loop that adds the same scalar to tensors of the same shape (a
/// chain of ops, an optimizer's constants step after step) now builds that node once; once
/// computed, it is a view of the scalar (stride 0) that every later op reads as is.
///
/// With compiled execution on ([`crate::compile`]) the same holds: a compiled region reads a
/// kept broadcast as its scalar, 0-d, followed by a `Broadcast` node that MLX's compiler fuses
/// into each reader's kernel (`mlx::region`), and never hands it back as a full-size array. The
/// region then has one node less per scalar op: a compiled chain of 200 `x + 1.0` took 0.76 µs
/// per op instead of 1.02 on 2 CPU cores, tracing and replaying 202 nodes instead of 401.
fn broadcast_scalar(
    value: Scalar,
    dtype: Dtype,
    shape: &[i32],
    device: crate::MlxDevice,
) -> mlx::Result<Array> {
    if shape.is_empty() || shape.len() > MAX_CACHED_RANK {
        return Ok(scalar(value, dtype));
    }
    let (value, scalar) = scalar_key(value, dtype);
    let mut key_shape = [0i32; MAX_CACHED_RANK];
    key_shape[..shape.len()].copy_from_slice(shape);
    let key = BroadcastKey {
        scalar,
        device,
        rank: shape.len() as u8,
        shape: key_shape,
    };
    BROADCASTS.with(|cache| {
        recently_made(cache, key, RECENT_BROADCASTS, || {
            ops::broadcast_to(&cached_scalar(value, scalar), shape)
        })
    })
}

/// How many broadcast scalars each thread keeps for [`broadcast_scalar`].
const RECENT_BROADCASTS: usize = 32;
/// Operands of higher rank get the 0-d scalar (and MLX's own broadcast).
const MAX_CACHED_RANK: usize = 6;

#[derive(Clone, Copy, PartialEq, Eq)]
struct BroadcastKey {
    scalar: ScalarKey,
    device: crate::MlxDevice,
    rank: u8,
    shape: [i32; MAX_CACHED_RANK],
}

thread_local! {
    static BROADCASTS: RefCell<Vec<(BroadcastKey, Array)>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn unary(
    t: &MlxTensor,
    name: &str,
    f: impl FnOnce(&Array) -> mlx::Result<Array>,
) -> MlxTensor {
    op(&[t], name, || f(&t.array))
}

pub(crate) fn binary(
    a: &MlxTensor,
    b: &MlxTensor,
    name: &str,
    f: impl FnOnce(&Array, &Array) -> mlx::Result<Array>,
) -> MlxTensor {
    op(&[a, b], name, || f(&a.array, &b.array))
}

// ---- creation -----------------------------------------------------------------------------------

pub(crate) fn full(
    shape: &Shape,
    value: Scalar,
    dtype: Dtype,
    device: crate::MlxDevice,
) -> MlxTensor {
    let shape = to_mlx_shape(shape);
    let exec = crate::tensor::exec_device(device, crate::tensor::gpu_lacks(dtype));
    let array = crate::eval::run(exec, "full", || {
        ops::full(&shape, &scalar(value, dtype), dtype)
    });
    MlxTensor::new(array, device)
}

// ---- shape --------------------------------------------------------------------------------------

pub(crate) fn reshape(t: MlxTensor, shape: Shape) -> MlxTensor {
    let shape = to_mlx_shape(&shape);
    unary(&t, "reshape", |a| a.reshape(&shape))
}

pub(crate) fn permute(t: MlxTensor, axes: &[usize]) -> MlxTensor {
    let axes: Vec<i32> = axes.iter().map(|d| axis(*d)).collect();
    unary(&t, "permute", |a| ops::transpose(a, Some(&axes)))
}

pub(crate) fn swap_dims(t: MlxTensor, dim1: usize, dim2: usize) -> MlxTensor {
    unary(&t, "swap_dims", |a| {
        ops::swapaxes(a, axis(dim1), axis(dim2))
    })
}

pub(crate) fn flip(t: MlxTensor, axes: &[usize]) -> MlxTensor {
    if axes.is_empty() {
        return t;
    }
    let axes: Vec<i32> = axes.iter().map(|d| axis(*d)).collect();
    unary(&t, "flip", |a| ops::flip(a, Some(&axes)))
}

pub(crate) fn expand(t: MlxTensor, shape: Shape) -> MlxTensor {
    let shape = to_mlx_shape(&shape);
    unary(&t, "expand", |a| ops::broadcast_to(a, &shape))
}

pub(crate) fn cat(tensors: Vec<MlxTensor>, dim: usize) -> MlxTensor {
    let arrays: Vec<Array> = tensors.iter().map(|t| (*t.array).clone()).collect();
    let refs: Vec<&MlxTensor> = tensors.iter().collect();
    op(&refs, "cat", || ops::concatenate(&arrays, Some(axis(dim))))
}

pub(crate) fn repeat_dim(t: MlxTensor, dim: usize, times: usize) -> MlxTensor {
    let ndim = t.array.ndim();
    assert!(
        dim < ndim,
        "burn-mlx: repeat_dim: dimension {dim} is out of range for a tensor of {ndim} dimensions"
    );
    let times = i32::try_from(times)
        .unwrap_or_else(|_| panic!("burn-mlx: repeat_dim: {times} repetitions do not fit i32"));
    let mut reps = vec![1; ndim];
    reps[dim] = times;
    unary(&t, "repeat_dim", |a| ops::tile(a, &reps))
}

/// Burn's `unfold`: windows of `size` every `step` along `dim`, as a new last dimension.
pub(crate) fn unfold(t: MlxTensor, dim: usize, size: usize, step: usize) -> MlxTensor {
    let shape = t.shape();
    let len = shape[dim];
    let windows = if len >= size {
        (len - size) / step + 1
    } else {
        0
    };
    unary(&t, "unfold", |a| {
        // Gather indices [windows, size] along `dim`, then move the window axis last.
        let starts = ops::arange(0.0, (windows * step) as f64, step as f64, Dtype::Int32)?;
        let offsets = ops::arange(0.0, size as f64, 1.0, Dtype::Int32)?;
        let idx = ops::add(
            &starts.reshape(&[windows as i32, 1])?,
            &offsets.reshape(&[1, size as i32])?,
        )?;
        let taken = ops::take(a, &idx.reshape(&[-1])?, Some(axis(dim)))?;
        let mut split_shape: Vec<i32> = to_mlx_shape(&shape);
        split_shape.splice(dim..=dim, [windows as i32, size as i32]);
        let windows_arr = taken.reshape(&split_shape)?;
        ops::moveaxis(&windows_arr, axis(dim) + 1, -1)
    })
}

// ---- slicing ------------------------------------------------------------------------------------

/// One dimension of a Burn slice, resolved: `start..stop` (0 <= start <= stop <= len) read with
/// `step` (negative: backwards from `stop - 1`).
struct Span {
    start: i32,
    stop: i32,
    step: i32,
}

impl Span {
    fn new(slice: &Slice, len: usize) -> Span {
        let range = slice.to_range(len);
        let stop = range.end.max(range.start);
        Span {
            start: range.start as i32,
            stop: stop as i32,
            step: slice.step as i32,
        }
    }

    fn count(&self) -> i32 {
        let len = self.stop - self.start;
        let step = self.step.abs();
        (len + step - 1) / step
    }

    /// The positions read, in increasing order: start, stride (always positive).
    fn increasing(&self) -> (i32, i32, i32) {
        let n = self.count();
        let step = self.step.abs();
        if self.step > 0 || n == 0 {
            (self.start, self.start + n * step, step)
        } else {
            let first = self.stop - 1 - (n - 1) * step;
            (first, self.stop, step)
        }
    }
}

fn spans(t: &MlxTensor, slices: &[Slice]) -> Vec<Span> {
    let shape = t.shape();
    (0..shape.num_dims())
        .map(|d| Span::new(slices.get(d).unwrap_or(&Slice::full()), shape[d]))
        .collect()
}

pub(crate) fn slice(t: MlxTensor, slices: &[Slice]) -> MlxTensor {
    let spans = spans(&t, slices);
    let (mut start, mut stop, mut strides, mut reversed) = (vec![], vec![], vec![], vec![]);
    for (d, s) in spans.iter().enumerate() {
        let (a, b, step) = s.increasing();
        start.push(a);
        stop.push(b.max(a));
        strides.push(step);
        if s.step < 0 {
            reversed.push(d as i32);
        }
    }
    unary(&t, "slice", |a| {
        let out = ops::slice(a, &start, &stop, &strides)?;
        if reversed.is_empty() {
            Ok(out)
        } else {
            ops::flip(&out, Some(&reversed))
        }
    })
}

pub(crate) fn slice_assign(t: MlxTensor, slices: &[Slice], value: MlxTensor) -> MlxTensor {
    let spans = spans(&t, slices);
    let (mut start, mut stop, mut strides, mut reversed) = (vec![], vec![], vec![], vec![]);
    for (d, s) in spans.iter().enumerate() {
        let (a, b, step) = s.increasing();
        start.push(a);
        stop.push(b.max(a));
        strides.push(step);
        if s.step < 0 {
            reversed.push(d as i32);
        }
    }
    binary(&t, &value, "slice_assign", |a, v| {
        // Positions were listed backwards for negative steps: reverse the values to match.
        let v = if reversed.is_empty() {
            v.clone()
        } else {
            ops::flip(v, Some(&reversed))?
        };
        let v = in_dtype(&v, a.dtype())?;
        ops::slice_update(a, &v, &start, &stop, &strides)
    })
}

// ---- gather / scatter / select / mask ---------------------------------------------------------

pub(crate) fn gather(dim: usize, t: MlxTensor, indices: MlxTensor) -> MlxTensor {
    binary(&t, &indices, "gather", |a, i| {
        ops::take_along_axis(a, i, Some(axis(dim)))
    })
}

/// [`gather`] with indices that `argsort`, `argmax` or `argmin` of `t` along `dim` produced:
/// always in range, so MLX's gather runs without the clamping nodes that user indices need.
fn gather_own_indices(dim: usize, t: MlxTensor, indices: MlxTensor) -> MlxTensor {
    binary(&t, &indices, "gather", |a, i| {
        // SAFETY: every index is a position along `dim` of `a` itself (see above).
        unsafe { ops::take_along_axis_unchecked(a, i, axis(dim)) }
    })
}

pub(crate) fn scatter_add(
    dim: usize,
    t: MlxTensor,
    indices: MlxTensor,
    value: MlxTensor,
) -> MlxTensor {
    let cpu_only = gpu_lacks_scatter(t.array.dtype());
    crate::eval::op_routed(&[&t, &indices, &value], "scatter_add", cpu_only, || {
        ops::scatter_add_axis(
            &t.array,
            &indices.array,
            &value.array.astype(t.array.dtype())?,
            Some(axis(dim)),
        )
    })
}

/// Whether MLX's GPU scatter lacks `dtype` ("GPU scatter does not yet support int64"): such
/// scatters run on MLX's CPU stream.
pub(crate) fn gpu_lacks_scatter(dtype: Dtype) -> bool {
    matches!(dtype, Dtype::Int64 | Dtype::Uint64)
}

pub(crate) fn select(t: MlxTensor, dim: usize, indices: MlxTensor) -> MlxTensor {
    binary(&t, &indices, "select", |a, i| {
        ops::take(a, i, Some(axis(dim)))
    })
}

/// Adds the slices of `value` into `t` at `indices` along `dim` (repeated indices accumulate).
pub(crate) fn select_add(
    t: MlxTensor,
    dim: usize,
    indices: MlxTensor,
    value: MlxTensor,
) -> MlxTensor {
    let cpu_only = gpu_lacks_scatter(t.array.dtype());
    crate::eval::op_routed(&[&t, &indices, &value], "select_add", cpu_only, || {
        let a = ops::moveaxis(&t.array, axis(dim), 0)?;
        let v = ops::moveaxis(&value.array.astype(t.array.dtype())?, axis(dim), 0)?;
        // MLX's scatter takes updates shaped [indices..., window...] with a window of one row.
        let mut upd_shape = v.shape().to_vec();
        upd_shape.insert(1, 1);
        let out = ops::scatter_add(
            &a,
            std::slice::from_ref(&indices.array),
            &v.reshape(&upd_shape)?,
            &[0],
        )?;
        ops::moveaxis(&out, 0, axis(dim))
    })
}

pub(crate) fn mask_where(t: MlxTensor, mask: MlxTensor, value: MlxTensor) -> MlxTensor {
    op(&[&t, &mask, &value], "mask_where", || {
        pick(&mask.array, &value.array.astype(t.array.dtype())?, &t.array)
    })
}

pub(crate) fn mask_fill(t: MlxTensor, mask: MlxTensor, value: Scalar) -> MlxTensor {
    let s = scalar(value, t.array.dtype());
    binary(&t, &mask, "mask_fill", |a, m| pick(m, &s, a))
}

// ---- comparisons ------------------------------------------------------------------------------

/// The comparisons Burn asks for.
#[derive(Clone, Copy)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Cmp {
    fn apply(self, a: &Array, b: &Array) -> mlx::Result<Array> {
        match self {
            Cmp::Eq => ops::equal(a, b),
            Cmp::Ne => ops::not_equal(a, b),
            Cmp::Gt => ops::greater(a, b),
            Cmp::Ge => ops::greater_equal(a, b),
            Cmp::Lt => ops::less(a, b),
            Cmp::Le => ops::less_equal(a, b),
        }
    }
}

pub(crate) fn compare(lhs: MlxTensor, rhs: MlxTensor, cmp: Cmp) -> MlxTensor {
    binary(&lhs, &rhs, "compare", |a, b| cmp.apply(a, b))
}

pub(crate) fn compare_elem(lhs: MlxTensor, rhs: Scalar, cmp: Cmp) -> MlxTensor {
    with_scalar(&lhs, rhs, "compare", |a, s| cmp.apply(a, s))
}

// ---- reductions (Burn keeps a reduced dimension with size 1; full reductions give shape [1]) ----

/// A reduction over everything, shaped `[1]` as Burn expects.
pub(crate) fn reduce_all(
    t: MlxTensor,
    name: &str,
    f: impl FnOnce(&Array) -> mlx::Result<Array>,
) -> MlxTensor {
    unary(&t, name, |a| f(a)?.reshape(&[1]))
}

pub(crate) fn argmax(t: MlxTensor, dim: usize, out: Dtype) -> MlxTensor {
    unary(&t, "argmax", |a| {
        ops::argmax(a, Some(axis(dim)), true)?.astype(out)
    })
}

pub(crate) fn argmin(t: MlxTensor, dim: usize, out: Dtype) -> MlxTensor {
    unary(&t, "argmin", |a| {
        ops::argmin(a, Some(axis(dim)), true)?.astype(out)
    })
}

/// Values and indices of the max (or min) along `dim`; ties go to the first index, like Burn.
pub(crate) fn extreme_with_indices(
    t: MlxTensor,
    dim: usize,
    max: bool,
    out: Dtype,
) -> (MlxTensor, MlxTensor) {
    let idx = if max {
        argmax(t.clone(), dim, Dtype::Int32)
    } else {
        argmin(t.clone(), dim, Dtype::Int32)
    };
    let values = gather_own_indices(dim, t, idx.clone());
    let idx = unary(&idx, "cast", |a| a.astype(out));
    (values, idx)
}

// ---- sorting ----------------------------------------------------------------------------------

/// Sorted values along `dim`. Descending order is the reversed ascending order of `-x` for
/// numbers, so that equal values keep their original order (a stable sort), as Burn does.
pub(crate) fn sort(t: MlxTensor, dim: usize, descending: bool) -> MlxTensor {
    let (values, _) = sort_with_indices(t, dim, descending, Dtype::Int32);
    values
}

pub(crate) fn argsort(t: MlxTensor, dim: usize, descending: bool, out: Dtype) -> MlxTensor {
    unary(&t, "argsort", |a| {
        stable_argsort(a, axis(dim), descending)?.astype(out)
    })
}

pub(crate) fn sort_with_indices(
    t: MlxTensor,
    dim: usize,
    descending: bool,
    out: Dtype,
) -> (MlxTensor, MlxTensor) {
    let idx = unary(&t, "argsort", |a| stable_argsort(a, axis(dim), descending));
    let values = gather_own_indices(dim, t, idx.clone());
    let idx = unary(&idx, "cast", |a| a.astype(out));
    (values, idx)
}

/// Stable argsort; descending keeps ties in their original order too.
fn stable_argsort(a: &Array, axis: i32, descending: bool) -> mlx::Result<Array> {
    if !descending {
        return ops::argsort(a, Some(axis));
    }
    // A stable ascending sort of an order-reversing key. `!x` reverses every integer type
    // without overflow (negation would map i32::MIN to itself, and unsigned values to large
    // ones); `-x` reverses floats (NaN stays last).
    let key = match a.dtype() {
        Dtype::Bool => ops::logical_not(a)?,
        d if d.is_integer() => ops::bitwise_invert(a)?,
        _ => ops::negative(a)?,
    };
    ops::argsort(&key, Some(axis))
}

/// The `k` largest values along `dim` (descending), and their indices.
pub(crate) fn topk_with_indices(
    t: MlxTensor,
    dim: usize,
    k: usize,
    out: Dtype,
) -> (MlxTensor, MlxTensor) {
    let idx = unary(&t, "topk", |a| {
        let order = stable_argsort(a, axis(dim), true)?;
        let mut stop = a.shape().to_vec();
        stop[dim] = k as i32;
        ops::slice(&order, &vec![0; a.ndim()], &stop, &vec![1; a.ndim()])
    });
    let values = gather_own_indices(dim, t, idx.clone());
    let idx = unary(&idx, "cast", |a| a.astype(out));
    (values, idx)
}

// ---- cumulative ---------------------------------------------------------------------------------

pub(crate) fn cumulative(
    t: MlxTensor,
    dim: usize,
    name: &str,
    f: impl FnOnce(&Array, Option<i32>, ops::ScanOptions) -> mlx::Result<Array>,
) -> MlxTensor {
    unary(&t, name, |a| f(a, Some(axis(dim)), ops::ScanOptions::new()))
}

// ---- any / all --------------------------------------------------------------------------------

pub(crate) fn any(t: MlxTensor) -> MlxTensor {
    reduce_all(t, "any", |a| a.any(None, false))
}

pub(crate) fn any_dim(t: MlxTensor, dim: usize) -> MlxTensor {
    unary(&t, "any_dim", |a| a.any(Some(&[axis(dim)]), true))
}

pub(crate) fn all(t: MlxTensor) -> MlxTensor {
    reduce_all(t, "all", |a| a.all(None, false))
}

pub(crate) fn all_dim(t: MlxTensor, dim: usize) -> MlxTensor {
    unary(&t, "all_dim", |a| a.all(Some(&[axis(dim)]), true))
}

// ---- casts --------------------------------------------------------------------------------------

pub(crate) fn cast(t: MlxTensor, dtype: Dtype) -> MlxTensor {
    if t.array.dtype() == dtype {
        return t;
    }
    let cpu_only = crate::tensor::gpu_lacks(dtype);
    crate::eval::op_routed(&[&t], "cast", cpu_only, || t.array.astype(dtype))
}

// ---- half precision ---------------------------------------------------------------------------

/// Whether `dtype` is a half-precision float (float16 or bfloat16).
pub(crate) fn is_half(dtype: Dtype) -> bool {
    matches!(dtype, Dtype::Float16 | Dtype::Bfloat16)
}

/// `f(a)` computed in float32 for float16 and bfloat16 arrays, and rounded back to their dtype;
/// other dtypes go to `f` as they are.
///
/// For the reductions that Burn's reference backends (burn-flex, the CubeCL backends)
/// accumulate in float32 for half types: sums, products and means, whole or along a dimension,
/// and the cumulative sum and product. MLX 0.32's CPU backend divides a mean's sum after
/// rounding it to the half type (a float16 mean of 1024 values near 511 is `inf`, the sum
/// being past 65504), and runs cumulative sums and products in the half type (a float16
/// running sum of quarters stops at 512, where `512 + 0.25` rounds back to 512). Its sums and
/// products already accumulate in float32; they come here too, so that every device gives the
/// references' result. Each result is rounded once, at the end, as the references do.
pub(crate) fn half_in_f32(
    a: &Array,
    f: impl FnOnce(&Array) -> mlx::Result<Array>,
) -> mlx::Result<Array> {
    if is_half(a.dtype()) {
        f(&a.astype(Dtype::Float32)?)?.astype(a.dtype())
    } else {
        f(a)
    }
}

/// Whether the ops being built now run on the CPU (the stream [`crate::eval::run`] set up).
pub(crate) fn on_cpu() -> mlx::Result<bool> {
    Ok(mlx::Stream::current()?.device().kind == mlx::DeviceType::Cpu)
}

/// `f(operands)` computed in float32, and rounded back, when the operands are all float16 or
/// all bfloat16 and the op runs on the CPU; otherwise `f` gets them as they are.
///
/// For matrix products and attention: MLX's CPU backend runs float32 products through BLAS but
/// has no BLAS for half types, and its half-precision matmul takes about 20 times as long as the
/// float32 one of the same size (attention about 5 times; `examples/half_matmul.rs` measures
/// them). Converting costs a pass over the operands and one over the result. The values do not
/// change beyond float32 summation order: MLX's half-precision CPU product also accumulates in
/// float32 and rounds once, as Burn's reference CPU backend does. Convolutions are not slower in
/// half precision on MLX's CPU and stay as they are; so does everything on the GPU, where
/// half-precision products are the fast path.
pub(crate) fn cpu_half_in_f32<const N: usize>(
    operands: [&Array; N],
    f: impl FnOnce([Array; N]) -> mlx::Result<Array>,
) -> mlx::Result<Array> {
    let dtype = operands[0].dtype();
    if is_half(dtype) && operands.iter().all(|a| a.dtype() == dtype) && on_cpu()? {
        let mut wide = Vec::with_capacity(N);
        for a in operands {
            wide.push(a.astype(Dtype::Float32)?);
        }
        let wide: [Array; N] = wide.try_into().unwrap_or_else(|_| unreachable!());
        f(wide)?.astype(dtype)
    } else {
        f(operands.map(|a| a.clone()))
    }
}

/// `a · b` (MLX's `matmul`, batched and broadcast), half types on the CPU in float32
/// (see [`cpu_half_in_f32`]).
pub(crate) fn matmul(a: &Array, b: &Array) -> mlx::Result<Array> {
    cpu_half_in_f32([a, b], |[a, b]| ops::matmul(&a, &b))
}

/// Several results of one MLX call, each wrapped.
#[allow(dead_code)]
pub(crate) fn multi(
    inputs: &[&MlxTensor],
    name: &str,
    f: impl FnOnce() -> mlx::Result<Vec<Array>>,
) -> Vec<MlxTensor> {
    op_multi(inputs, name, f)
}

#[cfg(test)]
mod tests {
    use burn_backend::Scalar;
    use mlx::Dtype;

    use super::scalar;

    /// The scalars a thread keeps are told apart by value, kind and dtype: more distinct
    /// scalars than are kept, repeated, each read back with its own value and dtype.
    #[test]
    fn kept_scalars_keep_their_values_and_dtypes() {
        let mut cases: Vec<(Scalar, Dtype, f64)> = (0..20)
            .map(|i| {
                (
                    Scalar::Float(i as f64 * 0.25),
                    Dtype::Float32,
                    i as f64 * 0.25,
                )
            })
            .collect();
        cases.extend([
            (Scalar::Float(0.5), Dtype::Float16, 0.5),
            (Scalar::Int(-3), Dtype::Int32, -3.0),
            (Scalar::Int(-3), Dtype::Float32, -3.0),
            (Scalar::Float(-0.0), Dtype::Float32, -0.0),
            (Scalar::Bool(true), Dtype::Bool, 1.0),
            (Scalar::UInt(7), Dtype::Uint8, 7.0),
        ]);
        for _ in 0..3 {
            for &(value, dtype, expected) in &cases {
                let a = scalar(value, dtype);
                assert_eq!(a.dtype(), dtype, "{value:?}");
                let got = a.astype(Dtype::Float64).unwrap().item::<f64>().unwrap();
                assert_eq!(got.to_bits(), expected.to_bits(), "{value:?} as {dtype:?}");
            }
        }
    }
}
