//! `mlx::fft` against a naive discrete Fourier transform written here.

use crate::common;
use common::assert_err;

use std::f64::consts::PI;

use common::{assert_close, check_grad, sample, values};
use mlx::fft::{self, FftNorm, PadMode, StftOptions};
use mlx::{Array, Complex32, Dtype, Error, ops};

type C = (f64, f64);

/// Naive DFT of a complex sequence; `inverse` uses +i and divides by `n`.
fn dft(x: &[C], inverse: bool) -> Vec<C> {
    let n = x.len();
    let sign = if inverse { 1.0 } else { -1.0 };
    (0..n)
        .map(|k| {
            let mut acc = (0.0, 0.0);
            for (j, &(re, im)) in x.iter().enumerate() {
                let t = sign * 2.0 * PI * (k * j) as f64 / n as f64;
                let (c, s) = (t.cos(), t.sin());
                acc.0 += re * c - im * s;
                acc.1 += re * s + im * c;
            }
            if inverse {
                (acc.0 / n as f64, acc.1 / n as f64)
            } else {
                acc
            }
        })
        .collect()
}

/// `x` cropped or zero-padded to `n`.
fn resize(x: &[C], n: usize) -> Vec<C> {
    (0..n)
        .map(|i| x.get(i).copied().unwrap_or((0.0, 0.0)))
        .collect()
}

fn real(x: &[f64]) -> Vec<C> {
    x.iter().map(|&v| (v, 0.0)).collect()
}

/// Applies `f` to every 1-d line along `axis` of a row-major array of `shape`.
fn along_axis(
    data: &[C],
    shape: &[usize],
    axis: usize,
    f: impl Fn(&[C]) -> Vec<C>,
) -> (Vec<C>, Vec<usize>) {
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let len = shape[axis];
    let probe = f(&vec![(0.0, 0.0); len]);
    let new_len = probe.len();
    let mut out = vec![(0.0, 0.0); outer * new_len * inner];
    for o in 0..outer {
        for i in 0..inner {
            let line: Vec<C> = (0..len).map(|l| data[(o * len + l) * inner + i]).collect();
            for (l, v) in f(&line).into_iter().enumerate() {
                out[(o * new_len + l) * inner + i] = v;
            }
        }
    }
    let mut new_shape = shape.to_vec();
    new_shape[axis] = new_len;
    (out, new_shape)
}

fn complex_values(a: &Array) -> Vec<C> {
    assert_eq!(a.dtype(), Dtype::Complex64);
    a.to_vec::<Complex32>()
        .unwrap()
        .iter()
        .map(|c| (c.re as f64, c.im as f64))
        .collect()
}

fn assert_complex_close(got: &Array, want: &[C], tol: f64) {
    let g = complex_values(got);
    assert_eq!(g.len(), want.len(), "lengths differ: {g:?} vs {want:?}");
    let scale = 1.0
        + want
            .iter()
            .map(|c| c.0.abs().max(c.1.abs()))
            .fold(0.0, f64::max);
    for (i, (x, y)) in g.iter().zip(want).enumerate() {
        assert!(
            (x.0 - y.0).abs() <= tol * scale && (x.1 - y.1).abs() <= tol * scale,
            "element {i}: got {x:?}, want {y:?}\n got  {g:?}\n want {want:?}"
        );
    }
}

fn complex_array(x: &[C], shape: &[i32]) -> Array {
    let data: Vec<Complex32> = x
        .iter()
        .map(|&(re, im)| Complex32::new(re as f32, im as f32))
        .collect();
    Array::from_slice(&data, shape).unwrap()
}

const B: FftNorm = FftNorm::Backward;

// ---- one-dimensional complex transforms -------------------------------------------------------------

