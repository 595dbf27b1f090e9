//! Comparisons, `where_`, `isclose`/`allclose` and `array_equal` against Rust references.

use crate::common;
use common::mlx_err;

use common::{assert_close, check_grad, sample, values};
use mlx::ops::CloseOptions;
use mlx::{Array, Complex32, Dtype, Result, ops};

type Compare = fn(&Array, &Array) -> Result<Array>;
type Predicate = fn(f64, f64) -> bool;

fn f64s(data: &[f64], shape: &[i32]) -> Array {
    Array::from_slice(data, shape).unwrap()
}

fn bools(a: &Array) -> Vec<bool> {
    assert_eq!(a.dtype(), Dtype::Bool);
    a.to_vec::<bool>().unwrap()
}

fn comparisons() -> [(&'static str, Compare, Predicate); 6] {
    [
        ("equal", ops::equal, |a, b| a == b),
        ("not_equal", ops::not_equal, |a, b| a != b),
        ("less", ops::less, |a, b| a < b),
        ("less_equal", ops::less_equal, |a, b| a <= b),
        ("greater", ops::greater, |a, b| a > b),
        ("greater_equal", ops::greater_equal, |a, b| a >= b),
    ]
}

/// Inputs with ties, signed zeros, infinities and NaNs.
fn special_pairs() -> (Vec<f64>, Vec<f64>) {
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    let a = vec![1.0, 2.0, 3.0, nan, 1.0, nan, 0.0, inf, -inf, inf, -2.5, 7.0];
    let b = vec![
        1.0, 3.0, 2.0, 1.0, nan, nan, -0.0, inf, inf, 1e30, -2.5, -7.0,
    ];
    (a, b)
}

#[test]
fn comparisons_match_rust_on_floats() {
    let (xs, ys) = special_pairs();
    let n = xs.len() as i32;
    // Sampled values too, rounded to few digits so that some are equal.
    let sa: Vec<f64> = values(&sample(&[24], 1, -3.0, 3.0))
        .iter()
        .map(|v| v.round())
        .collect();
    let sb: Vec<f64> = values(&sample(&[24], 2, -3.0, 3.0))
        .iter()
        .map(|v| v.round())
        .collect();
    for (a, b, shape) in [
        (xs.as_slice(), ys.as_slice(), vec![n]),
        (sa.as_slice(), sb.as_slice(), vec![4, 6]),
    ] {
        for dtype in [
            Dtype::Float64,
            Dtype::Float32,
            Dtype::Float16,
            Dtype::Bfloat16,
        ] {
            let x = f64s(a, &shape).astype(dtype).unwrap();
            let y = f64s(b, &shape).astype(dtype).unwrap();
            let (xv, yv) = (values(&x), values(&y));
            for (name, op, pred) in comparisons() {
                let got = op(&x, &y).unwrap();
                assert_eq!(got.shape(), shape.as_slice());
                let want: Vec<bool> = xv.iter().zip(&yv).map(|(p, q)| pred(*p, *q)).collect();
                assert_eq!(bools(&got), want, "{name} on {dtype}");
            }
        }
    }
}

#[test]
fn comparisons_on_integers_and_bools() {
    let a = [-5i32, 0, 7, i32::MAX, i32::MIN, 3];
    let b = [-5i32, 1, -7, i32::MAX, 0, 4];
    let x = Array::from_slice(&a, &[6]).unwrap();
    let y = Array::from_slice(&b, &[6]).unwrap();
    for (name, op, pred) in comparisons() {
        // Exact integer comparison (i32 fits f64 exactly).
        let want: Vec<bool> = a
            .iter()
            .zip(&b)
            .map(|(p, q)| pred(f64::from(*p), f64::from(*q)))
            .collect();
        assert_eq!(bools(&op(&x, &y).unwrap()), want, "{name}");
    }
    let u = Array::from_slice(&[0u8, 255, 128], &[3]).unwrap();
    let v = Array::from_slice(&[1u8, 254, 128], &[3]).unwrap();
    assert_eq!(bools(&ops::less(&u, &v).unwrap()), vec![true, false, false]);
    assert_eq!(
        bools(&ops::greater_equal(&u, &v).unwrap()),
        vec![false, true, true]
    );
    // false < true.
    let t = Array::from_slice(&[false, false, true, true], &[4]).unwrap();
    let f = Array::from_slice(&[false, true, false, true], &[4]).unwrap();
    assert_eq!(
        bools(&ops::less(&t, &f).unwrap()),
        vec![false, true, false, false]
    );
    assert_eq!(
        bools(&ops::equal(&t, &f).unwrap()),
        vec![true, false, false, true]
    );
    assert_eq!(
        bools(&ops::greater(&t, &f).unwrap()),
        vec![false, false, true, false]
    );
}

#[test]
fn comparisons_promote_mixed_dtypes() {
    // uint8 with int8 compares as int16: 200 is not -56.
    let u = Array::from_slice(&[200u8, 1], &[2]).unwrap();
    let i = Array::from_slice(&[-56i8, 1], &[2]).unwrap();
    assert_eq!(bools(&ops::greater(&u, &i).unwrap()), vec![true, false]);
    assert_eq!(bools(&ops::equal(&u, &i).unwrap()), vec![false, true]);
    // int with float compares as float.
    let n = Array::from_slice(&[1i32, 2, 3], &[3]).unwrap();
    let f = f64s(&[1.0, 2.5, 2.5], &[3]).astype(Dtype::Float32).unwrap();
    assert_eq!(
        bools(&ops::equal(&n, &f).unwrap()),
        vec![true, false, false]
    );
    assert_eq!(bools(&ops::less(&n, &f).unwrap()), vec![false, true, false]);
    // bool with int: true is 1.
    let t = Array::from_slice(&[true, false], &[2]).unwrap();
    let o = Array::from_slice(&[1i32, 1], &[2]).unwrap();
    assert_eq!(bools(&ops::equal(&t, &o).unwrap()), vec![true, false]);
    // Weak scalars compare in the array's dtype.
    let h = f64s(&[0.1, 0.5], &[2]).astype(Dtype::Float16).unwrap();
    let s = mlx::weak_scalar(0.1, h.dtype()).unwrap();
    assert_eq!(bools(&ops::equal(&h, &s).unwrap()), vec![true, false]);
}

#[test]
fn comparisons_of_complex_numbers_are_lexicographic() {
    let a = Array::from_slice(
        &[
            Complex32::new(1.0, 2.0),
            Complex32::new(1.0, 2.0),
            Complex32::new(3.0, -1.0),
        ],
        &[3],
    )
    .unwrap();
    let b = Array::from_slice(
        &[
            Complex32::new(1.0, 1.0),
            Complex32::new(2.0, 0.0),
            Complex32::new(3.0, -1.0),
        ],
        &[3],
    )
    .unwrap();
    assert_eq!(
        bools(&ops::greater(&a, &b).unwrap()),
        vec![true, false, false]
    );
    assert_eq!(bools(&ops::less(&a, &b).unwrap()), vec![false, true, false]);
    assert_eq!(
        bools(&ops::equal(&a, &b).unwrap()),
        vec![false, false, true]
    );
    assert_eq!(
        bools(&ops::not_equal(&a, &b).unwrap()),
        vec![true, true, false]
    );
}

#[test]
fn comparisons_broadcast_and_accept_strided_and_empty_inputs() {
    let col = sample(&[3, 1], 3, -1.0, 1.0);
    let row = sample(&[1, 4], 4, -1.0, 1.0);
    let (cv, rv) = (values(&col), values(&row));
    let m = sample(&[4, 3], 5, -1.0, 1.0);
    let t = m.t().unwrap(); // [3, 4], strided
    let tv = values(&t);
    let r = ops::reshape(&t, &[4, 3]).unwrap();
    let rv2 = values(&r);
    let zero = Array::scalar(0.0f64);
    for (name, op, pred) in comparisons() {
        let got = op(&col, &row).unwrap();
        assert_eq!(got.shape(), &[3, 4]);
        let want: Vec<bool> = (0..12).map(|k| pred(cv[k / 4], rv[k % 4])).collect();
        assert_eq!(bools(&got), want, "{name}");
        let got = op(&t, &row).unwrap();
        let want: Vec<bool> = (0..12).map(|k| pred(tv[k], rv[k % 4])).collect();
        assert_eq!(bools(&got), want, "{name} strided");
        let got = op(&zero, &r).unwrap();
        let want: Vec<bool> = rv2.iter().map(|v| pred(0.0, *v)).collect();
        assert_eq!(bools(&got), want, "{name} scalar");
        let empty = Array::zeros::<f32>(&[0, 4]).unwrap();
        let got = op(&empty, &row).unwrap();
        assert_eq!(got.shape(), &[0, 4]);
        assert_eq!(got.dtype(), Dtype::Bool);
        let err = mlx_err(op(
            &Array::zeros::<f32>(&[2]).unwrap(),
            &Array::zeros::<f32>(&[3]).unwrap(),
        ));
        assert!(
            err.contains("[broadcast_shapes] Shapes (2) and (3) cannot be broadcast"),
            "{err}"
        );
    }
}

#[test]
fn comparison_methods() {
    let a = f64s(&[1.0, 2.0, 3.0], &[3]);
    let b = f64s(&[3.0, 2.0, 1.0], &[3]);
    assert_eq!(bools(&a.equal(&b).unwrap()), vec![false, true, false]);
    assert_eq!(bools(&a.not_equal(&b).unwrap()), vec![true, false, true]);
    assert_eq!(bools(&a.less(&b).unwrap()), vec![true, false, false]);
    assert_eq!(bools(&a.less_equal(&b).unwrap()), vec![true, true, false]);
    assert_eq!(bools(&a.greater(&b).unwrap()), vec![false, false, true]);
    assert_eq!(
        bools(&a.greater_equal(&b).unwrap()),
        vec![false, true, true]
    );
    assert!(a.array_equal(&a, false).unwrap().item::<bool>().unwrap());
    assert!(!a.array_equal(&b, false).unwrap().item::<bool>().unwrap());
    assert_eq!(
        bools(&a.isclose(&b, CloseOptions::default()).unwrap()),
        vec![false, true, false]
    );
    let opts = CloseOptions::default().with_atol(2.5);
    assert!(a.allclose(&b, opts).unwrap().item::<bool>().unwrap());
}

// ---- array_equal --------------------------------------------------------------------------------

#[test]
fn array_equal_compares_shape_and_values() {
    let a = Array::from_slice(&[1i32, 2, 3, 4], &[2, 2]).unwrap();
    let is = |r: Result<Array>| -> bool {
        let r = r.unwrap();
        assert_eq!(r.shape(), &[] as &[i32]);
        r.item::<bool>().unwrap()
    };
    assert!(is(ops::array_equal(&a, &a.clone(), false)));
    // Values differ.
    let b = Array::from_slice(&[1i32, 2, 3, 5], &[2, 2]).unwrap();
    assert!(!is(ops::array_equal(&a, &b, false)));
    // Shapes differ (even when they would broadcast): false, not an error.
    let flat = Array::from_slice(&[1i32, 2, 3, 4], &[4]).unwrap();
    assert!(!is(ops::array_equal(&a, &flat, false)));
    let row = Array::from_slice(&[1i32, 2], &[1, 2]).unwrap();
    assert!(!is(ops::array_equal(
        &row,
        &Array::from_slice(&[1i32, 2], &[2]).unwrap(),
        false
    )));
    // Dtypes may differ.
    let f = a.astype(Dtype::Float32).unwrap();
    assert!(is(ops::array_equal(&a, &f, false)));
    let u = a.astype(Dtype::Uint8).unwrap();
    assert!(is(ops::array_equal(&u, &a, false)));
    // Strided and contiguous forms of the same values.
    let t = a.t().unwrap();
    let tc = Array::from_slice(&[1i32, 3, 2, 4], &[2, 2]).unwrap();
    assert!(is(ops::array_equal(&t, &tc, false)));
    assert!(!is(ops::array_equal(&t, &a, false)));
    // NaNs only with equal_nan.
    let n = f64s(&[f64::NAN, 1.0], &[2]);
    assert!(!is(ops::array_equal(&n, &n, false)));
    assert!(is(ops::array_equal(&n, &n, true)));
    let m = f64s(&[f64::NAN, 2.0], &[2]);
    assert!(!is(ops::array_equal(&n, &m, true)));
    // Empty arrays of the same shape are equal.
    let e = Array::zeros::<f32>(&[0, 2]).unwrap();
    assert!(is(ops::array_equal(&e, &e.clone(), false)));
    assert!(!is(ops::array_equal(
        &e,
        &Array::zeros::<f32>(&[0, 3]).unwrap(),
        false
    )));
    // Half precision.
    let h = f64s(&[0.5, 1.5], &[2]).astype(Dtype::Bfloat16).unwrap();
    assert!(is(ops::array_equal(&h, &f64s(&[0.5, 1.5], &[2]), false)));
}

// ---- isclose / allclose -------------------------------------------------------------------------

fn isclose_ref(a: f64, b: f64, o: &CloseOptions) -> bool {
    if a.is_nan() || b.is_nan() {
        return o.equal_nan && a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= o.atol + o.rtol * b.abs()
}

#[test]
fn isclose_matches_its_formula() {
    let base = sample(&[5, 6], 10, -2.0, 2.0);
    // Perturbations of several sizes around the default tolerances.
    let delta = ops::multiply(
        &sample(&[5, 6], 11, -1.0, 1.0),
        &f64s(&[1e-9, 1e-7, 1e-5, 1e-4, 1e-3, 1e-1], &[6]),
    )
    .unwrap();
    let other = ops::add(&base, &delta).unwrap();
    let (av, bv) = (values(&base), values(&other));
    for opts in [
        CloseOptions::default(),
        CloseOptions::default().with_rtol(1e-3),
        CloseOptions::default().with_atol(1e-4).with_rtol(0.0),
        CloseOptions {
            rtol: 0.05,
            atol: 0.0,
            equal_nan: false,
        },
    ] {
        let want: Vec<bool> = av
            .iter()
            .zip(&bv)
            .map(|(a, b)| isclose_ref(*a, *b, &opts))
            .collect();
        let got = ops::isclose(&base, &other, opts).unwrap();
        assert_eq!(got.shape(), &[5, 6]);
        assert_eq!(bools(&got), want, "{opts:?}");
        // The perturbations give both answers, so the comparison means something.
        assert!(
            want.iter().any(|v| *v) && want.iter().any(|v| !*v),
            "{opts:?}"
        );
        let all = ops::allclose(&base, &other, opts).unwrap();
        assert_eq!(all.shape(), &[] as &[i32]);
        assert_eq!(all.item::<bool>().unwrap(), want.iter().all(|v| *v));
        // Strided inputs.
        let got = ops::isclose(&base.t().unwrap(), &other.t().unwrap(), opts).unwrap();
        let want_t: Vec<bool> = (0..30).map(|k| want[(k % 5) * 6 + k / 5]).collect();
        assert_eq!(bools(&got), want_t);
    }
    assert!(
        ops::allclose(&base, &other, CloseOptions::default().with_atol(0.2))
            .unwrap()
            .item::<bool>()
            .unwrap()
    );
    assert!(
        !ops::allclose(&base, &other, CloseOptions::default())
            .unwrap()
            .item::<bool>()
            .unwrap()
    );
}

#[test]
fn isclose_special_values_and_asymmetry() {
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    let a = [inf, -inf, inf, nan, nan, 1e30, 0.0, 1e-9, 100.0];
    let b = [inf, -inf, -inf, nan, 1.0, inf, 1e-9, 0.0, 100.0005];
    let x = f64s(&a, &[9]);
    let y = f64s(&b, &[9]);
    for equal_nan in [false, true] {
        let opts = CloseOptions::default().with_equal_nan(equal_nan);
        let want: Vec<bool> = a
            .iter()
            .zip(&b)
            .map(|(p, q)| isclose_ref(*p, *q, &opts))
            .collect();
        assert_eq!(bools(&ops::isclose(&x, &y, opts).unwrap()), want);
    }
    // The tolerance is relative to the second argument.
    let p = f64s(&[1.0], &[1]);
    let q = f64s(&[1.5], &[1]);
    let opts = CloseOptions::default().with_rtol(0.4).with_atol(0.0);
    assert!(bools(&ops::isclose(&p, &q, opts).unwrap())[0]); // 0.5 <= 0.4 * 1.5
    assert!(!bools(&ops::isclose(&q, &p, opts).unwrap())[0]); // 0.5 > 0.4 * 1.0
    // allclose with NaNs.
    let n = f64s(&[nan, 1.0], &[2]);
    assert!(
        !ops::allclose(&n, &n, CloseOptions::default())
            .unwrap()
            .item::<bool>()
            .unwrap()
    );
    assert!(
        ops::allclose(&n, &n, CloseOptions::default().with_equal_nan(true))
            .unwrap()
            .item::<bool>()
            .unwrap()
    );
}

#[test]
fn isclose_dtypes_broadcasting_and_errors() {
    // Integers.
    let i = Array::from_slice(&[1i32, 2, 100_000], &[3]).unwrap();
    let j = Array::from_slice(&[1i32, 3, 100_001], &[3]).unwrap();
    assert_eq!(
        bools(&ops::isclose(&i, &j, CloseOptions::default()).unwrap()),
        vec![true, false, true]
    );
    // Half precision: 1.0005 rounds to the next float16 after 1.
    let h = f64s(&[1.0, 1.0, 2.0], &[3]).astype(Dtype::Float16).unwrap();
    let k = f64s(&[1.0005, 1.0, 2.001], &[3])
        .astype(Dtype::Float16)
        .unwrap();
    assert_eq!(
        bools(&ops::isclose(&h, &k, CloseOptions::default()).unwrap()),
        vec![false, true, false]
    );
    assert_eq!(
        bools(&ops::isclose(&h, &k, CloseOptions::default().with_rtol(1e-3)).unwrap()),
        vec![true, true, true]
    );
    // Broadcasting.
    let col = f64s(&[1.0, 2.0], &[2, 1]);
    let row = f64s(&[1.0, 1.0 + 1e-9, 2.0], &[1, 3]);
    let got = ops::isclose(&col, &row, CloseOptions::default()).unwrap();
    assert_eq!(got.shape(), &[2, 3]);
    assert_eq!(bools(&got), vec![true, true, false, false, false, true]);
    assert!(
        !ops::allclose(&col, &row, CloseOptions::default())
            .unwrap()
            .item::<bool>()
            .unwrap()
    );
    // Empty: all of nothing is true.
    let e = Array::zeros::<f32>(&[0]).unwrap();
    assert_eq!(
        ops::isclose(&e, &e, CloseOptions::default())
            .unwrap()
            .shape(),
        &[0]
    );
    assert!(
        ops::allclose(&e, &e, CloseOptions::default())
            .unwrap()
            .item::<bool>()
            .unwrap()
    );
    // Shapes that do not broadcast.
    let two = Array::zeros::<f32>(&[2]).unwrap();
    let three = Array::zeros::<f32>(&[3]).unwrap();
    let err = mlx_err(ops::isclose(&two, &three, CloseOptions::default()));
    assert!(err.contains("cannot be broadcast"), "{err}");
    let err = mlx_err(ops::allclose(&two, &three, CloseOptions::default()));
    assert!(err.contains("cannot be broadcast"), "{err}");
}

#[test]
fn close_options_defaults_and_builders() {
    let d = CloseOptions::default();
    assert_eq!((d.rtol, d.atol, d.equal_nan), (1e-5, 1e-8, false));
    let o = d.with_rtol(0.1).with_atol(0.2).with_equal_nan(true);
    assert_eq!((o.rtol, o.atol, o.equal_nan), (0.1, 0.2, true));
}

// ---- where_ -------------------------------------------------------------------------------------

#[test]
fn where_selects_and_broadcasts() {
    let cond = Array::from_slice(&[true, false, true, false], &[4]).unwrap();
    let x = f64s(&[1.0, 2.0, 3.0, 4.0], &[4]);
    let y = f64s(&[-1.0, -2.0, -3.0, -4.0], &[4]);
    assert_close(
        &ops::where_(&cond, &x, &y).unwrap(),
        &[1.0, -2.0, 3.0, -4.0],
        0.0,
        0.0,
    );
    // The three broadcast together: condition [3, 1], x [1, 4], y scalar.
    let c = Array::from_slice(&[true, false, true], &[3, 1]).unwrap();
    let row = f64s(&[1.0, 2.0, 3.0, 4.0], &[1, 4]);
    let zero = Array::scalar(0.0f64);
    let got = ops::where_(&c, &row, &zero).unwrap();
    assert_eq!(got.shape(), &[3, 4]);
    assert_close(
        &got,
        &[1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0],
        0.0,
        0.0,
    );
    // A sampled case against a Rust reference, with strided operands.
    let a = sample(&[4, 5], 20, -1.0, 1.0);
    let b = sample(&[5, 4], 21, -1.0, 1.0).t().unwrap();
    let mask = ops::greater(&a, &b).unwrap();
    let (av, bv) = (values(&a), values(&b));
    let want: Vec<f64> = av
        .iter()
        .zip(&bv)
        .map(|(p, q)| if p > q { *p } else { *q })
        .collect();
    assert_close(&ops::where_(&mask, &a, &b).unwrap(), &want, 0.0, 0.0);
    let mask_t = mask.t().unwrap();
    let got = ops::where_(&mask_t, &a.t().unwrap(), &b.t().unwrap()).unwrap();
    let want_t: Vec<f64> = (0..20).map(|k| want[(k % 4) * 5 + k / 4]).collect();
    assert_close(&got, &want_t, 0.0, 0.0);
    // Empty.
    let e = Array::zeros::<f32>(&[0, 2]).unwrap();
    let eb = ops::greater(&e, &e).unwrap();
    assert_eq!(ops::where_(&eb, &e, &e).unwrap().shape(), &[0, 2]);
}

#[test]
fn where_condition_and_dtypes() {
    // A non-bool condition counts non-zero as true.
    let c = Array::from_slice(&[1i32, 0, -2], &[3]).unwrap();
    let x = Array::from_slice(&[1i32, 2, 3], &[3]).unwrap();
    let y = Array::from_slice(&[7i32, 8, 9], &[3]).unwrap();
    let got = ops::where_(&c, &x, &y).unwrap();
    assert_eq!(got.dtype(), Dtype::Int32);
    assert_eq!(got.to_vec::<i32>().unwrap(), vec![1, 8, 3]);
    let cf = f64s(&[0.0, 0.5, f64::NAN], &[3]);
    assert_eq!(
        ops::where_(&cf, &x, &y).unwrap().to_vec::<i32>().unwrap(),
        vec![7, 2, 3]
    );
    // x and y promote together; the condition's dtype does not matter.
    let b = Array::from_slice(&[true, false], &[2]).unwrap();
    let i8s = Array::from_slice(&[1i8, 1], &[2]).unwrap();
    let h = f64s(&[2.5, 2.5], &[2]).astype(Dtype::Float16).unwrap();
    let got = ops::where_(&b, &i8s, &h).unwrap();
    assert_eq!(got.dtype(), Dtype::Float16);
    assert_close(&got, &[1.0, 2.5], 0.0, 0.0);
    let u8s = Array::from_slice(&[200u8, 200], &[2]).unwrap();
    let got = ops::where_(&b, &i8s, &u8s).unwrap();
    assert_eq!(got.dtype(), Dtype::Int16);
    assert_eq!(got.to_vec::<i16>().unwrap(), vec![1, 200]);
    let bf = f64s(&[0.25, 0.75], &[2]).astype(Dtype::Bfloat16).unwrap();
    let got = ops::where_(&b, &bf, &mlx::weak_scalar(0.0, Dtype::Bfloat16).unwrap()).unwrap();
    assert_eq!(got.dtype(), Dtype::Bfloat16);
    assert_close(&got, &[0.25, 0.0], 0.0, 0.0);
    let cx = Array::from_slice(&[Complex32::new(1.0, 2.0)], &[1]).unwrap();
    let got = ops::where_(&b, &cx, &Array::scalar(0.0f32)).unwrap();
    assert_eq!(
        got.to_vec::<Complex32>().unwrap(),
        vec![Complex32::new(1.0, 2.0), Complex32::new(0.0, 0.0)]
    );
    // Shapes that do not broadcast.
    let err = mlx_err(ops::where_(
        &b,
        &Array::zeros::<f32>(&[3]).unwrap(),
        &Array::zeros::<f32>(&[3]).unwrap(),
    ));
    assert!(
        err.contains("[broadcast_shapes] Shapes (2) and (3) cannot be broadcast"),
        "{err}"
    );
}

#[test]
fn where_gradients_flow_to_the_chosen_values() {
    let cond = Array::from_slice(&[true, false, false, true, true, false], &[2, 3]).unwrap();
    let x = sample(&[2, 3], 30, -2.0, 2.0);
    let y = sample(&[2, 3], 31, -2.0, 2.0);
    let w = sample(&[2, 3], 32, 0.5, 1.5);
    let f = |a: &[Array]| {
        let s = ops::where_(&cond, &ops::sin(&a[0])?, &ops::square(&a[1])?)?;
        ops::sum(&ops::multiply(&s, &w)?, None, false)
    };
    let inputs = [x.clone(), y.clone()];
    check_grad(f, &inputs, 0, 1e-4, 1e-3);
    check_grad(f, &inputs, 1, 1e-4, 1e-3);
    // Exact form: w * cos(x) where the condition holds, w * 2y elsewhere.
    let g = mlx::transforms::grad(f, &[0, 1])(&inputs).unwrap();
    let (cv, xv, yv, wv) = (bools(&cond), values(&x), values(&y), values(&w));
    let gx: Vec<f64> = (0..6)
        .map(|k| if cv[k] { wv[k] * xv[k].cos() } else { 0.0 })
        .collect();
    let gy: Vec<f64> = (0..6)
        .map(|k| if cv[k] { 0.0 } else { wv[k] * 2.0 * yv[k] })
        .collect();
    assert_close(&g[0], &gx, 1e-6, 1e-9);
    assert_close(&g[1], &gy, 1e-6, 1e-9);
    // Broadcast value arguments get summed gradients.
    let scalar = Array::scalar(0.5f64);
    let h = |a: &[Array]| {
        let s = ops::where_(&cond, &a[0], &a[1])?;
        ops::sum(&ops::multiply(&s, &w)?, None, false)
    };
    let inputs = [scalar, y];
    check_grad(h, &inputs, 0, 1e-4, 1e-3);
    check_grad(h, &inputs, 1, 1e-4, 1e-3);
    let g = mlx::transforms::grad(h, &[0])(&inputs).unwrap();
    let want: f64 = (0..6).filter(|k| cv[*k]).map(|k| wv[k]).sum();
    assert_close(&g[0], &[want], 1e-12, 0.0);
}
