//! Quantized tensors: [`MlxQTensor`] (its docs describe the supported schemes, the
//! representation and the use of MLX's quantization kernels).

use std::fmt;
use std::sync::{Arc, Mutex};

use burn_backend::quantization::{QuantLevel, QuantParam, QuantScheme, QuantStore, QuantValue};
use burn_backend::{DType, QTensorPrimitive, Shape, TensorData, TensorMetadata};
use mlx::{Array, Dtype, ops};

use crate::device::MlxDevice;
use crate::eval::run;
use crate::ops::pick::pick;
use crate::tensor::{MlxTensor, to_mlx_shape};

/// A quantized tensor of the `Mlx` backend: Burn's symmetric quantization on MLX arrays.
///
/// # Schemes
///
/// Burn quantizes symmetrically: `q = clamp(round(x / scale), a, b)` (rounding halves away from
/// zero) and `x ≈ scale · q`, with `[a, b]` the range of the value type (`Q8F`: `[-128, 127]`,
/// `Q8S`: `[-127, 127]`, `Q4F`: `[-8, 7]`, `Q4S`: `[-7, 7]`, `Q2F`: `[-2, 1]`, `Q2S`:
/// `[-1, 1]`). A zero scale is read as 0.1, as in Burn's reference backend.
///
/// - **Level** `Tensor`: one scale. `Block(size)`: one scale per run of `size.num_elements()`
///   consecutive elements in row-major order, which is how Burn's own range computation
///   (`compute_range`) and burn-ndarray define blocks. For the usual block sizes (a divisor of
///   the last dimension, or whole trailing dimensions) a block is a box of the tensor.
/// - **Param** `F32`, `F16` or `BF16`: scales are kept in that precision (rounded when a tensor
///   is quantized or loaded), and the values are computed with the rounded scales. Burn's data
///   format carries them as `f32`. (burn-ndarray ignores this setting and always keeps `f32`.)
/// - **Store** `Native` (one byte per value, also for 4- and 2-bit values) or `PackedU32(0)`
///   (values packed into little-endian `u32` words, lowest bits first, over the flattened
///   tensor). This only affects Burn's data format: on the device, values are always one `int8`
///   per element.
///
/// Not supported (they panic, and `dtype_usage` reports them unusable): floating-point values
/// (`E4M3`, `E5M2`, `E2M1`), `UE8M0` / `UE4M3` scales, `PackedU32(d)` for `d > 0` and
/// `PackedNative` stores.
///
/// # Representation
///
/// An [`MlxQTensor`] holds the values (`int8`, the tensor's shape), the scales (in the param
/// precision) laid out on a grid of the same rank, and a block extent per dimension: element
/// `i` has scale `scales[i₀ / block₀, …, iₙ / blockₙ]`, and a grid dimension of size one
/// means the scale does not vary along that dimension. Layout ops (`permute`, `flip`, `slice`,
/// `select`, `gather`, `expand`, `reshape`, ...) move values and scales together, so they stay
/// exact: dequantizing after the op gives exactly the op applied to the dequantized tensor.
/// When an op leaves blocks that Burn's data format cannot describe (e.g. a transposed
/// block-quantized tensor), `q_into_data` re-quantizes with the scheme (min-max) on export.
///
/// # MLX's quantization kernels
///
/// MLX's `affine` mode stores unsigned values `u` with a scale and a bias per group of 32, 64
/// or 128 elements along the last axis: `w = scale · u + bias`. Burn's `scale · q` is that form
/// with `u = q + 2^(bits-1)` and `bias = -scale · 2^(bits-1)`, so `q_matmul` hands quantized
/// operands whose blocks fit MLX's groups (along either of the last two axes; per-tensor scales
/// always fit when the axis is a multiple of 32) to `quantized_matmul`. The packed form is made
/// once and kept with the tensor (its clones and its transpose share it): weights are usually
/// multiplied again and again, and this costs one more copy of them, at `bits` per value, for
/// as long as the tensor lives.
///
/// MLX's own `quantize` picks an asymmetric scale and bias per group from the group's min and
/// max, which is not Burn's scheme, and its `dequantize` rounds `scale · u + bias` differently
/// from `scale · q` (by one unit in the last place at times), so quantizing and dequantizing
/// are composed from MLX ops, to give Burn's values exactly.
#[derive(Clone, Debug)]
pub struct MlxQTensor {
    /// The quantized values: one `int8` per element, in the tensor's shape.
    pub(crate) values: MlxTensor,
    /// The scales, in the param precision, on a grid of the values' rank.
    pub(crate) scales: MlxTensor,
    /// Per dimension, how many consecutive elements share a scale (only meaningful where the
    /// grid dimension is larger than one).
    pub(crate) block: Vec<usize>,
    /// How the values were quantized.
    pub(crate) scheme: QuantScheme,
    /// MLX's packed forms of the tensor, made by `q_matmul` and kept for the next product.
    pub(crate) packed: PackCache,
    /// Whether the last two axes are swapped relative to the tensor `packed` was made for.
    pub(crate) swapped: bool,
}

