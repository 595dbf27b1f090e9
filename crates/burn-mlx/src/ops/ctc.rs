//! Connectionist Temporal Classification loss: the forward (alpha) recursion for the loss and an
//! explicit backward (beta) recursion for its gradient, both in log space over the extended
//! label sequence `l' = [blank, l1, blank, l2, ..., blank]` (`S' = 2S + 1` states), batched over
//! the samples: each time step is a handful of MLX ops on `[N, S']` arrays.
//!
//! Burn's conventions (`burn_backend::ops::ctc`):
//! - `log_probs` `[T, N, C]`, `targets` `[N, S]`, lengths `[N]`; the loss is the per-sample
//!   negative log-likelihood `[N]`, `+inf` when the target cannot be aligned;
//! - the first time step is always used; a sample's states stop changing after its input length;
//! - the gradient is PyTorch's: `exp(log_probs) · g − Σ_s posterior(t, s) · g` at class `l'[s]`,
//!   i.e. the gradient with respect to the logits of a `log_softmax` (identical to the gradient
//!   through `log_softmax` of the true gradient, which lacks the first term), zero for
//!   `t >= input_length` and for samples whose loss is infinite.
//!
//! The backward recursion is written out rather than taken as an MLX VJP of the forward one:
//! `logaddexp(-inf, -inf)` has a NaN derivative, and impossible states are `-inf` everywhere in
//! CTC. Both recursions are rescaled at every step (each sample's row minus its max, the log
//! scales summed apart for the loss), so that the values stay near 0 instead of drifting to
//! `-T·log C`, where float32 keeps few digits; the posterior at a step is normalized over that
//! step's states (`alpha · beta` sums to the likelihood at every step), which cancels the scales
//! and never forms `-inf - (-inf)` for a reachable state.
//!
//! Half-precision inputs are computed in float32 (float64 stays float64) and the results
//! converted back. In float64, exponentials go through `expm1` (see [`Ctc::exp`]): MLX's CPU
//! `exp`, `logaddexp` and `logsumexp` are only single-precision accurate for float64.

use burn_backend::TensorMetadata;
use mlx::{Array, Dtype, ops};

use super::pick::pick;
use crate::eval::op;
use crate::tensor::MlxTensor;

/// Evaluate the recursion's state every this many steps, so that a long sequence never builds
/// one unbounded lazy graph.
const EVAL_EVERY: usize = 128;

/// What both recursions need, computed once.
struct Ctc {
    /// Number of time steps `T`.
    steps: usize,
    /// `[T, N, C]` in the compute dtype.
    log_probs: Array,
    /// `l'` `[N, S']` (int32).
    extended: Array,
    /// `log_probs` at `l'`: `[T, N, S']`.
    emit: Array,
    /// `[N, S']`: the skip transition `s-2 -> s` is allowed (`l'[s]` not blank, differs from
    /// `l'[s-2]`).
    skip: Array,
    /// `[N, S']`: `s < 2 · target_length + 1`.
    s_valid: Array,
    /// `[N, 1]` input and target lengths (int32).
    input_len: Array,
    target_len: Array,
    /// `[1, S']` state index (int32).
    states: Array,
    neg_inf: Array,
    /// Float64: work around MLX's single-precision `exp` on the CPU.
    precise: bool,
}

