//! Quantized layers: [`Linear`] and [`Embedding`] hold their weight either dense or quantized,
//! and [`quantize`] converts every such layer of a model in place (MLX's `nn.quantize`).
//!
//! A quantized layer has Python MLX's `QuantizedLinear` / `QuantizedEmbedding` leaves: `weight`
//! (packed `uint32`), `scales`, `biases` (affine mode only) and, for linear layers, `bias`. So
//! quantized checkpoints saved by Python MLX load into a quantized model here and the other way
//! round. Like Python's, quantized layers are frozen: their packed weights are not trained.

use std::any::Any;

use crate::array::Array;
use crate::error::{Error, Result};
use crate::nn::{Embedding, Linear};
use crate::ops::{self, QuantizationMode, QuantizeOptions};
use crate::params::{ParamPath, Parameters};

/// How a layer's weight is quantized: group size, bits and mode (resolved, no defaults left).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantization {
    /// Elements sharing one scale (and bias).
    pub group_size: i32,
    /// Bits per element.
    pub bits: i32,
    /// The quantization mode.
    pub mode: QuantizationMode,
}

impl Quantization {
    /// `mode` with Python MLX's defaults where `group_size` or `bits` is `None`: affine 64 / 4,
    /// mxfp4 32 / 4, nvfp4 16 / 4, mxfp8 32 / 8.
    pub fn new(group_size: Option<i32>, bits: Option<i32>, mode: QuantizationMode) -> Self {
        let (g, b) = match mode {
            QuantizationMode::Affine => (64, 4),
            QuantizationMode::Mxfp4 => (32, 4),
            QuantizationMode::Nvfp4 => (16, 4),
            QuantizationMode::Mxfp8 => (32, 8),
        };
        Quantization {
            group_size: group_size.unwrap_or(g),
            bits: bits.unwrap_or(b),
            mode,
        }
    }

    /// The options of MLX's quantization ops.
    pub fn options(&self) -> QuantizeOptions<'static> {
        QuantizeOptions::new(self.mode)
            .with_group_size(self.group_size)
            .with_bits(self.bits)
    }
}

impl Default for Quantization {
    /// Affine, 64 elements per group, 4 bits.
    fn default() -> Self {
        Quantization::new(None, None, QuantizationMode::Affine)
    }
}

/// A quantized weight: the packed values with their scales and (affine) biases.
pub(crate) struct Packed {
    pub weight: Array,
    pub scales: Array,
    pub biases: Option<Array>,
}

pub(crate) fn pack(weight: &Array, q: &Quantization, what: &str) -> Result<Packed> {
    let last = weight.shape().last().copied().unwrap_or(0);
    if last % q.group_size != 0 {
        return Err(Error::InvalidArgument(format!(
            "[{what}] the weight's last dimension ({last}) must be a multiple of the group size \
             ({})",
            q.group_size
        )));
    }
    let packed = ops::quantize(weight, &q.options())?;
    Ok(Packed {
        weight: packed.weights,
        scales: packed.scales,
        biases: packed.biases,
    })
}

/// The fewest rows of `x` for which [`quantized_project`] dequantizes on the CPU: dequantizing
/// a weight and multiplying costs about as much as 4 or 5 rows of MLX's quantized product
/// (SmolLM2-135M on 2 cores).
const CPU_DEQUANTIZE_MIN_ROWS: usize = 8;

/// `x @ Wᵀ` for a quantized `W` (`weight`, `scales`, `biases`): MLX's `quantized_matmul`, except
/// on the CPU for float32 inputs of many rows. MLX's CPU quantized product unpacks the weight
/// again for every row of `x`, so it costs about as much per row as a whole dense product:
/// processing a 37-token prompt through SmolLM2-135M ran at the speed of generating, 10 tokens
/// per second on 2 cores (Python MLX's speed too). There, the weight is dequantized once (a pass
/// over it) and multiplied through BLAS: 83 tokens per second. Single rows (generating a token)
/// keep the quantized kernel, which reads four times fewer bytes. The results agree to float32
/// rounding (on SmolLM2's weights, exactly): both compute `scale * q + bias` in float32 and sum
/// the same products.
pub(crate) fn quantized_project(
    x: &Array,
    weight: &Array,
    scales: &Array,
    biases: Option<&Array>,
    q: &Quantization,
) -> Result<Array> {
    let f32 = crate::Dtype::Float32;
    let width = x.shape().last().map_or(0, |&w| w.max(0) as usize);
    let many_rows = width > 0 && x.size() / width >= CPU_DEQUANTIZE_MIN_ROWS;
    if x.dtype() == f32
        && many_rows
        && crate::Stream::current()?.device().kind == crate::DeviceType::Cpu
    {
        // With float32 scales and biases, as the quantized kernel uses them (dequantizing with
        // half-precision ones rounds each weight to half precision).
        let biases = biases.map(|b| b.astype(f32)).transpose()?;
        let scales = scales.astype(f32)?;
        let dense = ops::dequantize(weight, &scales, biases.as_ref(), &q.options(), Some(f32))?;
        return x.matmul(&dense.t()?);
    }
    ops::quantized_matmul(x, weight, scales, biases, true, &q.options())
}

/// Quantizes every [`Linear`] and [`Embedding`] of `model` in place (Python MLX's
/// `nn.quantize(model, group_size, bits, mode=...)`); layers already quantized are left alone.
/// A layer whose input width is not a multiple of the group size is an error, and nothing
/// after it is converted.
pub fn quantize<M: Parameters + 'static>(model: &mut M, quantization: Quantization) -> Result<()> {
    quantize_where(model, quantization, |_, _| true)
}

/// Like [`quantize`], for the layers `predicate(path, layer)` selects (the layer is passed as
/// `&dyn Any`: downcast it to [`Linear`] or [`Embedding`] to look at it), as Python's
/// `class_predicate`. Skipping layers whose width is not a multiple of the group size:
/// `|_, l| l.downcast_ref::<Linear>().is_none_or(|l| l.weight.shape()[1] % 64 == 0)`.
pub fn quantize_where<M: Parameters + 'static>(
    model: &mut M,
    quantization: Quantization,
    mut predicate: impl FnMut(&str, &dyn Any) -> bool,
) -> Result<()> {
    model.visit_modules_mut(&ParamPath::root(), &mut |path, module| {
        if !predicate(path.name(), &*module) {
            return Ok(());
        }
        if let Some(linear) = module.downcast_mut::<Linear>() {
            if !linear.is_quantized() {
                linear.quantize(quantization)?;
            }
        } else if let Some(embedding) = module.downcast_mut::<Embedding>()
            && !embedding.is_quantized()
        {
            embedding.quantize(quantization)?;
        }
        Ok(())
    })
}
