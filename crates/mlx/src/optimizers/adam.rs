//! Adam and its variants AdamW and Adamax.

use super::{Core, Ctx, LearningRate, Rule, Slots, check_betas, ema, rsub, sc, single_optimizer};
use crate::array::Array;
use crate::error::{Error, Result};
use crate::ops::{self, weak_scalar};

#[derive(Clone, Debug)]
struct AdamRule {
    betas: (f64, f64),
    eps: f64,
    bias_correction: bool,
    /// AdamW's decoupled weight decay (0 for Adam).
    weight_decay: f64,
    name: &'static str,
}

impl AdamRule {
    fn new(name: &'static str, weight_decay: f64) -> AdamRule {
        AdamRule {
            betas: (0.9, 0.999),
            eps: 1e-8,
            bias_correction: false,
            weight_decay,
            name,
        }
    }

    fn check(&self) -> Result<()> {
        check_betas(self.name, &[self.betas.0, self.betas.1])?;
        if self.eps < 0.0 {
            return Err(Error::InvalidArgument(format!(
                "{} epsilon should be >=0, {} was provided instead",
                self.name, self.eps
            )));
        }
        Ok(())
    }

    /// Adam's step from `param` (already decayed for AdamW).
    fn adam_step(
        &self,
        grad: &Array,
        param: &Array,
        slots: &mut Slots,
        ctx: &Ctx<'_>,
    ) -> Result<Array> {
        let dtype = grad.dtype();
        let lr = ctx.lr(dtype)?;
        let (b1, b2) = self.betas;
        let m = ema(b1, &slots["m"], grad)?;
        let v = ema(b2, &slots["v"], &grad.square()?)?;
        slots.insert("m", m.clone());
        slots.insert("v", v.clone());
        if self.bias_correction {
            let step = ctx.step;
            // b ** step with a Python float b: float32.
            let b1_t = ops::power(&weak_scalar(b1, step.dtype())?, step)?;
            let b2_t = ops::power(&weak_scalar(b2, step.dtype())?, step)?;
            let c1 = ops::divide(&lr, &rsub(1.0, &b1_t)?)?.astype(dtype)?;
            let c2 = rsub(1.0, &b2_t)?.rsqrt()?.astype(dtype)?;
            let numerator = ops::multiply(&c1, &m)?;
            let denominator = ops::add(&ops::multiply(&v.sqrt()?, &c2)?, &sc(self.eps, &v)?)?;
            ops::subtract(param, &ops::divide(&numerator, &denominator)?)
        } else {
            let denominator = ops::add(&v.sqrt()?, &sc(self.eps, &v)?)?;
            ops::subtract(param, &ops::divide(&ops::multiply(&lr, &m)?, &denominator)?)
        }
    }
}

impl Rule for AdamRule {
    const NAME: &'static str = "Adam";

    fn validate(&self) -> Result<()> {
        self.check()
    }

    fn slot_names(&self, _grad: &Array) -> Vec<&'static str> {
        vec!["m", "v"]
    }

    fn apply_single(
        &self,
        grad: &Array,
        param: &Array,
        slots: &mut Slots,
        ctx: &Ctx<'_>,
    ) -> Result<Array> {
        if self.name == "AdamW" {
            let lr = ctx.lr(grad.dtype())?;
            let keep = rsub(1.0, &ops::multiply(&lr, &sc(self.weight_decay, &lr)?)?)?;
            let decayed = ops::multiply(param, &keep)?;
            self.adam_step(grad, &decayed, slots, ctx)
        } else {
            self.adam_step(grad, param, slots, ctx)
        }
    }
}

/// Adam (Python MLX's `Adam`): `m ← β₁ m + (1 − β₁) g`, `v ← β₂ v + (1 − β₂) g²`,
/// `w ← w − lr · m / (√v + ε)`.
///
/// With bias correction, the step is `lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)` (`t` the
/// step count). Defaults: betas (0.9, 0.999), eps 1e-8, **no bias correction** (as in Python
/// MLX, unlike most other frameworks). State: `m` and `v` per parameter.
#[derive(Clone, Debug)]
pub struct Adam {
    core: Core,
    rule: AdamRule,
}

impl Adam {
    /// Adam with this learning rate (a number, an array or a [`super::Schedule`]).
    pub fn new(learning_rate: impl Into<LearningRate>) -> Adam {
        Adam {
            core: Core::new(Some(learning_rate.into())),
            rule: AdamRule::new("Adam", 0.0),
        }
    }

    /// The coefficients `(β₁, β₂)` of the running averages of the gradient and its square
    /// (default `(0.9, 0.999)`); each in `[0, 1)`.
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> Adam {
        self.rule.betas = (beta1, beta2);
        self
    }

