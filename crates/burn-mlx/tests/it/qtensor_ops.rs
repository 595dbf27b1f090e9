//! Every method of Burn's `QTensorOps`, called by name on `Mlx` and on burn-ndarray (the
//! oracle), with the same inputs and the same `QuantScheme`.
//!
//! How results are compared:
//! - The oracle runs each scheme with the `Native` store: burn-ndarray only quantizes into it.
//!   The store only decides how Burn's data format lays the values out, so MLX's `PackedU32(0)`
//!   data is read back with Burn's own decoder (`QuantizedBytes`) and compared value by value;
//!   `Native` data is also compared byte for byte.
//! - A quantized result must dequantize, bit for bit, to what the oracle gives, and its
//!   `q_into_data` must hold the same values and scales. burn-ndarray's own layout ops leave
//!   per-block scales in place (right per tensor, and for reshapes, which keep the flat order,
//!   but wrong wherever values move between blocks), and Burn's default bodies of `q_cat`,
//!   `q_sort`, `q_topk`, ... re-quantize their result. Where either happens, the oracle is the
//!   float op on burn-ndarray's dequantized tensor (moving values changes none of them, and
//!   the trait asks quantized results to keep the quantized representation), and the data
//!   must hold those values exactly or, where the blocks no longer line up with Burn's data
//!   format, those values quantized again with the scheme (quantized by burn-ndarray).
//! - Ops that return float, int or bool tensors (Burn's default bodies on both sides, or
//!   burn-ndarray's) compare as the rest of the suite does, within the f32 tolerance.

use crate::common;

use burn_backend::QTensorPrimitive;
use burn_backend::ops::QTensorOps;
use burn_backend::quantization::{
    QuantLevel, QuantParam, QuantScheme, QuantStore, QuantValue, QuantizationParametersPrimitive,
    QuantizedBytes,
};
use burn_backend::tensor::QuantizedTensor;
use common::*;

// ---- schemes and inputs -----------------------------------------------------------------------

const VALUES: [QuantValue; 6] = [
    QuantValue::Q8S,
    QuantValue::Q8F,
    QuantValue::Q4S,
    QuantValue::Q4F,
    QuantValue::Q2S,
    QuantValue::Q2F,
];

const STORES: [QuantStore; 2] = [QuantStore::Native, QuantStore::PackedU32(0)];

/// The input shape of most cases.
const SHAPE: [usize; 3] = [4, 6, 8];

/// Levels for [`SHAPE`]: one scale; blocks of half a row; blocks of two whole rows (a 2-d block
/// size: Burn's blocks are runs of `num_elements` consecutive values).
fn levels() -> [QuantLevel; 3] {
    [
        QuantLevel::Tensor,
        QuantLevel::block([4]),
        QuantLevel::block([2, 8]),
    ]
}

fn scheme(value: QuantValue, level: QuantLevel, store: QuantStore) -> QuantScheme {
    QuantScheme::default()
        .with_value(value)
        .with_level(level)
        .with_store(store)
        .with_param(QuantParam::F32)
}

/// The scheme a backend runs: burn-ndarray only quantizes into the `Native` store.
fn scheme_for<B: Backend>(cx: &Cx<B>, scheme: QuantScheme) -> QuantScheme {
    if cx.oracle {
        scheme.with_store(QuantStore::Native)
    } else {
        scheme
    }
}

fn mlx_cx() -> Cx<M> {
    Cx {
        dev: mlx_device(),
        prec: Prec::F32,
        oracle: false,
    }
}

fn nd_cx() -> Cx<Nd> {
    Cx {
        dev: Default::default(),
        prec: Prec::F32,
        oracle: true,
    }
}

/// `data` (f32) quantized with min-max scales (`quantize_dynamic`). Always from f32, whatever
/// the precision of the run: burn-ndarray quantizes f32 tensors only.
fn qt<B: Backend>(cx: &Cx<B>, data: &TensorData, scheme: QuantScheme) -> QuantizedTensor<B> {
    let x = B::float_from_data(data.clone().convert_dtype(DType::F32), &cx.dev);
    B::quantize_dynamic(x, &scheme_for(cx, scheme))
}

fn i32s(values: Vec<i64>, shape: &[usize]) -> TensorData {
    TensorData::new(values, shape.to_vec()).convert_dtype(DType::I32)
}

/// Reads quantized data.
fn rq<B: Backend>(t: QuantizedTensor<B>) -> TensorData {
    burn_backend::read_sync(B::q_into_data(t)).expect("reading a quantized tensor")
}

/// Dequantizes to f32 and reads.
fn rdq<B: Backend>(t: QuantizedTensor<B>) -> TensorData {
    rf::<B>(B::dequantize(t, FloatDType::F32))
}

/// The float result of an op that Burn's quantization propagation decides: quantization is not
/// propagated by default (`QuantPropagation::Inhibit`), so it must be a float tensor.
fn float_of<B: Backend>(p: TensorPrimitive<B>) -> TensorData {
    match p {
        TensorPrimitive::Float(t) => rf::<B>(t),
        TensorPrimitive::QFloat(_) => panic!("a quantized result where a float one was expected"),
    }
}

/// Values (one `i8` each) and `f32` scales of quantized data, read by Burn's own decoder.
fn decode(data: &TensorData) -> (Vec<i8>, Vec<f32>) {
    let DType::QFloat(scheme) = data.dtype else {
        panic!("not quantized data: {:?}", data.dtype)
    };
    let bytes = QuantizedBytes {
        bytes: data.bytes.clone(),
        scheme,
        num_elements: data.num_elements(),
    };
    let (mut values, params) = bytes.into_vec_i8();
    // `PackedU32` data pads the last word with zeros. Burn's reader drops that padding for 4-
    // and 2-bit values but returns it for 8-bit ones.
    let n = data.num_elements();
    assert!(
        values.len() >= n && values[n..].iter().all(|v| *v == 0),
        "{scheme:?}: {} values (padding included) for {n} elements",
        values.len()
    );
    values.truncate(n);
    (values, params.scales)
}

/// `scale · q` of quantized data, computed on the host from Burn's decoding (scales run over
/// consecutive chunks of the flattened values; a zero scale reads as 0.1, as Burn's reference
/// quantization has it).
fn host_dequantize(data: &TensorData) -> TensorData {
    let (values, scales) = decode(data);
    let chunk = values.len().div_ceil(scales.len().max(1)).max(1);
    let v: Vec<f32> = values
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let s = scales[i / chunk];
            let s = if s == 0.0 { 0.1 } else { s };
            s * *q as f32
        })
        .collect();
    TensorData::new(v, data.shape.clone())
}

/// Exact equality (`|got - want| <= 0`), for values that both sides compute as `scale · q`.
const EXACT: Tol = Tol::new(0.0, 0.0);

/// Whether Burn's data format can hold a tensor of `numel` elements under `level`.
fn tiles(level: QuantLevel, numel: usize) -> bool {
    match level {
        QuantLevel::Tensor => true,
        QuantLevel::Block(b) => numel.is_multiple_of(b.num_elements()),
    }
}

/// burn-ndarray's quantization of `x` with min-max scales per chunk of the flattened tensor.
/// The scales are Burn's (`2 · max(|min|, |max|) / (b - a)`, in f32), computed here because
/// Burn's `compute_range` lays per-block extrema on a grid that only exists when the block size
/// divides the trailing dimensions, and results of layout ops often have other shapes.
fn nd_requantize(x: &TensorData, scheme: QuantScheme) -> TensorData {
    let native = scheme.with_store(QuantStore::Native);
    let values: Vec<f32> = x.iter::<f32>().collect();
    let chunk = match scheme.level {
        QuantLevel::Tensor => values.len(),
        QuantLevel::Block(b) => b.num_elements(),
    };
    let (a, b) = scheme.value.range();
    let scales: Vec<f32> = values
        .chunks(chunk.max(1))
        .map(|c| c.iter().fold(0.0f32, |m, v| m.max(v.abs())) * 2.0 / (b - a))
        .collect();
    let dev = Default::default();
    let n = scales.len();
    let q = Nd::quantize(
        Nd::float_from_data(x.clone(), &dev),
        &native,
        QuantizationParametersPrimitive {
            scales: Nd::float_from_data(TensorData::new(scales, [n]), &dev),
        },
    );
    rq::<Nd>(q)
}

// ---- quantized results ------------------------------------------------------------------------

/// What the oracle's quantized data is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Oracle {
    /// burn-ndarray's op on its quantized tensor moves values and scales correctly: the data
    /// must be the same.
    Same,
    /// The float op on the dequantized tensor; the data must hold those values exactly, or
    /// those values quantized again.
    Float,
    /// No exact result exists (`|q|` of a full-range value type: `|-128|` does not fit `Q8F`),
    /// and Burn's default body quantizes the float result again: that, by burn-ndarray.
    Requantized,
}

