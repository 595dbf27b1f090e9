//! Arithmetic and math ops: values against Rust references, dtypes, broadcasting, special
//! values, operators, errors and gradients.

use crate::common;
use common::mlx_err;

use common::{assert_close, check_grad, sample, values};
use mlx::{Array, Dtype, Result, ops};

type Unary = fn(&Array) -> Result<Array>;
type Binary = fn(&Array, &Array) -> Result<Array>;
type Ref1 = fn(f64) -> f64;
type Ref2 = fn(f64, f64) -> f64;
type Range = (f64, f64);

fn f64s(data: &[f64], shape: &[i32]) -> Array {
    Array::from_slice(data, shape).unwrap()
}

// ---- references ---------------------------------------------------------------------------------

/// MLX's sign: 0 for zeros and NaN.
fn sign_ref(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// erf by its Maclaurin series (accurate to ~1e-13 for |x| <= 3).
fn erf_ref(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x.is_infinite() {
        return x.signum();
    }
    if x.abs() > 5.0 {
        return x.signum();
    }
    let mut term = x; // (-1)^n x^(2n+1) / n!
    let mut total = x;
    for n in 1..200 {
        term *= -x * x / f64::from(n);
        let add = term / f64::from(2 * n + 1);
        total += add;
        if add.abs() < 1e-17 * total.abs() {
            break;
        }
    }
    total * 2.0 / std::f64::consts::PI.sqrt()
}

/// erfinv by Newton's method on `erf_ref`.
fn erfinv_ref(y: f64) -> f64 {
    if y.is_nan() || y.abs() > 1.0 {
        return f64::NAN;
    }
    if y.abs() == 1.0 {
        return y * f64::INFINITY;
    }
    let mut x = 0.0f64;
    for _ in 0..100 {
        let slope = 2.0 / std::f64::consts::PI.sqrt() * (-x * x).exp();
        let step = (erf_ref(x) - y) / slope;
        x -= step;
        if step.abs() < 1e-15 {
            break;
        }
    }
    // Keep the sign of zero.
    if y == 0.0 { y } else { x }
}

fn sigmoid_ref(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

struct UnaryCase {
    name: &'static str,
    op: Unary,
    reference: fn(f64) -> f64,
    lo: f64,
    hi: f64,
    differentiable: bool,
}

fn unary_cases() -> Vec<UnaryCase> {
    fn case(
        name: &'static str,
        op: Unary,
        reference: fn(f64) -> f64,
        lo: f64,
        hi: f64,
        differentiable: bool,
    ) -> UnaryCase {
        UnaryCase {
            name,
            op,
            reference,
            lo,
            hi,
            differentiable,
        }
    }
    vec![
        case("abs", ops::abs, f64::abs, -5.0, 5.0, true),
        case("negative", ops::negative, |x| -x, -5.0, 5.0, true),
        case("positive", ops::positive, |x| x, -5.0, 5.0, true),
        case("sign", ops::sign, sign_ref, -5.0, 5.0, true),
        case("reciprocal", ops::reciprocal, f64::recip, 0.2, 5.0, true),
        case("square", ops::square, |x| x * x, -5.0, 5.0, true),
        case("sqrt", ops::sqrt, f64::sqrt, 0.1, 9.0, true),
        case("rsqrt", ops::rsqrt, |x| 1.0 / x.sqrt(), 0.1, 9.0, true),
        case("exp", ops::exp, f64::exp, -4.0, 4.0, true),
        case("expm1", ops::expm1, f64::exp_m1, -1.0, 1.0, true),
        case("log", ops::log, f64::ln, 0.05, 9.0, true),
        case("log1p", ops::log1p, f64::ln_1p, -0.9, 9.0, true),
        case("log2", ops::log2, f64::log2, 0.05, 9.0, true),
        case("log10", ops::log10, f64::log10, 0.05, 9.0, true),
        case("sin", ops::sin, f64::sin, -6.0, 6.0, true),
        case("cos", ops::cos, f64::cos, -6.0, 6.0, true),
        case("tan", ops::tan, f64::tan, -1.3, 1.3, true),
        case("arcsin", ops::arcsin, f64::asin, -0.9, 0.9, true),
        case("arccos", ops::arccos, f64::acos, -0.9, 0.9, true),
        case("arctan", ops::arctan, f64::atan, -8.0, 8.0, true),
        case("sinh", ops::sinh, f64::sinh, -3.0, 3.0, true),
        case("cosh", ops::cosh, f64::cosh, -3.0, 3.0, true),
        case("tanh", ops::tanh, f64::tanh, -3.0, 3.0, true),
        case("arcsinh", ops::arcsinh, f64::asinh, -8.0, 8.0, true),
        case("arccosh", ops::arccosh, f64::acosh, 1.1, 8.0, true),
        case("arctanh", ops::arctanh, f64::atanh, -0.9, 0.9, true),
        case("degrees", ops::degrees, f64::to_degrees, -7.0, 7.0, true),
        case(
            "radians",
            ops::radians,
            f64::to_radians,
            -400.0,
            400.0,
            true,
        ),
        case("erf", ops::erf, erf_ref, -2.5, 2.5, true),
        case("erfinv", ops::erfinv, erfinv_ref, -0.9, 0.9, true),
        case("sigmoid", ops::sigmoid, sigmoid_ref, -8.0, 8.0, true),
        case("floor", ops::floor, f64::floor, -5.0, 5.0, true),
        case("ceil", ops::ceil, f64::ceil, -5.0, 5.0, true),
        case("trunc", ops::trunc, f64::trunc, -5.0, 5.0, true),
    ]
}

fn tolerances(dtype: Dtype) -> (f64, f64) {
    match dtype {
        // MLX evaluates most float64 transcendental functions at about single precision.
        Dtype::Float64 => (1e-6, 1e-7),
        Dtype::Float32 => (2e-5, 2e-6),
        Dtype::Float16 => (3e-3, 2e-3),
        Dtype::Bfloat16 => (2e-2, 1e-2),
        _ => unreachable!(),
    }
}

// ---- unary functions ----------------------------------------------------------------------------

#[test]
fn unary_functions_match_std_for_every_float_dtype() {
    for (k, case) in unary_cases().iter().enumerate() {
        let x = sample(&[3, 4], 10 + k as u64, case.lo, case.hi);
        for dtype in [
            Dtype::Float64,
            Dtype::Float32,
            Dtype::Float16,
            Dtype::Bfloat16,
        ] {
            let xd = x.astype(dtype).unwrap();
            // The reference sees the same (rounded) inputs.
            let want: Vec<f64> = values(&xd).into_iter().map(case.reference).collect();
            let got = (case.op)(&xd).unwrap();
            assert_eq!(got.dtype(), dtype, "{} {dtype}", case.name);
            assert_eq!(got.shape(), &[3, 4]);
            let (rtol, atol) = tolerances(dtype);
            if dtype == Dtype::Bfloat16 && case.name == "erfinv" {
                // erfinv is steep: compare erf of the result instead.
                let back: Vec<f64> = values(&got).into_iter().map(erf_ref).collect();
                assert_close(&f64s(&back, &[12]), &values(&xd), 2e-2, 2e-2);
                continue;
            }
            assert_close(&got, &want, rtol, atol);
        }
    }
}

#[test]
fn unary_functions_on_special_values() {
    let special = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        -1.0,
        1.0,
        -2.5,
    ];
    for case in unary_cases() {
        for dtype in [Dtype::Float64, Dtype::Float32] {
            let x = f64s(&special, &[8]).astype(dtype).unwrap();
            let want: Vec<f64> = special.iter().map(|v| (case.reference)(*v)).collect();
            let got = (case.op)(&x).unwrap();
            let (rtol, atol) = tolerances(dtype);
            let g = values(&got);
            for (i, (a, b)) in g.iter().zip(&want).enumerate() {
                let ok = (a.is_nan() && b.is_nan())
                    || a == b
                    || (a.is_finite() && (a - b).abs() <= atol + rtol * b.abs());
                assert!(
                    ok,
                    "{}({}) on {dtype}: got {a}, want {b}",
                    case.name, special[i]
                );
            }
        }
    }
    // Signed zeros survive where IEEE keeps them.
    let z = f64s(&[-0.0], &[1]);
    for op in [ops::negative, ops::sqrt, ops::sin, ops::tanh, ops::floor] {
        let v = values(&op(&f64s(&[0.0], &[1])).unwrap())[0];
        let w = values(&op(&z).unwrap())[0];
        assert_eq!(v, 0.0);
        assert_eq!(w, 0.0);
    }
    assert!(values(&ops::negative(&f64s(&[0.0], &[1])).unwrap())[0].is_sign_negative());
    assert!(values(&ops::sqrt(&z).unwrap())[0].is_sign_negative());
    assert_eq!(
        values(&ops::reciprocal(&z).unwrap()),
        vec![f64::NEG_INFINITY]
    );
}

#[test]
fn unary_functions_on_integers_and_bools() {
    let i = Array::from_slice(&[-3i32, 0, 2, 7], &[4]).unwrap();
    // Exact integer results keep the dtype.
    for (op, want) in [
        (ops::abs as Unary, vec![3, 0, 2, 7]),
        (ops::negative, vec![3, 0, -2, -7]),
        (ops::sign, vec![-1, 0, 1, 1]),
        (ops::square, vec![9, 0, 4, 49]),
        (ops::floor, vec![-3, 0, 2, 7]),
        (ops::ceil, vec![-3, 0, 2, 7]),
        (ops::positive, vec![-3, 0, 2, 7]),
    ] {
        let got = op(&i).unwrap();
        assert_eq!(got.dtype(), Dtype::Int32);
        assert_eq!(got.to_vec::<i32>().unwrap(), want);
    }
    // Transcendental functions give float32.
    let e = ops::exp(&i).unwrap();
    assert_eq!(e.dtype(), Dtype::Float32);
    assert_close(&e, &[(-3f64).exp(), 1.0, 2f64.exp(), 7f64.exp()], 1e-6, 0.0);
    let r = ops::reciprocal(&i).unwrap();
    assert_eq!(r.dtype(), Dtype::Float32);
    assert_close(&r, &[-1.0 / 3.0, f64::INFINITY, 0.5, 1.0 / 7.0], 1e-6, 0.0);

    // Unsigned: negation wraps, sign is 0 or 1, abs is the identity.
    let u = Array::from_slice(&[1u8, 0, 200], &[3]).unwrap();
    assert_eq!(
        ops::negative(&u).unwrap().to_vec::<u8>().unwrap(),
        vec![255, 0, 56]
    );
    assert_eq!(
        ops::sign(&u).unwrap().to_vec::<u8>().unwrap(),
        vec![1, 0, 1]
    );
    assert_eq!(
        ops::abs(&u).unwrap().to_vec::<u8>().unwrap(),
        vec![1, 0, 200]
    );
    // int8 abs of the minimum wraps, as two's complement does.
    let m = Array::from_slice(&[-128i8, -5], &[2]).unwrap();
    assert_eq!(ops::abs(&m).unwrap().to_vec::<i8>().unwrap(), vec![-128, 5]);

    // Bools.
    let b = Array::from_slice(&[true, false], &[2]).unwrap();
    let s = ops::sqrt(&b).unwrap();
    assert_eq!(s.dtype(), Dtype::Float32);
    assert_eq!(s.to_vec::<f32>().unwrap(), vec![1.0, 0.0]);
    assert_eq!(
        ops::abs(&b).unwrap().to_vec::<bool>().unwrap(),
        vec![true, false]
    );
    assert_eq!(
        ops::sign(&b).unwrap().to_vec::<bool>().unwrap(),
        vec![true, false]
    );
    assert_eq!(
        ops::trunc(&i).unwrap().to_vec::<i32>().unwrap(),
        vec![-3, 0, 2, 7]
    );
    let err = mlx_err(ops::negative(&b));
    assert!(err.contains("[negative] Not supported for bool"), "{err}");
}

#[test]
fn unary_functions_on_non_contiguous_and_empty_inputs() {
    for (k, case) in unary_cases().iter().enumerate() {
        let x = sample(&[3, 4], 40 + k as u64, case.lo, case.hi);
        let t = x.t().unwrap(); // a strided view
        let r = ops::reshape(&t, &[2, 6]).unwrap();
        for input in [&t, &r] {
            let want: Vec<f64> = values(input).into_iter().map(case.reference).collect();
            let got = (case.op)(input).unwrap();
            assert_eq!(got.shape(), input.shape());
            assert_close(&got, &want, 1e-6, 1e-7);
        }
        let empty = Array::zeros::<f32>(&[0, 3]).unwrap();
        let got = (case.op)(&empty).unwrap();
        assert_eq!(got.shape(), &[0, 3], "{}", case.name);
        assert!(values(&got).is_empty());
    }
}

#[test]
fn round_to_decimals() {
    // Halves go to even, like NumPy.
    let x = f64s(&[0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6], &[7]);
    assert_close(
        &ops::round(&x, 0).unwrap(),
        &[0.0, 2.0, 2.0, -0.0, -2.0, 2.0, -3.0],
        0.0,
        0.0,
    );
    // MLX scales by 10^decimals in float32, so float64 results are only that exact.
    let y = f64s(&[1.25, 1.75, -1.25, 4.56789], &[4]);
    let r = y.round(1).unwrap();
    assert_eq!(r.dtype(), Dtype::Float64);
    assert_close(&r, &[1.2, 1.8, -1.2, 4.6], 1e-7, 0.0);
    assert_close(&y.round(3).unwrap(), &[1.25, 1.75, -1.25, 4.568], 1e-7, 0.0);
    let f = y.astype(Dtype::Float32).unwrap();
    assert_close(&f.round(1).unwrap(), &[1.2, 1.8, -1.2, 4.6], 1e-7, 0.0);
    // Negative decimals round to tens (halves to even, exact in float32).
    let z = f64s(&[125.0, 135.0, 1234.5, -15.0, 151.0], &[5])
        .astype(Dtype::Float32)
        .unwrap();
    assert_close(
        &ops::round(&z, -1).unwrap(),
        &[120.0, 140.0, 1230.0, -20.0, 150.0],
        0.0,
        0.0,
    );
    assert_close(
        &ops::round(&z, -2).unwrap(),
        &[100.0, 100.0, 1200.0, -0.0, 200.0],
        1e-7,
        0.0,
    );
    // Integers keep their dtype; negative decimals round them too.
    let i = Array::from_slice(&[15i32, -15, 44], &[3]).unwrap();
    let r = ops::round(&i, 1).unwrap();
    assert_eq!(r.dtype(), Dtype::Int32);
    assert_eq!(r.to_vec::<i32>().unwrap(), vec![15, -15, 44]);
    assert_eq!(
        ops::round(&i, -1).unwrap().to_vec::<i32>().unwrap(),
        vec![20, -20, 40]
    );
    // Half precision.
    let h = f64s(&[0.5, 1.5, 2.5, 7.7], &[4])
        .astype(Dtype::Bfloat16)
        .unwrap();
    let r = ops::round(&h, 0).unwrap();
    assert_eq!(r.dtype(), Dtype::Bfloat16);
    assert_close(&r, &[0.0, 2.0, 2.0, 8.0], 0.0, 0.0);
    // Special values pass through.
    let s = f64s(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY], &[3]);
    assert_close(
        &ops::round(&s, 2).unwrap(),
        &[f64::NAN, f64::INFINITY, f64::NEG_INFINITY],
        0.0,
        0.0,
    );
}

