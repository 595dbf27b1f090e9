//! Reductions over axes and cumulative ops, checked against naive Rust references.

use crate::common;
use common::{mlx_err, unravel};

use common::{assert_close, check_grad, sample, values};
use mlx::ops::{self, ScanOptions};
use mlx::{Array, Dtype, Error, bf16, f16};

// ---- reference implementations ------------------------------------------------------------------

fn norm_axis(axis: i32, ndim: usize) -> usize {
    if axis < 0 {
        (axis + ndim as i32) as usize
    } else {
        axis as usize
    }
}

/// Groups the elements of a row-major array by their position on the kept axes (elements of a
/// group in row-major order) and applies `f` to each group. `None` reduces everything,
/// `Some(&[])` nothing (each element is its own group).
fn reduce_ref(
    data: &[f64],
    shape: &[i32],
    axes: Option<&[i32]>,
    keepdims: bool,
    f: impl Fn(&[f64]) -> f64,
) -> (Vec<i32>, Vec<f64>) {
    let nd = shape.len();
    let reduced: Vec<bool> = match axes {
        None => vec![true; nd],
        Some(axes) => {
            let mut r = vec![false; nd];
            for &a in axes {
                r[norm_axis(a, nd)] = true;
            }
            r
        }
    };
    let mut out_shape = Vec::new();
    let mut kept_shape = Vec::new();
    for d in 0..nd {
        if reduced[d] {
            if keepdims {
                out_shape.push(1);
            }
        } else {
            out_shape.push(shape[d]);
            kept_shape.push(shape[d]);
        }
    }
    let groups_n: usize = kept_shape.iter().map(|&d| d as usize).product();
    let mut groups = vec![Vec::new(); groups_n];
    for (i, &x) in data.iter().enumerate() {
        let idx = unravel(i, shape);
        let mut key = 0;
        for d in 0..nd {
            if !reduced[d] {
                key = key * shape[d] as usize + idx[d];
            }
        }
        groups[key].push(x);
    }
    (out_shape, groups.iter().map(|g| f(g)).collect())
}

fn r_mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn r_var(v: &[f64], ddof: i32) -> f64 {
    let m = r_mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - f64::from(ddof))
}

fn r_median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn r_lse(v: &[f64]) -> f64 {
    let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

fn r_argmax(v: &[f64]) -> f64 {
    let mut best = 0;
    for i in 1..v.len() {
        if v[i] > v[best] {
            best = i;
        }
    }
    best as f64
}

fn r_argmin(v: &[f64]) -> f64 {
    let mut best = 0;
    for i in 1..v.len() {
        if v[i] < v[best] {
            best = i;
        }
    }
    best as f64
}

/// Naive scan along `axis` of a row-major array.
fn scan_ref(
    data: &[f64],
    shape: &[i32],
    axis: usize,
    reverse: bool,
    inclusive: bool,
    init: f64,
    op: impl Fn(f64, f64) -> f64,
) -> Vec<f64> {
    let n = shape[axis] as usize;
    let inner: usize = shape[axis + 1..].iter().map(|&d| d as usize).product();
    let outer: usize = shape[..axis].iter().map(|&d| d as usize).product();
    let mut out = vec![0.0; data.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| o * n * inner + k * inner + i;
            let order: Vec<usize> = if reverse {
                (0..n).rev().collect()
            } else {
                (0..n).collect()
            };
            let mut acc = init;
            for k in order {
                if inclusive {
                    acc = op(acc, data[at(k)]);
                    out[at(k)] = acc;
                } else {
                    out[at(k)] = acc;
                    acc = op(acc, data[at(k)]);
                }
            }
        }
    }
    out
}

/// `sum(out * w)` with fixed pseudo-random weights: a scalar whose gradient reaches every output.
fn weighted(out: &Array, seed: u64) -> mlx::Result<Array> {
    let w = sample(out.shape(), seed, 0.5, 1.5).astype(out.dtype())?;
    ops::sum(&ops::multiply(out, &w)?, None, false)
}

type Reduce = fn(&Array, Option<&[i32]>, bool) -> mlx::Result<Array>;

const AXES: &[Option<&[i32]>] = &[
    None,
    Some(&[0]),
    Some(&[1]),
    Some(&[-1]),
    Some(&[0, 2]),
    Some(&[-3, -1]),
    Some(&[0, 1, 2]),
    Some(&[2, 0]),
];

fn check_against(x: &Array, op: Reduce, reference: fn(&[f64]) -> f64, tol: f64) {
    let data = values(x);
    for axes in AXES {
        for keepdims in [false, true] {
            let got = op(x, *axes, keepdims).unwrap();
            let (shape, want) = reduce_ref(&data, x.shape(), *axes, keepdims, reference);
            assert_eq!(got.shape(), &shape[..], "axes {axes:?} keepdims {keepdims}");
            assert_close(&got, &want, tol, tol);
        }
    }
}

// ---- reductions ---------------------------------------------------------------------------------

#[test]
fn reductions_match_reference_float64() {
    let x = sample(&[2, 3, 4], 1, -2.0, 2.0);
    check_against(&x, ops::prod, |v| v.iter().product(), 1e-12);
    check_against(&x, ops::mean, r_mean, 1e-12);
    check_against(
        &x,
        ops::max,
        |v| v.iter().cloned().fold(f64::MIN, f64::max),
        0.0,
    );
    check_against(
        &x,
        ops::min,
        |v| v.iter().cloned().fold(f64::MAX, f64::min),
        0.0,
    );
    // MLX's float64 `exp` on the CPU is only about as accurate as float32's (~1e-7 relative).
    check_against(&x, ops::logsumexp, r_lse, 1e-6);
    check_against(&x, ops::median, r_median, 1e-12);
    check_against(&x, |a, ax, k| ops::var(a, ax, k, 0), |v| r_var(v, 0), 1e-12);
    check_against(&x, |a, ax, k| ops::var(a, ax, k, 1), |v| r_var(v, 1), 1e-12);
    check_against(
        &x,
        |a, ax, k| ops::std(a, ax, k, 0),
        |v| r_var(v, 0).sqrt(),
        1e-12,
    );
    check_against(
        &x,
        |a, ax, k| ops::std(a, ax, k, 1),
        |v| r_var(v, 1).sqrt(),
        1e-12,
    );
    assert_eq!(
        ops::mean(&x, Some(&[0]), false).unwrap().dtype(),
        Dtype::Float64
    );
    assert_eq!(
        ops::var(&x, None, false, 0).unwrap().dtype(),
        Dtype::Float64
    );
}

