//! Optimizers with per-coordinate adaptive step sizes: RMSprop, Adagrad, AdaDelta, Adafactor.

use super::{Core, Ctx, LearningRate, Rule, Slots, ema, rsub, sc, single_optimizer, smul};
use crate::array::Array;
use crate::error::{Error, Result};
use crate::ops::{self, weak_scalar};

fn check_eps(what: &str, eps: f64) -> Result<()> {
    if eps <= 0.0 {
        return Err(Error::InvalidArgument(format!(
            "{what} epsilon should be >0, {eps} was provided instead"
        )));
    }
    Ok(())
}

/// `param - lr * grad / (sqrt(v) + eps)`.
fn scaled_step(param: &Array, lr: &Array, grad: &Array, v: &Array, eps: f64) -> Result<Array> {
    let denominator = ops::add(&v.sqrt()?, &sc(eps, v)?)?;
    ops::subtract(
        param,
        &ops::divide(&ops::multiply(lr, grad)?, &denominator)?,
    )
}

// ---- RMSprop ------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct RmsRule {
    alpha: f64,
    eps: f64,
}

impl Rule for RmsRule {
    const NAME: &'static str = "RMSprop";

    fn validate(&self) -> Result<()> {
        if self.alpha < 0.0 {
            return Err(Error::InvalidArgument(format!(
                "RMSprop alpha should be >=0, {} was provided instead",
                self.alpha
            )));
        }
        check_eps("RMSprop", self.eps)
    }

    fn slot_names(&self, _grad: &Array) -> Vec<&'static str> {
        vec!["v"]
    }

    fn apply_single(
        &self,
        grad: &Array,
        param: &Array,
        slots: &mut Slots,
        ctx: &Ctx<'_>,
    ) -> Result<Array> {
        let lr = ctx.lr(grad.dtype())?;
        let v = ema(self.alpha, &slots["v"], &grad.square()?)?;
        slots.insert("v", v.clone());
        scaled_step(param, &lr, grad, &v, self.eps)
    }
}

/// RMSprop (Python MLX's `RMSprop`): `v ← α v + (1 − α) g²`, `w ← w − lr · g / (√v + ε)`.
/// Defaults: alpha 0.99, eps 1e-8. State: `v` per parameter.
#[derive(Clone, Debug)]
pub struct RMSprop {
    core: Core,
    rule: RmsRule,
}

impl RMSprop {
    /// RMSprop with this learning rate (a number, an array or a [`super::Schedule`]).
    pub fn new(learning_rate: impl Into<LearningRate>) -> RMSprop {
        RMSprop {
            core: Core::new(Some(learning_rate.into())),
            rule: RmsRule {
                alpha: 0.99,
                eps: 1e-8,
            },
        }
    }

    /// The smoothing constant `α` (default 0.99).
    pub fn with_alpha(mut self, alpha: f64) -> RMSprop {
        self.rule.alpha = alpha;
        self
    }

    /// The term added to the denominator (default 1e-8; must be positive).
    pub fn with_eps(mut self, eps: f64) -> RMSprop {
        self.rule.eps = eps;
        self
    }
}

single_optimizer!(RMSprop);

// ---- Adagrad ------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct AdagradRule {
    eps: f64,
}

impl Rule for AdagradRule {
    const NAME: &'static str = "Adagrad";

    fn validate(&self) -> Result<()> {
        check_eps("Adagrad", self.eps)
    }

    fn slot_names(&self, _grad: &Array) -> Vec<&'static str> {
        vec!["v"]
    }

    fn apply_single(
        &self,
        grad: &Array,
        param: &Array,
        slots: &mut Slots,
        ctx: &Ctx<'_>,
    ) -> Result<Array> {
        let lr = ctx.lr(grad.dtype())?;
        let v = ops::add(&slots["v"], &grad.square()?)?;
        slots.insert("v", v.clone());
        scaled_step(param, &lr, grad, &v, self.eps)
    }
}