/// MLX's packed form of a 2-d quantized tensor for its affine quantized matmul: `w`
/// (`uint32`, `[rows, cols / (32 / bits)]`), one scale and one bias per group of `group`
/// columns.
#[derive(Clone, Debug)]
pub(crate) struct KernelWeights {
    pub(crate) w: Array,
    pub(crate) scales: Array,
    pub(crate) biases: Array,
    pub(crate) group: i32,
    pub(crate) bits: i32,
}

/// Packed forms of one tensor's values, shared by its clones and its transpose, keyed by
/// whether the groups run along the tensor's (unswapped) last axis and by the activations'
/// dtype. Quantized weights are usually multiplied many times (every forward pass): packing
/// once saves a pass over them per product, for as long as the tensor lives.
#[derive(Clone, Default)]
pub(crate) struct PackCache(Arc<Mutex<Vec<(PackKey, KernelWeights)>>>);

/// Whether the groups run along the last axis of the tensor a [`PackCache`] was made for, and
/// the activations' dtype.
pub(crate) type PackKey = (bool, Dtype);

impl PackCache {
    pub(crate) fn get_or_insert(
        &self,
        key: PackKey,
        make: impl FnOnce() -> Option<KernelWeights>,
    ) -> Option<KernelWeights> {
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, k)) = cache.iter().find(|(k, _)| *k == key) {
            return Some(k.clone());
        }
        let k = make()?;
        cache.push((key, k.clone()));
        Some(k)
    }
}

impl fmt::Debug for PackCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.lock().map(|c| c.len()).unwrap_or(0);
        write!(f, "PackCache({n} packed forms)")
    }
}

// ---- schemes ------------------------------------------------------------------------------------

/// Why the backend cannot use `scheme`, or `None` when it can.
pub(crate) fn unsupported_reason(scheme: &QuantScheme) -> Option<&'static str> {
    match scheme.value {
        QuantValue::Q8F
        | QuantValue::Q8S
        | QuantValue::Q4F
        | QuantValue::Q4S
        | QuantValue::Q2F
        | QuantValue::Q2S => {}
        QuantValue::E4M3 | QuantValue::E5M2 | QuantValue::E2M1 => {
            return Some(
                "floating-point quantized values (E4M3, E5M2, E2M1) are not implemented; the integer \
                 values Q8F, Q8S, Q4F, Q4S, Q2F and Q2S are",
            );
        }
    }
    match scheme.param {
        QuantParam::F32 | QuantParam::F16 | QuantParam::BF16 => {}
        QuantParam::UE8M0 | QuantParam::UE4M3 => {
            return Some(
                "UE8M0 and UE4M3 scales are not implemented; F32, F16 and BF16 scales are",
            );
        }
    }
    match scheme.store {
        QuantStore::Native | QuantStore::PackedU32(0) => {}
        QuantStore::PackedU32(_) => {
            return Some(
                "values packed along a dimension other than the innermost have no layout in Burn's \
                 data format; use PackedU32(0) or Native",
            );
        }
        QuantStore::PackedNative(_) => {
            return Some(
                "PackedNative stores hold E2M1 pairs, which are not implemented; use Native or PackedU32(0)",
            );
        }
    }
    if let QuantLevel::Block(size) = scheme.level
        && size.num_elements() == 0
    {
        return Some("a block of zero elements holds nothing");
    }
    None
}

