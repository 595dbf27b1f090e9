//! Convolution layers over channels-last inputs (`NLC`, `NHWC`, `NDHWC`), one implementation
//! for 1, 2 and 3 spatial dimensions.

use crate::Parameters;
use crate::array::Array;
use crate::error::{Error, Result};
use crate::nn::Module;
use crate::nn::linear::{check_positive, uniform_init};
use crate::ops::{self, ConvOptions, ConvTransposeOptions, PerDim};
use crate::params::ModuleState;

/// Converts per-dimension settings between equal const sizes (the layers below dispatch on `N`
/// to the 1-, 2- and 3-D ops; the match arm guarantees the sizes agree).
fn dims<const N: usize, const M: usize>(v: [i32; N]) -> [i32; M] {
    v.as_slice()
        .try_into()
        .expect("dispatch on N picks the op of the same rank")
}

/// The weight `[out, kernel..., in / groups]` drawn `uniform(-k, k)`, `k = 1/√(fan_in)`.
fn conv_weight<const N: usize>(
    what: &str,
    in_channels: i32,
    out_channels: i32,
    kernel: [i32; N],
    groups: i32,
) -> Result<Array> {
    check_positive(
        what,
        &[
            ("in_channels", in_channels),
            ("out_channels", out_channels),
            ("groups", groups),
        ],
    )?;
    if kernel.iter().any(|&k| k <= 0) {
        return Err(Error::InvalidArgument(format!(
            "[{what}] kernel sizes must be positive, got {kernel:?}"
        )));
    }
    if in_channels % groups != 0 || out_channels % groups != 0 {
        return Err(Error::InvalidArgument(format!(
            "[{what}] in_channels ({in_channels}) and out_channels ({out_channels}) must be \
             divisible by groups ({groups})"
        )));
    }
    let per_group = in_channels / groups;
    let fan_in = f64::from(per_group) * kernel.iter().map(|&k| f64::from(k)).product::<f64>();
    let mut shape = vec![out_channels];
    shape.extend(kernel);
    shape.push(per_group);
    uniform_init(&shape, (1.0 / fan_in).sqrt())
}

fn add_bias(y: Array, bias: &Option<Array>) -> Array {
    match bias {
        Some(b) => &y + b,
        None => y,
    }
}

/// An `N`-dimensional convolution (MLX's `nn.Conv1d`, `nn.Conv2d`, `nn.Conv3d`): `weight`
/// `[out, kernel..., in / groups]` drawn `uniform(-k, k)` with `k = 1/√(in / groups ·
/// kernel volume)`, `bias` `[out]` starting at zero.
#[derive(Parameters, Clone, Debug)]
pub struct Conv<const N: usize> {
    /// `[out_channels, kernel..., in_channels / groups]`.
    pub weight: Array,
    /// `[out_channels]`, when the layer has a bias.
    pub bias: Option<Array>,
    #[param(skip)]
    options: ConvOptions<N>,
    #[param(state)]
    state: ModuleState,
}

/// A 1-D convolution over `[N, L, C]` inputs.
pub type Conv1d = Conv<1>;
/// A 2-D convolution over `[N, H, W, C]` inputs.
pub type Conv2d = Conv<2>;
/// A 3-D convolution over `[N, D, H, W, C]` inputs.
pub type Conv3d = Conv<3>;

impl<const N: usize> Conv<N> {
    /// A convolution with a bias, stride 1, no padding, no dilation, one group.
    /// `kernel_size` is one size for every dimension or one per dimension.
    pub fn new(in_channels: i32, out_channels: i32, kernel_size: impl PerDim<N>) -> Result<Self> {
        Conv::with_options(
            in_channels,
            out_channels,
            kernel_size,
            ConvOptions::new(),
            true,
        )
    }

    /// A convolution with the given stride, padding, dilation and groups, with a bias or not.
    pub fn with_options(
        in_channels: i32,
        out_channels: i32,
        kernel_size: impl PerDim<N>,
        options: ConvOptions<N>,
        bias: bool,
    ) -> Result<Self> {
        let what = format!("Conv{N}d");
        let weight = conv_weight(
            &what,
            in_channels,
            out_channels,
            kernel_size.per_dim(),
            options.groups,
        )?;
        Ok(Conv {
            weight,
            bias: bias
                .then(|| Array::zeros::<f32>(&[out_channels]))
                .transpose()?,
            options,
            state: ModuleState::new(),
        })
    }

    /// The stride, padding, dilation and groups.
    pub fn options(&self) -> ConvOptions<N> {
        self.options
    }
}