impl Ctc {
    fn new(
        log_probs: &Array,
        targets: &Array,
        input_len: &Array,
        target_len: &Array,
        blank: usize,
    ) -> mlx::Result<Ctc> {
        let shape = log_probs.shape().to_vec();
        let (steps, batch, _classes) = (shape[0], shape[1], shape[2]);
        let max_target = targets.shape()[1];
        let width = 2 * max_target + 1;
        let dtype = if log_probs.dtype() == Dtype::Float64 {
            Dtype::Float64
        } else {
            Dtype::Float32
        };
        let log_probs = log_probs.astype(dtype)?;

        // l': blank, then (label, blank) pairs.
        let targets = targets.astype(Dtype::Int32)?;
        let blank_arr = Array::scalar(blank as i32);
        let blanks = ops::full(&[batch, max_target], &blank_arr, Dtype::Int32)?;
        let pairs = ops::stack(&[targets, blanks], 2)?.reshape(&[batch, 2 * max_target])?;
        let extended = ops::concatenate(
            &[ops::full(&[batch, 1], &blank_arr, Dtype::Int32)?, pairs],
            Some(1),
        )?;

        let index = ops::broadcast_to(
            &extended.reshape(&[1, batch, width])?,
            &[steps, batch, width],
        )?;
        let emit = ops::take_along_axis(&log_probs, &index, Some(2))?;

        let states = ops::arange(0.0, width as f64, 1.0, Dtype::Int32)?.reshape(&[1, width])?;
        let skip = if width > 2 {
            let two_back = ops::concatenate(
                &[
                    ops::full(&[batch, 2], &blank_arr, Dtype::Int32)?,
                    ops::slice(&extended, &[0, 0], &[batch, width - 2], &[1, 1])?,
                ],
                Some(1),
            )?;
            ops::logical_and(
                &ops::not_equal(&extended, &blank_arr)?,
                &ops::not_equal(&extended, &two_back)?,
            )?
        } else {
            ops::full(&[batch, width], &Array::scalar(false), Dtype::Bool)?
        };

        let input_len = input_len.astype(Dtype::Int32)?.reshape(&[batch, 1])?;
        let target_len = target_len.astype(Dtype::Int32)?.reshape(&[batch, 1])?;
        let s_valid = ops::less(
            &states,
            &ops::add(
                &ops::multiply(&target_len, &Array::scalar(2))?,
                &Array::scalar(1),
            )?,
        )?;
        // Made in `dtype` directly: a float64 scalar as an op's input is refused on a GPU stream
        // even when the result is float32.
        let neg_inf = mlx::Scalar::Float(f64::NEG_INFINITY).to_array(dtype);
        Ok(Ctc {
            steps: steps as usize,
            log_probs,
            extended,
            emit,
            skip,
            s_valid,
            input_len,
            target_len,
            states,
            neg_inf,
            precise: dtype == Dtype::Float64,
        })
    }

    /// `exp(x)` for `x <= 0`. MLX's CPU `exp` (and `logaddexp`, `logsumexp` built on it) keeps
    /// only single precision for float64; `expm1(x) + 1` is exact to float64's absolute
    /// precision, which is what log-space sums need.
    fn exp(&self, x: &Array) -> mlx::Result<Array> {
        if self.precise {
            ops::add(&ops::expm1(x)?, &ops::ones(&[], x.dtype())?)
        } else {
            ops::exp(x)
        }
    }

    /// `log(exp(a) + exp(b))`, `-inf` when both are.
    fn logaddexp(&self, a: &Array, b: &Array) -> mlx::Result<Array> {
        if !self.precise {
            return ops::logaddexp(a, b);
        }
        let top = ops::maximum(a, b)?;
        let gap = ops::negative(&ops::abs(&ops::subtract(a, b)?)?)?;
        let sum = ops::add(&top, &ops::log1p(&self.exp(&gap)?)?)?;
        pick(&ops::isneginf(&top)?, &top, &sum)
    }

    /// Log-sum-exp over the states (last axis), kept.
    fn logsumexp_states(&self, x: &Array) -> mlx::Result<Array> {
        if !self.precise {
            return x.logsumexp(Some(&[-1]), true);
        }
        let top = x.max(Some(&[-1]), true)?;
        let safe = pick(&ops::isneginf(&top)?, &ops::zeros(&[], top.dtype())?, &top)?;
        let sum = self
            .exp(&ops::subtract(x, &safe)?)?
            .sum(Some(&[-1]), true)?;
        ops::add(&ops::log(&sum)?, &safe)
    }

    /// Row `t` of `emit`: `[N, S']`.
    fn emit_at(&self, t: usize) -> mlx::Result<Array> {
        let shape = self.emit.shape();
        let (batch, width) = (shape[1], shape[2]);
        ops::slice(
            &self.emit,
            &[t as i32, 0, 0],
            &[t as i32 + 1, batch, width],
            &[1, 1, 1],
        )?
        .reshape(&[batch, width])
    }

    /// `x` moved `by` states to the right (`by > 0`) or left (`by < 0`), filled with `-inf`.
    fn shift(&self, x: &Array, by: i32) -> mlx::Result<Array> {
        let width = x.shape()[1];
        let widths = if by > 0 {
            [(0, 0), (by, 0)]
        } else {
            [(0, 0), (0, -by)]
        };
        let padded = ops::pad(x, &widths, &self.neg_inf, ops::PadMode::Constant)?;
        let batch = x.shape()[0];
        let start = if by > 0 { 0 } else { -by };
        ops::slice(&padded, &[0, start], &[batch, start + width], &[1, 1])
    }

    /// `x - max(x)` over the states of each sample (rows entirely `-inf` stay so), and the max
    /// (0 for such rows), `[N, 1]`.
    fn rescale(&self, x: &Array) -> mlx::Result<(Array, Array)> {
        let top = x.max(Some(&[1]), true)?;
        let top = pick(&ops::isneginf(&top)?, &ops::zeros(&[], top.dtype())?, &top)?;
        Ok((ops::subtract(x, &top)?, top))
    }