/// Adagrad (Python MLX's `Adagrad`): `v ← v + g²`, `w ← w − lr · g / (√v + ε)`. Default eps
/// 1e-8. State: `v` per parameter.
#[derive(Clone, Debug)]
pub struct Adagrad {
    core: Core,
    rule: AdagradRule,
}

impl Adagrad {
    /// Adagrad with this learning rate (a number, an array or a [`super::Schedule`]).
    pub fn new(learning_rate: impl Into<LearningRate>) -> Adagrad {
        Adagrad {
            core: Core::new(Some(learning_rate.into())),
            rule: AdagradRule { eps: 1e-8 },
        }
    }

    /// The term added to the denominator (default 1e-8; must be positive).
    pub fn with_eps(mut self, eps: f64) -> Adagrad {
        self.rule.eps = eps;
        self
    }
}

single_optimizer!(Adagrad);

// ---- AdaDelta -----------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct AdaDeltaRule {
    rho: f64,
    eps: f64,
}

impl Rule for AdaDeltaRule {
    const NAME: &'static str = "AdaDelta";

    fn validate(&self) -> Result<()> {
        if self.rho < 0.0 {
            return Err(Error::InvalidArgument(format!(
                "AdaDelta rho should be >=0, {} was provided instead",
                self.rho
            )));
        }
        check_eps("AdaDelta", self.eps)
    }

    fn slot_names(&self, _grad: &Array) -> Vec<&'static str> {
        vec!["u", "v"]
    }

    fn apply_single(
        &self,
        grad: &Array,
        param: &Array,
        slots: &mut Slots,
        ctx: &Ctx<'_>,
    ) -> Result<Array> {
        let lr = ctx.lr(grad.dtype())?;
        let v = ema(self.rho, &slots["v"], &grad.square()?)?;
        let u = &slots["u"];
        let ratio = ops::divide(
            &ops::add(u, &sc(self.eps, u)?)?.sqrt()?,
            &ops::add(&v, &sc(self.eps, &v)?)?.sqrt()?,
        )?;
        let d = ops::multiply(&ratio, grad)?;
        let u = ema(self.rho, u, &d.square()?)?;
        slots.insert("v", v);
        slots.insert("u", u);
        ops::subtract(param, &ops::multiply(&lr, &d)?)
    }
}

/// AdaDelta (Python MLX's `AdaDelta`), with a learning rate: `v ← ρ v + (1 − ρ) g²`,
/// `Δ = √(u + ε) / √(v + ε) · g`, `u ← ρ u + (1 − ρ) Δ²`, `w ← w − lr · Δ`. Defaults: rho 0.9,
/// eps 1e-6. State: `u` and `v` per parameter.
#[derive(Clone, Debug)]
pub struct AdaDelta {
    core: Core,
    rule: AdaDeltaRule,
}

impl AdaDelta {
    /// AdaDelta with this learning rate (a number, an array or a [`super::Schedule`]).
    pub fn new(learning_rate: impl Into<LearningRate>) -> AdaDelta {
        AdaDelta {
            core: Core::new(Some(learning_rate.into())),
            rule: AdaDeltaRule {
                rho: 0.9,
                eps: 1e-6,
            },
        }
    }

    /// The decay of the running averages `ρ` (default 0.9).
    pub fn with_rho(mut self, rho: f64) -> AdaDelta {
        self.rule.rho = rho;
        self
    }

    /// The term added inside the square roots (default 1e-6; must be positive).
    pub fn with_eps(mut self, eps: f64) -> AdaDelta {
        self.rule.eps = eps;
        self
    }
}

single_optimizer!(AdaDelta);

// ---- Adafactor ----------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct AdafactorRule {
    eps: (f64, f64),
    clip_threshold: f64,
    decay_rate: f64,
    beta_1: Option<f64>,
    weight_decay: f64,
    scale_parameter: bool,
    relative_step: bool,
    warmup_init: bool,
}

/// Root mean square of all elements.
fn rms(a: &Array) -> Result<Array> {
    a.square()?.mean(None, false)?.sqrt()
}

