//! Learning-rate schedules (Python MLX's `mlx.optimizers.schedulers`).
//!
//! A [`Schedule`] maps the step count (the optimizer's `uint64` scalar `step`) to a value, as an
//! array computation, so it can be evaluated inside a compiled step. Pass one wherever a
//! learning rate is expected: the optimizer evaluates it on the current step before each update
//! (the value used by update `n`, counting from 1, is the schedule at step `n - 1`).
//!
//! ```
//! use mlx::optimizers::{Optimizer, SGD, cosine_decay, join_schedules, linear_schedule};
//!
//! let warmup = linear_schedule(0.0, 0.1, 10)?;
//! let decay = cosine_decay(0.1, 200, 0.0)?;
//! let schedule = join_schedules(vec![warmup, decay], &[10])?;
//! assert!((schedule.value_at(5)? - 0.05).abs() < 1e-7);
//! assert_eq!(schedule.value_at(10)?, 0.1);
//!
//! let optimizer = SGD::new(schedule);
//! assert_eq!(optimizer.learning_rate()?.item::<f32>()?, 0.0);
//! # Ok::<(), mlx::Error>(())
//! ```

use std::fmt;
use std::sync::Arc;

use crate::array::Array;
use crate::error::{Error, Result};
use crate::ops::{self, weak_scalar};

type ScheduleFn = dyn Fn(&Array) -> Result<Array> + Send + Sync;

/// A function of the step count giving a hyperparameter's value (a scalar array). Cheap to
/// clone.
#[derive(Clone)]
pub struct Schedule {
    f: Arc<ScheduleFn>,
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Schedule")
    }
}

impl Schedule {
    /// A schedule computing its value from the step array (a `uint64` scalar when called by
    /// an optimizer) with array operations.
    pub fn new(f: impl Fn(&Array) -> Result<Array> + Send + Sync + 'static) -> Schedule {
        Schedule { f: Arc::new(f) }
    }

    /// The value at `step` (any integer array; optimizers pass their `uint64` step).
    pub fn at(&self, step: &Array) -> Result<Array> {
        (self.f)(step)
    }

    /// The value at the step `step`, computed with a `uint64` step array as an optimizer does,
    /// read back as a float.
    pub fn value_at(&self, step: u64) -> Result<f32> {
        self.at(&Array::scalar(step))?
            .astype(crate::Dtype::Float32)?
            .item::<f32>()
    }
}

/// `x` as a scalar that combines with `step` as a Python number does.
fn weak(x: impl Into<crate::Scalar>, step: &Array) -> Result<Array> {
    weak_scalar(x, step.dtype())
}

fn positive(what: &str, name: &str, value: u64) -> Result<()> {
    if value < 1 {
        return Err(Error::InvalidArgument(format!(
            "[{what}] {name} must be greater than 0, but got {value}."
        )));
    }
    Ok(())
}

fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// `init * decay_rate^step`.
pub fn exponential_decay(init: f64, decay_rate: f64) -> Schedule {
    Schedule::new(move |step| {
        let decay = ops::power(&weak(decay_rate, step)?, step)?;
        ops::multiply(&weak_scalar(init, decay.dtype())?, &decay)
    })
}

/// `init * decay_rate^(step / step_size)`, the exponent rounded down: the value is multiplied
/// by `decay_rate` every `step_size` steps. `step_size` must be positive.
pub fn step_decay(init: f64, decay_rate: f64, step_size: u64) -> Result<Schedule> {
    positive("step_decay", "step_size", step_size)?;
    Ok(Schedule::new(move |step| {
        let k = ops::floor_divide(step, &weak(int(step_size), step)?)?;
        let decay = ops::power(&weak(decay_rate, &k)?, &k)?;
        ops::multiply(&weak_scalar(init, decay.dtype())?, &decay)
    }))
}

/// Cosine decay from `init` to `end` over `decay_steps` steps, constant (`end`) afterwards:
/// `end + (init - end) (1 + cos(π min(step, decay_steps) / decay_steps)) / 2`.
pub fn cosine_decay(init: f64, decay_steps: u64, end: f64) -> Result<Schedule> {
    positive("cosine_decay", "decay_steps", decay_steps)?;
    Ok(Schedule::new(move |step| {
        let s = ops::minimum(step, &weak(int(decay_steps), step)?)?;
        let angle = ops::multiply(&weak(std::f64::consts::PI / decay_steps as f64, &s)?, &s)?;
        let cos = angle.cos()?;
        let decay = ops::multiply(
            &weak_scalar(0.5, cos.dtype())?,
            &ops::add(&weak_scalar(1.0, cos.dtype())?, &cos)?,
        )?;
        let scaled = ops::multiply(&decay, &weak_scalar(init - end, decay.dtype())?)?;
        ops::add(&weak_scalar(end, scaled.dtype())?, &scaled)
    }))
}

/// Linear from `init` (step 0) to `end` (step `steps`), constant (`end`) afterwards.
pub fn linear_schedule(init: f64, end: f64, steps: u64) -> Result<Schedule> {
    positive("linear_schedule", "steps", steps)?;
    Ok(Schedule::new(move |step| {
        let s = ops::minimum(step, &weak(int(steps), step)?)?;
        let slope = ops::multiply(&s, &weak((end - init) / steps as f64, &s)?)?;
        ops::add(&slope, &weak_scalar(init, slope.dtype())?)
    }))
}

/// Joins schedules end to end: `schedules[0]` until `boundaries[0]`, then `schedules[1]` (given
/// the steps since that boundary) until `boundaries[1]`, and so on. There must be one boundary
/// fewer than schedules.
pub fn join_schedules(schedules: Vec<Schedule>, boundaries: &[u64]) -> Result<Schedule> {
    if schedules.is_empty() {
        return Err(Error::InvalidArgument(
            "[join_schedules] Must provide at least 1 schedule to join.".into(),
        ));
    }
    if schedules.len() != boundaries.len() + 1 {
        return Err(Error::InvalidArgument(format!(
            "[join_schedules] Received {} boundaries but expected {}.",
            boundaries.len(),
            schedules.len() - 1
        )));
    }
    let boundaries = boundaries.to_vec();
    Ok(Schedule::new(move |step| {
        let mut output = schedules[0].at(step)?;
        for (b, s) in boundaries.iter().zip(&schedules[1..]) {
            let b = weak(int(*b), step)?;
            // Before the boundary the shifted step may wrap around (unsigned), as in Python;
            // `where` discards those values.
            let later = s.at(&ops::subtract(step, &b)?)?;
            output = ops::where_(&ops::less(step, &b)?, &output, &later)?;
        }
        Ok(output)
    }))
}