    /// The alpha recursion, rescaled at every step so that its values stay near 0 (the log of
    /// the scales is summed separately): the final rescaled row and the summed log scale
    /// `[N, 1]`, plus every step's rescaled row when `all`.
    fn alpha(&self, all: bool) -> mlx::Result<(Array, Array, Vec<Array>)> {
        let first = ops::logical_and(&ops::less(&self.states, &Array::scalar(2))?, &self.s_valid)?;
        let alpha = pick(&first, &self.emit_at(0)?, &self.neg_inf)?;
        let (mut alpha, mut scale) = self.rescale(&alpha)?;
        let mut rows = vec![];
        for t in 1..self.steps {
            if all {
                rows.push(alpha.clone());
            }
            let one = self.shift(&alpha, 1)?;
            let two = pick(&self.skip, &self.shift(&alpha, 2)?, &self.neg_inf)?;
            let next = ops::add(
                &self.logaddexp(&self.logaddexp(&alpha, &one)?, &two)?,
                &self.emit_at(t)?,
            )?;
            // States past the target's end would draw from the last valid ones: keep them out.
            let next = pick(&self.s_valid, &next, &self.neg_inf)?;
            let (next, top) = self.rescale(&next)?;
            let running = ops::greater(&self.input_len, &Array::scalar(t as i32))?;
            alpha = pick(&running, &next, &alpha)?;
            scale = pick(&running, &ops::add(&scale, &top)?, &scale)?;
            if t % EVAL_EVERY == 0 {
                mlx::eval([&alpha, &scale])?;
            }
        }
        if all {
            rows.push(alpha.clone());
        }
        Ok((alpha, scale, rows))
    }

    /// The per-sample loss `[N]` from the final rescaled alpha row and its log scale.
    fn loss(&self, last: &Array, scale: &Array) -> mlx::Result<Array> {
        let end_blank = ops::multiply(&self.target_len, &Array::scalar(2))?;
        let end_label = ops::maximum(
            &ops::subtract(&end_blank, &Array::scalar(1))?,
            &Array::scalar(0),
        )?;
        let at_blank = ops::take_along_axis(last, &end_blank, Some(1))?;
        let at_label = ops::take_along_axis(last, &end_label, Some(1))?;
        let no_label = ops::equal(&self.target_len, &Array::scalar(0))?;
        let at_label = pick(&no_label, &self.neg_inf, &at_label)?;
        let log_likelihood = ops::add(&self.logaddexp(&at_blank, &at_label)?, scale)?;
        let batch = last.shape()[0];
        ops::negative(&log_likelihood)?.reshape(&[batch])
    }

    /// The beta recursion without the current step's emission (the log probability of
    /// emitting the rest of `l'` after step `t` from state `s`), rescaled at every step:
    /// `[T, N, S']`, up to a factor per step and sample.
    fn beta_after(&self) -> mlx::Result<Array> {
        let zero = ops::zeros(&[], self.neg_inf.dtype())?;
        let end_blank = ops::multiply(&self.target_len, &Array::scalar(2))?;
        let is_end = ops::logical_or(
            &ops::equal(&self.states, &end_blank)?,
            &ops::equal(&self.states, &ops::subtract(&end_blank, &Array::scalar(1))?)?,
        )?;
        let at_end = pick(&is_end, &zero, &self.neg_inf)?;
        let last_step = ops::subtract(&self.input_len, &Array::scalar(1))?;
        // The skip transition s -> s+2 is allowed where it is allowed into s+2.
        let skip_to = {
            let width = self.skip.shape()[1];
            let batch = self.skip.shape()[0];
            let padded = ops::pad(
                &self.skip,
                &[(0, 0), (0, 2)],
                &Array::scalar(false),
                ops::PadMode::Constant,
            )?;
            ops::slice(&padded, &[0, 2], &[batch, 2 + width], &[1, 1])?
        };
        let width = self.emit.shape()[2];
        let batch = self.emit.shape()[1];
        let mut after = ops::full(&[batch, width], &self.neg_inf, self.neg_inf.dtype())?;
        let mut rows = Vec::with_capacity(self.steps);
        for t in (0..self.steps).rev() {
            let t_arr = Array::scalar(t as i32);
            // beta at t+1, with its emission.
            let next = if t + 1 < self.steps {
                ops::add(&after, &self.emit_at(t + 1)?)?
            } else {
                after.clone()
            };
            let one = self.shift(&next, -1)?;
            let two = pick(&skip_to, &self.shift(&next, -2)?, &self.neg_inf)?;
            let (inner, _) = self.rescale(&self.logaddexp(&self.logaddexp(&next, &one)?, &two)?)?;
            let before_end = pick(&ops::less(&t_arr, &last_step)?, &inner, &self.neg_inf)?;
            after = pick(&ops::equal(&t_arr, &last_step)?, &at_end, &before_end)?;
            rows.push(after.clone());
            if t % EVAL_EVERY == 0 {
                after.eval()?;
            }
        }
        rows.reverse();
        ops::stack(&rows, 0)
    }
}

