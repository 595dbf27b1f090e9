//! Channels-last memory under Burn's channels-first shapes.
//!
//! Burn's images are `[N, C, H, W]`; MLX's convolutions are channels-last, so a convolution's
//! result is a transposed view of a `[N, H, W, C]` array. MLX keeps that memory order through
//! unary ops and ops with a scalar, but an op on two such views (ReLU's backward pass, max
//! pooling's comparisons) takes MLX's general strided loop and writes channels-first memory,
//! which the next convolution then copies back to channels-last. Native MLX models never pay
//! this: they are channels-last throughout.
//!
//! So tensors carry a hint, [`MlxTensor::channels_last`]: set on a convolution's result, kept
//! through the ops that keep MLX's memory order, and read by the ops that combine such tensors
//! (ReLU's backward pass, max pooling), which then work on channels-last views — contiguous, so
//! MLX's vectorized loops — and hand back a channels-last result. The hint only steers speed:
//! every view is exact whatever the memory really holds.

use mlx::{Array, Result};

use crate::tensor::MlxTensor;

/// `[N, C, *S]` to `[N, *S, C]` (a view; also weights `[O, I, *K]` to `[O, *K, I]`).
pub(crate) fn to_cl(a: &Array) -> Result<Array> {
    let r = a.ndim() as i32;
    let mut axes = vec![0];
    axes.extend(2..r);
    axes.push(1);
    a.transpose(Some(&axes))
}

/// `[N, *S, C]` to `[N, C, *S]` (a view).
pub(crate) fn from_cl(a: &Array) -> Result<Array> {
    let r = a.ndim() as i32;
    let mut axes = vec![0, r - 1];
    axes.extend(1..r - 1);
    a.transpose(Some(&axes))
}

/// Whether `t` is an image batch (a channel axis and at least one spatial axis) whose memory is
/// believed channels-last.
pub(crate) fn is_channels_last(t: &MlxTensor) -> bool {
    t.channels_last && t.array.ndim() >= 3
}

/// `t`, marked as channels-last in memory.
pub(crate) fn mark_channels_last(mut t: MlxTensor) -> MlxTensor {
    t.channels_last = t.array.ndim() >= 3;
    t
}

/// `t` carrying `from`'s hint: for results of ops that keep MLX's memory order (unary ops,
/// ops with a scalar) on `from`.
pub(crate) fn keep_layout(mut t: MlxTensor, from: &MlxTensor) -> MlxTensor {
    t.channels_last = from.channels_last && t.array.ndim() == from.array.ndim();
    t
}

/// `f` applied to channels-last views of `inputs` (same rank), its channels-last result viewed
/// channels-first again: for elementwise ops, exact in any memory order.
pub(crate) fn elementwise_cl(
    inputs: &[&Array],
    f: impl FnOnce(&[Array]) -> Result<Array>,
) -> Result<Array> {
    let views = inputs
        .iter()
        .map(|a| to_cl(a))
        .collect::<Result<Vec<_>>>()?;
    from_cl(&f(&views)?)
}
