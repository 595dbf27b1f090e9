//! `IntTensorOps` on MLX.

use std::ops::Range;

use burn_backend::ops::IntTensorOps;
use burn_backend::tensor::{BoolTensor, FloatTensor, IndexingUpdateOp, IntTensor};
use burn_backend::{
    BoolDType, Distribution, ExecutionError, FloatDType, IntDType, Scalar, Shape, Slice, TensorData,
};
use mlx::{Array, Dtype, ops};

use super::base::{self, Cmp, axis, binary, reduce_all, unary, with_scalar};
use super::float::{float_dtype, int_dtype};
use super::nd;
use super::pick::pick;
use crate::eval::run;
use crate::tensor::MlxTensor;
use crate::{Mlx, MlxDevice, MlxFloat, MlxInt};

/// Integer division truncating towards zero (Rust's `/`, and Burn's), from MLX's floor division.
pub(crate) fn div_trunc(a: &Array, b: &Array) -> mlx::Result<Array> {
    let floor = ops::floor_divide(a, b)?;
    if a.dtype().is_unsigned_integer() {
        return Ok(floor);
    }
    // floor and trunc differ by one when the division is inexact and the signs differ.
    let zero = Array::scalar(0i32).astype(a.dtype())?;
    let inexact = ops::not_equal(&ops::remainder(a, b)?, &zero)?;
    let signs_differ = ops::not_equal(&ops::less(a, &zero)?, &ops::less(b, &zero)?)?;
    // x / 0 is 0, as floor_divide gives (no correction: the remainder is x there).
    let nonzero = ops::not_equal(b, &zero)?;
    let fix = ops::logical_and(&ops::logical_and(&inexact, &signs_differ)?, &nonzero)?;
    ops::add(&floor, &fix.astype(a.dtype())?)
}

/// `a^e` for integers. MLX's integer power gives 0 for every negative exponent, where Burn's
/// reference (a float power, truncated) gives `1 / a^|e|` truncated: `±1` for `a = ±1`, 0 for
/// `|a| >= 2`.
fn int_power(a: &Array, e: &Array) -> mlx::Result<Array> {
    let p = ops::power(a, e)?;
    if a.dtype().is_unsigned_integer() || e.dtype().is_unsigned_integer() {
        return Ok(p);
    }
    let one = Array::scalar(1i32).astype(a.dtype())?;
    let zero = Array::scalar(0i32).astype(e.dtype())?;
    let unit_base = ops::logical_and(&ops::less(e, &zero)?, &ops::equal(&ops::abs(a)?, &one)?)?;
    pick(&unit_base, &ops::power(a, &ops::abs(e)?)?, &p)
}

/// Integer matrix product, exactly: MLX's matmul takes floats only, so multiply with
/// broadcasting and sum over the shared dimension, a block of that dimension at a time so that
/// the `[..., m, block, n]` products stay small.
fn int_matmul(a: &Array, b: &Array) -> mlx::Result<Array> {
    let dtype = a.dtype();
    let (ash, bsh) = (a.shape(), b.shape());
    let (m, k, n) = (ash[ash.len() - 2], ash[ash.len() - 1], bsh[bsh.len() - 1]);
    let batch: i64 = ash[..ash.len() - 2]
        .iter()
        .zip(&bsh[..bsh.len() - 2])
        .map(|(x, y)| i64::from(*x.max(y)))
        .product();
    const MAX_PRODUCTS: i64 = 1 << 24;
    let per_k = (batch * i64::from(m) * i64::from(n)).max(1);
    let block = (MAX_PRODUCTS / per_k).clamp(1, i64::from(k.max(1))) as i32;
    let a3 = ops::expand_dims(a, &[-1])?; // [..., m, k, 1]
    let b3 = ops::expand_dims(b, &[-3])?; // [..., 1, k, n]
    let mut acc: Option<Array> = None;
    let mut start = 0;
    while start < k {
        let stop = (start + block).min(k);
        let take = |x: &Array, axis: i32| -> mlx::Result<Array> {
            let nd = x.ndim();
            let ax = (nd as i32 + axis) as usize;
            let mut lo = vec![0; nd];
            let mut hi: Vec<i32> = x.shape().to_vec();
            lo[ax] = start;
            hi[ax] = stop;
            ops::slice(x, &lo, &hi, &vec![1; nd])
        };
        let part = ops::multiply(&take(&a3, -2)?, &take(&b3, -2)?)?
            .sum(Some(&[-2]), false)?
            .astype(dtype)?;
        acc = Some(match acc {
            Some(acc) => ops::add(&acc, &part)?,
            None => part,
        });
        start = stop;
    }
    match acc {
        Some(acc) => Ok(acc),
        // An empty shared dimension: zeros of the product's shape.
        None => ops::multiply(&a3, &b3)?
            .sum(Some(&[-2]), false)?
            .astype(dtype),
    }
}

