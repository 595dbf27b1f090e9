//! Optimizers and learning-rate schedules (MLX's `mlx.optimizers`).
//!
//! An optimizer turns gradients into parameter updates. [`Optimizer::update`] takes a model (any
//! [`Parameters`] tree) and a gradient tree of the same type, as returned by
//! [`crate::transforms::value_and_grad_params`], and updates the model's trainable leaves in
//! place; frozen leaves are left alone.
//!
//! ```
//! use mlx::optimizers::{Adam, Optimizer};
//! use mlx::transforms::value_and_grad_params;
//! use mlx::{Array, Parameters};
//!
//! #[derive(Parameters, Clone)]
//! struct Line {
//!     w: Array,
//!     b: Array,
//! }
//!
//! // Fit y = 2x + 1.
//! let x = mlx::array![0.0, 1.0, 2.0, 3.0];
//! let y = mlx::array![1.0, 3.0, 5.0, 7.0];
//! let mut model = Line { w: mlx::array![0.0], b: mlx::array![0.0] };
//! let mut optimizer = Adam::new(0.1).with_bias_correction(true);
//! let loss = |m: &Line| ((&(&x * &m.w) + &m.b) - &y).square()?.mean(None, false);
//! let first = loss(&model)?.item::<f32>()?;
//! for _ in 0..200 {
//!     let (_loss, grads) = value_and_grad_params(&model, loss)?;
//!     optimizer.update(&mut model, &grads)?;
//!     model.eval_params()?;
//! }
//! assert!(loss(&model)?.item::<f32>()? < 0.01 * first);
//! assert_eq!(optimizer.step()?.item::<u64>()?, 200);
//! # Ok::<(), mlx::Error>(())
//! ```
//!
//! # State
//!
//! Each optimizer keeps its state as a flat map from names to arrays ([`State`]), with the keys
//! that Python's `tree_flatten(optimizer.state)` gives: `step` (a `uint64` scalar counting the
//! updates), `learning_rate` (a scalar array), and per parameter `<leaf name>.<slot>` (`m`, `v`,
//! ...). Per-parameter slots are created on the first update that sees the parameter (or by
//! [`Optimizer::init`]). Every per-step quantity (the scheduled learning rate, bias
//! corrections, Adafactor's relative step) is computed as an array from the `step` and
//! `learning_rate` arrays in the state, never from a Rust number captured when the optimizer
//! was made, so a compiled training step that takes the state as inputs sees them change.
//!
//! [`Optimizer::save_state`] and [`Optimizer::load_state`] write and read the state as
//! safetensors, interchangeable with Python MLX:
//! `optimizer.state = tree_unflatten(list(mx.load(path).items()))` loads a file written here,
//! and `mx.save_safetensors(path, dict(tree_flatten(optimizer.state)))` writes one that loads
//! here. Resuming from a saved state gives exactly the updates of an uninterrupted run.
//!
//! # Learning rates and schedules
//!
//! A learning rate is a [`LearningRate`]: a number, an array, or a [`Schedule`] (see
//! [`schedulers`]) evaluated on the step counter before each update, as in Python
//! (`Adam::new(cosine_decay(1e-3, 1000, 0.0)?)`).
//!
//! # Differences from Python MLX
//!
//! - Hyperparameters are set with builder methods (`SGD::new(0.1).with_momentum(0.9)`);
//!   invalid values are reported by the first update instead of the constructor.
//! - [`Optimizer::set_learning_rate`] with a number also removes a schedule (Python keeps the
//!   schedule, which overwrites the value at the next update).
//! - Parameters that appear after the first update get their state lazily as well (Python only
//!   initializes the state once).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops::{self, weak_scalar};
use crate::params::Parameters;

mod adam;
mod adaptive;
mod compiled;
mod lion_muon;
mod multi;
pub mod schedulers;
mod sgd;

pub use adam::{Adam, AdamW, Adamax};
pub use adaptive::{AdaDelta, Adafactor, Adagrad, RMSprop};
pub use compiled::CompiledStep;
pub use lion_muon::{Lion, Muon};
pub use multi::{Filter, MultiOptimizer};
pub use schedulers::{
    Schedule, cosine_decay, exponential_decay, join_schedules, linear_schedule, step_decay,
};
pub use sgd::SGD;