    /// The term added to the denominator (default 1e-8).
    pub fn with_eps(mut self, eps: f64) -> Adam {
        self.rule.eps = eps;
        self
    }

    /// Whether to correct the bias of the running averages (default `false`).
    pub fn with_bias_correction(mut self, bias_correction: bool) -> Adam {
        self.rule.bias_correction = bias_correction;
        self
    }
}

single_optimizer!(Adam);

/// AdamW (Python MLX's `AdamW`): Adam with decoupled weight decay, `w ← w (1 − lr · λ)` before
/// Adam's step. Defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01, no bias correction.
/// State: `m` and `v` per parameter.
#[derive(Clone, Debug)]
pub struct AdamW {
    core: Core,
    rule: AdamRule,
}

impl AdamW {
    /// AdamW with this learning rate (a number, an array or a [`super::Schedule`]).
    pub fn new(learning_rate: impl Into<LearningRate>) -> AdamW {
        AdamW {
            core: Core::new(Some(learning_rate.into())),
            rule: AdamRule::new("AdamW", 0.01),
        }
    }

    /// The coefficients `(β₁, β₂)` (default `(0.9, 0.999)`); each in `[0, 1)`.
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> AdamW {
        self.rule.betas = (beta1, beta2);
        self
    }

    /// The term added to the denominator (default 1e-8).
    pub fn with_eps(mut self, eps: f64) -> AdamW {
        self.rule.eps = eps;
        self
    }

    /// The weight decay `λ` (default 0.01).
    pub fn with_weight_decay(mut self, weight_decay: f64) -> AdamW {
        self.rule.weight_decay = weight_decay;
        self
    }

    /// Whether to correct the bias of the running averages (default `false`).
    pub fn with_bias_correction(mut self, bias_correction: bool) -> AdamW {
        self.rule.bias_correction = bias_correction;
        self
    }
}

single_optimizer!(AdamW);

#[derive(Clone, Debug)]
struct AdamaxRule {
    betas: (f64, f64),
    eps: f64,
}

impl Rule for AdamaxRule {
    const NAME: &'static str = "Adamax";

    fn validate(&self) -> Result<()> {
        check_betas("Adamax", &[self.betas.0, self.betas.1])?;
        if self.eps < 0.0 {
            return Err(Error::InvalidArgument(format!(
                "Adamax epsilon should be >=0, {} was provided instead",
                self.eps
            )));
        }
        Ok(())
    }

    fn slot_names(&self, _grad: &Array) -> Vec<&'static str> {
        vec!["m", "v"]
    }

    fn apply_single(
        &self,
        grad: &Array,
        param: &Array,
        slots: &mut Slots,
        ctx: &Ctx<'_>,
    ) -> Result<Array> {
        let lr = ctx.lr(grad.dtype())?;
        let (b1, b2) = self.betas;
        let m = ema(b1, &slots["m"], grad)?;
        let v = ops::maximum(&super::smul(b2, &slots["v"])?, &grad.abs()?)?;
        slots.insert("m", m.clone());
        slots.insert("v", v.clone());
        let denominator = ops::add(&v, &sc(self.eps, &v)?)?;
        ops::subtract(param, &ops::divide(&ops::multiply(&lr, &m)?, &denominator)?)
    }
}

/// Adamax (Python MLX's `Adamax`), Adam with the infinity norm: `m ← β₁ m + (1 − β₁) g`,
/// `v ← max(β₂ v, |g|)`, `w ← w − lr · m / (v + ε)`. Defaults: betas (0.9, 0.999), eps 1e-8.
/// State: `m` and `v` per parameter.
#[derive(Clone, Debug)]
pub struct Adamax {
    core: Core,
    rule: AdamaxRule,
}

impl Adamax {
    /// Adamax with this learning rate (a number, an array or a [`super::Schedule`]).
    pub fn new(learning_rate: impl Into<LearningRate>) -> Adamax {
        Adamax {
            core: Core::new(Some(learning_rate.into())),
            rule: AdamaxRule {
                betas: (0.9, 0.999),
                eps: 1e-8,
            },
        }
    }

    /// The coefficients `(β₁, β₂)` (default `(0.9, 0.999)`); each in `[0, 1)`.
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> Adamax {
        self.rule.betas = (beta1, beta2);
        self
    }

    /// The term added to the denominator (default 1e-8).
    pub fn with_eps(mut self, eps: f64) -> Adamax {
        self.rule.eps = eps;
        self
    }
}

single_optimizer!(Adamax);
