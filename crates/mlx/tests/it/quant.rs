//! Quantization: the packed formats decoded in plain Rust, round-trip error bounds, quantized
//! matmuls against matmuls with the dequantized weights, fp8 conversions.

use crate::common;
use common::mlx_err;

use common::{assert_close, check_grad, sample, values};
use mlx::ops::{self, QqmmOptions, QuantizationMode, QuantizeOptions};
use mlx::{Array, Dtype, Error};

fn f32_sample(shape: &[i32], seed: u64, lo: f64, hi: f64) -> Array {
    sample(shape, seed, lo, hi).astype(Dtype::Float32).unwrap()
}

/// Unpacks `n` values of `bits` bits from little-endian u32 words, lowest bits first, as one
/// continuous bit stream.
fn unpack(words: &[u32], bits: usize, n: usize) -> Vec<u32> {
    (0..n)
        .map(|i| {
            let mut v = 0u32;
            for b in 0..bits {
                let pos = i * bits + b;
                let bit = (words[pos / 32] >> (pos % 32)) & 1;
                v |= bit << b;
            }
            v
        })
        .collect()
}

/// OCP e2m1 (fp4) value of a nibble.
fn e2m1(code: u32) -> f64 {
    const MAG: [f64; 8] = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0];
    let m = MAG[(code & 7) as usize];
    if code & 8 != 0 { -m } else { m }
}

/// e4m3 (fp8, bias 7, with subnormals; 0x7f / 0xff are NaN) value of a byte.
fn e4m3(code: u8) -> f64 {
    let sign = if code & 0x80 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((code >> 3) & 0xf);
    let man = f64::from(code & 7);
    if code & 0x7f == 0x7f {
        return f64::NAN;
    }
    if exp == 0 {
        sign * man / 8.0 * 2f64.powi(-6)
    } else {
        sign * (1.0 + man / 8.0) * 2f64.powi(exp - 7)
    }
}

/// e8m0 (power-of-two scale) value of a byte.
fn e8m0(code: u8) -> f64 {
    2f64.powi(i32::from(code) - 127)
}

// ---- affine ----------------------------------------------------------------------------------

#[test]
fn affine_round_trip_and_packing() {
    let w = f32_sample(&[4, 128], 1, -2.0, 2.0);
    let wv = values(&w);
    for bits in [2, 3, 4, 5, 6, 8] {
        for group in [32, 64, 128] {
            let opts = QuantizeOptions::default()
                .with_bits(bits)
                .with_group_size(group);
            let q = ops::quantize(&w, &opts).unwrap();
            let (bits, group) = (bits as usize, group as usize);
            assert_eq!(q.weights.dtype(), Dtype::Uint32);
            assert_eq!(q.weights.shape(), &[4, (128 * bits / 32) as i32]);
            assert_eq!(q.scales.shape(), &[4, (128 / group) as i32]);
            assert_eq!(q.scales.dtype(), Dtype::Float32);
            let biases = q.biases.as_ref().expect("affine has biases");
            assert_eq!(biases.shape(), q.scales.shape());
            // Decode by hand: w ≈ scale · q + bias, q from the packed bit stream.
            let words = q.weights.to_vec::<u32>().unwrap();
            let scales = values(&q.scales);
            let bias = values(biases);
            let row_words = 128 * bits / 32;
            let mut decoded = Vec::new();
            for r in 0..4 {
                let codes = unpack(&words[r * row_words..(r + 1) * row_words], bits, 128);
                for (i, c) in codes.iter().enumerate() {
                    assert!(*c < (1 << bits));
                    let g = r * (128 / group) + i / group;
                    decoded.push(scales[g] * f64::from(*c) + bias[g]);
                }
            }
            let deq = ops::dequantize(&q.weights, &q.scales, Some(biases), &opts, None).unwrap();
            assert_eq!(deq.dtype(), Dtype::Float32);
            assert_close(&deq, &decoded, 1e-6, 1e-6);
            // Each element maps to the nearest value of its group's grid
            // {scale · q + bias : 0 <= q < 2^bits}, at most one step away.
            for (i, (d, x)) in decoded.iter().zip(&wv).enumerate() {
                let g = (i / 128) * (128 / group) + (i % 128) / group;
                let nearest = (0..1u32 << bits)
                    .map(|q| (scales[g] * f64::from(q) + bias[g] - x).abs())
                    .fold(f64::INFINITY, f64::min);
                let err = (d - x).abs();
                assert!(
                    err <= nearest + 1e-5,
                    "bits {bits} group {group} element {i}: {x} -> {d}, nearest grid point at {nearest}"
                );
                assert!(
                    err <= scales[g].abs() + 1e-5,
                    "bits {bits} group {group} element {i}: {x} -> {d}"
                );
            }
            // Quantized::dequantize is the same.
            let again = q.dequantize(&opts, None).unwrap();
            assert_close(&again, &values(&deq), 0.0, 0.0);
        }
    }
}

