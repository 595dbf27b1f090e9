//! Normalization layers.

use crate::Parameters;
use crate::array::Array;
use crate::error::{Error, Result};
use crate::fast;
use crate::nn::Module;
use crate::ops;
use crate::params::ModuleState;

fn check_eps(what: &str, eps: f32) -> Result<()> {
    if eps > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "[{what}] eps must be positive, got {eps}"
        )))
    }
}

fn affine(x: Array, weight: Option<&Array>, bias: Option<&Array>) -> Result<Array> {
    let x = match weight {
        Some(w) => &x * w,
        None => x,
    };
    Ok(match bias {
        Some(b) => &x + b,
        None => x,
    })
}

/// Normalizes over the last axis to zero mean and unit variance, then scales by `weight` and
/// shifts by `bias` (MLX's `nn.LayerNorm`: `weight` starts at ones, `bias` at zeros).
#[derive(Parameters, Clone, Debug)]
pub struct LayerNorm {
    /// `[dims]`, when the layer is affine.
    pub weight: Option<Array>,
    /// `[dims]`, when the layer is affine with a bias.
    pub bias: Option<Array>,
    #[param(skip)]
    eps: f32,
    #[param(state)]
    state: ModuleState,
}

impl LayerNorm {
    /// An affine layer norm with a bias and `eps = 1e-5`.
    pub fn new(dims: i32) -> Result<LayerNorm> {
        LayerNorm::with_options(dims, 1e-5, true, true)
    }

    /// A layer norm: `affine` adds `weight` (and `bias`, when `bias` is set too).
    pub fn with_options(dims: i32, eps: f32, affine: bool, bias: bool) -> Result<LayerNorm> {
        check_eps("LayerNorm", eps)?;
        Ok(LayerNorm {
            weight: affine.then(|| Array::ones::<f32>(&[dims])).transpose()?,
            bias: (affine && bias)
                .then(|| Array::zeros::<f32>(&[dims]))
                .transpose()?,
            eps,
            state: ModuleState::new(),
        })
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Array) -> Result<Array> {
        fast::layer_norm(x, self.weight.as_ref(), self.bias.as_ref(), self.eps)
    }
}

/// Root-mean-square normalization over the last axis, scaled by `weight` (ones at start;
/// MLX's `nn.RMSNorm`).
#[derive(Parameters, Clone, Debug)]
pub struct RMSNorm {
    /// `[dims]`.
    pub weight: Array,
    #[param(skip)]
    eps: f32,
    #[param(state)]
    state: ModuleState,
}

impl RMSNorm {
    /// An RMS norm with `eps = 1e-5`.
    pub fn new(dims: i32) -> Result<RMSNorm> {
        RMSNorm::with_eps(dims, 1e-5)
    }

    /// An RMS norm with the given `eps`.
    pub fn with_eps(dims: i32, eps: f32) -> Result<RMSNorm> {
        check_eps("RMSNorm", eps)?;
        Ok(RMSNorm {
            weight: Array::ones::<f32>(&[dims])?,
            eps,
            state: ModuleState::new(),
        })
    }
}

impl Module for RMSNorm {
    fn forward(&self, x: &Array) -> Result<Array> {
        fast::rms_norm(x, Some(&self.weight), self.eps)
    }
}

/// Group normalization over `[N, ..., C]` inputs: the channels are split into `num_groups`
/// groups, each normalized over its channels and all spatial positions (MLX's `nn.GroupNorm`).
///
/// MLX's default groups channels *strided* (channel `c` belongs to group `c % num_groups`);
/// `pytorch_compatible` groups consecutive channels, as PyTorch does.
#[derive(Parameters, Clone, Debug)]
pub struct GroupNorm {
    /// `[dims]`, when the layer is affine.
    pub weight: Option<Array>,
    /// `[dims]`, when the layer is affine.
    pub bias: Option<Array>,
    #[param(skip)]
    num_groups: i32,
    #[param(skip)]
    eps: f32,
    #[param(skip)]
    pytorch_compatible: bool,
    #[param(state)]
    state: ModuleState,
}