#[test]
fn fft_of_real_and_complex_input_matches_the_naive_dft() {
    for n in [1usize, 7, 8] {
        let x = values(&sample(&[n as i32], n as u64, -1.0, 1.0));
        let out = fft::fft(
            &Array::from_slice(&x, &[n as i32])
                .unwrap()
                .astype(Dtype::Float32)
                .unwrap(),
            None,
            -1,
            B,
        )
        .unwrap();
        assert_eq!(out.shape(), &[n as i32]);
        assert_complex_close(&out, &dft(&real(&x), false), 1e-5);
    }
    let re = values(&sample(&[6], 1, -1.0, 1.0));
    let im = values(&sample(&[6], 2, -1.0, 1.0));
    let z: Vec<C> = re.iter().zip(&im).map(|(&a, &b)| (a, b)).collect();
    let out = fft::fft(&complex_array(&z, &[6]), None, 0, B).unwrap();
    assert_complex_close(&out, &dft(&z, false), 1e-5);
    let back = fft::ifft(&out, None, 0, B).unwrap();
    assert_complex_close(&back, &z, 1e-5);
    assert_complex_close(
        &fft::ifft(&complex_array(&z, &[6]), None, -1, B).unwrap(),
        &dft(&z, true),
        1e-5,
    );
}

#[test]
fn fft_pads_or_crops_to_n() {
    let x = values(&sample(&[6], 3, -1.0, 1.0));
    let a = Array::from_slice(&x, &[6])
        .unwrap()
        .astype(Dtype::Float32)
        .unwrap();
    let padded = fft::fft(&a, Some(10), -1, B).unwrap();
    assert_eq!(padded.shape(), &[10]);
    assert_complex_close(&padded, &dft(&resize(&real(&x), 10), false), 1e-5);
    let cropped = fft::fft(&a, Some(4), 0, B).unwrap();
    assert_complex_close(&cropped, &dft(&resize(&real(&x), 4), false), 1e-5);
    let inv = fft::ifft(&a, Some(9), 0, B).unwrap();
    assert_complex_close(&inv, &dft(&resize(&real(&x), 9), true), 1e-5);
}

#[test]
fn fft_along_each_axis_of_a_matrix_and_through_a_transpose() {
    let x = values(&sample(&[4, 3], 4, -1.0, 1.0));
    let a = Array::from_slice(&x, &[4, 3])
        .unwrap()
        .astype(Dtype::Float32)
        .unwrap();
    let (rows, _) = along_axis(&real(&x), &[4, 3], 1, |l| dft(l, false));
    assert_complex_close(&fft::fft(&a, None, -1, B).unwrap(), &rows, 1e-5);
    assert_complex_close(&fft::fft(&a, None, 1, B).unwrap(), &rows, 1e-5);
    let (cols, _) = along_axis(&real(&x), &[4, 3], 0, |l| dft(l, false));
    assert_complex_close(&fft::fft(&a, None, 0, B).unwrap(), &cols, 1e-5);
    assert_complex_close(&fft::fft(&a, None, -2, B).unwrap(), &cols, 1e-5);
    // The transpose's last axis is the original's first.
    let (cols_t, _) = along_axis(&real(&x), &[4, 3], 0, |l| dft(&resize(l, 5), false));
    let got = fft::fft(&a.t().unwrap(), Some(5), -1, B).unwrap();
    assert_eq!(got.shape(), &[3, 5]);
    // cols_t is [5, 3]; the result is its transpose.
    let mut want = vec![(0.0, 0.0); 15];
    for i in 0..5 {
        for j in 0..3 {
            want[j * 5 + i] = cols_t[i * 3 + j];
        }
    }
    assert_complex_close(&got, &want, 1e-5);
}