#[test]
fn affine_dtypes_layouts_and_defaults() {
    let w = f32_sample(&[2, 3, 64], 2, -1.0, 1.0);
    // Defaults: 4 bits, groups of 64; batches of matrices.
    let q = ops::quantize(&w, &Default::default()).unwrap();
    assert_eq!(q.weights.shape(), &[2, 3, 8]);
    assert_eq!(q.scales.shape(), &[2, 3, 1]);
    // Scales take the input dtype; dequantize can pick the output dtype.
    for dtype in [Dtype::Float16, Dtype::Bfloat16] {
        let wd = w.astype(dtype).unwrap();
        let q = ops::quantize(&wd, &Default::default()).unwrap();
        assert_eq!(q.scales.dtype(), dtype);
        let deq = q.dequantize(&Default::default(), None).unwrap();
        assert_eq!(deq.dtype(), dtype);
        let deq32 = q
            .dequantize(&Default::default(), Some(Dtype::Float32))
            .unwrap();
        assert_eq!(deq32.dtype(), Dtype::Float32);
        // One step of 4 bits over the range [-1, 1].
        assert_close(&deq32, &values(&wd), 0.0, 2.0 / 15.0 + 1e-2);
    }
    // A transposed input quantizes like its contiguous copy.
    let wt = f32_sample(&[64, 4], 3, -1.0, 1.0).t().unwrap();
    let a = ops::quantize(&wt, &Default::default()).unwrap();
    let b = ops::quantize(&ops::contiguous(&wt).unwrap(), &Default::default()).unwrap();
    assert_eq!(
        a.weights.to_vec::<u32>().unwrap(),
        b.weights.to_vec::<u32>().unwrap()
    );
    assert_close(&a.scales, &values(&b.scales), 0.0, 0.0);
    // No rows at all.
    let empty = Array::zeros::<f32>(&[0, 64]).unwrap();
    let q = ops::quantize(&empty, &Default::default()).unwrap();
    assert_eq!(q.weights.shape(), &[0, 8]);
    assert_eq!(q.weights.size(), 0);
}