/// An optimizer's state, or a flat tree of arrays: dotted names to arrays, in name order.
pub type State = BTreeMap<String, Array>;

/// A hyperparameter's value (usually the learning rate): a constant or a schedule of the step.
#[derive(Clone, Debug)]
pub enum LearningRate {
    /// A fixed value (a scalar array; a Rust number becomes a float32 scalar).
    Value(Array),
    /// A function of the step count, evaluated before each update.
    Schedule(Schedule),
}

impl From<f32> for LearningRate {
    fn from(v: f32) -> Self {
        LearningRate::Value(Array::scalar(v))
    }
}

impl From<f64> for LearningRate {
    fn from(v: f64) -> Self {
        LearningRate::Value(Array::scalar(v as f32))
    }
}

impl From<Array> for LearningRate {
    fn from(v: Array) -> Self {
        LearningRate::Value(v)
    }
}

impl From<Schedule> for LearningRate {
    fn from(s: Schedule) -> Self {
        LearningRate::Schedule(s)
    }
}

/// An optimizer: updates parameters from their gradients, keeping per-parameter state.
///
/// The required methods work on flat maps of named arrays, so the trait can be used as
/// `Box<dyn Optimizer>` (which implements it too); the provided ones ([`Optimizer::update`],
/// [`Optimizer::init`], ...) work on [`Parameters`] trees and files.
pub trait Optimizer: Send + Sync {
    /// The state: `step`, scheduled hyperparameters (`learning_rate`) and per-parameter slots
    /// (`<leaf name>.<slot>`), as handle copies. See the [module documentation](self).
    fn state(&self) -> State;

    /// Replaces the whole state (for instance one read by [`Optimizer::load_state`] or returned
    /// by a compiled step). Slots missing for a parameter are created on the next update.
    fn set_state(&mut self, state: State) -> Result<()>;

    /// Creates the per-parameter state for the named parameters that lack it (Python's
    /// `init`), without updating anything.
    fn init_flat(&mut self, params: &State) -> Result<()>;

    /// One optimization step on flat maps (Python's `apply_gradients`): increments the step,
    /// updates the schedules, and returns the new value of every parameter named in `grads`.
    /// `params` must hold each of them (it may hold more).
    fn apply_gradients(&mut self, grads: &State, params: &State) -> Result<State>;

    /// Sets a hyperparameter kept in the state (`learning_rate`) to a value or a schedule.
    fn set_hyperparameter(&mut self, name: &str, value: LearningRate) -> Result<()>;

    /// The current learning rate (an array of the state). An error for an optimizer without one
    /// (Adafactor with a relative step).
    fn learning_rate(&self) -> Result<Array> {
        self.state()
            .remove("learning_rate")
            .ok_or_else(|| Error::InvalidArgument("the optimizer has no learning rate".into()))
    }

    /// The number of updates done so far (the `uint64` scalar `step` of the state).
    fn step(&self) -> Result<Array> {
        self.state()
            .remove("step")
            .ok_or_else(|| Error::InvalidArgument("the optimizer state has no step".into()))
    }

    /// Sets the learning rate to a number, an array or a schedule. A number replaces any
    /// schedule; a schedule is evaluated at the current step right away.
    fn set_learning_rate(&mut self, lr: impl Into<LearningRate>) -> Result<()>
    where
        Self: Sized,
    {
        self.set_hyperparameter("learning_rate", lr.into())
    }