/// Panics (naming `op`, the scheme and the reason) unless the backend supports `scheme`.
pub(crate) fn check_scheme(scheme: &QuantScheme, op: &str) {
    if let Some(reason) = unsupported_reason(scheme) {
        panic!("burn-mlx: {op}: the quantization scheme {scheme:?} is not supported: {reason}");
    }
}

/// MLX's dtype for the scales of `scheme`.
pub(crate) fn param_dtype(scheme: &QuantScheme) -> Dtype {
    match scheme.param {
        QuantParam::F16 => Dtype::Float16,
        QuantParam::BF16 => Dtype::Bfloat16,
        _ => Dtype::Float32,
    }
}

/// Elements per scale in Burn's data format (the whole tensor for per-tensor quantization).
fn chunk_len(level: QuantLevel, numel: usize) -> usize {
    match level {
        QuantLevel::Tensor => numel,
        QuantLevel::Block(size) => size.num_elements(),
    }
}

/// How many scales Burn's data format holds for `numel` elements; panics (naming `op`) when the
/// blocks do not tile the tensor.
pub(crate) fn num_params(level: QuantLevel, numel: usize, op: &str) -> usize {
    match level {
        QuantLevel::Tensor => 1,
        QuantLevel::Block(size) => {
            let chunk = size.num_elements();
            if !numel.is_multiple_of(chunk) {
                panic!(
                    "burn-mlx: {op}: blocks of {chunk} elements ({size:?}) do not tile a tensor of {numel} \
                     elements; Burn's block quantization needs whole blocks"
                );
            }
            numel / chunk
        }
    }
}

/// The box of a row-major `shape` that a run of `chunk` consecutive elements (starting at a
/// multiple of `chunk`) covers, when it is one: `None` when the runs straddle rows.
pub(crate) fn chunk_box(shape: &[usize], chunk: usize) -> Option<Vec<usize>> {
    let mut rest = chunk;
    let mut block = vec![1; shape.len()];
    for d in (0..shape.len()).rev() {
        if rest == 1 {
            break;
        }
        let size = shape[d];
        if size == 0 {
            return None;
        }
        if rest.is_multiple_of(size) {
            block[d] = size;
            rest /= size;
        } else if size.is_multiple_of(rest) {
            block[d] = rest;
            rest = 1;
        } else {
            return None;
        }
    }
    (rest == 1).then_some(block)
}

// ---- array helpers ------------------------------------------------------------------------------

pub(crate) fn dims(a: &Array) -> Vec<usize> {
    a.shape().iter().map(|d| *d as usize).collect()
}

fn i32s(v: &[usize]) -> Vec<i32> {
    v.iter().map(|d| *d as i32).collect()
}

/// `a[..., start..stop, ...]` along `axis`.
pub(crate) fn slice_axis(a: &Array, axis: usize, start: usize, stop: usize) -> mlx::Result<Array> {
    let n = a.ndim();
    let mut lo = vec![0; n];
    let mut hi = a.shape().to_vec();
    lo[axis] = start as i32;
    hi[axis] = stop as i32;
    ops::slice(a, &lo, &hi, &vec![1; n])
}