impl AdafactorRule {
    fn learning_rate(&self, ctx: &Ctx<'_>, param_rms: &Array) -> Result<Array> {
        let relative = if self.relative_step {
            let step = ctx.step;
            let inv_sqrt = step.rsqrt()?;
            let min_step = if self.warmup_init {
                ops::multiply(&weak_scalar(1e-6, step.dtype())?, step)?
            } else {
                sc(1e-2, &inv_sqrt)?
            };
            ops::minimum(&min_step, &inv_sqrt)?
        } else {
            ctx.lr(param_rms.dtype())?
        };
        let relative = relative.astype(param_rms.dtype())?;
        if self.scale_parameter {
            let scale = ops::maximum(&sc(self.eps.1, param_rms)?, param_rms)?;
            ops::multiply(&scale, &relative)
        } else {
            ops::multiply(&sc(1.0, &relative)?, &relative)
        }
    }
}

impl Rule for AdafactorRule {
    const NAME: &'static str = "Adafactor";

    fn slot_names(&self, grad: &Array) -> Vec<&'static str> {
        let mut names = if grad.ndim() >= 2 {
            vec!["exp_avg_sq_row", "exp_avg_sq_col"]
        } else {
            vec!["exp_avg_sq"]
        };
        if self.beta_1.is_some() {
            names.push("exp_avg");
        }
        names
    }

    fn init_slot(&self, slot: &str, grad: &Array) -> Result<Array> {
        let shape = grad.shape();
        let n = shape.len();
        match slot {
            "exp_avg_sq_row" => ops::zeros(&shape[..n - 1], grad.dtype()),
            "exp_avg_sq_col" => {
                let mut s = shape[..n - 2].to_vec();
                s.push(shape[n - 1]);
                ops::zeros(&s, grad.dtype())
            }
            _ => ops::zeros_like(grad, None),
        }
    }

    fn apply_single(
        &self,
        grad: &Array,
        param: &Array,
        slots: &mut Slots,
        ctx: &Ctx<'_>,
    ) -> Result<Array> {
        if !self.relative_step && !ctx.state.contains_key("learning_rate") {
            return Err(Error::InvalidArgument(
                "[Adafactor] relative_step is off but no learning rate was given".into(),
            ));
        }
        let param_rms = rms(param)?;
        let lr = self.learning_rate(ctx, &param_rms)?;
        let decay = ops::power(ctx.step, &weak_scalar(self.decay_rate, ctx.step.dtype())?)?
            .astype(param_rms.dtype())?;
        let beta_2 = rsub(1.0, &decay)?;
        let one_minus = rsub(1.0, &beta_2)?;
        let sq = ops::add(&grad.square()?, &sc(self.eps.0, grad)?)?;
        let mut update = if grad.ndim() >= 2 {
            let row = ops::add(
                &ops::multiply(&beta_2, &slots["exp_avg_sq_row"])?,
                &ops::multiply(&one_minus, &sq.mean(Some(&[-1]), false)?)?,
            )?;
            let col = ops::add(
                &ops::multiply(&beta_2, &slots["exp_avg_sq_col"])?,
                &ops::multiply(&one_minus, &sq.mean(Some(&[-2]), false)?)?,
            )?;
            let r = ops::divide(&row, &row.mean(Some(&[-1]), true)?)?.rsqrt()?;
            let c = col.rsqrt()?;
            let approx = ops::multiply(&r.expand_dims(&[-1])?, &c.expand_dims(&[-2])?)?;
            slots.insert("exp_avg_sq_row", row);
            slots.insert("exp_avg_sq_col", col);
            ops::multiply(&approx, grad)?
        } else {
            let avg = ops::add(
                &ops::multiply(&beta_2, &slots["exp_avg_sq"])?,
                &ops::multiply(&one_minus, &sq)?,
            )?;
            slots.insert("exp_avg_sq", avg.clone());
            ops::multiply(&avg.rsqrt()?, grad)?
        };
        let ratio = rms(&update)?;
        let ratio = ops::divide(&ratio, &sc(self.clip_threshold, &ratio)?)?;
        update = ops::divide(&update, &ops::maximum(&sc(1.0, &ratio)?, &ratio)?)?;
        update = ops::multiply(&lr, &update)?;
        if let Some(b1) = self.beta_1 {
            let avg = ema(b1, &slots["exp_avg"], &update)?;
            slots.insert("exp_avg", avg.clone());
            update = avg;
        }
        let mut p = param.clone();
        if self.weight_decay != 0.0 {
            let factor = smul(-self.weight_decay, &lr)?;
            p = ops::add(&p, &ops::multiply(&p, &factor)?)?;
        }
        ops::subtract(&p, &update)
    }
}

