//! `QTensorOps` on MLX (the representation is described in [`crate::qtensor`]).
//!
//! Layout ops move the `int8` values and their scales together, so they never re-quantize.
//! `q_matmul` runs MLX's quantized matmul kernel when a quantized operand's blocks fit MLX's
//! groups (see [`kernel_weights`](matmul::kernel_weights)).
//!
//! Default bodies kept, and why:
//! - `q_detach`, `q_set_require_grad`, `q_is_require_grad`: only autodiff backends override
//!   them.
//! - `q_transpose`: swaps the last two dims through `q_swap_dims`, which is native.
//! - `q_argmax`, `q_argmin`, `q_argsort`, `q_argtopk`, `q_any*`, `q_all*`: they dequantize
//!   (exact) and run the float op; comparing scaled values is what any native version would do
//!   where blocks have different scales.
//! - `q_max`, `q_max_dim`, `q_max_dim_with_indices`, `q_min*`, `q_max_abs`: arg-reductions plus
//!   `q_gather` (or `q_max_abs_dim`), which are native, so the results keep the input's exact
//!   values and scales.
//! - Arithmetic, math, clamps and scans (`q_add`, `q_exp`, `q_clamp`, `q_sum`, `q_cumsum`, ...):
//!   they dequantize, compute in float and re-quantize only when the scheme propagates
//!   quantization, which is what an MLX version would do too (MLX has no arithmetic on
//!   quantized values).

use burn_backend::ops::QTensorOps;
use burn_backend::quantization::{QuantScheme, QuantValue, QuantizationParametersPrimitive};
use burn_backend::tensor::{FloatTensor, IntTensor, QuantizedTensor};
use burn_backend::{
    ExecutionError, FloatDType, IntDType, Shape, Slice, TensorData, TensorPrimitive,
    get_device_settings,
};
use mlx::{Array, Dtype, ops};

use super::base;
use super::float::float_dtype;
use super::pick::pick;
use crate::eval::{op, run};
use crate::qtensor::{
    MlxQTensor, check_scheme, dequantize_values, dims, element_scales, layout_chunk_scales,
    num_params, param_dtype, quantize_dynamic_arrays, quantize_values, slice_axis,
};
use crate::tensor::MlxTensor;
use crate::{Mlx, MlxDevice, MlxFloat, MlxInt};

/// A quantized tensor with new values and scales (same scheme).
fn with_parts(
    t: &MlxQTensor,
    values: MlxTensor,
    scales: MlxTensor,
    block: Vec<usize>,
) -> MlxQTensor {
    MlxQTensor::new(values, scales, block, t.scheme)
}

/// Applies `f` to the scales (same op name as the values' op).
fn map_scales(
    t: &MlxQTensor,
    name: &str,
    f: impl FnOnce(&Array) -> mlx::Result<Array>,
) -> MlxTensor {
    op(&[&t.scales], name, || f(&t.scales.array))
}

/// Dequantizes to `float32` (exactly `scale · q`).
fn dequantize_f32(t: &MlxQTensor) -> MlxTensor {
    op(&[&t.values, &t.scales], "dequantize", || {
        dequantize_values(&t.values.array, &t.scales.array, &t.block)
    })
}

/// The scales along `axis` of the positions `positions` (source indices along `axis`, as an
/// integer array), one scale per position; other axes keep their layout.
fn scales_at(scales: &Array, block: usize, axis: usize, positions: &Array) -> mlx::Result<Array> {
    let b = ops::weak_scalar(block as i64, positions.dtype())?;
    ops::take(
        scales,
        &ops::floor_divide(positions, &b)?,
        Some(axis as i32),
    )
}

/// Per-axis source positions of a Burn slice over a dimension of `len` (as `base::slice`
/// reads them): `start, start + step, ...` or, for negative steps, backwards from the end.
fn slice_positions(slice: &Slice, len: usize) -> Vec<i32> {
    let range = slice.to_range(len);
    let (start, stop) = (range.start, range.end.max(range.start));
    let step = slice.step.unsigned_abs();
    let count = (stop - start).div_ceil(step);
    if slice.step > 0 {
        (0..count).map(|i| (start + i * step) as i32).collect()
    } else {
        (0..count).map(|i| (stop - 1 - i * step) as i32).collect()
    }
}