/// Compares a quantized result of MLX (`got`: its data, or `None` where its blocks do not tile
/// it, and its dequantized values) with the oracle's.
fn assert_q(
    label: &str,
    scheme: QuantScheme,
    got: (Option<TensorData>, TensorData),
    want: (Option<TensorData>, TensorData),
    oracle: Oracle,
) {
    let (got_data, got_f) = got;
    let (want_data, want_f) = want;
    assert_eq!(got_f.dtype, DType::F32, "{label}: dequantized dtype");
    assert_data_close(&format!("{label}: dequantized"), &got_f, &want_f, EXACT);
    let (Some(g), Some(w)) = (got_data, want_data) else {
        return;
    };
    assert_eq!(g.dtype, DType::QFloat(scheme), "{label}: dtype");
    assert_eq!(g.shape, w.shape, "{label}: data shape");
    let (gd, wd) = (decode(&g), decode(&w));
    // Values (one byte each, or whole `u32` words), then one f32 per scale.
    let numel = g.num_elements();
    let value_bytes = match scheme.store {
        QuantStore::PackedU32(_) => (numel * scheme.value.size_bits()).div_ceil(32) * 4,
        _ => numel,
    };
    assert_eq!(
        g.as_bytes().len(),
        value_bytes + 4 * gd.1.len(),
        "{label}: data size"
    );
    if gd == wd {
        if scheme.store == QuantStore::Native {
            assert_eq!(g.as_bytes(), w.as_bytes(), "{label}: bytes");
        }
    } else {
        assert!(
            oracle == Oracle::Float,
            "{label}: data differ from the oracle's\n  values {:?}\n  want   {:?}\n  scales {:?}\n  want   {:?}",
            gd.0,
            wd.0,
            gd.1,
            wd.1
        );
        // Not re-quantized: then the data must describe the tensor exactly.
        assert_data_close(
            &format!("{label}: data (neither exact nor re-quantized)"),
            &host_dequantize(&g),
            &want_f,
            EXACT,
        );
    }
    // The data loads back to the values it describes.
    let back = M::q_from_data(g.clone(), &mlx_device());
    assert_data_close(
        &format!("{label}: q_from_data of the result"),
        &rdq::<M>(back),
        &host_dequantize(&g),
        EXACT,
    );
}

/// Sort indices with each run of equal sorted values put in ascending order. The trait lets a
/// sort reorder equal elements, so this is what two correct sorts share. Equal means IEEE
/// equality: `-0.0` equals `0.0` (dequantizing `0` with a negative scale gives `-0.0`), where
/// Burn's reference sort (`total_cmp`) puts one before the other and MLX keeps them in order.
fn canonical_indices(idx: &TensorData, sorted: &TensorData, dim: usize) -> TensorData {
    let shape = idx.shape.as_slice().to_vec();
    let mut out: Vec<i64> = idx.iter::<i64>().collect();
    let values: Vec<f32> = sorted.iter::<f32>().collect();
    let len = shape[dim];
    let inner: usize = shape[dim + 1..].iter().product();
    let outer: usize = shape[..dim].iter().product();
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * len + k) * inner + i;
            let mut start = 0;
            while start < len {
                let mut end = start + 1;
                while end < len && values[at(end)] == values[at(start)] {
                    end += 1;
                }
                let mut run: Vec<i64> = (start..end).map(|k| out[at(k)]).collect();
                run.sort_unstable();
                for (k, v) in (start..end).zip(run) {
                    out[at(k)] = v;
                }
                start = end;
            }
        }
    }
    TensorData::new(out, shape).convert_dtype(idx.dtype)
}

/// An op with a quantized result, and its float counterpart.
#[derive(Clone, Debug)]
enum Op {
    Same,
    Reshape(Vec<usize>),
    Transpose,
    SwapDims(usize, usize),
    Permute(Vec<usize>),
    Flip(Vec<usize>),
    Select(usize, Vec<i64>),
    Slice(Vec<Slice>),
    /// Indices (I32) along a dim.
    Gather(usize, TensorData),
    Expand(Vec<usize>),
    RepeatDim(usize, usize),
    /// Concatenates the results of the ops (each applied to the input) along a dim.
    Cat(usize, Vec<Op>),
    Sort(usize, bool),
    SortWithIndices(usize, bool),
    TopK(usize, usize),
    Abs,
    Max,
    MaxDim(usize),
    MaxDimWithIndices(usize),
    Min,
    MinDim(usize),
    MinDimWithIndices(usize),
    MaxAbs,
    MaxAbsDim(usize),
    /// The first op, then the second (e.g. a view, then an op on it).
    Then(Box<Op>, Box<Op>),
}

fn then(a: Op, b: Op) -> Op {
    Op::Then(Box::new(a), Box::new(b))
}

fn sl(start: isize, end: Option<isize>, step: isize) -> Slice {
    Slice::new(start, end, step)
}

const I32: IntDType = IntDType::I32;

impl Op {
    /// The op on a quantized tensor: the result, and any index outputs (read).
    fn q<B: Backend>(
        &self,
        cx: &Cx<B>,
        t: QuantizedTensor<B>,
    ) -> (QuantizedTensor<B>, Vec<TensorData>) {
        let none = vec![];
        match self {
            Op::Same => (t, none),
            Op::Reshape(s) => (B::q_reshape(t, Shape::from(s.clone())), none),
            Op::Transpose => (B::q_transpose(t), none),
            Op::SwapDims(a, b) => (B::q_swap_dims(t, *a, *b), none),
            Op::Permute(p) => (B::q_permute(t, p), none),
            Op::Flip(a) => (B::q_flip(t, a), none),
            Op::Select(d, idx) => {
                let idx = cx.i(&i32s(idx.clone(), &[idx.len()]));
                (B::q_select(t, *d, idx), none)
            }
            Op::Slice(s) => (B::q_slice(t, s), none),
            Op::Gather(d, idx) => (B::q_gather(*d, t, cx.i(idx)), none),
            Op::Expand(s) => (B::q_expand(t, Shape::from(s.clone())), none),
            Op::RepeatDim(d, n) => (B::q_repeat_dim(t, *d, *n), none),
            Op::Cat(d, ops) => {
                let parts = ops.iter().map(|op| op.q(cx, t.clone()).0).collect();
                (B::q_cat(parts, *d), none)
            }
            Op::Sort(d, desc) => (B::q_sort(t, *d, *desc), none),
            Op::SortWithIndices(d, desc) => {
                let (v, i) = B::q_sort_with_indices(t, *d, *desc, I32);
                let i = canonical_indices(&ri::<B>(i), &rdq::<B>(v.clone()), *d);
                (v, vec![i])
            }
            Op::TopK(d, k) => (B::q_topk(t, *d, *k), none),
            Op::Abs => (B::q_abs(t), none),
            Op::Max => (B::q_max(t), none),
            Op::MaxDim(d) => (B::q_max_dim(t, *d), none),
            Op::MaxDimWithIndices(d) => {
                let (v, i) = B::q_max_dim_with_indices(t, *d, I32);
                (v, vec![ri::<B>(i)])
            }
            Op::Min => (B::q_min(t), none),
            Op::MinDim(d) => (B::q_min_dim(t, *d), none),
            Op::MinDimWithIndices(d) => {
                let (v, i) = B::q_min_dim_with_indices(t, *d, I32);
                (v, vec![ri::<B>(i)])
            }
            Op::MaxAbs => (B::q_max_abs(t), none),
            Op::MaxAbsDim(d) => (B::q_max_abs_dim(t, *d), none),
            Op::Then(a, b) => {
                let (t, mut out) = a.q(cx, t);
                let (t, more) = b.q(cx, t);
                out.extend(more);
                (t, out)
            }
        }
    }

    /// The same op on a float tensor.
    fn f<B: Backend>(&self, cx: &Cx<B>, t: FloatTensor<B>) -> (FloatTensor<B>, Vec<TensorData>) {
        let none = vec![];
        match self {
            Op::Same => (t, none),
            Op::Reshape(s) => (B::float_reshape(t, Shape::from(s.clone())), none),
            Op::Transpose => {
                let n = t.shape().num_dims();
                (B::float_swap_dims(t, n - 2, n - 1), none)
            }
            Op::SwapDims(a, b) => (B::float_swap_dims(t, *a, *b), none),
            Op::Permute(p) => (B::float_permute(t, p), none),
            Op::Flip(a) => (B::float_flip(t, a), none),
            Op::Select(d, idx) => {
                let idx = cx.i(&i32s(idx.clone(), &[idx.len()]));
                (B::float_select(t, *d, idx), none)
            }
            Op::Slice(s) => (B::float_slice(t, s), none),
            Op::Gather(d, idx) => (B::float_gather(*d, t, cx.i(idx)), none),
            Op::Expand(s) => (B::float_expand(t, Shape::from(s.clone())), none),
            Op::RepeatDim(d, n) => (B::float_repeat_dim(t, *d, *n), none),
            Op::Cat(d, ops) => {
                let parts = ops.iter().map(|op| op.f(cx, t.clone()).0).collect();
                (B::float_cat(parts, *d), none)
            }
            Op::Sort(d, desc) => (B::float_sort(t, *d, *desc), none),
            Op::SortWithIndices(d, desc) => {
                let (v, i) = B::float_sort_with_indices(t, *d, *desc, I32);
                let i = canonical_indices(&ri::<B>(i), &rf::<B>(v.clone()), *d);
                (v, vec![i])
            }
            Op::TopK(d, k) => (B::float_topk(t, *d, *k), none),
            Op::Abs => (B::float_abs(t), none),
            Op::Max => (B::float_max(t), none),
            Op::MaxDim(d) => (B::float_max_dim(t, *d), none),
            Op::MaxDimWithIndices(d) => {
                let (v, i) = B::float_max_dim_with_indices(t, *d, I32);
                (v, vec![ri::<B>(i)])
            }
            Op::Min => (B::float_min(t), none),
            Op::MinDim(d) => (B::float_min_dim(t, *d), none),
            Op::MinDimWithIndices(d) => {
                let (v, i) = B::float_min_dim_with_indices(t, *d, I32);
                (v, vec![ri::<B>(i)])
            }
            Op::MaxAbs => (B::float_max_abs(t), none),
            Op::MaxAbsDim(d) => (B::float_max_abs_dim(t, *d), none),
            Op::Then(a, b) => {
                let (t, mut out) = a.f(cx, t);
                let (t, more) = b.f(cx, t);
                out.extend(more);
                (t, out)
            }
        }
    }

