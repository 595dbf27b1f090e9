//! Spatial upsampling by nearest neighbour, linear or cubic interpolation (MLX's
//! `nn.Upsample` and the functions behind it).
//!
//! The sampling positions and weights are computed on the host in `f32`, with the same
//! operations Python MLX uses, and applied one spatial axis at a time (interpolation is
//! separable), so results agree with Python MLX up to float rounding.

use crate::Parameters;
use crate::array::Array;
use crate::error::{Error, Result};
use crate::nn::Module;
use crate::ops;
use crate::params::ModuleState;

/// How [`Upsample`] computes the new samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum UpsampleMode {
    /// Each output takes the value of the nearest input (Python's `"nearest"`, the default).
    #[default]
    Nearest,
    /// Linear interpolation along every spatial axis: bilinear for images, trilinear for
    /// volumes (Python's `"linear"`).
    Linear,
    /// Cubic (Keys) interpolation along every spatial axis, from the four nearest inputs
    /// (Python's `"cubic"`).
    Cubic,
}

impl UpsampleMode {
    /// Python's name of the mode: `"nearest"`, `"linear"` or `"cubic"`.
    pub fn name(self) -> &'static str {
        match self {
            UpsampleMode::Nearest => "nearest",
            UpsampleMode::Linear => "linear",
            UpsampleMode::Cubic => "cubic",
        }
    }
}

/// The multiplier of each spatial size: one for all spatial axes, or one per axis (then the
/// input must have exactly that many spatial axes).
///
/// Built from an `f64`, `f32` or `i32` (one for all axes), or from an array, slice or `Vec` of
/// `f64` (one per axis).
#[derive(Clone, Debug, PartialEq)]
pub enum ScaleFactor {
    /// The same factor for every spatial axis.
    All(f64),
    /// One factor per spatial axis, in order.
    PerAxis(Vec<f64>),
}

impl ScaleFactor {
    /// The factors for an input with `dims` spatial axes; errors if a per-axis list has
    /// another length.
    pub fn per_axis(&self, dims: usize) -> Result<Vec<f64>> {
        match self {
            ScaleFactor::All(s) => Ok(vec![*s; dims]),
            ScaleFactor::PerAxis(v) if v.len() == dims => Ok(v.clone()),
            ScaleFactor::PerAxis(v) => Err(Error::InvalidArgument(format!(
                "[Upsample] one scale per spatial dimension is required, but scale_factor is \
                 {v:?} and the input has {dims} spatial dimensions"
            ))),
        }
    }

    fn values(&self) -> &[f64] {
        match self {
            ScaleFactor::All(s) => std::slice::from_ref(s),
            ScaleFactor::PerAxis(v) => v,
        }
    }
}

impl From<f64> for ScaleFactor {
    fn from(s: f64) -> Self {
        ScaleFactor::All(s)
    }
}

impl From<f32> for ScaleFactor {
    fn from(s: f32) -> Self {
        ScaleFactor::All(f64::from(s))
    }
}

impl From<i32> for ScaleFactor {
    fn from(s: i32) -> Self {
        ScaleFactor::All(f64::from(s))
    }
}

impl<const K: usize> From<[f64; K]> for ScaleFactor {
    fn from(s: [f64; K]) -> Self {
        ScaleFactor::PerAxis(s.to_vec())
    }
}

impl From<&[f64]> for ScaleFactor {
    fn from(s: &[f64]) -> Self {
        ScaleFactor::PerAxis(s.to_vec())
    }
}

impl From<Vec<f64>> for ScaleFactor {
    fn from(s: Vec<f64>) -> Self {
        ScaleFactor::PerAxis(s)
    }
}

