//! `mlx::fast`: every kernel against a reference computed in plain Rust loops, plus gradients.

use crate::common;
use common::mlx_err;

use common::{assert_close, check_grad, sample, sample_f32, values};
use mlx::fast::{self, AttentionMask, AttentionOptions, RopeOptions};
use mlx::{Array, Dtype, Error, ops};

/// `sum(out * weights)` with fixed pseudo-random weights: a scalar whose gradient reaches every
/// output element with a different factor.
fn weighted_sum(out: &Array, seed: u64) -> mlx::Result<Array> {
    let w = sample(out.shape(), seed, -1.0, 1.0).astype(out.dtype())?;
    ops::sum(&ops::multiply(out, &w)?, None, false)
}

// ---- rms_norm / layer_norm -----------------------------------------------------------------------

fn rms_ref(x: &[f64], d: usize, w: Option<&[f64]>, eps: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(d) {
        let ms = row.iter().map(|v| v * v).sum::<f64>() / d as f64;
        let inv = 1.0 / (ms + eps).sqrt();
        for (i, v) in row.iter().enumerate() {
            out.push(v * inv * w.map_or(1.0, |w| w[i]));
        }
    }
    out
}

fn layer_norm_ref(x: &[f64], d: usize, w: Option<&[f64]>, b: Option<&[f64]>, eps: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(d) {
        let mean = row.iter().sum::<f64>() / d as f64;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / d as f64;
        let inv = 1.0 / (var + eps).sqrt();
        for (i, v) in row.iter().enumerate() {
            out.push((v - mean) * inv * w.map_or(1.0, |w| w[i]) + b.map_or(0.0, |b| b[i]));
        }
    }
    out
}

#[test]
fn rms_norm_matches_formula() {
    let x = sample(&[2, 3, 5], 1, -2.0, 2.0);
    let w = sample(&[5], 2, 0.5, 1.5);
    let xv = values(&x);
    let wv = values(&w);
    let got = fast::rms_norm(&x, Some(&w), 1e-5).unwrap();
    assert_eq!(got.shape(), &[2, 3, 5]);
    assert_eq!(got.dtype(), Dtype::Float64);
    assert_close(&got, &rms_ref(&xv, 5, Some(&wv), 1e-5), 1e-6, 1e-6);
    let got = fast::rms_norm(&x, None, 0.5).unwrap();
    assert_close(&got, &rms_ref(&xv, 5, None, 0.5), 1e-6, 1e-6);
}

#[test]
fn rms_norm_dtypes_and_layouts() {
    let x = sample(&[4, 6], 3, -3.0, 3.0);
    let w = sample(&[6], 4, 0.5, 1.5);
    let want = rms_ref(&values(&x), 6, Some(&values(&w)), 1e-6);
    assert_close(
        &fast::rms_norm(&x, Some(&w), 1e-6).unwrap(),
        &want,
        1e-6,
        1e-6,
    );
    for (dtype, tol) in [
        (Dtype::Float32, 1e-5),
        (Dtype::Float16, 5e-3),
        (Dtype::Bfloat16, 3e-2),
    ] {
        let xd = x.astype(dtype).unwrap();
        let wd = w.astype(dtype).unwrap();
        let got = fast::rms_norm(&xd, Some(&wd), 1e-6).unwrap();
        assert_eq!(got.dtype(), dtype);
        // The inputs were rounded to `dtype` too: compare with the reference on those.
        let want_d = rms_ref(&values(&xd), 6, Some(&values(&wd)), 1e-6);
        assert_close(&got, &want_d, tol, tol);
    }
    // Non-contiguous input: the transpose of a [6, 4] array.
    let xt = sample(&[6, 4], 3, -3.0, 3.0)
        .transpose(Some(&[1, 0]))
        .unwrap();
    let want_t = rms_ref(&values(&xt), 6, Some(&values(&w)), 1e-6);
    assert_close(
        &fast::rms_norm(&xt, Some(&w), 1e-6).unwrap(),
        &want_t,
        1e-6,
        1e-6,
    );
    // A permuted 3-d input: [2, 6, 2] read as [2, 2, 6].
    let xp = sample(&[2, 6, 2], 5, -3.0, 3.0)
        .transpose(Some(&[0, 2, 1]))
        .unwrap();
    let want_p = rms_ref(&values(&xp), 6, Some(&values(&w)), 1e-6);
    assert_close(
        &fast::rms_norm(&xp, Some(&w), 1e-6).unwrap(),
        &want_p,
        1e-6,
        1e-6,
    );
    // Empty batch.
    let empty = Array::zeros::<f32>(&[0, 6]).unwrap();
    let got = fast::rms_norm(&empty, None, 1e-6).unwrap();
    assert_eq!(got.shape(), &[0, 6]);
    assert_eq!(got.to_vec::<f32>().unwrap(), Vec::<f32>::new());
}

#[test]
fn rms_norm_errors() {
    let ints = Array::ones::<i32>(&[2, 3]).unwrap();
    let m = mlx_err(fast::rms_norm(&ints, None, 1e-5));
    assert!(
        m.contains("[rms_norm] Received unsupported type int32"),
        "{m}"
    );
    let x = Array::ones::<f32>(&[2, 3]).unwrap();
    let w = Array::ones::<f32>(&[4]).unwrap();
    let m = mlx_err(fast::rms_norm(&x, Some(&w), 1e-5));
    assert!(
        m.contains("must have the same size as the last dimension"),
        "{m}"
    );
    let m = mlx_err(fast::rms_norm(&Array::scalar(1.0f32), None, 1e-5));
    assert!(m.contains("at least 1 dimension"), "{m}");
}