/// The dtype of index results without an explicit dtype argument: the device's default int
/// dtype (the backend's int element unless changed), as Burn's reference backend.
fn index_dtype<B: burn_backend::Backend<Device = MlxDevice>>(t: &MlxTensor) -> Dtype {
    int_dtype(burn_backend::get_device_settings::<B>(&t.device).int_dtype)
}

macro_rules! binary_ops {
    ($($name:ident => $f:expr),* $(,)?) => {$(
        fn $name(lhs: IntTensor<Self>, rhs: IntTensor<Self>) -> IntTensor<Self> {
            binary(&lhs, &rhs, stringify!($name), $f)
        }
    )*};
}

macro_rules! scalar_ops {
    ($($name:ident => $f:expr),* $(,)?) => {$(
        fn $name(lhs: IntTensor<Self>, rhs: Scalar) -> IntTensor<Self> {
            with_scalar(&lhs, rhs, stringify!($name), $f)
        }
    )*};
}

macro_rules! compare_ops {
    ($($name:ident, $elem:ident => $cmp:ident),* $(,)?) => {$(
        fn $name(lhs: IntTensor<Self>, rhs: IntTensor<Self>, _out: BoolDType) -> BoolTensor<Self> {
            base::compare(lhs, rhs, Cmp::$cmp)
        }
        fn $elem(lhs: IntTensor<Self>, rhs: Scalar, _out: BoolDType) -> BoolTensor<Self> {
            base::compare_elem(lhs, rhs, Cmp::$cmp)
        }
    )*};
}

impl<F: MlxFloat, I: MlxInt> IntTensorOps<Self> for Mlx<F, I> {
    fn int_empty(shape: Shape, device: &MlxDevice, dtype: IntDType) -> IntTensor<Self> {
        base::full(&shape, Scalar::Int(0), int_dtype(dtype), *device)
    }

    async fn int_into_data(tensor: IntTensor<Self>) -> Result<TensorData, ExecutionError> {
        Ok(tensor.to_data())
    }

    fn int_from_data(data: TensorData, device: &MlxDevice) -> IntTensor<Self> {
        MlxTensor::from_data(data, *device)
    }

    fn int_device(tensor: &IntTensor<Self>) -> MlxDevice {
        tensor.device
    }

    fn int_to_device(tensor: IntTensor<Self>, device: &MlxDevice) -> IntTensor<Self> {
        MlxTensor {
            device: *device,
            ..tensor
        }
    }

    fn int_reshape(tensor: IntTensor<Self>, shape: Shape) -> IntTensor<Self> {
        base::reshape(tensor, shape)
    }

    fn int_slice(tensor: IntTensor<Self>, slices: &[Slice]) -> IntTensor<Self> {
        base::slice(tensor, slices)
    }

    fn int_slice_assign(
        tensor: IntTensor<Self>,
        slices: &[Slice],
        value: IntTensor<Self>,
    ) -> IntTensor<Self> {
        base::slice_assign(tensor, slices, value)
    }

    fn int_into_float(tensor: IntTensor<Self>, out_dtype: FloatDType) -> FloatTensor<Self> {
        base::cast(tensor, float_dtype(out_dtype))
    }

