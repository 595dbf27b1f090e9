//! Fused kernels (`mlx.core.fast`): normalizations, rotary embeddings, attention, cross entropy
//! and the gated delta rule.
//!
//! Each op computes the same values as its composition from plain ops, and is differentiable.
//! On the CPU most of them run that composition; on GPUs they are single kernels.
//!
//! [`CustomKernel`] runs GPU kernels written as source strings (CUDA or Metal).

mod kernels;

pub use kernels::{CustomKernel, KernelBackend, KernelLaunch, TemplateArg};

use mlx_sys as sys;

use crate::array::Array;
use crate::error::{Error, Result};
use crate::ops::{call, call_vec};

fn opt(a: Option<&Array>) -> sys::mlxc_array {
    a.map_or(std::ptr::null_mut(), Array::as_raw)
}

/// Root-mean-square normalization over the last axis: `x / sqrt(mean(x²) + eps) * weight`.
///
/// `weight`, when given, is one-dimensional with the size of the last axis of `x`.
pub fn rms_norm(x: &Array, weight: Option<&Array>, eps: f32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_fast_rms_norm(r, x.as_raw(), opt(weight), eps, s) })
}

/// Layer normalization over the last axis: `(x - mean) / sqrt(var + eps) * weight + bias`.
///
/// `weight` and `bias`, when given, are one-dimensional with the size of the last axis of `x`.
pub fn layer_norm(
    x: &Array,
    weight: Option<&Array>,
    bias: Option<&Array>,
    eps: f32,
) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_fast_layer_norm(r, x.as_raw(), opt(weight), opt(bias), eps, s) })
}

/// The position offset of [`rope`]: one number, or an array (a scalar, or one offset per batch
/// entry).
#[derive(Clone, Copy)]
pub enum RopeOffset<'a> {
    /// The same offset for every batch entry.
    Int(i32),
    /// Offsets as an integer array: a scalar, or a vector with one offset per batch entry.
    Array(&'a Array),
}

impl From<i32> for RopeOffset<'_> {
    fn from(v: i32) -> Self {
        RopeOffset::Int(v)
    }
}

impl<'a> From<&'a Array> for RopeOffset<'a> {
    fn from(a: &'a Array) -> Self {
        RopeOffset::Array(a)
    }
}

/// Parameters of [`rope`]. The default is the non-traditional layout, base 10000, scale 1 and
/// offset 0.
#[derive(Clone, Copy)]
pub struct RopeOptions<'a> {
    /// Rotate consecutive pairs `(x[2i], x[2i+1])` (true) instead of the two halves
    /// `(x[i], x[i + dims/2])` (false).
    pub traditional: bool,
    /// Base of the angular frequencies `base^(-2i/dims)`; exactly one of `base` and `freqs` is set.
    pub base: Option<f32>,
    /// Factor applied to the positions.
    pub scale: f32,
    /// Position of the first element along the sequence axis.
    pub offset: RopeOffset<'a>,
    /// Explicit frequencies (`dims / 2` values) instead of `base`; the angle is `position / freq`.
    pub freqs: Option<&'a Array>,
}

impl Default for RopeOptions<'_> {
    fn default() -> Self {
        RopeOptions {
            traditional: false,
            base: Some(10000.0),
            scale: 1.0,
            offset: RopeOffset::Int(0),
            freqs: None,
        }
    }
}

impl<'a> RopeOptions<'a> {
    /// Sets [`RopeOptions::traditional`].
    pub fn with_traditional(mut self, traditional: bool) -> Self {
        self.traditional = traditional;
        self
    }

    /// Sets the base (and clears `freqs`).
    pub fn with_base(mut self, base: f32) -> Self {
        self.base = Some(base);
        self.freqs = None;
        self
    }

    /// Sets [`RopeOptions::scale`].
    pub fn with_scale(mut self, scale: f32) -> Self {
        self.scale = scale;
        self
    }

    /// Sets the offset, a number or an array.
    pub fn with_offset(mut self, offset: impl Into<RopeOffset<'a>>) -> Self {
        self.offset = offset.into();
        self
    }

    /// Uses explicit frequencies (and clears `base`).
    pub fn with_freqs(mut self, freqs: &'a Array) -> Self {
        self.freqs = Some(freqs);
        self.base = None;
        self
    }
}

/// Rotary positional encoding of the first `dims` features of the last axis of `x`, whose
/// second-to-last axis is the sequence (`[B, …, T, D]`); features past `dims` pass unchanged.
pub fn rope(x: &Array, dims: i32, options: &RopeOptions<'_>) -> Result<Array> {
    let base = sys::mlxc_opt_float {
        has: options.base.is_some(),
        value: options.base.unwrap_or(0.0),
    };
    let o = options;
    match o.offset {
        RopeOffset::Int(offset) => call(|r, s| unsafe {
            sys::mlxc_fast_rope(
                r,
                x.as_raw(),
                dims,
                o.traditional,
                base,
                o.scale,
                offset,
                opt(o.freqs),
                s,
            )
        }),
        RopeOffset::Array(offset) => call(|r, s| unsafe {
            sys::mlxc_fast_rope_offsets(
                r,
                x.as_raw(),
                dims,
                o.traditional,
                base,
                o.scale,
                offset.as_raw(),
                opt(o.freqs),
                s,
            )
        }),
    }
}

