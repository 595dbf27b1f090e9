//! Embedding lookup and its gradient.
//!
//! The lookup takes rows of the table with the indices in their own shape (`[batch, seq]` in,
//! `[batch, seq, d_model]` out: no reshapes around a flat select). The gradient scatter-adds
//! every output row's gradient into the row of the vocabulary it came from, so repeated
//! indices accumulate.

use burn_backend::TensorMetadata;
use mlx::ops;

use crate::eval::op;
use crate::tensor::MlxTensor;

/// `weights [n_embeddings, d_model]` at `indices [batch, seq]`: `[batch, seq, d_model]`.
pub(crate) fn embedding(weights: MlxTensor, indices: MlxTensor) -> MlxTensor {
    op(&[&weights, &indices], "embedding", || {
        ops::take(&weights.array, &indices.array, Some(0))
    })
}

/// The gradient for `weights`: `output_grad [batch, seq, d_model]` summed into the rows named
/// by `indices [batch, seq]`.
pub(crate) fn embedding_backward(
    weights: MlxTensor,
    output_grad: MlxTensor,
    indices: MlxTensor,
) -> MlxTensor {
    let table = weights.shape();
    let (n_embeddings, d_model) = (table[0] as i32, table[1] as i32);
    op(
        &[&weights, &output_grad, &indices],
        "embedding_backward",
        || {
            let dtype = output_grad.array.dtype();
            let grad = ops::zeros(&[n_embeddings, d_model], dtype)?;
            let count: i32 = indices.array.shape().iter().product();
            let flat = indices.array.reshape(&[count])?;
            // MLX's scatter takes updates shaped [indices..., window...] with a window of one row.
            let updates = output_grad.array.reshape(&[count, 1, d_model])?;
            ops::scatter_add(&grad, &[flat], &updates, &[0])
        },
    )
}