/// Upsamples the spatial axes of a channels-last input (`[batch, spatial..., channels]`, any
/// number of spatial axes) by `scale_factor` (MLX's `nn.Upsample`).
///
/// An axis of size `n` becomes `floor(scale * n)` long. Factors below 1 shrink it; factors need
/// not be integers. The modes:
///
/// - [`UpsampleMode::Nearest`] keeps the input's dtype. With integer factors every input is
///   repeated `scale` times along each axis.
/// - [`UpsampleMode::Linear`] and [`UpsampleMode::Cubic`] interpolate with `float32` weights,
///   so integer and half-precision inputs give `float32` outputs, as in Python. Positions
///   outside the input take the border values.
///
/// With `align_corners`, the first and last outputs of each axis sit exactly on the first and
/// last inputs; without it (the default), the input and output samples are centered in equal
/// cells spanning the same extent. With `antialias` (linear and cubic, without
/// `align_corners`), shrinking widens the interpolation kernel by `1 / scale` so it acts as a
/// low-pass filter, and the cubic kernel uses `a = -0.5` instead of `-0.75`.
///
/// ```
/// use mlx::nn::{Module, Upsample, UpsampleMode};
/// use mlx::Array;
///
/// let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[1, 2, 2, 1])?;
/// let nearest = Upsample::new(2.0, UpsampleMode::Nearest)?;
/// assert_eq!(
///     nearest.forward(&x)?.to_vec::<f32>()?,
///     [1., 1., 2., 2., 1., 1., 2., 2., 3., 3., 4., 4., 3., 3., 4., 4.]
/// );
/// let corners = Upsample::new(1.5, UpsampleMode::Linear)?.with_align_corners(true)?;
/// let y = corners.forward(&x)?;
/// assert_eq!(y.shape(), &[1, 3, 3, 1]);
/// assert_eq!(y.to_vec::<f32>()?, [1.0, 1.5, 2.0, 2.0, 2.5, 3.0, 3.0, 3.5, 4.0]);
/// # Ok::<(), mlx::Error>(())
/// ```
#[derive(Parameters, Clone, Debug)]
pub struct Upsample {
    #[param(skip)]
    scale_factor: ScaleFactor,
    #[param(skip)]
    mode: UpsampleMode,
    #[param(skip)]
    align_corners: bool,
    #[param(skip)]
    antialias: bool,
    #[param(state)]
    state: ModuleState,
}

impl Upsample {
    /// An upsampling layer without `align_corners` or `antialias` (Python's defaults). Errors
    /// unless every scale factor is positive and finite.
    pub fn new(scale_factor: impl Into<ScaleFactor>, mode: UpsampleMode) -> Result<Upsample> {
        let scale_factor = scale_factor.into();
        check_scales(scale_factor.values())?;
        Ok(Upsample {
            scale_factor,
            mode,
            align_corners: false,
            antialias: false,
            state: ModuleState::new(),
        })
    }

    /// The layer with corners aligned or not (see [`Upsample`]); only linear and cubic
    /// interpolation use it. Errors when combined with `antialias`.
    pub fn with_align_corners(mut self, align_corners: bool) -> Result<Upsample> {
        check_antialias(align_corners, self.antialias)?;
        self.align_corners = align_corners;
        Ok(self)
    }

    /// The layer with antialiasing on or off (see [`Upsample`]). Errors for
    /// [`UpsampleMode::Nearest`] and when combined with `align_corners`.
    pub fn with_antialias(mut self, antialias: bool) -> Result<Upsample> {
        if antialias && self.mode == UpsampleMode::Nearest {
            return Err(Error::InvalidArgument(
                "[Upsample] antialiasing is not supported for nearest neighbor upsampling".into(),
            ));
        }
        check_antialias(self.align_corners, antialias)?;
        self.antialias = antialias;
        Ok(self)
    }

    /// The scale factor(s).
    pub fn scale_factor(&self) -> &ScaleFactor {
        &self.scale_factor
    }

    /// The interpolation mode.
    pub fn mode(&self) -> UpsampleMode {
        self.mode
    }

    /// Whether corners are aligned.
    pub fn align_corners(&self) -> bool {
        self.align_corners
    }

    /// Whether shrinking is antialiased.
    pub fn antialias(&self) -> bool {
        self.antialias
    }
}