#[test]
fn layer_norm_matches_formula() {
    let x = sample(&[3, 4], 5, -2.0, 2.0);
    let w = sample(&[4], 6, 0.5, 1.5);
    let b = sample(&[4], 7, -1.0, 1.0);
    let (xv, wv, bv) = (values(&x), values(&w), values(&b));
    type Case<'a> = (
        Option<&'a Array>,
        Option<&'a Array>,
        Option<&'a [f64]>,
        Option<&'a [f64]>,
    );
    let cases: [Case<'_>; 4] = [
        (None, None, None, None),
        (Some(&w), None, Some(&wv), None),
        (None, Some(&b), None, Some(&bv)),
        (Some(&w), Some(&b), Some(&wv), Some(&bv)),
    ];
    for (wa, ba, wr, br) in cases {
        let got = fast::layer_norm(&x, wa, ba, 1e-5).unwrap();
        assert_close(&got, &layer_norm_ref(&xv, 4, wr, br, 1e-5), 1e-6, 1e-6);
    }
    // float32, float16 and a transposed input.
    let want = layer_norm_ref(&xv, 4, Some(&wv), Some(&bv), 1e-5);
    let got = fast::layer_norm(
        &x.astype(Dtype::Float32).unwrap(),
        Some(&w.astype(Dtype::Float32).unwrap()),
        Some(&b.astype(Dtype::Float32).unwrap()),
        1e-5,
    )
    .unwrap();
    assert_eq!(got.dtype(), Dtype::Float32);
    assert_close(&got, &want, 1e-5, 1e-5);
    let xh = x.astype(Dtype::Float16).unwrap();
    let got = fast::layer_norm(&xh, None, None, 1e-5).unwrap();
    assert_eq!(got.dtype(), Dtype::Float16);
    assert_close(
        &got,
        &layer_norm_ref(&values(&xh), 4, None, None, 1e-5),
        1e-2,
        1e-2,
    );
    let xt = sample(&[4, 3], 8, -2.0, 2.0).t().unwrap();
    let got = fast::layer_norm(&xt, Some(&w), None, 1e-5).unwrap();
    assert_close(
        &got,
        &layer_norm_ref(&values(&xt), 4, Some(&wv), None, 1e-5),
        1e-6,
        1e-6,
    );
}

#[test]
fn layer_norm_empty_batch() {
    let empty = Array::zeros::<f32>(&[2, 0, 4]).unwrap();
    let w = Array::ones::<f32>(&[4]).unwrap();
    let got = fast::layer_norm(&empty, Some(&w), Some(&w), 1e-5).unwrap();
    assert_eq!(got.shape(), &[2, 0, 4]);
    assert_eq!(got.to_vec::<f32>().unwrap(), Vec::<f32>::new());
}

#[test]
fn layer_norm_errors() {
    let x = Array::ones::<f32>(&[2, 3]).unwrap();
    let b = Array::ones::<f32>(&[2]).unwrap();
    let m = mlx_err(fast::layer_norm(&x, None, Some(&b), 1e-5));
    assert!(
        m.contains("[layer_norm] bias must have the same size"),
        "{m}"
    );
    let ints = Array::ones::<i32>(&[2, 3]).unwrap();
    let m = mlx_err(fast::layer_norm(&ints, None, None, 1e-5));
    assert!(m.contains("[layer_norm]"), "{m}");
}

#[test]
fn norm_gradients() {
    let x = sample(&[2, 4], 11, -2.0, 2.0);
    let w = sample(&[4], 12, 0.5, 1.5);
    let b = sample(&[4], 13, -1.0, 1.0);
    let rms = |a: &[Array]| weighted_sum(&fast::rms_norm(&a[0], Some(&a[1]), 1e-5)?, 21);
    check_grad(rms, &[x.clone(), w.clone()], 0, 1e-3, 1e-3);
    check_grad(rms, &[x.clone(), w.clone()], 1, 1e-3, 1e-3);
    let ln = |a: &[Array]| {
        weighted_sum(
            &fast::layer_norm(&a[0], Some(&a[1]), Some(&a[2]), 1e-5)?,
            22,
        )
    };
    let inputs = [x, w, b];
    for argnum in 0..3 {
        check_grad(ln, &inputs, argnum, 1e-3, 1e-3);
    }
}

// ---- rope ------------------------------------------------------------------------------------

/// RoPE on `x` of shape `[batch, heads, t, d]` (row-major values), positions
/// `(offsets[b] + t) * scale`, angle `position * inv_freq[i]`.
#[allow(clippy::too_many_arguments)]
fn rope_ref(
    x: &[f64],
    shape: [usize; 4],
    dims: usize,
    traditional: bool,
    inv_freq: &[f64],
    scale: f64,
    offsets: &[f64],
) -> Vec<f64> {
    let [bn, hn, tn, dn] = shape;
    let half = dims / 2;
    let mut out = x.to_vec();
    for b in 0..bn {
        for h in 0..hn {
            for t in 0..tn {
                let base = ((b * hn + h) * tn + t) * dn;
                let pos = (offsets[b % offsets.len()] + t as f64) * scale;
                for (i, freq) in inv_freq.iter().enumerate().take(half) {
                    let theta = pos * freq;
                    let (s, c) = theta.sin_cos();
                    let (i1, i2) = if traditional {
                        (base + 2 * i, base + 2 * i + 1)
                    } else {
                        (base + i, base + i + half)
                    };
                    let (x1, x2) = (x[i1], x[i2]);
                    out[i1] = x1 * c - x2 * s;
                    out[i2] = x1 * s + x2 * c;
                }
            }
        }
    }
    out
}