/// Gathers values and scales with `take_along_axis`-style `indices` along `dim`.
fn gather_parts(t: &MlxQTensor, dim: usize, indices: &MlxTensor) -> MlxQTensor {
    let values = base::gather(dim, t.values.clone(), indices.clone());
    let shape = dims(&t.values.array);
    let out = dims(&indices.array);
    let grid = t.grid();
    let same_elsewhere = (0..shape.len()).all(|d| d == dim || shape[d] == out[d]);
    if grid.iter().all(|g| *g == 1) || (grid[dim] == 1 && same_elsewhere) {
        // The scale does not depend on the gathered position.
        let mut block = t.block.clone();
        block[dim] = out[dim].max(1);
        return with_parts(t, values, t.scales.clone(), block);
    }
    let scales = op(&[&t.scales, indices], "q_gather", || {
        let per = element_scales(&t.scales.array, &t.block, &shape)?;
        ops::take_along_axis(&per, &indices.array, Some(dim as i32))
    });
    with_parts(t, values, scales, vec![1; shape.len()])
}

/// Sorts a quantized tensor along `dim` by value: indices from the (exact) dequantized values,
/// then values and scales gathered, so nothing is re-quantized.
fn sort_parts(t: MlxQTensor, dim: usize, descending: bool, out: Dtype) -> (MlxQTensor, MlxTensor) {
    let (_, idx) = base::sort_with_indices(dequantize_f32(&t), dim, descending, Dtype::Int32);
    let sorted = gather_parts(&t, dim, &idx);
    (sorted, base::cast(idx, out))
}

impl<F: MlxFloat, I: MlxInt> QTensorOps<Self> for Mlx<F, I> {
    fn q_from_data(data: TensorData, device: &MlxDevice) -> QuantizedTensor<Self> {
        MlxQTensor::from_data(data, *device)
    }

    fn quantize(
        tensor: FloatTensor<Self>,
        scheme: &QuantScheme,
        qparams: QuantizationParametersPrimitive<Self>,
    ) -> QuantizedTensor<Self> {
        check_scheme(scheme, "quantize");
        let shape = dims(&tensor.array);
        let numel: usize = shape.iter().product();
        let params = num_params(scheme.level, numel, "quantize");
        let given = qparams.scales.array.size();
        if given != params {
            panic!(
                "burn-mlx: quantize: {scheme:?} on a tensor of shape {shape:?} takes {params} scales, but \
                 {given} were given"
            );
        }
        let (scales, block) = run(tensor.device, "quantize", || {
            let flat = qparams
                .scales
                .array
                .reshape(&[-1])?
                .astype(param_dtype(scheme))?;
            layout_chunk_scales(&flat, &shape, scheme.level)
        });
        let scales = crate::eval::output(&[&qparams.scales], tensor.device, "quantize", scales);
        let values = op(&[&tensor, &scales], "quantize", || {
            quantize_values(
                &tensor.array.astype(Dtype::Float32)?,
                &scales.array,
                &block,
                scheme.value,
            )
        });
        MlxQTensor::new(values, scales, block, *scheme)
    }

    /// Min-max scales per block from one `|x|` reduction (Burn's default takes the min and the
    /// max separately and combines them in six more ops); same values.
    fn quantize_dynamic(tensor: FloatTensor<Self>, scheme: &QuantScheme) -> QuantizedTensor<Self> {
        check_scheme(scheme, "quantize_dynamic");
        let (values, scales, block) = run(tensor.device, "quantize_dynamic", || {
            quantize_dynamic_arrays(&tensor.array, scheme)
        });
        let values = crate::eval::output(&[&tensor], tensor.device, "quantize_dynamic", values);
        let scales = crate::eval::output(&[&tensor], tensor.device, "quantize_dynamic", scales);
        MlxQTensor::new(values, scales, block, *scheme)
    }

    fn dequantize(tensor: QuantizedTensor<Self>, dtype: FloatDType) -> FloatTensor<Self> {
        let dtype = float_dtype(dtype);
        base::cast(dequantize_f32(&tensor), dtype)
    }