#[test]
fn quantize_errors() {
    let w = Array::ones::<f32>(&[4, 64]).unwrap();
    let m = mlx_err(ops::quantize(&w, &QuantizeOptions::default().with_bits(7)));
    assert!(
        m.contains("The requested number of bits 7 is not supported"),
        "{m}"
    );
    let w30 = Array::ones::<f32>(&[4, 30]).unwrap();
    let m = mlx_err(ops::quantize(&w30, &Default::default()));
    assert!(
        m.contains("needs to be divisible by the quantization group size 64"),
        "{m}"
    );
    let w1 = Array::ones::<f32>(&[64]).unwrap();
    let m = mlx_err(ops::quantize(&w1, &Default::default()));
    assert!(m.contains("must have at least 2 dimension"), "{m}");
    let m = mlx_err(ops::quantize(
        &w,
        &QuantizeOptions::new(QuantizationMode::Mxfp4).with_group_size(64),
    ));
    assert!(m.contains("[quantize]"), "{m}");
    // Mode names.
    assert_eq!(
        "nvfp4".parse::<QuantizationMode>().unwrap(),
        QuantizationMode::Nvfp4
    );
    assert_eq!(QuantizationMode::Mxfp8.name(), "mxfp8");
    let e = "int4".parse::<QuantizationMode>().unwrap_err();
    assert!(
        e.message().contains("unknown quantization mode 'int4'"),
        "{e}"
    );
    // quantized_matmul takes no global scale.
    let q = ops::quantize(&w, &Default::default()).unwrap();
    let gs = Array::scalar(1.0f32);
    let x = Array::ones::<f32>(&[1, 64]).unwrap();
    let e = ops::quantized_matmul(
        &x,
        &q.weights,
        &q.scales,
        q.biases.as_ref(),
        true,
        &QuantizeOptions::default().with_global_scale(&gs),
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    // Shapes that do not match.
    let x = Array::ones::<f32>(&[1, 32]).unwrap();
    let m = mlx_err(ops::quantized_matmul(
        &x,
        &q.weights,
        &q.scales,
        q.biases.as_ref(),
        true,
        &Default::default(),
    ));
    assert!(m.contains("[quantized_matmul]"), "{m}");
}

// ---- floating-point modes --------------------------------------------------------------------

#[test]
fn fp_modes_decode_by_hand() {
    let w = f32_sample(&[2, 64], 5, -3.0, 3.0);
    let wv = values(&w);
    for (mode, group, bits, rel) in [
        (QuantizationMode::Mxfp4, 32usize, 4usize, 0.5),
        (QuantizationMode::Mxfp8, 32, 8, 0.0625),
        (QuantizationMode::Nvfp4, 16, 4, 0.5),
    ] {
        let opts = QuantizeOptions::new(mode);
        let q = ops::quantize(&w, &opts).unwrap();
        assert!(q.biases.is_none());
        assert_eq!(q.scales.dtype(), Dtype::Uint8);
        assert_eq!(q.scales.shape(), &[2, (64 / group) as i32]);
        assert_eq!(q.weights.shape(), &[2, (64 * bits / 32) as i32]);
        let words = q.weights.to_vec::<u32>().unwrap();
        let scales = q.scales.to_vec::<u8>().unwrap();
        let codes = unpack(&words, bits, 128);
        let decoded: Vec<f64> = codes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let s = scales[i / group];
                let scale = if mode == QuantizationMode::Nvfp4 {
                    e4m3(s)
                } else {
                    e8m0(s)
                };
                let v = if bits == 4 { e2m1(*c) } else { e4m3(*c as u8) };
                v * scale
            })
            .collect();
        let deq =
            ops::dequantize(&q.weights, &q.scales, None, &opts, Some(Dtype::Float32)).unwrap();
        assert_close(&deq, &decoded, 1e-6, 1e-6);
        // Default output type: bfloat16.
        let deq_default = q.dequantize(&opts, None).unwrap();
        assert_eq!(deq_default.dtype(), Dtype::Bfloat16);
        // Error bound: relative to the largest magnitude of the group.
        for g in 0..128 / group {
            let grp = &wv[g * group..(g + 1) * group];
            let max = grp.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (i, x) in grp.iter().enumerate() {
                let d = decoded[g * group + i];
                assert!((d - x).abs() <= rel * max, "{mode:?} group {g}: {x} -> {d}");
            }
        }
    }
}

