//! Loss functions (MLX's `mlx.nn.losses`).
//!
//! Every loss comes in two forms that compute the same thing:
//!
//! - a plain function with Python MLX's name and defaults, e.g. [`cross_entropy`]`(logits,
//!   targets)`;
//! - an options struct named after it (e.g. [`CrossEntropy`]) with Python's defaults in its
//!   [`Default`], `with_*` builder methods for each keyword argument, and a `loss` method taking
//!   the same arrays as the function.
//!
//! The default [`Reduction`] is Python MLX's, which differs between losses: `mean` for
//! [`binary_cross_entropy`], [`mse_loss`], [`l1_loss`], [`smooth_l1_loss`] and
//! [`gaussian_nll_loss`]; `none` (the per-element or per-sample loss) for all the others.
//!
//! Arguments are checked before anything is computed: arrays that must have the same shape
//! (predictions and targets, weights and the unreduced loss, ...) and options out of range
//! (`label_smoothing` outside `[0, 1)`, a negative `beta`, ...) give
//! [`Error::InvalidArgument`]. Where Python MLX broadcasts silently (`hinge_loss`, `huber_loss`,
//! `log_cosh_loss`, `kl_div_loss`, `triplet_loss`, `cosine_similarity_loss`, `nll_loss`), these
//! functions ask for matching shapes instead.
//!
//! ```
//! use mlx::nn::losses::{self, CrossEntropy, Reduction};
//! use mlx::Array;
//!
//! let logits = Array::from_slice(&[2.0f32, 0.0, 0.0, 0.0, 3.0, 0.0], &[2, 3])?;
//! let classes = Array::from_slice(&[0i32, 1], &[2])?;
//! let per_sample = losses::cross_entropy(&logits, &classes)?;
//! assert_eq!(per_sample.shape(), &[2]);
//! let smoothed = CrossEntropy::default()
//!     .with_label_smoothing(0.1)
//!     .with_reduction(Reduction::Mean)
//!     .loss(&logits, &classes)?;
//! assert!(smoothed.item::<f32>()? > per_sample.mean(None, false)?.item::<f32>()?);
//! # Ok::<(), mlx::Error>(())
//! ```

use crate::array::Array;
use crate::error::{Error, Result};
use crate::linalg;
use crate::nn::activations::scalar_like;
use crate::ops;

/// How a loss combines its per-element values (Python MLX's `reduction` argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// No reduction: the loss per element or per sample (`'none'`).
    None,
    /// The mean over every element (`'mean'`).
    Mean,
    /// The sum over every element (`'sum'`).
    Sum,
}

impl Reduction {
    /// Applies the reduction to an unreduced loss.
    pub fn reduce(self, loss: Array) -> Result<Array> {
        match self {
            Reduction::None => Ok(loss),
            Reduction::Mean => loss.mean(None, false),
            Reduction::Sum => loss.sum(None, false),
        }
    }

    /// Python MLX's name for the reduction (`"none"`, `"mean"` or `"sum"`).
    pub fn name(self) -> &'static str {
        match self {
            Reduction::None => "none",
            Reduction::Mean => "mean",
            Reduction::Sum => "sum",
        }
    }
}

fn invalid<T>(loss: &str, message: String) -> Result<T> {
    Err(Error::InvalidArgument(format!("[{loss}] {message}")))
}

/// Checks that every named array has the shape of the first one.
fn same_shapes(loss: &str, arrays: &[(&str, &Array)]) -> Result<()> {
    let (first_name, first) = arrays[0];
    for (name, a) in &arrays[1..] {
        if a.shape() != first.shape() {
            return invalid(
                loss,
                format!(
                    "{name} shape {:?} does not match {first_name} shape {:?}",
                    a.shape(),
                    first.shape()
                ),
            );
        }
    }
    Ok(())
}

/// `axis` of an array with `ndim` dimensions as a non-negative index.
fn normalize_axis(loss: &str, axis: i32, ndim: usize) -> Result<i32> {
    let n = ndim as i32;
    if axis < -n || axis >= n {
        return invalid(
            loss,
            format!("axis {axis} is out of range for an array with {ndim} dimensions"),
        );
    }
    Ok(if axis < 0 { axis + n } else { axis })
}

