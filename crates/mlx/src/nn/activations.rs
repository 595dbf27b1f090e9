//! Activation functions (MLX's `mlx.nn` functional forms) and the activation layers with
//! state ([`PReLU`], [`GELU`]).
//!
//! Naming follows one rule: `name(x)` uses Python MLX's default for every scalar argument, and
//! `name_with(x, ...)` takes them all explicitly ([`leaky_relu`] / [`leaky_relu_with`],
//! [`elu`] / [`elu_with`], [`hard_tanh`] / [`hard_tanh_with`], ...). Functions working along an
//! axis ([`softmax`], [`log_softmax`], [`softmin`], [`glu`]) always take it, as this crate's
//! reductions do; Python's default there is `-1`.
//!
//! Scalars combine with the input as MLX's weak scalars do, so a float16 input gives a float16
//! result.
//!
//! ```
//! use mlx::nn::{self, Module};
//! use mlx::Array;
//!
//! let x = Array::from_slice(&[-2.0f32, 0.0, 3.0], &[3])?;
//! assert_eq!(nn::relu(&x)?.to_vec::<f32>()?, [0.0, 0.0, 3.0]);
//! assert_eq!(nn::leaky_relu_with(&x, 0.5)?.to_vec::<f32>()?, [-1.0, 0.0, 3.0]);
//! let p = nn::softmax(&x, -1)?;
//! assert!((p.sum(None, false)?.item::<f32>()? - 1.0).abs() < 1e-6);
//! let prelu = nn::PReLU::new(1)?;
//! assert_eq!(prelu.forward(&x)?.to_vec::<f32>()?, [-0.5, 0.0, 3.0]);
//! # Ok::<(), mlx::Error>(())
//! ```

use crate::Parameters;
use crate::array::Array;
use crate::error::{Error, Result};
use crate::nn::Module;
use crate::ops;
use crate::params::ModuleState;

/// `value` as a weak scalar for combining with `like` (it takes `like`'s dtype when floating).
pub(crate) fn scalar_like(value: f64, like: &Array) -> Result<Array> {
    ops::weak_scalar(value, like.dtype())
}

fn max0(x: &Array) -> Result<Array> {
    ops::maximum(x, &scalar_like(0.0, x)?)
}

fn min0(x: &Array) -> Result<Array> {
    ops::minimum(x, &scalar_like(0.0, x)?)
}

fn scale(x: &Array, factor: f64) -> Result<Array> {
    ops::multiply(x, &scalar_like(factor, x)?)
}

/// `max(x, 0)`.
pub fn relu(x: &Array) -> Result<Array> {
    max0(x)
}

/// `min(max(x, 0), 6)`.
pub fn relu6(x: &Array) -> Result<Array> {
    ops::minimum(&max0(x)?, &scalar_like(6.0, x)?)
}

/// `max(x, 0)²` (Python's `relu2`).
pub fn relu2(x: &Array) -> Result<Array> {
    ops::square(&max0(x)?)
}

/// [`leaky_relu_with`] with Python's default slope 0.01.
pub fn leaky_relu(x: &Array) -> Result<Array> {
    leaky_relu_with(x, 0.01)
}

/// `max(negative_slope · x, x)`.
pub fn leaky_relu_with(x: &Array, negative_slope: f64) -> Result<Array> {
    ops::maximum(&scale(x, negative_slope)?, x)
}

/// [`elu_with`] with `alpha` 1.
pub fn elu(x: &Array) -> Result<Array> {
    elu_with(x, 1.0)
}

/// `x` where `x > 0`, `alpha (eˣ - 1)` elsewhere.
pub fn elu_with(x: &Array, alpha: f64) -> Result<Array> {
    let neg = scale(&ops::subtract(&ops::exp(x)?, &scalar_like(1.0, x)?)?, alpha)?;
    ops::where_(&ops::greater(x, &scalar_like(0.0, x)?)?, x, &neg)
}

/// [`celu_with`] with `alpha` 1.
pub fn celu(x: &Array) -> Result<Array> {
    celu_with(x, 1.0)
}

/// `max(x, 0) + alpha (exp(min(x, 0) / alpha) - 1)`.
pub fn celu_with(x: &Array, alpha: f64) -> Result<Array> {
    let inner = ops::exp(&ops::divide(&min0(x)?, &scalar_like(alpha, x)?)?)?;
    let neg = scale(&ops::subtract(&inner, &scalar_like(1.0, x)?)?, alpha)?;
    ops::add(&max0(x)?, &neg)
}

/// Scaled ELU: `1.0507 · elu(x, 1.67326)` (Python MLX's constants).
pub fn selu(x: &Array) -> Result<Array> {
    scale(&elu_with(x, 1.67326)?, 1.0507)
}