impl GroupNorm {
    /// An affine group norm with `eps = 1e-5` and MLX's channel grouping.
    pub fn new(num_groups: i32, dims: i32) -> Result<GroupNorm> {
        GroupNorm::with_options(num_groups, dims, 1e-5, true, false)
    }

    /// A group norm with every option.
    pub fn with_options(
        num_groups: i32,
        dims: i32,
        eps: f32,
        affine: bool,
        pytorch_compatible: bool,
    ) -> Result<GroupNorm> {
        check_eps("GroupNorm", eps)?;
        if num_groups <= 0 || dims <= 0 || dims % num_groups != 0 {
            return Err(Error::InvalidArgument(format!(
                "[GroupNorm] dims ({dims}) must be a positive multiple of num_groups \
                 ({num_groups})"
            )));
        }
        Ok(GroupNorm {
            weight: affine.then(|| Array::ones::<f32>(&[dims])).transpose()?,
            bias: affine.then(|| Array::zeros::<f32>(&[dims])).transpose()?,
            num_groups,
            eps,
            pytorch_compatible,
            state: ModuleState::new(),
        })
    }
}

impl Module for GroupNorm {
    fn forward(&self, x: &Array) -> Result<Array> {
        let shape = x.shape().to_vec();
        if shape.len() < 2 {
            return Err(Error::InvalidArgument(format!(
                "[GroupNorm] expects inputs [N, ..., C], got shape {shape:?}"
            )));
        }
        let (batch, dims, g) = (shape[0], shape[shape.len() - 1], self.num_groups);
        let normalized = if self.pytorch_compatible {
            let grouped = x
                .reshape(&[batch, -1, g, dims / g])?
                .transpose(Some(&[0, 2, 1, 3]))?
                .reshape(&[batch, g, -1])?;
            let normed = fast::layer_norm(&grouped, None, None, self.eps)?;
            normed
                .reshape(&[batch, g, -1, dims / g])?
                .transpose(Some(&[0, 2, 1, 3]))?
                .reshape(&shape)?
        } else {
            let grouped = x.reshape(&[batch, -1, g])?;
            let mean = grouped.mean(Some(&[1]), true)?;
            let var = grouped.var(Some(&[1]), true, 0)?;
            let centered = &grouped - &mean;
            (&centered * &(&var + f64::from(self.eps)).rsqrt()?).reshape(&shape)?
        };
        affine(normalized, self.weight.as_ref(), self.bias.as_ref())
    }
}

/// Instance normalization over `[N, ..., C]` inputs: each channel of each sample normalized
/// over its spatial positions (MLX's `nn.InstanceNorm`, not affine by default).
#[derive(Parameters, Clone, Debug)]
pub struct InstanceNorm {
    /// `[dims]`, when the layer is affine.
    pub weight: Option<Array>,
    /// `[dims]`, when the layer is affine.
    pub bias: Option<Array>,
    #[param(skip)]
    eps: f32,
    #[param(state)]
    state: ModuleState,
}

impl InstanceNorm {
    /// An instance norm without affine parameters, `eps = 1e-5`.
    pub fn new(dims: i32) -> Result<InstanceNorm> {
        InstanceNorm::with_options(dims, 1e-5, false)
    }

    /// An instance norm; `affine` adds `weight` and `bias`.
    pub fn with_options(dims: i32, eps: f32, affine: bool) -> Result<InstanceNorm> {
        check_eps("InstanceNorm", eps)?;
        Ok(InstanceNorm {
            weight: affine.then(|| Array::ones::<f32>(&[dims])).transpose()?,
            bias: affine.then(|| Array::zeros::<f32>(&[dims])).transpose()?,
            eps,
            state: ModuleState::new(),
        })
    }
}

impl Module for InstanceNorm {
    fn forward(&self, x: &Array) -> Result<Array> {
        if x.ndim() < 3 {
            return Err(Error::InvalidArgument(format!(
                "[InstanceNorm] expects inputs [N, ..., C] with at least 3 dimensions, got \
                 shape {:?}",
                x.shape()
            )));
        }
        let spatial: Vec<i32> = (1..x.ndim() as i32 - 1).collect();
        let mean = x.mean(Some(&spatial), true)?;
        let var = x.var(Some(&spatial), true, 0)?;
        let normalized = &(x - &mean) * &(&var + f64::from(self.eps)).rsqrt()?;
        affine(normalized, self.weight.as_ref(), self.bias.as_ref())
    }
}

