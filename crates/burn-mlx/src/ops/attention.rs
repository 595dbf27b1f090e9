//! Scaled dot-product attention on MLX's fused kernel (`mlx::fast::scaled_dot_product_attention`).
//!
//! Burn's semantics (see `burn_backend::ops::attention::attention_fallback`):
//!
//! - scores = `q kᵀ · scale`, `scale` defaulting to `1 / sqrt(head_dim)`;
//! - with `softcap`: `softcap · tanh(scores / softcap)`, applied before any masking;
//! - a bool `mask` entry that is `true` **removes** that key (score `-inf`); MLX's bool masks
//!   mean the opposite (`true`: attend), so the mask is negated on the way in;
//! - `is_causal` removes the keys after the query's position, aligned at the lower right
//!   (query `i` sees keys `j <= i + T_k - T_q`), which is also MLX's causal mode;
//! - `attn_bias` is added to the scores after masking;
//! - a query row whose keys are all removed (all scores `-inf`) yields **zeros**. MLX gives
//!   such rows a uniform average (bool masks) or NaN (additive masks), so those rows are
//!   zeroed explicitly.
//!
//! The fused kernel takes one mask, bool or additive: the bool mask, the causal mask and the
//! bias are folded into one (`where(allowed, bias, -inf)` when there is a bias). Softcap cannot
//! be expressed by the fused kernel (it transforms the scores before masking), so attention with
//! softcap is composed from MLX ops (matmul, tanh, softmax, matmul).
//!
//! Only the forward pass runs here: `Autodiff<Mlx>` differentiates Burn's decomposed fallback.

use burn_backend::Scalar;
use burn_backend::TensorMetadata;
use burn_backend::ops::AttentionModuleOptions;
use mlx::fast::{AttentionMask, AttentionOptions};

use mlx::{Array, Dtype, ops};

use super::base::{cpu_half_in_f32, scalar};
use super::pick::pick;
use crate::eval::op;
use crate::tensor::MlxTensor;

pub(crate) fn attention(
    query: MlxTensor,
    key: MlxTensor,
    value: MlxTensor,
    mask: Option<MlxTensor>,
    bias: Option<MlxTensor>,
    options: AttentionModuleOptions,
) -> MlxTensor {
    if let Some(softcap) = options.softcap {
        assert!(
            softcap > 0.0,
            "burn-mlx: attention: softcap must be positive, got {softcap}"
        );
    }
    let q_shape = query.shape();
    let k_shape = key.shape();
    let v_shape = value.shape();
    assert!(
        q_shape.num_dims() == 4 && k_shape.num_dims() == 4 && v_shape.num_dims() == 4,
        "burn-mlx: attention: query, key and value must be 4-D [batch, heads, seq, dim], got \
         {q_shape:?}, {k_shape:?}, {v_shape:?}"
    );
    let (t_q, t_k, head_dim) = (q_shape[2], k_shape[2], q_shape[3]);
    let scale = options
        .scale
        .unwrap_or_else(|| 1.0 / (head_dim as f64).sqrt());

    let mut inputs = vec![&query, &key, &value];
    inputs.extend(mask.as_ref());
    inputs.extend(bias.as_ref());

    op(&inputs, "attention", || {
        // Half types on the CPU run in float32 (see `cpu_half_in_f32`): MLX's CPU attention
        // takes about 5 times as long for them as for float32.
        let qkv = [&*query.array, &*key.array, &*value.array];
        cpu_half_in_f32(qkv, |[q, k, v]| {
            let (q, k, v) = (&q, &k, &v);
            let dtype = q.dtype();
            let out_shape = [
                q_shape[0] as i32,
                q_shape[1] as i32,
                t_q as i32,
                v_shape[3] as i32,
            ];
            if t_q == 0 || t_k == 0 {
                // No query, or nothing to attend to: Burn's softmax of an empty row gives zeros.
                return ops::zeros(&out_shape, dtype);
            }

            // Which keys each query may attend to (`None`: all of them).
            let mut allowed = match &mask {
                Some(m) => Some(ops::logical_not(&m.array)?),
                None => None,
            };
            // The causal mask goes into the fused kernel as its own mode when nothing else is
            // masked; otherwise it joins the mask array.
            let causal_mode = options.is_causal
                && allowed.is_none()
                && bias.is_none()
                && options.softcap.is_none();
            if options.is_causal && !causal_mode {
                let causal = causal_allowed(t_q, t_k)?;
                allowed = Some(match allowed {
                    Some(a) => ops::logical_and(&a, &causal)?,
                    None => causal,
                });
            }
            let bias = match &bias {
                Some(b) if b.array.dtype() != dtype => Some(b.array.astype(dtype)?),
                Some(b) => Some((*b.array).clone()),
                None => None,
            };

            if let Some(softcap) = options.softcap {
                return composed(q, k, v, scale, softcap, allowed.as_ref(), bias.as_ref());
            }

            let neg_inf = scalar(Scalar::Float(f64::NEG_INFINITY), dtype);
            // The fused kernel's mask, and which query rows attend to at least one key (`None`:
            // every row does).
            let (mask_arg, row_valid) = match (allowed, bias) {
                (None, None) if causal_mode && t_q > t_k => {
                    // The first `t_q - t_k` queries see no key.
                    let rows = ops::arange(0.0, t_q as f64, 1.0, Dtype::Int32)?
                        .reshape(&[t_q as i32, 1])?;
                    let first = Array::scalar((t_q - t_k) as i32);
                    (None, Some(ops::greater_equal(&rows, &first)?))
                }
                (None, None) => (None, None),
                (Some(allowed), None) => {
                    let valid = allowed.any(Some(&[-1]), true)?;
                    (Some(allowed), Some(valid))
                }
                (allowed, Some(bias)) => {
                    let additive = match allowed {
                        Some(allowed) => pick(&allowed, &bias, &neg_inf)?,
                        None => bias,
                    };
                    // A bias of -inf removes keys too.
                    let valid = ops::greater(&additive, &neg_inf)?.any(Some(&[-1]), true)?;
                    (Some(additive), Some(valid))
                }
            };
            let fused_mask = match (&mask_arg, causal_mode) {
                (Some(m), _) => AttentionMask::Array(m),
                (None, true) => AttentionMask::Causal,
                (None, false) => AttentionMask::None,
            };
            let out = mlx::fast::scaled_dot_product_attention(
                q,
                k,
                v,
                scale as f32,
                &AttentionOptions::default().with_mask(fused_mask),
            )?;
            match row_valid {
                Some(valid) => pick(&valid, &out, &scalar(Scalar::Float(0.0), out.dtype())),
                None => Ok(out),
            }
        })
    })
}

