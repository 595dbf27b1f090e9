//! Float32 convolutions on the CPU as channel-major matrix products.
//!
//! MLX's CPU convolution unfolds its channels-last input into `[N * P, K * C]` rows (`P` output
//! positions per image, `K` kernel taps, `C` channels) and multiplies them by the kernel into a
//! channels-last `[N * P, O]`. OpenBLAS, splitting such a product over two threads, splits it
//! along the long side and packs each thread's whole share of the unfolded input into that
//! thread's GEMM buffer, whose pages then stay resident for the life of the process: 8 MB for
//! the input gradient of the digit CNN's second convolution, 40 MB for the benchmark CNN's
//! second convolution, 160 MB for a product four times as long. The same product the other way
//! round, `[O, K * C] · [K * C, N * P]`, has the long side where OpenBLAS packs in fixed-size
//! blocks: no growth, and the products alone run 1.05–1.4× faster (3× on a first convolution of
//! one input channel, where MLX's path spends its time on the narrow output; 7.7× on a strided
//! convolution's input gradient, where MLX's input-dilated CPU convolution is slow); whole
//! training steps of the benchmark CNN take about as long as before.
//!
//! The product runs as one op of the `mlx` crate, [`ops::conv_channel_major`]: a CPU kernel that
//! unfolds a block of images at a time, zero padding included, into a scratch buffer of its own
//! task (1 MiB) and multiplies it straight into the result. MLX allocates an op's result when it schedules the
//! op, ahead of the computation, so an unfolded input built from MLX ops (as large as the
//! input times the kernel's taps) was allocated for every convolution of an evaluation before
//! the first ran (19 MB of the `learner` example's peak heap), as was each padded copy of an
//! input (the input gradient of a convolution is one over its output gradient padded by the
//! kernel's reach), and each cost a pass over memory that the kernel now reads from the caches.
//!
//! The result is channel-major memory, `[O, N, *S]`, handed out as a `[N, O, *S]` view: the
//! spatial axes stay contiguous, which the channels-first paths of the ops after a convolution
//! (ReLU, pooling, the next convolution's unfolding) read at full speed, so such results are not
//! marked channels-last (see [`super::layout`]).
//!
//! Weight gradients keep their per-image products (see `conv::weight_grad_cl`): one product
//! contracting over every position of the batch splits badly over threads and took 1.2–5× as
//! long on these shapes.

use mlx::{Array, Dtype, Result, ops};

use super::conv::{Spec, dilate};
use crate::device::MlxDevice;

/// Whether [`conv`] computes this convolution: float32 on the CPU, one group, no cropping, no
/// empty operand. The others go to MLX's convolution.
pub(super) fn applies(device: MlxDevice, x: &Array, w: &Array, spec: &Spec) -> bool {
    device == MlxDevice::Cpu
        && x.dtype() == Dtype::Float32
        && w.dtype() == Dtype::Float32
        && spec.groups == 1
        && spec.lo.iter().chain(&spec.hi).all(|p| *p >= 0)
        && x.size() > 0
        && w.size() > 0
}

/// The convolution of channels-first `x` `[N, C, *S]` with `w` `[O, C, *K]`, plus `bias`
/// `[O]`: `[N, O, *S_out]`, a view of channel-major memory. `spec` as [`applies`] accepts it.
pub(super) fn conv(x: &Array, w: &Array, bias: Option<&Array>, spec: &Spec) -> Result<Array> {
    let n = spec.stride.len();
    let mut x = x.clone();
    for j in 0..n {
        x = dilate(&x, j + 2, spec.idil[j])?;
    }
    let w = if spec.flip {
        ops::flip(w, Some(&(2..n as i32 + 2).collect::<Vec<_>>()))?
    } else {
        w.clone()
    };
    let fused_bias = bias.filter(|b| b.dtype() == Dtype::Float32);
    let geometry = ops::ChannelMajorConv {
        stride: &spec.stride,
        padding_lo: &spec.lo,
        padding_hi: &spec.hi,
        dilation: &spec.kdil,
    };
    let mut y = ops::conv_channel_major(&x, &w, fused_bias, &geometry)?;
    if let Some(b) = bias.filter(|b| b.dtype() != Dtype::Float32) {
        let mut shape = vec![b.size() as i32];
        shape.extend(std::iter::repeat_n(1, n + 1));
        y = ops::add(&y, &b.reshape(&shape)?)?;
    }
    y.swapaxes(0, 1)
}