    fn q_device(tensor: &QuantizedTensor<Self>) -> MlxDevice {
        tensor.values.device
    }

    fn q_to_device(tensor: QuantizedTensor<Self>, device: &MlxDevice) -> QuantizedTensor<Self> {
        // Scales may be float16/bfloat16/float32, all fine on every device.
        let values = MlxTensor {
            device: *device,
            ..tensor.values
        };
        let scales = MlxTensor {
            device: *device,
            ..tensor.scales
        };
        MlxQTensor {
            values,
            scales,
            ..tensor
        }
    }

    fn q_reshape(tensor: QuantizedTensor<Self>, shape: Shape) -> QuantizedTensor<Self> {
        let old = dims(&tensor.values.array);
        let new: Vec<usize> = shape.to_vec();
        let grid = tensor.grid();
        let values = base::reshape(tensor.values.clone(), shape.clone());
        if grid.iter().all(|g| *g == 1) {
            let scales = map_scales(&tensor, "q_reshape", |s| s.reshape(&vec![1; new.len()]));
            let block = new.iter().map(|d| (*d).max(1)).collect();
            return with_parts(&tensor, values, scales, block);
        }
        // Scales that run in chunks of consecutive elements (blocks along the last varying
        // axis, whole axes after it) keep their order under any reshape.
        let last = (0..old.len())
            .rev()
            .find(|d| grid[*d] > 1)
            .expect("a grid axis above one");
        let b = tensor.block[last];
        let chunked = old[last].is_multiple_of(b)
            && grid[last] == old[last] / b
            && (0..last).all(|d| grid[d] == old[d]);
        if chunked {
            let chunk = b * old[last + 1..].iter().product::<usize>();
            if let Some(block) = crate::qtensor::chunk_box(&new, chunk) {
                let grid: Vec<i32> = new
                    .iter()
                    .zip(&block)
                    .map(|(s, b)| (s / b) as i32)
                    .collect();
                let scales = map_scales(&tensor, "q_reshape", |s| s.reshape(&grid));
                return with_parts(&tensor, values, scales, block);
            }
        }
        // Otherwise one scale per element, reshaped with the values.
        let dims_new = crate::tensor::to_mlx_shape(&shape);
        let scales = map_scales(&tensor, "q_reshape", |s| {
            element_scales(s, &tensor.block, &old)?.reshape(&dims_new)
        });
        with_parts(&tensor, values, scales, vec![1; new.len()])
    }

    async fn q_into_data(tensor: QuantizedTensor<Self>) -> Result<TensorData, ExecutionError> {
        Ok(tensor.to_data())
    }

    fn q_expand(tensor: QuantizedTensor<Self>, shape: Shape) -> QuantizedTensor<Self> {
        let old = dims(&tensor.values.array);
        let new: Vec<usize> = shape.to_vec();
        let lead = new.len() - old.len();
        let mut grid = vec![1; lead];
        grid.extend(tensor.grid());
        let mut block: Vec<usize> = new[..lead].iter().map(|d| (*d).max(1)).collect();
        for (d, b) in tensor.block.iter().enumerate() {
            // A broadcast axis had size one, so its grid size is one too.
            block.push(if old[d] == new[lead + d] {
                *b
            } else {
                new[lead + d].max(1)
            });
        }
        let values = base::expand(tensor.values.clone(), shape);
        let grid = grid.iter().map(|g| *g as i32).collect::<Vec<_>>();
        let scales = map_scales(&tensor, "q_expand", |s| s.reshape(&grid));
        with_parts(&tensor, values, scales, block)
    }

    fn q_swap_dims(
        tensor: QuantizedTensor<Self>,
        dim1: usize,
        dim2: usize,
    ) -> QuantizedTensor<Self> {
        let n = tensor.block.len();
        let mut block = tensor.block.clone();
        block.swap(dim1, dim2);
        let values = base::swap_dims(tensor.values.clone(), dim1, dim2);
        let scales = base::swap_dims(tensor.scales.clone(), dim1, dim2);
        let mut out = with_parts(&tensor, values, scales, block);
        if dim1 != dim2 && dim1.max(dim2) == n - 1 && dim1.min(dim2) == n - 2 {
            // A transpose: MLX's packed forms of the tensor serve it too.
            out.packed = tensor.packed.clone();
            out.swapped = !tensor.swapped;
        }
        out
    }