/// Adafactor (Python MLX's `Adafactor`): adaptive steps with factored second moments for
/// parameters of two or more dimensions (a running average per row and per column instead of
/// per element), after Shazeer and Stern (2018).
///
/// Defaults, as in Python: no learning rate (the relative step `min(1e-2, 1/√t)` is used),
/// eps (1e-30, 1e-3), clip threshold 1, decay rate −0.8 (`β₂ = 1 − t^−0.8`), no first moment,
/// weight decay 0, parameter scaling on, relative step on, warmup init off. State per
/// parameter: `exp_avg_sq_row` and `exp_avg_sq_col` (2-D and up) or `exp_avg_sq`, plus
/// `exp_avg` with a first moment.
#[derive(Clone, Debug)]
pub struct Adafactor {
    core: Core,
    rule: AdafactorRule,
}

impl Default for Adafactor {
    fn default() -> Self {
        Adafactor::new()
    }
}

impl Adafactor {
    /// Adafactor with Python's defaults (relative step size, no learning rate).
    pub fn new() -> Adafactor {
        Adafactor {
            core: Core::new(None),
            rule: AdafactorRule {
                eps: (1e-30, 1e-3),
                clip_threshold: 1.0,
                decay_rate: -0.8,
                beta_1: None,
                weight_decay: 0.0,
                scale_parameter: true,
                relative_step: true,
                warmup_init: false,
            },
        }
    }

    /// A learning rate (a number, an array or a [`super::Schedule`]), used when the relative
    /// step is off.
    pub fn with_learning_rate(mut self, learning_rate: impl Into<LearningRate>) -> Adafactor {
        let _ = self
            .core
            .set_hyperparameter("learning_rate", learning_rate.into());
        self
    }

    /// `ε₁`, added to the squared gradients, and `ε₂`, the least parameter scale (default
    /// `(1e-30, 1e-3)`).
    pub fn with_eps(mut self, eps1: f64, eps2: f64) -> Adafactor {
        self.rule.eps = (eps1, eps2);
        self
    }

    /// The RMS above which the unscaled update is clipped (default 1).
    pub fn with_clip_threshold(mut self, clip_threshold: f64) -> Adafactor {
        self.rule.clip_threshold = clip_threshold;
        self
    }

    /// The exponent of the second-moment decay, `β₂ = 1 − t^decay_rate` (default −0.8).
    pub fn with_decay_rate(mut self, decay_rate: f64) -> Adafactor {
        self.rule.decay_rate = decay_rate;
        self
    }

    /// Keeps a first moment with this coefficient (default: none).
    pub fn with_beta_1(mut self, beta_1: f64) -> Adafactor {
        self.rule.beta_1 = Some(beta_1);
        self
    }

    /// The weight decay `λ` (default 0).
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Adafactor {
        self.rule.weight_decay = weight_decay;
        self
    }

    /// Whether to scale the step by `max(ε₂, RMS(w))` (default `true`).
    pub fn with_scale_parameter(mut self, scale_parameter: bool) -> Adafactor {
        self.rule.scale_parameter = scale_parameter;
        self
    }

    /// Whether to use the relative step size instead of the learning rate (default `true`).
    pub fn with_relative_step(mut self, relative_step: bool) -> Adafactor {
        self.rule.relative_step = relative_step;
        self
    }

    /// Whether the relative step grows as `1e-6 · t` at first (default `false`).
    pub fn with_warmup_init(mut self, warmup_init: bool) -> Adafactor {
        self.rule.warmup_init = warmup_init;
        self
    }
}

single_optimizer!(Adafactor);