    /// Whether the op compares values (then burn-ndarray compares the stored integers).
    fn orders_values(&self) -> bool {
        match self {
            Op::Then(a, b) => a.orders_values() || b.orders_values(),
            Op::Cat(_, ops) => ops.iter().any(Op::orders_values),
            Op::Max
            | Op::MaxDim(_)
            | Op::MaxDimWithIndices(_)
            | Op::Min
            | Op::MinDim(_)
            | Op::MinDimWithIndices(_) => true,
            _ => false,
        }
    }

    /// What the oracle of this op is under `scheme` (see [`Oracle`]).
    fn oracle(&self, scheme: QuantScheme) -> Oracle {
        let per_tensor = scheme.level == QuantLevel::Tensor;
        match self {
            // The flat order is kept: every scale still meets its values.
            Op::Same | Op::Reshape(_) => Oracle::Same,
            Op::Transpose
            | Op::SwapDims(..)
            | Op::Permute(_)
            | Op::Flip(_)
            | Op::Select(..)
            | Op::Slice(_)
            | Op::Gather(..)
            | Op::Expand(_)
            | Op::Max
            | Op::MaxDim(_)
            | Op::MaxDimWithIndices(_)
            | Op::Min
            | Op::MinDim(_)
            | Op::MinDimWithIndices(_)
                if per_tensor =>
            {
                Oracle::Same
            }
            Op::Abs if !scheme.value.is_symmetric() => Oracle::Requantized,
            Op::Then(a, b) => match (a.oracle(scheme), b.oracle(scheme)) {
                (Oracle::Same, Oracle::Same) => Oracle::Same,
                (_, Oracle::Requantized) | (Oracle::Requantized, _) => Oracle::Requantized,
                _ => Oracle::Float,
            },
            _ => Oracle::Float,
        }
    }
}

/// Runs `op` on `x` quantized with `scheme`, on MLX and on the oracle, and compares.
fn check_op(label: &str, scheme: QuantScheme, x: &TensorData, op: &Op) {
    check_op_scaled(label, scheme, x, None, op)
}

/// `data` quantized with the given scales (one per chunk), or min-max ones.
fn qs<B: Backend>(
    cx: &Cx<B>,
    data: &TensorData,
    scheme: QuantScheme,
    scales: Option<&TensorData>,
) -> QuantizedTensor<B> {
    match scales {
        None => qt(cx, data, scheme),
        Some(s) => B::quantize(
            cx.f(data),
            &scheme_for(cx, scheme),
            QuantizationParametersPrimitive { scales: cx.f(s) },
        ),
    }
}

/// [`check_op`] on `x` quantized with given `scales` (`None`: min-max scales).
fn check_op_scaled(
    label: &str,
    scheme: QuantScheme,
    x: &TensorData,
    scales: Option<&TensorData>,
    op: &Op,
) {
    let label = format!("{label} {op:?} {scheme:?}");
    let mut oracle = op.oracle(scheme);
    // burn-ndarray's `q_argmax` / `q_argmin` order the stored integers, which is the order of
    // the values only for a positive scale.
    let negative = scales.is_some_and(|s| s.iter::<f32>().any(|v| v < 0.0));
    if negative && oracle == Oracle::Same && op.orders_values() {
        oracle = Oracle::Float;
    }

    let cx = mlx_cx();
    let (t, got_extra) = op.q::<M>(&cx, qs(&cx, x, scheme, scales));
    // The tensor's own metadata (Burn's API reads it without touching the values).
    assert_eq!(t.dtype(), DType::QFloat(scheme), "{label}: dtype");
    let numel = t.shape().num_elements();
    let got_data = if tiles(scheme.level, numel) {
        Some(rq::<M>(t.clone()))
    } else {
        // Burn's data format has no layout for it: the export must say why.
        assert_panics(&label, "do not tile", || rq::<M>(t.clone()));
        None
    };
    let t_shape = t.shape();
    let got = (got_data, rdq::<M>(t));

    let nx = nd_cx();
    let q = qs(&nx, x, scheme, scales);
    let (want_f, want_extra) = op.f::<Nd>(&nx, Nd::dequantize(q.clone(), FloatDType::F32));
    let want_f = rf::<Nd>(want_f);
    let want = match oracle {
        Oracle::Same => {
            let data = tiles(scheme.level, numel).then(|| rq::<Nd>(op.q::<Nd>(&nx, q).0));
            (data, want_f)
        }
        Oracle::Float => {
            let data = tiles(scheme.level, numel).then(|| nd_requantize(&want_f, scheme));
            (data, want_f)
        }
        Oracle::Requantized => {
            let data = nd_requantize(&want_f, scheme);
            let values = host_dequantize(&data);
            (Some(data), values)
        }
    };
    assert_eq!(t_shape, want.1.shape, "{label}: shape");
    assert_q(&label, scheme, got, want, oracle);
    assert_eq!(got_extra.len(), want_extra.len(), "{label}: index outputs");
    for (g, w) in got_extra.iter().zip(&want_extra) {
        assert_eq!(g.dtype, w.dtype, "{label}: index dtype");
        assert_data_close(&format!("{label}: indices"), g, w, EXACT);
    }
}

/// The first 6 of 8 columns: blocks of 4 along them end with a partial one.
fn cut_last() -> Op {
    Op::Slice(vec![sl(0, None, 1), sl(0, None, 1), sl(0, Some(6), 1)])
}

/// The first 3 of 6 rows: blocks of two rows end with a partial one.
fn cut_rows() -> Op {
    Op::Slice(vec![sl(0, None, 1), sl(0, Some(3), 1)])
}

/// Layout ops (and views followed by ops) on [`SHAPE`].
fn layout_ops() -> Vec<Op> {
    let full = || sl(0, None, 1);
    let idx_last = ints([4, 6, 4], 11, 0, 8, DType::I32);
    let idx_first = ints([2, 6, 8], 12, 0, 4, DType::I32);
    let idx_t = ints([4, 8, 2], 13, 0, 6, DType::I32);
    vec![
        Op::Reshape(vec![6, 4, 8]),
        Op::Reshape(vec![192]),
        Op::Reshape(vec![4, 48]),
        Op::Reshape(vec![2, 2, 6, 8]),
        // Rows of 12 and of 3: runs of 16 straddle them.
        Op::Reshape(vec![16, 12]),
        Op::Reshape(vec![8, 8, 3]),
        then(
            Op::Slice(vec![sl(0, None, 1), sl(2, Some(4), 1)]),
            Op::Reshape(vec![8, 8]),
        ),
        Op::Transpose,
        Op::SwapDims(0, 2),
        Op::Permute(vec![2, 0, 1]),
        Op::Flip(vec![1, 2]),
        Op::Flip(vec![0]),
        Op::Select(1, vec![5, 0, 0, 3]),
        Op::Select(2, vec![7, 1, 1, 4]),
        Op::Slice(vec![sl(1, Some(3), 1), full(), sl(4, Some(8), 1)]),
        Op::Slice(vec![full(), sl(0, Some(6), 2)]),
        Op::Slice(vec![sl(0, None, -1), sl(1, Some(5), -2), sl(3, None, -3)]),
        Op::Gather(2, idx_last),
        Op::Gather(0, idx_first),
        Op::Expand(vec![2, 4, 6, 8]),
        then(
            Op::Slice(vec![full(), sl(0, Some(1), 1)]),
            Op::Expand(vec![4, 6, 8]),
        ),
        Op::RepeatDim(1, 2),
        Op::RepeatDim(2, 3),
        Op::Cat(1, vec![Op::Same, Op::Flip(vec![2])]),
        Op::Cat(0, vec![Op::Same, Op::Slice(vec![sl(0, Some(1), 1)])]),
        // Views (strided, not row-major), then ops on them.
        then(Op::SwapDims(0, 2), Op::Reshape(vec![8, 24])),
        then(
            Op::Permute(vec![2, 0, 1]),
            Op::Slice(vec![sl(1, Some(5), 1), full(), sl(2, Some(6), 1)]),
        ),
        then(Op::Transpose, Op::Select(1, vec![0, 7, 3, 3])),
        then(Op::Transpose, Op::Gather(2, idx_t)),
        then(Op::Permute(vec![1, 2, 0]), Op::Flip(vec![0, 2])),
        then(Op::Transpose, Op::RepeatDim(0, 2)),
        then(
            Op::SwapDims(0, 1),
            Op::Cat(2, vec![Op::Same, then(Op::Transpose, Op::Transpose)]),
        ),
        // Slices that cut the last block of an axis short, then ops along that axis.
        then(cut_last(), Op::Flip(vec![2])),
        then(cut_last(), Op::RepeatDim(2, 2)),
        then(cut_last(), Op::Cat(2, vec![Op::Same, Op::Flip(vec![2])])),
        then(cut_last(), Op::Select(2, vec![5, 0, 4, 4])),
        then(
            cut_last(),
            Op::Gather(2, ints([4, 6, 4], 14, 0, 6, DType::I32)),
        ),
        then(cut_last(), then(Op::Transpose, Op::Reshape(vec![4, 36]))),
        then(cut_rows(), Op::Flip(vec![1])),
        then(cut_rows(), Op::RepeatDim(1, 2)),
        then(cut_rows(), Op::Slice(vec![full(), sl(1, None, 1)])),
    ]
}