    /// Updates the trainable leaves of `model` with the gradients `grads` (a tree of the same
    /// type, e.g. from [`crate::transforms::value_and_grad_params`]), as Python's
    /// `optimizer.update(model, grads)`. Frozen leaves are neither updated nor given state.
    fn update<M: Parameters>(&mut self, model: &mut M, grads: &M) -> Result<()>
    where
        Self: Sized,
    {
        let params: State = model.trainable_params().into_iter().collect();
        let mut all_grads: HashMap<String, Array> = grads.flatten_params().into_iter().collect();
        let mut g = State::new();
        for name in params.keys() {
            let grad = all_grads.remove(name).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "[Optimizer::update] the gradients have no leaf `{name}`"
                ))
            })?;
            g.insert(name.clone(), grad);
        }
        let new = self.apply_gradients(&g, &params)?;
        model.update_params_partial(new)
    }

    /// Creates the state of every trainable leaf of `model` now rather than at the first update
    /// (Python's `optimizer.init(model.trainable_parameters())`), e.g. to compile a training
    /// step that takes the state as input.
    fn init<M: Parameters>(&mut self, model: &M) -> Result<()>
    where
        Self: Sized,
    {
        self.init_flat(&model.trainable_params().into_iter().collect())
    }

    /// Writes the state to a safetensors file, under the keys of Python's
    /// `tree_flatten(optimizer.state)`.
    fn save_state(&self, path: impl AsRef<Path>) -> Result<()>
    where
        Self: Sized,
    {
        let arrays: HashMap<String, Array> = self.state().into_iter().collect();
        crate::io::save_safetensors(path, &arrays, &HashMap::new())
    }

    /// Replaces the state by the arrays of a safetensors file (written by
    /// [`Optimizer::save_state`] or by Python MLX).
    fn load_state(&mut self, path: impl AsRef<Path>) -> Result<()>
    where
        Self: Sized,
    {
        let (arrays, _) = crate::io::load_safetensors(path)?;
        self.set_state(arrays.into_iter().collect())
    }
}

impl<O: Optimizer + ?Sized> Optimizer for Box<O> {
    fn state(&self) -> State {
        (**self).state()
    }
    fn set_state(&mut self, state: State) -> Result<()> {
        (**self).set_state(state)
    }
    fn init_flat(&mut self, params: &State) -> Result<()> {
        (**self).init_flat(params)
    }
    fn apply_gradients(&mut self, grads: &State, params: &State) -> Result<State> {
        (**self).apply_gradients(grads, params)
    }
    fn set_hyperparameter(&mut self, name: &str, value: LearningRate) -> Result<()> {
        (**self).set_hyperparameter(name, value)
    }
    fn learning_rate(&self) -> Result<Array> {
        (**self).learning_rate()
    }
    fn step(&self) -> Result<Array> {
        (**self).step()
    }
}

// ---- the machinery shared by the single optimizers -------------------------------------------

/// The per-parameter slots of one parameter during an update, by slot name.
pub(crate) type Slots = BTreeMap<&'static str, Array>;

/// What an update rule sees besides the parameter: the state's `step` (already incremented)
/// and hyperparameters.
pub(crate) struct Ctx<'a> {
    pub(crate) step: &'a Array,
    state: &'a State,
}

impl Ctx<'_> {
    /// The learning rate, cast to `dtype` (Python's `self.learning_rate.astype(...)`).
    pub(crate) fn lr(&self, dtype: Dtype) -> Result<Array> {
        self.state
            .get("learning_rate")
            .ok_or_else(|| Error::InvalidArgument("the optimizer has no learning rate".into()))?
            .astype(dtype)
    }
}

/// An update rule: one optimizer's per-parameter initialization and update (Python's
/// `init_single` and `apply_single`).
pub(crate) trait Rule {
    /// The optimizer's name, for messages.
    const NAME: &'static str;

    /// Checks the hyperparameters (Python checks them in the constructor).
    fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// The names of the slots a parameter with this gradient gets.
    fn slot_names(&self, grad: &Array) -> Vec<&'static str>;

    /// The initial value of a slot (zeros like the gradient unless overridden).
    fn init_slot(&self, slot: &str, grad: &Array) -> Result<Array> {
        let _ = slot;
        ops::zeros_like(grad, None)
    }

    /// The parameter's new value; updates `slots` in place.
    fn apply_single(
        &self,
        grad: &Array,
        param: &Array,
        slots: &mut Slots,
        ctx: &Ctx<'_>,
    ) -> Result<Array>;
}

/// The state and schedules of a single optimizer (Python's `Optimizer` base class).
#[derive(Clone, Debug)]
pub(crate) struct Core {
    state: State,
    schedules: BTreeMap<String, Schedule>,
}

impl Core {
    /// A fresh state (`step` = 0) with the given learning rate, if any.
    pub(crate) fn new(learning_rate: Option<LearningRate>) -> Core {
        let mut core = Core {
            state: State::from([("step".to_string(), Array::scalar(0u64))]),
            schedules: BTreeMap::new(),
        };
        if let Some(lr) = learning_rate {
            // A schedule that fails here fails again, with its message, at the first update.
            let _ = core.set_hyperparameter("learning_rate", lr);
        }
        core
    }