/// The exact GELU `x (1 + erf(x / √2)) / 2`.
pub fn gelu(x: &Array) -> Result<Array> {
    let e = ops::erf(&scale(x, std::f64::consts::FRAC_1_SQRT_2)?)?;
    let y = ops::multiply(x, &ops::add(&e, &scalar_like(1.0, x)?)?)?;
    scale(&y, 0.5)
}

/// The tanh approximation of GELU: `x (1 + tanh(√(2/π) (x + 0.044715 x³))) / 2`.
pub fn gelu_approx(x: &Array) -> Result<Array> {
    let cube = ops::power(x, &ops::weak_scalar(3, x.dtype())?)?;
    let inner = ops::add(x, &scale(&cube, 0.044715)?)?;
    let t = ops::tanh(&scale(&inner, (2.0 / std::f64::consts::PI).sqrt())?)?;
    let y = ops::multiply(&scale(x, 0.5)?, &ops::add(&t, &scalar_like(1.0, x)?)?)?;
    Ok(y)
}

/// The sigmoid approximation of GELU: `x · sigmoid(1.702 x)`.
pub fn gelu_fast_approx(x: &Array) -> Result<Array> {
    ops::multiply(x, &ops::sigmoid(&scale(x, 1.702)?)?)
}

/// `x · sigmoid(x)` (also called swish).
pub fn silu(x: &Array) -> Result<Array> {
    ops::multiply(x, &ops::sigmoid(x)?)
}

/// `1 / (1 + e⁻ˣ)`.
pub fn sigmoid(x: &Array) -> Result<Array> {
    ops::sigmoid(x)
}

/// `log(sigmoid(x)) = -softplus(-x)`, computed without overflow.
pub fn log_sigmoid(x: &Array) -> Result<Array> {
    ops::negative(&softplus(&ops::negative(x)?)?)
}

/// `log(1 + eˣ)`, computed without overflow.
pub fn softplus(x: &Array) -> Result<Array> {
    ops::logaddexp(x, &scalar_like(0.0, x)?)
}

/// `x / (1 + |x|)`.
pub fn softsign(x: &Array) -> Result<Array> {
    ops::divide(x, &ops::add(&ops::abs(x)?, &scalar_like(1.0, x)?)?)
}

/// [`softshrink_with`] with `lambd` 0.5.
pub fn softshrink(x: &Array) -> Result<Array> {
    softshrink_with(x, 0.5)
}

/// `x - sign(x) lambd` where `|x| > lambd`, 0 elsewhere.
pub fn softshrink_with(x: &Array, lambd: f64) -> Result<Array> {
    let shrunk = ops::subtract(x, &scale(&ops::sign(x)?, lambd)?)?;
    let outside = ops::greater(&ops::abs(x)?, &scalar_like(lambd, x)?)?;
    ops::where_(&outside, &shrunk, &scalar_like(0.0, &shrunk)?)
}

/// [`hard_shrink_with`] with `lambd` 0.5.
pub fn hard_shrink(x: &Array) -> Result<Array> {
    hard_shrink_with(x, 0.5)
}

/// `x` where `|x| > lambd`, 0 elsewhere.
pub fn hard_shrink_with(x: &Array, lambd: f64) -> Result<Array> {
    let outside = ops::greater(&ops::abs(x)?, &scalar_like(lambd, x)?)?;
    ops::where_(&outside, x, &scalar_like(0.0, x)?)
}

/// [`hard_tanh_with`] with bounds -1 and 1.
pub fn hard_tanh(x: &Array) -> Result<Array> {
    hard_tanh_with(x, -1.0, 1.0)
}

/// `min(max(x, min_val), max_val)`.
pub fn hard_tanh_with(x: &Array, min_val: f64, max_val: f64) -> Result<Array> {
    let low = ops::maximum(x, &scalar_like(min_val, x)?)?;
    ops::minimum(&low, &scalar_like(max_val, x)?)
}

/// `x · min(max(x + 3, 0), 6) / 6`.
pub fn hardswish(x: &Array) -> Result<Array> {
    let shifted = max0(&ops::add(x, &scalar_like(3.0, x)?)?)?;
    let clipped = ops::minimum(&shifted, &scalar_like(6.0, x)?)?;
    ops::divide(&ops::multiply(x, &clipped)?, &scalar_like(6.0, x)?)
}

/// `x · tanh(softplus(x))`.
pub fn mish(x: &Array) -> Result<Array> {
    ops::multiply(x, &ops::tanh(&softplus(x)?)?)
}

/// `max(x, 0) + alpha · min(x, 0)`, with `alpha` broadcasting against `x` (a scalar or one
/// slope per channel on the last axis).
pub fn prelu(x: &Array, alpha: &Array) -> Result<Array> {
    ops::add(&max0(x)?, &ops::multiply(alpha, &min0(x)?)?)
}

/// Hyperbolic tangent.
pub fn tanh(x: &Array) -> Result<Array> {
    ops::tanh(x)
}