#[test]
fn nvfp4_global_scale_reaches_mlx() {
    // MLX's CPU backend does not implement global scales (0.32.4), so only check that the
    // parameter reaches the op: it changes the quantization.
    let w = f32_sample(&[2, 32], 6, -100.0, 100.0);
    let gs = Array::scalar(0.05f32);
    let plain = ops::quantize(&w, &QuantizeOptions::new(QuantizationMode::Nvfp4)).unwrap();
    let opts = QuantizeOptions::new(QuantizationMode::Nvfp4).with_global_scale(&gs);
    let scaled = ops::quantize(&w, &opts).unwrap();
    assert_eq!(scaled.weights.shape(), plain.weights.shape());
    assert_eq!(scaled.scales.shape(), plain.scales.shape());
    assert_ne!(
        scaled.scales.to_vec::<u8>().unwrap(),
        plain.scales.to_vec::<u8>().unwrap()
    );
    // A global scale of the wrong dtype is rejected.
    let bad = Array::scalar(1i32);
    let opts = QuantizeOptions::new(QuantizationMode::Nvfp4).with_global_scale(&bad);
    assert!(matches!(ops::quantize(&w, &opts), Err(Error::Mlx(_))));
}

// ---- quantized matmuls -------------------------------------------------------------------------

#[test]
fn quantized_matmul_equals_matmul_with_dequantized_weights() {
    let x = f32_sample(&[3, 64], 7, -1.0, 1.0);
    for mode in [
        QuantizationMode::Affine,
        QuantizationMode::Mxfp4,
        QuantizationMode::Mxfp8,
        QuantizationMode::Nvfp4,
    ] {
        let opts = QuantizeOptions::new(mode);
        // transpose: x [3, 64] @ w[5, 64]ᵀ
        let w = f32_sample(&[5, 64], 8, -1.0, 1.0);
        let q = ops::quantize(&w, &opts).unwrap();
        let deq = q.dequantize(&opts, Some(Dtype::Float32)).unwrap();
        let got = ops::quantized_matmul(&x, &q.weights, &q.scales, q.biases.as_ref(), true, &opts)
            .unwrap();
        assert_eq!(got.shape(), &[3, 5]);
        let want = ops::matmul(&x, &deq.t().unwrap()).unwrap();
        assert_close(&got, &values(&want), 1e-4, 1e-4);
        // no transpose: x [3, 64] @ w [64, 32] (quantized along its last axis)
        let w2 = f32_sample(&[64, 64], 9, -1.0, 1.0);
        let q2 = ops::quantize(&w2, &opts).unwrap();
        let deq2 = q2.dequantize(&opts, Some(Dtype::Float32)).unwrap();
        let got = ops::quantized_matmul(
            &x,
            &q2.weights,
            &q2.scales,
            q2.biases.as_ref(),
            false,
            &opts,
        )
        .unwrap();
        let want = ops::matmul(&x, &deq2).unwrap();
        assert_close(&got, &values(&want), 1e-4, 1e-4);
    }
    // Batched and transposed activations.
    let xt = f32_sample(&[2, 64, 3], 10, -1.0, 1.0)
        .transpose(Some(&[0, 2, 1]))
        .unwrap();
    let w = f32_sample(&[4, 64], 11, -1.0, 1.0);
    let q = ops::quantize(&w, &Default::default()).unwrap();
    let deq = q.dequantize(&Default::default(), None).unwrap();
    let got = ops::quantized_matmul(
        &xt,
        &q.weights,
        &q.scales,
        q.biases.as_ref(),
        true,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(got.shape(), &[2, 3, 4]);
    let want = ops::matmul(&xt, &deq.t().unwrap()).unwrap();
    assert_close(&got, &values(&want), 1e-4, 1e-4);
}

#[test]
fn quantized_matmul_gradient() {
    let w = f32_sample(&[3, 32], 12, -1.0, 1.0);
    let opts = QuantizeOptions::default().with_group_size(32);
    let q = ops::quantize(&w, &opts).unwrap();
    let x = f32_sample(&[2, 32], 13, -1.0, 1.0);
    let c = f32_sample(&[2, 3], 14, -1.0, 1.0);
    let f = |a: &[Array]| {
        let y =
            ops::quantized_matmul(&a[0], &q.weights, &q.scales, q.biases.as_ref(), true, &opts)?;
        ops::sum(&ops::multiply(&y, &c)?, None, false)
    };
    check_grad(f, &[x], 0, 1e-2, 1e-2);
}

#[test]
fn gather_qmm_picks_experts() {
    // Three expert matrices [3, 4, 64]; rows of x pick experts by index.
    let w = f32_sample(&[3, 4, 64], 15, -1.0, 1.0);
    let q = ops::quantize(&w, &Default::default()).unwrap();
    let deq = q.dequantize(&Default::default(), None).unwrap();
    let x = f32_sample(&[2, 1, 64], 16, -1.0, 1.0);
    let rhs = Array::from_slice(&[2u32, 0], &[2]).unwrap();
    let got = ops::gather_qmm(
        &x,
        &q.weights,
        &q.scales,
        q.biases.as_ref(),
        None,
        Some(&rhs),
        true,
        &Default::default(),
        false,
    )
    .unwrap();
    assert_eq!(got.shape(), &[2, 1, 4]);
    // Reference: row b times expert rhs[b], from the dequantized weights.
    let xv = values(&x);
    let dv = values(&deq);
    let mut want = Vec::new();
    for (b, e) in [(0usize, 2usize), (1, 0)] {
        for n in 0..4 {
            let mut s = 0.0;
            for k in 0..64 {
                s += xv[b * 64 + k] * dv[(e * 4 + n) * 64 + k];
            }
            want.push(s);
        }
    }
    assert_close(&got, &want, 1e-4, 1e-4);
    // lhs_indices choose rows of x the same way.
    let lhs = Array::from_slice(&[1u32, 1], &[2]).unwrap();
    let got = ops::gather_qmm(
        &x,
        &q.weights,
        &q.scales,
        q.biases.as_ref(),
        Some(&lhs),
        Some(&rhs),
        true,
        &Default::default(),
        false,
    )
    .unwrap();
    let mut want = Vec::new();
    for e in [2usize, 0] {
        for n in 0..4 {
            want.push(
                (0..64)
                    .map(|k| xv[64 + k] * dv[(e * 4 + n) * 64 + k])
                    .sum::<f64>(),
            );
        }
    }
    assert_close(&got, &want, 1e-4, 1e-4);
    // Out-of-range shapes are rejected.
    let bad = Array::from_slice(&[1.0f32], &[1]).unwrap();
    assert!(matches!(
        ops::gather_qmm(
            &x,
            &q.weights,
            &q.scales,
            q.biases.as_ref(),
            None,
            Some(&bad),
            true,
            &Default::default(),
            false
        ),
        Err(Error::Mlx(_))
    ));
}

/// `qqmm` reference: `x` quantized and dequantized like the weights, times the dequantized `w`.
fn qqmm_reference(x: &Array, q: &ops::Quantized, mode: QuantizationMode) -> Vec<f64> {
    let opts = QuantizeOptions::new(mode);
    let xq = ops::quantize(x, &opts)
        .unwrap()
        .dequantize(&opts, Some(Dtype::Float32))
        .unwrap();
    let wd = q.dequantize(&opts, Some(Dtype::Float32)).unwrap();
    values(&ops::matmul(&xq, &wd.t().unwrap()).unwrap())
}

#[test]
fn qqmm_with_quantized_weights() {
    let w = f32_sample(&[4, 64], 17, -1.0, 1.0);
    let x = f32_sample(&[1, 64], 18, -1.0, 1.0);
    for mode in [QuantizationMode::Mxfp8, QuantizationMode::Nvfp4] {
        let q = ops::quantize(&w, &QuantizeOptions::new(mode)).unwrap();
        let got = ops::qqmm(&x, &q.weights, Some(&q.scales), &QqmmOptions::new(mode)).unwrap();
        assert_eq!(got.shape(), &[1, 4]);
        assert_close(&got, &qqmm_reference(&x, &q, mode), 1e-4, 1e-4);
        // gather_qqmm: GPU backends only.
        match ops::gather_qqmm(
            &x,
            &q.weights,
            Some(&q.scales),
            None,
            None,
            &QqmmOptions::new(mode),
            false,
        )
        .and_then(|a| a.eval().map(|_| a))
        {
            Ok(got) => assert_close(&got, &qqmm_reference(&x, &q, mode), 1e-4, 1e-4),
            Err(Error::Mlx(m)) => {
                assert!(mlx::gpu_backend().is_none(), "{m}");
                assert!(m.contains("[GatherQQMM] NYI"), "{m}");
            }
            Err(e) => panic!("{e:?}"),
        }
        // Several rows: the general case, which only GPU backends implement.
        let x3 = f32_sample(&[3, 64], 19, -1.0, 1.0);
        match ops::qqmm(&x3, &q.weights, Some(&q.scales), &QqmmOptions::new(mode))
            .and_then(|a| a.eval().map(|_| a))
        {
            Ok(got) => assert_close(&got, &qqmm_reference(&x3, &q, mode), 1e-4, 1e-4),
            Err(Error::Mlx(m)) => {
                assert!(mlx::gpu_backend().is_none(), "{m}");
                assert!(m.contains("[QQMatmul] NYI"), "{m}");
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    // Inner dimensions that do not match.
    let q = ops::quantize(&w, &QuantizeOptions::new(QuantizationMode::Mxfp8)).unwrap();
    let x32 = f32_sample(&[1, 32], 20, -1.0, 1.0);
    let r = ops::qqmm(
        &x32,
        &q.weights,
        Some(&q.scales),
        &QqmmOptions::new(QuantizationMode::Mxfp8),
    )
    .and_then(|a| a.eval().map(|_| a));
    assert!(matches!(r, Err(Error::Mlx(_))), "{r:?}");
}

// ---- fp8 -------------------------------------------------------------------------------------

#[test]
fn fp8_conversions() {
    let x = Array::from_slice(&[1.0f32, -2.5, 0.1, 448.0, 1000.0, 0.0, -0.015625], &[7]).unwrap();
    let f = ops::to_fp8(&x).unwrap();
    assert_eq!(f.dtype(), Dtype::Uint8);
    let codes = f.to_vec::<u8>().unwrap();
    // Each code decodes to the nearest e4m3 value (saturating at 448).
    let want = [1.0, -2.5, 0.1015625, 448.0, 448.0, 0.0, -0.015625];
    for (c, w) in codes.iter().zip(want) {
        assert_eq!(e4m3(*c), w, "code {c:#x}");
    }
    assert_eq!(codes[0], 0x38);
    assert_eq!(codes[1], 0xc2);
    let back = ops::from_fp8(&f, Dtype::Float32).unwrap();
    assert_close(&back, &want, 0.0, 0.0);
    // Every finite code decodes as by hand, in float16 and bfloat16 too.
    let all: Vec<u8> = (0..=255u8).filter(|c| c & 0x7f != 0x7f).collect();
    let arr = Array::from_slice(&all, &[all.len() as i32]).unwrap();
    let want: Vec<f64> = all.iter().map(|c| e4m3(*c)).collect();
    for dtype in [Dtype::Float32, Dtype::Float16, Dtype::Bfloat16] {
        let got = ops::from_fp8(&arr, dtype).unwrap();
        assert_eq!(got.dtype(), dtype);
        assert_close(&got, &want, 0.0, 0.0);
    }
    // Round trip through float16 input.
    let h = x.astype(Dtype::Float16).unwrap();
    assert_eq!(ops::to_fp8(&h).unwrap().to_vec::<u8>().unwrap(), codes);
}