// ---- softmax ------------------------------------------------------------------------------------

/// Softmax over `axes` (all when empty) of a row-major array of `shape`.
/// `None`: over every axis; `Some(&[])`: over none (every element is 1).
fn softmax_ref(x: &[f64], shape: &[i32], axes: Option<&[i32]>) -> Vec<f64> {
    let nd = shape.len() as i32;
    let axes: Vec<usize> = match axes {
        None => (0..shape.len()).collect(),
        Some(axes) => axes.iter().map(|a| ((a + nd) % nd) as usize).collect(),
    };
    // Group key: the index with the reduced axes zeroed.
    let key = |mut flat: usize| -> Vec<usize> {
        let mut idx = vec![0; shape.len()];
        for d in (0..shape.len()).rev() {
            idx[d] = flat % shape[d] as usize;
            flat /= shape[d] as usize;
        }
        for &a in &axes {
            idx[a] = 0;
        }
        idx
    };
    let keys: Vec<Vec<usize>> = (0..x.len()).map(key).collect();
    (0..x.len())
        .map(|i| {
            let group: Vec<usize> = (0..x.len()).filter(|j| keys[*j] == keys[i]).collect();
            let m = group
                .iter()
                .map(|j| x[*j])
                .fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = group.iter().map(|j| (x[*j] - m).exp()).sum();
            (x[i] - m).exp() / total
        })
        .collect()
}