/// [`step_with`] with threshold 0.
pub fn step(x: &Array) -> Result<Array> {
    step_with(x, 0.0)
}

/// 1 where `x >= threshold`, 0 elsewhere, as int32 (as in Python MLX).
pub fn step_with(x: &Array, threshold: f64) -> Result<Array> {
    let on = ops::greater_equal(x, &scalar_like(threshold, x)?)?;
    ops::where_(&on, &Array::scalar(1i32), &Array::scalar(0i32))
}

/// Gated linear unit: `x` is split in two halves `a`, `b` along `axis` (whose size must be
/// even) and the result is `a · sigmoid(b)`.
pub fn glu(x: &Array, axis: i32) -> Result<Array> {
    let halves = x.split(2, axis)?;
    ops::multiply(&halves[0], &ops::sigmoid(&halves[1])?)
}

/// `exp(x) / Σ exp(x)` along `axis`.
pub fn softmax(x: &Array, axis: i32) -> Result<Array> {
    ops::softmax(x, Some(&[axis]), false)
}

/// `x - logsumexp(x)` along `axis`, computed stably.
pub fn log_softmax(x: &Array, axis: i32) -> Result<Array> {
    let shifted = ops::subtract(x, &ops::stop_gradient(&x.max(Some(&[axis]), true)?)?)?;
    ops::subtract(&shifted, &shifted.logsumexp(Some(&[axis]), true)?)
}

/// `softmax(-x)` along `axis`.
pub fn softmin(x: &Array, axis: i32) -> Result<Array> {
    softmax(&ops::negative(x)?, axis)
}

/// The parametric ReLU layer `max(x, 0) + weight · min(x, 0)` with a learned slope per
/// channel (MLX's `nn.PReLU`). `weight` has shape `[num_parameters]` and broadcasts against
/// the last axis of the input (1 parameter: one slope for everything).
#[derive(Parameters, Clone, Debug)]
pub struct PReLU {
    /// The negative slopes, `[num_parameters]`.
    pub weight: Array,
    #[param(state)]
    state: ModuleState,
}

impl PReLU {
    /// `num_parameters` slopes, each starting at 0.25 (Python's defaults are 1 and 0.25).
    pub fn new(num_parameters: i32) -> Result<PReLU> {
        PReLU::with_init(num_parameters, 0.25)
    }

    /// `num_parameters` slopes, each starting at `init`.
    pub fn with_init(num_parameters: i32, init: f32) -> Result<PReLU> {
        crate::nn::linear::check_positive("PReLU", &[("num_parameters", num_parameters)])?;
        Ok(PReLU {
            weight: Array::full::<f32>(&[num_parameters], init)?,
            state: ModuleState::new(),
        })
    }
}

impl Module for PReLU {
    fn forward(&self, x: &Array) -> Result<Array> {
        prelu(x, &self.weight)
    }
}

/// Which formula the [`GELU`] layer uses (Python's `approx` argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GeluApprox {
    /// The exact form with `erf` ([`gelu`]; Python's `"none"`).
    #[default]
    None,
    /// The tanh approximation ([`gelu_approx`]; Python's `"precise"` or `"tanh"`).
    Precise,
    /// The sigmoid approximation ([`gelu_fast_approx`]; Python's `"fast"`).
    Fast,
}

impl GeluApprox {
    /// The approximation from Python's name for it: `"none"`, `"precise"`, `"tanh"` or
    /// `"fast"`.
    pub fn from_name(name: &str) -> Result<GeluApprox> {
        match name {
            "none" => Ok(GeluApprox::None),
            "precise" | "tanh" => Ok(GeluApprox::Precise),
            "fast" => Ok(GeluApprox::Fast),
            _ => Err(Error::InvalidArgument(format!(
                "[GELU] approx must be one of \"none\", \"precise\", \"tanh\", \"fast\"; got {name:?}"
            ))),
        }
    }
}

/// The GELU activation as a layer (MLX's `nn.GELU`), with the formula chosen by
/// [`GeluApprox`]. It has no parameters.
#[derive(Parameters, Clone, Debug, Default)]
pub struct GELU {
    #[param(skip)]
    approx: GeluApprox,
    #[param(state)]
    state: ModuleState,
}

impl GELU {
    /// The layer with the given approximation.
    pub fn new(approx: GeluApprox) -> GELU {
        GELU {
            approx,
            state: ModuleState::new(),
        }
    }

    /// The approximation the layer uses.
    pub fn approx(&self) -> GeluApprox {
        self.approx
    }
}

impl Module for GELU {
    fn forward(&self, x: &Array) -> Result<Array> {
        match self.approx {
            GeluApprox::None => gelu(x),
            GeluApprox::Precise => gelu_approx(x),
            GeluApprox::Fast => gelu_fast_approx(x),
        }
    }
}