#[test]
fn reductions_of_integers_and_counts() {
    let data = [3, -1, 0, 4, 0, -2, 5, 1, 0, 2, -3, 6];
    let x = Array::from_slice(&data, &[3, 4]).unwrap();
    let d: Vec<f64> = data.iter().map(|&v| f64::from(v)).collect();
    let ax: &[i32] = &[1];
    let (_, want) = reduce_ref(&d, &[3, 4], Some(ax), false, |v| v.iter().product());
    let p = ops::prod(&x, Some(ax), false).unwrap();
    assert_eq!(p.dtype(), Dtype::Int32);
    assert_close(&p, &want, 0.0, 0.0);
    let (_, want) = reduce_ref(&d, &[3, 4], Some(&[0]), false, |v| {
        v.iter().cloned().fold(f64::MIN, f64::max)
    });
    let m = x.max(Some(&[0]), false).unwrap();
    assert_eq!(m.dtype(), Dtype::Int32);
    assert_close(&m, &want, 0.0, 0.0);
    assert_eq!(x.min(None, false).unwrap().item::<i32>().unwrap(), -3);
    // Integer means and spreads are float32.
    let mean = x.mean(Some(&[-1]), true).unwrap();
    assert_eq!(mean.dtype(), Dtype::Float32);
    assert_eq!(mean.shape(), &[3, 1]);
    assert_close(&mean, &[1.5, 1.0, 1.25], 1e-6, 0.0);
    let sd = ops::std(
        &Array::from_slice(&[1i32, 2, 3, 4], &[4]).unwrap(),
        None,
        false,
        0,
    )
    .unwrap();
    assert_eq!(sd.dtype(), Dtype::Float32);
    assert_close(&sd, &[1.25f64.sqrt()], 1e-6, 0.0);
    // Small unsigned products widen to uint32 (200 * 2 does not wrap).
    let u = Array::from_slice(&[200u8, 2], &[2]).unwrap();
    let pu = u.prod(None, false).unwrap();
    assert_eq!(pu.dtype(), Dtype::Uint32);
    assert_eq!(pu.item::<u32>().unwrap(), 400);
    assert_eq!(u.max(None, false).unwrap().item::<u8>().unwrap(), 200);
    // int64 median.
    let med = ops::median(
        &Array::from_slice(&[3i64, 1, 2, 4], &[4]).unwrap(),
        None,
        false,
    )
    .unwrap();
    assert_eq!(med.dtype(), Dtype::Float32);
    assert_close(&med, &[2.5], 0.0, 0.0);
    // count_nonzero
    let c = ops::count_nonzero(&x, Some(&[1]), false).unwrap();
    assert_eq!(c.dtype(), Dtype::Int32);
    assert_close(&c, &[3.0, 3.0, 3.0], 0.0, 0.0);
    assert_eq!(
        ops::count_nonzero(&x, None, false)
            .unwrap()
            .item::<i32>()
            .unwrap(),
        9
    );
    let cf = ops::count_nonzero(
        &Array::from_slice(&[0.0f32, -0.0, 0.5, f32::NAN], &[2, 2]).unwrap(),
        Some(&[0]),
        true,
    )
    .unwrap();
    assert_eq!(cf.shape(), &[1, 2]);
    assert_close(&cf, &[1.0, 1.0], 0.0, 0.0);
}

#[test]
fn all_and_any() {
    let b = Array::from_slice(&[true, true, false, true, true, true], &[2, 3]).unwrap();
    let all1 = b.all(Some(&[1]), false).unwrap();
    assert_eq!(all1.dtype(), Dtype::Bool);
    assert_eq!(all1.to_vec::<bool>().unwrap(), vec![false, true]);
    assert_eq!(
        b.all(Some(&[0]), false).unwrap().to_vec::<bool>().unwrap(),
        vec![true, true, false]
    );
    assert!(!b.all(None, false).unwrap().item::<bool>().unwrap());
    assert!(b.any(None, false).unwrap().item::<bool>().unwrap());
    let none = Array::from_slice(&[false, false, false, true], &[2, 2]).unwrap();
    let any = none.any(Some(&[-1]), true).unwrap();
    assert_eq!(any.shape(), &[2, 1]);
    assert_eq!(any.to_vec::<bool>().unwrap(), vec![false, true]);
    // Numbers count as true when non-zero.
    let n = Array::from_slice(&[0.0f32, 2.0, 0.0, 0.0], &[2, 2]).unwrap();
    assert_eq!(
        n.any(Some(&[1]), false).unwrap().to_vec::<bool>().unwrap(),
        vec![true, false]
    );
    let u = Array::from_slice(&[1u16, 7, 0, 9], &[2, 2]).unwrap();
    assert_eq!(
        u.all(Some(&[1]), false).unwrap().to_vec::<bool>().unwrap(),
        vec![true, false]
    );
    // After a transpose.
    let bt = b.transpose(None).unwrap();
    assert_eq!(
        bt.all(Some(&[1]), false).unwrap().to_vec::<bool>().unwrap(),
        vec![true, true, false]
    );
}

#[test]
fn half_precision_reductions() {
    let src = sample(&[3, 5], 7, -1.0, 1.0);
    for dtype in [Dtype::Float16, Dtype::Bfloat16] {
        let x = src.astype(dtype).unwrap();
        let data = values(&x);
        for (op, reference) in [
            (ops::mean as Reduce, r_mean as fn(&[f64]) -> f64),
            (ops::max, |v: &[f64]| {
                v.iter().cloned().fold(f64::MIN, f64::max)
            }),
            (ops::logsumexp, r_lse),
        ] {
            let got = op(&x, Some(&[1]), false).unwrap();
            assert_eq!(got.dtype(), dtype);
            let (_, want) = reduce_ref(&data, &[3, 5], Some(&[1]), false, reference);
            assert_close(&got, &want, 2e-2, 2e-2);
        }
        let v = ops::var(&x, Some(&[0]), false, 0).unwrap();
        let (_, want) = reduce_ref(&data, &[3, 5], Some(&[0]), false, |v| r_var(v, 0));
        assert_close(&v, &want, 3e-2, 3e-2);
    }
    let h = Array::from_slice(&[f16::from_f32(1.5), f16::from_f32(-2.0)], &[2]).unwrap();
    assert_eq!(
        h.min(None, false).unwrap().item::<f16>().unwrap(),
        f16::from_f32(-2.0)
    );
    let b = Array::from_slice(&[bf16::from_f32(3.0), bf16::from_f32(0.5)], &[2]).unwrap();
    assert_eq!(
        b.prod(None, false).unwrap().item::<bf16>().unwrap(),
        bf16::from_f32(1.5)
    );
}