#[test]
fn normalization_modes_scale_the_transforms() {
    let x = values(&sample(&[8], 5, -1.0, 1.0));
    let a = Array::from_slice(&x, &[8])
        .unwrap()
        .astype(Dtype::Float32)
        .unwrap();
    let full = dft(&real(&x), false);
    let scaled = |s: f64| full.iter().map(|c| (c.0 * s, c.1 * s)).collect::<Vec<_>>();
    assert_complex_close(
        &fft::fft(&a, None, -1, FftNorm::Ortho).unwrap(),
        &scaled(1.0 / 8f64.sqrt()),
        1e-5,
    );
    assert_complex_close(
        &fft::fft(&a, None, -1, FftNorm::Forward).unwrap(),
        &scaled(1.0 / 8.0),
        1e-5,
    );
    // The inverse of each mode undoes the forward transform of the same mode.
    for norm in [FftNorm::Backward, FftNorm::Ortho, FftNorm::Forward] {
        let back = fft::ifft(&fft::fft(&a, None, -1, norm).unwrap(), None, -1, norm).unwrap();
        assert_complex_close(&back, &real(&x), 1e-5);
    }
    assert_eq!(FftNorm::default(), FftNorm::Backward);
}

#[test]
fn inputs_of_every_real_dtype_are_transformed_in_complex64() {
    let x = [1.0, 2.0, 0.0, -1.0];
    let want = dft(&real(&x), false);
    for dtype in [
        Dtype::Int32,
        Dtype::Uint8,
        Dtype::Float16,
        Dtype::Bfloat16,
        Dtype::Float32,
        Dtype::Float64,
    ] {
        let src: Vec<f64> = if dtype == Dtype::Uint8 {
            vec![1.0, 2.0, 0.0, 3.0]
        } else {
            x.to_vec()
        };
        let a = Array::from_slice(&src, &[4])
            .unwrap()
            .astype(dtype)
            .unwrap();
        let out = fft::fft(&a, None, -1, B).unwrap();
        assert_eq!(out.dtype(), Dtype::Complex64, "{dtype}");
        let w = if dtype == Dtype::Uint8 {
            dft(&real(&src), false)
        } else {
            want.clone()
        };
        assert_complex_close(&out, &w, 1e-5);
    }
    let t = Array::from_slice(&[true, false], &[2]).unwrap();
    assert_complex_close(
        &fft::fft(&t, None, -1, B).unwrap(),
        &[(1.0, 0.0), (1.0, 0.0)],
        0.0,
    );
}

#[test]
fn empty_batches_transform_to_empty_arrays() {
    let e = ops::zeros(&[0, 4], Dtype::Float32).unwrap();
    let out = fft::fft(&e, None, -1, B).unwrap();
    assert_eq!(out.shape(), &[0, 4]);
    assert_eq!(out.dtype(), Dtype::Complex64);
    out.eval().unwrap();
    let out = fft::rfft(&e, None, -1, B).unwrap();
    assert_eq!(out.shape(), &[0, 3]);
    out.eval().unwrap();
}

#[test]
fn fft_errors() {
    let a = Array::arange::<f32>(4).unwrap();
    assert_err(
        fft::fft(&a, Some(0), -1, B),
        "[fftn] Invalid FFT output size requested (0)",
    );
    assert_err(
        fft::fftn(
            &Array::ones::<f32>(&[4, 4]).unwrap(),
            None,
            Some(&[0, 0]),
            B,
        ),
        "[fftn] Duplicated axis received (0,0)",
    );
    assert_err(
        fft::fftn(
            &Array::ones::<f32>(&[4, 4]).unwrap(),
            Some(&[4]),
            Some(&[0, 1]),
            B,
        ),
        "[fftn] Shape and axes have different sizes",
    );
    // An axis out of range: MLX's message is its container's ("SmallVector out of range").
    assert_err(fft::fft(&a, None, 3, B), "out of range");
    assert_err(fft::fft(&a, None, -3, B), "out of range");
    // A zero-length axis cannot be transformed without a size.
    assert_err(
        fft::fft(&ops::zeros(&[4, 0], Dtype::Float32).unwrap(), None, -1, B),
        "[fftn] Invalid FFT output size requested (0)",
    );
    assert_err(
        fft::fftshift(&a, Some(&[3])),
        "[fftshift] Invalid axis 3 for array with 1 dimensions",
    );
}