#[test]
fn softmax_over_axes() {
    let shape = [2, 3, 4];
    let x = sample(&shape, 7, -3.0, 3.0);
    let data = values(&x);
    for axes in [
        Some(&[-1][..]),
        Some(&[2]),
        Some(&[1]),
        Some(&[0]),
        Some(&[-3]),
        Some(&[0, 2]),
        Some(&[-1, -3]),
        Some(&[0, 1, 2]),
        None,
        Some(&[]),
    ] {
        let want = softmax_ref(&data, &shape, axes);
        for precise in [false, true] {
            let got = ops::softmax(&x, axes, precise).unwrap();
            assert_eq!(got.shape(), &shape);
            assert_eq!(got.dtype(), Dtype::Float64);
            assert_close(&got, &want, 1e-6, 1e-9);
        }
        // float32, and float16 with and without float32 accumulation.
        let f = x.astype(Dtype::Float32).unwrap();
        assert_close(&f.softmax(axes, false).unwrap(), &want, 1e-5, 1e-6);
        let h = x.astype(Dtype::Float16).unwrap();
        let want_h = softmax_ref(&values(&h), &shape, axes);
        for precise in [false, true] {
            let got = ops::softmax(&h, axes, precise).unwrap();
            assert_eq!(got.dtype(), Dtype::Float16);
            assert_close(&got, &want_h, 1e-2, 1e-3);
        }
    }
}

#[test]
fn softmax_is_stable_and_handles_edge_cases() {
    // exp(1000) overflows; a stable softmax does not care.
    let x = f64s(&[1000.0, 1001.0, 1002.0], &[3])
        .astype(Dtype::Float32)
        .unwrap();
    let e: Vec<f64> = [0.0f64, 1.0, 2.0].iter().map(|v| v.exp()).collect();
    let total: f64 = e.iter().sum();
    let want: Vec<f64> = e.iter().map(|v| v / total).collect();
    assert_close(
        &ops::softmax(&x, Some(&[0]), false).unwrap(),
        &want,
        1e-5,
        1e-7,
    );
    // A -inf entry gets probability 0.
    let m = f64s(&[f64::NEG_INFINITY, 0.0, 0.0], &[3]);
    assert_close(
        &ops::softmax(&m, None, false).unwrap(),
        &[0.0, 0.5, 0.5],
        1e-6,
        0.0,
    );
    // Integer inputs give float32.
    let i = Array::from_slice(&[1i32, 2], &[2]).unwrap();
    let s = ops::softmax(&i, None, false).unwrap();
    assert_eq!(s.dtype(), Dtype::Float32);
    let a = 1.0 / (1.0 + 1f64.exp());
    assert_close(&s, &[a, 1.0 - a], 1e-6, 0.0);
    // Non-contiguous input.
    let shape = [3, 4];
    let x = sample(&shape, 3, -2.0, 2.0);
    let t = x.t().unwrap();
    let want = softmax_ref(&values(&t), &[4, 3], Some(&[-1]));
    assert_close(
        &ops::softmax(&t, Some(&[-1]), false).unwrap(),
        &want,
        1e-6,
        1e-9,
    );
    // Empty.
    let e = Array::zeros::<f32>(&[0, 3]).unwrap();
    assert_eq!(
        ops::softmax(&e, Some(&[-1]), false).unwrap().shape(),
        &[0, 3]
    );
    // Bad axes.
    let y = Array::zeros::<f32>(&[2, 3]).unwrap();
    let err = mlx_err(ops::softmax(&y, Some(&[2]), false));
    assert!(err.contains("Invalid axis 2"), "{err}");
    let err = mlx_err(ops::softmax(&y, Some(&[-3]), false));
    assert!(err.contains("Invalid axis -3"), "{err}");
    let err = mlx_err(ops::softmax(&y, Some(&[0, 0]), false));
    assert!(err.contains("Duplicate axes"), "{err}");
}

// ---- binary arithmetic --------------------------------------------------------------------------

/// Python's floor division and modulo for integers.
fn py_divmod(a: i64, b: i64) -> (i64, i64) {
    let mut q = a / b;
    if a % b != 0 && ((a < 0) != (b < 0)) {
        q -= 1;
    }
    (q, a - q * b)
}

/// Python's float modulo (the sign of the divisor).
fn py_fmod(a: f64, b: f64) -> f64 {
    let r = a % b;
    if r != 0.0 && ((r < 0.0) != (b < 0.0)) {
        r + b
    } else {
        r
    }
}

#[test]
fn floor_divide_and_remainder_follow_python() {
    let mut xs = vec![];
    let mut ys = vec![];
    for a in -7i32..=7 {
        for b in [-3i32, -2, -1, 1, 2, 3, 5] {
            xs.push(a);
            ys.push(b);
        }
    }
    let n = xs.len() as i32;
    for dtype in [Dtype::Int32, Dtype::Int8, Dtype::Int64] {
        let a = Array::from_slice(&xs, &[n]).unwrap().astype(dtype).unwrap();
        let b = Array::from_slice(&ys, &[n]).unwrap().astype(dtype).unwrap();
        let q = ops::floor_divide(&a, &b).unwrap();
        let r = ops::remainder(&a, &b).unwrap();
        assert_eq!(q.dtype(), dtype);
        assert_eq!(r.dtype(), dtype);
        let (dq, dr) = ops::divmod(&a, &b).unwrap();
        let pairs: Vec<(i64, i64)> = xs
            .iter()
            .zip(&ys)
            .map(|(x, y)| py_divmod(i64::from(*x), i64::from(*y)))
            .collect();
        let want_q: Vec<f64> = pairs.iter().map(|p| p.0 as f64).collect();
        let want_r: Vec<f64> = pairs.iter().map(|p| p.1 as f64).collect();
        for (got, want) in [(&q, &want_q), (&dq, &want_q), (&r, &want_r), (&dr, &want_r)] {
            assert_close(got, want, 0.0, 0.0);
        }
        // The operator.
        assert_close(&(&a % &b), &want_r, 0.0, 0.0);
    }
    // Unsigned.
    let a = Array::from_slice(&[7u8, 200, 3], &[3]).unwrap();
    let b = Array::from_slice(&[2u8, 7, 5], &[3]).unwrap();
    assert_eq!(
        ops::floor_divide(&a, &b).unwrap().to_vec::<u8>().unwrap(),
        vec![3, 28, 0]
    );
    assert_eq!(
        ops::remainder(&a, &b).unwrap().to_vec::<u8>().unwrap(),
        vec![1, 4, 3]
    );
    // Floats: floor of the quotient, remainder with the divisor's sign.
    let x = sample(&[4, 5], 1, -10.0, 10.0);
    let y = ops::multiply(
        &sample(&[4, 5], 2, 0.5, 3.0),
        &sample(&[4, 5], 3, -1.0, 1.0).sign().unwrap(),
    )
    .unwrap();
    let (xv, yv) = (values(&x), values(&y));
    let want_q: Vec<f64> = xv.iter().zip(&yv).map(|(a, b)| (a / b).floor()).collect();
    let want_r: Vec<f64> = xv.iter().zip(&yv).map(|(a, b)| py_fmod(*a, *b)).collect();
    assert_close(&ops::floor_divide(&x, &y).unwrap(), &want_q, 0.0, 0.0);
    assert_close(&ops::remainder(&x, &y).unwrap(), &want_r, 1e-12, 1e-12);
    let (q, r) = ops::divmod(&x, &y).unwrap();
    assert_close(&q, &want_q, 0.0, 0.0);
    assert_close(&r, &want_r, 1e-12, 1e-12);
    // Mixed int and float promote to float.
    let i = Array::from_slice(&[-7i32, 7], &[2]).unwrap();
    let f = f64s(&[2.0, -2.0], &[2]).astype(Dtype::Float32).unwrap();
    let q = ops::floor_divide(&i, &f).unwrap();
    assert_eq!(q.dtype(), Dtype::Float32);
    assert_close(&q, &[-4.0, -4.0], 0.0, 0.0);
    assert_close(&ops::remainder(&i, &f).unwrap(), &[1.0, -1.0], 0.0, 0.0);
    // Complex is rejected.
    let c = Array::from_slice(&[mlx::Complex32::new(1.0, 1.0)], &[1]).unwrap();
    let err = mlx_err(ops::remainder(&c, &c));
    assert!(
        err.contains("[remainder] Complex type not supported"),
        "{err}"
    );
    let err = ops::divmod(&c, &c).unwrap_err();
    assert!(
        err.to_string()
            .contains("[divmod] Complex type not supported"),
        "{err}"
    );
}