/// Batch normalization over `[N, C]`, `[N, L, C]` or `[N, H, W, C]` inputs (MLX's
/// `nn.BatchNorm`): each channel normalized over every other axis.
///
/// In training mode the batch's statistics are used; in evaluation mode the running ones.
/// [`Module::forward`] cannot change the layer, so it does not update the running statistics:
/// call [`BatchNorm::forward_train`] in a training step to normalize *and* update them (with
/// `momentum`, the unbiased batch variance, as Python MLX does). `running_mean` and
/// `running_var` are frozen parameters: saved and loaded, never trained.
#[derive(Parameters, Clone, Debug)]
pub struct BatchNorm {
    /// `[num_features]`, when the layer is affine.
    pub weight: Option<Array>,
    /// `[num_features]`, when the layer is affine.
    pub bias: Option<Array>,
    /// `[num_features]`, when the layer tracks running statistics.
    #[param(frozen)]
    pub running_mean: Option<Array>,
    /// `[num_features]`, when the layer tracks running statistics.
    #[param(frozen)]
    pub running_var: Option<Array>,
    #[param(skip)]
    eps: f32,
    #[param(skip)]
    momentum: f32,
    #[param(state)]
    state: ModuleState,
}

impl BatchNorm {
    /// An affine batch norm tracking running statistics, `eps = 1e-5`, `momentum = 0.1`.
    pub fn new(num_features: i32) -> Result<BatchNorm> {
        BatchNorm::with_options(num_features, 1e-5, 0.1, true, true)
    }

    /// A batch norm with every option.
    pub fn with_options(
        num_features: i32,
        eps: f32,
        momentum: f32,
        affine: bool,
        track_running_stats: bool,
    ) -> Result<BatchNorm> {
        check_eps("BatchNorm", eps)?;
        let ones = || Array::ones::<f32>(&[num_features]);
        let zeros = || Array::zeros::<f32>(&[num_features]);
        Ok(BatchNorm {
            weight: affine.then(ones).transpose()?,
            bias: affine.then(zeros).transpose()?,
            running_mean: track_running_stats.then(zeros).transpose()?,
            running_var: track_running_stats.then(ones).transpose()?,
            eps,
            momentum,
            state: ModuleState::new(),
        })
    }

    fn check_rank(x: &Array) -> Result<()> {
        if (2..=4).contains(&x.ndim()) {
            return Ok(());
        }
        Err(Error::InvalidArgument(format!(
            "[BatchNorm] expects inputs with 2, 3 or 4 dimensions, got shape {:?}",
            x.shape()
        )))
    }

    fn batch_stats(&self, x: &Array, ddof: i32) -> Result<(Array, Array)> {
        BatchNorm::check_rank(x)?;
        let axes: Vec<i32> = (0..x.ndim() as i32 - 1).collect();
        let per_channel: i32 = x.shape()[..x.ndim() - 1].iter().product();
        if self.training() && per_channel == 1 {
            return Err(Error::InvalidArgument(
                "[BatchNorm] training needs more than one value per channel".into(),
            ));
        }
        Ok((
            x.mean(Some(&axes), false)?,
            x.var(Some(&axes), false, ddof)?,
        ))
    }

    fn normalize(&self, x: &Array, mean: &Array, var: &Array) -> Result<Array> {
        let normalized = &(x - mean) * &(var + f64::from(self.eps)).rsqrt()?;
        affine(normalized, self.weight.as_ref(), self.bias.as_ref())
    }