    fn q_permute(tensor: QuantizedTensor<Self>, axes: &[usize]) -> QuantizedTensor<Self> {
        let block = axes.iter().map(|a| tensor.block[*a]).collect();
        let values = base::permute(tensor.values.clone(), axes);
        let scales = base::permute(tensor.scales.clone(), axes);
        with_parts(&tensor, values, scales, block)
    }

    fn q_flip(tensor: QuantizedTensor<Self>, axes: &[usize]) -> QuantizedTensor<Self> {
        let shape = dims(&tensor.values.array);
        let grid = tensor.grid();
        let mut block = tensor.block.clone();
        let values = base::flip(tensor.values.clone(), axes);
        let scales = map_scales(&tensor, "q_flip", |s| {
            let mut s = s.clone();
            for &d in axes {
                if grid[d] == 1 {
                    continue;
                }
                if shape[d].is_multiple_of(block[d]) {
                    // Whole blocks: flipping the grid keeps them aligned.
                    s = ops::flip(&s, Some(&[d as i32]))?;
                } else {
                    let pos: Vec<i32> = (0..shape[d]).rev().map(|i| i as i32).collect();
                    s = scales_at(
                        &s,
                        block[d],
                        d,
                        &Array::from_slice(&pos, &[pos.len() as i32])?,
                    )?;
                    block[d] = 1;
                }
            }
            Ok(s)
        });
        with_parts(&tensor, values, scales, block)
    }

    fn q_select(
        tensor: QuantizedTensor<Self>,
        dim: usize,
        indices: IntTensor<Self>,
    ) -> QuantizedTensor<Self> {
        let mut block = tensor.block.clone();
        let values = base::select(tensor.values.clone(), dim, indices.clone());
        let scales = if tensor.grid()[dim] == 1 {
            block[dim] = indices.array.size().max(1);
            tensor.scales.clone()
        } else {
            block[dim] = 1;
            let b = tensor.block[dim];
            op(&[&tensor.scales, &indices], "q_select", || {
                scales_at(&tensor.scales.array, b, dim, &indices.array)
            })
        };
        with_parts(&tensor, values, scales, block)
    }

    fn q_slice(tensor: QuantizedTensor<Self>, slices: &[Slice]) -> QuantizedTensor<Self> {
        let shape = dims(&tensor.values.array);
        let grid = tensor.grid();
        let mut block = tensor.block.clone();
        let values = base::slice(tensor.values.clone(), slices);
        let scales = map_scales(&tensor, "q_slice", |s| {
            let mut s = s.clone();
            for d in 0..shape.len() {
                let slice = slices.get(d).cloned().unwrap_or(Slice::full());
                let pos = slice_positions(&slice, shape[d]);
                if grid[d] == 1 {
                    block[d] = pos.len().max(1);
                    continue;
                }
                let b = block[d];
                let aligned =
                    slice.step == 1 && pos.first().is_some_and(|p| (*p as usize).is_multiple_of(b));
                if aligned {
                    // Whole blocks from the start (the last may be cut short).
                    let first = pos[0] as usize / b;
                    let last = (pos[pos.len() - 1] as usize) / b;
                    s = slice_axis(&s, d, first, last + 1)?;
                } else {
                    s = scales_at(&s, b, d, &Array::from_slice(&pos, &[pos.len() as i32])?)?;
                    block[d] = 1;
                }
            }
            Ok(s)
        });
        with_parts(&tensor, values, scales, block)
    }

    fn q_gather(
        dim: usize,
        tensor: QuantizedTensor<Self>,
        indices: IntTensor<Self>,
    ) -> QuantizedTensor<Self> {
        gather_parts(&tensor, dim, &indices)
    }