impl Module for Upsample {
    fn forward(&self, x: &Array) -> Result<Array> {
        if x.ndim() < 3 {
            return Err(Error::InvalidArgument(format!(
                "[Upsample] the input needs at least one spatial dimension (3 dimensions: \
                 batch, spatial..., channels), got shape {:?}",
                x.shape()
            )));
        }
        let scales = self.scale_factor.per_axis(x.ndim() - 2)?;
        match self.mode {
            UpsampleMode::Nearest => upsample_nearest(x, &scales),
            UpsampleMode::Linear => upsample_linear(x, &scales, self.align_corners, self.antialias),
            UpsampleMode::Cubic => upsample_cubic(x, &scales, self.align_corners, self.antialias),
        }
    }
}

fn check_scales(scales: &[f64]) -> Result<()> {
    if let Some(s) = scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(Error::InvalidArgument(format!(
            "[Upsample] scale factors must be positive and finite, got {s}"
        )));
    }
    Ok(())
}

fn check_antialias(align_corners: bool, antialias: bool) -> Result<()> {
    if align_corners && antialias {
        return Err(Error::InvalidArgument(
            "[Upsample] antialias with align_corners is not supported; use align_corners=false \
             for antialiased interpolation"
                .into(),
        ));
    }
    Ok(())
}

/// The spatial sizes of `x` and their new sizes under `scales`, after checking both.
fn sizes(x: &Array, scales: &[f64]) -> Result<Vec<(i32, i32)>> {
    if x.ndim() < 3 || x.ndim() - 2 != scales.len() {
        return Err(Error::InvalidArgument(format!(
            "[Upsample] one scale per spatial dimension is required, but got {} scales for an \
             input of shape {:?} (batch, spatial..., channels)",
            scales.len(),
            x.shape()
        )));
    }
    check_scales(scales)?;
    let spatial = &x.shape()[1..x.ndim() - 1];
    spatial
        .iter()
        .zip(scales)
        .map(|(&n, &s)| {
            let m = (s * f64::from(n)).floor();
            if m > f64::from(i32::MAX) || (m < 1.0 && n > 0) {
                return Err(Error::InvalidArgument(format!(
                    "[Upsample] scale factor {s} turns a spatial size of {n} into {m}"
                )));
            }
            Ok((n, m as i32))
        })
        .collect()
}

/// Nearest-neighbour upsampling of `x` (`[batch, spatial..., channels]`) by one scale factor
/// per spatial axis (MLX's `upsample_nearest`). Keeps `x`'s dtype.
///
/// With integer factors every input is repeated `scale` times along its axis. Otherwise output
/// `i` of an axis growing from `n` to `m` takes input `round((i + 0.5) n / m - 0.5)` (ties to
/// even), and of a shrinking axis input `floor(i n / m)`.
pub fn upsample_nearest(x: &Array, scale_factor: &[f64]) -> Result<Array> {
    let sizes = sizes(x, scale_factor)?;
    if scale_factor.iter().all(|s| s.fract() == 0.0) {
        // Insert a broadcast axis after each spatial axis and merge the pairs.
        let shape = x.shape();
        let (mut expanded, mut target, mut merged) = (vec![shape[0]], vec![shape[0]], vec![]);
        merged.push(shape[0]);
        for (&(n, m), &s) in sizes.iter().zip(scale_factor) {
            expanded.extend([n, 1]);
            target.extend([n, s as i32]);
            merged.push(m);
        }
        let channels = shape[shape.len() - 1];
        expanded.push(channels);
        target.push(channels);
        merged.push(channels);
        return x
            .reshape(&expanded)?
            .broadcast_to(&target)?
            .reshape(&merged);
    }
    let mut out = x.clone();
    for (axis, &(n, m)) in sizes.iter().enumerate() {
        let ratio = (f64::from(n) / f64::from(m)) as f32;
        let indices: Vec<i32> = (0..m)
            .map(|i| {
                let i = i as f32;
                if m > n {
                    ((i + 0.5) * ratio - 0.5).round_ties_even().max(0.0) as i32
                } else {
                    (i * ratio) as i32
                }
            })
            .collect();
        let indices = Array::from_slice(&indices, &[m])?;
        out = ops::take(&out, &indices, Some(axis as i32 + 1))?;
    }
    Ok(out)
}