#[test]
fn power_values_and_dtypes() {
    let a = sample(&[3, 4], 5, 0.1, 3.0);
    let b = sample(&[3, 4], 6, -2.0, 2.0);
    let want: Vec<f64> = values(&a)
        .iter()
        .zip(values(&b))
        .map(|(x, y)| x.powf(y))
        .collect();
    assert_close(&ops::power(&a, &b).unwrap(), &want, 1e-6, 0.0);
    assert_close(&a.power(&b).unwrap(), &want, 1e-6, 0.0);
    // Special cases of pow.
    let x = f64s(&[0.0, -2.0, -2.0, f64::NAN, 1.0, 4.0, f64::INFINITY], &[7]);
    let y = f64s(&[0.0, 3.0, 0.5, 0.0, f64::NAN, -0.5, -1.0], &[7]);
    assert_close(
        &ops::power(&x, &y).unwrap(),
        &[1.0, -8.0, f64::NAN, 1.0, 1.0, 0.5, 0.0],
        1e-12,
        0.0,
    );
    // Integers stay integers.
    let i = Array::from_slice(&[2i32, 3, -2, 5, 0], &[5]).unwrap();
    let j = Array::from_slice(&[10i32, 0, 3, 1, 0], &[5]).unwrap();
    let p = ops::power(&i, &j).unwrap();
    assert_eq!(p.dtype(), Dtype::Int32);
    assert_eq!(p.to_vec::<i32>().unwrap(), vec![1024, 1, -8, 5, 1]);
    // A negative integer exponent gives 0, even for a base of 1.
    let n = Array::from_slice(&[2i32, -1, 1], &[3]).unwrap();
    let m = Array::from_slice(&[-1i32, -1, -2], &[3]).unwrap();
    assert_eq!(
        ops::power(&n, &m).unwrap().to_vec::<i32>().unwrap(),
        vec![0, 0, 0]
    );
    // int with float promotes to float.
    let h = f64s(&[0.5, 2.0, 1.0, 0.0, 3.0], &[5])
        .astype(Dtype::Float32)
        .unwrap();
    let q = ops::power(&i, &h).unwrap();
    assert_eq!(q.dtype(), Dtype::Float32);
    assert_close(&q, &[2f64.sqrt(), 9.0, -2.0, 1.0, 0.0], 1e-6, 0.0);
    // Half precision.
    let ah = a.astype(Dtype::Float16).unwrap();
    let bh = b.astype(Dtype::Float16).unwrap();
    let want: Vec<f64> = values(&ah)
        .iter()
        .zip(values(&bh))
        .map(|(x, y)| x.powf(y))
        .collect();
    let got = ops::power(&ah, &bh).unwrap();
    assert_eq!(got.dtype(), Dtype::Float16);
    assert_close(&got, &want, 3e-3, 1e-3);
}

#[test]
fn maximum_minimum_propagate_nan() {
    let nan = f64::NAN;
    let a = f64s(&[1.0, nan, 3.0, -0.5, f64::NEG_INFINITY, 2.0], &[6]);
    let b = f64s(&[nan, 1.0, 2.0, -0.25, 5.0, f64::INFINITY], &[6]);
    assert_close(
        &ops::maximum(&a, &b).unwrap(),
        &[nan, nan, 3.0, -0.25, 5.0, f64::INFINITY],
        0.0,
        0.0,
    );
    assert_close(
        &a.minimum(&b).unwrap(),
        &[nan, nan, 2.0, -0.5, f64::NEG_INFINITY, 2.0],
        0.0,
        0.0,
    );
    // Integers, unsigned and bool.
    let i = Array::from_slice(&[-3i32, 5, 0], &[3]).unwrap();
    let j = Array::from_slice(&[2i32, -5, 0], &[3]).unwrap();
    assert_eq!(
        ops::maximum(&i, &j).unwrap().to_vec::<i32>().unwrap(),
        vec![2, 5, 0]
    );
    assert_eq!(
        ops::minimum(&i, &j).unwrap().to_vec::<i32>().unwrap(),
        vec![-3, -5, 0]
    );
    let u = Array::from_slice(&[200u8, 3], &[2]).unwrap();
    let v = Array::from_slice(&[100u8, 9], &[2]).unwrap();
    assert_eq!(
        ops::maximum(&u, &v).unwrap().to_vec::<u8>().unwrap(),
        vec![200, 9]
    );
    let t = Array::from_slice(&[true, false, false], &[3]).unwrap();
    let f = Array::from_slice(&[false, false, true], &[3]).unwrap();
    assert_eq!(
        ops::maximum(&t, &f).unwrap().to_vec::<bool>().unwrap(),
        vec![true, false, true]
    );
}

#[test]
fn logaddexp_and_arctan2() {
    let a = sample(&[4, 3], 11, -5.0, 5.0);
    let b = sample(&[4, 3], 12, -5.0, 5.0);
    let lae = |x: f64, y: f64| {
        let m = x.max(y);
        m + ((x - m).exp() + (y - m).exp()).ln()
    };
    let want: Vec<f64> = values(&a)
        .iter()
        .zip(values(&b))
        .map(|(x, y)| lae(*x, y))
        .collect();
    assert_close(&ops::logaddexp(&a, &b).unwrap(), &want, 1e-6, 1e-7);
    // No overflow for large inputs; infinities.
    let x = f64s(
        &[
            1000.0,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            2.0,
        ],
        &[5],
    );
    let y = f64s(
        &[1000.0, f64::NEG_INFINITY, f64::INFINITY, 1.0, f64::NAN],
        &[5],
    );
    assert_close(
        &ops::logaddexp(&x, &y).unwrap(),
        &[
            1000.0 + 2f64.ln(),
            f64::NEG_INFINITY,
            f64::INFINITY,
            1.0,
            f64::NAN,
        ],
        1e-9,
        0.0,
    );

    let want: Vec<f64> = values(&a)
        .iter()
        .zip(values(&b))
        .map(|(y, x)| y.atan2(x))
        .collect();
    assert_close(&ops::arctan2(&a, &b).unwrap(), &want, 1e-6, 1e-7);
    // Quadrants and signed zeros.
    let ys = [0.0f64, -0.0, 0.0, -0.0, 1.0, -1.0, 1.0, -1.0];
    let xs = [0.0, 0.0, -0.0, -0.0, 0.0, 0.0, -1.0, -1.0];
    let want: Vec<f64> = ys.iter().zip(&xs).map(|(y, x)| y.atan2(*x)).collect();
    assert_close(
        &ops::arctan2(&f64s(&ys, &[8]), &f64s(&xs, &[8])).unwrap(),
        &want,
        1e-6,
        0.0,
    );
}

#[test]
fn dtype_promotion() {
    let cases = [
        (Dtype::Int32, Dtype::Float32, Dtype::Float32),
        (Dtype::Int8, Dtype::Uint8, Dtype::Int16),
        (Dtype::Uint32, Dtype::Int32, Dtype::Int64),
        (Dtype::Uint64, Dtype::Int64, Dtype::Float32),
        (Dtype::Float16, Dtype::Bfloat16, Dtype::Float32),
        (Dtype::Int64, Dtype::Float16, Dtype::Float16),
        (Dtype::Bool, Dtype::Int32, Dtype::Int32),
        (Dtype::Float32, Dtype::Float64, Dtype::Float64),
        (Dtype::Bool, Dtype::Uint8, Dtype::Uint8),
    ];
    for (a, b, want) in cases {
        let x = Array::from_slice(&[1.0f64, 0.0, 3.0], &[3])
            .unwrap()
            .astype(a)
            .unwrap();
        let y = Array::from_slice(&[0.0f64, 2.0, 1.0], &[3])
            .unwrap()
            .astype(b)
            .unwrap();
        let m = ops::maximum(&x, &y).unwrap();
        assert_eq!(m.dtype(), want, "{a} with {b}");
        let expect: Vec<f64> = values(&x)
            .iter()
            .zip(values(&y))
            .map(|(p, q)| p.max(q))
            .collect();
        assert_close(&m, &expect, 0.0, 0.0);
        assert_eq!(ops::minimum(&y, &x).unwrap().dtype(), want, "{b} with {a}");
    }
}

#[test]
fn binary_ops_broadcast_and_accept_strided_inputs() {
    let binaries: [(&str, Binary, Ref2); 6] = [
        ("power", ops::power, f64::powf),
        ("maximum", ops::maximum, f64::max),
        ("minimum", ops::minimum, f64::min),
        ("arctan2", ops::arctan2, f64::atan2),
        ("floor_divide", ops::floor_divide, |a, b| (a / b).floor()),
        ("remainder", ops::remainder, py_fmod),
    ];
    let a = sample(&[3, 1], 21, 0.5, 3.0);
    let b = sample(&[1, 4], 22, 0.5, 3.0);
    let (av, bv) = (values(&a), values(&b));
    // A strided (transposed) operand of shape [3, 4].
    let c = sample(&[4, 3], 23, 0.5, 3.0).t().unwrap();
    let cv = values(&c);
    for (name, op, reference) in binaries {
        let got = op(&a, &b).unwrap();
        assert_eq!(got.shape(), &[3, 4], "{name}");
        let want: Vec<f64> = (0..12).map(|k| reference(av[k / 4], bv[k % 4])).collect();
        assert_close(&got, &want, 1e-6, 1e-9);
        let got = op(&c, &b).unwrap();
        let want: Vec<f64> = (0..12).map(|k| reference(cv[k], bv[k % 4])).collect();
        assert_close(&got, &want, 1e-6, 1e-9);
        // A zero-dimensional operand.
        let s = Array::scalar(2.0f64);
        let got = op(&s, &c).unwrap();
        let want: Vec<f64> = cv.iter().map(|v| reference(2.0, *v)).collect();
        assert_close(&got, &want, 1e-6, 1e-9);
        // Empty.
        let e = Array::zeros::<f64>(&[0, 4]).unwrap();
        assert_eq!(op(&e, &b).unwrap().shape(), &[0, 4]);
        // Shapes that do not broadcast.
        let err = mlx_err(op(
            &Array::zeros::<f64>(&[2]).unwrap(),
            &Array::zeros::<f64>(&[3]).unwrap(),
        ));
        assert!(
            err.contains("[broadcast_shapes] Shapes (2) and (3) cannot be broadcast"),
            "{err}"
        );
    }
}

