//! `ActivationOps` on MLX: each activation and its backward pass as one small MLX expression
//! (Burn's default bodies would go through several generic tensor ops).

use burn_backend::Scalar;
use burn_backend::ops::ActivationOps;
use burn_backend::tensor::FloatTensor;
use mlx::{Array, ops};

use super::base::{axis, binary, unary, with_scalar};
use super::float::precise;
use super::layout;
use super::pick::{pick, zero_where};
use crate::{Mlx, MlxFloat, MlxInt, memo};

fn zero_like(a: &Array) -> Array {
    mlx::weak_scalar(0, a.dtype()).expect("0 fits every dtype")
}

/// `erf(x / √2)`, the heart of GELU's exact form.
fn gelu_erf(x: &Array) -> mlx::Result<Array> {
    precise::erf(&(x * std::f64::consts::FRAC_1_SQRT_2))
}

/// GELU with the exact erf form, as Burn's `gelu`, from `erf(x / √2)`.
fn gelu(x: &Array, erf: &Array) -> Array {
    &(x * 0.5) * &(erf + 1.0)
}

/// d/dx GELU(x) = Φ(x) + x φ(x), from `erf(x / √2)` (Φ(x) = (1 + erf(x / √2)) / 2).
fn gelu_grad(x: &Array, erf: &Array) -> mlx::Result<Array> {
    let cdf = &(erf + 1.0) * 0.5;
    let pdf = &precise::exp(&(&(x * x) * -0.5))? * (1.0 / (2.0 * std::f64::consts::PI).sqrt());
    Ok(&cdf + &(x * &pdf))
}

impl<F: MlxFloat, I: MlxInt> ActivationOps<Self> for Mlx<F, I> {
    fn leaky_relu(tensor: FloatTensor<Self>, negative_slope: Scalar) -> FloatTensor<Self> {
        with_scalar(&tensor, negative_slope, "leaky_relu", |x, slope| {
            pick(
                &ops::greater(x, &zero_like(x))?,
                x,
                &ops::multiply(x, slope)?,
            )
        })
    }

    fn relu(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // A maximum with a scalar keeps MLX's memory order, and so the layout hint.
        let out = unary(&tensor, "relu", |x| ops::maximum(x, &zero_like(x)));
        layout::keep_layout(out, &tensor)
    }

    fn relu_backward(output: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        // Zero where `output <= 0`, as Burn defines it: a NaN output passes the gradient.
        let zero_below =
            |out: &Array, g: &Array| zero_where(&ops::less_equal(out, &zero_like(out))?, g);
        if layout::is_channels_last(&output) && output.array.shape() == grad.array.shape() {
            // After a convolution: the gradient goes on to the convolution's backward pass,
            // which wants it channels-last too.
            let out = binary(&output, &grad, "relu_backward", |out, g| {
                layout::elementwise_cl(&[out, g], |v| zero_below(&v[0], &v[1]))
            });
            return layout::mark_channels_last(out);
        }
        binary(&output, &grad, "relu_backward", zero_below)
    }

    fn gelu(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // The backward pass needs the same erf: remembered while the input lives (see memo).
        let mut erf = None;
        let out = unary(&tensor, "gelu", |x| {
            let e = gelu_erf(x)?;
            let y = gelu(x, &e);
            erf = Some(e);
            Ok(y)
        });
        if let Some(erf) = erf {
            memo::keep("gelu", &tensor, erf);
        }
        out
    }

    fn prelu(tensor: FloatTensor<Self>, alpha: FloatTensor<Self>) -> FloatTensor<Self> {
        binary(&tensor, &alpha, "prelu", |x, a| {
            pick(&ops::greater(x, &zero_like(x))?, x, &ops::multiply(x, a)?)
        })
    }

    fn gelu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        let erf = memo::kept("gelu", &x);
        binary(&x, &grad, "gelu_backward", |x, g| {
            let erf = match erf {
                Some(e) => e,
                None => gelu_erf(x)?,
            };
            ops::multiply(&gelu_grad(x, &erf)?, g)
        })
    }

    fn sigmoid(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        unary(&tensor, "sigmoid", precise::sigmoid)
    }

    fn sigmoid_backward(output: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        binary(&output, &grad, "sigmoid_backward", |s, g| {
            Ok(&(g * s) * &(1.0 - s))
        })
    }

    fn hard_sigmoid(tensor: FloatTensor<Self>, alpha: Scalar, beta: Scalar) -> FloatTensor<Self> {
        let dtype = tensor.array.dtype();
        let (a, b) = (
            super::base::scalar(alpha, dtype),
            super::base::scalar(beta, dtype),
        );
        unary(&tensor, "hard_sigmoid", |x| {
            let lin = ops::add(&ops::multiply(x, &a)?, &b)?;
            ops::clip(
                &lin,
                Some(&zero_like(x)),
                Some(&mlx::weak_scalar(1, dtype)?),
            )
        })
    }

    fn log_sigmoid(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // log σ(x) = -log(1 + e^{-x}) = -softplus(-x), stable for large |x|.
        unary(&tensor, "log_sigmoid", |x| {
            ops::negative(&precise::softplus(&ops::negative(x)?)?)
        })
    }

    fn log_sigmoid_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        // d/dx log σ(x) = σ(-x).
        binary(&x, &grad, "log_sigmoid_backward", |x, g| {
            ops::multiply(&precise::sigmoid(&ops::negative(x)?)?, g)
        })
    }

    fn softmax(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        // MLX's max and logsumexp reject empty arrays; an empty input has an empty result.
        if tensor.array.size() == 0 {
            return tensor;
        }
        unary(&tensor, "softmax", |x| precise::softmax(x, axis(dim)))
    }

    fn log_softmax(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        if tensor.array.size() == 0 {
            return tensor;
        }
        unary(&tensor, "log_softmax", |x| {
            precise::log_softmax(x, axis(dim))
        })
    }

    fn softmin(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        if tensor.array.size() == 0 {
            return tensor;
        }
        unary(&tensor, "softmin", |x| {
            precise::softmax(&ops::negative(x)?, axis(dim))
        })
    }
}