#[test]
fn reductions_of_non_contiguous_inputs() {
    let x = sample(&[3, 4, 2], 11, -1.0, 1.0);
    // A transposed view.
    let t = x.transpose(Some(&[2, 0, 1])).unwrap();
    check_against(&t, ops::prod, |v| v.iter().product(), 1e-12);
    check_against(
        &t,
        ops::max,
        |v| v.iter().cloned().fold(f64::MIN, f64::max),
        0.0,
    );
    check_against(&t, ops::logsumexp, r_lse, 1e-6);
    check_against(&t, |a, ax, k| ops::var(a, ax, k, 0), |v| r_var(v, 0), 1e-12);
    // A sliced view: the middle columns of a wider array.
    let parts = ops::split_indices(&x, &[1, 3], 1).unwrap();
    let mid = &parts[1];
    assert_eq!(mid.shape(), &[3, 2, 2]);
    let full = values(&x);
    let mut mid_ref = Vec::new();
    for i in 0..3 {
        for j in 1..3 {
            for k in 0..2 {
                mid_ref.push(full[i * 8 + j * 2 + k]);
            }
        }
    }
    assert_close(mid, &mid_ref, 0.0, 0.0);
    check_against(mid, ops::mean, r_mean, 1e-12);
    check_against(
        mid,
        ops::min,
        |v| v.iter().cloned().fold(f64::MAX, f64::min),
        0.0,
    );
    check_against(mid, ops::median, r_median, 1e-12);
}

#[test]
fn empty_reductions() {
    let e = Array::zeros::<f32>(&[0]).unwrap();
    assert_eq!(
        ops::sum(&e, None, false).unwrap().item::<f32>().unwrap(),
        0.0
    );
    assert_eq!(e.prod(None, false).unwrap().item::<f32>().unwrap(), 1.0);
    assert!(e.all(None, false).unwrap().item::<bool>().unwrap());
    assert!(!e.any(None, false).unwrap().item::<bool>().unwrap());
    assert!(e.mean(None, false).unwrap().item::<f32>().unwrap().is_nan());
    assert_eq!(
        ops::count_nonzero(&e, None, false)
            .unwrap()
            .item::<i32>()
            .unwrap(),
        0
    );
    let msg = mlx_err(e.max(None, false));
    assert!(
        msg.contains("[max] Cannot max reduce over axis 0 with size 0"),
        "{msg}"
    );
    let msg = mlx_err(e.min(None, false));
    assert!(msg.contains("[min] Cannot min reduce"), "{msg}");
    let msg = mlx_err(e.argmax(None, false));
    assert!(
        msg.contains("[argmax] Cannot argmax reduce zero size array"),
        "{msg}"
    );
    let msg = mlx_err(e.logsumexp(None, false));
    assert!(msg.contains("[logsumexp] Received empty array"), "{msg}");
    let msg = mlx_err(ops::median(&e, None, false));
    assert!(
        msg.contains("[median] Cannot take median along empty axis"),
        "{msg}"
    );
    // Reducing a non-empty axis of an empty array is fine and gives an empty result.
    let e2 = Array::zeros::<f32>(&[2, 0]).unwrap();
    let m = e2.max(Some(&[0]), false).unwrap();
    assert_eq!(m.shape(), &[0]);
    assert_eq!(m.to_vec::<f32>().unwrap(), Vec::<f32>::new());
    let msg = mlx_err(e2.max(Some(&[1]), false));
    assert!(
        msg.contains("Cannot max reduce over axis 1 with size 0"),
        "{msg}"
    );
    let s = e2.sum(Some(&[1]), true).unwrap();
    assert_eq!(s.shape(), &[2, 1]);
    assert_close(&s, &[0.0, 0.0], 0.0, 0.0);
}

#[test]
fn nan_handling() {
    let x = Array::from_slice(&[1.0f32, f32::NAN, 3.0], &[3]).unwrap();
    assert!(x.max(None, false).unwrap().item::<f32>().unwrap().is_nan());
    assert!(x.min(None, false).unwrap().item::<f32>().unwrap().is_nan());
    // NaN counts as the extreme value for argmax and argmin.
    assert_eq!(x.argmax(None, false).unwrap().item::<u32>().unwrap(), 1);
    assert_eq!(x.argmin(None, false).unwrap().item::<u32>().unwrap(), 1);
    let cm = x.cummax(None, ScanOptions::new()).unwrap();
    let got = cm.to_vec::<f32>().unwrap();
    assert_eq!(got[0], 1.0);
    assert!(got[1].is_nan() && got[2].is_nan());
    let lse = Array::from_slice(&[f64::NEG_INFINITY, f64::NEG_INFINITY], &[2]).unwrap();
    assert_eq!(
        lse.logsumexp(None, false).unwrap().item::<f64>().unwrap(),
        f64::NEG_INFINITY
    );
    let big = Array::from_slice(&[1000.0f32, 1000.0], &[2]).unwrap();
    assert_close(
        &big.logsumexp(None, false).unwrap(),
        &[1000.0 + 2f64.ln()],
        1e-6,
        0.0,
    );
}

