//! Positional encodings: rotary (RoPE), sinusoidal and ALiBi.

use crate::Parameters;
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::fast::{self, RopeOffset, RopeOptions};
use crate::nn::Module;
use crate::ops;
use crate::params::ModuleState;

/// Rotary positional encoding over the first `dims` features of the last axis, positions
/// along the second-to-last axis (MLX's `nn.RoPE`, on `fast::rope`).
#[derive(Parameters, Clone, Debug)]
pub struct RoPE {
    #[param(skip)]
    dims: i32,
    #[param(skip)]
    traditional: bool,
    #[param(skip)]
    base: f32,
    #[param(skip)]
    scale: f32,
    #[param(state)]
    state: ModuleState,
}

impl RoPE {
    /// RoPE with Python's defaults: not traditional (rotates the two halves of the features
    /// rather than consecutive pairs), base 10000, scale 1.
    pub fn new(dims: i32) -> RoPE {
        RoPE::with_options(dims, false, 10000.0, 1.0)
    }

    /// RoPE with every option.
    pub fn with_options(dims: i32, traditional: bool, base: f32, scale: f32) -> RoPE {
        RoPE {
            dims,
            traditional,
            base,
            scale,
            state: ModuleState::new(),
        }
    }

    /// Applies the encoding with positions starting at `offset` (a number, or an integer array
    /// with one offset per batch entry), as when decoding with a key/value cache.
    pub fn forward_at<'a>(&self, x: &Array, offset: impl Into<RopeOffset<'a>>) -> Result<Array> {
        let options = RopeOptions::default()
            .with_traditional(self.traditional)
            .with_base(self.base)
            .with_scale(self.scale)
            .with_offset(offset);
        fast::rope(x, self.dims, &options)
    }
}

impl Module for RoPE {
    fn forward(&self, x: &Array) -> Result<Array> {
        self.forward_at(x, 0)
    }
}

/// Sinusoidal encoding of (possibly fractional) positions: the input `[...]` becomes
/// `[..., dims]`, `sin` then `cos` of the positions times geometrically spaced frequencies
/// between `min_freq` and `max_freq` (MLX's `nn.SinusoidalPositionalEncoding`).
#[derive(Parameters, Clone, Debug)]
pub struct SinusoidalPositionalEncoding {
    #[param(skip)]
    sigmas: Array,
    #[param(skip)]
    scale: f64,
    #[param(skip)]
    cos_first: bool,
    #[param(state)]
    state: ModuleState,
}

impl SinusoidalPositionalEncoding {
    /// The encoding with Python's defaults: frequencies from 1e-4 to 1, scale `√(2/dims)`,
    /// sine first, frequencies not multiplied by 2π.
    pub fn new(dims: i32) -> Result<Self> {
        SinusoidalPositionalEncoding::with_options(dims, 1e-4, 1.0, None, false, false)
    }

    /// The encoding with every option; `scale` `None` means `√(2/dims)`, `full_turns`
    /// multiplies the frequencies by 2π.
    pub fn with_options(
        dims: i32,
        min_freq: f64,
        max_freq: f64,
        scale: Option<f64>,
        cos_first: bool,
        full_turns: bool,
    ) -> Result<Self> {
        if dims <= 0 || dims % 2 != 0 {
            return Err(Error::InvalidArgument(format!(
                "[SinusoidalPositionalEncoding] dims must be positive and even, got {dims}"
            )));
        }
        let half = dims / 2;
        // From 1 down to 0 over the frequencies (a single frequency sits at 1).
        let one_zero: Vec<f32> = (0..half)
            .map(|i| {
                if half == 1 {
                    1.0
                } else {
                    1.0 - i as f32 / (half - 1) as f32
                }
            })
            .collect();
        let (lo, hi) = (min_freq.ln(), max_freq.ln());
        let exponents = &(&Array::from_slice(&one_zero, &[half])? * (hi - lo)) + lo;
        let mut sigmas = exponents.exp()?;
        if full_turns {
            sigmas = &sigmas * (2.0 * std::f64::consts::PI);
        }
        Ok(SinusoidalPositionalEncoding {
            sigmas,
            scale: scale.unwrap_or((2.0 / f64::from(dims)).sqrt()),
            cos_first,
            state: ModuleState::new(),
        })
    }
}