    pub(crate) fn state(&self) -> State {
        self.state.clone()
    }

    pub(crate) fn state_mut(&mut self) -> &mut State {
        &mut self.state
    }

    pub(crate) fn set_state(&mut self, state: State) -> Result<()> {
        if !state.contains_key("step") {
            return Err(Error::InvalidArgument(
                "[Optimizer::set_state] the state has no `step`".into(),
            ));
        }
        self.state = state;
        Ok(())
    }

    fn step(&self) -> Result<&Array> {
        self.state
            .get("step")
            .ok_or_else(|| Error::InvalidArgument("the optimizer state has no `step`".into()))
    }

    /// Python's `_maybe_schedule` (and the `learning_rate` setter).
    pub(crate) fn set_hyperparameter(&mut self, name: &str, value: LearningRate) -> Result<()> {
        let array = match value {
            LearningRate::Value(a) => {
                self.schedules.remove(name);
                a
            }
            LearningRate::Schedule(s) => {
                self.schedules.insert(name.to_string(), s.clone());
                s.at(self.step()?)?
            }
        };
        self.state.insert(name.to_string(), array);
        Ok(())
    }

    pub(crate) fn init<R: Rule>(&mut self, rule: &R, params: &State) -> Result<()> {
        for (name, p) in params {
            for slot in rule.slot_names(p) {
                if let std::collections::btree_map::Entry::Vacant(e) =
                    self.state.entry(format!("{name}.{slot}"))
                {
                    e.insert(rule.init_slot(slot, p)?);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn apply<R: Rule>(
        &mut self,
        rule: &R,
        grads: &State,
        params: &State,
    ) -> Result<State> {
        rule.validate()?;
        for (name, g) in grads {
            let p = params.get(name).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "[{}] a gradient is given for `{name}` but no parameter",
                    R::NAME
                ))
            })?;
            if p.shape() != g.shape() {
                return Err(Error::InvalidArgument(format!(
                    "[{}] the gradient of `{name}` has shape {:?}, the parameter {:?}",
                    R::NAME,
                    g.shape(),
                    p.shape()
                )));
            }
        }
        // Python initializes from the gradients (zeros_like(gradient)).
        self.init(rule, grads)?;
        let step = self.step()?.clone();
        let mut scheduled = Vec::with_capacity(self.schedules.len());
        for (name, s) in &self.schedules {
            scheduled.push((name.clone(), s.at(&step)?));
        }
        self.state.extend(scheduled);
        let step = ops::add(&step, &weak_scalar(1, step.dtype())?)?;
        self.state.insert("step".into(), step.clone());

        let mut out = State::new();
        let mut new_slots = Vec::new();
        for (name, g) in grads {
            let mut slots = Slots::new();
            for slot in rule.slot_names(g) {
                let key = format!("{name}.{slot}");
                let value = self.state.get(&key).expect("slots were initialized");
                slots.insert(slot, value.clone());
            }
            let ctx = Ctx {
                step: &step,
                state: &self.state,
            };
            let p = rule.apply_single(g, &params[name], &mut slots, &ctx)?;
            out.insert(name.clone(), p);
            new_slots.extend(
                slots
                    .into_iter()
                    .map(|(slot, v)| (format!("{name}.{slot}"), v)),
            );
        }
        self.state.extend(new_slots);
        Ok(out)
    }
}

/// Implements [`Optimizer`] for a struct with fields `core: Core` and `rule: impl Rule`.
macro_rules! single_optimizer {
    ($t:ty) => {
        impl $t {
            /// The state itself, for reading or changing entries in place (see
            /// [`crate::optimizers::Optimizer::state`]).
            pub fn state_mut(&mut self) -> &mut $crate::optimizers::State {
                self.core.state_mut()
            }
        }

        impl $crate::optimizers::Optimizer for $t {
            fn state(&self) -> $crate::optimizers::State {
                self.core.state()
            }
            fn set_state(&mut self, state: $crate::optimizers::State) -> $crate::Result<()> {
                self.core.set_state(state)
            }
            fn init_flat(&mut self, params: &$crate::optimizers::State) -> $crate::Result<()> {
                self.core.init(&self.rule, params)
            }
            fn apply_gradients(
                &mut self,
                grads: &$crate::optimizers::State,
                params: &$crate::optimizers::State,
            ) -> $crate::Result<$crate::optimizers::State> {
                self.core.apply(&self.rule, grads, params)
            }
            fn set_hyperparameter(
                &mut self,
                name: &str,
                value: $crate::optimizers::LearningRate,
            ) -> $crate::Result<()> {
                self.core.set_hyperparameter(name, value)
            }
        }
    };
}
pub(crate) use single_optimizer;