/// Scales as `float32`, a zero scale read as 0.1 (Burn's reference backend does so to avoid
/// dividing by zero).
pub(crate) fn valid_scales(scales: &Array) -> mlx::Result<Array> {
    let s = scales.astype(Dtype::Float32)?;
    let zero = ops::equal(&s, &Array::scalar(0.0f32))?;
    pick(&zero, &Array::scalar(0.1f32), &s)
}

/// `f(x, s)` where `s` meets every element of `x` with its scale: `x` (shape `S`) and the grid
/// scales are reshaped so that broadcasting pairs them (a dimension split into `[grid, block]`
/// where blocks tile it, scales repeated where the last block is partial). The result is
/// reshaped back to `S`.
pub(crate) fn blockwise(
    x: &Array,
    scales: &Array,
    block: &[usize],
    f: impl FnOnce(&Array, &Array) -> mlx::Result<Array>,
) -> mlx::Result<Array> {
    let shape = dims(x);
    let grid = dims(scales);
    let mut s = scales.clone();
    let (mut x_shape, mut s_shape, mut split) = (vec![], vec![], false);
    for d in 0..shape.len() {
        let (size, g, b) = (shape[d], grid[d], block[d].max(1));
        if g == 1 {
            x_shape.push(size);
            s_shape.push(1);
        } else if g == size {
            x_shape.push(size);
            s_shape.push(size);
        } else if size.is_multiple_of(b) {
            x_shape.extend([g, b]);
            s_shape.extend([g, 1]);
            split = true;
        } else {
            s = slice_axis(&ops::repeat(&s, b as i32, Some(d as i32))?, d, 0, size)?;
            x_shape.push(size);
            s_shape.push(size);
        }
    }
    let s = s.reshape(&i32s(&s_shape))?;
    if split {
        f(&x.reshape(&i32s(&x_shape))?, &s)?.reshape(&i32s(&shape))
    } else {
        f(x, &s)
    }
}

/// One scale per element, in the values' shape (and the scales' dtype).
pub(crate) fn element_scales(
    scales: &Array,
    block: &[usize],
    shape: &[usize],
) -> mlx::Result<Array> {
    let ones = ops::full(&i32s(shape), &Array::scalar(1.0f32), scales.dtype())?;
    blockwise(&ones, scales, block, ops::multiply)
}

/// Rounds halves away from zero, as Rust's `f32::round` (MLX's `round` rounds them to even).
fn round_half_away(v: &Array) -> mlx::Result<Array> {
    let t = ops::trunc(v)?;
    let frac = ops::abs(&ops::subtract(v, &t)?)?;
    let up = ops::greater_equal(&frac, &Array::scalar(0.5f32))?;
    pick(&up, &ops::add(&t, &ops::sign(v)?)?, &t)
}

/// `clamp(round(x / scale), a, b)` as `int8`, for `float32` values `x`.
pub(crate) fn quantize_values(
    x: &Array,
    scales: &Array,
    block: &[usize],
    value: QuantValue,
) -> mlx::Result<Array> {
    let (a, b) = value.range();
    let s = valid_scales(scales)?;
    blockwise(x, &s, block, |x, s| {
        // Clamping to the integer bounds first and rounding then gives the same result.
        let v = ops::clip(
            &ops::divide(x, s)?,
            Some(&Array::scalar(a)),
            Some(&Array::scalar(b)),
        )?;
        round_half_away(&v)?.astype(Dtype::Int8)
    })
}

/// `scale · q` in `float32`.
pub(crate) fn dequantize_values(
    values: &Array,
    scales: &Array,
    block: &[usize],
) -> mlx::Result<Array> {
    let s = valid_scales(scales)?;
    blockwise(values, &s, block, |q, s| {
        ops::multiply(&q.astype(Dtype::Float32)?, s)
    })
}

