//! `BoolTensorOps` on MLX.

use burn_backend::ops::BoolTensorOps;
use burn_backend::tensor::{BoolTensor, FloatTensor, IntTensor};
use burn_backend::{
    BoolDType, ExecutionError, FloatDType, IntDType, Scalar, Shape, Slice, TensorData,
    TensorMetadata,
};
use mlx::{Array, Dtype, ops};

use super::base::{self, Cmp, binary, unary};
use super::float::{float_dtype, int_dtype};
use crate::eval::run;
use crate::tensor::MlxTensor;
use crate::{Mlx, MlxDevice, MlxFloat, MlxInt};

/// `tensor | (count > 0)`: the OR of bools expressed through an integer scatter-add.
fn or_counts(tensor: &Array, counts: &Array) -> mlx::Result<Array> {
    let zero = Array::scalar(0u32);
    ops::logical_or(tensor, &ops::greater(counts, &zero)?)
}

impl<F: MlxFloat, I: MlxInt> BoolTensorOps<Self> for Mlx<F, I> {
    fn bool_empty(shape: Shape, device: &MlxDevice, _dtype: BoolDType) -> BoolTensor<Self> {
        base::full(&shape, Scalar::Bool(false), Dtype::Bool, *device)
    }

    fn bool_zeros(shape: Shape, device: &MlxDevice, _dtype: BoolDType) -> BoolTensor<Self> {
        base::full(&shape, Scalar::Bool(false), Dtype::Bool, *device)
    }

    fn bool_ones(shape: Shape, device: &MlxDevice, _dtype: BoolDType) -> BoolTensor<Self> {
        base::full(&shape, Scalar::Bool(true), Dtype::Bool, *device)
    }

    async fn bool_into_data(tensor: BoolTensor<Self>) -> Result<TensorData, ExecutionError> {
        Ok(tensor.to_data())
    }

    fn bool_from_data(data: TensorData, device: &MlxDevice) -> BoolTensor<Self> {
        MlxTensor::from_data(data, *device)
    }

    fn bool_into_int(tensor: BoolTensor<Self>, out_dtype: IntDType) -> IntTensor<Self> {
        base::cast(tensor, int_dtype(out_dtype))
    }

    fn bool_into_float(tensor: BoolTensor<Self>, out_dtype: FloatDType) -> FloatTensor<Self> {
        base::cast(tensor, float_dtype(out_dtype))
    }

    fn bool_device(tensor: &BoolTensor<Self>) -> MlxDevice {
        tensor.device
    }

    fn bool_to_device(tensor: BoolTensor<Self>, device: &MlxDevice) -> BoolTensor<Self> {
        MlxTensor {
            device: *device,
            ..tensor
        }
    }

    fn bool_reshape(tensor: BoolTensor<Self>, shape: Shape) -> BoolTensor<Self> {
        base::reshape(tensor, shape)
    }

    fn bool_slice(tensor: BoolTensor<Self>, slices: &[Slice]) -> BoolTensor<Self> {
        base::slice(tensor, slices)
    }

    fn bool_slice_assign(
        tensor: BoolTensor<Self>,
        slices: &[Slice],
        value: BoolTensor<Self>,
    ) -> BoolTensor<Self> {
        base::slice_assign(tensor, slices, value)
    }

    fn bool_mask_where(
        tensor: BoolTensor<Self>,
        mask: BoolTensor<Self>,
        value: BoolTensor<Self>,
    ) -> BoolTensor<Self> {
        base::mask_where(tensor, mask, value)
    }

    fn bool_mask_fill(
        tensor: BoolTensor<Self>,
        mask: BoolTensor<Self>,
        value: Scalar,
    ) -> BoolTensor<Self> {
        base::mask_fill(tensor, mask, value)
    }

    fn bool_gather(
        dim: usize,
        tensor: BoolTensor<Self>,
        indices: IntTensor<Self>,
    ) -> BoolTensor<Self> {
        base::gather(dim, tensor, indices)
    }

    fn bool_scatter_or(
        dim: usize,
        tensor: BoolTensor<Self>,
        indices: IntTensor<Self>,
        value: BoolTensor<Self>,
    ) -> BoolTensor<Self> {
        let zeros = base::cast(tensor.clone(), Dtype::Uint32);
        let zeros = unary(&zeros, "scatter_or", |a| ops::zeros_like(a, None));
        let counts = base::scatter_add(dim, zeros, indices, base::cast(value, Dtype::Uint32));
        binary(&tensor, &counts, "scatter_or", or_counts)
    }

    fn bool_select(
        tensor: BoolTensor<Self>,
        dim: usize,
        indices: IntTensor<Self>,
    ) -> BoolTensor<Self> {
        base::select(tensor, dim, indices)
    }