impl<const N: usize> Module for Conv<N> {
    fn forward(&self, x: &Array) -> Result<Array> {
        let o = self.options;
        let y = match N {
            1 => ops::conv1d(
                x,
                &self.weight,
                ConvOptions::<1> {
                    stride: dims(o.stride),
                    padding: dims(o.padding),
                    dilation: dims(o.dilation),
                    groups: o.groups,
                },
            ),
            2 => ops::conv2d(
                x,
                &self.weight,
                ConvOptions::<2> {
                    stride: dims(o.stride),
                    padding: dims(o.padding),
                    dilation: dims(o.dilation),
                    groups: o.groups,
                },
            ),
            3 => ops::conv3d(
                x,
                &self.weight,
                ConvOptions::<3> {
                    stride: dims(o.stride),
                    padding: dims(o.padding),
                    dilation: dims(o.dilation),
                    groups: o.groups,
                },
            ),
            _ => Err(Error::InvalidArgument(format!(
                "[Conv] {N} spatial dimensions are not supported (1, 2 or 3)"
            ))),
        }?;
        Ok(add_bias(y, &self.bias))
    }
}

/// An `N`-dimensional transposed convolution (MLX's `nn.ConvTranspose1d/2d/3d`): `weight`
/// `[out, kernel..., in / groups]` drawn `uniform(-k, k)` with `k = 1/√(in / groups · kernel
/// volume)`, `bias` `[out]` starting at zero. (Python MLX's layers have no `groups`; with the
/// default of one group the layers are the same.)
#[derive(Parameters, Clone, Debug)]
pub struct ConvTranspose<const N: usize> {
    /// `[out_channels, kernel..., in_channels / groups]`.
    pub weight: Array,
    /// `[out_channels]`, when the layer has a bias.
    pub bias: Option<Array>,
    #[param(skip)]
    options: ConvTransposeOptions<N>,
    #[param(state)]
    state: ModuleState,
}

/// A 1-D transposed convolution over `[N, L, C]` inputs.
pub type ConvTranspose1d = ConvTranspose<1>;
/// A 2-D transposed convolution over `[N, H, W, C]` inputs.
pub type ConvTranspose2d = ConvTranspose<2>;
/// A 3-D transposed convolution over `[N, D, H, W, C]` inputs.
pub type ConvTranspose3d = ConvTranspose<3>;

impl<const N: usize> ConvTranspose<N> {
    /// A transposed convolution with a bias, stride 1 and no padding.
    pub fn new(in_channels: i32, out_channels: i32, kernel_size: impl PerDim<N>) -> Result<Self> {
        ConvTranspose::with_options(
            in_channels,
            out_channels,
            kernel_size,
            ConvTransposeOptions::new(),
            true,
        )
    }

    /// A transposed convolution with the given stride, padding, dilation, output padding and
    /// groups, with a bias or not.
    pub fn with_options(
        in_channels: i32,
        out_channels: i32,
        kernel_size: impl PerDim<N>,
        options: ConvTransposeOptions<N>,
        bias: bool,
    ) -> Result<Self> {
        let what = format!("ConvTranspose{N}d");
        let weight = conv_weight(
            &what,
            in_channels,
            out_channels,
            kernel_size.per_dim(),
            options.groups,
        )?;
        Ok(ConvTranspose {
            weight,
            bias: bias
                .then(|| Array::zeros::<f32>(&[out_channels]))
                .transpose()?,
            options,
            state: ModuleState::new(),
        })
    }

    /// The stride, padding, dilation, output padding and groups.
    pub fn options(&self) -> ConvTransposeOptions<N> {
        self.options
    }
}

impl<const N: usize> Module for ConvTranspose<N> {
    fn forward(&self, x: &Array) -> Result<Array> {
        let o = self.options;
        let y = match N {
            1 => ops::conv_transpose1d(
                x,
                &self.weight,
                ConvTransposeOptions::<1> {
                    stride: dims(o.stride),
                    padding: dims(o.padding),
                    dilation: dims(o.dilation),
                    output_padding: dims(o.output_padding),
                    groups: o.groups,
                },
            ),
            2 => ops::conv_transpose2d(
                x,
                &self.weight,
                ConvTransposeOptions::<2> {
                    stride: dims(o.stride),
                    padding: dims(o.padding),
                    dilation: dims(o.dilation),
                    output_padding: dims(o.output_padding),
                    groups: o.groups,
                },
            ),
            3 => ops::conv_transpose3d(
                x,
                &self.weight,
                ConvTransposeOptions::<3> {
                    stride: dims(o.stride),
                    padding: dims(o.padding),
                    dilation: dims(o.dilation),
                    output_padding: dims(o.output_padding),
                    groups: o.groups,
                },
            ),
            _ => Err(Error::InvalidArgument(format!(
                "[ConvTranspose] {N} spatial dimensions are not supported (1, 2 or 3)"
            ))),
        }?;
        Ok(add_bias(y, &self.bias))
    }
}