#[test]
fn binary_float_ops_in_every_float_dtype() {
    let binaries: [(&str, Binary, Ref2); 7] = [
        ("power", ops::power, f64::powf),
        ("maximum", ops::maximum, f64::max),
        ("minimum", ops::minimum, f64::min),
        ("logaddexp", ops::logaddexp, |a, b| (a.exp() + b.exp()).ln()),
        ("arctan2", ops::arctan2, f64::atan2),
        ("floor_divide", ops::floor_divide, |a, b| (a / b).floor()),
        ("remainder", ops::remainder, py_fmod),
    ];
    let a = sample(&[2, 5], 31, 0.5, 3.0);
    let b = sample(&[2, 5], 32, 0.5, 3.0);
    for (name, op, reference) in binaries {
        for dtype in [Dtype::Float32, Dtype::Float16, Dtype::Bfloat16] {
            let (x, y) = (a.astype(dtype).unwrap(), b.astype(dtype).unwrap());
            let got = op(&x, &y).unwrap();
            assert_eq!(got.dtype(), dtype, "{name}");
            let (xv, yv) = (values(&x), values(&y));
            let want: Vec<f64> = xv.iter().zip(&yv).map(|(p, q)| reference(*p, *q)).collect();
            let (rtol, atol) = tolerances(dtype);
            if name == "floor_divide" {
                // Whole numbers: exact (none of these quotients is near an integer).
                assert_close(&got, &want, 0.0, 0.0);
                continue;
            }
            assert_close(&got, &want, rtol, atol);
        }
        // Integer operands of the transcendental ones give float32.
        if matches!(name, "logaddexp" | "arctan2") {
            let i = Array::from_slice(&[1i32, -2, 0], &[3]).unwrap();
            let j = Array::from_slice(&[0i32, 3, 0], &[3]).unwrap();
            let got = op(&i, &j).unwrap();
            assert_eq!(got.dtype(), Dtype::Float32);
            let want: Vec<f64> = [(1.0, 0.0), (-2.0, 3.0), (0.0, 0.0)]
                .iter()
                .map(|(p, q)| reference(*p, *q))
                .collect();
            assert_close(&got, &want, 1e-6, 1e-7);
        }
    }
}

// ---- bitwise and logical ------------------------------------------------------------------------

#[test]
fn bitwise_ops_on_signed_integers() {
    let xs = [-8i32, -1, 0, 5, 12, 1 << 20, i32::MAX];
    let ys = [3i32, 7, -1, 6, 10, 255, -2];
    let a = Array::from_slice(&xs, &[7]).unwrap();
    let b = Array::from_slice(&ys, &[7]).unwrap();
    let zip = |f: fn(i32, i32) -> i32| -> Vec<i32> {
        xs.iter().zip(&ys).map(|(x, y)| f(*x, *y)).collect()
    };
    assert_eq!(
        ops::bitwise_and(&a, &b).unwrap().to_vec::<i32>().unwrap(),
        zip(|x, y| x & y)
    );
    assert_eq!(
        ops::bitwise_or(&a, &b).unwrap().to_vec::<i32>().unwrap(),
        zip(|x, y| x | y)
    );
    assert_eq!(
        ops::bitwise_xor(&a, &b).unwrap().to_vec::<i32>().unwrap(),
        zip(|x, y| x ^ y)
    );
    let inv: Vec<i32> = xs.iter().map(|x| !x).collect();
    assert_eq!(
        ops::bitwise_invert(&a).unwrap().to_vec::<i32>().unwrap(),
        inv
    );
    // Shifts by 0..8 bits; right shift of negatives is arithmetic.
    let s = Array::from_slice(&[1i32, 0, 3, 2, 7, 4, 1], &[7]).unwrap();
    let sv = [1i32, 0, 3, 2, 7, 4, 1];
    let left: Vec<i32> = xs
        .iter()
        .zip(&sv)
        .map(|(x, k)| x.wrapping_shl(*k as u32))
        .collect();
    let right: Vec<i32> = xs.iter().zip(&sv).map(|(x, k)| x >> k).collect();
    assert_eq!(
        ops::left_shift(&a, &s).unwrap().to_vec::<i32>().unwrap(),
        left
    );
    assert_eq!(
        ops::right_shift(&a, &s).unwrap().to_vec::<i32>().unwrap(),
        right
    );
    // The same through operators, and on strided inputs.
    assert_eq!((&a & &b).to_vec::<i32>().unwrap(), zip(|x, y| x & y));
    assert_eq!((&a | &b).to_vec::<i32>().unwrap(), zip(|x, y| x | y));
    assert_eq!((&a ^ &b).to_vec::<i32>().unwrap(), zip(|x, y| x ^ y));
    assert_eq!((&a << &s).to_vec::<i32>().unwrap(), left);
    assert_eq!((&a >> &s).to_vec::<i32>().unwrap(), right);
    assert_eq!((!&a).to_vec::<i32>().unwrap(), inv);
    let m = Array::from_slice(&[1i32, 2, 3, 4, 5, 6], &[2, 3]).unwrap();
    let t = m.t().unwrap();
    assert_eq!((&t & 6).to_vec::<i32>().unwrap(), vec![0, 4, 2, 4, 2, 6]);
    assert_eq!(
        ops::bitwise_invert(&t).unwrap().to_vec::<i32>().unwrap(),
        vec![-2, -5, -3, -6, -4, -7]
    );
}

#[test]
fn bitwise_ops_on_unsigned_bool_and_mixed_types() {
    let u = Array::from_slice(&[200u8, 5, 0b1010_1010], &[3]).unwrap();
    let v = Array::from_slice(&[3u8, 1, 4], &[3]).unwrap();
    assert_eq!(
        ops::right_shift(&u, &v).unwrap().to_vec::<u8>().unwrap(),
        vec![25, 2, 0b1010]
    );
    assert_eq!(
        ops::left_shift(&u, &v).unwrap().to_vec::<u8>().unwrap(),
        vec![200u8.wrapping_shl(3), 10, 0b1010_0000]
    );
    assert_eq!(
        ops::bitwise_invert(&u).unwrap().to_vec::<u8>().unwrap(),
        vec![55, 250, 0b0101_0101]
    );
    assert_eq!((!&u).to_vec::<u8>().unwrap(), vec![55, 250, 0b0101_0101]);
    // Weak scalars keep uint8.
    let w = &u << 1;
    assert_eq!(w.dtype(), Dtype::Uint8);
    assert_eq!(w.to_vec::<u8>().unwrap(), vec![144, 10, 0b0101_0100]);
    assert_eq!((&u & 0x0f).to_vec::<u8>().unwrap(), vec![8, 5, 0b1010]);
    assert_eq!(
        (0x0f | &u).to_vec::<u8>().unwrap(),
        vec![207, 15, 0b1010_1111]
    );
    assert_eq!(
        (&u ^ 255).to_vec::<u8>().unwrap(),
        vec![55, 250, 0b0101_0101]
    );
    assert_eq!((&u >> 2).to_vec::<u8>().unwrap(), vec![50, 1, 0b10_1010]);
    // int8 with uint8 promotes to int16.
    let i = Array::from_slice(&[-1i8, 4, 6], &[3]).unwrap();
    let r = ops::bitwise_and(&i, &u).unwrap();
    assert_eq!(r.dtype(), Dtype::Int16);
    assert_eq!(r.to_vec::<i16>().unwrap(), vec![200, 4, 2]);
    // Bools: logical results, bool dtype; shifts give uint8.
    let t = Array::from_slice(&[true, true, false, false], &[4]).unwrap();
    let f = Array::from_slice(&[true, false, true, false], &[4]).unwrap();
    assert_eq!(
        ops::bitwise_and(&t, &f).unwrap().to_vec::<bool>().unwrap(),
        vec![true, false, false, false]
    );
    assert_eq!(
        (&t | &f).to_vec::<bool>().unwrap(),
        vec![true, true, true, false]
    );
    assert_eq!(
        (&t ^ &f).to_vec::<bool>().unwrap(),
        vec![false, true, true, false]
    );
    assert_eq!(
        (!&t).to_vec::<bool>().unwrap(),
        vec![false, false, true, true]
    );
    assert_eq!(
        ops::bitwise_invert(&t).unwrap().to_vec::<bool>().unwrap(),
        vec![false, false, true, true]
    );
    let sh = ops::left_shift(&t, &f).unwrap();
    assert_eq!(sh.dtype(), Dtype::Uint8);
    assert_eq!(sh.to_vec::<u8>().unwrap(), vec![2, 1, 0, 0]);
    // A bool array with an int scalar gives int32.
    let ti = &t & 1;
    assert_eq!(ti.dtype(), Dtype::Int32);
    assert_eq!(ti.to_vec::<i32>().unwrap(), vec![1, 1, 0, 0]);
    // Broadcasting and empty.
    let col = Array::from_slice(&[1i32, 2], &[2, 1]).unwrap();
    let row = Array::from_slice(&[3i32, 4, 5], &[1, 3]).unwrap();
    assert_eq!(
        (&col | &row).to_vec::<i32>().unwrap(),
        vec![3, 5, 5, 3, 6, 7]
    );
    let e = Array::zeros::<i32>(&[0]).unwrap();
    assert_eq!((&e ^ 3).shape(), &[0]);
}