fn base_inv_freq(base: f64, dims: usize) -> Vec<f64> {
    (0..dims / 2)
        .map(|i| base.powf(-((2 * i) as f64) / dims as f64))
        .collect()
}

#[test]
fn rope_both_layouts() {
    let x = sample(&[1, 2, 3, 8], 31, -1.0, 1.0);
    let xv = values(&x);
    for traditional in [false, true] {
        let opts = RopeOptions::default().with_traditional(traditional);
        let got = fast::rope(&x, 8, &opts).unwrap();
        let want = rope_ref(
            &xv,
            [1, 2, 3, 8],
            8,
            traditional,
            &base_inv_freq(10000.0, 8),
            1.0,
            &[0.0],
        );
        assert_close(&got, &want, 1e-6, 1e-6);
        // Partial rotation, another base, a scale and an offset.
        let opts = RopeOptions::default()
            .with_traditional(traditional)
            .with_base(100.0)
            .with_scale(0.5)
            .with_offset(3);
        let got = fast::rope(&x, 4, &opts).unwrap();
        let want = rope_ref(
            &xv,
            [1, 2, 3, 8],
            4,
            traditional,
            &base_inv_freq(100.0, 4),
            0.5,
            &[3.0],
        );
        assert_close(&got, &want, 1e-6, 1e-6);
        // The two layouts differ.
        assert_ne!(
            values(&fast::rope(&x, 8, &RopeOptions::default().with_traditional(true)).unwrap()),
            values(&fast::rope(&x, 8, &RopeOptions::default()).unwrap())
        );
    }
}

#[test]
fn rope_offsets_and_freqs() {
    let x = sample(&[2, 1, 3, 4], 32, -1.0, 1.0);
    let xv = values(&x);
    // One offset per batch entry.
    let offsets = Array::from_slice(&[2i32, 7], &[2]).unwrap();
    let got = fast::rope(&x, 4, &RopeOptions::default().with_offset(&offsets)).unwrap();
    let want = rope_ref(
        &xv,
        [2, 1, 3, 4],
        4,
        false,
        &base_inv_freq(10000.0, 4),
        1.0,
        &[2.0, 7.0],
    );
    assert_close(&got, &want, 1e-6, 1e-6);
    // A scalar array offset equals the integer offset.
    let five = Array::scalar(5i32);
    let a = fast::rope(&x, 4, &RopeOptions::default().with_offset(&five)).unwrap();
    let b = fast::rope(&x, 4, &RopeOptions::default().with_offset(5)).unwrap();
    assert_close(&a, &values(&b), 1e-6, 1e-6);
    // Explicit frequencies: angle = position / freq.
    let freqs = Array::from_slice(&[1.0f32, 4.0], &[2]).unwrap();
    let got = fast::rope(
        &x,
        4,
        &RopeOptions::default()
            .with_traditional(true)
            .with_freqs(&freqs),
    )
    .unwrap();
    let want = rope_ref(&xv, [2, 1, 3, 4], 4, true, &[1.0, 0.25], 1.0, &[0.0]);
    assert_close(&got, &want, 1e-6, 1e-6);
}

#[test]
fn rope_dtypes_and_layouts() {
    let x = sample(&[1, 1, 4, 6], 33, -1.0, 1.0);
    for (dtype, tol) in [
        (Dtype::Float32, 1e-5),
        (Dtype::Float16, 5e-3),
        (Dtype::Bfloat16, 3e-2),
    ] {
        let xd = x.astype(dtype).unwrap();
        let got = fast::rope(&xd, 6, &RopeOptions::default()).unwrap();
        assert_eq!(got.dtype(), dtype);
        let want = rope_ref(
            &values(&xd),
            [1, 1, 4, 6],
            6,
            false,
            &base_inv_freq(10000.0, 6),
            1.0,
            &[0.0],
        );
        assert_close(&got, &want, tol, tol);
    }
    // Transposed input: [1, 1, 6, 4] viewed as [1, 1, 4, 6].
    let xt = sample(&[1, 1, 6, 4], 34, -1.0, 1.0)
        .transpose(Some(&[0, 1, 3, 2]))
        .unwrap();
    let got = fast::rope(&xt, 6, &RopeOptions::default().with_traditional(true)).unwrap();
    let want = rope_ref(
        &values(&xt),
        [1, 1, 4, 6],
        6,
        true,
        &base_inv_freq(10000.0, 6),
        1.0,
        &[0.0],
    );
    assert_close(&got, &want, 1e-6, 1e-6);
    // Three dimensions are [B, T, D] (one head).
    let x3 = sample(&[2, 3, 4], 35, -1.0, 1.0);
    let got = fast::rope(&x3, 4, &RopeOptions::default()).unwrap();
    let want = rope_ref(
        &values(&x3),
        [2, 1, 3, 4],
        4,
        false,
        &base_inv_freq(10000.0, 4),
        1.0,
        &[0.0],
    );
    assert_close(&got, &want, 1e-6, 1e-6);
}