// ---- multi-dimensional transforms -------------------------------------------------------------------

fn dft2(x: &[C], shape: &[usize], inverse: bool) -> Vec<C> {
    let (rows, s) = along_axis(x, shape, shape.len() - 1, |l| dft(l, inverse));
    along_axis(&rows, &s, shape.len() - 2, |l| dft(l, inverse)).0
}

#[test]
fn fft2_and_fftn_match_separable_naive_transforms() {
    let x = values(&sample(&[2, 3, 4], 6, -1.0, 1.0));
    let a = Array::from_slice(&x, &[2, 3, 4])
        .unwrap()
        .astype(Dtype::Float32)
        .unwrap();
    // fft2 over the last two axes, batched over the first.
    let want2: Vec<C> = (0..2)
        .flat_map(|b| dft2(&real(&x[b * 12..b * 12 + 12]), &[3, 4], false))
        .collect();
    assert_complex_close(&fft::fft2(&a, None, None, B).unwrap(), &want2, 1e-5);
    assert_complex_close(
        &fft::fftn(&a, None, Some(&[-2, -1]), B).unwrap(),
        &want2,
        1e-5,
    );
    // fftn over every axis.
    let mut all = real(&x);
    let mut shape = vec![2, 3, 4];
    for axis in 0..3 {
        let (next, s) = along_axis(&all, &shape, axis, |l| dft(l, false));
        all = next;
        shape = s;
    }
    assert_complex_close(&fft::fftn(&a, None, None, B).unwrap(), &all, 1e-5);
    // ifftn undoes fftn.
    let back = fft::ifftn(&fft::fftn(&a, None, None, B).unwrap(), None, None, B).unwrap();
    assert_complex_close(&back, &real(&x), 1e-5);
    // Sizes: s without axes applies to the last axes; crop axis 1 to 2 and pad axis 2 to 5.
    let (p, s1) = along_axis(&real(&x), &[2, 3, 4], 2, |l| dft(&resize(l, 5), false));
    let (want, s2) = along_axis(&p, &s1, 1, |l| dft(&resize(l, 2), false));
    assert_eq!(s2, vec![2, 2, 5]);
    let got = fft::fftn(&a, Some(&[2, 5]), None, B).unwrap();
    assert_eq!(got.shape(), &[2, 2, 5]);
    assert_complex_close(&got, &want, 1e-5);
    assert_complex_close(&fft::fft2(&a, Some(&[2, 5]), None, B).unwrap(), &want, 1e-5);
    // fft2 over axes (0, 2) with explicit sizes.
    let (p, s1) = along_axis(&real(&x), &[2, 3, 4], 2, |l| dft(l, false));
    let (want, _) = along_axis(&p, &s1, 0, |l| dft(&resize(l, 3), false));
    let got = fft::fft2(&a, Some(&[3, 4]), Some(&[0, 2]), B).unwrap();
    assert_eq!(got.shape(), &[3, 3, 4]);
    assert_complex_close(&got, &want, 1e-5);
    // ifft2 of the naive 2-d transform.
    let z: Vec<C> = x[..12]
        .iter()
        .zip(&x[12..])
        .map(|(&r, &i)| (r, i))
        .collect();
    let got = fft::ifft2(&complex_array(&z, &[3, 4]), None, None, B).unwrap();
    assert_complex_close(&got, &dft2(&z, &[3, 4], true), 1e-5);
}

// ---- real transforms ----------------------------------------------------------------------------