#[test]
fn minmax_matches_min_and_max() {
    let x = sample(&[3, 4], 5, -3.0, 3.0);
    for axes in [None, Some(&[0][..]), Some(&[-1])] {
        for keepdims in [false, true] {
            let (lo, hi) = ops::minmax(&x, axes, keepdims).unwrap();
            let (shape, want_lo) = reduce_ref(&values(&x), &[3, 4], axes, keepdims, |v| {
                v.iter().cloned().fold(f64::MAX, f64::min)
            });
            let (_, want_hi) = reduce_ref(&values(&x), &[3, 4], axes, keepdims, |v| {
                v.iter().cloned().fold(f64::MIN, f64::max)
            });
            assert_eq!(lo.shape(), &shape[..]);
            assert_eq!(hi.shape(), &shape[..]);
            assert_close(&lo, &want_lo, 0.0, 0.0);
            assert_close(&hi, &want_hi, 0.0, 0.0);
        }
    }
}

#[test]
fn argmax_and_argmin() {
    let x = sample(&[3, 4, 5], 3, -1.0, 1.0);
    let data = values(&x);
    for axis in [0, 1, 2, -1, -3] {
        for keepdims in [false, true] {
            let got = x.argmax(Some(axis), keepdims).unwrap();
            assert_eq!(got.dtype(), Dtype::Uint32);
            let (shape, want) = reduce_ref(&data, &[3, 4, 5], Some(&[axis]), keepdims, r_argmax);
            assert_eq!(got.shape(), &shape[..]);
            assert_close(&got, &want, 0.0, 0.0);
            let got = x.argmin(Some(axis), keepdims).unwrap();
            let (_, want) = reduce_ref(&data, &[3, 4, 5], Some(&[axis]), keepdims, r_argmin);
            assert_close(&got, &want, 0.0, 0.0);
        }
    }
    // Flattened, with keepdims giving all-ones shape.
    let flat = x.argmax(None, true).unwrap();
    assert_eq!(flat.shape(), &[1, 1, 1]);
    assert_close(&flat, &[r_argmax(&data)], 0.0, 0.0);
    assert_close(
        &x.argmin(None, false).unwrap(),
        &[r_argmin(&data)],
        0.0,
        0.0,
    );
    // Ties: the first occurrence wins; integer and transposed inputs.
    let ties = Array::from_slice(&[1i32, 3, 3, 2, 0, 0, 5, 0], &[2, 4]).unwrap();
    assert_close(&ties.argmax(Some(1), false).unwrap(), &[1.0, 2.0], 0.0, 0.0);
    assert_close(&ties.argmin(Some(1), false).unwrap(), &[0.0, 0.0], 0.0, 0.0);
    assert_close(&ties.argmin(None, false).unwrap(), &[4.0], 0.0, 0.0);
    let tt = ties.transpose(None).unwrap();
    assert_close(&tt.argmax(Some(0), false).unwrap(), &[1.0, 2.0], 0.0, 0.0);
    assert_close(&tt.argmax(None, false).unwrap(), &[5.0], 0.0, 0.0);
    let h = Array::from_slice(
        &[f16::from_f32(0.5), f16::from_f32(-1.0), f16::from_f32(2.0)],
        &[3],
    )
    .unwrap();
    assert_eq!(h.argmax(None, false).unwrap().item::<u32>().unwrap(), 2);
    let b = Array::from_slice(&[false, true, true], &[3]).unwrap();
    assert_eq!(b.argmax(None, false).unwrap().item::<u32>().unwrap(), 1);
}

// ---- cumulative ops -----------------------------------------------------------------------------

type Scan = fn(&Array, Option<i32>, ScanOptions) -> mlx::Result<Array>;

fn check_scan(op: Scan, init: f64, f: fn(f64, f64) -> f64, tol: f64) {
    let x = sample(&[2, 3, 4], 21, 0.5, 1.5);
    let data = values(&x);
    for reverse in [false, true] {
        for inclusive in [true, false] {
            let o = ScanOptions::new()
                .with_reverse(reverse)
                .with_inclusive(inclusive);
            for axis in [0, 1, 2, -1, -2] {
                let got = op(&x, Some(axis), o).unwrap();
                assert_eq!(got.shape(), &[2, 3, 4]);
                let want = scan_ref(
                    &data,
                    &[2, 3, 4],
                    norm_axis(axis, 3),
                    reverse,
                    inclusive,
                    init,
                    f,
                );
                assert_close(&got, &want, tol, tol);
            }
            // Flattened.
            let got = op(&x, None, o).unwrap();
            assert_eq!(got.shape(), &[24]);
            let want = scan_ref(&data, &[24], 0, reverse, inclusive, init, f);
            assert_close(&got, &want, tol, tol);
            // Transposed input.
            let t = x.transpose(Some(&[2, 0, 1])).unwrap();
            let got = op(&t, Some(0), o).unwrap();
            let want = scan_ref(&values(&t), &[4, 2, 3], 0, reverse, inclusive, init, f);
            assert_close(&got, &want, tol, tol);
        }
    }
}