    /// Tiles values and scales: exact, where Burn's default re-quantizes.
    fn q_repeat_dim(
        tensor: QuantizedTensor<Self>,
        dim: usize,
        times: usize,
    ) -> QuantizedTensor<Self> {
        let shape = dims(&tensor.values.array);
        let grid = tensor.grid();
        let mut block = tensor.block.clone();
        let values = base::repeat_dim(tensor.values.clone(), dim, times);
        let scales = if grid[dim] == 1 {
            block[dim] = (shape[dim] * times).max(1);
            tensor.scales.clone()
        } else if shape[dim].is_multiple_of(block[dim]) {
            base::repeat_dim(tensor.scales.clone(), dim, times)
        } else {
            let b = block[dim];
            block[dim] = 1;
            map_scales(&tensor, "q_repeat_dim", |s| {
                let pos: Vec<i32> = (0..shape[dim] * times)
                    .map(|i| (i % shape[dim]) as i32)
                    .collect();
                scales_at(s, b, dim, &Array::from_slice(&pos, &[pos.len() as i32])?)
            })
        };
        with_parts(&tensor, values, scales, block)
    }

    /// Concatenates values and scales: exact, where Burn's default re-quantizes. Tensors with
    /// another scheme than the first are re-quantized with the first one's, as Burn does.
    fn q_cat(tensors: Vec<QuantizedTensor<Self>>, dim: usize) -> QuantizedTensor<Self> {
        let first = tensors
            .first()
            .expect("burn-mlx: q_cat: no tensors to concatenate")
            .clone();
        let scheme = first.scheme;
        let tensors: Vec<MlxQTensor> = tensors
            .into_iter()
            .map(|t| {
                if t.scheme == scheme {
                    t
                } else {
                    Self::quantize_dynamic(dequantize_f32(&t), &scheme)
                }
            })
            .collect();
        let n = first.block.len();
        let values = base::cat(tensors.iter().map(|t| t.values.clone()).collect(), dim);
        // Along `dim`, one scale per position; other axes keep their layout when every tensor
        // has the same one, else every tensor gets one scale per element.
        let same_layout = tensors.iter().all(|t| {
            let (g, g0) = (t.grid(), first.grid());
            (0..n)
                .all(|d| d == dim || (g[d] == g0[d] && (g[d] == 1 || t.block[d] == first.block[d])))
        });
        let parts: Vec<MlxTensor> = tensors
            .iter()
            .map(|t| {
                let shape = dims(&t.values.array);
                map_scales(t, "q_cat", |s| {
                    if !same_layout {
                        return element_scales(s, &t.block, &shape);
                    }
                    let g = dims(s);
                    if g[dim] == 1 {
                        let mut target = s.shape().to_vec();
                        target[dim] = shape[dim] as i32;
                        ops::broadcast_to(s, &target)
                    } else if t.block[dim] == 1 {
                        Ok(s.clone())
                    } else {
                        let pos: Vec<i32> = (0..shape[dim] as i32).collect();
                        scales_at(
                            s,
                            t.block[dim],
                            dim,
                            &Array::from_slice(&pos, &[pos.len() as i32])?,
                        )
                    }
                })
            })
            .collect();
        let mut block = if same_layout {
            first.block.clone()
        } else {
            vec![1; n]
        };
        block[dim] = 1;
        let scales = base::cat(parts, dim);
        with_parts(&first, values, scales, block)
    }

    fn q_sort(
        tensor: QuantizedTensor<Self>,
        dim: usize,
        descending: bool,
    ) -> QuantizedTensor<Self> {
        sort_parts(tensor, dim, descending, Dtype::Int32).0
    }

    fn q_sort_with_indices(
        tensor: QuantizedTensor<Self>,
        dim: usize,
        descending: bool,
        out_dtype: IntDType,
    ) -> (QuantizedTensor<Self>, IntTensor<Self>) {
        sort_parts(tensor, dim, descending, super::float::int_dtype(out_dtype))
    }

    fn q_topk(tensor: QuantizedTensor<Self>, dim: usize, k: usize) -> QuantizedTensor<Self> {
        let (_, idx) = base::topk_with_indices(dequantize_f32(&tensor), dim, k, Dtype::Int32);
        gather_parts(&tensor, dim, &idx)
    }