/// The mask of [`scaled_dot_product_attention`].
#[derive(Clone, Copy, Default)]
pub enum AttentionMask<'a> {
    /// Every query attends to every key.
    #[default]
    None,
    /// Query `i` attends to keys `j <= i + T_kv - T_q` (aligned at the lower right, so the last
    /// query sees every key).
    Causal,
    /// A boolean mask (true: attend) or an additive mask of scores, broadcastable to
    /// `[B, N_q, T_q, T_kv]`, of at most 4 dimensions.
    Array(&'a Array),
}

impl<'a> From<&'a Array> for AttentionMask<'a> {
    fn from(a: &'a Array) -> Self {
        AttentionMask::Array(a)
    }
}

/// Optional parameters of [`scaled_dot_product_attention`].
#[derive(Clone, Copy, Default)]
pub struct AttentionOptions<'a> {
    /// The mask (none by default).
    pub mask: AttentionMask<'a>,
    /// Attention sinks: one logit per query head (`[N_q]`) that joins the softmax of every row
    /// and attends to nothing.
    pub sinks: Option<&'a Array>,
    /// Fail instead of falling back when no fused kernel handles the inputs.
    pub force_fused: bool,
}

impl<'a> AttentionOptions<'a> {
    /// Options with the causal mask.
    pub fn causal() -> Self {
        AttentionOptions {
            mask: AttentionMask::Causal,
            ..Default::default()
        }
    }

    /// Sets the mask (an [`AttentionMask`] or an array).
    pub fn with_mask(mut self, mask: impl Into<AttentionMask<'a>>) -> Self {
        self.mask = mask.into();
        self
    }

    /// Sets [`AttentionOptions::sinks`].
    pub fn with_sinks(mut self, sinks: &'a Array) -> Self {
        self.sinks = Some(sinks);
        self
    }

    /// Sets [`AttentionOptions::force_fused`].
    pub fn with_force_fused(mut self, force_fused: bool) -> Self {
        self.force_fused = force_fused;
        self
    }
}

/// Multi-head attention `softmax(scale · q kᵀ + mask) v`, with the softmax in float32.
///
/// `q` is `[B, N_q, T_q, D]`, `k` is `[B, N_kv, T_kv, D]` and `v` is `[B, N_kv, T_kv, D_v]`;
/// `N_q` must be a multiple of `N_kv` (grouped-query attention: query head `h` uses key/value
/// head `h / (N_q / N_kv)`). The result is `[B, N_q, T_q, D_v]`.
pub fn scaled_dot_product_attention(
    q: &Array,
    k: &Array,
    v: &Array,
    scale: f32,
    options: &AttentionOptions<'_>,
) -> Result<Array> {
    let (mode, mask): (&std::ffi::CStr, sys::mlxc_array) = match options.mask {
        AttentionMask::None => (c"", std::ptr::null_mut()),
        AttentionMask::Causal => (c"causal", std::ptr::null_mut()),
        AttentionMask::Array(m) => (c"array", m.as_raw()),
    };
    call(|r, s| unsafe {
        sys::mlxc_fast_scaled_dot_product_attention(
            r,
            q.as_raw(),
            k.as_raw(),
            v.as_raw(),
            scale,
            mode.as_ptr(),
            mask,
            opt(options.sinks),
            options.force_fused,
            s,
        )
    })
}

/// Cross-entropy loss with class indices: `logsumexp(logits, -1) - logits[…, target]`, in
/// float32, with the shape of `targets` (the shape of `logits` without its last axis).
pub fn cross_entropy(logits: &Array, targets: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_fast_cross_entropy(r, logits.as_raw(), targets.as_raw(), s) })
}

/// The gated delta rule (as in Gated DeltaNet), run over the sequence: returns the outputs
/// `[B, T, H_v, D_v]` and the final state `[B, H_v, D_v, D_k]`.
///
/// `q` and `k` are `[B, T, H_k, D_k]`, `v` is `[B, T, H_v, D_v]` (`H_v` a multiple of `H_k`),
/// `gates` (the decay) and `beta` (the update rate) are `[B, T, H_v]`. For each step and
/// value head `h` (using key head `h / (H_v / H_k)`): `S ← gate·S`,
/// `S ← S + beta·(v − S k) kᵀ`, output `S q`. `initial_state` defaults to zeros; where the
/// optional boolean `mask` (`[B, T]`) is false, the step leaves the state unchanged and outputs
/// zeros.
pub fn gated_delta_update(
    q: &Array,
    k: &Array,
    v: &Array,
    gates: &Array,
    beta: &Array,
    initial_state: Option<&Array>,
    mask: Option<&Array>,
) -> Result<(Array, Array)> {
    let mut out = call_vec(|r, s| unsafe {
        sys::mlxc_fast_gated_delta_update(
            r,
            q.as_raw(),
            k.as_raw(),
            v.as_raw(),
            gates.as_raw(),
            beta.as_raw(),
            opt(initial_state),
            opt(mask),
            s,
        )
    })?;
    if out.len() != 2 {
        return Err(Error::Mlx(format!(
            "[gated_delta_update] expected 2 outputs, got {}",
            out.len()
        )));
    }
    let state = out.pop().expect("two outputs");
    let output = out.pop().expect("two outputs");
    Ok((output, state))
}