    /// Normalizes `x` and, in training mode with running statistics, updates them:
    /// `running = (1 - momentum) * running + momentum * batch`.
    pub fn forward_train(&mut self, x: &Array) -> Result<Array> {
        if !self.training() || self.running_mean.is_none() {
            return self.forward(x);
        }
        let (mean, var) = self.batch_stats(x, 0)?;
        let (_, unbiased) = self.batch_stats(x, 1)?;
        let mu = f64::from(self.momentum);
        let blend = |old: &Array, new: &Array| &(old * (1.0 - mu)) + &(new * mu);
        if let (Some(rm), Some(rv)) = (&mut self.running_mean, &mut self.running_var) {
            *rm = blend(rm, &mean);
            *rv = blend(rv, &unbiased);
        }
        self.normalize(x, &mean, &var)
    }
}

impl Module for BatchNorm {
    fn forward(&self, x: &Array) -> Result<Array> {
        match (&self.running_mean, &self.running_var) {
            (Some(mean), Some(var)) if !self.training() => {
                BatchNorm::check_rank(x)?;
                self.normalize(x, mean, var)
            }
            _ => {
                let (mean, var) = self.batch_stats(x, 0)?;
                self.normalize(x, &mean, &var)
            }
        }
    }
}

/// Zeroes the input in proportion `p` during training (Bernoulli mask from MLX's global random
/// state) and scales the rest by `1 / (1 - p)`; the identity in evaluation mode
/// (MLX's `nn.Dropout`).
#[derive(Parameters, Clone, Debug)]
pub struct Dropout {
    #[param(skip)]
    p: f32,
    #[param(skip)]
    broadcast: Broadcast,
    #[param(state)]
    state: ModuleState,
}

/// Which axes a dropout mask spans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Broadcast {
    /// Every element independently.
    None,
    /// Whole channels of `[N, H, W, C]` / `[H, W, C]` inputs.
    Channels2d,
    /// Whole channels of `[N, D, H, W, C]` / `[D, H, W, C]` inputs.
    Channels3d,
}

impl Dropout {
    fn make(p: f32, broadcast: Broadcast) -> Result<Dropout> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::InvalidArgument(format!(
                "[Dropout] the probability must be in [0, 1), got {p}"
            )));
        }
        Ok(Dropout {
            p,
            broadcast,
            state: ModuleState::new(),
        })
    }

    /// Element-wise dropout with probability `p` (MLX's `nn.Dropout`; Python's default is 0.5).
    pub fn new(p: f32) -> Result<Dropout> {
        Dropout::make(p, Broadcast::None)
    }

    /// Drops whole channels of `[N, H, W, C]` or `[H, W, C]` inputs (MLX's `nn.Dropout2d`).
    pub fn new_2d(p: f32) -> Result<Dropout> {
        Dropout::make(p, Broadcast::Channels2d)
    }

    /// Drops whole channels of `[N, D, H, W, C]` or `[D, H, W, C]` inputs (MLX's
    /// `nn.Dropout3d`).
    pub fn new_3d(p: f32) -> Result<Dropout> {
        Dropout::make(p, Broadcast::Channels3d)
    }

    /// The drop probability.
    pub fn p(&self) -> f32 {
        self.p
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Array) -> Result<Array> {
        let mut mask_shape = x.shape().to_vec();
        let (spatial, ranks) = match self.broadcast {
            Broadcast::None => (0, None),
            Broadcast::Channels2d => (2, Some([3, 4])),
            Broadcast::Channels3d => (3, Some([4, 5])),
        };
        if let Some(ranks) = ranks
            && !ranks.contains(&x.ndim())
        {
            return Err(Error::InvalidArgument(format!(
                "[Dropout{spatial}d] expects inputs with {} or {} dimensions, got shape {:?}",
                ranks[0],
                ranks[1],
                x.shape()
            )));
        }
        if self.p == 0.0 || !self.training() {
            return Ok(x.clone());
        }
        let n = mask_shape.len();
        for d in mask_shape[n - 1 - spatial..n - 1].iter_mut() {
            *d = 1;
        }
        let keep = 1.0 - self.p;
        let mask = crate::random::bernoulli(&Array::scalar(keep), Some(&mask_shape), None)?;
        let kept = ops::multiply(&mask.astype(x.dtype())?, x)?;
        Ok(&kept * (1.0 / f64::from(keep)))
    }
}
