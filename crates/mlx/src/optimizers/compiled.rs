//! Training steps compiled with the model's parameters, the optimizer's state and the random
//! key carried in and out (Python MLX's `mx.compile(step, inputs=state, outputs=state)`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::array::Array;
use crate::error::{Error, Result};
use crate::optimizers::{Optimizer, State};
use crate::params::Parameters;
use crate::random;
use crate::transforms::{self, Function};

type StepFn<M, O> = dyn Fn(&mut M, &mut O, &[Array]) -> Result<Vec<Array>> + Send + Sync;

/// The names the compiled function was traced with: the model's leaves and the optimizer's
/// state keys, in input order.
struct Layout {
    params: Vec<String>,
    state: Vec<String>,
}

/// A training step compiled once and replayed: `f(model, optimizer, args)` runs forward,
/// gradient and update as one fused MLX graph, while the model's leaves, the optimizer's
/// state (step, learning rate, moments) and the thread's random key are inputs and outputs
/// of that graph rather than constants baked into it. So every call sees the current
/// parameters, the schedules move, and dropout draws new masks.
///
/// ```
/// use mlx::nn::{self, Module};
/// use mlx::optimizers::{Adam, CompiledStep, Optimizer};
/// use mlx::{Array, Parameters, transforms};
///
/// let mut model = nn::Linear::new(3, 1)?;
/// let mut adam = Adam::new(0.05);
/// let step = CompiledStep::new(|m: &mut nn::Linear, opt: &mut Adam, args: &[Array]| {
///     let loss_of = |m: &nn::Linear| (m.forward(&args[0])? - &args[1]).square()?.mean(None, false);
///     let (loss, grads) = transforms::value_and_grad_params(m, loss_of)?;
///     opt.update(m, &grads)?;
///     Ok(vec![loss])
/// });
/// let x = mlx::random::normal(&[16, 3], mlx::Dtype::Float32, None)?;
/// let y = x.sum(Some(&[1]), true)?;
/// let first = step.call(&mut model, &mut adam, &[x.clone(), y.clone()])?[0].item::<f32>()?;
/// let mut last = first;
/// for _ in 0..50 {
///     last = step.call(&mut model, &mut adam, &[x.clone(), y.clone()])?[0].item::<f32>()?;
/// }
/// assert!(last < first / 10.0);
/// assert_eq!(adam.step()?.item::<u64>()?, 51);
/// # Ok::<(), mlx::Error>(())
/// ```
///
/// The step's structure is fixed by its first call: the model's leaf names and the optimizer's
/// state keys (the optimizer's state is created for every trainable leaf before that call) must
/// stay the same, and `f` must return the same number of arrays each time. Inputs of new
/// shapes or dtypes trace again (the graph is specialized to shapes).
pub struct CompiledStep<M, O> {
    step: Arc<StepFn<M, O>>,
    /// Model and optimizer as first seen: the structure the traced function rebuilds.
    template: Arc<Mutex<Option<(M, O)>>>,
    compiled: OnceLock<(Function, Arc<Layout>)>,
}

impl<M, O> CompiledStep<M, O>
where
    M: Parameters + Clone + Send + 'static,
    O: Optimizer + Clone + Send + 'static,
{
    /// Wraps `f`; nothing is traced until the first [`CompiledStep::call`].
    pub fn new(
        f: impl Fn(&mut M, &mut O, &[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
    ) -> Self {
        CompiledStep {
            step: Arc::new(f),
            template: Arc::new(Mutex::new(None)),
            compiled: OnceLock::new(),
        }
    }

    /// Runs the step: `model` and `optimizer` are updated in place with the results and the
    /// arrays `f` returned are returned (lazy, as any MLX result).
    pub fn call(&self, model: &mut M, optimizer: &mut O, args: &[Array]) -> Result<Vec<Array>> {
        optimizer.init(model)?;
        let (function, layout) = self.compiled(model, optimizer)?;
        let params = model.flatten_params();
        let state = optimizer.state();
        let params_match = params.len() == layout.params.len()
            && params.iter().zip(&layout.params).all(|(p, n)| &p.0 == n);
        if !params_match || !state.keys().eq(layout.state.iter()) {
            return Err(Error::InvalidArgument(
                "[CompiledStep] the model's leaves or the optimizer's state keys differ from \
                 those of the first call; make a new CompiledStep for the new structure"
                    .into(),
            ));
        }
        let key = match random::state() {
            Some(k) => k,
            None => random::key(random::time_seed())?,
        };
        let mut inputs: Vec<Array> = params.into_iter().map(|(_, a)| a).collect();
        inputs.extend(state.into_values());
        inputs.push(key);
        inputs.extend(args.iter().cloned());
        let mut outputs = function.call(&inputs)?.into_iter();
        let np = layout.params.len();
        let ns = layout.state.len();
        let new_params: Vec<Array> = outputs.by_ref().take(np).collect();
        let new_state: Vec<Array> = outputs.by_ref().take(ns).collect();
        let new_key = outputs.next();
        if new_params.len() != np || new_state.len() != ns || new_key.is_none() {
            return Err(Error::Closure(
                "[CompiledStep] the compiled step returned too few arrays".into(),
            ));
        }
        model.update_params(layout.params.iter().cloned().zip(new_params))?;
        optimizer.set_state(layout.state.iter().cloned().zip(new_state).collect())?;
        random::set_state(new_key);
        Ok(outputs.collect())
    }

    fn compiled(&self, model: &M, optimizer: &O) -> Result<&(Function, Arc<Layout>)> {
        if let Some(c) = self.compiled.get() {
            return Ok(c);
        }
        let layout = Arc::new(Layout {
            params: model.param_names(),
            state: optimizer.state().into_keys().collect(),
        });
        *self.template.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((model.clone(), optimizer.clone()));
        let (step, template, inner) = (self.step.clone(), self.template.clone(), layout.clone());
        let traced = move |inputs: &[Array]| -> Result<Vec<Array>> {
            let (np, ns) = (inner.params.len(), inner.state.len());
            let (mut model, mut optimizer) = template
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
                .ok_or_else(|| Error::Closure("[CompiledStep] no template".into()))?;
            model.update_params(inner.params.iter().cloned().zip(inputs[..np].to_vec()))?;
            let state: State = inner
                .state
                .iter()
                .cloned()
                .zip(inputs[np..np + ns].to_vec())
                .collect::<BTreeMap<_, _>>();
            optimizer.set_state(state)?;
            // The key enters as an input, so draws inside differ from call to call.
            let outer_key = random::state();
            random::set_state(Some(inputs[np + ns].clone()));
            let results = step(&mut model, &mut optimizer, &inputs[np + ns + 1..]);
            let key = random::state();
            random::set_state(outer_key);
            let results = results?;
            let new_state = optimizer.state();
            if !new_state.keys().eq(inner.state.iter()) {
                return Err(Error::InvalidArgument(
                    "[CompiledStep] the step changed the optimizer's state keys".into(),
                ));
            }
            let mut out: Vec<Array> = model.flatten_params().into_iter().map(|p| p.1).collect();
            out.extend(new_state.into_values());
            out.push(key.ok_or_else(|| Error::Closure("[CompiledStep] no random key".into()))?);
            out.extend(results);
            Ok(out)
        };
        let function = transforms::compile(traced, false)?;
        Ok(self.compiled.get_or_init(|| (function, layout)))
    }
}