#[test]
fn rfft_keeps_the_non_negative_frequencies() {
    for n in [7usize, 8] {
        let x = values(&sample(&[n as i32], 10 + n as u64, -1.0, 1.0));
        let a = Array::from_slice(&x, &[n as i32])
            .unwrap()
            .astype(Dtype::Float32)
            .unwrap();
        let out = fft::rfft(&a, None, -1, B).unwrap();
        assert_eq!(out.shape(), &[(n / 2 + 1) as i32]);
        assert_complex_close(&out, &dft(&real(&x), false)[..n / 2 + 1], 1e-5);
        // Padding with n.
        let out = fft::rfft(&a, Some(12), 0, B).unwrap();
        assert_complex_close(&out, &dft(&resize(&real(&x), 12), false)[..7], 1e-5);
        // Round trips, with n given for odd lengths.
        let back = fft::irfft(&fft::rfft(&a, None, -1, B).unwrap(), Some(n as i32), -1, B).unwrap();
        assert_eq!(back.dtype(), Dtype::Float32);
        assert_close(&back, &x, 1e-5, 1e-5);
    }
    // Default output size of irfft is 2 * (m - 1).
    let spec = complex_array(&[(4.0, 0.0), (1.0, -1.0), (0.0, 0.0)], &[3]);
    let out = fft::irfft(&spec, None, -1, B).unwrap();
    assert_eq!(out.shape(), &[4]);
    // Hermitian extension: [4, 1-i, 0, 1+i] → inverse DFT.
    let full = dft(&[(4.0, 0.0), (1.0, -1.0), (0.0, 0.0), (1.0, 1.0)], true);
    assert_close(
        &out,
        &full.iter().map(|c| c.0).collect::<Vec<_>>(),
        1e-6,
        1e-6,
    );
    // Along axis 0 of a matrix.
    let x = values(&sample(&[6, 2], 20, -1.0, 1.0));
    let a = Array::from_slice(&x, &[6, 2])
        .unwrap()
        .astype(Dtype::Float32)
        .unwrap();
    let (cols, _) = along_axis(&real(&x), &[6, 2], 0, |l| dft(l, false)[..4].to_vec());
    assert_complex_close(&fft::rfft(&a, None, 0, B).unwrap(), &cols, 1e-5);
    // Complex input: its real part is used.
    let z = complex_array(&[(1.0, 5.0), (2.0, -3.0), (3.0, 1.0), (4.0, 0.0)], &[4]);
    assert_complex_close(
        &fft::rfft(&z, None, -1, B).unwrap(),
        &dft(&real(&[1.0, 2.0, 3.0, 4.0]), false)[..3],
        1e-5,
    );
}

#[test]
fn multi_dimensional_real_transforms_round_trip() {
    let x = values(&sample(&[2, 4, 6], 21, -1.0, 1.0));
    let a = Array::from_slice(&x, &[2, 4, 6])
        .unwrap()
        .astype(Dtype::Float32)
        .unwrap();
    // rfft2 = full fft2 restricted to the first 4 frequencies of the last axis.
    let r2 = fft::rfft2(&a, None, None, B).unwrap();
    assert_eq!(r2.shape(), &[2, 4, 4]);
    let mut want = Vec::new();
    for b in 0..2 {
        let full = dft2(&real(&x[b * 24..b * 24 + 24]), &[4, 6], false);
        for i in 0..4 {
            want.extend_from_slice(&full[i * 6..i * 6 + 4]);
        }
    }
    assert_complex_close(&r2, &want, 1e-5);
    let back = fft::irfft2(&r2, Some(&[4, 6]), None, B).unwrap();
    assert_close(&back, &x, 1e-5, 1e-5);
    // rfftn over every axis, and back.
    let rn = fft::rfftn(&a, None, None, B).unwrap();
    assert_eq!(rn.shape(), &[2, 4, 4]);
    let back = fft::irfftn(&rn, Some(&[2, 4, 6]), None, B).unwrap();
    assert_eq!(back.shape(), &[2, 4, 6]);
    assert_close(&back, &x, 1e-5, 1e-5);
    // rfftn over axes (0, 1): the real transform is along axis 1.
    let rn = fft::rfftn(&a, None, Some(&[0, 1]), B).unwrap();
    assert_eq!(rn.shape(), &[2, 3, 6]);
    let back = fft::irfftn(&rn, Some(&[2, 4]), Some(&[0, 1]), B).unwrap();
    assert_close(&back, &x, 1e-5, 1e-5);
    // Default irfftn sizes: 2 * (m - 1) on the last axis.
    let out = fft::irfftn(
        &ops::ones(&[3, 3], Dtype::Complex64).unwrap(),
        None,
        None,
        B,
    )
    .unwrap();
    assert_eq!(out.shape(), &[3, 4]);
}