/// The grid layout of Burn's per-chunk scales (`[num_params]`, in order) over `shape`:
/// `(scales on the grid, block)`.
pub(crate) fn layout_chunk_scales(
    chunk_scales: &Array,
    shape: &[usize],
    level: QuantLevel,
) -> mlx::Result<(Array, Vec<usize>)> {
    let n = shape.len();
    let numel: usize = shape.iter().product();
    match level {
        QuantLevel::Tensor => Ok((
            chunk_scales.reshape(&vec![1; n])?,
            shape.iter().map(|d| (*d).max(1)).collect(),
        )),
        QuantLevel::Block(size) => {
            let chunk = size.num_elements();
            match chunk_box(shape, chunk).filter(|_| numel > 0) {
                Some(block) => {
                    let grid: Vec<usize> = shape.iter().zip(&block).map(|(s, b)| s / b).collect();
                    Ok((chunk_scales.reshape(&i32s(&grid))?, block))
                }
                None => {
                    // Runs that straddle rows: one scale per element.
                    let per = ops::repeat(chunk_scales, chunk as i32, Some(0))?;
                    Ok((per.reshape(&i32s(shape))?, vec![1; n]))
                }
            }
        }
    }
}

// ---- the tensor ---------------------------------------------------------------------------------

impl MlxQTensor {
    /// A tensor of `values` and grid `scales` (see [`MlxQTensor`]).
    pub(crate) fn new(
        values: MlxTensor,
        scales: MlxTensor,
        block: Vec<usize>,
        scheme: QuantScheme,
    ) -> MlxQTensor {
        MlxQTensor {
            values,
            scales,
            block,
            scheme,
            packed: PackCache::default(),
            swapped: false,
        }
    }

    /// The arrays behind the tensor (for batched evaluation).
    pub(crate) fn arrays(&self) -> [&Array; 2] {
        [&self.values.array, &self.scales.array]
    }

    /// The device the tensor's ops run on.
    pub fn device(&self) -> MlxDevice {
        self.values.device
    }

    /// The quantized values (`int8`, one per element).
    pub fn values(&self) -> &MlxTensor {
        &self.values
    }

    /// The scales on their grid (see [`MlxQTensor`]).
    pub fn scales(&self) -> &MlxTensor {
        &self.scales
    }

    pub(crate) fn grid(&self) -> Vec<usize> {
        dims(&self.scales.array)
    }

    /// The scales in Burn's order (one per chunk, `float32`) when the layout lines up with the
    /// scheme's chunks, without looking at the values.
    fn chunk_scales(&self) -> mlx::Result<Option<Array>> {
        let shape = dims(&self.values.array);
        let grid = self.grid();
        let numel: usize = shape.iter().product();
        let chunk = chunk_len(self.scheme.level, numel);
        if numel == 0 {
            return Ok(match self.scheme.level {
                QuantLevel::Tensor => {
                    Some(self.scales.array.reshape(&[-1])?.astype(Dtype::Float32)?)
                }
                QuantLevel::Block(_) => Some(ops::zeros(&[0], Dtype::Float32)?),
            });
        }
        if grid.iter().all(|g| *g == 1) {
            let one = self.scales.array.reshape(&[1])?.astype(Dtype::Float32)?;
            return Ok(Some(ops::broadcast_to(&one, &[(numel / chunk) as i32])?));
        }
        let Some(chunk_box) = chunk_box(&shape, chunk) else {
            return Ok(None);
        };
        let mut s = (*self.scales.array).clone();
        let mut chunks = vec![];
        for d in 0..shape.len() {
            let h = shape[d] / chunk_box[d];
            chunks.push(h);
            if grid[d] == 1 {
                continue;
            }
            let b = self.block[d];
            if !b.is_multiple_of(chunk_box[d]) {
                return Ok(None);
            }
            if b != chunk_box[d] {
                let idx: Vec<i32> = (0..h).map(|j| (j * chunk_box[d] / b) as i32).collect();
                s = ops::take(&s, &Array::from_slice(&idx, &[h as i32])?, Some(d as i32))?;
            }
        }
        let s = ops::broadcast_to(&s, &i32s(&chunks))?;
        Ok(Some(s.reshape(&[-1])?.astype(Dtype::Float32)?))
    }