fn log_add(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

#[test]
fn cumulative_ops_match_reference() {
    check_scan(ops::cumsum, 0.0, |a, b| a + b, 1e-12);
    check_scan(ops::cumprod, 1.0, |a, b| a * b, 1e-12);
    check_scan(ops::cummax, f64::NEG_INFINITY, f64::max, 0.0);
    check_scan(ops::cummin, f64::INFINITY, f64::min, 0.0);
    check_scan(ops::logcumsumexp, f64::NEG_INFINITY, log_add, 1e-6);
}

#[test]
fn cumulative_dtypes() {
    // bool sums count in int32.
    let b = Array::from_slice(&[true, false, true], &[3]).unwrap();
    let c = b.cumsum(None, ScanOptions::new()).unwrap();
    assert_eq!(c.dtype(), Dtype::Int32);
    assert_eq!(c.to_vec::<i32>().unwrap(), vec![1, 1, 2]);
    // int8 keeps its dtype and wraps, unless asked to accumulate wider.
    let i = Array::from_slice(&[100i8, 100], &[2]).unwrap();
    assert_eq!(
        i.cumsum(None, ScanOptions::new())
            .unwrap()
            .to_vec::<i8>()
            .unwrap(),
        vec![100, -56]
    );
    let wide = i
        .cumsum(Some(0), ScanOptions::new().with_dtype(Dtype::Int32))
        .unwrap();
    assert_eq!(wide.dtype(), Dtype::Int32);
    assert_eq!(wide.to_vec::<i32>().unwrap(), vec![100, 200]);
    let p = Array::from_slice(&[2u32, 3, 4], &[3]).unwrap();
    assert_eq!(
        p.cumprod(Some(-1), ScanOptions::new().with_reverse(true))
            .unwrap()
            .to_vec::<u32>()
            .unwrap(),
        vec![24, 12, 4]
    );
    let pd = p
        .cumprod(None, ScanOptions::new().with_dtype(Dtype::Float64))
        .unwrap();
    assert_eq!(pd.to_vec::<f64>().unwrap(), vec![2.0, 6.0, 24.0]);
    // int cummax/cummin keep the dtype; exclusive scans start from the extremes of the type's
    // values (float: infinities).
    let n = Array::from_slice(&[2i32, 5, 1, 7], &[4]).unwrap();
    assert_eq!(
        n.cummax(None, ScanOptions::new())
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        vec![2, 5, 5, 7]
    );
    assert_eq!(
        n.cummin(None, ScanOptions::new())
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        vec![2, 2, 1, 1]
    );
    let f = Array::from_slice(&[2.0f32, 3.0, 1.0], &[3]).unwrap();
    let ex = ScanOptions::new().with_inclusive(false);
    assert_eq!(
        f.cummax(None, ex).unwrap().to_vec::<f32>().unwrap(),
        vec![f32::NEG_INFINITY, 2.0, 3.0]
    );
    assert_eq!(
        f.cummin(None, ex).unwrap().to_vec::<f32>().unwrap(),
        vec![f32::INFINITY, 2.0, 2.0]
    );
    assert_eq!(
        f.cumprod(None, ex).unwrap().to_vec::<f32>().unwrap(),
        vec![1.0, 2.0, 6.0]
    );
    assert_eq!(
        f.cummax(None, ex.with_reverse(true))
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        vec![3.0, 1.0, f32::NEG_INFINITY]
    );
    // Half precision.
    let h = sample(&[6], 4, 0.0, 1.0).astype(Dtype::Float16).unwrap();
    let hc = h.cumsum(None, ScanOptions::new()).unwrap();
    assert_eq!(hc.dtype(), Dtype::Float16);
    assert_close(
        &hc,
        &scan_ref(&values(&h), &[6], 0, false, true, 0.0, |a, b| a + b),
        5e-3,
        5e-3,
    );
    let bl = sample(&[5], 8, -1.0, 1.0).astype(Dtype::Bfloat16).unwrap();
    let bc = bl.logcumsumexp(Some(0), ScanOptions::new()).unwrap();
    assert_eq!(bc.dtype(), Dtype::Bfloat16);
    assert_close(
        &bc,
        &scan_ref(
            &values(&bl),
            &[5],
            0,
            false,
            true,
            f64::NEG_INFINITY,
            log_add,
        ),
        2e-2,
        2e-2,
    );
    // Empty input.
    let e = Array::zeros::<f32>(&[0, 3]).unwrap();
    assert_eq!(
        e.cumsum(Some(0), ScanOptions::new()).unwrap().shape(),
        &[0, 3]
    );
    // Only sums and products take a dtype.
    let err = f
        .cummax(None, ScanOptions::new().with_dtype(Dtype::Float64))
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidArgument(ref m) if m.contains("[cummax] takes no dtype")),
        "{err:?}"
    );
}

#[test]
fn diff_matches_reference() {
    let x = Array::from_slice(&[1i32, 4, 9, 16, 2, 3, 5, 8], &[2, 4]).unwrap();
    assert_eq!(
        ops::diff(&x, 1, -1).unwrap().to_vec::<i32>().unwrap(),
        vec![3, 5, 7, 1, 2, 3]
    );
    assert_eq!(
        ops::diff(&x, 2, 1).unwrap().to_vec::<i32>().unwrap(),
        vec![2, 2, 1, 1]
    );
    let d0 = ops::diff(&x, 1, 0).unwrap();
    assert_eq!(d0.shape(), &[1, 4]);
    assert_eq!(d0.to_vec::<i32>().unwrap(), vec![1, -1, -4, -8]);
    assert_eq!(
        ops::diff(&x, 0, 0).unwrap().to_vec::<i32>().unwrap(),
        values(&x).iter().map(|&v| v as i32).collect::<Vec<_>>()
    );
    let msg = mlx_err(ops::diff(&x, -1, 0));
    assert!(
        msg.contains("[diff] Order `n` must be non-negative"),
        "{msg}"
    );
    let msg = mlx_err(ops::diff(&x, 1, 2));
    assert!(msg.contains("[diff] Axis is out of bounds"), "{msg}");
}

// ---- errors -------------------------------------------------------------------------------------

