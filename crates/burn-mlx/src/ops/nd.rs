//! Burn's multi-dimensional gather and scatter (`gather_nd`, `scatter_nd`), on MLX's general
//! `gather` / `scatter`.
//!
//! `indices` has shape `[..., K]`: each row of its last dimension addresses a slice
//! `data[i0, ..., iK-1, ...]`. Gathering yields `indices.shape[..-1] + data.shape[K..]`;
//! scattering takes values of that shape.

use burn_backend::tensor::IndexingUpdateOp;
use mlx::{Array, ops};

use crate::eval::op;
use crate::tensor::MlxTensor;

/// The K index arrays (one per leading axis of `data`) of an `[..., K]` index tensor.
fn split_indices(indices: &Array) -> mlx::Result<(Vec<Array>, usize)> {
    let k = *indices.shape().last().unwrap_or(&0) as usize;
    let parts = (0..k)
        .map(|i| ops::take_index(indices, i as i32, Some(-1)))
        .collect::<mlx::Result<Vec<_>>>()?;
    Ok((parts, k))
}

pub(crate) fn gather_nd(data: MlxTensor, indices: MlxTensor) -> MlxTensor {
    op(&[&data, &indices], "gather_nd", || {
        let (parts, k) = split_indices(&indices.array)?;
        let shape = data.array.shape();
        let axes: Vec<i32> = (0..k as i32).collect();
        let mut slice_sizes = vec![1; k];
        slice_sizes.extend_from_slice(&shape[k..]);
        let out = ops::gather(&data.array, &parts, &axes, &slice_sizes)?;
        // MLX keeps the K indexed axes with size 1 after the batch axes: drop them.
        let batch = indices.array.ndim() - 1;
        let squeeze: Vec<i32> = (batch..batch + k).map(|a| a as i32).collect();
        if squeeze.is_empty() {
            Ok(out)
        } else {
            ops::squeeze(&out, Some(&squeeze))
        }
    })
}

pub(crate) fn scatter_nd(
    data: MlxTensor,
    indices: MlxTensor,
    values: MlxTensor,
    reduction: IndexingUpdateOp,
) -> MlxTensor {
    let cpu_only = super::base::gpu_lacks_scatter(data.array.dtype());
    crate::eval::op_routed(&[&data, &indices, &values], "scatter_nd", cpu_only, || {
        let (parts, k) = split_indices(&indices.array)?;
        let axes: Vec<i32> = (0..k as i32).collect();
        // Updates shaped [batch..., 1 x K, data.shape[K..]].
        let batch = indices.array.ndim() - 1;
        let mut upd_shape: Vec<i32> = indices.array.shape()[..batch].to_vec();
        upd_shape.extend(std::iter::repeat_n(1, k));
        upd_shape.extend_from_slice(&data.array.shape()[k..]);
        let updates = values
            .array
            .astype(data.array.dtype())?
            .reshape(&upd_shape)?;
        let a = &data.array;
        match reduction {
            IndexingUpdateOp::Assign => ops::scatter(a, &parts, &updates, &axes),
            IndexingUpdateOp::Add => ops::scatter_add(a, &parts, &updates, &axes),
            IndexingUpdateOp::Mul => ops::scatter_prod(a, &parts, &updates, &axes),
            IndexingUpdateOp::Min => ops::scatter_min(a, &parts, &updates, &axes),
            IndexingUpdateOp::Max => ops::scatter_max(a, &parts, &updates, &axes),
        }
    })
}
