//! `rfft` / `irfft` on Mlx against a naive DFT computed here in float64 (burn-ndarray has no
//! FFT): values, `n` padding and cropping, any dimension, non-contiguous inputs, dtypes, and
//! round trips.

use crate::common;

use std::f64::consts::PI;

use burn::tensor::signal::{irfft, rfft};
use burn::tensor::{DType, Tensor, TensorData};
use common::*;

/// Applies `f` to every 1-D line along `dim` of `x` (shape `shape`), producing lines of length
/// `out_len`: returns the output values (shape `shape` with `out_len` at `dim`).
fn along(
    x: &[f64],
    shape: &[usize],
    dim: usize,
    out_len: usize,
    f: impl Fn(&[f64]) -> Vec<f64>,
) -> Vec<f64> {
    let mut out_shape = shape.to_vec();
    out_shape[dim] = out_len;
    let (si, so) = (strides(shape), strides(&out_shape));
    let mut out = vec![0.0; out_shape.iter().product()];
    let lines: usize = shape
        .iter()
        .enumerate()
        .filter(|(d, _)| *d != dim)
        .map(|(_, n)| n)
        .product();
    for line in 0..lines {
        // The line's coordinates in the other dims.
        let (mut rest, mut base_in, mut base_out) = (line, 0, 0);
        for d in (0..shape.len()).rev() {
            if d == dim {
                continue;
            }
            let c = rest % shape[d];
            rest /= shape[d];
            base_in += c * si[d];
            base_out += c * so[d];
        }
        let input: Vec<f64> = (0..shape[dim]).map(|i| x[base_in + i * si[dim]]).collect();
        for (j, v) in f(&input).into_iter().enumerate() {
            out[base_out + j * so[dim]] = v;
        }
    }
    out
}

/// Naive real DFT of `x` cropped / zero-padded to `n`: (re, im) of the `n / 2 + 1` bins.
fn dft(x: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let bins = n / 2 + 1;
    let sample = |t: usize| if t < x.len() { x[t] } else { 0.0 };
    let re = (0..bins)
        .map(|k| {
            (0..n)
                .map(|t| sample(t) * (2.0 * PI * (k * t) as f64 / n as f64).cos())
                .sum()
        })
        .collect();
    let im = (0..bins)
        .map(|k| {
            (0..n)
                .map(|t| -sample(t) * (2.0 * PI * (k * t) as f64 / n as f64).sin())
                .sum()
        })
        .collect();
    (re, im)
}

/// Naive inverse real DFT of `n` samples from bins `re + i·im` (cropped / zero-padded to
/// `n / 2 + 1`); the imaginary parts of the zero and Nyquist bins do not contribute.
fn idft(re: &[f64], im: &[f64], n: usize) -> Vec<f64> {
    let bin = |k: usize| {
        if k < re.len() {
            (re[k], im[k])
        } else {
            (0.0, 0.0)
        }
    };
    (0..n)
        .map(|t| {
            let mut acc = bin(0).0;
            for k in 1..n.div_ceil(2) {
                let (a, b) = bin(k);
                let th = 2.0 * PI * (k * t) as f64 / n as f64;
                acc += 2.0 * (a * th.cos() - b * th.sin());
            }
            if n.is_multiple_of(2) {
                acc += bin(n / 2).0 * if t.is_multiple_of(2) { 1.0 } else { -1.0 };
            }
            acc / n as f64
        })
        .collect()
}

fn expected_rfft(x: &TensorData, dim: usize, n: usize) -> (TensorData, TensorData) {
    let shape = x.shape.to_vec();
    let vals = values(x);
    let bins = n / 2 + 1;
    let re = along(&vals, &shape, dim, bins, |l| dft(l, n).0);
    let im = along(&vals, &shape, dim, bins, |l| dft(l, n).1);
    let mut out_shape = shape.clone();
    out_shape[dim] = bins;
    (
        TensorData::new(re, out_shape.clone()),
        TensorData::new(im, out_shape),
    )
}

#[test]
fn rfft_values_any_dim_and_n() {
    // (shape, dim, n): n None, padding and cropping, first / middle / last dims.
    let cases: [(Vec<usize>, usize, Option<usize>); 8] = [
        (vec![8], 0, None),
        (vec![3, 8, 2], 1, None),
        (vec![2, 16], 1, None),
        (vec![4, 3], 0, None),
        (vec![2, 6], 1, Some(8)),
        (vec![2, 16, 3], 1, Some(8)),
        (vec![5, 2], 0, Some(16)),
        (vec![3, 1], 1, Some(1)),
    ];
    for (i, (shape, dim, n)) in cases.into_iter().enumerate() {
        let x = floats_unit(&shape, 10 + i as u64);
        let size = n.unwrap_or(shape[dim]);
        let (re_e, im_e) = expected_rfft(&x, dim, size);
        macro_rules! check {
            ($d:literal) => {{
                let (re, im) = rfft(Tensor::<M, $d>::from_data(x.clone(), &mlx_device()), dim, n);
                let what = format!("rfft {shape:?} dim {dim} n {n:?}");
                assert_data_close(
                    &format!("{what} re"),
                    &re.into_data(),
                    &re_e,
                    Tol::new(1e-5, 1e-5),
                );
                assert_data_close(
                    &format!("{what} im"),
                    &im.into_data(),
                    &im_e,
                    Tol::new(1e-5, 1e-5),
                );
            }};
        }
        match shape.len() {
            1 => check!(1),
            2 => check!(2),
            _ => check!(3),
        }
    }
}