    /// `|scale · q| = |scale| · |q|`: exact for the symmetric value types. For the full-range
    /// ones `|a|` (e.g. 128 for `Q8F`) does not fit the range, so they take Burn's route
    /// (dequantize, `abs`, re-quantize).
    fn q_abs(tensor: QuantizedTensor<Self>) -> QuantizedTensor<Self> {
        match tensor.scheme.value {
            QuantValue::Q8S | QuantValue::Q4S | QuantValue::Q2S => {
                let values = base::unary(&tensor.values, "q_abs", ops::abs);
                let scales = base::unary(&tensor.scales, "q_abs", ops::abs);
                with_parts(&tensor, values, scales, tensor.block.clone())
            }
            _ => {
                let scheme = tensor.scheme;
                let x = base::unary(&dequantize_f32(&tensor), "q_abs", ops::abs);
                Self::quantize_dynamic(x, &scheme)
            }
        }
    }

    /// The largest `|scale · q|` along `dim`, exactly: its position from the dequantized
    /// values, then the value there made non-negative: `|q|` with `|scale|` for the symmetric
    /// value types, else `q` with the scale's sign flipped where `scale · q < 0` (`|a|` does not
    /// fit the full ranges; a given scale may be negative). Burn's default finds the position in
    /// `q_abs` (re-quantized for full ranges, so two close values may swap) and returns the
    /// signed value.
    fn q_max_abs_dim(tensor: QuantizedTensor<Self>, dim: usize) -> QuantizedTensor<Self> {
        let abs = base::unary(&dequantize_f32(&tensor), "q_max_abs_dim", ops::abs);
        let idx = base::argmax(abs, dim, Dtype::Int32);
        let t = gather_parts(&tensor, dim, &idx);
        let shape = dims(&t.values.array);
        match t.scheme.value {
            QuantValue::Q8S | QuantValue::Q4S | QuantValue::Q2S => {
                let values = base::unary(&t.values, "q_max_abs_dim", ops::abs);
                let scales = base::unary(&t.scales, "q_max_abs_dim", ops::abs);
                with_parts(&t, values, scales, t.block.clone())
            }
            _ => {
                let scales = op(&[&t.values, &t.scales], "q_max_abs_dim", || {
                    let e = element_scales(&t.scales.array, &t.block, &shape)?;
                    let value = ops::multiply(&t.values.array.astype(Dtype::Float32)?, &e)?;
                    let negative = ops::less(&value, &Array::scalar(0.0f32))?;
                    pick(&negative, &ops::negative(&e)?, &e)
                });
                with_parts(&t, t.values.clone(), scales, vec![1; shape.len()])
            }
        }
    }

    fn q_matmul(lhs: TensorPrimitive<Self>, rhs: TensorPrimitive<Self>) -> TensorPrimitive<Self> {
        TensorPrimitive::Float(matmul::q_matmul::<F, I>(lhs, rhs))
    }
}

mod matmul;

#[cfg(test)]
mod tests {
    use burn_backend::TensorData;
    use burn_backend::quantization::{QuantLevel, QuantStore};

    use super::matmul::kernel_weights;
    use super::*;