#[test]
fn bad_axes_are_mlx_errors() {
    let x = Array::zeros::<f32>(&[2, 3, 4]).unwrap();
    // MLX words these differently per op.
    let cases: [(&str, Reduce, &str, &str); 9] = [
        (
            "prod",
            ops::prod,
            "Invalid axis 3 for array with 3 dimensions",
            "Duplicate axes",
        ),
        (
            "mean",
            ops::mean,
            "[mean] axis 3 is out of bounds for array with 3 dimensions",
            "Duplicate axes",
        ),
        (
            "max",
            ops::max,
            "Invalid axis 3 for array with 3 dimensions",
            "Duplicate axes",
        ),
        (
            "min",
            ops::min,
            "Invalid axis 3 for array with 3 dimensions",
            "Duplicate axes",
        ),
        (
            "all",
            ops::all,
            "Invalid axis 3 for array with 3 dimensions",
            "Duplicate axes",
        ),
        (
            "any",
            ops::any,
            "Invalid axis 3 for array with 3 dimensions",
            "Duplicate axes",
        ),
        (
            "logsumexp",
            ops::logsumexp,
            "Invalid axis 3 for array with 3 dimensions",
            "Duplicate axes",
        ),
        (
            "median",
            ops::median,
            "[median] axis 3 is out of bounds",
            "[median] Received duplicate axis",
        ),
        (
            "count_nonzero",
            ops::count_nonzero,
            "Invalid axis 3 for array with 3 dimensions",
            "Duplicate axes",
        ),
    ];
    for (name, op, bad, dup) in cases {
        let msg = mlx_err(op(&x, Some(&[3]), false));
        assert!(msg.contains(bad), "{name}: {msg}");
        let msg = mlx_err(op(&x, Some(&[0, 0]), false));
        assert!(msg.contains(dup), "{name}: {msg}");
    }
    // var and std go through mean.
    let msg = mlx_err(ops::var(&x, Some(&[-4]), false, 0));
    assert!(
        msg.contains("axis -4 is out of bounds for array with 3 dimensions"),
        "{msg}"
    );
    let msg = mlx_err(ops::std(&x, Some(&[3]), true, 1));
    assert!(msg.contains("axis 3 is out of bounds"), "{msg}");
    let msg = match ops::minmax(&x, Some(&[-4]), false) {
        Err(Error::Mlx(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(
        msg.contains("Invalid axis -4 for array with 3 dimensions"),
        "{msg}"
    );
    let msg = mlx_err(x.argmax(Some(-4), false));
    assert!(
        msg.contains("Invalid axis -4 for array with 3 dimensions"),
        "{msg}"
    );
    let msg = mlx_err(x.argmin(Some(3), false));
    assert!(
        msg.contains("Invalid axis 3 for array with 3 dimensions"),
        "{msg}"
    );
    let msg = mlx_err(x.cumsum(Some(3), ScanOptions::new()));
    assert!(
        msg.contains("[cumsum] Axis 3 is out of bounds for array with 3 dimensions"),
        "{msg}"
    );
    let msg = mlx_err(x.cummin(Some(-5), ScanOptions::new()));
    assert!(msg.contains("[cummin] Axis -5 is out of bounds"), "{msg}");
}

/// `Some(&[])` reduces over no axis: as in Python MLX (`mx.sum(a, axis=[])`), the result is the
/// input, converted to the dtype the reduction gives; `None` reduces over every axis.
#[test]
fn reductions_over_no_axes() {
    let data = [1, 0, 3, 2, 5, 4];
    let x = Array::from_slice(&data, &[2, 3]).unwrap();
    let d: Vec<f64> = data.iter().map(|&v| f64::from(v)).collect();
    let same: [(&str, Reduce, Dtype); 8] = [
        ("sum", ops::sum, Dtype::Int32),
        ("prod", ops::prod, Dtype::Int32),
        ("max", ops::max, Dtype::Int32),
        ("min", ops::min, Dtype::Int32),
        ("mean", ops::mean, Dtype::Float32),
        ("logsumexp", ops::logsumexp, Dtype::Float32),
        ("all", ops::all, Dtype::Bool),
        ("any", ops::any, Dtype::Bool),
    ];
    for (name, op, dtype) in same {
        for keepdims in [false, true] {
            let got = op(&x, Some(&[]), keepdims).unwrap();
            assert_eq!(got.shape(), &[2, 3], "{name}");
            assert_eq!(got.dtype(), dtype, "{name}");
            let want: Vec<f64> = if dtype == Dtype::Bool {
                d.iter().map(|&v| f64::from(u8::from(v != 0.0))).collect()
            } else {
                d.clone()
            };
            assert_close(&got, &want, 1e-6, 0.0);
            // `None` is every axis.
            let all = op(&x, None, keepdims).unwrap();
            let want_shape: &[i32] = if keepdims { &[1, 1] } else { &[] };
            assert_eq!(all.shape(), want_shape, "{name}");
        }
    }
    for ddof in [0, 1] {
        let v = ops::var(&x, Some(&[]), false, ddof).unwrap();
        assert_eq!((v.shape(), v.dtype()), (&[2, 3][..], Dtype::Float32));
        let s = x.std(Some(&[]), false, ddof).unwrap();
        assert_eq!(s.shape(), &[2, 3]);
    }
    assert_close(
        &ops::var(&x, Some(&[]), false, 0).unwrap(),
        &[0.0; 6],
        0.0,
        0.0,
    );
    assert_eq!(x.sum(None, false).unwrap().item::<i32>().unwrap(), 15);
    let (lo, hi) = ops::minmax(&x, Some(&[]), false).unwrap();
    assert_close(&lo, &d, 0.0, 0.0);
    assert_close(&hi, &d, 0.0, 0.0);
    let (lo, hi) = ops::minmax(&x, None, false).unwrap();
    assert_eq!(
        (lo.item::<i32>().unwrap(), hi.item::<i32>().unwrap()),
        (0, 5)
    );
    // The float path of `logsumexp` (no conversion first) also returns its input.
    let f = x.astype(Dtype::Float32).unwrap();
    assert_close(&f.logsumexp(Some(&[]), true).unwrap(), &d, 1e-6, 0.0);
}

// ---- gradients ----------------------------------------------------------------------------------

#[test]
fn reduction_gradients() {
    let x = sample(&[3, 4], 31, 0.5, 1.5);
    let neg = sample(&[3, 4], 32, -1.5, 1.5);
    for axes in [None, Some(&[0][..]), Some(&[-1])] {
        for keepdims in [false, true] {
            let red = |op: Reduce| move |a: &[Array]| weighted(&op(&a[0], axes, keepdims)?, 9);
            check_grad(red(ops::prod), std::slice::from_ref(&neg), 0, 1e-6, 1e-5);
            check_grad(red(ops::mean), std::slice::from_ref(&neg), 0, 1e-6, 1e-5);
            check_grad(red(ops::max), std::slice::from_ref(&neg), 0, 1e-6, 1e-5);
            check_grad(red(ops::min), std::slice::from_ref(&neg), 0, 1e-6, 1e-5);
            // A larger step: MLX's float64 exp is only accurate to about 1e-7.
            check_grad(
                red(ops::logsumexp),
                std::slice::from_ref(&neg),
                0,
                1e-3,
                1e-3,
            );
            check_grad(red(ops::median), std::slice::from_ref(&neg), 0, 1e-6, 1e-5);
            for ddof in [0, 1] {
                check_grad(
                    |a: &[Array]| weighted(&ops::var(&a[0], axes, keepdims, ddof)?, 9),
                    std::slice::from_ref(&neg),
                    0,
                    1e-6,
                    1e-5,
                );
                check_grad(
                    |a: &[Array]| weighted(&ops::std(&a[0], axes, keepdims, ddof)?, 9),
                    std::slice::from_ref(&x),
                    0,
                    1e-6,
                    1e-5,
                );
            }
        }
    }
    // minmax: both outputs.
    check_grad(
        |a: &[Array]| {
            let (lo, hi) = ops::minmax(&a[0], Some(&[1]), false)?;
            ops::add(&weighted(&lo, 1)?, &weighted(&hi, 2)?)
        },
        std::slice::from_ref(&neg),
        0,
        1e-6,
        1e-5,
    );
    // Through a transposed input.
    check_grad(
        |a: &[Array]| weighted(&a[0].t()?.prod(Some(&[0]), false)?, 4),
        &[neg],
        0,
        1e-6,
        1e-5,
    );
}

#[test]
fn cumulative_gradients() {
    let x = sample(&[3, 4], 41, 0.5, 1.5);
    for reverse in [false, true] {
        for inclusive in [true, false] {
            let o = ScanOptions::new()
                .with_reverse(reverse)
                .with_inclusive(inclusive);
            for axis in [Some(0), Some(-1), None] {
                let scan = |op: Scan| move |a: &[Array]| weighted(&op(&a[0], axis, o)?, 5);
                check_grad(scan(ops::cumsum), std::slice::from_ref(&x), 0, 1e-6, 1e-5);
                check_grad(scan(ops::cumprod), std::slice::from_ref(&x), 0, 1e-6, 1e-5);
                // Exclusive running extremes and logcumsumexp start at -inf / +inf, which
                // finite differences cannot handle (see below).
                if inclusive {
                    check_grad(
                        scan(ops::logcumsumexp),
                        std::slice::from_ref(&x),
                        0,
                        1e-3,
                        1e-3,
                    );
                    check_grad(scan(ops::cummax), std::slice::from_ref(&x), 0, 1e-6, 1e-5);
                    check_grad(scan(ops::cummin), std::slice::from_ref(&x), 0, 1e-6, 1e-5);
                }
            }
        }
    }
    // Exclusive extremes: the gradient of the finite entries only.
    let finite_part = |op: Scan| {
        move |a: &[Array]| {
            let o = ScanOptions::new().with_inclusive(false);
            let parts = ops::split_indices(&op(&a[0], Some(1), o)?, &[1], 1)?;
            weighted(&parts[1], 8)
        }
    };
    check_grad(
        finite_part(ops::cummax),
        std::slice::from_ref(&x),
        0,
        1e-6,
        1e-5,
    );
    check_grad(
        finite_part(ops::cummin),
        std::slice::from_ref(&x),
        0,
        1e-6,
        1e-5,
    );
    check_grad(
        finite_part(ops::logcumsumexp),
        std::slice::from_ref(&x),
        0,
        1e-3,
        1e-3,
    );
    check_grad(
        |a: &[Array]| weighted(&ops::diff(&a[0], 2, 1)?, 6),
        std::slice::from_ref(&x),
        0,
        1e-6,
        1e-5,
    );
    // float32 with a coarser step.
    let x32 = x.astype(Dtype::Float32).unwrap();
    check_grad(
        |a: &[Array]| weighted(&a[0].cumprod(Some(1), ScanOptions::new())?, 7),
        &[x32],
        0,
        1e-3,
        1e-2,
    );
}

// ---- every dtype --------------------------------------------------------------------------------

const SWEEP: [Dtype; 11] = [
    Dtype::Bool,
    Dtype::Uint8,
    Dtype::Uint16,
    Dtype::Uint32,
    Dtype::Int8,
    Dtype::Int16,
    Dtype::Int64,
    Dtype::Float16,
    Dtype::Bfloat16,
    Dtype::Float32,
    Dtype::Float64,
];

/// MLX's result dtype for a product or a sum of `d` (small integers widen).
fn widened(d: Dtype) -> Dtype {
    match d {
        Dtype::Bool | Dtype::Int8 | Dtype::Int16 => Dtype::Int32,
        Dtype::Uint8 | Dtype::Uint16 => Dtype::Uint32,
        other => other,
    }
}

/// MLX's result dtype for an op that needs floats (mean, logsumexp, ...).
fn floated(d: Dtype) -> Dtype {
    if d.is_float() { d } else { Dtype::Float32 }
}

/// MLX's float64 `exp` is only about as accurate as float32's.
fn exp_tol(op: &str) -> f64 {
    if op.contains("logsumexp") || op.contains("logcumsumexp") {
        1e-6
    } else {
        0.0
    }
}

fn tol(d: Dtype) -> f64 {
    match d {
        Dtype::Float16 | Dtype::Bfloat16 => 2e-2,
        Dtype::Float32 => 1e-6,
        _ => 1e-9,
    }
}

#[test]
fn reductions_in_every_dtype() {
    let src = Array::from_slice(&[1i32, 0, 3, 2, 1, 1, 4, 4, 0, 3, 2, 1], &[2, 2, 3]).unwrap();
    for dtype in SWEEP {
        let x = src.astype(dtype).unwrap();
        let data = values(&x);
        let sh = [2, 2, 3];
        type Case = (&'static str, Reduce, fn(&[f64]) -> f64, Dtype);
        let cases: [Case; 11] = [
            ("prod", ops::prod, |v| v.iter().product(), widened(dtype)),
            ("mean", ops::mean, r_mean, floated(dtype)),
            (
                "max",
                ops::max,
                |v| v.iter().cloned().fold(f64::MIN, f64::max),
                dtype,
            ),
            (
                "min",
                ops::min,
                |v| v.iter().cloned().fold(f64::MAX, f64::min),
                dtype,
            ),
            ("logsumexp", ops::logsumexp, r_lse, floated(dtype)),
            ("median", ops::median, r_median, floated(dtype)),
            (
                "count_nonzero",
                ops::count_nonzero,
                |v| v.iter().filter(|&&x| x != 0.0).count() as f64,
                Dtype::Int32,
            ),
            (
                "all",
                ops::all,
                |v| f64::from(u8::from(v.iter().all(|&x| x != 0.0))),
                Dtype::Bool,
            ),
            (
                "any",
                ops::any,
                |v| f64::from(u8::from(v.iter().any(|&x| x != 0.0))),
                Dtype::Bool,
            ),
            (
                "var",
                |a, ax, k| ops::var(a, ax, k, 1),
                |v| r_var(v, 1),
                floated(dtype),
            ),
            (
                "std",
                |a, ax, k| ops::std(a, ax, k, 0),
                |v| r_var(v, 0).sqrt(),
                floated(dtype),
            ),
        ];
        for (name, op, reference, out_dtype) in cases {
            for axes in [Some(&[-1][..]), Some(&[0, 2]), None] {
                let got = op(&x, axes, false).unwrap_or_else(|e| panic!("{name} {dtype}: {e}"));
                assert_eq!(got.dtype(), out_dtype, "{name} of {dtype}");
                let (shape, want) = reduce_ref(&data, &sh, axes, false, reference);
                assert_eq!(got.shape(), &shape[..], "{name} of {dtype}");
                let t = tol(out_dtype).max(tol(dtype)).max(exp_tol(name));
                eprintln!("{name} of {dtype} over {axes:?}");
                assert_close(&got, &want, t, t);
            }
        }
        for (name, op, reference) in [
            (
                "argmax",
                ops::argmax as fn(&Array, Option<i32>, bool) -> mlx::Result<Array>,
                r_argmax as fn(&[f64]) -> f64,
            ),
            ("argmin", ops::argmin, r_argmin),
        ] {
            let got = op(&x, Some(1), true).unwrap();
            assert_eq!(got.dtype(), Dtype::Uint32, "{name} of {dtype}");
            let (shape, want) = reduce_ref(&data, &sh, Some(&[1]), true, reference);
            assert_eq!(got.shape(), &shape[..]);
            assert_close(&got, &want, 0.0, 0.0);
        }
        let (lo, hi) = ops::minmax(&x, Some(&[0]), false).unwrap();
        assert_eq!((lo.dtype(), hi.dtype()), (dtype, dtype));
        assert_close(
            &lo,
            &reduce_ref(&data, &sh, Some(&[0]), false, |v| {
                v.iter().cloned().fold(f64::MAX, f64::min)
            })
            .1,
            0.0,
            0.0,
        );
        assert_close(
            &hi,
            &reduce_ref(&data, &sh, Some(&[0]), false, |v| {
                v.iter().cloned().fold(f64::MIN, f64::max)
            })
            .1,
            0.0,
            0.0,
        );
    }
}

#[test]
fn cumulative_ops_in_every_dtype() {
    let src = Array::from_slice(&[1i32, 0, 3, 2, 1, 1, 4, 4, 0, 3, 2, 1], &[3, 4]).unwrap();
    for dtype in SWEEP {
        let x = src.astype(dtype).unwrap();
        let data = values(&x);
        let sh = [3, 4];
        let o = ScanOptions::new();
        let sum_dtype = if dtype == Dtype::Bool {
            Dtype::Int32
        } else {
            dtype
        };
        // For bool, products are logical and, extremes are or/and.
        type Case = (&'static str, Scan, f64, fn(f64, f64) -> f64, Dtype);
        let cases: [Case; 5] = [
            ("cumsum", ops::cumsum, 0.0, |a, b| a + b, sum_dtype),
            ("cumprod", ops::cumprod, 1.0, |a, b| a * b, dtype),
            ("cummax", ops::cummax, f64::NEG_INFINITY, f64::max, dtype),
            ("cummin", ops::cummin, f64::INFINITY, f64::min, dtype),
            (
                "logcumsumexp",
                ops::logcumsumexp,
                f64::NEG_INFINITY,
                log_add,
                floated(dtype),
            ),
        ];
        for (name, op, init, f, out_dtype) in cases {
            for axis in [0, -1] {
                let got = op(&x, Some(axis), o).unwrap_or_else(|e| panic!("{name} {dtype}: {e}"));
                assert_eq!(got.dtype(), out_dtype, "{name} of {dtype}");
                let want = scan_ref(&data, &sh, norm_axis(axis, 2), false, true, init, f);
                let t = tol(out_dtype).max(exp_tol(name));
                eprintln!("{name} of {dtype} along {axis}");
                assert_close(&got, &want, t, t);
            }
        }
        // diff: bool differences are "not equal", unsigned ones wrap around.
        let got = ops::diff(&x, 1, 1).unwrap();
        assert_eq!(got.dtype(), dtype, "diff of {dtype}");
        let want = build_diff(&data, &sh, dtype);
        assert_close(&got, &want, tol(dtype), tol(dtype));
    }
}

fn build_diff(data: &[f64], shape: &[i32], dtype: Dtype) -> Vec<f64> {
    let (rows, cols) = (shape[0] as usize, shape[1] as usize);
    let mut out = Vec::new();
    for r in 0..rows {
        for c in 0..cols - 1 {
            let d = data[r * cols + c + 1] - data[r * cols + c];
            out.push(match dtype {
                Dtype::Bool => f64::from(u8::from(d != 0.0)),
                Dtype::Uint8 => d.rem_euclid(256.0),
                Dtype::Uint16 => d.rem_euclid(65536.0),
                Dtype::Uint32 => d.rem_euclid(4294967296.0),
                _ => d,
            });
        }
    }
    out
}

#[test]
fn reductions_of_transposed_empty_arrays_finish() {
    // An empty matrix read through a transpose has strides that are not row-major; MLX's CPU
    // reductions of such inputs could loop forever, so run each a few times.
    let t = Array::zeros::<f32>(&[0, 3]).unwrap().t().unwrap();
    for _ in 0..20 {
        assert_close(
            &ops::sum(&t, Some(&[1]), false).unwrap(),
            &[0.0; 3],
            0.0,
            0.0,
        );
        assert_close(&t.prod(Some(&[1]), false).unwrap(), &[1.0; 3], 0.0, 0.0);
        let any = t.any(Some(&[1]), false).unwrap();
        assert_eq!(any.to_vec::<bool>().unwrap(), vec![false; 3]);
        let all = t.all(Some(&[1]), false).unwrap();
        assert_eq!(all.to_vec::<bool>().unwrap(), vec![true; 3]);
        let mean = t.mean(Some(&[1]), false).unwrap().to_vec::<f32>().unwrap();
        assert!(mean.iter().all(|m| m.is_nan()), "{mean:?}");
        let count = ops::count_nonzero(&t, Some(&[1]), false).unwrap();
        assert_eq!(count.to_vec::<i32>().unwrap(), vec![0; 3]);
        assert_eq!(t.max(Some(&[0]), false).unwrap().shape(), &[0]);
    }
}
