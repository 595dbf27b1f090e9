//! Affine layers.

use crate::Parameters;
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::nn::Module;
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

/// Returns its input unchanged (a placeholder layer with no parameters).
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
#[derive(Parameters, Clone, Debug)]
pub struct Linear {
    /// `[output_dims, input_dims]`.
    pub weight: Array,
    /// `[output_dims]`, when the layer has a bias.
    pub bias: Option<Array>,
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
        Ok(Linear {
            weight: uniform_init(&[output_dims, input_dims], scale)?,
            bias: bias
                .then(|| uniform_init(&[output_dims], scale))
                .transpose()?,
            state: ModuleState::new(),
        })
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
        Ok(Linear {
            weight,
            bias,
            state: ModuleState::new(),
        })
    }
}

impl Module for Linear {
    fn forward(&self, x: &Array) -> Result<Array> {
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
        let y = y.matmul(&x2.swapaxes(-1, -2)?)?.squeeze(&[-1])?;
        let y = match &self.bias {
            Some(b) => &y + b,
            None => y,
        };
        let mut shape = batch;
        shape.push(out);
        y.reshape(&shape)
    }
}