/// `loss * weights`, where `weights` (if any) must have the loss's shape.
fn apply_weights(name: &str, loss: Array, weights: Option<&Array>) -> Result<Array> {
    match weights {
        None => Ok(loss),
        Some(w) if w.shape() == loss.shape() => ops::multiply(&loss, w),
        Some(w) => invalid(
            name,
            format!(
                "weights shape {:?} does not match the unreduced loss shape {:?}",
                w.shape(),
                loss.shape()
            ),
        ),
    }
}

fn check_non_negative(loss: &str, name: &str, value: f64) -> Result<()> {
    if value >= 0.0 {
        Ok(())
    } else {
        invalid(loss, format!("{name} must be non-negative, got {value}"))
    }
}

/// Defines a loss's options struct: its fields with their defaults, a `with_*` builder for
/// each, optionally `weights` (`[weights]`), and the reduction with its default.
macro_rules! loss_options {
    (
        $(#[$doc:meta])*
        $name:ident $([$weights:ident])? {
            reduction: $red:ident;
            $($(#[$fdoc:meta])* $setter:ident: $field:ident: $ty:ty = $default:expr,)*
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            $($weights: Option<Array>,)?
            $($field: $ty,)*
            reduction: Reduction,
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    $($weights: None,)?
                    $($field: $default,)*
                    reduction: Reduction::$red,
                }
            }
        }

        impl $name {
            $(
                /// Multiplies the unreduced loss by `weights`, which must have its shape.
                pub fn with_weights(mut self, weights: &Array) -> Self {
                    self.$weights = Some(weights.clone());
                    self
                }
            )?
            $(
                $(#[$fdoc])*
                pub fn $setter(mut self, $field: $ty) -> Self {
                    self.$field = $field;
                    self
                }
            )*
            /// Sets how the loss is reduced.
            pub fn with_reduction(mut self, reduction: Reduction) -> Self {
                self.reduction = reduction;
                self
            }
        }
    };
}

// ---- classification -----------------------------------------------------------------------------

loss_options! {
    /// Options of [`cross_entropy`]: `weights` none, `axis` -1, `label_smoothing` 0, reduction
    /// `none`.
    CrossEntropy [weights] {
        reduction: None;
        /// The class axis of the logits.
        with_axis: axis: i32 = -1,
        /// Mixes the targets with the uniform distribution: weight `1 - s` on the target, `s`
        /// spread over all classes. Must be in `[0, 1)`.
        with_label_smoothing: label_smoothing: f64 = 0.0,
    }
}

impl CrossEntropy {
    /// The cross entropy of `logits` against `targets`: class indices (an integer array with
    /// the shape of `logits` without the class axis) or probabilities (an array with the shape
    /// of `logits`).
    pub fn loss(&self, logits: &Array, targets: &Array) -> Result<Array> {
        const NAME: &str = "cross_entropy";
        let ls = self.label_smoothing;
        if !(0.0..1.0).contains(&ls) {
            return invalid(NAME, format!("label_smoothing must be in [0, 1), got {ls}"));
        }
        let axis = normalize_axis(NAME, self.axis, logits.ndim())?;
        let as_probs = targets.ndim() == logits.ndim();
        let mut want = logits.shape().to_vec();
        if !as_probs {
            want.remove(axis as usize);
        }
        if targets.shape() != want {
            return invalid(
                NAME,
                format!(
                    "targets shape {:?} does not match logits shape {:?} (class axis {})",
                    targets.shape(),
                    logits.shape(),
                    self.axis
                ),
            );
        }
        let max = ops::stop_gradient(&logits.max(Some(&[axis]), true)?)?;
        let shifted = ops::subtract(logits, &max)?;
        let score = if as_probs {
            ops::multiply(&shifted, targets)?.sum(Some(&[axis]), false)?
        } else {
            let idx = targets.expand_dims(&[axis])?;
            ops::take_along_axis(&shifted, &idx, Some(axis))?.squeeze(Some(&[axis]))?
        };
        let lse = shifted.logsumexp(Some(&[axis]), false)?;
        let loss = if ls > 0.0 {
            let adjusted = ops::multiply(&score, &scalar_like(1.0 - ls, &score)?)?;
            let mean = shifted.mean(Some(&[axis]), false)?;
            let smooth = ops::multiply(&mean, &scalar_like(ls, &mean)?)?;
            ops::subtract(&ops::subtract(&lse, &adjusted)?, &smooth)?
        } else {
            ops::subtract(&lse, &score)?
        };
        let loss = apply_weights(NAME, loss, self.weights.as_ref())?;
        self.reduction.reduce(loss)
    }
}

/// Cross entropy of `logits` (classes on the last axis) against class indices or
/// probabilities, unreduced (see [`CrossEntropy`] for the options).
pub fn cross_entropy(logits: &Array, targets: &Array) -> Result<Array> {
    CrossEntropy::default().loss(logits, targets)
}

loss_options! {
    /// Options of [`binary_cross_entropy`]: `weights` none, `with_logits` true, reduction `mean`.
    BinaryCrossEntropy [weights] {
        reduction: Mean;
        /// Whether the inputs are logits (`true`) or probabilities (`false`; their logarithms are
        /// clipped at -100, as in Python MLX and PyTorch).
        with_logits: with_logits: bool = true,
    }
}

impl BinaryCrossEntropy {
    /// The binary cross entropy of `inputs` against `targets` in `[0, 1]` (same shape).
    pub fn loss(&self, inputs: &Array, targets: &Array) -> Result<Array> {
        const NAME: &str = "binary_cross_entropy";
        same_shapes(NAME, &[("inputs", inputs), ("targets", targets)])?;
        let loss = if self.with_logits {
            // log(1 + e^x) - x t
            let softplus = ops::logaddexp(&scalar_like(0.0, inputs)?, inputs)?;
            ops::subtract(&softplus, &ops::multiply(inputs, targets)?)?
        } else {
            let floor = scalar_like(-100.0, inputs)?;
            let log_p = ops::clip(&ops::log(inputs)?, Some(&floor), None)?;
            let one = scalar_like(1.0, inputs)?;
            let log_q = ops::clip(
                &ops::log(&ops::subtract(&one, inputs)?)?,
                Some(&floor),
                None,
            )?;
            let t_log_p = ops::multiply(targets, &log_p)?;
            let rest = ops::multiply(&ops::subtract(&one, targets)?, &log_q)?;
            ops::negative(&ops::add(&t_log_p, &rest)?)?
        };
        let loss = apply_weights(NAME, loss, self.weights.as_ref())?;
        self.reduction.reduce(loss)
    }
}

/// Binary cross entropy of logits against targets in `[0, 1]`, averaged (see
/// [`BinaryCrossEntropy`] for the options).
pub fn binary_cross_entropy(inputs: &Array, targets: &Array) -> Result<Array> {
    BinaryCrossEntropy::default().loss(inputs, targets)
}

loss_options! {
    /// Options of [`nll_loss`]: `axis` -1, reduction `none`.
    NllLoss {
        reduction: None;
        /// The class axis of the inputs.
        with_axis: axis: i32 = -1,
    }
}

impl NllLoss {
    /// Minus the log-probability `inputs` gives to each target class index (`targets` has the
    /// shape of `inputs` without the class axis).
    pub fn loss(&self, inputs: &Array, targets: &Array) -> Result<Array> {
        const NAME: &str = "nll_loss";
        let axis = normalize_axis(NAME, self.axis, inputs.ndim())?;
        let mut want = inputs.shape().to_vec();
        want.remove(axis as usize);
        if targets.shape() != want {
            return invalid(
                NAME,
                format!(
                    "targets shape {:?} does not match inputs shape {:?} without axis {}",
                    targets.shape(),
                    inputs.shape(),
                    self.axis
                ),
            );
        }
        let idx = targets.expand_dims(&[axis])?;
        let picked = ops::take_along_axis(inputs, &idx, Some(axis))?.squeeze(Some(&[axis]))?;
        self.reduction.reduce(ops::negative(&picked)?)
    }
}

/// Negative log-likelihood of log-probabilities (classes on the last axis) at target class
/// indices, unreduced (see [`NllLoss`]).
pub fn nll_loss(inputs: &Array, targets: &Array) -> Result<Array> {
    NllLoss::default().loss(inputs, targets)
}

loss_options! {
    /// Options of [`kl_div_loss`]: `axis` -1, reduction `none`.
    KlDivLoss {
        reduction: None;
        /// The distribution axis.
        with_axis: axis: i32 = -1,
    }
}

impl KlDivLoss {
    /// `KL(targets ‖ inputs) = Σ exp(t) (t - x)` over the axis, where **both** `inputs` and
    /// `targets` are log-probabilities (as in Python MLX).
    pub fn loss(&self, inputs: &Array, targets: &Array) -> Result<Array> {
        const NAME: &str = "kl_div_loss";
        same_shapes(NAME, &[("inputs", inputs), ("targets", targets)])?;
        let axis = normalize_axis(NAME, self.axis, inputs.ndim())?;
        let terms = ops::multiply(&ops::exp(targets)?, &ops::subtract(targets, inputs)?)?;
        self.reduction.reduce(terms.sum(Some(&[axis]), false)?)
    }
}

/// Kullback–Leibler divergence between log-probability targets and log-probability inputs
/// over the last axis, unreduced (see [`KlDivLoss`]).
pub fn kl_div_loss(inputs: &Array, targets: &Array) -> Result<Array> {
    KlDivLoss::default().loss(inputs, targets)
}

loss_options! {
    /// Options of [`hinge_loss`]: reduction `none`.
    HingeLoss {
        reduction: None;
    }
}

impl HingeLoss {
    /// `max(1 - x t, 0)` for targets `t` in `{-1, 1}` (same shape as `inputs`).
    pub fn loss(&self, inputs: &Array, targets: &Array) -> Result<Array> {
        same_shapes("hinge_loss", &[("inputs", inputs), ("targets", targets)])?;
        let margin = ops::subtract(&scalar_like(1.0, inputs)?, &ops::multiply(inputs, targets)?)?;
        let loss = ops::maximum(&margin, &scalar_like(0.0, &margin)?)?;
        self.reduction.reduce(loss)
    }
}

/// Hinge loss `max(1 - x t, 0)`, unreduced (see [`HingeLoss`]).
pub fn hinge_loss(inputs: &Array, targets: &Array) -> Result<Array> {
    HingeLoss::default().loss(inputs, targets)
}

// ---- regression ---------------------------------------------------------------------------------

loss_options! {
    /// Options of [`mse_loss`]: reduction `mean`.
    MseLoss {
        reduction: Mean;
    }
}

impl MseLoss {
    /// `(predictions - targets)²` (same shapes).
    pub fn loss(&self, predictions: &Array, targets: &Array) -> Result<Array> {
        same_shapes(
            "mse_loss",
            &[("predictions", predictions), ("targets", targets)],
        )?;
        self.reduction
            .reduce(ops::square(&ops::subtract(predictions, targets)?)?)
    }
}

/// Mean squared error (see [`MseLoss`]).
pub fn mse_loss(predictions: &Array, targets: &Array) -> Result<Array> {
    MseLoss::default().loss(predictions, targets)
}

loss_options! {
    /// Options of [`l1_loss`]: reduction `mean`.
    L1Loss {
        reduction: Mean;
    }
}

impl L1Loss {
    /// `|predictions - targets|` (same shapes).
    pub fn loss(&self, predictions: &Array, targets: &Array) -> Result<Array> {
        same_shapes(
            "l1_loss",
            &[("predictions", predictions), ("targets", targets)],
        )?;
        self.reduction
            .reduce(ops::abs(&ops::subtract(predictions, targets)?)?)
    }
}

/// Mean absolute error (see [`L1Loss`]).
pub fn l1_loss(predictions: &Array, targets: &Array) -> Result<Array> {
    L1Loss::default().loss(predictions, targets)
}

loss_options! {
    /// Options of [`smooth_l1_loss`]: `beta` 1, reduction `mean`.
    SmoothL1Loss {
        reduction: Mean;
        /// Where the loss turns from quadratic to linear (non-negative).
        with_beta: beta: f64 = 1.0,
    }
}

impl SmoothL1Loss {
    /// With `d = |predictions - targets|`: `d² / (2 beta)` where `d < beta`, `d - beta / 2`
    /// elsewhere.
    pub fn loss(&self, predictions: &Array, targets: &Array) -> Result<Array> {
        const NAME: &str = "smooth_l1_loss";
        same_shapes(NAME, &[("predictions", predictions), ("targets", targets)])?;
        check_non_negative(NAME, "beta", self.beta)?;
        let d = ops::abs(&ops::subtract(predictions, targets)?)?;
        let beta = scalar_like(self.beta, &d)?;
        let quadratic = ops::divide(
            &ops::multiply(&ops::square(&d)?, &scalar_like(0.5, &d)?)?,
            &beta,
        )?;
        let linear = ops::subtract(&d, &scalar_like(0.5 * self.beta, &d)?)?;
        let loss = ops::where_(&ops::less(&d, &beta)?, &quadratic, &linear)?;
        self.reduction.reduce(loss)
    }
}

/// Smooth L1 loss with `beta` 1, averaged (see [`SmoothL1Loss`]).
pub fn smooth_l1_loss(predictions: &Array, targets: &Array) -> Result<Array> {
    SmoothL1Loss::default().loss(predictions, targets)
}

loss_options! {
    /// Options of [`huber_loss`]: `delta` 1, reduction `none`.
    HuberLoss {
        reduction: None;
        /// Where the loss turns from quadratic to linear (non-negative).
        with_delta: delta: f64 = 1.0,
    }
}

impl HuberLoss {
    /// With `e = |inputs - targets|`: `e² / 2` where `e <= delta`, `delta (e - delta / 2)`
    /// elsewhere.
    pub fn loss(&self, inputs: &Array, targets: &Array) -> Result<Array> {
        const NAME: &str = "huber_loss";
        same_shapes(NAME, &[("inputs", inputs), ("targets", targets)])?;
        check_non_negative(NAME, "delta", self.delta)?;
        let e = ops::abs(&ops::subtract(inputs, targets)?)?;
        let delta = scalar_like(self.delta, &e)?;
        let quadratic = ops::minimum(&e, &delta)?;
        let linear = ops::subtract(&e, &quadratic)?;
        let loss = ops::add(
            &ops::multiply(&ops::square(&quadratic)?, &scalar_like(0.5, &e)?)?,
            &ops::multiply(&linear, &delta)?,
        )?;
        self.reduction.reduce(loss)
    }
}

/// Huber loss with `delta` 1, unreduced (see [`HuberLoss`]).
pub fn huber_loss(inputs: &Array, targets: &Array) -> Result<Array> {
    HuberLoss::default().loss(inputs, targets)
}

loss_options! {
    /// Options of [`log_cosh_loss`]: reduction `none`.
    LogCoshLoss {
        reduction: None;
    }
}

impl LogCoshLoss {
    /// `log(cosh(inputs - targets))`, computed without overflow (same shapes).
    pub fn loss(&self, inputs: &Array, targets: &Array) -> Result<Array> {
        same_shapes("log_cosh_loss", &[("inputs", inputs), ("targets", targets)])?;
        let e = ops::subtract(inputs, targets)?;
        let both = ops::logaddexp(&e, &ops::negative(&e)?)?;
        let loss = ops::subtract(&both, &scalar_like(std::f64::consts::LN_2, &both)?)?;
        self.reduction.reduce(loss)
    }
}

/// Log-cosh loss, unreduced (see [`LogCoshLoss`]).
pub fn log_cosh_loss(inputs: &Array, targets: &Array) -> Result<Array> {
    LogCoshLoss::default().loss(inputs, targets)
}

loss_options! {
    /// Options of [`gaussian_nll_loss`]: `full` false, `eps` 1e-6, reduction `mean`.
    GaussianNllLoss {
        reduction: Mean;
        /// Whether to add the constant `log(2π) / 2`.
        with_full: full: bool = false,
        /// The smallest variance used (variances are clamped to it; non-negative).
        with_eps: eps: f64 = 1e-6,
    }
}

impl GaussianNllLoss {
    /// `(log(v) + (targets - inputs)² / v) / 2` with `v = max(vars, eps)`: the negative
    /// log-likelihood of `targets` under normals of mean `inputs` and variance `vars` (all three
    /// of one shape).
    pub fn loss(&self, inputs: &Array, targets: &Array, vars: &Array) -> Result<Array> {
        const NAME: &str = "gaussian_nll_loss";
        same_shapes(
            NAME,
            &[("inputs", inputs), ("targets", targets), ("vars", vars)],
        )?;
        check_non_negative(NAME, "eps", self.eps)?;
        let v = ops::maximum(vars, &scalar_like(self.eps, vars)?)?;
        let sq = ops::divide(&ops::square(&ops::subtract(targets, inputs)?)?, &v)?;
        let sum = ops::add(&ops::log(&v)?, &sq)?;
        let mut loss = ops::multiply(&sum, &scalar_like(0.5, &sum)?)?;
        if self.full {
            let c = 0.5 * (2.0 * std::f64::consts::PI).ln();
            loss = ops::add(&loss, &scalar_like(c, &loss)?)?;
        }
        self.reduction.reduce(loss)
    }
}

/// Gaussian negative log-likelihood, averaged (see [`GaussianNllLoss`]).
pub fn gaussian_nll_loss(inputs: &Array, targets: &Array, vars: &Array) -> Result<Array> {
    GaussianNllLoss::default().loss(inputs, targets, vars)
}

// ---- similarity and ranking ---------------------------------------------------------------------

loss_options! {
    /// Options of [`cosine_similarity_loss`]: `axis` 1, `eps` 1e-8, reduction `none`.
    CosineSimilarityLoss {
        reduction: None;
        /// The axis along which vectors are compared.
        with_axis: axis: i32 = 1,
        /// The smallest product of norms divided by (non-negative).
        with_eps: eps: f64 = 1e-8,
    }
}

impl CosineSimilarityLoss {
    /// `x1 · x2 / max(‖x1‖ ‖x2‖, eps)` along the axis (same shapes). As in Python MLX this is
    /// the similarity itself (1 for parallel vectors), not `1 -` it.
    pub fn loss(&self, x1: &Array, x2: &Array) -> Result<Array> {
        const NAME: &str = "cosine_similarity_loss";
        same_shapes(NAME, &[("x1", x1), ("x2", x2)])?;
        check_non_negative(NAME, "eps", self.eps)?;
        let axis = normalize_axis(NAME, self.axis, x1.ndim())?;
        let n1 = linalg::norm(x1, None, Some(&[axis]), false)?;
        let n2 = linalg::norm(x2, None, Some(&[axis]), false)?;
        let norms = ops::multiply(&n1, &n2)?;
        let denom = ops::maximum(&norms, &scalar_like(self.eps, &norms)?)?;
        let dot = ops::multiply(x1, x2)?.sum(Some(&[axis]), false)?;
        self.reduction.reduce(ops::divide(&dot, &denom)?)
    }
}

/// Cosine similarity along axis 1, unreduced (see [`CosineSimilarityLoss`]).
pub fn cosine_similarity_loss(x1: &Array, x2: &Array) -> Result<Array> {
    CosineSimilarityLoss::default().loss(x1, x2)
}

loss_options! {
    /// Options of [`triplet_loss`]: `axis` -1, `p` 2, `margin` 1, `eps` 1e-6, `swap` false,
    /// reduction `none`.
    TripletLoss {
        reduction: None;
        /// The axis of the embeddings.
        with_axis: axis: i32 = -1,
        /// The order of the distance norm (at least 1).
        with_p: p: i32 = 2,
        /// How much closer the positive must be than the negative.
        with_margin: margin: f64 = 1.0,
        /// Added to the sum of powers before the root, for a gradient at distance 0.
        with_eps: eps: f64 = 1e-6,
        /// The distance swap of Balntas et al. (PyTorch's `swap=True`, which Python MLX does not
        /// have): the negative distance is the smaller of anchor–negative and positive–negative.
        with_swap: swap: bool = false,
    }
}

impl TripletLoss {
    /// `max(d(a, p) - d(a, n) + margin, 0)` with `d(x, y) = (Σ |x - y|^p + eps)^(1/p)` along the
    /// axis (all three of one shape).
    pub fn loss(&self, anchors: &Array, positives: &Array, negatives: &Array) -> Result<Array> {
        const NAME: &str = "triplet_loss";
        same_shapes(
            NAME,
            &[
                ("anchors", anchors),
                ("positives", positives),
                ("negatives", negatives),
            ],
        )?;
        if self.p < 1 {
            return invalid(NAME, format!("p must be at least 1, got {}", self.p));
        }
        let axis = normalize_axis(NAME, self.axis, anchors.ndim())?;
        let dist = |x: &Array, y: &Array| -> Result<Array> {
            let d = ops::abs(&ops::subtract(x, y)?)?;
            let powered = ops::power(&d, &ops::weak_scalar(self.p, d.dtype())?)?;
            let s = powered.sum(Some(&[axis]), false)?;
            let s = ops::add(&s, &scalar_like(self.eps, &s)?)?;
            ops::power(&s, &scalar_like(1.0 / f64::from(self.p), &s)?)
        };
        let pos = dist(anchors, positives)?;
        let mut neg = dist(anchors, negatives)?;
        if self.swap {
            neg = ops::minimum(&neg, &dist(positives, negatives)?)?;
        }
        let gap = ops::subtract(&pos, &neg)?;
        let gap = ops::add(&gap, &scalar_like(self.margin, &gap)?)?;
        let loss = ops::maximum(&gap, &scalar_like(0.0, &gap)?)?;
        self.reduction.reduce(loss)
    }
}

/// Triplet margin loss with Euclidean distances and margin 1, unreduced (see
/// [`TripletLoss`]).
pub fn triplet_loss(anchors: &Array, positives: &Array, negatives: &Array) -> Result<Array> {
    TripletLoss::default().loss(anchors, positives, negatives)
}

loss_options! {
    /// Options of [`margin_ranking_loss`]: `margin` 0, reduction `none`.
    MarginRankingLoss {
        reduction: None;
        /// How far apart the inputs must be ranked for a zero loss.
        with_margin: margin: f64 = 0.0,
    }
}

impl MarginRankingLoss {
    /// `max(0, -t (x1 - x2) + margin)` for targets `t` in `{-1, 1}` (1: `x1` should rank
    /// higher); all three of one shape.
    pub fn loss(&self, inputs1: &Array, inputs2: &Array, targets: &Array) -> Result<Array> {
        same_shapes(
            "margin_ranking_loss",
            &[
                ("inputs1", inputs1),
                ("inputs2", inputs2),
                ("targets", targets),
            ],
        )?;
        let diff = ops::subtract(inputs1, inputs2)?;
        let v = ops::negative(&ops::multiply(targets, &diff)?)?;
        let v = ops::add(&v, &scalar_like(self.margin, &v)?)?;
        let loss = ops::maximum(&v, &scalar_like(0.0, &v)?)?;
        self.reduction.reduce(loss)
    }
}

/// Margin ranking loss with margin 0, unreduced (see [`MarginRankingLoss`]).
pub fn margin_ranking_loss(inputs1: &Array, inputs2: &Array, targets: &Array) -> Result<Array> {
    MarginRankingLoss::default().loss(inputs1, inputs2, targets)
}