#[test]
fn bitwise_ops_reject_floats() {
    let f = f64s(&[1.0, 2.0], &[2]).astype(Dtype::Float32).unwrap();
    let i = Array::from_slice(&[1i32, 2], &[2]).unwrap();
    let err = mlx_err(ops::bitwise_and(&f, &f));
    assert!(err.contains("[bitwise_and] Only allowed on integer or boolean types but got types float32 and float32"), "{err}");
    let err = mlx_err(ops::bitwise_or(&f, &i));
    assert!(
        err.contains("[bitwise_or] Only allowed on integer or boolean types"),
        "{err}"
    );
    let err = mlx_err(ops::bitwise_xor(&i, &f));
    assert!(
        err.contains("[bitwise_xor] Only allowed on integer or boolean types"),
        "{err}"
    );
    let err = mlx_err(ops::left_shift(&f, &i));
    assert!(
        err.contains("[left_shift] Only allowed on integer or boolean types"),
        "{err}"
    );
    let err = mlx_err(ops::right_shift(&i, &f));
    assert!(
        err.contains("[right_shift] Only allowed on integer or boolean types"),
        "{err}"
    );
    let err = mlx_err(ops::bitwise_invert(&f));
    assert!(
        err.contains("[bitwise_invert] Bitwise inverse only allowed on integer types"),
        "{err}"
    );
    let err = mlx_err(ops::bitwise_and(&i, &Array::zeros::<i32>(&[3]).unwrap()));
    assert!(err.contains("cannot be broadcast"), "{err}");
}

#[test]
fn logical_ops_read_truth_values() {
    let a = f64s(&[0.0, 1.5, -2.0, 0.0, f64::NAN], &[5]);
    let b = f64s(&[0.0, 0.0, 3.0, 1.0, 1.0], &[5]);
    let truth = |v: &[f64]| -> Vec<bool> { v.iter().map(|x| *x != 0.0).collect() };
    let (ta, tb) = (truth(&values(&a)), truth(&values(&b)));
    let zip = |f: fn(bool, bool) -> bool| -> Vec<bool> {
        ta.iter().zip(&tb).map(|(x, y)| f(*x, *y)).collect()
    };
    let and = ops::logical_and(&a, &b).unwrap();
    assert_eq!(and.dtype(), Dtype::Bool);
    assert_eq!(and.to_vec::<bool>().unwrap(), zip(|x, y| x && y));
    assert_eq!(
        a.logical_or(&b).unwrap().to_vec::<bool>().unwrap(),
        zip(|x, y| x || y)
    );
    assert_eq!(
        ops::logical_xor(&a, &b).unwrap().to_vec::<bool>().unwrap(),
        zip(|x, y| x != y)
    );
    let not: Vec<bool> = ta.iter().map(|x| !x).collect();
    assert_eq!(a.logical_not().unwrap().to_vec::<bool>().unwrap(), not);
    // Integers and bools, broadcast.
    let i = Array::from_slice(&[0i32, 3, -4], &[3, 1]).unwrap();
    let t = Array::from_slice(&[true, false], &[1, 2]).unwrap();
    assert_eq!(
        ops::logical_and(&i, &t).unwrap().to_vec::<bool>().unwrap(),
        vec![false, false, true, false, true, false]
    );
    assert_eq!(
        ops::logical_or(&i, &t).unwrap().to_vec::<bool>().unwrap(),
        vec![true, false, true, true, true, true]
    );
    assert_eq!(
        ops::logical_not(&i).unwrap().to_vec::<bool>().unwrap(),
        vec![true, false, false]
    );
    let err = mlx_err(ops::logical_and(&a, &Array::zeros::<f32>(&[2]).unwrap()));
    assert!(err.contains("cannot be broadcast"), "{err}");
}

// ---- special values, clipping, complex ----------------------------------------------------------

#[test]
fn isnan_isinf_isfinite() {
    let xs = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, 1.5, -2.0];
    for dtype in [
        Dtype::Float64,
        Dtype::Float32,
        Dtype::Float16,
        Dtype::Bfloat16,
    ] {
        let x = f64s(&xs, &[2, 3]).astype(dtype).unwrap();
        let check = |op: Unary, f: fn(f64) -> bool| {
            let got = op(&x).unwrap();
            assert_eq!(got.dtype(), Dtype::Bool);
            assert_eq!(got.shape(), &[2, 3]);
            assert_eq!(
                got.to_vec::<bool>().unwrap(),
                xs.iter().map(|v| f(*v)).collect::<Vec<_>>()
            );
            // Strided.
            let t = op(&x.t().unwrap()).unwrap();
            let tv: Vec<bool> = [0, 3, 1, 4, 2, 5].iter().map(|k| f(xs[*k])).collect();
            assert_eq!(t.to_vec::<bool>().unwrap(), tv);
        };
        check(ops::isnan, f64::is_nan);
        check(ops::isinf, f64::is_infinite);
        check(ops::isfinite, f64::is_finite);
        check(ops::isposinf, |v| v == f64::INFINITY);
        check(ops::isneginf, |v| v == f64::NEG_INFINITY);
    }
    assert_eq!(
        f64s(&xs, &[6]).isnan().unwrap().to_vec::<bool>().unwrap(),
        vec![true, false, false, false, false, false]
    );
    // Integers are always finite.
    let i = Array::from_slice(&[i32::MAX, 0], &[2]).unwrap();
    assert_eq!(
        ops::isnan(&i).unwrap().to_vec::<bool>().unwrap(),
        vec![false, false]
    );
    assert_eq!(
        ops::isinf(&i).unwrap().to_vec::<bool>().unwrap(),
        vec![false, false]
    );
    assert_eq!(
        ops::isfinite(&i).unwrap().to_vec::<bool>().unwrap(),
        vec![true, true]
    );
    assert_eq!(
        ops::isnan(&Array::zeros::<f32>(&[0]).unwrap())
            .unwrap()
            .shape(),
        &[0]
    );
}

#[test]
fn nan_to_num_replaces_special_values() {
    let xs = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1.5];
    let x = f64s(&xs, &[4]).astype(Dtype::Float32).unwrap();
    let got = ops::nan_to_num(&x, 0.0, None, None).unwrap();
    assert_eq!(got.dtype(), Dtype::Float32);
    assert_eq!(
        got.to_vec::<f32>().unwrap(),
        vec![0.0, f32::MAX, f32::MIN, 1.5]
    );
    let got = ops::nan_to_num(&x, -1.0, Some(100.0), Some(-100.0)).unwrap();
    assert_eq!(got.to_vec::<f32>().unwrap(), vec![-1.0, 100.0, -100.0, 1.5]);
    let got = ops::nan_to_num(&x, 7.0, None, Some(-3.0)).unwrap();
    assert_eq!(got.to_vec::<f32>().unwrap(), vec![7.0, f32::MAX, -3.0, 1.5]);
    // The limits are the dtype's.
    let h = f64s(&xs, &[4]).astype(Dtype::Float16).unwrap();
    assert_close(
        &ops::nan_to_num(&h, 0.0, None, None).unwrap(),
        &[0.0, 65504.0, -65504.0, 1.5],
        0.0,
        0.0,
    );
    let b = f64s(&xs, &[4]).astype(Dtype::Bfloat16).unwrap();
    let got = ops::nan_to_num(&b, 2.0, None, None).unwrap();
    assert_eq!(got.dtype(), Dtype::Bfloat16);
    assert_close(
        &got,
        &[2.0, mlx::bf16::MAX.to_f64(), mlx::bf16::MIN.to_f64(), 1.5],
        0.0,
        0.0,
    );
    // Strided.
    let d = x.reshape(&[2, 2]).unwrap().t().unwrap();
    assert_close(
        &ops::nan_to_num(&d, 0.0, None, None).unwrap(),
        &[0.0, f64::from(f32::MIN), f64::from(f32::MAX), 1.5],
        0.0,
        0.0,
    );
    // MLX has no float64 version.
    let err = mlx_err(ops::nan_to_num(&f64s(&xs, &[4]), 0.0, None, None));
    assert!(
        err.contains("[nan_to_num] Does not yet support given type: float64"),
        "{err}"
    );
    // Integers pass through.
    let i = Array::from_slice(&[1i32, -2], &[2]).unwrap();
    assert_eq!(
        ops::nan_to_num(&i, 0.0, None, None)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        vec![1, -2]
    );
}

