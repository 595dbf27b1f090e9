//! Stochastic gradient descent.

use super::{Core, Ctx, LearningRate, Rule, Slots, sc, single_optimizer, smul};
use crate::array::Array;
use crate::error::{Error, Result};
use crate::ops;

/// Stochastic gradient descent with optional momentum, weight decay, dampening and Nesterov
/// momentum (Python MLX's `SGD`):
///
/// `g ← g + weight_decay · w`, `v ← momentum · v + (1 − dampening) · g`,
/// `w ← w − lr · (nesterov ? g + momentum · v : v)`; without momentum, `w ← w − lr · g`.
///
/// Defaults: momentum 0, weight decay 0, dampening 0, no Nesterov. State: `v` per parameter.
///
/// ```
/// use mlx::optimizers::{Optimizer, SGD};
/// let mut opt = SGD::new(0.1).with_momentum(0.9).with_nesterov(true);
/// let mut w = mlx::array![1.0, 2.0];
/// opt.update(&mut w, &mlx::array![1.0, -1.0])?;
/// // v = g; update = g + 0.9 v = 1.9 g
/// assert_eq!(w.to_vec::<f32>()?, vec![1.0 - 0.19, 2.0 + 0.19]);
/// # Ok::<(), mlx::Error>(())
/// ```
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Debug)]
pub struct SGD {
    core: Core,
    rule: SgdRule,
}

#[derive(Clone, Debug)]
struct SgdRule {
    momentum: f64,
    weight_decay: f64,
    dampening: f64,
    nesterov: bool,
}

impl SGD {
    /// SGD with this learning rate (a number, an array or a [`super::Schedule`]).
    pub fn new(learning_rate: impl Into<LearningRate>) -> SGD {
        SGD {
            core: Core::new(Some(learning_rate.into())),
            rule: SgdRule {
                momentum: 0.0,
                weight_decay: 0.0,
                dampening: 0.0,
                nesterov: false,
            },
        }
    }

    /// The momentum strength `μ` (default 0: no momentum).
    pub fn with_momentum(mut self, momentum: f64) -> SGD {
        self.rule.momentum = momentum;
        self
    }

    /// The weight decay (an L2 penalty added to the gradient; default 0).
    pub fn with_weight_decay(mut self, weight_decay: f64) -> SGD {
        self.rule.weight_decay = weight_decay;
        self
    }

    /// Dampening of the momentum `τ` (default 0).
    pub fn with_dampening(mut self, dampening: f64) -> SGD {
        self.rule.dampening = dampening;
        self
    }

    /// Nesterov momentum (default off); needs a positive momentum and no dampening.
    pub fn with_nesterov(mut self, nesterov: bool) -> SGD {
        self.rule.nesterov = nesterov;
        self
    }
}

impl Rule for SgdRule {
    const NAME: &'static str = "SGD";

    fn validate(&self) -> Result<()> {
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(Error::InvalidArgument(
                "[SGD] Nesterov momentum requires a momentum and zero dampening.".into(),
            ));
        }
        Ok(())
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
        let mut g = grad.clone();
        if self.weight_decay != 0.0 {
            g = ops::add(&g, &smul(self.weight_decay, param)?)?;
        }
        let lr = ctx.lr(g.dtype())?;
        if self.momentum <= 0.0 {
            return ops::subtract(param, &ops::multiply(&lr, &g)?);
        }
        let mut v = smul(self.momentum, &slots["v"])?;
        v = if self.dampening > 0.0 {
            ops::add(&v, &smul(1.0 - self.dampening, &g)?)?
        } else {
            ops::add(&v, &g)?
        };
        let update = if self.nesterov {
            ops::add(&g, &ops::multiply(&sc(self.momentum, &v)?, &v)?)?
        } else {
            v.clone()
        };
        slots.insert("v", v);
        ops::subtract(param, &ops::multiply(&lr, &update)?)
    }
}

single_optimizer!(SGD);