/// `[t_q, t_k]`: true where query `i` may see key `j`, i.e. `j <= i + t_k - t_q`.
fn causal_allowed(t_q: usize, t_k: usize) -> mlx::Result<Array> {
    let rows = ops::arange(0.0, t_q as f64, 1.0, Dtype::Int32)?.reshape(&[t_q as i32, 1])?;
    let cols = ops::arange(0.0, t_k as f64, 1.0, Dtype::Int32)?.reshape(&[1, t_k as i32])?;
    let last_visible = ops::add(&rows, &Array::scalar(t_k as i32 - t_q as i32))?;
    ops::less_equal(&cols, &last_visible)
}

/// Attention composed from MLX ops, for what the fused kernel cannot express (softcap, which
/// transforms the raw scores before masking).
fn composed(
    q: &Array,
    k: &Array,
    v: &Array,
    scale: f64,
    softcap: f64,
    allowed: Option<&Array>,
    bias: Option<&Array>,
) -> mlx::Result<Array> {
    let dtype = q.dtype();
    let s = |x: f64| scalar(Scalar::Float(x), dtype);
    let scores = ops::multiply(&ops::matmul(q, &ops::swapaxes(k, -1, -2)?)?, &s(scale))?;
    let scores = ops::multiply(
        &ops::tanh(&ops::divide(&scores, &s(softcap))?)?,
        &s(softcap),
    )?;
    let neg_inf = s(f64::NEG_INFINITY);
    let scores = match allowed {
        Some(allowed) => pick(allowed, &scores, &neg_inf)?,
        None => scores,
    };
    let scores = match bias {
        Some(bias) => ops::add(&scores, bias)?,
        None => scores,
    };
    let weights = ops::softmax(&scores, Some(&[-1]), true)?;
    let weights = if allowed.is_some() || bias.is_some() {
        // Rows with every score at -inf attend to nothing: zeros rather than NaN.
        let valid = ops::greater(&scores, &neg_inf)?.any(Some(&[-1]), true)?;
        pick(&valid, &weights, &s(0.0))?
    } else {
        weights
    };
    ops::matmul(&weights, v)
}