#[test]
fn rope_errors() {
    let x2 = Array::ones::<f32>(&[3, 4]).unwrap();
    let m = mlx_err(fast::rope(&x2, 4, &RopeOptions::default()));
    assert!(m.contains("at least 3 dimensions"), "{m}");
    let x = Array::ones::<f32>(&[1, 3, 4]).unwrap();
    let m = mlx_err(fast::rope(&x, 3, &RopeOptions::default()));
    assert!(m.contains("dims must be even"), "{m}");
    let freqs = Array::ones::<f32>(&[2]).unwrap();
    let both = RopeOptions {
        freqs: Some(&freqs),
        ..Default::default()
    };
    let m = mlx_err(fast::rope(&x, 4, &both));
    assert!(m.contains("Only one of base or freqs"), "{m}");
    let neither = RopeOptions {
        base: None,
        ..Default::default()
    };
    let m = mlx_err(fast::rope(&x, 4, &neither));
    assert!(m.contains("Neither base nor freqs"), "{m}");
}

#[test]
fn rope_gradients() {
    let x = sample(&[1, 1, 3, 4], 36, -1.0, 1.0);
    for traditional in [false, true] {
        let opts = RopeOptions::default()
            .with_traditional(traditional)
            .with_offset(2);
        check_grad(
            |a: &[Array]| weighted_sum(&fast::rope(&a[0], 4, &opts)?, 37),
            std::slice::from_ref(&x),
            0,
            1e-3,
            1e-3,
        );
    }
}

// ---- scaled_dot_product_attention ----------------------------------------------------------------

