//! `ModuleOps` on MLX. Burn lays images out channels-first (NCHW); MLX's convolutions and the
//! pooling written here work channels-last (NHWC): each op transposes its inputs once on the
//! way in and its result once on the way out (lazily: MLX folds the transposes into its copies).
//!
//! Sections: convolutions (conv.rs), pooling (pool.rs), interpolation (interpolate.rs),
//! attention and the rest (attention.rs, misc in this file).

use burn_backend::ops::{
    AttentionModuleOptions, ConvOptions, ConvTransposeOptions, DeformConv2dBackward, DeformConvOptions,
    InterpolateOptions, MaxPool1dBackward, MaxPool1dWithIndices, MaxPool2dBackward, MaxPool2dWithIndices, ModuleOps,
};
use burn_backend::tensor::{BoolTensor, FloatTensor, IntTensor};

use super::{interpolate, pool};
use crate::{Mlx, MlxFloat, MlxInt};

/// The dtype of pooling indices: the backend's int element.
fn index_dtype<I: MlxInt>() -> mlx::Dtype {
    crate::tensor::to_mlx_dtype(I::dtype())
}

impl<F: MlxFloat, I: MlxInt> ModuleOps<Self> for Mlx<F, I> {
    // ---- convolutions ---------------------------------------------------------------------------

    fn conv2d(
        _x: FloatTensor<Self>,
        _weight: FloatTensor<Self>,
        _bias: Option<FloatTensor<Self>>,
        _options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        unimplemented!("being written")
    }

    fn deform_conv2d(
        _x: FloatTensor<Self>,
        _offset: FloatTensor<Self>,
        _weight: FloatTensor<Self>,
        _mask: Option<FloatTensor<Self>>,
        _bias: Option<FloatTensor<Self>>,
        _options: DeformConvOptions<2>,
    ) -> FloatTensor<Self> {
        unimplemented!("being written")
    }

    fn deform_conv2d_backward(
        _x: FloatTensor<Self>,
        _offset: FloatTensor<Self>,
        _weight: FloatTensor<Self>,
        _mask: Option<FloatTensor<Self>>,
        _bias: Option<FloatTensor<Self>>,
        _output_grad: FloatTensor<Self>,
        _options: DeformConvOptions<2>,
    ) -> DeformConv2dBackward<Self> {
        unimplemented!("being written")
    }

    fn conv3d(
        _x: FloatTensor<Self>,
        _weight: FloatTensor<Self>,
        _bias: Option<FloatTensor<Self>>,
        _options: ConvOptions<3>,
    ) -> FloatTensor<Self> {
        unimplemented!("being written")
    }

    fn conv_transpose2d(
        _x: FloatTensor<Self>,
        _weight: FloatTensor<Self>,
        _bias: Option<FloatTensor<Self>>,
        _options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        unimplemented!("being written")
    }

    fn conv_transpose3d(
        _x: FloatTensor<Self>,
        _weight: FloatTensor<Self>,
        _bias: Option<FloatTensor<Self>>,
        _options: ConvTransposeOptions<3>,
    ) -> FloatTensor<Self> {
        unimplemented!("being written")
    }

    // ---- pooling ------------------------------------------------------------------------------
    //
    // Native in pool.rs. The 1-d methods (default bodies in Burn: reshape, 2-d op, reshape) are
    // overridden so that each stays one op of this backend over the same MLX expression.

    fn avg_pool1d(
        x: FloatTensor<Self>,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        count_include_pad: bool,
        ceil_mode: bool,
    ) -> FloatTensor<Self> {
        pool::avg_pool1d(x, kernel_size, stride, padding, count_include_pad, ceil_mode)
    }

