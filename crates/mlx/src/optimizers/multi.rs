//! Several optimizers, each for its own parameters.

use super::{LearningRate, Optimizer, State};
use crate::array::Array;
use crate::error::{Error, Result};

/// A predicate choosing parameters by dotted name (and value) for one optimizer of a
/// [`MultiOptimizer`].
pub type Filter = Box<dyn Fn(&str, &Array) -> bool + Send + Sync>;

/// Delegates each parameter to one of several optimizers (Python MLX's `MultiOptimizer`): the
/// first optimizer whose filter accepts the parameter's name and gradient takes it, and the last
/// optimizer, which has no filter, takes the rest.
///
/// Every optimizer counts every update, even one that updated none of its parameters. The state
/// is `states.<i>.<key>` for the `i`-th optimizer's key (Python's
/// `tree_flatten({"states": [o.state for o in optimizers]})`).
///
/// ```
/// use mlx::optimizers::{Adam, MultiOptimizer, Optimizer, SGD};
/// use mlx::{Array, Parameters};
///
/// #[derive(Parameters)]
/// struct Model { weight: Array, bias: Array }
///
/// let mut opt = MultiOptimizer::new(
///     vec![Box::new(SGD::new(0.5)), Box::new(Adam::new(0.1).with_bias_correction(true))],
///     vec![Box::new(|name: &str, _: &Array| name == "bias")],
/// )?;
/// let mut m = Model { weight: mlx::array![1.0], bias: mlx::array![1.0] };
/// let g = Model { weight: mlx::array![1.0], bias: mlx::array![1.0] };
/// opt.update(&mut m, &g)?;
/// assert_eq!(m.bias.item::<f32>()?, 0.5); // SGD: 1 - 0.5 * 1
/// assert!((m.weight.item::<f32>()? - 0.9).abs() < 1e-5); // Adam: 1 - 0.1 * sign(g)
/// assert!(opt.state().contains_key("states.1.weight.m"));
/// # Ok::<(), mlx::Error>(())
/// ```
pub struct MultiOptimizer {
    optimizers: Vec<Box<dyn Optimizer>>,
    filters: Vec<Filter>,
}

impl std::fmt::Debug for MultiOptimizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MultiOptimizer({} optimizers)", self.optimizers.len())
    }
}

impl MultiOptimizer {
    /// The optimizers, and a filter for each but the last (the fallback).
    pub fn new(optimizers: Vec<Box<dyn Optimizer>>, filters: Vec<Filter>) -> Result<Self> {
        if optimizers.is_empty() || filters.len() != optimizers.len() - 1 {
            return Err(Error::InvalidArgument(format!(
                "[MultiOptimizer] Given {} filters but {} needed.",
                filters.len(),
                optimizers.len().saturating_sub(1)
            )));
        }
        Ok(MultiOptimizer {
            optimizers,
            filters,
        })
    }

    /// The optimizers, in order.
    pub fn optimizers(&self) -> &[Box<dyn Optimizer>] {
        &self.optimizers
    }

    /// Splits named arrays among the optimizers.
    fn split(&self, tree: &State) -> Vec<State> {
        let mut parts = vec![State::new(); self.optimizers.len()];
        for (name, a) in tree {
            let i = self
                .filters
                .iter()
                .position(|f| f(name, a))
                .unwrap_or(self.filters.len());
            parts[i].insert(name.clone(), a.clone());
        }
        parts
    }
}

impl Optimizer for MultiOptimizer {
    fn state(&self) -> State {
        let mut out = State::new();
        for (i, o) in self.optimizers.iter().enumerate() {
            out.extend(
                o.state()
                    .into_iter()
                    .map(|(k, v)| (format!("states.{i}.{k}"), v)),
            );
        }
        out
    }

    fn set_state(&mut self, state: State) -> Result<()> {
        let n = self.optimizers.len();
        let mut parts = vec![State::new(); n];
        for (key, value) in state {
            let index = key
                .strip_prefix("states.")
                .and_then(|rest| rest.split_once('.'))
                .and_then(|(i, k)| Some((i.parse::<usize>().ok()?, k)));
            match index {
                Some((i, k)) if i < n => {
                    parts[i].insert(k.to_string(), value);
                }
                _ => {
                    return Err(Error::InvalidArgument(format!(
                        "[MultiOptimizer] Invalid state provided: unexpected key `{key}` for \
                         {n} optimizers"
                    )));
                }
            }
        }
        for (o, s) in self.optimizers.iter_mut().zip(parts) {
            o.set_state(s)?;
        }
        Ok(())
    }

    fn init_flat(&mut self, params: &State) -> Result<()> {
        let parts = self.split(params);
        for (o, p) in self.optimizers.iter_mut().zip(parts) {
            o.init_flat(&p)?;
        }
        Ok(())
    }

    fn apply_gradients(&mut self, grads: &State, params: &State) -> Result<State> {
        let parts = self.split(grads);
        let mut out = State::new();
        for (o, g) in self.optimizers.iter_mut().zip(parts) {
            out.extend(o.apply_gradients(&g, params)?);
        }
        Ok(out)
    }

    fn set_hyperparameter(&mut self, name: &str, value: LearningRate) -> Result<()> {
        for o in &mut self.optimizers {
            o.set_hyperparameter(name, value.clone())?;
        }
        Ok(())
    }

    /// The first optimizer's learning rate.
    fn learning_rate(&self) -> Result<Array> {
        self.optimizers[0].learning_rate()
    }

    /// The first optimizer's step count.
    fn step(&self) -> Result<Array> {
        self.optimizers[0].step()
    }
}