// ---- shifts and frequencies -----------------------------------------------------------------------

#[test]
fn fftshift_and_ifftshift_move_the_zero_frequency() {
    let odd = Array::arange::<i32>(5).unwrap();
    assert_eq!(
        fft::fftshift(&odd, None).unwrap().to_vec::<i32>().unwrap(),
        vec![3, 4, 0, 1, 2]
    );
    assert_eq!(
        fft::ifftshift(&odd, None).unwrap().to_vec::<i32>().unwrap(),
        vec![2, 3, 4, 0, 1]
    );
    let even = Array::arange::<f32>(4).unwrap();
    assert_close(
        &fft::fftshift(&even, None).unwrap(),
        &[2.0, 3.0, 0.0, 1.0],
        0.0,
        0.0,
    );
    // 2-d: all axes by default, or the given ones (negative counts from the end).
    let m = Array::arange::<i32>(6).unwrap().reshape(&[2, 3]).unwrap();
    assert_eq!(
        fft::fftshift(&m, None).unwrap().to_vec::<i32>().unwrap(),
        vec![5, 3, 4, 2, 0, 1]
    );
    assert_eq!(
        fft::fftshift(&m, Some(&[-1]))
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        vec![2, 0, 1, 5, 3, 4]
    );
    assert_eq!(
        fft::ifftshift(&m, Some(&[1]))
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        vec![1, 2, 0, 4, 5, 3]
    );
    assert_eq!(
        fft::fftshift(&m, Some(&[0]))
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        vec![3, 4, 5, 0, 1, 2]
    );
    // ifftshift undoes fftshift; a transposed input shifts in logical order.
    let t = m.t().unwrap();
    let shifted = fft::fftshift(&t, None).unwrap();
    assert_eq!(shifted.to_vec::<i32>().unwrap(), vec![5, 2, 3, 0, 4, 1]);
    assert_eq!(
        fft::ifftshift(&shifted, None)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        t.to_vec::<i32>().unwrap()
    );
    let e = fft::fftshift(&ops::zeros(&[0], Dtype::Float32).unwrap(), None).unwrap();
    assert_eq!(e.shape(), &[0]);
}

#[test]
fn sample_frequencies() {
    assert_close(
        &fft::fftfreq(5, 0.5).unwrap(),
        &[0.0, 0.4, 0.8, -0.8, -0.4],
        1e-6,
        0.0,
    );
    assert_close(
        &fft::fftfreq(4, 1.0).unwrap(),
        &[0.0, 0.25, -0.5, -0.25],
        0.0,
        0.0,
    );
    assert_close(&fft::rfftfreq(5, 0.5).unwrap(), &[0.0, 0.4, 0.8], 1e-6, 0.0);
    assert_close(&fft::rfftfreq(4, 1.0).unwrap(), &[0.0, 0.25, 0.5], 0.0, 0.0);
    assert_eq!(fft::fftfreq(4, 1.0).unwrap().dtype(), Dtype::Float32);
}

// ---- short-time transforms ----------------------------------------------------------------------