    fn avg_pool1d_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        count_include_pad: bool,
        ceil_mode: bool,
    ) -> FloatTensor<Self> {
        pool::avg_pool1d_backward(x, grad, kernel_size, stride, padding, count_include_pad, ceil_mode)
    }

    fn avg_pool2d(
        x: FloatTensor<Self>,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        count_include_pad: bool,
        ceil_mode: bool,
    ) -> FloatTensor<Self> {
        pool::avg_pool2d(x, kernel_size, stride, padding, count_include_pad, ceil_mode)
    }

    fn avg_pool2d_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        count_include_pad: bool,
        ceil_mode: bool,
    ) -> FloatTensor<Self> {
        pool::avg_pool2d_backward(x, grad, kernel_size, stride, padding, count_include_pad, ceil_mode)
    }

    fn adaptive_avg_pool1d(x: FloatTensor<Self>, output_size: usize) -> FloatTensor<Self> {
        pool::adaptive_avg_pool1d(x, output_size)
    }

    fn adaptive_avg_pool1d_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        pool::adaptive_avg_pool1d_backward(x, grad)
    }

    fn adaptive_avg_pool2d(x: FloatTensor<Self>, output_size: [usize; 2]) -> FloatTensor<Self> {
        pool::adaptive_avg_pool2d(x, output_size)
    }

    fn adaptive_avg_pool2d_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        pool::adaptive_avg_pool2d_backward(x, grad)
    }

    fn max_pool1d(
        x: FloatTensor<Self>,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        ceil_mode: bool,
    ) -> FloatTensor<Self> {
        pool::max_pool1d(x, kernel_size, stride, padding, dilation, ceil_mode)
    }

    fn max_pool1d_with_indices(
        x: FloatTensor<Self>,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        ceil_mode: bool,
    ) -> MaxPool1dWithIndices<Self> {
        let (output, indices) =
            pool::max_pool1d_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode, index_dtype::<I>());
        MaxPool1dWithIndices::new(output, indices)
    }

    fn max_pool1d_with_indices_backward(
        x: FloatTensor<Self>,
        _kernel_size: usize,
        _stride: usize,
        _padding: usize,
        _dilation: usize,
        _ceil_mode: bool,
        output_grad: FloatTensor<Self>,
        indices: IntTensor<Self>,
    ) -> MaxPool1dBackward<Self> {
        // The indices say where each gradient goes; the window options are not needed.
        MaxPool1dBackward::new(pool::max_pool1d_with_indices_backward(x, output_grad, indices))
    }

    fn max_pool2d(
        x: FloatTensor<Self>,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        ceil_mode: bool,
    ) -> FloatTensor<Self> {
        pool::max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode)
    }

    fn max_pool2d_with_indices(
        x: FloatTensor<Self>,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        ceil_mode: bool,
    ) -> MaxPool2dWithIndices<Self> {
        let (output, indices) =
            pool::max_pool2d_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode, index_dtype::<I>());
        MaxPool2dWithIndices::new(output, indices)
    }

    fn max_pool2d_with_indices_backward(
        x: FloatTensor<Self>,
        _kernel_size: [usize; 2],
        _stride: [usize; 2],
        _padding: [usize; 2],
        _dilation: [usize; 2],
        _ceil_mode: bool,
        output_grad: FloatTensor<Self>,
        indices: IntTensor<Self>,
    ) -> MaxPool2dBackward<Self> {
        // The indices say where each gradient goes; the window options are not needed.
        MaxPool2dBackward::new(pool::max_pool2d_with_indices_backward(x, output_grad, indices))
    }

    // ---- interpolation -----------------------------------------------------------------------
    //
    // Native in interpolate.rs (all four modes, forward and backward).

    fn interpolate(x: FloatTensor<Self>, output_size: [usize; 2], options: InterpolateOptions) -> FloatTensor<Self> {
        interpolate::interpolate(x, output_size, options)
    }

    fn interpolate_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        output_size: [usize; 2],
        options: InterpolateOptions,
    ) -> FloatTensor<Self> {
        interpolate::interpolate_backward(x, grad, output_size, options)
    }

    // ---- attention and the rest ----------------------------------------------------------------

    fn attention(
        _query: FloatTensor<Self>,
        _key: FloatTensor<Self>,
        _value: FloatTensor<Self>,
        _mask: Option<BoolTensor<Self>>,
        _attn_bias: Option<FloatTensor<Self>>,
        _options: AttentionModuleOptions,
    ) -> FloatTensor<Self> {
        unimplemented!("being written")
    }

    fn rfft(_signal: FloatTensor<Self>, _dim: usize, _n: Option<usize>) -> (FloatTensor<Self>, FloatTensor<Self>) {
        unimplemented!("being written")
    }

    fn irfft(
        _spectrum_re: FloatTensor<Self>,
        _spectrum_im: FloatTensor<Self>,
        _dim: usize,
        _n: Option<usize>,
    ) -> FloatTensor<Self> {
        unimplemented!("being written")
    }
}