/// Linear (bilinear, trilinear, ...) upsampling of `x` (`[batch, spatial..., channels]`) by one
/// scale factor per spatial axis (MLX's `upsample_linear`); see [`Upsample`] for
/// `align_corners` and `antialias`, which cannot both be set. Gives `float32` for integer and
/// half-precision inputs.
pub fn upsample_linear(
    x: &Array,
    scale_factor: &[f64],
    align_corners: bool,
    antialias: bool,
) -> Result<Array> {
    check_antialias(align_corners, antialias)?;
    let kernel = if antialias {
        Kernel::Antialiased {
            kernel: triangle,
            radius: 1.0,
        }
    } else {
        Kernel::Linear
    };
    interpolate(x, scale_factor, align_corners, kernel)
}

/// Cubic (bicubic, ...) upsampling of `x` (`[batch, spatial..., channels]`) by one scale factor
/// per spatial axis (MLX's `upsample_cubic`), with the Keys kernel (`a = -0.75`, or `-0.5` with
/// `antialias`); see [`Upsample`] for `align_corners` and `antialias`, which cannot both be
/// set. Positions outside the input take the border values. Gives `float32` for integer and
/// half-precision inputs.
pub fn upsample_cubic(
    x: &Array,
    scale_factor: &[f64],
    align_corners: bool,
    antialias: bool,
) -> Result<Array> {
    check_antialias(align_corners, antialias)?;
    let kernel = if antialias {
        Kernel::Antialiased {
            kernel: keys_half,
            radius: 2.0,
        }
    } else {
        Kernel::Cubic
    };
    interpolate(x, scale_factor, align_corners, kernel)
}

/// The interpolation scheme of one axis.
#[derive(Clone, Copy)]
enum Kernel {
    /// The two neighbours, weighted by distance.
    Linear,
    /// The four neighbours, with the Keys kernel, `a = -0.75`.
    Cubic,
    /// A normalized filter `kernel` of support `radius` (in input samples), widened by
    /// `1 / scale` when shrinking.
    Antialiased { kernel: fn(f32) -> f32, radius: f64 },
}

/// One tap of an interpolation: for each output position, the input index it reads and the
/// weight it gets.
struct Tap {
    indices: Vec<i32>,
    weights: Vec<f32>,
}

/// Interpolates `x` one spatial axis at a time with the taps of `kernel`.
fn interpolate(x: &Array, scales: &[f64], align_corners: bool, kernel: Kernel) -> Result<Array> {
    let sizes = sizes(x, scales)?;
    let ndim = x.ndim();
    let mut out = x.clone();
    for (axis, (&(n, m), &scale)) in sizes.iter().zip(scales).enumerate() {
        let positions = positions(n, m, scale, align_corners);
        let taps = match kernel {
            Kernel::Linear => linear_taps(&positions, n),
            Kernel::Cubic => cubic_taps(&positions, n),
            Kernel::Antialiased { kernel, radius } => {
                antialiased_taps(&positions, n, scale, kernel, radius)
            }
        };
        let axis = axis as i32 + 1;
        let mut weight_shape = vec![1; ndim];
        weight_shape[axis as usize] = m;
        let mut sum: Option<Array> = None;
        for tap in taps {
            let indices = Array::from_slice(&tap.indices, &[m])?;
            let weights = Array::from_slice(&tap.weights, &weight_shape)?;
            let term = ops::multiply(&ops::take(&out, &indices, Some(axis))?, &weights)?;
            sum = Some(match sum {
                Some(s) => ops::add(&s, &term)?,
                None => term,
            });
        }
        out = sum.expect("every kernel has at least one tap");
    }
    Ok(out)
}