/// Ordering and reduction ops with quantized results on [`SHAPE`].
fn ordering_ops() -> Vec<Op> {
    vec![
        Op::Sort(2, false),
        Op::Sort(0, true),
        Op::SortWithIndices(1, true),
        Op::SortWithIndices(2, false),
        Op::TopK(2, 4),
        Op::TopK(0, 2),
        Op::Abs,
        Op::Max,
        Op::MaxDim(1),
        Op::MaxDimWithIndices(2),
        Op::Min,
        Op::MinDim(0),
        Op::MinDimWithIndices(1),
        Op::MaxAbs,
        Op::MaxAbsDim(2),
        Op::MaxAbsDim(0),
        then(Op::Permute(vec![1, 2, 0]), Op::Sort(2, false)),
        then(Op::Transpose, Op::MaxDimWithIndices(1)),
        then(Op::Flip(vec![2]), Op::TopK(2, 4)),
        then(Op::SwapDims(0, 2), Op::MaxAbsDim(1)),
        then(Op::Transpose, Op::Abs),
    ]
}

/// `ops` on [`SHAPE`] inputs for every value type at `level`; the store alternates between
/// ops (it only changes the data format, which every case reads).
fn sweep(level: QuantLevel, ops: &[Op], seed: u64) {
    for (v, value) in VALUES.iter().enumerate() {
        let x = floats(SHAPE, seed + v as u64);
        for (i, op) in ops.iter().enumerate() {
            let store = STORES[(i + v) % 2];
            check_op("", scheme(*value, level, store), &x, op);
        }
    }
}

#[test]
fn layout_ops_per_tensor() {
    sweep(QuantLevel::Tensor, &layout_ops(), 10);
}

#[test]
fn layout_ops_per_block() {
    let [_, half_rows, row_pairs] = levels();
    sweep(half_rows, &layout_ops(), 20);
    sweep(row_pairs, &layout_ops(), 30);
}

#[test]
fn ordering_ops_per_tensor() {
    sweep(QuantLevel::Tensor, &ordering_ops(), 40);
}

#[test]
fn ordering_ops_per_block() {
    let [_, half_rows, row_pairs] = levels();
    sweep(half_rows, &ordering_ops(), 50);
    sweep(row_pairs, &ordering_ops(), 60);
}

/// Many equal values (a few distinct levels): ties in sorts and arg-reductions.
#[test]
fn ordering_ops_with_ties() {
    let x = floats_from(SHAPE, 70, &[-2.0, -0.5, 0.0, 0.5, 2.0]);
    for value in [QuantValue::Q8S, QuantValue::Q2F] {
        for level in levels() {
            for op in ordering_ops() {
                check_op("ties", scheme(value, level, QuantStore::Native), &x, &op);
            }
        }
    }
}

/// Blocks that straddle rows (runs of 6 over rows of 10), quantized with given scales on both
/// sides (Burn's `compute_range` cannot lay out such blocks).
#[test]
fn blocks_straddling_rows() {
    let x = floats([3, 10], 80);
    for value in VALUES {
        for store in STORES {
            let scheme = scheme(value, QuantLevel::block([6]), store);
            let label = format!("{scheme:?}");
            let (a, b) = value.range();
            let xs: Vec<f32> = x.iter::<f32>().collect();
            let scales: Vec<f32> = xs
                .chunks(6)
                .map(|c| c.iter().fold(0.0f32, |m, v| m.max(v.abs())) * 2.0 / (b - a))
                .collect();
            let scales = TensorData::new(scales, [5]);
            let run = |oracle: bool| -> (TensorData, TensorData) {
                fn go<B: Backend>(
                    cx: &Cx<B>,
                    x: &TensorData,
                    s: &TensorData,
                    scheme: QuantScheme,
                ) -> (TensorData, TensorData) {
                    let q = B::quantize(
                        cx.f(x),
                        &scheme_for(cx, scheme),
                        QuantizationParametersPrimitive { scales: cx.f(s) },
                    );
                    (rq::<B>(q.clone()), rdq::<B>(q))
                }
                if oracle {
                    go(&nd_cx(), &x, &scales, scheme)
                } else {
                    go(&mlx_cx(), &x, &scales, scheme)
                }
            };
            let (got, want) = (run(false), run(true));
            assert_q(
                &label,
                scheme,
                (Some(got.0), got.1),
                (Some(want.0), want.1),
                Oracle::Same,
            );
            // MLX's min-max scales: the same runs of 6.
            let dynamic = M::quantize_dynamic(mlx_cx().f(&x), &scheme);
            let (got, want) = (
                (Some(rq::<M>(dynamic.clone())), rdq::<M>(dynamic)),
                run(true),
            );
            assert_q(
                &format!("{label} quantize_dynamic"),
                scheme,
                got,
                (Some(want.0), want.1),
                Oracle::Same,
            );
            // Layout ops over blocks that straddle rows: re-quantized on export where the
            // blocks no longer line up.
            for op in [
                Op::Reshape(vec![5, 6]),
                Op::Transpose,
                Op::Flip(vec![1]),
                Op::Slice(vec![sl(0, None, 1), sl(1, Some(7), 1)]),
                Op::Select(1, vec![9, 0, 4, 4, 5, 1]),
                Op::Cat(0, vec![Op::Same, Op::Flip(vec![0])]),
                Op::Sort(1, true),
            ] {
                let oracle = op.oracle(scheme);
                let (t, _) = op.q::<M>(&mlx_cx(), M::quantize_dynamic(mlx_cx().f(&x), &scheme));
                let nx = nd_cx();
                let q = Nd::quantize(
                    nx.f(&x),
                    &scheme_for(&nx, scheme),
                    QuantizationParametersPrimitive {
                        scales: nx.f(&scales),
                    },
                );
                let (want_f, _) = op.f::<Nd>(&nx, Nd::dequantize(q.clone(), FloatDType::F32));
                let want_f = rf::<Nd>(want_f);
                let want_data = match oracle {
                    Oracle::Same => rq::<Nd>(op.q::<Nd>(&nx, q).0),
                    _ => nd_requantize(&want_f, scheme),
                };
                assert_q(
                    &format!("{label} {op:?}"),
                    scheme,
                    (Some(rq::<M>(t.clone())), rdq::<M>(t)),
                    (Some(want_data), want_f),
                    oracle,
                );
            }
        }
    }
}

/// Scales given by hand, some negative (Burn's quantization takes any non-zero scale: `x ≈ s·q`
/// holds with `q` of the opposite sign): orderings and absolute values must follow the
/// dequantized values.
#[test]
fn negative_scales() {
    let x = floats(SHAPE, 85);
    let xs: Vec<f32> = x.iter::<f32>().collect();
    for (v, value) in VALUES.into_iter().enumerate() {
        let (a, b) = value.range();
        for level in levels() {
            let chunk = match level {
                QuantLevel::Tensor => xs.len(),
                QuantLevel::Block(b) => b.num_elements(),
            };
            let scales: Vec<f32> = xs
                .chunks(chunk)
                .enumerate()
                .map(|(i, c)| {
                    let s = c.iter().fold(0.0f32, |m, v| m.max(v.abs())) * 2.0 / (b - a);
                    if i % 3 == 1 || chunk == xs.len() {
                        -s
                    } else {
                        s
                    }
                })
                .collect();
            let n = scales.len();
            let scales = TensorData::new(scales, [n]);
            let scheme = scheme(value, level, STORES[v % 2]);
            for op in ordering_ops()
                .iter()
                .chain(&[Op::Transpose, Op::Flip(vec![2])])
            {
                check_op_scaled("negative scales", scheme, &x, Some(&scales), op);
            }
        }
    }
}

/// A slice that leaves a partial block: exact values, and an export that says why it cannot
/// be written.
#[test]
fn results_that_blocks_do_not_tile() {
    let x = floats(SHAPE, 90);
    let scheme = scheme(
        QuantValue::Q4S,
        QuantLevel::block([2, 8]),
        QuantStore::Native,
    );
    for op in [
        Op::Slice(vec![sl(0, Some(1), 1), sl(0, Some(3), 1)]),
        Op::Select(2, vec![1, 2, 3]),
        Op::MaxDim(2),
    ] {
        check_op("partial blocks", scheme, &x, &op);
    }
}