    fn int_mask_where(
        tensor: IntTensor<Self>,
        mask: BoolTensor<Self>,
        value: IntTensor<Self>,
    ) -> IntTensor<Self> {
        base::mask_where(tensor, mask, value)
    }

    fn int_mask_fill(
        tensor: IntTensor<Self>,
        mask: BoolTensor<Self>,
        value: Scalar,
    ) -> IntTensor<Self> {
        base::mask_fill(tensor, mask, value)
    }

    fn int_gather(
        dim: usize,
        tensor: IntTensor<Self>,
        indices: IntTensor<Self>,
    ) -> IntTensor<Self> {
        base::gather(dim, tensor, indices)
    }

    fn int_scatter_add(
        dim: usize,
        tensor: IntTensor<Self>,
        indices: IntTensor<Self>,
        value: IntTensor<Self>,
    ) -> IntTensor<Self> {
        base::scatter_add(dim, tensor, indices, value)
    }

    fn int_scatter_nd(
        data: IntTensor<Self>,
        indices: IntTensor<Self>,
        values: IntTensor<Self>,
        reduction: IndexingUpdateOp,
    ) -> IntTensor<Self> {
        nd::scatter_nd(data, indices, values, reduction)
    }

    fn int_gather_nd(data: IntTensor<Self>, indices: IntTensor<Self>) -> IntTensor<Self> {
        nd::gather_nd(data, indices)
    }

    fn int_select(
        tensor: IntTensor<Self>,
        dim: usize,
        indices: IntTensor<Self>,
    ) -> IntTensor<Self> {
        base::select(tensor, dim, indices)
    }

    fn int_select_add(
        tensor: IntTensor<Self>,
        dim: usize,
        indices: IntTensor<Self>,
        value: IntTensor<Self>,
    ) -> IntTensor<Self> {
        base::select_add(tensor, dim, indices, value)
    }

    fn int_repeat_dim(tensor: IntTensor<Self>, dim: usize, times: usize) -> IntTensor<Self> {
        base::repeat_dim(tensor, dim, times)
    }

    fn int_cat(tensors: Vec<IntTensor<Self>>, dim: usize) -> IntTensor<Self> {
        base::cat(tensors, dim)
    }

    compare_ops!(
        int_equal, int_equal_elem => Eq,
        int_not_equal, int_not_equal_elem => Ne,
        int_greater, int_greater_elem => Gt,
        int_greater_equal, int_greater_equal_elem => Ge,
        int_lower, int_lower_elem => Lt,
        int_lower_equal, int_lower_equal_elem => Le,
    );

    binary_ops!(
        int_add => ops::add,
        int_sub => ops::subtract,
        int_mul => ops::multiply,
        int_div => div_trunc,
        int_remainder => ops::remainder,
        int_matmul => int_matmul,
        int_powi => int_power,
        bitwise_and => ops::bitwise_and,
        bitwise_or => ops::bitwise_or,
        bitwise_xor => ops::bitwise_xor,
        bitwise_left_shift => ops::left_shift,
        bitwise_right_shift => ops::right_shift,
    );

    scalar_ops!(
        int_add_scalar => ops::add,
        int_sub_scalar => ops::subtract,
        int_mul_scalar => ops::multiply,
        int_div_scalar => div_trunc,
        int_remainder_scalar => ops::remainder,
        int_powi_scalar => int_power,
        int_powi_scalar_impl => int_power,
        bitwise_and_scalar => ops::bitwise_and,
        bitwise_or_scalar => ops::bitwise_or,
        bitwise_xor_scalar => ops::bitwise_xor,
        bitwise_left_shift_scalar => ops::left_shift,
        bitwise_right_shift_scalar => ops::right_shift,
    );

    fn int_clamp_min(tensor: IntTensor<Self>, min: Scalar) -> IntTensor<Self> {
        with_scalar(&tensor, min, "clamp_min", |a, s| {
            ops::clip(a, Some(s), None)
        })
    }

    fn int_clamp_max(tensor: IntTensor<Self>, max: Scalar) -> IntTensor<Self> {
        with_scalar(&tensor, max, "clamp_max", |a, s| {
            ops::clip(a, None, Some(s))
        })
    }

