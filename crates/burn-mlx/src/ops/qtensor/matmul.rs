//! `q_matmul` on MLX's quantized matmul kernel.

use super::*;
use crate::qtensor::KernelWeights;

/// The group sizes MLX's affine kernels take, largest first.
const GROUPS: [usize; 3] = [128, 64, 32];

/// MLX's affine form of `t` with groups along axis `col` of `t` and rows along `row` (the
/// last two axes of `t`, in either order), or `None` when the blocks do not fit MLX's
/// groups. Burn's `scale · q` (signed `q`) is MLX's `scale · u + bias` with the unsigned
/// `u = q + 2^(bits-1)` and `bias = -scale · 2^(bits-1)`.
///
/// The packed form is kept with the tensor (and its clones and transpose) for later
/// products.
pub(super) fn kernel_weights(t: &MlxQTensor, col: usize, dtype: Dtype) -> Option<KernelWeights> {
    let n = t.block.len();
    if n < 2 {
        return None;
    }
    // Key: whether the groups run along the last axis of the tensor the cache was made for.
    let last = (col == n - 1) != t.swapped;
    t.packed
        .get_or_insert((last, dtype), || pack(t, col, dtype))
}

fn pack(t: &MlxQTensor, col: usize, dtype: Dtype) -> Option<KernelWeights> {
    let shape = dims(&t.values.array);
    let n = shape.len();
    if n < 2 || !matches!(dtype, Dtype::Float32 | Dtype::Float16 | Dtype::Bfloat16) {
        return None;
    }
    // Batched weights only when their batch axes are all one (MLX broadcasts 2-d weights).
    if shape[..n - 2].iter().any(|d| *d != 1) {
        return None;
    }
    let row = if col == n - 1 { n - 2 } else { n - 1 };
    let grid = t.grid();
    let cols = shape[col];
    let fits =
        |g: &usize| cols.is_multiple_of(*g) && (grid[col] == 1 || t.block[col].is_multiple_of(*g));
    // Groups that split each row in two or more come first: on an H100, MLX's CUDA kernel
    // returned zeros where one group spanned the whole row (64 columns in one group of 64),
    // and the right values for the same 64 columns in groups of 32.
    let group = GROUPS
        .into_iter()
        .filter(fits)
        .find(|g| cols / g >= 2)
        .or_else(|| GROUPS.into_iter().find(fits))?;
    let bits = t.scheme.value.size_bits();
    let per_word = 32 / bits;
    let offset = 1i32 << (bits - 1);
    let device = t.device();
    Some(run(device, "q_matmul", || {
        // Values as [rows, cols], groups along the last axis, packed lowest bits first.
        let v = t
            .values
            .array
            .reshape(&[shape[n - 2] as i32, shape[n - 1] as i32])?;
        let v = if col == n - 1 {
            v
        } else {
            ops::transpose(&v, Some(&[1, 0]))?
        };
        let u =
            ops::add(&v.astype(Dtype::Int32)?, &Array::scalar(offset))?.astype(Dtype::Uint32)?;
        let u = u.reshape(&[shape[row] as i32, (cols / per_word) as i32, per_word as i32])?;
        let shifts = ops::multiply(
            &Array::arange::<u32>(per_word as i32)?,
            &Array::scalar(bits as u32),
        )?;
        let w =
            ops::sum(&ops::left_shift(&u, &shifts)?, Some(&[-1]), false)?.astype(Dtype::Uint32)?;
        // Scales: one per (row, group).
        let s2 = t
            .scales
            .array
            .reshape(&[grid[n - 2] as i32, grid[n - 1] as i32])?;
        let s2 = if col == n - 1 {
            s2
        } else {
            ops::transpose(&s2, Some(&[1, 0]))?
        };
        let (g_row, g_col) = (grid[row], grid[col]);
        let groups = cols / group;
        let s2 = if g_col == 1 {
            s2
        } else {
            let idx: Vec<i32> = (0..groups)
                .map(|j| (j * group / t.block[col]) as i32)
                .collect();
            ops::take(&s2, &Array::from_slice(&idx, &[groups as i32])?, Some(1))?
        };
        let s2 = if g_row == 1 || t.block[row] == 1 {
            s2
        } else {
            let idx: Vec<i32> = (0..shape[row]).map(|i| (i / t.block[row]) as i32).collect();
            ops::take(
                &s2,
                &Array::from_slice(&idx, &[shape[row] as i32])?,
                Some(0),
            )?
        };
        let s2 = ops::broadcast_to(&s2, &[shape[row] as i32, groups as i32])?;
        let scales = ops::contiguous(&crate::qtensor::valid_scales(&s2)?.astype(dtype)?)?;
        let biases = ops::multiply(&scales, &ops::weak_scalar(-(offset as f32), dtype)?)?;
        Ok(KernelWeights {
            w,
            scales,
            biases,
            group: group as i32,
            bits: bits as i32,
        })
    }))
}