#[test]
fn clip_with_optional_bounds() {
    let x = f64s(&[-3.0, -1.0, 0.0, 0.5, 2.0, 3.0], &[6]);
    let lo = Array::scalar(-0.5f64);
    let hi = Array::scalar(1.0f64);
    let clamp =
        |l: f64, h: f64| -> Vec<f64> { values(&x).iter().map(|v| v.max(l).min(h)).collect() };
    assert_close(
        &ops::clip(&x, Some(&lo), Some(&hi)).unwrap(),
        &clamp(-0.5, 1.0),
        0.0,
        0.0,
    );
    assert_close(
        &ops::clip(&x, Some(&lo), None).unwrap(),
        &clamp(-0.5, f64::INFINITY),
        0.0,
        0.0,
    );
    assert_close(
        &x.clip(None, Some(&hi)).unwrap(),
        &clamp(f64::NEG_INFINITY, 1.0),
        0.0,
        0.0,
    );
    // Array bounds broadcast with the input.
    let lows = f64s(&[-1.0, 1.0], &[2, 1]);
    let got = ops::clip(&x, Some(&lows), Some(&Array::scalar(2.0f64))).unwrap();
    assert_eq!(got.shape(), &[2, 6]);
    assert_close(
        &got,
        &[-1.0, -1.0, 0.0, 0.5, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0],
        0.0,
        0.0,
    );
    // Integers with weak scalar bounds keep their dtype.
    let i = Array::from_slice(&[-3i32, 0, 3], &[3]).unwrap();
    let c = ops::clip(&i, Some(&mlx::weak_scalar(1, i.dtype()).unwrap()), None).unwrap();
    assert_eq!(c.dtype(), Dtype::Int32);
    assert_eq!(c.to_vec::<i32>().unwrap(), vec![1, 1, 3]);
    // Half precision, strided.
    let h = f64s(&[-2.0, 0.25, 4.0, 1.0], &[2, 2])
        .astype(Dtype::Float16)
        .unwrap()
        .t()
        .unwrap();
    let c = h
        .clip(
            Some(&mlx::weak_scalar(0.0, Dtype::Float16).unwrap()),
            Some(&mlx::weak_scalar(1.5, Dtype::Float16).unwrap()),
        )
        .unwrap();
    assert_eq!(c.dtype(), Dtype::Float16);
    assert_close(&c, &[0.0, 1.5, 0.25, 1.0], 0.0, 0.0);
    // NaN stays NaN.
    let n = f64s(&[f64::NAN], &[1]);
    assert!(values(&ops::clip(&n, Some(&lo), Some(&hi)).unwrap())[0].is_nan());
    // No bound at all, or bounds that do not broadcast, fail.
    let err = mlx_err(ops::clip(&x, None, None));
    assert!(
        err.contains("At most one of a_min and a_max may be None"),
        "{err}"
    );
    let err = mlx_err(ops::clip(
        &x,
        Some(&Array::zeros::<f64>(&[4]).unwrap()),
        None,
    ));
    assert!(err.contains("cannot be broadcast"), "{err}");
}

#[test]
fn complex_parts() {
    use mlx::Complex32;
    let z = Array::from_slice(
        &[Complex32::new(1.0, 2.0), Complex32::new(-3.0, -4.0)],
        &[2],
    )
    .unwrap();
    assert_eq!(
        ops::conjugate(&z).unwrap().to_vec::<Complex32>().unwrap(),
        vec![Complex32::new(1.0, -2.0), Complex32::new(-3.0, 4.0)]
    );
    assert_eq!(
        z.conj().unwrap().to_vec::<Complex32>().unwrap(),
        vec![Complex32::new(1.0, -2.0), Complex32::new(-3.0, 4.0)]
    );
    let re = ops::real(&z).unwrap();
    assert_eq!(re.dtype(), Dtype::Float32);
    assert_eq!(re.to_vec::<f32>().unwrap(), vec![1.0, -3.0]);
    assert_eq!(z.imag().unwrap().to_vec::<f32>().unwrap(), vec![2.0, -4.0]);
    let m = ops::abs(&z).unwrap();
    assert_eq!(m.dtype(), Dtype::Float32);
    assert_close(&m, &[5f64.sqrt(), 5.0], 1e-6, 0.0);
    // Complex negation and square.
    assert_eq!(
        ops::negative(&z).unwrap().to_vec::<Complex32>().unwrap(),
        vec![Complex32::new(-1.0, -2.0), Complex32::new(3.0, 4.0)]
    );
    assert_eq!(
        ops::square(&z).unwrap().to_vec::<Complex32>().unwrap(),
        vec![Complex32::new(-3.0, 4.0), Complex32::new(-7.0, 24.0)]
    );
    // Real inputs: conjugate and real are the identity, imag is zero.
    let x = f64s(&[1.5, -2.0], &[2]).astype(Dtype::Float32).unwrap();
    assert_eq!(
        ops::conjugate(&x).unwrap().to_vec::<f32>().unwrap(),
        vec![1.5, -2.0]
    );
    assert_eq!(
        ops::real(&x).unwrap().to_vec::<f32>().unwrap(),
        vec![1.5, -2.0]
    );
    assert_eq!(
        ops::imag(&x).unwrap().to_vec::<f32>().unwrap(),
        vec![0.0, 0.0]
    );
    // Functions without complex support say so.
    let err = mlx_err(ops::floor(&z));
    assert!(err.contains("[floor] Not supported for complex64"), "{err}");
    let err = mlx_err(ops::erf(&z));
    assert!(err.contains("[erf] Not supported for complex64"), "{err}");
    let err = mlx_err(ops::arctan2(&z, &z));
    assert!(
        err.contains("[arctan2] Not supported for complex64"),
        "{err}"
    );
}

// ---- operators ----------------------------------------------------------------------------------

#[test]
fn operators_with_scalars_on_either_side() {
    let a = Array::from_slice(&[-7i32, 7, 5], &[3]).unwrap();
    assert_eq!((&a % 3).to_vec::<i32>().unwrap(), vec![2, 1, 2]);
    assert_eq!((&a % -3).to_vec::<i32>().unwrap(), vec![-1, -2, -1]);
    assert_eq!((10 % &a).to_vec::<i32>().unwrap(), vec![-4, 3, 0]);
    assert_eq!(
        (a.clone() % a.clone()).to_vec::<i32>().unwrap(),
        vec![0, 0, 0]
    );
    assert_eq!(
        (1 << &a.abs().unwrap()).to_vec::<i32>().unwrap(),
        vec![128, 128, 32]
    );
    assert_eq!(
        (-64 >> a.abs().unwrap()).to_vec::<i32>().unwrap(),
        vec![-1, -1, -2]
    );
    assert_eq!((a.clone() & 6).to_vec::<i32>().unwrap(), vec![0, 6, 4]);
    assert_eq!((3 ^ a.clone()).to_vec::<i32>().unwrap(), vec![-6, 4, 6]);
    assert_eq!((!a.clone()).to_vec::<i32>().unwrap(), vec![6, -8, -6]);
    assert_eq!((-a.clone()).to_vec::<i32>().unwrap(), vec![7, -7, -5]);
    // A float scalar with an int array gives float32, as for the other operators.
    let r = &a % 2.5;
    assert_eq!(r.dtype(), Dtype::Float32);
    assert_close(&r, &[0.5, 2.0, 0.0], 1e-7, 0.0);
    let h = f64s(&[5.5, -5.5], &[2]).astype(Dtype::Float16).unwrap();
    let r = &h % 2.0;
    assert_eq!(r.dtype(), Dtype::Float16);
    assert_close(&r, &[1.5, 0.5], 0.0, 0.0);
    // Negation keeps signed zeros, as MLX's negative does.
    let z = -f64s(&[0.0], &[1]);
    assert!(values(&z)[0].is_sign_negative());
}

#[test]
#[should_panic(expected = "[bitwise_and] Only allowed on integer or boolean types")]
fn bitwise_operator_on_floats_panics_with_mlx_message() {
    let f = f64s(&[1.0], &[1]);
    let _ = &f & &f;
}

