//! [`QQLinear`]: a linear layer that quantizes its input as well as its weight (MLX's
//! `nn.QQLinear`), for the low-precision matmuls of recent GPUs (`nvfp4`, `mxfp8`).

use crate::Parameters;
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::nn::linear::{check_positive, uniform_init};
use crate::nn::{Linear, Module, Quantization};
use crate::ops::{self, QqmmOptions, QuantizationMode};
use crate::params::ModuleState;

/// `y = quantize(x) @ quantize(W)ᵀ`, without bias (MLX's `nn.QQLinear`); `weight` is
/// `[output_dims, input_dims]`, initialized `uniform(-k, k)`, `k = 1/√input_dims`.
///
/// Two forms, as in Python MLX:
/// - **dense** (for training): `weight` stays in full precision and is quantized on the fly by
///   each forward pass, so gradients reach it (MLX passes them straight through the
///   quantization);
/// - **quantized** (for inference): after [`QQLinear::quantize`], `weight` is packed `uint32`
///   with its `scales`, as Python's layer holds them in eval mode.
///
/// Python's layer switches form by itself in `train()` / `eval()`; here the switch is explicit
/// ([`QQLinear::quantize`], [`QQLinear::dequantize`]), since the two forms have different
/// parameters and a mode flag should not reshape a model's parameter tree behind its optimizer.
/// Either form computes the same values. Only the `nvfp4` and `mxfp8` modes are supported (as in
/// MLX); MLX's CPU back end computes `nvfp4` and `mxfp8` products too, slowly.
#[derive(Parameters, Clone, Debug)]
pub struct QQLinear {
    /// `[output_dims, input_dims]`, or packed `uint32` `[output_dims, input_dims · bits / 32]`
    /// once quantized.
    pub weight: Array,
    /// One scale per group of the quantized weight (quantized form only).
    pub scales: Option<Array>,
    #[param(skip)]
    quantization: Quantization,
    #[param(state)]
    state: ModuleState,
}

impl QQLinear {
    /// A dense layer quantized with `mode`'s defaults (`nvfp4`: groups of 16, 4 bits; `mxfp8`:
    /// groups of 32, 8 bits) or the given group size and bits.
    pub fn new(
        input_dims: i32,
        output_dims: i32,
        group_size: Option<i32>,
        bits: Option<i32>,
        mode: QuantizationMode,
    ) -> Result<QQLinear> {
        check_positive(
            "QQLinear",
            &[("input_dims", input_dims), ("output_dims", output_dims)],
        )?;
        let scale = (1.0 / f64::from(input_dims)).sqrt();
        QQLinear::from_parts(
            uniform_init(&[output_dims, input_dims], scale)?,
            Quantization::new(group_size, bits, mode),
        )
    }

    /// The layer of a [`Linear`] without bias (Python's `QQLinear.from_linear`); its weight is
    /// taken dense, so `linear` must not be quantized.
    pub fn from_linear(
        linear: &Linear,
        group_size: Option<i32>,
        bits: Option<i32>,
        mode: QuantizationMode,
    ) -> Result<QQLinear> {
        if linear.bias.is_some() {
            return Err(Error::InvalidArgument(
                "[QQLinear::from_linear] QQLinear has no bias: the linear layer must not have one"
                    .into(),
            ));
        }
        if linear.is_quantized() {
            return Err(Error::InvalidArgument(
                "[QQLinear::from_linear] the linear layer is quantized; QQLinear needs its dense \
                 weight"
                    .into(),
            ));
        }
        QQLinear::from_parts(
            linear.weight.clone(),
            Quantization::new(group_size, bits, mode),
        )
    }

    fn from_parts(weight: Array, quantization: Quantization) -> Result<QQLinear> {
        if !matches!(
            quantization.mode,
            QuantizationMode::Nvfp4 | QuantizationMode::Mxfp8
        ) {
            return Err(Error::InvalidArgument(format!(
                "[QQLinear] only the nvfp4 and mxfp8 modes quantize activations; got {:?}",
                quantization.mode
            )));
        }
        let input_dims = weight.shape()[1];
        if input_dims % quantization.group_size != 0 {
            return Err(Error::InvalidArgument(format!(
                "[QQLinear] input_dims ({input_dims}) must be a multiple of the group size ({})",
                quantization.group_size
            )));
        }
        Ok(QQLinear {
            weight,
            scales: None,
            quantization,
            state: ModuleState::new(),
        })
    }

    /// Group size, bits and mode.
    pub fn quantization(&self) -> Quantization {
        self.quantization
    }

    /// Whether the weight is held quantized.
    pub fn is_quantized(&self) -> bool {
        self.scales.is_some()
    }

    /// Packs the weight (Python's eval-mode form): less memory, no quantization per call, and
    /// no gradient for the weight. Does nothing if it is already packed.
    pub fn quantize(&mut self) -> Result<()> {
        if self.scales.is_none() {
            let packed = ops::quantize(&self.weight, &self.quantization.options())?;
            self.weight = packed.weights;
            self.scales = Some(packed.scales);
        }
        Ok(())
    }

    /// Unpacks the weight to float32 (Python's train-mode form; Python leaves it in MLX's
    /// dequantization dtype, bfloat16 for these modes). Does nothing if it is dense.
    pub fn dequantize(&mut self) -> Result<()> {
        if let Some(scales) = self.scales.take() {
            self.weight = ops::dequantize(
                &self.weight,
                &scales,
                None,
                &self.quantization.options(),
                Some(Dtype::Float32),
            )?;
        }
        Ok(())
    }
}

impl Module for QQLinear {
    fn forward(&self, x: &Array) -> Result<Array> {
        let q = &self.quantization;
        let options = QqmmOptions::new(q.mode)
            .with_group_size(q.group_size)
            .with_bits(q.bits);
        ops::qqmm(x, &self.weight, self.scales.as_ref(), &options)
    }
}