    fn int_clamp(tensor: IntTensor<Self>, min: Scalar, max: Scalar) -> IntTensor<Self> {
        let dtype = tensor.array.dtype();
        let (lo, hi) = (base::scalar(min, dtype), base::scalar(max, dtype));
        unary(&tensor, "clamp", |a| ops::clip(a, Some(&lo), Some(&hi)))
    }

    fn int_neg(tensor: IntTensor<Self>) -> IntTensor<Self> {
        unary(&tensor, "neg", ops::negative)
    }

    fn int_zeros(shape: Shape, device: &MlxDevice, dtype: IntDType) -> IntTensor<Self> {
        base::full(&shape, Scalar::Int(0), int_dtype(dtype), *device)
    }

    fn int_ones(shape: Shape, device: &MlxDevice, dtype: IntDType) -> IntTensor<Self> {
        base::full(&shape, Scalar::Int(1), int_dtype(dtype), *device)
    }

    fn int_full(
        shape: Shape,
        fill_value: Scalar,
        device: &MlxDevice,
        dtype: IntDType,
    ) -> IntTensor<Self> {
        base::full(&shape, fill_value, int_dtype(dtype), *device)
    }

    fn int_sum(tensor: IntTensor<Self>) -> IntTensor<Self> {
        let dtype = tensor.array.dtype();
        reduce_all(tensor, "sum", |a| a.sum(None, false)?.astype(dtype))
    }

    fn int_sum_dim(tensor: IntTensor<Self>, dim: usize) -> IntTensor<Self> {
        let dtype = tensor.array.dtype();
        unary(&tensor, "sum_dim", |a| {
            a.sum(Some(&[axis(dim)]), true)?.astype(dtype)
        })
    }

    fn int_prod(tensor: IntTensor<Self>) -> IntTensor<Self> {
        let dtype = tensor.array.dtype();
        reduce_all(tensor, "prod", |a| a.prod(None, false)?.astype(dtype))
    }

    fn int_prod_dim(tensor: IntTensor<Self>, dim: usize) -> IntTensor<Self> {
        let dtype = tensor.array.dtype();
        unary(&tensor, "prod_dim", |a| {
            a.prod(Some(&[axis(dim)]), true)?.astype(dtype)
        })
    }

    fn int_mean(tensor: IntTensor<Self>) -> IntTensor<Self> {
        // An integer mean: the sum divided by the count, truncated like Burn's.
        let n = tensor.array.size().max(1) as i64;
        let dtype = tensor.array.dtype();
        reduce_all(tensor, "mean", |a| {
            div_trunc(
                &a.sum(None, false)?.astype(dtype)?,
                &mlx::Scalar::Int(n).to_array(dtype),
            )
        })
    }

    fn int_mean_dim(tensor: IntTensor<Self>, dim: usize) -> IntTensor<Self> {
        let n = tensor.array.shape()[dim].max(1) as i64;
        let dtype = tensor.array.dtype();
        unary(&tensor, "mean_dim", |a| {
            div_trunc(
                &a.sum(Some(&[axis(dim)]), true)?.astype(dtype)?,
                &mlx::Scalar::Int(n).to_array(dtype),
            )
        })
    }

    fn int_cumsum(tensor: IntTensor<Self>, dim: usize) -> IntTensor<Self> {
        let dtype = tensor.array.dtype();
        base::cumulative(tensor, dim, "cumsum", |a, ax, o| {
            ops::cumsum(a, ax, o)?.astype(dtype)
        })
    }

    fn int_cumprod(tensor: IntTensor<Self>, dim: usize) -> IntTensor<Self> {
        let dtype = tensor.array.dtype();
        base::cumulative(tensor, dim, "cumprod", |a, ax, o| {
            ops::cumprod(a, ax, o)?.astype(dtype)
        })
    }

    fn int_cummin(tensor: IntTensor<Self>, dim: usize) -> IntTensor<Self> {
        base::cumulative(tensor, dim, "cummin", ops::cummin)
    }

