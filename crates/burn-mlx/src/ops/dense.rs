//! Dense layers: linear (and its three backward products) and layer normalization.
//!
//! Linear flattens every leading dimension into the rows of one matrix product (one GEMM
//! instead of a broadcast batch of them), adds the bias inside the product with `addmm`, and
//! computes the weight gradient as one `xᵀ · grad` over all rows, where Burn's default runs a
//! batched product and then sums it over the batch dimensions.

use burn_backend::TensorMetadata;
use mlx::{Array, ops};

use super::base::{self, cpu_half_in_f32, half_in_f32, in_dtype};
use crate::eval::op;
use crate::tensor::MlxTensor;

/// `x` as a matrix `[rows, last]` (rows: the product of the leading dimensions).
fn as_matrix(x: &Array) -> mlx::Result<Array> {
    let shape = x.shape();
    let last = *shape.last().unwrap_or(&1);
    let rows: i32 = shape[..shape.len().saturating_sub(1)].iter().product();
    x.reshape(&[rows, last])
}

/// `x [..., d_in] · weight [d_in, d_out] (+ bias [d_out])`.
pub(crate) fn linear(x: MlxTensor, weight: MlxTensor, bias: Option<MlxTensor>) -> MlxTensor {
    let mut inputs = vec![&x, &weight];
    inputs.extend(bias.as_ref());
    op(&inputs, "linear", || {
        let shape = x.array.shape().to_vec();
        let d_out = weight.array.shape()[1];
        let mut out_shape = shape.clone();
        *out_shape
            .last_mut()
            .expect("linear: x has at least one dimension") = d_out;
        let xm = if shape.len() == 2 {
            (*x.array).clone()
        } else {
            as_matrix(&x.array)?
        };
        let y = match &bias {
            Some(b) => cpu_half_in_f32(
                [&in_dtype(&b.array, x.array.dtype())?, &xm, &weight.array],
                |[b, x, w]| ops::addmm(&b, &x, &w, 1.0, 1.0),
            )?,
            None => base::matmul(&xm, &weight.array)?,
        };
        if shape.len() == 2 {
            Ok(y)
        } else {
            y.reshape(&out_shape)
        }
    })
}

/// `grad [..., d_out] · weightᵀ`: the gradient for `x`.
pub(crate) fn linear_x_backward(weight: MlxTensor, output_grad: MlxTensor) -> MlxTensor {
    op(&[&weight, &output_grad], "linear_x_backward", || {
        let shape = output_grad.array.shape().to_vec();
        let d_in = weight.array.shape()[0];
        let mut out_shape = shape.clone();
        *out_shape
            .last_mut()
            .expect("linear_x_backward: grad has at least one dimension") = d_in;
        let wt = ops::transpose(&weight.array, Some(&[1, 0]))?;
        if shape.len() == 2 {
            base::matmul(&output_grad.array, &wt)
        } else {
            base::matmul(&as_matrix(&output_grad.array)?, &wt)?.reshape(&out_shape)
        }
    })
}

/// `xᵀ · grad` summed over every leading dimension: the gradient for `weight` `[d_in, d_out]`.
pub(crate) fn linear_weight_backward(x: MlxTensor, output_grad: MlxTensor) -> MlxTensor {
    op(&[&x, &output_grad], "linear_weight_backward", || {
        let xm = as_matrix(&x.array)?;
        let gm = as_matrix(&output_grad.array)?;
        base::matmul(&ops::transpose(&xm, Some(&[1, 0]))?, &gm)
    })
}

/// `grad` summed over every dimension but the last: the gradient for `bias` `[d_out]`.
pub(crate) fn linear_bias_backward(output_grad: MlxTensor) -> MlxTensor {
    let rank = output_grad.shape().num_dims() as i32;
    let axes: Vec<i32> = (0..rank - 1).collect();
    op(&[&output_grad], "linear_bias_backward", || {
        if axes.is_empty() {
            Ok((*output_grad.array).clone())
        } else {
            // Half types accumulate in float32, as Burn's sums do (see `half_in_f32`).
            half_in_f32(&output_grad.array, |g| ops::sum(g, Some(&axes), false))
        }
    })
}

/// Layer normalization over the last dimension with MLX's fused kernel (`gamma` and `beta` in
/// the input's dtype, so that the result keeps it).
pub(crate) fn layer_norm(
    tensor: MlxTensor,
    gamma: MlxTensor,
    beta: Option<MlxTensor>,
    epsilon: f64,
) -> MlxTensor {
    let mut inputs = vec![&tensor, &gamma];
    inputs.extend(beta.as_ref());
    op(&inputs, "layer_norm", || {
        let dtype = tensor.array.dtype();
        let gamma = in_dtype(&gamma.array, dtype)?;
        let beta = match &beta {
            Some(b) => Some(in_dtype(&b.array, dtype)?),
            None => None,
        };
        mlx::fast::layer_norm(&tensor.array, Some(&gamma), beta.as_ref(), epsilon as f32)
    })
}