    fn quantized(shape: [usize; 2], level: QuantLevel, value: QuantValue) -> MlxQTensor {
        let n = shape[0] * shape[1];
        let x: Vec<f32> = (0..n)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0)
            .collect();
        let x = MlxTensor::from_data(TensorData::new(x, shape), MlxDevice::Cpu);
        let scheme = QuantScheme::default()
            .with_store(QuantStore::Native)
            .with_level(level)
            .with_value(value);
        <Mlx as QTensorOps<Mlx>>::quantize_dynamic(x, &scheme)
    }

    #[test]
    fn kernel_takes_blocks_that_fit_mlx_groups() {
        let along_n = quantized([64, 256], QuantLevel::block([32]), QuantValue::Q8S);
        assert!(kernel_weights(&along_n, 1, Dtype::Float32).is_some());
        assert!(kernel_weights(&along_n, 0, Dtype::Float32).is_none());
        let transposed = <Mlx as QTensorOps<Mlx>>::q_transpose(along_n);
        assert!(kernel_weights(&transposed, 0, Dtype::Float32).is_some());
        let per_tensor = quantized([64, 96], QuantLevel::Tensor, QuantValue::Q4F);
        assert!(kernel_weights(&per_tensor, 0, Dtype::Float16).is_some());
        assert!(kernel_weights(&per_tensor, 1, Dtype::Float32).is_some());
        assert!(kernel_weights(&per_tensor, 1, Dtype::Float64).is_none());
        let small = quantized([64, 96], QuantLevel::block([8]), QuantValue::Q2S);
        assert!(kernel_weights(&small, 1, Dtype::Float32).is_none());
        // The largest group that still splits a row: 64 columns in groups of 32, 96 in groups
        // of 32 (96 is no multiple of 64), 256 in groups of 128; 32 columns in one group.
        let group = |shape: [usize; 2], col: usize| {
            let t = quantized(shape, QuantLevel::Tensor, QuantValue::Q8S);
            kernel_weights(&t, col, Dtype::Float32).unwrap().group
        };
        assert_eq!(group([64, 96], 0), 32);
        assert_eq!(group([64, 96], 1), 32);
        assert_eq!(group([256, 64], 0), 128);
        assert_eq!(group([32, 64], 0), 32);
    }

    /// Packed forms are made once per tensor and orientation, and shared with clones and the
    /// transpose.
    #[test]
    fn packed_forms_are_kept() {
        let t = quantized([64, 128], QuantLevel::Tensor, QuantValue::Q4S);
        let a = kernel_weights(&t, 1, Dtype::Float32).unwrap();
        let b = kernel_weights(&t.clone(), 1, Dtype::Float32).unwrap();
        assert!(a.w.same_node(&b.w) && a.scales.same_node(&b.scales));
        let c = kernel_weights(&t, 0, Dtype::Float32).unwrap();
        assert!(!a.w.same_node(&c.w));
        let h = kernel_weights(&t, 1, Dtype::Float16).unwrap();
        assert!(!a.scales.same_node(&h.scales));
        let tt = <Mlx as QTensorOps<Mlx>>::q_transpose(t.clone());
        assert!(
            kernel_weights(&tt, 0, Dtype::Float32)
                .unwrap()
                .w
                .same_node(&a.w)
        );
        assert!(
            kernel_weights(&tt, 1, Dtype::Float32)
                .unwrap()
                .w
                .same_node(&c.w)
        );
        let back = <Mlx as QTensorOps<Mlx>>::q_transpose(tt);
        assert!(
            kernel_weights(&back, 1, Dtype::Float32)
                .unwrap()
                .w
                .same_node(&a.w)
        );
        // Another op makes a new tensor, with its own packed forms.
        let flipped = <Mlx as QTensorOps<Mlx>>::q_flip(t, &[0]);
        assert!(
            !kernel_weights(&flipped, 1, Dtype::Float32)
                .unwrap()
                .w
                .same_node(&a.w)
        );
    }

    /// MLX's affine dequantization of the packed weights gives Burn's `scale · q`.
    #[test]
    fn packed_weights_dequantize_to_burn_values() {
        for value in [QuantValue::Q8F, QuantValue::Q4S, QuantValue::Q2F] {
            for level in [QuantLevel::block([64]), QuantLevel::Tensor] {
                let t = quantized([32, 128], level, value);
                let want = dequantize_f32(&t).array.to_vec::<f32>().unwrap();
                // Blocks along the last axis fit groups along it only; one scale fits both.
                let cols: &[usize] = if level == QuantLevel::Tensor {
                    &[0, 1]
                } else {
                    &[1]
                };
                for &col in cols {
                    let k = kernel_weights(&t, col, Dtype::Float32).expect("fits");
                    let opts = ops::QuantizeOptions::default()
                        .with_group_size(k.group)
                        .with_bits(k.bits);
                    let got = ops::dequantize(
                        &k.w,
                        &k.scales,
                        Some(&k.biases),
                        &opts,
                        Some(Dtype::Float32),
                    )
                    .unwrap();
                    let got = if col == 1 {
                        got
                    } else {
                        ops::transpose(&got, Some(&[1, 0])).unwrap()
                    };
                    let got = got.to_vec::<f32>().unwrap();
                    for (g, w) in got.iter().zip(&want) {
                        assert!(
                            (g - w).abs() <= 1e-6 * (1.0 + w.abs()),
                            "{value:?} {level:?} {col}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }
}