/// Ops on rank-1 and rank-4 tensors.
#[test]
fn other_ranks() {
    let full = || sl(0, None, 1);
    let x1 = floats([32], 95);
    let ops1 = vec![
        Op::Reshape(vec![4, 8]),
        Op::Flip(vec![0]),
        Op::Slice(vec![sl(8, Some(24), 1)]),
        Op::Slice(vec![sl(0, None, -1)]),
        Op::Select(0, vec![3, 31, 0, 9, 9, 17, 30, 4]),
        Op::Gather(0, ints([16], 96, 0, 32, DType::I32)),
        Op::RepeatDim(0, 2),
        Op::Expand(vec![2, 32]),
        Op::Cat(0, vec![Op::Same, Op::Flip(vec![0])]),
        Op::Sort(0, true),
        Op::TopK(0, 8),
        Op::Max,
        Op::MinDimWithIndices(0),
        Op::MaxAbsDim(0),
    ];
    let x4 = floats([2, 3, 4, 8], 97);
    let ops4 = vec![
        Op::Permute(vec![3, 1, 0, 2]),
        Op::SwapDims(1, 3),
        then(Op::Permute(vec![2, 0, 3, 1]), Op::Reshape(vec![8, 24])),
        Op::Slice(vec![full(), sl(1, Some(3), 1)]),
        Op::Flip(vec![0, 3]),
        Op::MaxDim(2),
        Op::Sort(3, false),
        then(Op::SwapDims(0, 2), Op::Select(0, vec![3, 1, 1, 0])),
        then(Op::Transpose, Op::Cat(1, vec![Op::Same, Op::Same])),
    ];
    for (v, value) in VALUES.into_iter().enumerate() {
        for (i, level) in [QuantLevel::Tensor, QuantLevel::block([8])]
            .into_iter()
            .enumerate()
        {
            for op in &ops1 {
                check_op("rank 1", scheme(value, level, STORES[(v + i) % 2]), &x1, op);
            }
        }
        for (i, level) in [QuantLevel::Tensor, QuantLevel::block([4, 8])]
            .into_iter()
            .enumerate()
        {
            for op in &ops4 {
                check_op(
                    "rank 4",
                    scheme(value, level, STORES[(v + i + 1) % 2]),
                    &x4,
                    op,
                );
            }
        }
    }
}

/// `q_cat` of different tensors: their scales differ, so the result has no single scale per
/// block and is written re-quantized. A tensor with another scheme than the first is quantized
/// again with the first one's (as Burn's default body does for all of them; the first keeps its
/// exact values).
#[test]
fn cat_of_different_tensors() {
    let a = floats(SHAPE, 98);
    for (v, value) in VALUES.into_iter().enumerate() {
        for level in levels() {
            let first = scheme(value, level, STORES[v % 2]);
            let other = scheme(VALUES[(v + 3) % 6], QuantLevel::Tensor, QuantStore::Native);
            for dim in 0..3 {
                // (Burn's `compute_range` needs the block to divide the last dimension.)
                let mut shape = SHAPE.to_vec();
                shape[dim] = if dim == 2 { 8 } else { 2 };
                let b = floats(&shape, 99 + dim as u64);
                for second in [first, other] {
                    let label = format!("q_cat dim {dim} {first:?} with {second:?}");
                    let cx = mlx_cx();
                    let t = M::q_cat(vec![qt(&cx, &a, first), qt(&cx, &b, second)], dim);
                    let got = (Some(rq::<M>(t.clone())), rdq::<M>(t));
                    let nx = nd_cx();
                    let fa = rdq::<Nd>(qt(&nx, &a, first));
                    let mut fb = rdq::<Nd>(qt(&nx, &b, second));
                    if second != first {
                        fb = host_dequantize(&nd_requantize(&fb, first));
                    }
                    let want_f = rf::<Nd>(Nd::float_cat(
                        vec![
                            Nd::float_from_data(fa, &nx.dev),
                            Nd::float_from_data(fb, &nx.dev),
                        ],
                        dim,
                    ));
                    let want = (Some(nd_requantize(&want_f, first)), want_f);
                    assert_q(&label, first, got, want, Oracle::Float);
                }
            }
        }
    }
}

/// Values exactly halfway between two quantized levels. Burn's reference rounds them away from
/// zero (`f32::round` in burn-ndarray's `SymmetricQuantization`), where MLX's own `round` would
/// round them to even: 2.5 must become 3, not 2.
#[test]
fn rounding_ties_round_half_away_from_zero() {
    for value in VALUES {
        let (a, b) = value.range();
        // The largest magnitude `(b - a) / 2` makes every min-max scale exactly 1.
        let m = (b - a) / 2.0;
        let halves: Vec<f32> = (a as i32..b as i32).map(|k| k as f32 + 0.5).collect();
        // Rows of 8, each starting with the largest magnitude (so per-row blocks get scale 1).
        let v: Vec<f32> = (0..32)
            .map(|i| match i % 8 {
                0 if (i / 8) % 2 == 0 => m,
                0 => -m,
                j => halves[(i + j) % halves.len()],
            })
            .collect();
        let x = TensorData::new(v.clone(), [4, 8]);
        for level in [QuantLevel::Tensor, QuantLevel::block([8])] {
            for store in STORES {
                let scheme = scheme(value, level, store);
                check_op("ties", scheme, &x, &Op::Same);
                // And by hand: `clamp(round(x), a, b)`, halves away from zero.
                let (values, scales) = decode(&rq::<M>(qt(&mlx_cx(), &x, scheme)));
                assert!(scales.iter().all(|s| *s == 1.0), "{scheme:?}: {scales:?}");
                let want: Vec<i8> = v.iter().map(|x| x.round().clamp(a, b) as i8).collect();
                assert_eq!(values, want, "{scheme:?}");
            }
        }
    }
}

// ---- creating, reading, moving ----------------------------------------------------------------

/// `quantize_dynamic` and `dequantize` for every supported scheme, on [`SHAPE`] and a shape
/// whose size is not a multiple of 4 (a partial `u32` word at the end of `PackedU32` data).
#[test]
fn quantize_dynamic_and_dequantize() {
    for (shape, levels) in [
        (vec![4, 6, 8], levels().to_vec()),
        (vec![3, 5], vec![QuantLevel::Tensor, QuantLevel::block([5])]),
    ] {
        let x = floats(&shape, 100);
        for value in VALUES {
            for &level in &levels {
                for store in STORES {
                    check_op(
                        "quantize_dynamic",
                        scheme(value, level, store),
                        &x,
                        &Op::Same,
                    );
                }
            }
        }
    }
}

/// `quantize` with given scales: zero (read as 0.1), exact halves, tiny and large ones.
#[test]
fn quantize_with_given_scales() {
    let x = floats_in([4, 16], 110, -2.0, 2.0);
    for value in VALUES {
        for store in STORES {
            for (level, scales) in [
                (QuantLevel::Tensor, vec![0.0123f32]),
                (QuantLevel::Tensor, vec![0.0]),
                (QuantLevel::block([16]), vec![0.5, 0.0, 1e-3, 0.25]),
                (
                    QuantLevel::block([8]),
                    vec![0.1, 0.02, 0.3, 1.0, 0.0, 0.25, 0.75, 4.0],
                ),
            ] {
                let scheme = scheme(value, level, store);
                let s = TensorData::new(scales.clone(), [scales.len()]);
                let go = |oracle: bool| {
                    fn go<B: Backend>(
                        cx: &Cx<B>,
                        x: &TensorData,
                        s: &TensorData,
                        scheme: QuantScheme,
                    ) -> (Option<TensorData>, TensorData) {
                        let q = B::quantize(
                            cx.f(x),
                            &scheme_for(cx, scheme),
                            QuantizationParametersPrimitive { scales: cx.f(s) },
                        );
                        (Some(rq::<B>(q.clone())), rdq::<B>(q))
                    }
                    if oracle {
                        go(&nd_cx(), &x, &s, scheme)
                    } else {
                        go(&mlx_cx(), &x, &s, scheme)
                    }
                };
                assert_q(
                    &format!("quantize {scheme:?} {scales:?}"),
                    scheme,
                    go(false),
                    go(true),
                    Oracle::Same,
                );
            }
        }
    }
}

/// `quantize` with the parameters Burn's own calibration makes (`compute_range`,
/// `compute_q_params`: scales laid out on the block grid, not flat), computed on each backend.
#[test]
fn quantize_with_burn_calibration() {
    use burn_backend::quantization::{Calibration, compute_q_params, compute_range};
    let x = floats(SHAPE, 115);
    for (v, value) in VALUES.into_iter().enumerate() {
        for level in levels() {
            let scheme = scheme(value, level, STORES[v % 2]);
            let case = |oracle: bool| {
                fn go<B: Backend>(
                    cx: &Cx<B>,
                    x: &TensorData,
                    scheme: QuantScheme,
                ) -> (Option<TensorData>, TensorData) {
                    let scheme = scheme_for(cx, scheme);
                    let (min, max) = compute_range::<B>(&scheme, cx.f(x), &Calibration::MinMax);
                    let q = B::quantize(cx.f(x), &scheme, compute_q_params(&scheme, min, max));
                    (Some(rq::<B>(q.clone())), rdq::<B>(q))
                }
                if oracle {
                    go(&nd_cx(), &x, scheme)
                } else {
                    go(&mlx_cx(), &x, scheme)
                }
            };
            assert_q(
                &format!("calibrated {scheme:?}"),
                scheme,
                case(false),
                case(true),
                Oracle::Same,
            );
        }
    }
}

