//! Neural-network layers, activations, initializers and losses, as in Python MLX's `mlx.nn`.
//!
//! A layer is a plain struct of arrays deriving [`Parameters`]: its leaves carry Python MLX's
//! names (`weight`, `bias`, `query_proj.weight`, ...), so weights saved here load in Python with
//! `model.load_weights(...)` and the other way round. Layers compose by holding each other in
//! fields of your own derived struct; training mode ([`Parameters::train`]) and run-time
//! freezing ([`Parameters::freeze`]) reach every layer through the tree.
//!
//! ```
//! use mlx::nn::{self, Module};
//! use mlx::{Array, Parameters};
//!
//! #[derive(Parameters, Clone)]
//! struct Net {
//!     hidden: nn::Linear,
//!     dropout: nn::Dropout,
//!     out: nn::Linear,
//! }
//!
//! impl Module for Net {
//!     fn forward(&self, x: &Array) -> mlx::Result<Array> {
//!         let h = nn::relu(&self.hidden.forward(x)?)?;
//!         self.out.forward(&self.dropout.forward(&h)?)
//!     }
//! }
//!
//! let mut net = Net {
//!     hidden: nn::Linear::new(4, 16)?,
//!     dropout: nn::Dropout::new(0.5)?,
//!     out: nn::Linear::new(16, 2)?,
//! };
//! net.eval(); // dropout off
//! let y = net.forward(&Array::ones::<f32>(&[3, 4])?)?;
//! assert_eq!(y.shape(), &[3, 2]);
//! assert_eq!(net.param_names(), ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]);
//! # Ok::<(), mlx::Error>(())
//! ```
//!
//! Layers are created with the initializers Python MLX uses, drawing from MLX's global random
//! state ([`crate::random::seed`] makes them reproducible). Shapes follow MLX: channels last
//! (`NLC`, `NHWC`, `NDHWC`) for convolutions and pools, `[out, in]` for linear weights.

mod activation_layers;
mod activations;
mod conv;
mod distributed;
mod embedding;
mod fully_sharded;
pub mod init;
mod linear;
pub mod losses;
mod norm;
mod pool;
mod positional;
mod qq_linear;
mod quantized;
mod recurrent;
mod sequential;
mod sharded;
mod transformer;
mod upsample;

pub use activation_layers::{
    CELU, ELU, GLU, HardShrink, HardTanh, Hardswish, LeakyReLU, LogSigmoid, LogSoftmax, Mish, ReLU,
    ReLU2, ReLU6, SELU, SiLU, Sigmoid, Softmax, Softmin, Softplus, Softshrink, Softsign, Step,
    Tanh,
};
pub use activations::*;
pub use conv::{
    Conv, Conv1d, Conv2d, Conv3d, ConvTranspose, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d,
};
pub use distributed::{ALL_REDUCE_SIZE, average_gradients};
pub use embedding::Embedding;
pub use fully_sharded::{FullyShardedModule, fully_shard};
pub use linear::{Bilinear, Identity, Linear};
pub use norm::{BatchNorm, Dropout, GroupNorm, InstanceNorm, LayerNorm, RMSNorm};
pub use pool::{
    Avg, AvgPool1d, AvgPool2d, AvgPool3d, Max, MaxPool1d, MaxPool2d, MaxPool3d, Pool, PoolReduction,
};
pub use positional::{ALiBi, RoPE, SinusoidalPositionalEncoding};
pub use qq_linear::QQLinear;
pub use quantized::{Quantization, quantize, quantize_where};
pub use recurrent::{GRU, LSTM, RNN};
pub use sequential::Sequential;
pub use sharded::{AllToShardedLinear, ShardedToAllLinear, sum_gradients};
pub use transformer::{
    Activation, MultiHeadAttention, Transformer, TransformerDecoder, TransformerDecoderLayer,
    TransformerEncoder, TransformerEncoderLayer, TransformerOptions,
};
pub use upsample::{
    ScaleFactor, Upsample, UpsampleMode, upsample_cubic, upsample_linear, upsample_nearest,
};

use crate::array::Array;
use crate::error::Result;
use crate::params::Parameters;

/// A layer or model: a parameter tree with a forward pass from one array to one array.
///
/// Layers with several inputs or outputs (attention, recurrent layers with a state) have
/// their own methods besides, or instead of, this one.
pub trait Module: Parameters {
    /// Applies the module to `x` (Python MLX's `module(x)`).
    fn forward(&self, x: &Array) -> Result<Array>;
}