    fn int_cummax(tensor: IntTensor<Self>, dim: usize) -> IntTensor<Self> {
        base::cumulative(tensor, dim, "cummax", ops::cummax)
    }

    fn int_argmax(tensor: IntTensor<Self>, dim: usize) -> IntTensor<Self> {
        let dtype = index_dtype::<Self>(&tensor);
        base::argmax(tensor, dim, dtype)
    }

    fn int_argmin(tensor: IntTensor<Self>, dim: usize) -> IntTensor<Self> {
        let dtype = index_dtype::<Self>(&tensor);
        base::argmin(tensor, dim, dtype)
    }

    fn int_argtopk(tensor: IntTensor<Self>, dim: usize, k: usize) -> IntTensor<Self> {
        let dtype = index_dtype::<Self>(&tensor);
        base::topk_with_indices(tensor, dim, k, dtype).1
    }

    fn int_topk(tensor: IntTensor<Self>, dim: usize, k: usize) -> IntTensor<Self> {
        base::topk_with_indices(tensor, dim, k, Dtype::Int32).0
    }

    fn int_max(tensor: IntTensor<Self>) -> IntTensor<Self> {
        reduce_all(tensor, "max", |a| a.max(None, false))
    }

    fn int_max_dim(tensor: IntTensor<Self>, dim: usize) -> IntTensor<Self> {
        unary(&tensor, "max_dim", |a| a.max(Some(&[axis(dim)]), true))
    }

    fn int_max_dim_with_indices(
        tensor: IntTensor<Self>,
        dim: usize,
    ) -> (IntTensor<Self>, IntTensor<Self>) {
        let dtype = index_dtype::<Self>(&tensor);
        base::extreme_with_indices(tensor, dim, true, dtype)
    }

    fn int_max_abs(tensor: IntTensor<Self>) -> IntTensor<Self> {
        reduce_all(tensor, "max_abs", |a| a.abs()?.max(None, false))
    }

    fn int_max_abs_dim(tensor: IntTensor<Self>, dim: usize) -> IntTensor<Self> {
        unary(&tensor, "max_abs_dim", |a| {
            a.abs()?.max(Some(&[axis(dim)]), true)
        })
    }

    fn int_min(tensor: IntTensor<Self>) -> IntTensor<Self> {
        reduce_all(tensor, "min", |a| a.min(None, false))
    }

    fn int_min_dim(tensor: IntTensor<Self>, dim: usize) -> IntTensor<Self> {
        unary(&tensor, "min_dim", |a| a.min(Some(&[axis(dim)]), true))
    }

    fn int_min_dim_with_indices(
        tensor: IntTensor<Self>,
        dim: usize,
    ) -> (IntTensor<Self>, IntTensor<Self>) {
        let dtype = index_dtype::<Self>(&tensor);
        base::extreme_with_indices(tensor, dim, false, dtype)
    }

    fn int_abs(tensor: IntTensor<Self>) -> IntTensor<Self> {
        unary(&tensor, "abs", ops::abs)
    }

    fn int_transpose(tensor: IntTensor<Self>) -> IntTensor<Self> {
        let n = tensor.array.ndim();
        if n < 2 {
            return tensor;
        }
        base::swap_dims(tensor, n - 2, n - 1)
    }

    fn int_swap_dims(tensor: IntTensor<Self>, dim1: usize, dim2: usize) -> IntTensor<Self> {
        base::swap_dims(tensor, dim1, dim2)
    }

    fn int_permute(tensor: IntTensor<Self>, axes: &[usize]) -> IntTensor<Self> {
        base::permute(tensor, axes)
    }

    fn int_flip(tensor: IntTensor<Self>, axes: &[usize]) -> IntTensor<Self> {
        base::flip(tensor, axes)
    }