/// `dequantize` into each float dtype: the f32 product converted once, as burn-ndarray does.
#[test]
fn dequantize_to_each_dtype() {
    let x = floats(SHAPE, 120);
    for (value, level) in [
        (QuantValue::Q8F, QuantLevel::block([4])),
        (QuantValue::Q4S, QuantLevel::Tensor),
        (QuantValue::Q2F, QuantLevel::block([2, 8])),
    ] {
        let scheme = scheme(value, level, QuantStore::PackedU32(0));
        for dtype in [
            FloatDType::F32,
            FloatDType::F16,
            FloatDType::BF16,
            FloatDType::F64,
        ] {
            let got = rf::<M>(M::dequantize(qt(&mlx_cx(), &x, scheme), dtype));
            assert_eq!(got.dtype, DType::from(dtype), "{scheme:?} -> {dtype:?}");
            // ndarray has no F16/BF16 tensors: its f32 values, converted on the host.
            let want = rdq::<Nd>(qt(&nd_cx(), &x, scheme)).convert_dtype(dtype.into());
            assert_eq!(got.as_bytes(), want.as_bytes(), "{scheme:?} -> {dtype:?}");
        }
    }
}

/// Packs `i8` values of `bits` bits into little-endian `u32` words, lowest bits first (Burn's
/// `PackedU32(0)` layout; checked against Burn's decoder below).
fn pack_u32(values: &[i8], bits: usize) -> Vec<u8> {
    let mask = (1u32 << bits) - 1;
    values
        .chunks(32 / bits)
        .flat_map(|word| {
            word.iter()
                .enumerate()
                .fold(0u32, |acc, (i, v)| {
                    acc | ((*v as u8 as u32) & mask) << (i * bits)
                })
                .to_le_bytes()
        })
        .collect()
}

/// `q_from_data` of data written by burn-ndarray (`Native`), and of the same values packed
/// into `u32` words, for every value type and level; then `q_into_data` gives them back.
#[test]
fn from_data_and_into_data() {
    for shape in [vec![4, 6, 8], vec![2, 5, 3]] {
        let x = floats(&shape, 130);
        for value in VALUES {
            let mut levels = vec![QuantLevel::Tensor, QuantLevel::block([shape[2] as u8])];
            if shape == [4, 6, 8] {
                levels.push(QuantLevel::block([2, 8]));
            }
            for level in levels {
                let native = scheme(value, level, QuantStore::Native);
                let data = rq::<Nd>(qt(&nd_cx(), &x, native));
                let want = rdq::<Nd>(qt(&nd_cx(), &x, native));
                let (values, scales) = decode(&data);
                let mut packed = pack_u32(&values, value.size_bits());
                packed.extend(scales.iter().flat_map(|s| s.to_le_bytes()));
                let packed_scheme = native.with_store(QuantStore::PackedU32(0));
                let packed =
                    TensorData::from_bytes_vec(packed, shape.clone(), DType::QFloat(packed_scheme));
                assert_eq!(decode(&packed), (values.clone(), scales.clone()), "packing");
                for data in [data.clone(), packed] {
                    let label = format!("q_from_data {:?} {shape:?}", data.dtype);
                    let t = M::q_from_data(data.clone(), &mlx_device());
                    assert_eq!(t.shape(), Shape::from(shape.clone()), "{label}: shape");
                    assert_eq!(t.dtype(), data.dtype, "{label}: dtype");
                    assert_data_close(&label, &rdq::<M>(t.clone()), &want, EXACT);
                    assert_eq!(
                        rq::<M>(t).as_bytes(),
                        data.as_bytes(),
                        "{label}: q_into_data"
                    );
                    // burn-ndarray loads 8-bit values only, and from `PackedU32` only without
                    // padding (its reader keeps the padding of the last word for 8-bit values).
                    let padded = data.as_bytes().len() > values.len() + 4 * scales.len();
                    if value.size_bits() == 8 && !padded {
                        let r = Nd::q_from_data(data.clone(), &Default::default());
                        assert_data_close(&label, &rdq::<Nd>(r), &want, EXACT);
                    }
                }
            }
        }
    }
}

#[test]
fn device_ops() {
    let x = floats(SHAPE, 140);
    let scheme = scheme(
        QuantValue::Q4F,
        QuantLevel::block([4]),
        QuantStore::PackedU32(0),
    );
    let q = qt(&mlx_cx(), &x, scheme);
    assert_eq!(M::q_device(&q), mlx_device());
    let r = qt(&nd_cx(), &x, scheme);
    assert_eq!(Nd::q_device(&r), Default::default());
    let mut devices = vec![MlxDevice::Cpu];
    if MlxDevice::Gpu.is_available() {
        devices.push(MlxDevice::Gpu);
    }
    for device in devices {
        let moved = M::q_to_device(q.clone(), &device);
        assert_eq!(M::q_device(&moved), device);
        assert_q(
            &format!("q_to_device {device:?}"),
            scheme,
            (Some(rq::<M>(moved.clone())), rdq::<M>(moved)),
            (Some(rq::<Nd>(r.clone())), rdq::<Nd>(r.clone())),
            Oracle::Same,
        );
    }
    let moved = Nd::q_to_device(r.clone(), &Default::default());
    assert_eq!(rq::<Nd>(moved).as_bytes(), rq::<Nd>(r).as_bytes());
}

/// Outside `Autodiff`, quantized tensors track no gradient: the three methods leave the tensor
/// as it is, on both backends.
#[test]
fn gradient_flags() {
    let x = floats(SHAPE, 150);
    let scheme = scheme(
        QuantValue::Q8S,
        QuantLevel::block([2, 8]),
        QuantStore::Native,
    );
    let case = case!(x: TensorData = x, scheme: QuantScheme = scheme; |B, cx| {
        let q = qt(cx, &x, scheme);
        let q = B::q_set_require_grad(q, true);
        assert!(!B::q_is_require_grad(&q), "a plain backend tracks no gradient");
        let q = B::q_detach(q);
        assert!(!B::q_is_require_grad(&q));
        rdq::<B>(q)
    });
    let (got, want) = run_both(Prec::F32, &case);
    assert_data_close("flags", &got[0], &want[0], EXACT);
}

// ---- float, int and bool results --------------------------------------------------------------

/// Ops whose result is not quantized (Burn's default bodies: dequantize, run the float op;
/// quantization is not propagated by default).
#[derive(Clone, Debug)]
enum FOp {
    Add,
    Sub,
    Mul,
    Div,
    Powf,
    AddScalar(f64),
    SubScalar(f64),
    MulScalar(f64),
    DivScalar(f64),
    ClampMin(f64),
    ClampMax(f64),
    Clamp(f64, f64),
    Powi,
    PowiScalar(i64),
    PowfScalar(f64),
    Neg,
    Recip,
    Sum,
    SumDim(usize),
    Prod,
    ProdDim(usize),
    Mean,
    MeanDim(usize),
    CumSum(usize),
    CumProd(usize),
    CumMin(usize),
    CumMax(usize),
    Exp,
    Log,
    Log1p,
    Sqrt,
    Cos,
    Sin,
    Tan,
    Cosh,
    Sinh,
    Tanh,
    Erf,
    ArgMax(usize),
    ArgMin(usize),
    ArgTopK(usize, usize),
    ArgSort(usize, bool),
    Any,
    AnyDim(usize),
    All,
    AllDim(usize),
    /// The op after a view of both operands (a permutation).
    Permuted(Vec<usize>, Box<FOp>),
}

impl FOp {
    fn tol(&self) -> Tol {
        match self {
            // Sums of up to 192 values in another order.
            FOp::Sum | FOp::SumDim(_) | FOp::Mean | FOp::MeanDim(_) | FOp::CumSum(_) => {
                Tol::new(1e-4, 1e-4)
            }
            FOp::Permuted(_, op) => op.tol(),
            _ => Prec::F32.tol(),
        }
    }