// ---- small numeric helpers (Python's float-times-array with weak scalars) --------------------

/// `x` as a scalar array that combines with `like` as a Python float does.
pub(crate) fn sc(x: f64, like: &Array) -> Result<Array> {
    weak_scalar(x, like.dtype())
}

/// `x * a` with a Python-float `x`.
pub(crate) fn smul(x: f64, a: &Array) -> Result<Array> {
    ops::multiply(&sc(x, a)?, a)
}

/// `x - a` with a Python-float `x`.
pub(crate) fn rsub(x: f64, a: &Array) -> Result<Array> {
    ops::subtract(&sc(x, a)?, a)
}

/// `b * m + (1 - b) * g`: an exponential moving average step.
pub(crate) fn ema(b: f64, m: &Array, g: &Array) -> Result<Array> {
    ops::add(&smul(b, m)?, &smul(1.0 - b, g)?)
}

/// Checks `0 <= beta < 1` for each beta.
pub(crate) fn check_betas(what: &str, betas: &[f64]) -> Result<()> {
    for (i, b) in betas.iter().enumerate() {
        if !(0.0..1.0).contains(b) {
            return Err(Error::InvalidArgument(format!(
                "{what} beta{} should be in [0, 1), {b} was provided instead",
                i + 1
            )));
        }
    }
    Ok(())
}

// ---- clip_grad_norm ----------------------------------------------------------------------------

/// Scales the gradient tree down so its global 2-norm (over all leaves) is at most `max_norm`,
/// as Python's `clip_grad_norm`. Returns the clipped tree and the norm before clipping.
///
/// The scale is `min(max_norm / (norm + 1e-6), 1)`; float16 leaves are squared and summed in
/// float32 so they do not overflow. Frozen leaves of a gradient tree from
/// [`crate::transforms::value_and_grad_params`] are zeros and change nothing.
///
/// ```
/// use mlx::optimizers::clip_grad_norm;
/// let grads = (mlx::array![3.0, 0.0], mlx::array![4.0]);
/// let (clipped, norm) = clip_grad_norm(&grads, 1.0)?;
/// assert_eq!(norm.item::<f32>()?, 5.0);
/// assert!((clipped.1.item::<f32>()? - 0.8).abs() < 1e-5);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn clip_grad_norm<M: Parameters>(grads: &M, max_norm: f64) -> Result<(M, Array)> {
    if max_norm < 0.0 {
        return Err(Error::InvalidArgument(format!(
            "max_norm should be >=0, {max_norm} was provided instead"
        )));
    }
    let mut total: Option<Array> = None;
    for g in grads.leaves() {
        let g = if g.dtype() == Dtype::Float16 {
            g.astype(Dtype::Float32)?
        } else {
            g.clone()
        };
        let sq = g.square()?.sum(None, false)?;
        total = Some(match total {
            // Python starts the reduction from the float 0.0.
            None => ops::add(&sc(0.0, &sq)?, &sq)?,
            Some(t) => ops::add(&t, &sq)?,
        });
    }
    let squared = total.unwrap_or_else(|| Array::scalar(0.0f32));
    let norm = squared.sqrt()?;
    let denominator = ops::add(&norm, &sc(1e-6, &norm)?)?;
    let normalizer = ops::minimum(
        &ops::divide(&sc(max_norm, &denominator)?, &denominator)?,
        &sc(1.0, &denominator)?,
    )?;
    let clipped = grads.map_params(|_, g| {
        let scaled = ops::multiply(g, &normalizer)?;
        if g.dtype().is_float() {
            scaled.astype(g.dtype())
        } else {
            Ok(scaled)
        }
    })?;
    Ok((clipped, norm))
}
