//! Lion and Muon.

use super::{
    Core, Ctx, LearningRate, Rule, Slots, check_betas, ema, rsub, sc, single_optimizer, smul,
};
use crate::array::Array;
use crate::error::Result;
use crate::ops;

// ---- Lion ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct LionRule {
    betas: (f64, f64),
    weight_decay: f64,
}

impl Rule for LionRule {
    const NAME: &'static str = "Lion";

    fn validate(&self) -> Result<()> {
        check_betas("Lion", &[self.betas.0, self.betas.1])
    }

    fn slot_names(&self, _grad: &Array) -> Vec<&'static str> {
        vec!["m"]
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
        let m = &slots["m"];
        let c = ema(b1, m, grad)?;
        let m = ema(b2, m, grad)?;
        slots.insert("m", m);
        let mut p = param.clone();
        if self.weight_decay > 0.0 {
            let keep = rsub(1.0, &ops::multiply(&lr, &sc(self.weight_decay, &lr)?)?)?;
            p = ops::multiply(&keep, &p)?;
        }
        ops::subtract(&p, &ops::multiply(&lr, &c.sign()?)?)
    }
}

/// Lion (Python MLX's `Lion`): `c = β₁ m + (1 − β₁) g`, `m ← β₂ m + (1 − β₂) g`,
/// `w ← w (1 − lr · λ) − lr · sign(c)`. Its updates are larger than Adam's: use a smaller
/// learning rate and a larger weight decay. Defaults: betas (0.9, 0.99), weight decay 0.
/// State: `m` per parameter.
#[derive(Clone, Debug)]
pub struct Lion {
    core: Core,
    rule: LionRule,
}

impl Lion {
    /// Lion with this learning rate (a number, an array or a [`super::Schedule`]).
    pub fn new(learning_rate: impl Into<LearningRate>) -> Lion {
        Lion {
            core: Core::new(Some(learning_rate.into())),
            rule: LionRule {
                betas: (0.9, 0.99),
                weight_decay: 0.0,
            },
        }
    }

    /// The coefficients `(β₁, β₂)` (default `(0.9, 0.99)`); each in `[0, 1)`.
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> Lion {
        self.rule.betas = (beta1, beta2);
        self
    }

    /// The weight decay `λ` (default 0).
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Lion {
        self.rule.weight_decay = weight_decay;
        self
    }
}

single_optimizer!(Lion);

// ---- Muon ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct MuonRule {
    momentum: f64,
    weight_decay: f64,
    nesterov: bool,
    ns_steps: usize,
}

/// The Newton–Schulz iteration of Muon: an approximately orthogonal matrix with the row and
/// column spaces of the 2-D `x`.
fn newton_schulz(x: &Array, steps: usize) -> Result<Array> {
    let (a, b, c) = (3.4445, -4.7750, 2.0315);
    let transpose = x.shape()[0] > x.shape()[1];
    let mut x = if transpose { x.t()? } else { x.clone() };
    let norm = crate::linalg::norm(&x, None, None, true)?;
    x = ops::divide(&x, &ops::add(&norm, &sc(1e-7, &norm)?)?)?;
    for _ in 0..steps {
        let xt = x.t()?;
        let gram = x.matmul(&xt)?;
        let poly = ops::addmm(&smul(b, &gram)?, &gram, &gram, c as f32, 1.0)?;
        x = ops::addmm(&smul(a, &x)?, &poly, &x, 1.0, 1.0)?;
    }
    if transpose { x.t() } else { Ok(x) }
}

impl Rule for MuonRule {
    const NAME: &'static str = "Muon";

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
        let mut g = grad.clone();
        if self.weight_decay != 0.0 {
            g = ops::add(&g, &smul(self.weight_decay, param)?)?;
        }
        let mu = self.momentum;
        let v = ops::add(&smul(mu, &slots["v"])?, &smul(1.0 - mu, &g)?)?;
        slots.insert("v", v.clone());
        let mut update = if self.nesterov {
            ops::add(
                &ops::multiply(&g, &sc(1.0 - mu, &g)?)?,
                &ops::multiply(&v, &sc(mu, &v)?)?,
            )?
        } else {
            v
        };
        let mut lr = ctx.lr(grad.dtype())?;
        if update.ndim() >= 2 {
            let shape = update.shape().to_vec();
            let flat = if shape.len() > 2 {
                update.reshape(&[shape[0], -1])?
            } else {
                update
            };
            update = newton_schulz(&flat, self.ns_steps)?.reshape(&shape)?;
            let (rows, cols) = (shape[shape.len() - 2], shape[shape.len() - 1]);
            let factor = (f64::from(rows) / f64::from(cols)).max(1.0).sqrt();
            lr = ops::multiply(&lr, &sc(factor, &lr)?)?;
        }
        ops::subtract(param, &ops::multiply(&lr, &update)?)
    }
}

/// Muon (Python MLX's `Muon`, "MomentUm Orthogonalized by Newton–Schulz"): SGD momentum whose
/// update of each matrix is replaced by an approximately orthogonal matrix (five steps of a
/// Newton–Schulz iteration), scaled by `√max(1, rows / cols)`.
///
/// `g ← g + λ w`, `v ← μ v + (1 − μ) g`, update `(1 − μ) g + μ v` (Nesterov) or `v`. Parameters
/// of more than two dimensions are flattened to `[shape[0], -1]` for the iteration; parameters
/// of zero or one dimension take the momentum update as it is (Python does the same; prefer
/// another optimizer for them, e.g. through [`super::MultiOptimizer`]). Defaults: momentum
/// 0.95, weight decay 0.01, Nesterov on, 5 Newton–Schulz steps. State: `v` per parameter.
#[derive(Clone, Debug)]
pub struct Muon {
    core: Core,
    rule: MuonRule,
}

impl Muon {
    /// Muon with this learning rate (a number, an array or a [`super::Schedule`]).
    pub fn new(learning_rate: impl Into<LearningRate>) -> Muon {
        Muon {
            core: Core::new(Some(learning_rate.into())),
            rule: MuonRule {
                momentum: 0.95,
                weight_decay: 0.01,
                nesterov: true,
                ns_steps: 5,
            },
        }
    }

    /// The momentum strength (default 0.95).
    pub fn with_momentum(mut self, momentum: f64) -> Muon {
        self.rule.momentum = momentum;
        self
    }

    /// The weight decay, added to the gradient (default 0.01).
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Muon {
        self.rule.weight_decay = weight_decay;
        self
    }

    /// Nesterov momentum (default on).
    pub fn with_nesterov(mut self, nesterov: bool) -> Muon {
        self.rule.nesterov = nesterov;
        self
    }

    /// The number of Newton–Schulz steps (default 5).
    pub fn with_ns_steps(mut self, ns_steps: usize) -> Muon {
        self.rule.ns_steps = ns_steps;
        self
    }
}

single_optimizer!(Muon);