    /// The op on quantized operands `a` and `b` (same shape and scheme; `p` holds small
    /// integer exponents for `q_powi`).
    fn run<B: Backend>(
        &self,
        cx: &Cx<B>,
        a: QuantizedTensor<B>,
        b: QuantizedTensor<B>,
        p: &TensorData,
    ) -> TensorData {
        let per_block = matches!(a.scheme().level, QuantLevel::Block(_));
        match self {
            FOp::Add => float_of::<B>(B::q_add(a, b)),
            FOp::Sub => float_of::<B>(B::q_sub(a, b)),
            FOp::Mul => float_of::<B>(B::q_mul(a, b)),
            FOp::Div => float_of::<B>(B::q_div(a, b)),
            FOp::Powf => float_of::<B>(B::q_powf(a, b)),
            FOp::AddScalar(s) => float_of::<B>(B::q_add_scalar(a, Scalar::Float(*s))),
            FOp::SubScalar(s) => float_of::<B>(B::q_sub_scalar(a, Scalar::Float(*s))),
            FOp::MulScalar(s) => float_of::<B>(B::q_mul_scalar(a, Scalar::Float(*s))),
            FOp::DivScalar(s) => float_of::<B>(B::q_div_scalar(a, Scalar::Float(*s))),
            FOp::ClampMin(s) => float_of::<B>(B::q_clamp_min(a, Scalar::Float(*s))),
            FOp::ClampMax(s) => float_of::<B>(B::q_clamp_max(a, Scalar::Float(*s))),
            FOp::Clamp(lo, hi) => {
                float_of::<B>(B::q_clamp(a, Scalar::Float(*lo), Scalar::Float(*hi)))
            }
            FOp::Powi => float_of::<B>(B::q_powi(a, cx.i(p))),
            FOp::PowiScalar(e) => float_of::<B>(B::q_powi_scalar(a, Scalar::Int(*e))),
            FOp::PowfScalar(e) => float_of::<B>(B::q_powf_scalar(a, Scalar::Float(*e))),
            FOp::Neg => float_of::<B>(B::q_neg(a)),
            FOp::Recip => float_of::<B>(B::q_recip(a)),
            FOp::Sum => float_of::<B>(B::q_sum(a)),
            FOp::SumDim(d) => float_of::<B>(B::q_sum_dim(a, *d)),
            FOp::Prod => float_of::<B>(B::q_prod(a)),
            FOp::ProdDim(d) => float_of::<B>(B::q_prod_dim(a, *d)),
            FOp::Mean => float_of::<B>(B::q_mean(a)),
            FOp::MeanDim(d) => float_of::<B>(B::q_mean_dim(a, *d)),
            FOp::CumSum(d) => float_of::<B>(B::q_cumsum(a, *d)),
            FOp::CumProd(d) => float_of::<B>(B::q_cumprod(a, *d)),
            FOp::CumMin(d) => float_of::<B>(B::q_cummin(a, *d)),
            FOp::CumMax(d) => float_of::<B>(B::q_cummax(a, *d)),
            FOp::Exp => float_of::<B>(B::q_exp(a)),
            FOp::Log => float_of::<B>(B::q_log(a)),
            FOp::Log1p => float_of::<B>(B::q_log1p(a)),
            FOp::Sqrt => float_of::<B>(B::q_sqrt(a)),
            FOp::Cos => float_of::<B>(B::q_cos(a)),
            FOp::Sin => float_of::<B>(B::q_sin(a)),
            FOp::Tan => float_of::<B>(B::q_tan(a)),
            FOp::Cosh => float_of::<B>(B::q_cosh(a)),
            FOp::Sinh => float_of::<B>(B::q_sinh(a)),
            FOp::Tanh => float_of::<B>(B::q_tanh(a)),
            FOp::Erf => float_of::<B>(B::q_erf(a)),
            // burn-ndarray's `q_argmax` / `q_argmin` compare the stored integers, which ignores
            // the scales: right per tensor, not across blocks. There the oracle compares the
            // dequantized values.
            FOp::ArgMax(d) if cx.oracle && per_block => {
                ri::<B>(B::float_argmax(B::dequantize(a, FloatDType::F32), *d, I32))
            }
            FOp::ArgMax(d) => ri::<B>(B::q_argmax(a, *d, I32)),
            FOp::ArgMin(d) if cx.oracle && per_block => {
                ri::<B>(B::float_argmin(B::dequantize(a, FloatDType::F32), *d, I32))
            }
            FOp::ArgMin(d) => ri::<B>(B::q_argmin(a, *d, I32)),
            // burn-ndarray has no argtopk: the oracle takes the first k indices of its stable
            // descending argsort (Burn's contract: ties ordered by lowest index).
            FOp::ArgTopK(..) if cx.oracle => self.run_float::<B>(
                B::dequantize(a, FloatDType::F32),
                B::dequantize(b, FloatDType::F32),
            ),
            FOp::ArgTopK(d, k) => ri::<B>(B::q_argtopk(a, *d, *k, I32)),
            FOp::ArgSort(d, desc) => ri::<B>(B::q_argsort(a, *d, *desc, I32)),
            FOp::Any => rb::<B>(B::q_any(a, BOOL_OUT)),
            FOp::AnyDim(d) => rb::<B>(B::q_any_dim(a, *d, BOOL_OUT)),
            FOp::All => rb::<B>(B::q_all(a, BOOL_OUT)),
            FOp::AllDim(d) => rb::<B>(B::q_all_dim(a, *d, BOOL_OUT)),
            // burn-ndarray's `q_permute` leaves per-block scales in place: its oracle permutes
            // the dequantized values and runs the float op (what Burn's default bodies run).
            FOp::Permuted(axes, op) if cx.oracle && per_block => {
                let deq = |t| B::float_permute(B::dequantize(t, FloatDType::F32), axes);
                op.run_float::<B>(deq(a), deq(b))
            }
            FOp::Permuted(axes, op) => {
                let (a, b) = (B::q_permute(a, axes), B::q_permute(b, axes));
                let p = host_permute(p, axes);
                op.run(cx, a, b, &p)
            }
        }
    }

    /// The float op behind a few of the ops, on dequantized operands.
    fn run_float<B: Backend>(&self, a: FloatTensor<B>, b: FloatTensor<B>) -> TensorData {
        match self {
            FOp::Add => rf::<B>(B::float_add(a, b)),
            FOp::SumDim(d) => rf::<B>(B::float_sum_dim(a, *d)),
            FOp::CumSum(d) => rf::<B>(B::float_cumsum(a, *d)),
            FOp::ArgMax(d) => ri::<B>(B::float_argmax(a, *d, I32)),
            FOp::ArgTopK(d, k) => {
                let idx = B::float_argsort(a, *d, true, I32);
                let mut s = vec![sl(0, None, 1); idx.shape().num_dims()];
                s[*d] = sl(0, Some(*k as isize), 1);
                ri::<B>(B::int_slice(idx, &s))
            }
            op => unreachable!("no float form written for {op:?}"),
        }
    }
}

fn float_ops() -> Vec<FOp> {
    use FOp::*;
    vec![
        Add,
        Sub,
        Mul,
        Div,
        Powf,
        AddScalar(0.75),
        SubScalar(-1.5),
        MulScalar(-2.5),
        DivScalar(0.3),
        ClampMin(-0.5),
        ClampMax(1.25),
        Clamp(-1.0, 0.8),
        Powi,
        PowiScalar(3),
        PowfScalar(1.5),
        Neg,
        Recip,
        Sum,
        SumDim(1),
        Prod,
        ProdDim(2),
        Mean,
        MeanDim(0),
        CumSum(2),
        CumProd(1),
        CumMin(0),
        CumMax(2),
        Exp,
        Log,
        Log1p,
        Sqrt,
        Cos,
        Sin,
        Tan,
        Cosh,
        Sinh,
        Tanh,
        Erf,
        ArgMax(2),
        ArgMax(0),
        ArgMin(1),
        ArgTopK(2, 3),
        ArgTopK(0, 4),
        ArgSort(1, false),
        ArgSort(2, true),
        Any,
        AnyDim(2),
        All,
        AllDim(1),
        Permuted(vec![2, 0, 1], Box::new(Add)),
        Permuted(vec![1, 2, 0], Box::new(SumDim(2))),
        Permuted(vec![2, 1, 0], Box::new(ArgMax(1))),
        Permuted(vec![0, 2, 1], Box::new(ArgTopK(1, 2))),
        Permuted(vec![2, 0, 1], Box::new(CumSum(0))),
    ]
}

/// Every op of [`float_ops`] on `a` and `b` (quantized with `scheme`) on both backends.
fn check_float_ops(scheme: QuantScheme, a: &TensorData, b: &TensorData) {
    let p = ints(SHAPE, 160, 0, 4, DType::I32);
    for op in float_ops() {
        let label = format!("{op:?} {scheme:?}");
        let case = case!(a: TensorData = a.clone(), b: TensorData = b.clone(), p: TensorData = p.clone(), op: FOp = op.clone(), scheme: QuantScheme = scheme; |B, cx| {
            op.run(cx, qt(cx, &a, scheme), qt(cx, &b, scheme), &p)
        });
        check_tol(label, Prec::F32, op.tol(), &case);
    }
}

#[test]
fn float_results_per_tensor() {
    for (v, value) in VALUES.into_iter().enumerate() {
        let s = scheme(value, QuantLevel::Tensor, STORES[v % 2]);
        check_float_ops(s, &floats(SHAPE, 170), &floats(SHAPE, 171));
    }
}

#[test]
fn float_results_per_block() {
    for (v, value) in VALUES.into_iter().enumerate() {
        let level = levels()[1 + v % 2];
        let s = scheme(value, level, STORES[(v + 1) % 2]);
        check_float_ops(s, &floats(SHAPE, 180), &floats(SHAPE, 181));
    }
}

/// Positive operands, where `log`, `sqrt` and fractional powers are defined everywhere (and
/// ties: many equal values for the arg-reductions).
#[test]
fn float_results_positive_and_tied() {
    let pos = (
        floats_in(SHAPE, 190, 0.25, 3.0),
        floats_in(SHAPE, 191, 0.25, 3.0),
    );
    let tied = (
        floats_from(SHAPE, 192, &[-1.0, 0.0, 0.5, 1.0]),
        floats_from(SHAPE, 193, &[0.0, 0.25, 2.0]),
    );
    for (value, level) in [
        (QuantValue::Q8F, QuantLevel::Tensor),
        (QuantValue::Q4S, QuantLevel::block([4])),
        (QuantValue::Q2F, QuantLevel::block([2, 8])),
    ] {
        let s = scheme(value, level, QuantStore::Native);
        check_float_ops(s, &pos.0, &pos.1);
        check_float_ops(s, &tied.0, &tied.1);
    }
}

// ---- q_matmul ---------------------------------------------------------------------------------

