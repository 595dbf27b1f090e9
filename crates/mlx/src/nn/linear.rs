//! Affine layers.

use crate::Parameters;
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::nn::Module;
use crate::nn::quantized::{Quantization, pack};
use crate::ops;
use crate::params::ModuleState;
use crate::random;

/// `uniform(-scale, scale)` of the given shape in float32: the default initialization of MLX's
/// affine layers.
pub(crate) fn uniform_init(shape: &[i32], scale: f64) -> Result<Array> {
    let (low, high) = (Array::scalar(-scale as f32), Array::scalar(scale as f32));
    random::uniform_range(&low, &high, shape, Dtype::Float32, None)
}

pub(crate) fn check_positive(what: &str, values: &[(&str, i32)]) -> Result<()> {
    for (name, v) in values {
        if *v <= 0 {
            return Err(Error::InvalidArgument(format!(
                "[{what}] {name} must be positive, got {v}"
            )));
        }
    }
    Ok(())
}

/// Returns its input unchanged (MLX's `nn.Identity`): a layer without parameters, e.g. to turn
/// part of a model off without changing its structure.
#[derive(Parameters, Clone, Debug, Default)]
pub struct Identity {
    #[param(state)]
    state: ModuleState,
}

impl Identity {
    /// The identity layer.
    pub fn new() -> Identity {
        Identity::default()
    }
}

impl Module for Identity {
    fn forward(&self, x: &Array) -> Result<Array> {
        Ok(x.clone())
    }
}

/// `y = x Wᵀ + b`, with `weight` of shape `[output_dims, input_dims]` and an optional `bias` of
/// shape `[output_dims]` (MLX's `nn.Linear`). Both start as `uniform(-k, k)`, `k = 1/√input_dims`.
///
/// After [`Linear::quantize`] (or [`crate::nn::quantize`] over a whole model) the layer is
/// Python MLX's `nn.QuantizedLinear`: `weight` packed, with `scales` and `biases`, and frozen.
#[derive(Parameters, Clone, Debug)]
pub struct Linear {
    /// `[output_dims, input_dims]`, or packed `uint32` `[output_dims, input_dims · bits / 32]`
    /// when quantized.
    pub weight: Array,
    /// `[output_dims]`, when the layer has a bias.
    pub bias: Option<Array>,
    /// One scale per group of the quantized weight.
    pub scales: Option<Array>,
    /// One offset per group of the quantized weight (affine mode).
    pub biases: Option<Array>,
    #[param(skip)]
    quantization: Option<Quantization>,
    #[param(state)]
    state: ModuleState,
}

impl Linear {
    /// A linear layer with a bias.
    pub fn new(input_dims: i32, output_dims: i32) -> Result<Linear> {
        Linear::with_bias(input_dims, output_dims, true)
    }

    /// A linear layer, with a bias or not.
    pub fn with_bias(input_dims: i32, output_dims: i32, bias: bool) -> Result<Linear> {
        check_positive(
            "Linear",
            &[("input_dims", input_dims), ("output_dims", output_dims)],
        )?;
        let scale = (1.0 / f64::from(input_dims)).sqrt();
        Ok(Linear::dense(
            uniform_init(&[output_dims, input_dims], scale)?,
            bias.then(|| uniform_init(&[output_dims], scale))
                .transpose()?,
        ))
    }

    fn dense(weight: Array, bias: Option<Array>) -> Linear {
        Linear {
            weight,
            bias,
            scales: None,
            biases: None,
            quantization: None,
            state: ModuleState::new(),
        }
    }

    /// A quantized layer (MLX's `nn.QuantizedLinear`): a random weight quantized with
    /// `quantization`, and a zero bias when `bias` is set. Meant to receive quantized weights
    /// (e.g. [`Parameters::load_safetensors`] of a quantized checkpoint).
    pub fn new_quantized(
        input_dims: i32,
        output_dims: i32,
        bias: bool,
        quantization: Quantization,
    ) -> Result<Linear> {
        let mut layer = Linear::with_bias(input_dims, output_dims, false)?;
        layer.bias = bias
            .then(|| Array::zeros::<f32>(&[output_dims]))
            .transpose()?;
        layer.quantize(quantization)?;
        Ok(layer)
    }