    fn int_random(
        shape: Shape,
        distribution: Distribution,
        device: &MlxDevice,
        dtype: IntDType,
    ) -> IntTensor<Self> {
        let dtype = int_dtype(dtype);
        // Burn's reference backend draws Default integers from [0, 255) and Uniform(low, high)
        // from [low, high) with both bounds truncated to integers.
        let (low, high) = match distribution {
            Distribution::Default => (0.0, 255.0),
            Distribution::Uniform(low, high) => (low.trunc(), high.trunc()),
            other => return super::float::random(&shape, other, *device, dtype),
        };
        let shape = crate::tensor::to_mlx_shape(&shape);
        // Int64 bounds: the range may exceed i32 (`as` saturates beyond i64).
        let bound = |v: f64| Array::scalar(v as i64);
        let (lo, hi) = (bound(low), bound(high));
        let array = run(*device, "int_random", || {
            mlx::random::randint(&lo, &hi, &shape, dtype, Some(&crate::rng::next_key()?))
        });
        MlxTensor::new(array, *device)
    }

    fn int_arange_step(
        range: Range<i64>,
        step: usize,
        device: &MlxDevice,
        dtype: IntDType,
    ) -> IntTensor<Self> {
        assert!(
            step > 0,
            "burn-mlx: arange_step: the step must be positive, got 0"
        );
        let dtype = int_dtype(dtype);
        // `start + k * step` in int64: f64 bounds would round values beyond 2^53.
        let span = i128::from(range.end) - i128::from(range.start);
        let n = if span > 0 {
            (span - 1) / step as i128 + 1
        } else {
            0
        };
        let array = run(*device, "arange", || {
            let k = ops::arange(0.0, n as f64, 1.0, Dtype::Int64)?;
            let k = ops::multiply(&k, &mlx::Scalar::Int(step as i64).to_array(Dtype::Int64))?;
            ops::add(&k, &mlx::Scalar::Int(range.start).to_array(Dtype::Int64))?.astype(dtype)
        });
        MlxTensor::new(array, *device)
    }

    fn int_arange(range: Range<i64>, device: &MlxDevice, dtype: IntDType) -> IntTensor<Self> {
        Self::int_arange_step(range, 1, device, dtype)
    }

    fn int_any(tensor: IntTensor<Self>, _out: BoolDType) -> BoolTensor<Self> {
        base::any(tensor)
    }

    fn int_any_dim(tensor: IntTensor<Self>, dim: usize, _out: BoolDType) -> BoolTensor<Self> {
        base::any_dim(tensor, dim)
    }

    fn int_all(tensor: IntTensor<Self>, _out: BoolDType) -> BoolTensor<Self> {
        base::all(tensor)
    }

    fn int_all_dim(tensor: IntTensor<Self>, dim: usize, _out: BoolDType) -> BoolTensor<Self> {
        base::all_dim(tensor, dim)
    }

    fn int_sign(tensor: IntTensor<Self>) -> IntTensor<Self> {
        unary(&tensor, "sign", ops::sign)
    }

    fn int_expand(tensor: IntTensor<Self>, shape: Shape) -> IntTensor<Self> {
        base::expand(tensor, shape)
    }

    fn int_sort(tensor: IntTensor<Self>, dim: usize, descending: bool) -> IntTensor<Self> {
        base::sort(tensor, dim, descending)
    }

    fn int_sort_with_indices(
        tensor: IntTensor<Self>,
        dim: usize,
        descending: bool,
    ) -> (IntTensor<Self>, IntTensor<Self>) {
        let dtype = tensor.array.dtype();
        base::sort_with_indices(tensor, dim, descending, dtype)
    }

    fn int_argsort(tensor: IntTensor<Self>, dim: usize, descending: bool) -> IntTensor<Self> {
        let dtype = tensor.array.dtype();
        base::argsort(tensor, dim, descending, dtype)
    }

    fn bitwise_not(tensor: IntTensor<Self>) -> IntTensor<Self> {
        unary(&tensor, "bitwise_not", ops::bitwise_invert)
    }

    fn int_cast(tensor: IntTensor<Self>, dtype: IntDType) -> IntTensor<Self> {
        base::cast(tensor, int_dtype(dtype))
    }

    fn int_unfold(
        tensor: IntTensor<Self>,
        dim: usize,
        size: usize,
        step: usize,
    ) -> IntTensor<Self> {
        base::unfold(tensor, dim, size, step)
    }
}