pub(crate) fn ctc_loss(
    log_probs: MlxTensor,
    targets: MlxTensor,
    input_lengths: MlxTensor,
    target_lengths: MlxTensor,
    blank: usize,
) -> MlxTensor {
    check_shapes(&log_probs, &targets);
    op(
        &[&log_probs, &targets, &input_lengths, &target_lengths],
        "ctc_loss",
        || {
            let ctc = Ctc::new(
                &log_probs.array,
                &targets.array,
                &input_lengths.array,
                &target_lengths.array,
                blank,
            )?;
            let (last, scale, _) = ctc.alpha(false)?;
            ctc.loss(&last, &scale)?.astype(log_probs.array.dtype())
        },
    )
}

pub(crate) fn ctc_loss_backward(
    log_probs: MlxTensor,
    targets: MlxTensor,
    input_lengths: MlxTensor,
    target_lengths: MlxTensor,
    grad_loss: MlxTensor,
    blank: usize,
) -> MlxTensor {
    check_shapes(&log_probs, &targets);
    op(
        &[
            &log_probs,
            &targets,
            &input_lengths,
            &target_lengths,
            &grad_loss,
        ],
        "ctc_loss_backward",
        || {
            let ctc = Ctc::new(
                &log_probs.array,
                &targets.array,
                &input_lengths.array,
                &target_lengths.array,
                blank,
            )?;
            let (last, scale, alpha_rows) = ctc.alpha(true)?;
            let nll = ctc.loss(&last, &scale)?;
            let alpha = ops::stack(&alpha_rows, 0)?;
            let after = ctc.beta_after()?;
            let shape = ctc.log_probs.shape().to_vec();
            let (steps, batch, width) = (shape[0], shape[1], ctc.emit.shape()[2]);
            let dtype = ctc.log_probs.dtype();

            let g = grad_loss.array.astype(dtype)?.reshape(&[1, batch, 1])?;
            let nll_b = nll.reshape(&[1, batch, 1])?;
            // The log posterior of being in state s at step t: alpha (with the step's emission) +
            // beta (without it), normalized over the states (alpha · beta sums to the likelihood at
            // every step; normalizing per step cancels the rescaling and the rounding shared by the
            // states of a step).
            let joint = ops::add(&alpha, &after)?;
            let log_post = ops::subtract(&joint, &ctc.logsumexp_states(&joint)?)?;
            let post = ops::multiply(&ctc.exp(&log_post)?, &g)?;
            let index = ops::broadcast_to(
                &ctc.extended.reshape(&[1, batch, width])?,
                &[steps, batch, width],
            )?;
            let grad = ops::multiply(&ctc.exp(&ctc.log_probs)?, &g)?;
            let grad = ops::scatter_add_axis(&grad, &index, &ops::negative(&post)?, Some(2))?;

            let t_idx =
                ops::arange(0.0, steps as f64, 1.0, Dtype::Int32)?.reshape(&[steps, 1, 1])?;
            let past_end = ops::greater_equal(&t_idx, &ctc.input_len.reshape(&[1, batch, 1])?)?;
            let impossible = ops::isinf(&nll_b)?;
            let zeroed = ops::logical_or(&past_end, &impossible)?;
            pick(&zeroed, &ops::zeros(&[], dtype)?, &grad)?.astype(log_probs.array.dtype())
        },
    )
}

fn check_shapes(log_probs: &MlxTensor, targets: &MlxTensor) {
    let (lp, tg) = (log_probs.shape(), targets.shape());
    assert!(
        lp.num_dims() == 3 && tg.num_dims() == 2 && lp[1] == tg[0],
        "burn-mlx: ctc_loss: expected log_probs [T, N, C] and targets [N, S], got {lp:?} and {tg:?}"
    );
    assert!(lp[0] > 0, "burn-mlx: ctc_loss: log_probs has no time step");
}
