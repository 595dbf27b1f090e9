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
//! The unfolded input is as large as the input times the kernel's taps; a batch whose columns
//! would exceed [`COLUMNS_BLOCK`] is unfolded and multiplied a block of images at a time. That
//! does not lower MLX's own peak: its CPU backend keeps most of an evaluation's intermediate
//! buffers until the evaluation ends (a chain of eight copies of a 4 MB array peaks at 29 MB),
//! so the blocks' columns are still held together. It lowers the process's resident peak,
//! because malloc reuses buffers of a few megabytes across steps and batch sizes where larger
//! ones make it map more (see [`COLUMNS_BLOCK`]).
//!
//! The result is channel-major memory, `[O, N, *S]`, handed out as a `[N, O, *S]` view: the
//! spatial axes stay contiguous, which the channels-first paths of the ops after a convolution
//! (ReLU, pooling, the next convolution's unfolding) read at full speed, so such results are not
//! marked channels-last (see [`super::layout`]).
//!
//! Weight gradients keep their per-image products (see `conv::weight_grad_cl`): one product
//! contracting over every position of the batch splits badly over threads and took 1.2–5× as
//! long on these shapes.

use mlx::{Array, Dtype, Result, linalg, ops};

use super::conv::{Spec, dilate, invalid, pad_spatial, row_major_strides, windows_count};
use crate::device::MlxDevice;

/// The most unfolded elements one product takes (4 MiB of float32), unless a single image has
/// more. On the digit CNN the whole batch's columns are 12.5 MB for the second convolution's
/// input gradient (batch 64) and 18 MB for its validation batches (256); blocks of this size
/// took the `learner` example's peak resident memory from 145 MB to 133–139 with MLX's peak
/// buffer memory unchanged (64 against 67 MB). Blocks of 1 MiB gave 128–130 MB, at about 3%
/// more time per step of the benchmark CNN (within its noise); the products of smaller blocks
/// also split worse over many cores.
const COLUMNS_BLOCK: i64 = 1 << 20;

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
    let x = pad_spatial(&x, 2, &spec.lo, &spec.hi)?;
    let shape = x.shape().to_vec();
    let kernel = w.shape()[2..].to_vec();
    let (batch, channels, o) = (shape[0], shape[1], w.shape()[0]);
    if w.shape()[1] != channels {
        return invalid(format!(
            "a weight of {} input channels does not fit {channels} input channels",
            w.shape()[1]
        ));
    }
    let out = (0..n)
        .map(|j| windows_count(shape[j + 2], kernel[j], spec.stride[j], spec.kdil[j]))
        .collect::<Result<Vec<_>>>()?;

    let w = if spec.flip {
        ops::flip(w, Some(&(2..n as i32 + 2).collect::<Vec<_>>()))?
    } else {
        w.clone()
    };
    let taps: i32 = kernel.iter().product();
    let w = w.reshape(&[o, channels * taps])?;
    let bias = bias.map(|b| b.reshape(&[o, 1])).transpose()?;

    // The windows of a block of `n` images as one strided view `[C, *K, n, *out]` (channels and
    // kernel taps before the images and the output positions), copied by the reshape into the
    // `[C * K, n * P]` right-hand side. Row-major strides do not depend on the batch size, so
    // every block's view has the same strides.
    let row_major = row_major_strides(&shape);
    let mut strides = vec![row_major[1]];
    strides.extend((0..n).map(|j| i64::from(spec.kdil[j]) * row_major[j + 2]));
    strides.push(row_major[0]);
    strides.extend((0..n).map(|j| i64::from(spec.stride[j]) * row_major[j + 2]));
    let positions_per_image: i32 = out.iter().product();
    let columns = |images: &Array, count: i32| -> Result<Array> {
        let mut view_shape = vec![channels];
        view_shape.extend(&kernel);
        view_shape.push(count);
        view_shape.extend(&out);
        ops::as_strided(images, &view_shape, &strides, 0)?
            .reshape(&[channels * taps, count * positions_per_image])
    };

    // Blocks pay a concatenation, which holds the result twice: worth it only where the
    // columns are much larger than the result.
    let per_image = i64::from(channels * taps) * i64::from(positions_per_image);
    let images_per_block = if i64::from(channels * taps) >= 2 * i64::from(o) {
        (COLUMNS_BLOCK / per_image.max(1)).clamp(1, i64::from(batch)) as i32
    } else {
        batch
    };
    let mut blocks = Vec::new();
    for first in (0..batch).step_by(images_per_block as usize) {
        let count = images_per_block.min(batch - first);
        let images = if count == batch {
            x.clone()
        } else {
            let mut start = vec![0; shape.len()];
            let mut stop = shape.clone();
            start[0] = first;
            stop[0] = first + count;
            ops::slice(&x, &start, &stop, &[])?
        };
        let columns = columns(&images, count)?;
        let y = match &bias {
            Some(b) if b.dtype() == Dtype::Float32 => linalg::addmm(b, &w, &columns, 1.0, 1.0)?,
            Some(b) => ops::add(&ops::matmul(&w, &columns)?, b)?,
            None => ops::matmul(&w, &columns)?,
        };
        let mut channel_major = vec![o, count];
        channel_major.extend(&out);
        blocks.push(y.reshape(&channel_major)?);
    }
    let y = if blocks.len() == 1 {
        blocks.pop().expect("one block")
    } else {
        ops::concatenate(&blocks, Some(1))?
    };
    y.swapaxes(0, 1)
}