/// `q_matmul` operands.
#[derive(Clone, Debug)]
enum Operand {
    Float(TensorData),
    /// Quantized with the case's scheme.
    Q(TensorData),
    /// Quantized, then transposed (`q_transpose`): a strided view.
    QT(TensorData),
    /// Quantized, then dims 1 and 2 of a rank-3 tensor swapped (`q_swap_dims`).
    QSwap(TensorData),
    /// Quantized, then permuted.
    QPermute(TensorData, Vec<usize>),
}

impl Operand {
    fn make<B: Backend>(&self, cx: &Cx<B>, scheme: QuantScheme) -> TensorPrimitive<B> {
        // burn-ndarray's layout ops leave per-block scales in place, which pairs them with the
        // wrong values: its view of a block-quantized operand is taken on the dequantized
        // values instead (exact: moving values changes none of them).
        let view = |t: QuantizedTensor<B>, f: &dyn Fn(FloatTensor<B>) -> FloatTensor<B>| {
            if cx.oracle && scheme.level != QuantLevel::Tensor {
                // Made contiguous: burn-ndarray's matmul cannot reshape some strided views.
                let x = rf::<B>(f(B::dequantize(t, cx.fdtype())));
                TensorPrimitive::Float(B::float_from_data(x, &cx.dev))
            } else {
                TensorPrimitive::QFloat(t)
            }
        };
        match self {
            Operand::Float(x) => TensorPrimitive::Float(cx.f(x)),
            Operand::Q(x) => TensorPrimitive::QFloat(qt(cx, x, scheme)),
            Operand::QT(x) => match view(qt(cx, x, scheme), &|f| B::float_swap_dims(f, 0, 1)) {
                TensorPrimitive::QFloat(t) => TensorPrimitive::QFloat(B::q_transpose(t)),
                float => float,
            },
            Operand::QSwap(x) => match view(qt(cx, x, scheme), &|f| B::float_swap_dims(f, 1, 2)) {
                TensorPrimitive::QFloat(t) => TensorPrimitive::QFloat(B::q_swap_dims(t, 1, 2)),
                float => float,
            },
            Operand::QPermute(x, axes) => {
                match view(qt(cx, x, scheme), &|f| B::float_permute(f, axes)) {
                    TensorPrimitive::QFloat(t) => TensorPrimitive::QFloat(B::q_permute(t, axes)),
                    float => float,
                }
            }
        }
    }
}

/// Products on MLX's quantized-matmul kernel (blocks of 32 along a matrix axis, or one scale)
/// and on its fallback (blocks of 4 or 8: dequantized), against burn-ndarray's default body
/// (dequantize, float matmul).
#[test]
fn q_matmul() {
    let x = floats([5, 64], 200);
    let xb = floats([2, 5, 64], 201);
    let w = floats([64, 32], 202);
    let wt = floats([32, 64], 203);
    let wb = floats([1, 32, 64], 204);
    let y = floats([64, 7], 205);
    let l = floats([5, 64], 206);
    let lt = floats([64, 32], 207);
    let pairs: Vec<(Operand, Operand)> = vec![
        (Operand::Float(x.clone()), Operand::Q(w.clone())),
        (Operand::Float(x.clone()), Operand::QT(wt.clone())),
        (Operand::Float(xb), Operand::QSwap(wb)),
        (Operand::Q(l.clone()), Operand::Float(y.clone())),
        (Operand::QPermute(lt, vec![1, 0]), Operand::Float(y)),
        (Operand::Q(l), Operand::Q(w.clone())),
        (Operand::Float(x), Operand::QPermute(wt, vec![1, 0])),
    ];
    // The kernel computes `scale · u + bias` and accumulates the 64 products in its own order;
    // the oracle computes `scale · q` and accumulates in another: each product may differ by a
    // few units in the last place (products up to 9, sums up to about 100), so results agree
    // to about 64 · 9 · 2⁻²³ ≈ 7e-5 in absolute terms.
    let tol = Tol::new(1e-5, 1e-4);
    for (v, value) in VALUES.into_iter().enumerate() {
        for level in [
            QuantLevel::Tensor,
            QuantLevel::block([32]),
            QuantLevel::block([8]),
        ] {
            let scheme = scheme(value, level, STORES[v % 2]);
            for (lhs, rhs) in &pairs {
                let case = case!(lhs: Operand = lhs.clone(), rhs: Operand = rhs.clone(), scheme: QuantScheme = scheme; |B, cx| {
                    float_of::<B>(B::q_matmul(lhs.make(cx, scheme), rhs.make(cx, scheme)))
                });
                check_tol(
                    format!("q_matmul {lhs:?} @ {rhs:?} {scheme:?}"),
                    Prec::F32,
                    tol,
                    &case,
                );
            }
        }
    }
}

/// Activations in other float dtypes: float64 (dequantized, computed in float64 on both sides)
/// and half precision (MLX's kernel runs in the activations' dtype; the oracle in f32 on the
/// same rounded activations).
#[test]
fn q_matmul_other_precisions() {
    let x = floats([5, 64], 220);
    let w = floats([64, 32], 221);
    let wt = floats([32, 64], 222);
    let l = floats([5, 64], 223);
    let y = floats([64, 7], 224);
    let pairs = [
        (Operand::Float(x.clone()), Operand::Q(w)),
        (Operand::Float(x), Operand::QT(wt)),
        (Operand::Q(l), Operand::Float(y)),
    ];
    for (prec, tol) in [
        (Prec::F64, Prec::F64.tol()),
        // Half-precision scales (the kernel takes them in the activations' dtype) move each
        // product by up to one rounding step, 2⁻¹¹ (F16) or 2⁻⁸ (BF16) relative; over 64
        // products of magnitude up to 9 that is at most 0.28 (F16) or 2.3 (BF16), plus the
        // rounding of the result itself.
        (Prec::F16, Tol::new(1e-3, 0.3)),
        (Prec::BF16, Tol::new(8e-3, 2.5)),
    ] {
        for (value, level) in [
            (QuantValue::Q8S, QuantLevel::block([32])),
            (QuantValue::Q4F, QuantLevel::Tensor),
            (QuantValue::Q2S, QuantLevel::block([8])),
        ] {
            let scheme = scheme(value, level, QuantStore::PackedU32(0));
            for (lhs, rhs) in &pairs {
                let case = case!(lhs: Operand = lhs.clone(), rhs: Operand = rhs.clone(), scheme: QuantScheme = scheme; |B, cx| {
                    float_of::<B>(B::q_matmul(lhs.make(cx, scheme), rhs.make(cx, scheme)))
                });
                check_tol(
                    format!("q_matmul {lhs:?} @ {rhs:?} {scheme:?}"),
                    prec,
                    tol,
                    &case,
                );
            }
        }
    }
}

// ---- unsupported schemes ----------------------------------------------------------------------

/// Schemes outside the symmetric integer ones (or stores with no layout in Burn's data format)
/// are refused, naming the reason, by every op that makes a quantized tensor.
#[test]
fn unsupported_schemes_panic_with_the_reason() {
    let x = floats([2, 32], 210);
    let base = scheme(QuantValue::Q8S, QuantLevel::Tensor, QuantStore::Native);
    for (scheme, reason, oracle_refuses) in [
        (
            base.with_value(QuantValue::E4M3),
            "floating-point quantized values",
            true,
        ),
        (
            base.with_value(QuantValue::E5M2),
            "floating-point quantized values",
            true,
        ),
        (
            base.with_value(QuantValue::E2M1),
            "floating-point quantized values",
            true,
        ),
        (
            base.with_store(QuantStore::PackedU32(1)),
            "packed along a dimension other than the innermost",
            true,
        ),
        (
            base.with_store(QuantStore::PackedNative(0)),
            "PackedNative",
            true,
        ),
        // burn-ndarray ignores the param setting (it keeps f32 scales), so only MLX refuses.
        (
            base.with_param(QuantParam::UE8M0),
            "UE8M0 and UE4M3 scales",
            false,
        ),
        (
            base.with_param(QuantParam::UE4M3),
            "UE8M0 and UE4M3 scales",
            false,
        ),
        (
            base.with_level(QuantLevel::block([0])),
            "a block of zero elements",
            true,
        ),
    ] {
        let label = format!("{scheme:?}");
        let needle =
            |op: &str| format!("{op}: the quantization scheme {scheme:?} is not supported: ");
        let cx = mlx_cx();
        assert_panics(&label, &needle("quantize_dynamic"), || {
            M::quantize_dynamic(cx.f(&x), &scheme)
        });
        assert_panics(&label, reason, || M::quantize_dynamic(cx.f(&x), &scheme));
        assert_panics(&label, reason, || {
            M::quantize(
                cx.f(&x),
                &scheme,
                QuantizationParametersPrimitive {
                    scales: cx.f(&TensorData::new(vec![0.1f32], [1])),
                },
            )
        });
        let bytes = TensorData::from_bytes_vec(vec![0; 68], [2, 32], DType::QFloat(scheme));
        assert_panics(&label, &needle("q_from_data"), || {
            M::q_from_data(bytes.clone(), &mlx_device())
        });
        assert_panics(&label, reason, || M::q_from_data(bytes, &mlx_device()));
        if oracle_refuses {
            let nx = nd_cx();
            let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Nd::quantize_dynamic(nx.f(&x), &scheme)
            }))
            .is_err();
            assert!(refused, "{label}: the oracle quantized it");
        }
    }
}