    /// Values and per-chunk scales for Burn's data format, re-quantizing when the layout does
    /// not line up with the scheme's chunks (see [`MlxQTensor`]).
    fn export(&self) -> (Array, Array) {
        let device = self.device();
        let shape = dims(&self.values.array);
        let numel: usize = shape.iter().product();
        let params = num_params(self.scheme.level, numel, "q_into_data");
        if let Some(scales) = run(device, "q_into_data", || self.chunk_scales()) {
            return ((*self.values.array).clone(), scales);
        }
        // Scales that happen to be equal within each chunk are still exact.
        let (per_chunk, uniform) = run(device, "q_into_data", || {
            let per = element_scales(&self.scales.array, &self.block, &shape)?
                .reshape(&[params as i32, -1])?;
            let (lo, hi) = (per.min(Some(&[1]), false)?, per.max(Some(&[1]), false)?);
            let uniform = ops::array_equal(&lo, &hi, false)?.item::<bool>()?;
            Ok((hi.astype(Dtype::Float32)?, uniform))
        });
        if uniform {
            return ((*self.values.array).clone(), per_chunk);
        }
        run(device, "q_into_data", || {
            let x = dequantize_values(&self.values.array, &self.scales.array, &self.block)?;
            let chunk_scales = dynamic_scales(&x, &self.scheme)?;
            let (scales, block) = layout_chunk_scales(&chunk_scales, &shape, self.scheme.level)?;
            let values = quantize_values(&x, &scales, &block, self.scheme.value)?;
            Ok((values, chunk_scales.astype(Dtype::Float32)?))
        })
    }

    /// Burn's serialized form of the tensor (values, then the `f32` scales).
    pub(crate) fn to_data(&self) -> TensorData {
        let (values, scales) = self.export();
        let (values, scales) = run(self.device(), "q_into_data", || {
            mlx::eval([&values, &scales])?;
            Ok((values.to_vec::<i8>()?, scales.to_vec::<f32>()?))
        });
        encode(&values, &scales, self.shape(), self.scheme)
    }

    /// Reads Burn's serialized form onto `device`.
    pub(crate) fn from_data(data: TensorData, device: MlxDevice) -> MlxQTensor {
        let DType::QFloat(scheme) = data.dtype else {
            panic!(
                "burn-mlx: q_from_data: expected quantized data (DType::QFloat), got {:?}",
                data.dtype
            );
        };
        check_scheme(&scheme, "q_from_data");
        let shape: Vec<usize> = data.shape.to_vec();
        let (values, scales) = decode(data.as_bytes(), &shape, &scheme);
        let dims = to_mlx_shape(&data.shape);
        let (values, scales, block) = run(device, "q_from_data", || {
            let values = Array::from_slice(&values, &dims)?;
            let scales =
                Array::from_slice(&scales, &[scales.len() as i32])?.astype(param_dtype(&scheme))?;
            let (scales, block) = layout_chunk_scales(&scales, &shape, scheme.level)?;
            Ok((values, scales, block))
        });
        MlxQTensor::new(
            MlxTensor::new(values, device),
            MlxTensor::new(scales, device),
            block,
            scheme,
        )
    }
}

/// Min-max scales as Burn's `compute_range` and `compute_q_params` define them:
/// `scale = 2 · max|x| / (b - a)` per chunk (in Burn's order), computed in the dtype of `x`
/// and stored in the param precision.
pub(crate) fn dynamic_scales(x: &Array, scheme: &QuantScheme) -> mlx::Result<Array> {
    let numel = x.size();
    let params = num_params(scheme.level, numel, "quantize_dynamic");
    let (a, b) = scheme.value.range();
    let chunks = x.reshape(&[params as i32, -1])?;
    let max_abs = ops::abs(&chunks)?.max(Some(&[1]), false)?;
    let dtype = x.dtype();
    let range = ops::multiply(&max_abs, &ops::weak_scalar(2.0f32, dtype)?)?;
    ops::divide(&range, &ops::weak_scalar(b - a, dtype)?)?.astype(param_dtype(scheme))
}