    /// Quantizes the weight in place and freezes the layer; fails when it is already
    /// quantized (the weight is no longer dense).
    pub fn quantize(&mut self, quantization: Quantization) -> Result<()> {
        if self.quantization.is_some() {
            return Err(Error::InvalidArgument(
                "[Linear::quantize] the layer is already quantized".into(),
            ));
        }
        let packed = pack(&self.weight, &quantization, "Linear::quantize")?;
        self.weight = packed.weight;
        self.scales = Some(packed.scales);
        self.biases = packed.biases;
        self.quantization = Some(quantization);
        self.freeze();
        Ok(())
    }

    /// The quantization of the weight, when it is quantized.
    pub fn quantization(&self) -> Option<Quantization> {
        self.quantization
    }

    /// Whether the weight is quantized.
    pub fn is_quantized(&self) -> bool {
        self.quantization.is_some()
    }

    /// A layer from given arrays (`weight` `[out, in]`, `bias` `[out]`).
    pub fn from_weights(weight: Array, bias: Option<Array>) -> Result<Linear> {
        if weight.ndim() != 2 {
            return Err(Error::InvalidArgument(format!(
                "[Linear] weight must be 2-dimensional [out, in], got shape {:?}",
                weight.shape()
            )));
        }
        if let Some(b) = &bias
            && b.shape() != [weight.shape()[0]]
        {
            return Err(Error::InvalidArgument(format!(
                "[Linear] bias must have shape [{}], got {:?}",
                weight.shape()[0],
                b.shape()
            )));
        }
        Ok(Linear::dense(weight, bias))
    }
}

impl Module for Linear {
    fn forward(&self, x: &Array) -> Result<Array> {
        if let (Some(q), Some(scales)) = (&self.quantization, &self.scales) {
            let y = super::quantized::quantized_project(
                x,
                &self.weight,
                scales,
                self.biases.as_ref(),
                q,
            )?;
            return Ok(match &self.bias {
                Some(b) => &y + b,
                None => y,
            });
        }
        let wt = self.weight.t()?;
        match &self.bias {
            Some(b) => ops::addmm(b, x, &wt, 1.0, 1.0),
            None => x.matmul(&wt),
        }
    }
}

/// `y[..., k] = x2 W[k] x1ᵀ + b[k]`, with `weight` of shape `[output_dims, input2_dims,
/// input1_dims]` (MLX's `nn.Bilinear`); initialized `uniform(-k, k)`, `k = 1/√input1_dims`.
#[derive(Parameters, Clone, Debug)]
pub struct Bilinear {
    /// `[output_dims, input2_dims, input1_dims]`.
    pub weight: Array,
    /// `[output_dims]`, when the layer has a bias.
    pub bias: Option<Array>,
    #[param(state)]
    state: ModuleState,
}

impl Bilinear {
    /// A bilinear layer, with a bias or not.
    pub fn new(input1_dims: i32, input2_dims: i32, output_dims: i32, bias: bool) -> Result<Self> {
        check_positive(
            "Bilinear",
            &[
                ("input1_dims", input1_dims),
                ("input2_dims", input2_dims),
                ("output_dims", output_dims),
            ],
        )?;
        let scale = (1.0 / f64::from(input1_dims)).sqrt();
        Ok(Bilinear {
            weight: uniform_init(&[output_dims, input2_dims, input1_dims], scale)?,
            bias: bias
                .then(|| uniform_init(&[output_dims], scale))
                .transpose()?,
            state: ModuleState::new(),
        })
    }

    /// Applies the layer to `x1` `[..., input1_dims]` and `x2` `[..., input2_dims]`.
    pub fn forward(&self, x1: &Array, x2: &Array) -> Result<Array> {
        let shape = self.weight.shape();
        let (out, in2, in1) = (shape[0], shape[1], shape[2]);
        let batch: Vec<i32> = x1.shape()[..x1.ndim().saturating_sub(1)].to_vec();
        let x1 = x1.reshape(&[-1, in1])?;
        let x2 = x2.reshape(&[-1, 1, in2])?;
        // [n, in1] @ [in1, out*in2] -> [n, out, in2], then contract in2 with x2.
        let w = self.weight.reshape(&[out * in2, in1])?.t()?;
        let y = x1.matmul(&w)?.reshape(&[-1, out, in2])?;
        let y = y.matmul(&x2.swapaxes(-1, -2)?)?.squeeze(Some(&[-1]))?;
        let y = match &self.bias {
            Some(b) => &y + b,
            None => y,
        };
        let mut shape = batch;
        shape.push(out);
        y.reshape(&shape)
    }
}