#[test]
fn stft_frames_match_naive_transforms() {
    let x = values(&sample(&[16], 30, -1.0, 1.0));
    let a = Array::from_slice(&x, &[16])
        .unwrap()
        .astype(Dtype::Float32)
        .unwrap();
    let opts = StftOptions::new()
        .with_n_fft(8)
        .with_hop_length(2)
        .with_center(false);
    let s = fft::stft(&a, &opts).unwrap();
    // [n_freq, n_frames] = [5, 5].
    assert_eq!(s.shape(), &[5, 5]);
    let mut want = vec![(0.0, 0.0); 25];
    for t in 0..5 {
        let frame = dft(&real(&x[t * 2..t * 2 + 8]), false);
        for f in 0..5 {
            want[f * 5 + t] = frame[f];
        }
    }
    assert_complex_close(&s, &want, 1e-5);
    // Two-sided.
    let s2 = fft::stft(&a, &opts.clone().with_onesided(false)).unwrap();
    assert_eq!(s2.shape(), &[8, 5]);
    // A window multiplies each frame.
    let w: Vec<f64> = (0..8)
        .map(|i| 0.5 - 0.5 * (2.0 * PI * i as f64 / 8.0).cos())
        .collect();
    let wa = Array::from_slice(&w, &[8])
        .unwrap()
        .astype(Dtype::Float32)
        .unwrap();
    let sw = fft::stft(&a, &opts.clone().with_window(wa)).unwrap();
    let mut want = vec![(0.0, 0.0); 25];
    for t in 0..5 {
        let frame: Vec<f64> = (0..8).map(|i| x[t * 2 + i] * w[i]).collect();
        let spec = dft(&real(&frame), false);
        for f in 0..5 {
            want[f * 5 + t] = spec[f];
        }
    }
    assert_complex_close(&sw, &want, 1e-5);
    // Centered frames pad by n_fft / 2 on both sides: 16 / 2 + 1 = 9 frames.
    let centered = fft::stft(&a, &StftOptions::new().with_n_fft(8).with_hop_length(2)).unwrap();
    assert_eq!(centered.shape(), &[5, 9]);
    let constant = fft::stft(
        &a,
        &StftOptions::new()
            .with_n_fft(8)
            .with_hop_length(2)
            .with_pad_mode(PadMode::Constant),
    )
    .unwrap();
    // Frame 0 is centered at sample 0: with zero padding it holds 4 zeros then x[0..4].
    let mut frame0 = vec![0.0; 4];
    frame0.extend_from_slice(&x[..4]);
    let spec = dft(&real(&frame0), false);
    let got = complex_values(&constant);
    for f in 0..5 {
        let g = got[f * 9];
        assert!(
            (g.0 - spec[f].0).abs() < 1e-5 && (g.1 - spec[f].1).abs() < 1e-5,
            "{f}: {g:?} vs {:?}",
            spec[f]
        );
    }
}

#[test]
fn istft_inverts_stft() {
    let x = values(&sample(&[32], 31, -1.0, 1.0));
    let a = Array::from_slice(&x, &[32])
        .unwrap()
        .astype(Dtype::Float32)
        .unwrap();
    let w: Vec<f64> = (0..8)
        .map(|i| 0.5 - 0.5 * (2.0 * PI * i as f64 / 8.0).cos())
        .collect();
    let wa = Array::from_slice(&w, &[8])
        .unwrap()
        .astype(Dtype::Float32)
        .unwrap();
    for opts in [
        StftOptions::new().with_n_fft(8).with_hop_length(2),
        StftOptions::new()
            .with_n_fft(8)
            .with_hop_length(2)
            .with_window(wa),
        StftOptions::new()
            .with_n_fft(8)
            .with_hop_length(2)
            .with_norm(FftNorm::Ortho),
    ] {
        let s = fft::stft(&a, &opts).unwrap();
        let back = fft::istft(&s, &opts.clone().with_length(32)).unwrap();
        assert_eq!(back.shape(), &[32]);
        assert_close(&back, &x, 1e-4, 1e-4);
    }
    // Uncentered frames reconstruct the covered samples.
    let opts = StftOptions::new()
        .with_n_fft(8)
        .with_hop_length(2)
        .with_center(false);
    let back = fft::istft(&fft::stft(&a, &opts).unwrap(), &opts).unwrap();
    assert_eq!(back.shape(), &[32]);
    assert_close(&back, &x, 1e-4, 1e-4);
}