#[test]
fn rfft_non_contiguous_and_dtypes() {
    // A [4, 8] signal built as [8, 4] and transposed, transformed along its (strided) last dim.
    let data = floats_unit([8, 4], 3);
    let x = Tensor::<M, 2>::from_data(data.clone(), &mlx_device()).transpose();
    let contiguous = TensorData::new(
        {
            let v = values(&data);
            (0..32)
                .map(|k| v[(k % 8) * 4 + k / 8] as f32)
                .collect::<Vec<_>>()
        },
        [4, 8],
    );
    let (re_e, im_e) = expected_rfft(&contiguous, 1, 8);
    let (re, im) = rfft(x, 1, None);
    assert_data_close(
        "rfft transposed re",
        &re.into_data(),
        &re_e,
        Tol::new(1e-5, 1e-5),
    );
    assert_data_close(
        "rfft transposed im",
        &im.into_data(),
        &im_e,
        Tol::new(1e-5, 1e-5),
    );

    // Half precision and float64 keep their dtype (MLX transforms in single precision).
    let x = floats_unit([3, 16], 4);
    let (re_e, im_e) = expected_rfft(&x, 1, 16);
    for (dtype, tol) in [(DType::F64, 1e-5), (DType::F16, 2e-2), (DType::BF16, 1e-1)] {
        let (re, im) = rfft(
            Tensor::<M, 2>::from_data(x.clone(), (&mlx_device(), dtype)),
            1,
            None,
        );
        assert_eq!((re.dtype(), im.dtype()), (dtype, dtype));
        assert_data_close(
            &format!("rfft {dtype:?} re"),
            &re.into_data(),
            &re_e,
            Tol::new(tol, tol),
        );
        assert_data_close(
            &format!("rfft {dtype:?} im"),
            &im.into_data(),
            &im_e,
            Tol::new(tol, tol),
        );
    }
}

#[test]
fn irfft_values_with_n() {
    // (bins, n): default n = 2 (bins - 1), a longer output (spectrum padded), a shorter one
    // (spectrum cropped).
    for (i, (bins, n)) in [
        (5, None),
        (9, None),
        (3, Some(8)),
        (9, Some(4)),
        (5, Some(8)),
        (2, Some(2)),
    ]
    .into_iter()
    .enumerate()
    {
        let shape = [3, bins];
        let re = floats_unit(shape, 20 + i as u64);
        let im = floats_unit(shape, 40 + i as u64);
        let size = n.unwrap_or(2 * (bins - 1));
        let (rv, iv) = (values(&re), values(&im));
        let expected: Vec<f64> = (0..3)
            .flat_map(|r| {
                idft(
                    &rv[r * bins..(r + 1) * bins],
                    &iv[r * bins..(r + 1) * bins],
                    size,
                )
            })
            .collect();
        let expected = TensorData::new(expected, [3, size]);
        let out = irfft(
            Tensor::<M, 2>::from_data(re.clone(), &mlx_device()),
            Tensor::<M, 2>::from_data(im.clone(), &mlx_device()),
            1,
            n,
        );
        assert_data_close(
            &format!("irfft bins {bins} n {n:?}"),
            &out.into_data(),
            &expected,
            Tol::new(1e-5, 1e-5),
        );

        // Along dim 0 of the transposed (non-contiguous) spectrum: the same signals, transposed.
        let out_t = irfft(
            Tensor::<M, 2>::from_data(re, &mlx_device()).transpose(),
            Tensor::<M, 2>::from_data(im, &mlx_device()).transpose(),
            0,
            n,
        );
        assert_data_close(
            &format!("irfft dim 0 bins {bins} n {n:?}"),
            &out_t.transpose().into_data(),
            &expected,
            Tol::new(1e-5, 1e-5),
        );
    }
}

#[test]
fn round_trips() {
    // irfft(rfft(x, n), n) is x cropped or zero-padded to n.
    for (len, n) in [
        (16, None),
        (8, Some(8)),
        (6, Some(8)),
        (20, Some(16)),
        (32, Some(4)),
    ] {
        let x = floats_unit([2, 3, len], 7);
        let size = n.unwrap_or(len);
        let (re, im) = rfft(Tensor::<M, 3>::from_data(x.clone(), &mlx_device()), 2, n);
        let back = irfft(re, im, 2, n);
        let v = values(&x);
        let v = &v;
        let expected: Vec<f64> = (0..6)
            .flat_map(|r| (0..size).map(move |t| if t < len { v[r * len + t] } else { 0.0 }))
            .collect();
        assert_data_close(
            &format!("round trip len {len} n {n:?}"),
            &back.into_data(),
            &TensorData::new(expected, [2, 3, size]),
            Tol::new(1e-5, 1e-5),
        );
    }
    // float64 in, float64 out.
    let x = floats_unit([4, 8], 8);
    let t = Tensor::<M, 2>::from_data(x.clone(), (&mlx_device(), DType::F64));
    let (re, im) = rfft(t, 1, None);
    let back = irfft(re, im, 1, None);
    assert_eq!(back.dtype(), DType::F64);
    assert_data_close(
        "round trip f64",
        &back.into_data(),
        &x,
        Tol::new(1e-5, 1e-5),
    );
}