    fn bool_select_or(
        tensor: BoolTensor<Self>,
        dim: usize,
        indices: IntTensor<Self>,
        value: BoolTensor<Self>,
    ) -> BoolTensor<Self> {
        let zeros = base::cast(tensor.clone(), Dtype::Uint32);
        let zeros = unary(&zeros, "select_or", |a| ops::zeros_like(a, None));
        let counts = base::select_add(zeros, dim, indices, base::cast(value, Dtype::Uint32));
        binary(&tensor, &counts, "select_or", or_counts)
    }

    fn bool_repeat_dim(tensor: BoolTensor<Self>, dim: usize, times: usize) -> BoolTensor<Self> {
        base::repeat_dim(tensor, dim, times)
    }

    fn bool_cat(tensors: Vec<BoolTensor<Self>>, dim: usize) -> BoolTensor<Self> {
        base::cat(tensors, dim)
    }

    fn bool_equal(lhs: BoolTensor<Self>, rhs: BoolTensor<Self>) -> BoolTensor<Self> {
        base::compare(lhs, rhs, Cmp::Eq)
    }

    fn bool_not_equal(lhs: BoolTensor<Self>, rhs: BoolTensor<Self>) -> BoolTensor<Self> {
        base::compare(lhs, rhs, Cmp::Ne)
    }

    fn bool_equal_elem(lhs: BoolTensor<Self>, rhs: Scalar) -> BoolTensor<Self> {
        base::compare_elem(lhs, rhs, Cmp::Eq)
    }

    fn bool_not_equal_elem(lhs: BoolTensor<Self>, rhs: Scalar) -> BoolTensor<Self> {
        base::compare_elem(lhs, rhs, Cmp::Ne)
    }

    fn bool_not(tensor: BoolTensor<Self>) -> BoolTensor<Self> {
        unary(&tensor, "not", ops::logical_not)
    }

    fn bool_and(lhs: BoolTensor<Self>, rhs: BoolTensor<Self>) -> BoolTensor<Self> {
        binary(&lhs, &rhs, "and", ops::logical_and)
    }

    fn bool_or(lhs: BoolTensor<Self>, rhs: BoolTensor<Self>) -> BoolTensor<Self> {
        binary(&lhs, &rhs, "or", ops::logical_or)
    }

    fn bool_xor(lhs: BoolTensor<Self>, rhs: BoolTensor<Self>) -> BoolTensor<Self> {
        binary(&lhs, &rhs, "xor", ops::not_equal)
    }

    fn bool_transpose(tensor: BoolTensor<Self>) -> BoolTensor<Self> {
        let n = tensor.array.ndim();
        if n < 2 {
            return tensor;
        }
        base::swap_dims(tensor, n - 2, n - 1)
    }

    fn bool_swap_dims(tensor: BoolTensor<Self>, dim1: usize, dim2: usize) -> BoolTensor<Self> {
        base::swap_dims(tensor, dim1, dim2)
    }

    fn bool_permute(tensor: BoolTensor<Self>, axes: &[usize]) -> BoolTensor<Self> {
        base::permute(tensor, axes)
    }

    fn bool_flip(tensor: BoolTensor<Self>, axes: &[usize]) -> BoolTensor<Self> {
        base::flip(tensor, axes)
    }

    fn bool_any(tensor: BoolTensor<Self>) -> BoolTensor<Self> {
        base::any(tensor)
    }

    fn bool_any_dim(tensor: BoolTensor<Self>, dim: usize) -> BoolTensor<Self> {
        base::any_dim(tensor, dim)
    }

    fn bool_all(tensor: BoolTensor<Self>) -> BoolTensor<Self> {
        base::all(tensor)
    }

    fn bool_all_dim(tensor: BoolTensor<Self>, dim: usize) -> BoolTensor<Self> {
        base::all_dim(tensor, dim)
    }

    async fn bool_argwhere(tensor: BoolTensor<Self>, out_dtype: IntDType) -> IntTensor<Self> {
        // The result's length depends on the data, which MLX's static graphs cannot express:
        // read the mask and list the coordinates of its true elements.
        let shape = tensor.shape();
        let device = tensor.device;
        let mask = run(device, "argwhere", || tensor.array.to_vec::<bool>());
        let rank = shape.num_dims();
        let mut coords: Vec<i64> = Vec::new();
        for (flat, _) in mask.iter().enumerate().filter(|(_, m)| **m) {
            let mut rest = flat;
            let start = coords.len();
            coords.resize(start + rank, 0);
            for d in (0..rank).rev() {
                coords[start + d] = (rest % shape[d]) as i64;
                rest /= shape[d];
            }
        }
        let rows = coords.len().checked_div(rank).unwrap_or(0);
        let data = TensorData::new(coords, [rows, rank]).convert_dtype(out_dtype.into());
        MlxTensor::from_data(data, device)
    }

    fn bool_expand(tensor: BoolTensor<Self>, shape: Shape) -> BoolTensor<Self> {
        base::expand(tensor, shape)
    }

    fn bool_unfold(
        tensor: BoolTensor<Self>,
        dim: usize,
        size: usize,
        step: usize,
    ) -> BoolTensor<Self> {
        base::unfold(tensor, dim, size, step)
    }
}