#[test]
#[should_panic(expected = "[bitwise_invert] Bitwise inverse only allowed on integer types")]
fn not_operator_on_floats_panics_with_mlx_message() {
    let _ = !f64s(&[1.0], &[1]);
}

#[test]
#[should_panic(expected = "[left_shift] Only allowed on integer or boolean types")]
fn shift_by_float_scalar_panics() {
    let i = Array::from_slice(&[1i32], &[1]).unwrap();
    let _ = &i << 1.0;
}

#[test]
#[should_panic(expected = "[negative] Not supported for bool")]
fn negating_bools_panics() {
    let _ = -Array::from_slice(&[true], &[1]).unwrap();
}

#[test]
#[should_panic(expected = "cannot be broadcast")]
fn remainder_operator_panics_on_shape_mismatch() {
    let _ = Array::zeros::<f32>(&[2]).unwrap() % Array::zeros::<f32>(&[3]).unwrap();
}

#[test]
fn methods_delegate_to_functions() {
    let x = sample(&[2, 3], 77, 0.5, 2.0);
    let xv = values(&x);
    let map = |f: fn(f64) -> f64| -> Vec<f64> { xv.iter().map(|v| f(*v)).collect() };
    let methods: [(Array, Ref1); 12] = [
        (x.abs().unwrap(), f64::abs),
        (x.exp().unwrap(), f64::exp),
        (x.square().unwrap(), |v| v * v),
        (x.sqrt().unwrap(), f64::sqrt),
        (x.rsqrt().unwrap(), |v| 1.0 / v.sqrt()),
        (x.log().unwrap(), f64::ln),
        (x.log2().unwrap(), f64::log2),
        (x.log10().unwrap(), f64::log10),
        (x.log1p().unwrap(), f64::ln_1p),
        (x.reciprocal().unwrap(), f64::recip),
        (x.sin().unwrap(), f64::sin),
        (x.cos().unwrap(), f64::cos),
    ];
    for (got, f) in methods {
        assert_close(&got, &map(f), 1e-6, 1e-9);
    }
    assert_close(&x.tanh().unwrap(), &map(f64::tanh), 1e-6, 1e-9);
    assert_close(&x.sigmoid().unwrap(), &map(sigmoid_ref), 1e-6, 1e-9);
    assert_close(&x.negative().unwrap(), &map(|v| -v), 0.0, 0.0);
    assert_close(&x.floor().unwrap(), &map(f64::floor), 0.0, 0.0);
    let y = sample(&[2, 3], 78, 0.5, 2.0);
    let yv = values(&y);
    let zip = |f: fn(f64, f64) -> f64| -> Vec<f64> {
        xv.iter().zip(&yv).map(|(a, b)| f(*a, *b)).collect()
    };
    assert_close(&x.maximum(&y).unwrap(), &zip(f64::max), 0.0, 0.0);
    assert_close(
        &x.floor_divide(&y).unwrap(),
        &zip(|a, b| (a / b).floor()),
        0.0,
        0.0,
    );
    assert_close(&x.remainder(&y).unwrap(), &zip(py_fmod), 1e-12, 1e-12);
    assert_close(
        &x.logaddexp(&y).unwrap(),
        &zip(|a, b| (a.exp() + b.exp()).ln()),
        1e-6,
        0.0,
    );
}

// ---- gradients ----------------------------------------------------------------------------------

/// `sum(op(x) * w)` with fixed weights, so every element's derivative is checked separately.
fn weighted(y: &Array, seed: u64) -> Result<Array> {
    let w = sample(y.shape(), seed, 0.5, 1.5).astype(y.dtype())?;
    ops::sum(&ops::multiply(y, &w)?, None, false)
}

#[test]
fn gradients_of_unary_functions() {
    for (k, case) in unary_cases().iter().enumerate() {
        if !case.differentiable {
            continue;
        }
        // Stay inside the domain, away from its edges.
        let margin = (case.hi - case.lo) * 0.05;
        let x = sample(&[2, 3], 100 + k as u64, case.lo + margin, case.hi - margin);
        let op = case.op;
        check_grad(|a| weighted(&op(&a[0])?, 5), &[x], 0, 1e-4, 1e-3);
    }
}

#[test]
fn gradients_of_binary_functions() {
    let binaries: [(&str, Binary, Range, Range); 6] = [
        ("power", ops::power, (0.5, 2.5), (-1.5, 1.5)),
        ("maximum", ops::maximum, (-2.0, 2.0), (-2.0, 2.0)),
        ("minimum", ops::minimum, (-2.0, 2.0), (-2.0, 2.0)),
        ("logaddexp", ops::logaddexp, (-3.0, 3.0), (-3.0, 3.0)),
        ("arctan2", ops::arctan2, (-2.0, 2.0), (0.5, 2.0)),
        ("remainder", ops::remainder, (-5.0, 5.0), (0.7, 2.0)),
    ];
    for (k, (_, op, ra, rb)) in binaries.into_iter().enumerate() {
        let a = sample(&[2, 3], 200 + k as u64, ra.0, ra.1);
        let b = sample(&[2, 3], 300 + k as u64, rb.0, rb.1);
        for argnum in [0, 1] {
            check_grad(
                |x| weighted(&op(&x[0], &x[1])?, 6),
                &[a.clone(), b.clone()],
                argnum,
                1e-4,
                1e-3,
            );
        }
        // Broadcast operands get summed gradients.
        let row = sample(&[1, 3], 400 + k as u64, rb.0, rb.1);
        check_grad(
            |x| weighted(&op(&x[0], &x[1])?, 7),
            &[a.clone(), row],
            1,
            1e-4,
            1e-3,
        );
    }
}

#[test]
fn gradients_of_softmax_clip_and_nan_to_num() {
    let x = sample(&[2, 3, 4], 500, -2.0, 2.0);
    for axes in [Some(&[-1][..]), Some(&[0]), Some(&[0, 2]), None] {
        for precise in [false, true] {
            check_grad(
                |a| weighted(&ops::softmax(&a[0], axes, precise)?, 8),
                std::slice::from_ref(&x),
                0,
                1e-4,
                1e-3,
            );
        }
    }
    let x = sample(&[3, 4], 501, -2.0, 2.0);
    let lo = sample(&[1, 4], 502, -1.5, -0.5);
    let hi = Array::scalar(1.0f64);
    // The gradient flows to the input inside the bounds and to the bounds outside.
    let f = |a: &[Array]| weighted(&ops::clip(&a[0], Some(&a[1]), Some(&a[2]))?, 9);
    let inputs = [x.clone(), lo, hi];
    check_grad(f, &inputs, 0, 1e-4, 1e-3);
    check_grad(f, &inputs, 1, 1e-4, 1e-3);
    check_grad(f, &inputs, 2, 1e-4, 1e-3);
    let g = mlx::transforms::grad(
        |a: &[Array]| ops::sum(&ops::clip(&a[0], Some(&a[1]), Some(&a[2]))?, None, false),
        &[0],
    )(&inputs)
    .unwrap();
    let xv = values(&x);
    let lv = values(&inputs[1]);
    let want: Vec<f64> = xv
        .iter()
        .enumerate()
        .map(|(i, v)| if *v > lv[i % 4] && *v < 1.0 { 1.0 } else { 0.0 })
        .collect();
    assert_close(&g[0], &want, 0.0, 0.0);
    // nan_to_num has no float64 kernel: float32.
    let x32 = x.astype(Dtype::Float32).unwrap();
    check_grad(
        |a| weighted(&ops::nan_to_num(&a[0], 0.0, None, None)?, 10),
        &[x32],
        0,
        1e-2,
        1e-2,
    );
}

#[test]
fn gradients_in_float32() {
    // The ops most used in training, on float32 with a coarser step.
    let x = sample(&[2, 3], 600, -2.0, 2.0)
        .astype(Dtype::Float32)
        .unwrap();
    for op in [
        ops::sigmoid as Unary,
        ops::tanh,
        ops::exp,
        ops::sin,
        ops::square,
    ] {
        check_grad(
            |a| weighted(&op(&a[0])?, 11),
            std::slice::from_ref(&x),
            0,
            1e-2,
            1e-2,
        );
    }
    check_grad(
        |a| weighted(&ops::softmax(&a[0], Some(&[-1]), false)?, 12),
        std::slice::from_ref(&x),
        0,
        1e-2,
        1e-2,
    );
    let y = sample(&[2, 3], 601, 0.5, 2.0)
        .astype(Dtype::Float32)
        .unwrap();
    check_grad(
        |a| weighted(&ops::power(&a[0], &a[1])?, 13),
        &[y.clone(), x.clone()],
        0,
        1e-2,
        1e-2,
    );
    check_grad(
        |a| weighted(&ops::power(&a[0], &a[1])?, 13),
        &[y, x],
        1,
        1e-2,
        1e-2,
    );
}