impl Module for SinusoidalPositionalEncoding {
    fn forward(&self, x: &Array) -> Result<Array> {
        let y = &x.expand_dims(&[-1])? * &self.sigmas;
        let (sin, cos) = (y.sin()?, y.cos()?);
        let parts = if self.cos_first {
            [cos, sin]
        } else {
            [sin, cos]
        };
        let y = ops::concatenate(&parts, Some(-1))?;
        Ok(if self.scale == 1.0 {
            y
        } else {
            &y * self.scale
        })
    }
}

/// Attention with linear biases: adds `-slope_h · |i - j|` to the attention scores of head `h`
/// (MLX's `nn.ALiBi`).
#[derive(Parameters, Clone, Debug, Default)]
pub struct ALiBi {
    #[param(state)]
    state: ModuleState,
}

impl ALiBi {
    /// The ALiBi layer (it has no parameters).
    pub fn new() -> ALiBi {
        ALiBi::default()
    }

    /// The per-head slopes, shape `[num_heads, 1, 1]`: a geometric sequence starting at
    /// `2^(-8/n)` for `n` a power of two, interleaved from the next power of two otherwise.
    pub fn slopes(num_heads: i32, dtype: Dtype) -> Result<Array> {
        fn slopes_of(n: i32) -> Vec<f64> {
            let log2 = f64::from(n).log2();
            if log2.fract() == 0.0 {
                let start = 2f64.powf(-(2f64.powf(-(log2 - 3.0))));
                (0..n).map(|i| start * start.powi(i)).collect()
            } else {
                let closest = 2i32.pow(log2.floor() as u32);
                let mut s = slopes_of(closest);
                s.extend(
                    slopes_of(2 * closest)
                        .into_iter()
                        .step_by(2)
                        .take((n - closest) as usize),
                );
                s
            }
        }
        if num_heads <= 0 {
            return Err(Error::InvalidArgument(format!(
                "[ALiBi] num_heads must be positive, got {num_heads}"
            )));
        }
        // Built in float32: float64 arrays are CPU-only in MLX.
        let slopes: Vec<f32> = slopes_of(num_heads).into_iter().map(|s| s as f32).collect();
        Array::from_slice(&slopes, &[num_heads, 1, 1])?.astype(dtype)
    }

    /// The bias matrix `[1, num_heads, q_len - offset, k_len]` for queries at positions
    /// `offset..q_len` and keys at `0..k_len`.
    pub fn matrix(
        q_len: i32,
        k_len: i32,
        num_heads: i32,
        offset: i32,
        dtype: Dtype,
    ) -> Result<Array> {
        let q = ops::arange(f64::from(offset), f64::from(q_len), 1.0, Dtype::Int32)?;
        let k = ops::arange(0.0, f64::from(k_len), 1.0, Dtype::Int32)?;
        let distance = (&q.expand_dims(&[1])? - &k.expand_dims(&[0])?)
            .abs()?
            .negative()?
            .expand_dims(&[0, 1])?;
        (&distance * &ALiBi::slopes(num_heads, Dtype::Float32)?).astype(dtype)
    }

    /// Adds the biases (and `mask`, when given) to `scores` `[B, num_heads, T_q, T_k]` whose
    /// queries start at position `offset`.
    pub fn forward_at(&self, scores: &Array, offset: i32, mask: Option<&Array>) -> Result<Array> {
        let s = scores.shape();
        if s.len() != 4 {
            return Err(Error::InvalidArgument(format!(
                "[ALiBi] expects scores [B, heads, T_q, T_k], got shape {s:?}"
            )));
        }
        let bias = ALiBi::matrix(s[2] + offset, s[3], s[1], offset, scores.dtype())?;
        let bias = match mask {
            Some(m) => &bias + m,
            None => bias,
        };
        Ok(scores + &bias)
    }
}

impl Module for ALiBi {
    fn forward(&self, scores: &Array) -> Result<Array> {
        self.forward_at(scores, 0, None)
    }
}
