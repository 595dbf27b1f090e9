//! `ModuleOps` on MLX. Burn lays images out channels-first (NCHW); MLX's convolutions and the
//! pooling written here work channels-last (NHWC): each op transposes its inputs once on the
//! way in and its result once on the way out (lazily: MLX folds the transposes into its copies).
//!
//! Sections: convolutions (conv.rs), pooling (pool.rs), interpolation (interpolate.rs),
//! attention and the rest (attention.rs, misc in this file).

use burn_backend::ops::{
    AttentionModuleOptions, ConvOptions, ConvTransposeOptions, DeformConv2dBackward,
    DeformConvOptions, InterpolateOptions, MaxPool2dBackward, MaxPool2dWithIndices, ModuleOps,
};
use burn_backend::tensor::{BoolTensor, FloatTensor, IntTensor};

use crate::{Mlx, MlxFloat, MlxInt};

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

    fn avg_pool2d(
        _x: FloatTensor<Self>,
        _kernel_size: [usize; 2],
        _stride: [usize; 2],
        _padding: [usize; 2],
        _count_include_pad: bool,
        _ceil_mode: bool,
    ) -> FloatTensor<Self> {
        unimplemented!("being written")
    }

    fn avg_pool2d_backward(
        _x: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
        _kernel_size: [usize; 2],
        _stride: [usize; 2],
        _padding: [usize; 2],
        _count_include_pad: bool,
        _ceil_mode: bool,
    ) -> FloatTensor<Self> {
        unimplemented!("being written")
    }

    fn adaptive_avg_pool2d(_x: FloatTensor<Self>, _output_size: [usize; 2]) -> FloatTensor<Self> {
        unimplemented!("being written")
    }

    fn adaptive_avg_pool2d_backward(
        _x: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        unimplemented!("being written")
    }

    fn max_pool2d(
        _x: FloatTensor<Self>,
        _kernel_size: [usize; 2],
        _stride: [usize; 2],
        _padding: [usize; 2],
        _dilation: [usize; 2],
        _ceil_mode: bool,
    ) -> FloatTensor<Self> {
        unimplemented!("being written")
    }

    fn max_pool2d_with_indices(
        _x: FloatTensor<Self>,
        _kernel_size: [usize; 2],
        _stride: [usize; 2],
        _padding: [usize; 2],
        _dilation: [usize; 2],
        _ceil_mode: bool,
    ) -> MaxPool2dWithIndices<Self> {
        unimplemented!("being written")
    }

    fn max_pool2d_with_indices_backward(
        _x: FloatTensor<Self>,
        _kernel_size: [usize; 2],
        _stride: [usize; 2],
        _padding: [usize; 2],
        _dilation: [usize; 2],
        _ceil_mode: bool,
        _output_grad: FloatTensor<Self>,
        _indices: IntTensor<Self>,
    ) -> MaxPool2dBackward<Self> {
        unimplemented!("being written")
    }

    // ---- interpolation -----------------------------------------------------------------------

    fn interpolate(
        _x: FloatTensor<Self>,
        _output_size: [usize; 2],
        _options: InterpolateOptions,
    ) -> FloatTensor<Self> {
        unimplemented!("being written")
    }

    fn interpolate_backward(
        _x: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
        _output_size: [usize; 2],
        _options: InterpolateOptions,
    ) -> FloatTensor<Self> {
        unimplemented!("being written")
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

    fn rfft(
        _signal: FloatTensor<Self>,
        _dim: usize,
        _n: Option<usize>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
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