enum RefMask<'a> {
    None,
    Causal,
    /// Additive values broadcast as `[tq, tk]`.
    Additive(&'a [f64]),
    /// Boolean `[tq, tk]`.
    Bool(&'a [bool]),
}

/// Attention in plain loops. q: [b, nq, tq, d], k: [b, nkv, tk, d], v: [b, nkv, tk, dv].
#[allow(clippy::too_many_arguments)]
fn sdpa_ref(
    q: &[f64],
    k: &[f64],
    v: &[f64],
    [bn, nq, tq, d]: [usize; 4],
    [nkv, tk, dv]: [usize; 3],
    scale: f64,
    mask: &RefMask<'_>,
    sinks: Option<&[f64]>,
) -> Vec<f64> {
    let rep = nq / nkv;
    let mut out = vec![0.0; bn * nq * tq * dv];
    for b in 0..bn {
        for h in 0..nq {
            let hk = h / rep;
            for i in 0..tq {
                let mut scores = Vec::with_capacity(tk);
                for j in 0..tk {
                    let mut s = 0.0;
                    for e in 0..d {
                        s += q[((b * nq + h) * tq + i) * d + e]
                            * k[((b * nkv + hk) * tk + j) * d + e];
                    }
                    s *= scale;
                    let s = match mask {
                        RefMask::None => s,
                        RefMask::Causal if j > i + tk - tq => f64::NEG_INFINITY,
                        RefMask::Causal => s,
                        RefMask::Additive(m) => s + m[i * tk + j],
                        RefMask::Bool(m) if !m[i * tk + j] => f64::NEG_INFINITY,
                        RefMask::Bool(_) => s,
                    };
                    scores.push(s);
                }
                let sink = sinks.map(|s| s[h]);
                let max = scores
                    .iter()
                    .copied()
                    .chain(sink)
                    .fold(f64::NEG_INFINITY, f64::max);
                let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                let denom = exps.iter().sum::<f64>() + sink.map_or(0.0, |s| (s - max).exp());
                for j in 0..tk {
                    let p = exps[j] / denom;
                    for e in 0..dv {
                        out[((b * nq + h) * tq + i) * dv + e] +=
                            p * v[((b * nkv + hk) * tk + j) * dv + e];
                    }
                }
            }
        }
    }
    out
}

struct Attn {
    q: Array,
    k: Array,
    v: Array,
    qs: [usize; 4],
    ks: [usize; 3],
}

#[allow(clippy::too_many_arguments)]
fn attn_inputs(b: i32, nq: i32, nkv: i32, tq: i32, tk: i32, d: i32, dv: i32, seed: u64) -> Attn {
    Attn {
        q: sample(&[b, nq, tq, d], seed, -1.0, 1.0),
        k: sample(&[b, nkv, tk, d], seed + 1, -1.0, 1.0),
        v: sample(&[b, nkv, tk, dv], seed + 2, -1.0, 1.0),
        qs: [b as usize, nq as usize, tq as usize, d as usize],
        ks: [nkv as usize, tk as usize, dv as usize],
    }
}

impl Attn {
    fn reference(&self, scale: f64, mask: &RefMask<'_>, sinks: Option<&[f64]>) -> Vec<f64> {
        sdpa_ref(
            &values(&self.q),
            &values(&self.k),
            &values(&self.v),
            self.qs,
            self.ks,
            scale,
            mask,
            sinks,
        )
    }
}

#[test]
fn sdpa_without_mask() {
    let a = attn_inputs(2, 2, 2, 3, 3, 4, 4, 41);
    let got =
        fast::scaled_dot_product_attention(&a.q, &a.k, &a.v, 0.5, &Default::default()).unwrap();
    assert_eq!(got.shape(), &[2, 2, 3, 4]);
    assert_close(&got, &a.reference(0.5, &RefMask::None, None), 1e-6, 1e-6);
    // Different query and key lengths and a value size unlike the key size.
    let a = attn_inputs(1, 2, 2, 2, 5, 4, 3, 44);
    let got =
        fast::scaled_dot_product_attention(&a.q, &a.k, &a.v, 0.7, &Default::default()).unwrap();
    assert_eq!(got.shape(), &[1, 2, 2, 3]);
    assert_close(&got, &a.reference(0.7, &RefMask::None, None), 1e-6, 1e-6);
}

#[test]
fn sdpa_masks() {
    let a = attn_inputs(1, 2, 2, 3, 5, 4, 4, 47);
    // Causal, lower-right aligned: query i sees keys j <= i + 2.
    let got =
        fast::scaled_dot_product_attention(&a.q, &a.k, &a.v, 0.5, &AttentionOptions::causal())
            .unwrap();
    assert_close(&got, &a.reference(0.5, &RefMask::Causal, None), 1e-6, 1e-6);
    // Additive [3, 5] mask, broadcast over batch and heads.
    let add = sample(&[3, 5], 50, -2.0, 2.0);
    let opts = AttentionOptions::default().with_mask(&add);
    let got = fast::scaled_dot_product_attention(&a.q, &a.k, &a.v, 0.5, &opts).unwrap();
    assert_close(
        &got,
        &a.reference(0.5, &RefMask::Additive(&values(&add)), None),
        1e-6,
        1e-6,
    );
    // Boolean mask (every row keeps at least one key).
    let keep: Vec<bool> = (0..15).map(|i| i % 3 != 1).collect();
    let bool_mask = Array::from_slice(&keep, &[3, 5]).unwrap();
    let opts = AttentionOptions {
        mask: AttentionMask::Array(&bool_mask),
        ..Default::default()
    };
    let got = fast::scaled_dot_product_attention(&a.q, &a.k, &a.v, 0.5, &opts).unwrap();
    assert_close(
        &got,
        &a.reference(0.5, &RefMask::Bool(&keep), None),
        1e-6,
        1e-6,
    );
    // A boolean mask that keeps everything is no mask; one that keeps only the causal part is
    // the causal mask.
    let causal_keep: Vec<bool> = (0..15).map(|i| (i % 5) <= (i / 5) + 2).collect();
    let causal_arr = Array::from_slice(&causal_keep, &[1, 1, 3, 5]).unwrap();
    let got = fast::scaled_dot_product_attention(
        &a.q,
        &a.k,
        &a.v,
        0.5,
        &AttentionOptions::default().with_mask(&causal_arr),
    )
    .unwrap();
    assert_close(&got, &a.reference(0.5, &RefMask::Causal, None), 1e-6, 1e-6);
}

#[test]
fn sdpa_grouped_query_heads_and_sinks() {
    // 4 query heads share 2 key/value heads.
    let a = attn_inputs(1, 4, 2, 2, 3, 4, 4, 53);
    let got =
        fast::scaled_dot_product_attention(&a.q, &a.k, &a.v, 0.5, &Default::default()).unwrap();
    assert_eq!(got.shape(), &[1, 4, 2, 4]);
    assert_close(&got, &a.reference(0.5, &RefMask::None, None), 1e-6, 1e-6);
    // Multi-query (one key/value head) with causal mask.
    let a = attn_inputs(2, 3, 1, 3, 3, 2, 2, 56);
    let got =
        fast::scaled_dot_product_attention(&a.q, &a.k, &a.v, 1.0, &AttentionOptions::causal())
            .unwrap();
    assert_close(&got, &a.reference(1.0, &RefMask::Causal, None), 1e-6, 1e-6);
    // Sinks: one extra logit per query head in each softmax.
    let sinks = Array::from_slice(&[0.5f64, -1.0, 2.0], &[3]).unwrap();
    let got = fast::scaled_dot_product_attention(
        &a.q,
        &a.k,
        &a.v,
        1.0,
        &AttentionOptions::default().with_sinks(&sinks),
    )
    .unwrap();
    assert_close(
        &got,
        &a.reference(1.0, &RefMask::None, Some(&[0.5, -1.0, 2.0])),
        1e-6,
        1e-6,
    );
}

#[test]
fn sdpa_dtypes_and_layouts() {
    let a = attn_inputs(1, 2, 2, 3, 3, 4, 4, 59);
    let want = a.reference(0.5, &RefMask::Causal, None);
    for (dtype, tol) in [
        (Dtype::Float32, 1e-5),
        (Dtype::Float16, 1e-2),
        (Dtype::Bfloat16, 5e-2),
    ] {
        let q = a.q.astype(dtype).unwrap();
        let k = a.k.astype(dtype).unwrap();
        let v = a.v.astype(dtype).unwrap();
        let got = fast::scaled_dot_product_attention(&q, &k, &v, 0.5, &AttentionOptions::causal())
            .unwrap();
        assert_eq!(got.dtype(), dtype);
        assert_close(&got, &want, tol, tol);
    }
    // Mixed float32 / float16 inputs promote to float32.
    let got = fast::scaled_dot_product_attention(
        &a.q.astype(Dtype::Float32).unwrap(),
        &a.k.astype(Dtype::Float16).unwrap(),
        &a.v.astype(Dtype::Float32).unwrap(),
        0.5,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(got.dtype(), Dtype::Float32);
    // Keys given as a transposed [1, 2, 4, 3] array.
    let kt = sample(&[1, 2, 4, 3], 60, -1.0, 1.0)
        .transpose(Some(&[0, 1, 3, 2]))
        .unwrap();
    let got =
        fast::scaled_dot_product_attention(&a.q, &kt, &a.v, 0.5, &Default::default()).unwrap();
    let want = sdpa_ref(
        &values(&a.q),
        &values(&kt),
        &values(&a.v),
        a.qs,
        a.ks,
        0.5,
        &RefMask::None,
        None,
    );
    assert_close(&got, &want, 1e-6, 1e-6);
}

#[test]
fn sdpa_errors() {
    let x3 = Array::ones::<f32>(&[1, 2, 3]).unwrap();
    let m = mlx_err(fast::scaled_dot_product_attention(
        &x3,
        &x3,
        &x3,
        1.0,
        &Default::default(),
    ));
    assert!(m.contains("expected to be rank 4"), "{m}");
    let q = Array::ones::<f32>(&[1, 3, 2, 4]).unwrap();
    let kv = Array::ones::<f32>(&[1, 2, 2, 4]).unwrap();
    let m = mlx_err(fast::scaled_dot_product_attention(
        &q,
        &kv,
        &kv,
        1.0,
        &Default::default(),
    ));
    assert!(
        m.contains("n_heads must be a multiple of n_kv_heads"),
        "{m}"
    );
    let qi = Array::ones::<i32>(&[1, 2, 2, 4]).unwrap();
    let m = mlx_err(fast::scaled_dot_product_attention(
        &qi,
        &qi,
        &qi,
        1.0,
        &Default::default(),
    ));
    assert!(m.contains("Received unsupported type int32"), "{m}");
    let sinks = Array::ones::<f32>(&[3]).unwrap();
    let opts = AttentionOptions::default().with_sinks(&sinks);
    let m = mlx_err(fast::scaled_dot_product_attention(
        &kv, &kv, &kv, 1.0, &opts,
    ));
    assert!(m.contains("invalid shape for sinks"), "{m}");
    let mask5 = Array::ones::<f32>(&[1, 1, 1, 2, 2]).unwrap();
    let opts = AttentionOptions::default().with_mask(&mask5);
    let m = mlx_err(fast::scaled_dot_product_attention(
        &kv, &kv, &kv, 1.0, &opts,
    ));
    assert!(m.contains("expected to have at most rank 4"), "{m}");
    let m = mlx_err(fast::scaled_dot_product_attention(
        &kv,
        &kv,
        &kv,
        1.0,
        &AttentionOptions::default().with_force_fused(true),
    ));
    assert!(m.contains("force_fused"), "{m}");
}

#[test]
fn sdpa_gradients() {
    let a = attn_inputs(1, 2, 1, 2, 3, 2, 2, 61);
    let add = sample(&[2, 3], 62, -1.0, 1.0);
    let inputs = [a.q.clone(), a.k.clone(), a.v.clone()];
    let plain = |x: &[Array]| {
        weighted_sum(
            &fast::scaled_dot_product_attention(&x[0], &x[1], &x[2], 0.8, &Default::default())?,
            63,
        )
    };
    let causal = |x: &[Array]| {
        weighted_sum(
            &fast::scaled_dot_product_attention(
                &x[0],
                &x[1],
                &x[2],
                0.8,
                &AttentionOptions::causal(),
            )?,
            64,
        )
    };
    let masked = |x: &[Array]| {
        let opts = AttentionOptions::default().with_mask(&add);
        weighted_sum(
            &fast::scaled_dot_product_attention(&x[0], &x[1], &x[2], 0.8, &opts)?,
            65,
        )
    };
    for argnum in 0..3 {
        check_grad(plain, &inputs, argnum, 1e-3, 1e-3);
        check_grad(causal, &inputs, argnum, 1e-3, 1e-3);
        check_grad(masked, &inputs, argnum, 1e-3, 1e-3);
    }
}

// ---- cross_entropy -------------------------------------------------------------------------------

#[test]
fn cross_entropy_matches_formula() {
    let logits = sample(&[2, 3, 4], 71, -3.0, 3.0);
    let targets = Array::from_slice(&[0i32, 3, 1, 2, 2, 0], &[2, 3]).unwrap();
    let lv = values(&logits);
    let tv = [0usize, 3, 1, 2, 2, 0];
    let want: Vec<f64> = lv
        .chunks(4)
        .zip(tv)
        .map(|(row, t)| {
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln() - row[t]
        })
        .collect();
    for dtype in [Dtype::Float64, Dtype::Float32] {
        let got = fast::cross_entropy(&logits.astype(dtype).unwrap(), &targets).unwrap();
        assert_eq!(got.shape(), &[2, 3]);
        assert_eq!(got.dtype(), Dtype::Float32);
        assert_close(&got, &want, 1e-5, 1e-5);
    }
    // uint8 class indices work too.
    let t8 = targets.astype(Dtype::Uint8).unwrap();
    assert_close(
        &fast::cross_entropy(&logits, &t8).unwrap(),
        &want,
        1e-5,
        1e-5,
    );
    // Errors: mismatched shape, float targets.
    let bad = Array::zeros::<i32>(&[3]).unwrap();
    let m = mlx_err(fast::cross_entropy(&logits, &bad));
    assert!(m.contains("does not match logits shape"), "{m}");
    let m = mlx_err(fast::cross_entropy(
        &logits,
        &targets.astype(Dtype::Float32).unwrap(),
    ));
    assert!(m.contains("must be integer class indices"), "{m}");
}

#[test]
fn cross_entropy_gradient() {
    let logits = sample(&[2, 3], 72, -2.0, 2.0)
        .astype(Dtype::Float32)
        .unwrap();
    let targets = Array::from_slice(&[2i32, 0], &[2]).unwrap();
    check_grad(
        |a: &[Array]| weighted_sum(&fast::cross_entropy(&a[0], &targets)?, 73),
        &[logits],
        0,
        1e-3,
        1e-2,
    );
}

// ---- gated_delta_update --------------------------------------------------------------------------

/// The gated delta rule in plain loops. Shapes: q, k [b, t, hk, dk]; v [b, t, hv, dv];
/// g, beta [b, t, hv]; state [b, hv, dv, dk]; mask [b, t].
#[allow(clippy::too_many_arguments)]
fn gated_delta_ref(
    q: &[f64],
    k: &[f64],
    v: &[f64],
    g: &[f64],
    beta: &[f64],
    state: Option<&[f64]>,
    mask: Option<&[bool]>,
    [bn, tn, hk, dk, hv, dv]: [usize; 6],
) -> (Vec<f64>, Vec<f64>) {
    let rep = hv / hk;
    let mut s = state.map_or(vec![0.0; bn * hv * dv * dk], <[f64]>::to_vec);
    let mut y = vec![0.0; bn * tn * hv * dv];
    for b in 0..bn {
        for t in 0..tn {
            if mask.is_some_and(|m| !m[b * tn + t]) {
                continue;
            }
            for h in 0..hv {
                let kh = h / rep;
                let kk = &k[((b * tn + t) * hk + kh) * dk..][..dk];
                let qq = &q[((b * tn + t) * hk + kh) * dk..][..dk];
                let gate = g[(b * tn + t) * hv + h];
                let rate = beta[(b * tn + t) * hv + h];
                let st = &mut s[(b * hv + h) * dv * dk..][..dv * dk];
                for e in st.iter_mut() {
                    *e *= gate;
                }
                for r in 0..dv {
                    let row = &mut st[r * dk..][..dk];
                    let kv: f64 = row.iter().zip(kk).map(|(a, b)| a * b).sum();
                    let delta = (v[((b * tn + t) * hv + h) * dv + r] - kv) * rate;
                    for (e, kx) in row.iter_mut().zip(kk) {
                        *e += delta * kx;
                    }
                    y[((b * tn + t) * hv + h) * dv + r] =
                        row.iter().zip(qq).map(|(a, b)| a * b).sum();
                }
            }
        }
    }
    (y, s)
}

#[test]
fn gated_delta_update_matches_recurrence() {
    let (b, t, hk, dk, hv, dv) = (2, 3, 1, 4, 2, 3);
    let q = sample(&[b, t, hk, dk], 81, -1.0, 1.0)
        .astype(Dtype::Float32)
        .unwrap();
    let k = sample(&[b, t, hk, dk], 82, -1.0, 1.0)
        .astype(Dtype::Float32)
        .unwrap();
    let v = sample(&[b, t, hv, dv], 83, -1.0, 1.0)
        .astype(Dtype::Float32)
        .unwrap();
    let g = sample(&[b, t, hv], 84, 0.5, 1.0)
        .astype(Dtype::Float32)
        .unwrap();
    let beta = sample(&[b, t, hv], 85, 0.0, 1.0)
        .astype(Dtype::Float32)
        .unwrap();
    let dims = [
        b as usize,
        t as usize,
        hk as usize,
        dk as usize,
        hv as usize,
        dv as usize,
    ];
    let (y, s) = fast::gated_delta_update(&q, &k, &v, &g, &beta, None, None).unwrap();
    assert_eq!(y.shape(), &[b, t, hv, dv]);
    assert_eq!(s.shape(), &[b, hv, dv, dk]);
    let (qv, kv, vv, gv, bv) = (
        values(&q),
        values(&k),
        values(&v),
        values(&g),
        values(&beta),
    );
    let (wy, ws) = gated_delta_ref(&qv, &kv, &vv, &gv, &bv, None, None, dims);
    assert_close(&y, &wy, 1e-4, 1e-5);
    assert_close(&s, &ws, 1e-4, 1e-5);
    // With an initial state and a mask that skips steps.
    let s0 = sample(&[b, hv, dv, dk], 86, -1.0, 1.0)
        .astype(Dtype::Float32)
        .unwrap();
    let keep = [true, false, true, false, true, true];
    let mask = Array::from_slice(&keep, &[b, t]).unwrap();
    let (y, s) = fast::gated_delta_update(&q, &k, &v, &g, &beta, Some(&s0), Some(&mask)).unwrap();
    let (wy, ws) = gated_delta_ref(
        &qv,
        &kv,
        &vv,
        &gv,
        &bv,
        Some(&values(&s0)),
        Some(&keep),
        dims,
    );
    assert_close(&y, &wy, 1e-4, 1e-5);
    assert_close(&s, &ws, 1e-4, 1e-5);
}

#[test]
fn gated_delta_update_errors() {
    let q = Array::ones::<f32>(&[1, 2, 1, 4]).unwrap();
    let v = Array::ones::<f32>(&[1, 2, 1, 3]).unwrap();
    let g = Array::ones::<f32>(&[1, 2, 1]).unwrap();
    // Keys of another size than the queries.
    let k5 = Array::ones::<f32>(&[1, 2, 1, 5]).unwrap();
    let m = mlx_err(fast::gated_delta_update(&q, &k5, &v, &g, &g, None, None));
    assert!(m.contains("cannot be broadcast"), "{m}");
    // An initial state of the wrong shape.
    let s = Array::ones::<f32>(&[1, 1, 3, 5]).unwrap();
    let m = mlx_err(fast::gated_delta_update(&q, &q, &v, &g, &g, Some(&s), None));
    assert!(m.contains("cannot be broadcast"), "{m}");
    // Three-dimensional inputs.
    let q3 = Array::ones::<f32>(&[2, 1, 4]).unwrap();
    assert!(matches!(
        fast::gated_delta_update(&q3, &q3, &v, &g, &g, None, None),
        Err(Error::Mlx(_))
    ));
}

#[test]
fn gated_delta_update_gradients() {
    let q = sample(&[1, 2, 1, 2], 91, -1.0, 1.0);
    let k = sample(&[1, 2, 1, 2], 92, -1.0, 1.0);
    let v = sample(&[1, 2, 1, 2], 93, -1.0, 1.0);
    let g = sample(&[1, 2, 1], 94, 0.5, 1.0);
    let beta = sample(&[1, 2, 1], 95, 0.2, 1.0);
    let f = |a: &[Array]| {
        let (y, s) = fast::gated_delta_update(&a[0], &a[1], &a[2], &a[3], &a[4], None, None)?;
        ops::add(&weighted_sum(&y, 96)?, &weighted_sum(&s, 97)?)
    };
    let inputs = [q, k, v, g, beta];
    for argnum in 0..5 {
        check_grad(f, &inputs, argnum, 1e-3, 1e-3);
    }
}

// ---- custom kernels ------------------------------------------------------------------------------

/// A CUDA kernel computing `out = a * scale + b` for a templated element type, with a header
/// function: run on the GPU where MLX has its CUDA back-end, an error elsewhere.
#[test]
fn custom_cuda_kernels_run_on_cuda_and_fail_clearly_elsewhere() {
    use mlx::fast::{CustomKernel, KernelLaunch, TemplateArg};
    // CUDA C++ (NVRTC): no Metal `uint`.
    let source = "unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;\n\
                  if (i < a_shape[0]) { out[i] = axpb(a[i], T(SCALE), b[i]); }";
    let kernel = CustomKernel::cuda("axpb_kernel", &["a", "b"], &["out"], source)
        .unwrap()
        .with_header("template <typename T> __device__ T axpb(T a, T s, T b) { return a * s + b; } // no newline")
        .unwrap();
    let n = 1000;
    let (a, b) = (
        sample_f32(&[n], 1, -1.0, 1.0),
        sample_f32(&[n], 2, -1.0, 1.0),
    );
    let launch = KernelLaunch::new([n, 1, 1], [256, 1, 1])
        .with_template("T", TemplateArg::Dtype(Dtype::Float32))
        .with_template("SCALE", TemplateArg::Int(3));
    let result = kernel.apply(&[&a, &b], &[(&[n], Dtype::Float32)], &launch);
    if mlx::gpu_backend() == Some(mlx::GpuBackend::Cuda) {
        let out = result.unwrap();
        let want: Vec<f64> = values(&a)
            .iter()
            .zip(values(&b))
            .map(|(x, y)| x * 3.0 + y)
            .collect();
        assert_close(&out[0], &want, 1e-6, 1e-6);
        // A source the compiler rejects is an error with its log, not a crash (MLX compiles
        // the kernel when its result is evaluated).
        let broken =
            CustomKernel::cuda("broken", &["a"], &["out"], "out[0] = undefined_name;").unwrap();
        let compiled = broken
            .apply(
                &[&a],
                &[(&[1], Dtype::Float32)],
                &KernelLaunch::new([1, 1, 1], [1, 1, 1]),
            )
            .and_then(|out| mlx::eval(&out));
        let m = compiled.unwrap_err().to_string();
        assert!(m.contains("undefined_name"), "{m}");
    } else {
        let m = result.unwrap_err().to_string();
        assert!(m.contains("No CUDA back-end"), "{m}");
    }
    if mlx::gpu_backend() != Some(mlx::GpuBackend::Metal) {
        let metal = CustomKernel::metal("k", &["a"], &["out"], "out[0] = a[0];").unwrap();
        let m = metal
            .apply(
                &[&a],
                &[(&[1], Dtype::Float32)],
                &KernelLaunch::new([1, 1, 1], [1, 1, 1]),
            )
            .unwrap_err()
            .to_string();
        assert!(m.contains("No Metal back-end"), "{m}");
    }
    // Mistakes that can be seen before compiling are errors on every build.
    let wrong_inputs = kernel.apply(&[&a], &[(&[n], Dtype::Float32)], &launch);
    assert!(
        wrong_inputs
            .unwrap_err()
            .to_string()
            .contains("1 inputs given for 2 input names")
    );
    let bad_grid = kernel.apply(
        &[&a, &b],
        &[(&[n], Dtype::Float32)],
        &KernelLaunch::new([0, 1, 1], [1, 1, 1]),
    );
    assert!(
        bad_grid
            .unwrap_err()
            .to_string()
            .contains("grid sizes must be positive")
    );
    assert!(CustomKernel::cuda("k\0", &["a"], &["o"], "").is_err());
}