#[test]
fn stft_errors() {
    let a = Array::arange::<f32>(16).unwrap();
    assert_err(
        fft::stft(&a, &StftOptions::new().with_n_fft(32).with_center(false)),
        "[stft] Input is too short for the given n_fft",
    );
    assert!(matches!(
        fft::stft(&a, &StftOptions::new().with_n_fft(8).with_length(4)),
        Err(Error::InvalidArgument(_))
    ));
}

// ---- gradients ------------------------------------------------------------------------------------

/// `Σ Re(z · w)` for a fixed complex weight `w`: a real loss of a complex result.
fn real_loss(z: &Array, seed: u64) -> mlx::Result<Array> {
    let n = z.size();
    let re = values(&sample(&[n as i32], seed, -1.0, 1.0));
    let im = values(&sample(&[n as i32], seed + 1, -1.0, 1.0));
    let w: Vec<C> = re.into_iter().zip(im).collect();
    let w = complex_array(&w, z.shape());
    // astype to a real dtype keeps the real part.
    ops::sum(
        &ops::astype(&ops::multiply(z, &w)?, Dtype::Float32)?,
        None,
        false,
    )
}

fn f32_sample(shape: &[i32], seed: u64) -> Array {
    sample(shape, seed, -1.0, 1.0)
        .astype(Dtype::Float32)
        .unwrap()
}

#[test]
fn gradients_of_transforms() {
    let x = f32_sample(&[6], 40);
    check_grad(
        |v| real_loss(&fft::fft(&v[0], None, -1, B)?, 1),
        std::slice::from_ref(&x),
        0,
        1e-3,
        1e-2,
    );
    check_grad(
        |v| real_loss(&fft::fft(&v[0], Some(8), -1, FftNorm::Ortho)?, 2),
        std::slice::from_ref(&x),
        0,
        1e-3,
        1e-2,
    );
    check_grad(
        |v| real_loss(&fft::ifft(&v[0], None, -1, B)?, 3),
        std::slice::from_ref(&x),
        0,
        1e-3,
        1e-2,
    );
    check_grad(
        |v| real_loss(&fft::rfft(&v[0], None, -1, B)?, 4),
        std::slice::from_ref(&x),
        0,
        1e-3,
        1e-2,
    );
    let m = f32_sample(&[3, 4], 41);
    check_grad(
        |v| real_loss(&fft::fft2(&v[0], None, None, B)?, 5),
        std::slice::from_ref(&m),
        0,
        1e-3,
        1e-2,
    );
    check_grad(
        |v| real_loss(&fft::rfftn(&v[0], None, None, B)?, 6),
        std::slice::from_ref(&m),
        0,
        1e-3,
        1e-2,
    );
    // irfft of a complex spectrum built from a real input.
    let spec = f32_sample(&[4], 42);
    check_grad(
        |v| {
            let y = fft::irfft(&ops::astype(&v[0], Dtype::Complex64)?, Some(6), -1, B)?;
            let w = f32_sample(&[6], 43);
            ops::sum(&ops::multiply(&y, &w)?, None, false)
        },
        std::slice::from_ref(&spec),
        0,
        1e-3,
        1e-2,
    );
    check_grad(
        |v| {
            let y = fft::fftshift(&v[0], None)?;
            let w = f32_sample(&[3, 4], 44);
            ops::sum(&ops::multiply(&y, &w)?, None, false)
        },
        std::slice::from_ref(&m),
        0,
        1e-3,
        1e-2,
    );
}