fn qmm(x: &MlxTensor, k: &KernelWeights, transpose: bool, inputs: &[&MlxTensor]) -> MlxTensor {
    let opts = ops::QuantizeOptions::default()
        .with_group_size(k.group)
        .with_bits(k.bits);
    op(inputs, "q_matmul", || {
        ops::quantized_matmul(&x.array, &k.w, &k.scales, Some(&k.biases), transpose, &opts)
    })
}

/// `x @ t` with `t` quantized (`x`: `[..., M, K]`, `t`: `[..., K, N]`).
fn float_times_quantized(x: &MlxTensor, t: &MlxQTensor) -> Option<MlxTensor> {
    let n = t.block.len();
    let dtype = x.array.dtype();
    // Groups along K: x @ wᵀ with w = tᵀ; else groups along N: x @ w with w = t.
    if let Some(k) = kernel_weights(t, n - 2, dtype) {
        return Some(qmm(x, &k, true, &[x, &t.values, &t.scales]));
    }
    kernel_weights(t, n - 1, dtype).map(|k| qmm(x, &k, false, &[x, &t.values, &t.scales]))
}

/// `t @ y` with `t` quantized, as `(yᵀ @ tᵀ)ᵀ`.
fn quantized_times_float(t: &MlxQTensor, y: &MlxTensor) -> Option<MlxTensor> {
    let n = t.block.len();
    let dtype = y.array.dtype();
    let rank = y.array.ndim() as i32;
    // Groups along K: yᵀ @ wᵀ with w = t; else groups along M: yᵀ @ w with w = tᵀ.
    let (k, transpose) = match kernel_weights(t, n - 1, dtype) {
        Some(k) => (k, true),
        None => (kernel_weights(t, n - 2, dtype)?, false),
    };
    let yt = base::unary(y, "q_matmul", |a| ops::swapaxes(a, rank - 2, rank - 1));
    let out = qmm(&yt, &k, transpose, &[&yt, &t.values, &t.scales]);
    Some(base::unary(&out, "q_matmul", |a| {
        ops::swapaxes(a, rank - 2, rank - 1)
    }))
}

fn float_matmul(a: &MlxTensor, b: &MlxTensor) -> MlxTensor {
    base::binary(a, b, "q_matmul", base::matmul)
}

pub(super) fn q_matmul<F: MlxFloat, I: MlxInt>(
    lhs: TensorPrimitive<Mlx<F, I>>,
    rhs: TensorPrimitive<Mlx<F, I>>,
) -> MlxTensor {
    // Burn's rule for the result dtype: the float operand's, else the device default.
    let dtype = match (&lhs, &rhs) {
        (TensorPrimitive::Float(t), _) | (_, TensorPrimitive::Float(t)) => t.array.dtype(),
        (TensorPrimitive::QFloat(t), _) => {
            float_dtype(get_device_settings::<Mlx<F, I>>(&t.device()).float_dtype)
        }
    };
    let deq = |t: &MlxQTensor| base::cast(dequantize_f32(t), dtype);
    match (lhs, rhs) {
        (TensorPrimitive::Float(x), TensorPrimitive::QFloat(t)) => {
            float_times_quantized(&x, &t).unwrap_or_else(|| float_matmul(&x, &deq(&t)))
        }
        (TensorPrimitive::QFloat(t), TensorPrimitive::Float(y)) => {
            quantized_times_float(&t, &y).unwrap_or_else(|| float_matmul(&deq(&t), &y))
        }
        (TensorPrimitive::QFloat(a), TensorPrimitive::QFloat(b)) => {
            let x = deq(&a);
            if let Some(out) = float_times_quantized(&x, &b) {
                return out;
            }
            let y = deq(&b);
            quantized_times_float(&a, &y).unwrap_or_else(|| float_matmul(&x, &y))
        }
        (TensorPrimitive::Float(x), TensorPrimitive::Float(y)) => float_matmul(&x, &y),
    }
}