/// Quantizes with [`dynamic_scales`]: `(values, grid scales, block)`.
pub(crate) fn quantize_dynamic_arrays(
    x: &Array,
    scheme: &QuantScheme,
) -> mlx::Result<(Array, Array, Vec<usize>)> {
    let scales = dynamic_scales(x, scheme)?;
    let (scales, block) = layout_chunk_scales(&scales, &dims(x), scheme.level)?;
    let values = quantize_values(&x.astype(Dtype::Float32)?, &scales, &block, scheme.value)?;
    Ok((values, scales, block))
}

/// Values per `u32` word of a `PackedU32` store.
fn per_word(value: QuantValue) -> usize {
    32 / value.size_bits()
}

/// Burn's quantized bytes: the values (one byte each, or packed into little-endian `u32` words
/// over the flattened tensor), then the scales as `f32`.
fn encode(values: &[i8], scales: &[f32], shape: Shape, scheme: QuantScheme) -> TensorData {
    let mut bytes: Vec<u8> = match scheme.store {
        QuantStore::PackedU32(_) => {
            let bits = scheme.value.size_bits();
            let mask = (1u32 << bits) - 1;
            values
                .chunks(per_word(scheme.value))
                .flat_map(|word| {
                    let packed = word.iter().enumerate().fold(0u32, |acc, (i, v)| {
                        acc | ((*v as u8 as u32) & mask) << (i * bits)
                    });
                    packed.to_le_bytes()
                })
                .collect()
        }
        _ => values.iter().map(|v| *v as u8).collect(),
    };
    bytes.extend(scales.iter().flat_map(|s| s.to_le_bytes()));
    TensorData::from_bytes_vec(bytes, shape, DType::QFloat(scheme))
}

/// The values (one `i8` each) and `f32` scales of Burn's quantized bytes.
fn decode(bytes: &[u8], shape: &[usize], scheme: &QuantScheme) -> (Vec<i8>, Vec<f32>) {
    let numel: usize = shape.iter().product();
    let params = num_params(scheme.level, numel, "q_from_data");
    let value_bytes = match scheme.store {
        QuantStore::PackedU32(_) => numel.div_ceil(per_word(scheme.value)) * 4,
        _ => numel,
    };
    let expected = value_bytes + 4 * params;
    if bytes.len() != expected {
        panic!(
            "burn-mlx: q_from_data: {scheme:?} data of shape {shape:?} takes {expected} bytes ({value_bytes} of \
             values and {params} f32 scales), but {} were given",
            bytes.len()
        );
    }
    let (value_bytes, scale_bytes) = bytes.split_at(value_bytes);
    let values: Vec<i8> = match scheme.store {
        QuantStore::PackedU32(_) => {
            let bits = scheme.value.size_bits();
            let shift = 8 - bits;
            value_bytes
                .chunks_exact(4)
                .flat_map(|w| {
                    let word = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                    // Sign-extend each field of `bits` bits.
                    (0..per_word(scheme.value))
                        .map(move |i| (((word >> (i * bits)) as u8) << shift) as i8 >> shift)
                })
                .take(numel)
                .collect()
        }
        _ => value_bytes.iter().map(|b| *b as i8).collect(),
    };
    let scales = scale_bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (values, scales)
}

impl TensorMetadata for MlxQTensor {
    fn dtype(&self) -> DType {
        DType::QFloat(self.scheme)
    }

    fn shape(&self) -> Shape {
        self.values.shape()
    }

    fn rank(&self) -> usize {
        self.values.array.ndim()
    }
}

impl QTensorPrimitive for MlxQTensor {
    fn scheme(&self) -> &QuantScheme {
        &self.scheme
    }
}