/// Where each of the `m` outputs of an axis of `n` inputs samples the input, in input
/// coordinates (in `f32`, as Python MLX computes them).
fn positions(n: i32, m: i32, scale: f64, align_corners: bool) -> Vec<f32> {
    if align_corners {
        let step = (f64::from(n - 1) / f64::from((m - 1).max(1))) as f32;
        (0..m).map(|i| i as f32 * step).collect()
    } else {
        let step = 1.0 / scale;
        let start = (f64::from(m - 1) * step - f64::from(n) + 1.0) / 2.0;
        let (step, start) = (step as f32, start as f32);
        (0..m).map(|i| i as f32 * step - start).collect()
    }
}

/// The index clamped into `[0, n - 1]`.
fn clamp_index(i: f32, n: i32) -> i32 {
    i.clamp(0.0, (n - 1) as f32) as i32
}

fn linear_taps(positions: &[f32], n: i32) -> Vec<Tap> {
    let (mut left, mut right) = (Tap::new(positions.len()), Tap::new(positions.len()));
    for &p in positions {
        let p = p.clamp(0.0, (n - 1) as f32);
        let (lo, hi) = (p.floor(), p.ceil());
        let w = p - lo;
        left.push(lo as i32, 1.0 - w);
        right.push(hi as i32, w);
    }
    vec![left, right]
}

fn cubic_taps(positions: &[f32], n: i32) -> Vec<Tap> {
    const A: f32 = -0.75;
    let near = |x: f32| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let far = |x: f32| (((x - 5.0) * x + 8.0) * x - 4.0) * A;
    let mut taps: Vec<Tap> = (0..4).map(|_| Tap::new(positions.len())).collect();
    for &p in positions {
        let l1 = p.floor();
        let r1 = (p + 1.0).floor();
        let (l2, r2) = (l1 - 1.0, r1 + 1.0);
        taps[0].push(clamp_index(l1, n), near((p - l1).abs()));
        taps[1].push(clamp_index(r1, n), near((p - r1).abs()));
        taps[2].push(clamp_index(l2, n), far((p - l2).abs()));
        taps[3].push(clamp_index(r2, n), far((p - r2).abs()));
    }
    taps
}

fn antialiased_taps(
    positions: &[f32],
    n: i32,
    scale: f64,
    kernel: fn(f32) -> f32,
    radius: f64,
) -> Vec<Tap> {
    let widen = if scale < 1.0 { 1.0 / scale } else { 1.0 };
    let reach = (radius * widen).ceil() as i32 + 1;
    let offsets = -reach + 1..reach;
    let mut taps: Vec<Tap> = offsets.clone().map(|_| Tap::new(positions.len())).collect();
    let widen32 = widen as f32;
    let mut raw = Vec::with_capacity(taps.len());
    for &p in positions {
        raw.clear();
        for k in offsets.clone() {
            let idx = p.floor() + k as f32;
            let w = kernel((p - idx).abs() / widen32);
            let inside = idx >= 0.0 && idx < n as f32;
            raw.push((idx, if inside { w } else { 0.0 }));
        }
        let total: f32 = raw.iter().map(|(_, w)| w).sum();
        let total = if total > 0.0 { total } else { 1.0 };
        for (tap, &(idx, w)) in taps.iter_mut().zip(&raw) {
            tap.push(clamp_index(idx, n), w / total);
        }
    }
    taps
}

/// The triangle (linear) filter, support 1.
fn triangle(x: f32) -> f32 {
    (1.0 - x).max(0.0)
}

/// The Keys cubic filter with `a = -0.5` (the antialiased cubic kernel), support 2.
fn keys_half(x: f32) -> f32 {
    const A: f32 = -0.5;
    if x <= 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x <= 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

impl Tap {
    fn new(capacity: usize) -> Tap {
        Tap {
            indices: Vec::with_capacity(capacity),
            weights: Vec::with_capacity(capacity),
        }
    }

    fn push(&mut self, index: i32, weight: f32) {
        self.indices.push(index);
        self.weights.push(weight);
    }
}
