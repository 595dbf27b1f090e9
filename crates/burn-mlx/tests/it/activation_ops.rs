//! Differential tests of `ActivationOps` on `Mlx` against `NdArray`: every activation forward at
//! each float precision, the `*_backward` methods called directly and reached through
//! `Autodiff`, and extreme inputs (large |x|, where naive formulas overflow) against values
//! computed here in f64.
//!
//! Where the oracle's own formula is not the function Burn documents, the reference is computed
//! here instead (each place says why).

use crate::common;
use common::*;

// ---- f64 references -------------------------------------------------------------------------

/// erf(x): its Maclaurin series below |x| = 2.5 (cancellation costs at most ~1e-13) and
/// `1 - erfc(x)` from erfc's continued fraction above.
fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    let m = if a < 2.5 {
        let (mut term, mut sum, x2) = (a, a, a * a);
        for n in 1..80 {
            term *= -x2 / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else {
        1.0 - erfc_large(a)
    };
    m.copysign(x)
}

/// erfc(x) for x >= 2.5: e^(-x^2) / (sqrt(pi) K), K = x + (1/2)/(x + 1/(x + (3/2)/(x + ...))).
fn erfc_large(x: f64) -> f64 {
    if x.is_infinite() {
        return 0.0;
    }
    let mut k = x;
    for level in (1..=120).rev() {
        k = x + level as f64 * 0.5 / k;
    }
    (-x * x).exp() / (k * std::f64::consts::PI.sqrt())
}

/// Φ(x), the standard normal CDF, accurate in the far left tail too.
fn normal_cdf(x: f64) -> f64 {
    let z = x * std::f64::consts::FRAC_1_SQRT_2;
    if z < -2.5 {
        0.5 * erfc_large(-z)
    } else {
        0.5 * (1.0 + erf(z))
    }
}

fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Burn's `gelu` is the exact (erf) form.
fn gelu(x: f64) -> f64 {
    x * normal_cdf(x)
}

/// Its exact derivative, Φ(x) + x φ(x).
fn gelu_grad(x: f64) -> f64 {
    let pdf = normal_pdf(x);
    normal_cdf(x) + if pdf == 0.0 { 0.0 } else { x * pdf }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// log σ(x) = min(x, 0) - log(1 + e^-|x|), finite for every finite x.
fn log_sigmoid(x: f64) -> f64 {
    x.min(0.0) - (-x.abs()).exp().ln_1p()
}

fn hard_sigmoid(x: f64, alpha: f64, beta: f64) -> f64 {
    (alpha * x + beta).clamp(0.0, 1.0)
}

/// Row-wise softmax / log-softmax of a flat row, max-shifted.
fn softmax_row(row: &[f64], log: bool) -> Vec<f64> {
    let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = row.iter().map(|v| (v - max).exp()).sum();
    row.iter()
        .map(|v| {
            if log {
                (v - max) - sum.ln()
            } else {
                (v - max).exp() / sum
            }
        })
        .collect()
}

/// A reference function and the name of the op it checks.
type Named = (&'static str, fn(f64) -> f64);

/// Values of `data` as the backend under test sees them (rounded to `prec`), widened.
fn seen(data: &TensorData, prec: Prec) -> Vec<f64> {
    prec.round(data).iter::<f64>().collect()
}

/// Compares MLX's output with reference values for the same logical shape.
fn assert_host(label: &str, prec: Prec, tol: Tol, got: &TensorData, want: Vec<f64>) {
    assert_eq!(got.dtype, prec.dtype(), "{label}: dtype");
    let want = TensorData::new(want, got.shape.clone());
    assert_data_close(&format!("{label} [{prec:?}, reference]"), got, &want, tol);
}

/// Runs a gradient case on `Autodiff<Mlx>` only (for references computed here).
fn run_mlx_grad<C: GradCase>(prec: Prec, case: &C) -> Vec<TensorData> {
    case.run(&Cx::<AM> {
        dev: mlx_device(),
        prec,
        oracle: false,
    })
}

// ---- element-wise activations --------------------------------------------------------------

/// Inputs spread over [-6, 6): both sides of every kink and the sigmoids' working range.
fn wide(shape: &[usize], seed: u64) -> TensorData {
    floats_in(shape, seed, -6.0, 6.0)
}

/// A unary op on one input reached through a layout.
struct Fwd<'a, F> {
    f: &'a F,
    x: TensorData,
    layout: Layout,
}

impl<F: FloatFn> Case for Fwd<'_, F> {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        vec![rf::<B>(self.f.apply::<B>(cx.fl(&self.x, self.layout)))]
    }
}

/// A unary activation against a reference function, on MLX only, over the sweep shapes and
/// layouts.
fn sweep_host<F: FloatFn>(label: &str, f: &F, host: impl Fn(f64) -> f64, prec: Prec, tol: Tol) {
    for (i, shape) in SHAPES.iter().chain(EMPTY_SHAPES).enumerate() {
        for layout in LAYOUTS {
            let x = wide(shape, 700 + i as u64);
            let got = run_mlx(
                prec,
                &Fwd {
                    f,
                    x: x.clone(),
                    layout,
                },
            );
            let want = seen(&x, prec).into_iter().map(&host).collect();
            assert_host(
                &format!("{label} {shape:?} {layout:?}"),
                prec,
                tol,
                &got[0],
                want,
            );
        }
    }
}

#[test]
fn relu_leaky_relu_gelu() {
    sweep_unary("relu", &float_fn!(|B, x| B::relu(x)), &wide, &ALL_PRECS);
    for slope in [0.01, 0.3, -0.5, 1.5] {
        sweep_unary(
            &format!("leaky_relu {slope}"),
            &float_fn!(slope: f64 = slope; |B, x| B::leaky_relu(x, Scalar::Float(slope))),
            &wide,
            &ALL_PRECS,
        );
    }
    sweep_unary("gelu", &float_fn!(|B, x| B::gelu(x)), &wide, &ALL_PRECS);
    sweep_host(
        "gelu",
        &float_fn!(|B, x| B::gelu(x)),
        gelu,
        Prec::F64,
        Prec::F64.tol(),
    );
}

#[test]
fn sigmoids() {
    // Burn's default `sigmoid` and `hard_sigmoid` (which ndarray uses) compute in f32 whatever
    // the input dtype, so at F64 the oracle is only f32-accurate: F64 is checked against f64
    // references below instead.
    let below_f64 = [Prec::F32, Prec::F16, Prec::BF16];
    sweep_unary(
        "sigmoid",
        &float_fn!(|B, x| B::sigmoid(x)),
        &wide,
        &below_f64,
    );
    sweep_host(
        "sigmoid",
        &float_fn!(|B, x| B::sigmoid(x)),
        sigmoid,
        Prec::F64,
        Prec::F64.tol(),
    );
    for (alpha, beta) in [(0.2, 0.5), (1.0 / 6.0, 0.5), (-0.3, 0.1)] {
        let f = float_fn!(ab: (f64, f64) = (alpha, beta); |B, x| B::hard_sigmoid(x, Scalar::Float(ab.0), Scalar::Float(ab.1)));
        sweep_unary(
            &format!("hard_sigmoid {alpha} {beta}"),
            &f,
            &wide,
            &below_f64,
        );
        sweep_host(
            &format!("hard_sigmoid {alpha} {beta}"),
            &f,
            |x| hard_sigmoid(x, alpha, beta),
            Prec::F64,
            Prec::F64.tol(),
        );
    }
    sweep_unary(
        "log_sigmoid",
        &float_fn!(|B, x| B::log_sigmoid(x)),
        &wide,
        &ALL_PRECS,
    );
}

#[test]
fn prelu_broadcasts_alpha() {
    // (input shape, alpha shape): alpha per element, per channel, per row, one for all.
    let pairs: &[(&[usize], &[usize])] = &[
        (&[7], &[7]),
        (&[7], &[1]),
        (&[3, 4], &[3, 4]),
        (&[3, 4], &[1, 4]),
        (&[3, 4], &[3, 1]),
        (&[2, 3, 4], &[1, 3, 1]),
        (&[2, 3, 4], &[1, 1, 1]),
        (&[2, 3, 4, 2], &[1, 3, 1, 1]),
        (&[0, 3], &[1, 3]),
    ];
    for prec in ALL_PRECS {
        for (i, (sx, sa)) in pairs.iter().enumerate() {
            for layout in LAYOUTS {
                let (x, a) = (
                    wide(sx, 800 + i as u64),
                    floats_in(sa, 810 + i as u64, -1.5, 1.5),
                );
                let case = case!(x: TensorData = x, a: TensorData = a, layout: Layout = layout; |B, cx| {
                    let x = cx.fl(&x, layout);
                    let mut a = cx.fl(&a, Layout::Transposed);
                    // The oracle gets alpha broadcast explicitly (its masked select wants equal
                    // shapes); the backend under test broadcasts by itself.
                    if cx.oracle {
                        a = B::float_expand(a, x.shape());
                    }
                    rf::<B>(B::prelu(x, a))
                });
                check(format!("prelu {sx:?} alpha {sa:?} {layout:?}"), prec, &case);
            }
        }
    }
    // Gradients for the input and alpha (through Autodiff's decomposition of prelu).
    for prec in [Prec::F32, Prec::F64] {
        for (i, (sx, sa)) in pairs.iter().enumerate() {
            let (x, a) = (
                wide(sx, 820 + i as u64),
                floats_in(sa, 830 + i as u64, -1.5, 1.5),
            );
            let case = grad_case!(x: TensorData = x, a: TensorData = a; |B, cx| {
                let (lx, x) = cx.fgl(&x, Layout::Transposed);
                let (la, a) = cx.fgl(&a, Layout::Contiguous);
                let a = B::float_expand(a, x.shape());
                let y = B::prelu(x, a);
                let g = cx.backward(y.clone(), 3);
                (rf::<B>(y), cx.grad_l(&lx, &g), cx.grad_l(&la, &g))
            });
            check_grad(format!("prelu grad {sx:?} alpha {sa:?}"), prec, &case);
        }
    }
}

// ---- softmax family -------------------------------------------------------------------------

#[test]
fn softmax_softmin_log_softmax() {
    for prec in ALL_PRECS {
        for (i, shape) in SHAPES.iter().chain(EMPTY_SHAPES).enumerate() {
            for dim in 0..shape.len() {
                for layout in [
                    Layout::Contiguous,
                    Layout::Transposed,
                    Layout::Permuted,
                    Layout::Reversed,
                ] {
                    let x = floats_in(shape, 900 + i as u64, -8.0, 8.0);
                    let case = case!(x: TensorData = x, dim: usize = dim, layout: Layout = layout; |B, cx| {
                        let x = cx.fl(&x, layout);
                        vec![
                            rf::<B>(B::softmax(x.clone(), dim)),
                            rf::<B>(B::softmin(x.clone(), dim)),
                            rf::<B>(B::log_softmax(x, dim)),
                        ]
                    });
                    let label =
                        format!("softmax/softmin/log_softmax {shape:?} dim {dim} {layout:?}");
                    if shape[dim] > 0 {
                        check(label, prec, &case);
                    } else {
                        // Along an empty dim the oracle's max panics: the result is simply
                        // empty, of the input's shape and dtype.
                        for out in run_mlx(prec, &case) {
                            assert_eq!(out.shape.as_slice(), *shape, "{label}");
                            assert_eq!(out.dtype, prec.dtype(), "{label}");
                        }
                    }
                }
            }
        }
    }
    // Rows written out: uniform rows, one dominant entry, and masked (-inf) entries.
    let x = TensorData::new(
        vec![
            1.0f32,
            1.0,
            1.0,
            1.0,
            0.0,
            50.0,
            0.0,
            0.0,
            f32::NEG_INFINITY,
            0.0,
            f32::NEG_INFINITY,
            2.0,
        ],
        [3, 4],
    );
    for prec in ALL_PRECS {
        check(
            "softmax family, special rows",
            prec,
            &case!(x: TensorData = x.clone(); |B, cx| {
                let x = cx.f(&x);
                vec![rf::<B>(B::softmax(x.clone(), 1)), rf::<B>(B::log_softmax(x.clone(), 1)), rf::<B>(B::softmin(B::float_neg(x), 1))]
            }),
        );
        let got = run_mlx(
            prec,
            &case!(x: TensorData = x.clone(); |B, cx| {
                let x = cx.f(&x);
                vec![rf::<B>(B::softmax(x.clone(), 1)), rf::<B>(B::log_softmax(x, 1))]
            }),
        );
        let rows: Vec<Vec<f64>> = seen(&x, prec).chunks(4).map(|r| r.to_vec()).collect();
        for (k, log) in [false, true].into_iter().enumerate() {
            let want = rows.iter().flat_map(|r| softmax_row(r, log)).collect();
            assert_host("softmax special rows", prec, prec.tol(), &got[k], want);
        }
    }
}

// ---- extreme inputs -------------------------------------------------------------------------

/// Magnitudes where `e^x`, `e^-x` or `x^2` overflow (in f16, f32 or f64), around the f16/f32
/// exp limits, and near zero.
const EXTREMES: [f64; 24] = [
    -1.0e4, -1000.0, -745.0, -100.0, -88.8, -30.0, -20.0, -17.0, -11.1, -5.0, -1e-3, -0.0, 0.0,
    1e-3, 5.0, 11.1, 17.0, 20.0, 30.0, 88.8, 100.0, 745.0, 1000.0, 1.0e4,
];

fn extremes() -> TensorData {
    TensorData::new(
        EXTREMES.iter().map(|v| *v as f32).collect::<Vec<_>>(),
        [4, 6],
    )
}

#[test]
fn extreme_inputs_forward() {
    let x = extremes();
    for prec in ALL_PRECS {
        let got = run_mlx(
            prec,
            &case!(x: TensorData = x.clone(); |B, cx| {
                let x = cx.fl(&x, Layout::Transposed);
                vec![
                    rf::<B>(B::relu(x.clone())),
                    rf::<B>(B::leaky_relu(x.clone(), Scalar::Float(0.1))),
                    rf::<B>(B::gelu(x.clone())),
                    rf::<B>(B::sigmoid(x.clone())),
                    rf::<B>(B::log_sigmoid(x.clone())),
                    rf::<B>(B::hard_sigmoid(x, Scalar::Float(0.2), Scalar::Float(0.5))),
                ]
            }),
        );
        let xs = seen(&x, prec);
        let refs: [Named; 6] = [
            ("relu", |x| x.max(0.0)),
            ("leaky_relu", |x| if x > 0.0 { x } else { 0.1 * x }),
            ("gelu", gelu),
            ("sigmoid", sigmoid),
            ("log_sigmoid", log_sigmoid),
            ("hard_sigmoid", |x| hard_sigmoid(x, 0.2, 0.5)),
        ];
        for (k, (name, f)) in refs.iter().enumerate() {
            let want = xs.iter().map(|v| f(*v)).collect();
            assert_host(&format!("{name} extremes"), prec, prec.tol(), &got[k], want);
        }
        // And against the oracle where its formula is stable in the oracle's dtype.
        if prec != Prec::F64 {
            check(
                "activations extremes",
                prec,
                &case!(x: TensorData = x.clone(); |B, cx| {
                    let x = cx.f(&x);
                    vec![
                        rf::<B>(B::relu(x.clone())),
                        rf::<B>(B::gelu(x.clone())),
                        rf::<B>(B::sigmoid(x.clone())),
                        rf::<B>(B::log_sigmoid(x)),
                    ]
                }),
            );
        }
    }
    // Softmax over rows spanning tens of thousands: e^x of the raw values overflows everywhere.
    let rows = TensorData::new(
        vec![
            1.0e4f32, -1.0e4, 0.0, 5.0, 1000.0, 999.0, 998.0, -1000.0, -1.0e4, -1.0e4, -9990.0,
            -1.0e4,
        ],
        [3, 4],
    );
    for prec in ALL_PRECS {
        check(
            "softmax family extremes",
            prec,
            &case!(x: TensorData = rows.clone(); |B, cx| {
                let x = cx.fl(&x, Layout::Reversed);
                vec![rf::<B>(B::softmax(x.clone(), 1)), rf::<B>(B::softmin(x.clone(), 1)), rf::<B>(B::log_softmax(x, 1))]
            }),
        );
        let got = run_mlx(
            prec,
            &case!(x: TensorData = rows.clone(); |B, cx| {
                let x = cx.f(&x);
                vec![rf::<B>(B::softmax(x.clone(), 1)), rf::<B>(B::softmin(x.clone(), 1)), rf::<B>(B::log_softmax(x, 1))]
            }),
        );
        let r: Vec<Vec<f64>> = seen(&rows, prec).chunks(4).map(|r| r.to_vec()).collect();
        let neg: Vec<Vec<f64>> = r.iter().map(|r| r.iter().map(|v| -v).collect()).collect();
        let cases = [(&r, false), (&neg, false), (&r, true)];
        for (k, (rows, log)) in cases.into_iter().enumerate() {
            let want = rows.iter().flat_map(|row| softmax_row(row, log)).collect();
            assert_host(
                &format!("softmax family extremes {k}"),
                prec,
                prec.tol(),
                &got[k],
                want,
            );
        }
    }
}

#[test]
fn special_values() {
    // NaN and the infinities through the element-wise activations: NaN stays NaN (no
    // comparison with NaN holds in Burn's definitions), the functions' limits at the
    // infinities.
    let x = TensorData::new(vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1.0], [4]);
    for prec in ALL_PRECS {
        let got = run_mlx(
            prec,
            &case!(x: TensorData = x.clone(); |B, cx| {
                let x = cx.f(&x);
                let g = cx.f(&TensorData::new(vec![2.0f32; 4], [4]));
                vec![
                    rf::<B>(B::relu(x.clone())),
                    rf::<B>(B::leaky_relu(x.clone(), Scalar::Float(0.1))),
                    rf::<B>(B::sigmoid(x.clone())),
                    rf::<B>(B::log_sigmoid(x.clone())),
                    rf::<B>(B::gelu(B::float_slice(x.clone(), &[Slice::new(0, Some(2), 1)]))),
                    // Backward at infinities: σ(-x) is 0 at +inf and 1 at -inf.
                    rf::<B>(B::relu_backward(x.clone(), g.clone())),
                    rf::<B>(B::log_sigmoid_backward(B::float_slice(x, &[Slice::new(1, None, 1)]), B::float_slice(g, &[Slice::new(1, None, 1)]))),
                ]
            }),
        );
        let nan = f64::NAN;
        let inf = f64::INFINITY;
        let want: [Vec<f64>; 7] = [
            vec![nan, inf, 0.0, 1.0],
            vec![nan, inf, -inf, 1.0],
            vec![nan, 1.0, 0.0, sigmoid(1.0)],
            vec![nan, 0.0, -inf, log_sigmoid(1.0)],
            vec![nan, inf],
            // Burn zeroes the gradient where `output <= 0`; NaN is not, so it passes.
            vec![2.0, 2.0, 0.0, 2.0],
            vec![0.0, 2.0, 2.0 * sigmoid(-1.0)],
        ];
        for (k, w) in want.into_iter().enumerate() {
            assert_host(&format!("special values {k}"), prec, prec.tol(), &got[k], w);
        }
        // The oracle agrees, but for log_sigmoid(-inf): Burn's default body computes
        // `inf - inf` there and gives NaN, where the function's limit is -inf (checked above).
        check(
            "special values",
            prec,
            &case!(x: TensorData = x.clone(); |B, cx| {
                let x = cx.f(&x);
                let g = cx.f(&TensorData::new(vec![2.0f32; 4], [4]));
                vec![
                    rf::<B>(B::relu(x.clone())),
                    rf::<B>(B::leaky_relu(x.clone(), Scalar::Float(0.1))),
                    rf::<B>(B::log_sigmoid(B::float_slice(x.clone(), &[Slice::new(0, Some(2), 1)]))),
                    // gelu(-inf) is -inf * 0 = NaN in the erf form, on both.
                    rf::<B>(B::gelu(x.clone())),
                    rf::<B>(B::relu_backward(x, g)),
                ]
            }),
        );
    }
}

// ---- backward methods, called directly ------------------------------------------------------

#[test]
fn backward_methods_direct() {
    for prec in ALL_PRECS {
        for (i, shape) in SHAPES.iter().chain(EMPTY_SHAPES).enumerate() {
            for layout in LAYOUTS {
                let x = wide(shape, 1000 + i as u64);
                let g = floats(shape, 1010 + i as u64);
                let case = case!(x: TensorData = x.clone(), g: TensorData = g.clone(), layout: Layout = layout; |B, cx| {
                    let x = cx.fl(&x, layout);
                    let g = cx.fl(&g, Layout::Transposed);
                    let mut out = vec![
                        // With the forward output (zeros below the kink), and with raw values.
                        rf::<B>(B::relu_backward(B::relu(x.clone()), g.clone())),
                        rf::<B>(B::relu_backward(x.clone(), g.clone())),
                    ];
                    // `sigmoid` itself is only f32-accurate on the oracle at F64 (see `sigmoids`):
                    // the output is fed as data instead there.
                    if cx.prec != Prec::F64 {
                        out.push(rf::<B>(B::sigmoid_backward(B::sigmoid(x.clone()), g.clone())));
                    }
                    out.push(rf::<B>(B::sigmoid_backward(B::float_mul_scalar(B::float_tanh(x), Scalar::Float(0.5)), g)));
                    out
                });
                check(
                    format!("relu/sigmoid backward {shape:?} {layout:?}"),
                    prec,
                    &case,
                );
                // gelu_backward: Burn's default body (ndarray's) differentiates the tanh
                // approximation of GELU, not the erf form `gelu` computes; the derivative of
                // `gelu` itself, Φ(x) + x φ(x), is the reference.
                // log_sigmoid_backward: the default body forms σ(-x) as `1 - 1/(1 + e^-x)` for
                // x > 0, which cancels (0.4% off at x = 5 in f32); σ(-x) is the reference.
                let got = run_mlx(
                    prec,
                    &case!(x: TensorData = x.clone(), g: TensorData = g.clone(), layout: Layout = layout; |B, cx| {
                        vec![
                            rf::<B>(B::gelu_backward(cx.fl(&x, layout), cx.fl(&g, Layout::Stepped))),
                            rf::<B>(B::log_sigmoid_backward(cx.fl(&x, layout), cx.fl(&g, Layout::Reversed))),
                            rf::<B>(B::sigmoid_backward(cx.f(&x), cx.f(&g))),
                        ]
                    }),
                );
                let (xs, gs) = (seen(&x, prec), seen(&g, prec));
                let tol = prec.tol().times(2.0);
                let want = xs.iter().zip(&gs).map(|(x, g)| gelu_grad(*x) * g).collect();
                assert_host(
                    &format!("gelu_backward {shape:?} {layout:?}"),
                    prec,
                    tol,
                    &got[0],
                    want,
                );
                let want = xs.iter().zip(&gs).map(|(x, g)| sigmoid(-x) * g).collect();
                assert_host(
                    &format!("log_sigmoid_backward {shape:?} {layout:?}"),
                    prec,
                    tol,
                    &got[1],
                    want,
                );
                let want = xs.iter().zip(&gs).map(|(s, g)| s * (1.0 - s) * g).collect();
                assert_host(
                    &format!("sigmoid_backward {shape:?}"),
                    prec,
                    tol,
                    &got[2],
                    want,
                );
            }
        }
    }
    // Extreme inputs: e^-x, e^x and x^2 overflow in some dtype here.
    let x = extremes();
    let g = floats([4, 6], 5);
    for prec in ALL_PRECS {
        let got = run_mlx(
            prec,
            &case!(x: TensorData = x.clone(), g: TensorData = g.clone(); |B, cx| {
                let (x, g) = (cx.f(&x), cx.f(&g));
                vec![
                    rf::<B>(B::gelu_backward(x.clone(), g.clone())),
                    rf::<B>(B::log_sigmoid_backward(x.clone(), g.clone())),
                    rf::<B>(B::sigmoid_backward(B::sigmoid(x.clone()), g.clone())),
                    rf::<B>(B::relu_backward(B::relu(x), g)),
                ]
            }),
        );
        let (xs, gs) = (seen(&x, prec), seen(&g, prec));
        let refs: [Named; 4] = [
            ("gelu_backward", gelu_grad),
            ("log_sigmoid_backward", |x| sigmoid(-x)),
            ("sigmoid_backward", |x| sigmoid(x) * sigmoid(-x)),
            ("relu_backward", |x| if x > 0.0 { 1.0 } else { 0.0 }),
        ];
        for (k, (name, f)) in refs.iter().enumerate() {
            let want = xs.iter().zip(&gs).map(|(x, g)| f(*x) * g).collect();
            assert_host(
                &format!("{name} extremes"),
                prec,
                prec.tol().times(2.0),
                &got[k],
                want,
            );
        }
    }
}

// ---- through Autodiff -----------------------------------------------------------------------

#[test]
fn gradients_through_autodiff() {
    sweep_unary_grad("relu", &float_fn!(|B, x| B::relu(x)), &wide, &ALL_PRECS);
    sweep_unary_grad(
        "leaky_relu",
        &float_fn!(|B, x| B::leaky_relu(x, Scalar::Float(0.2))),
        &wide,
        &ALL_PRECS,
    );
    // Autodiff's sigmoid backward recomputes `sigmoid` (f32-accurate on the oracle at F64).
    sweep_unary_grad(
        "sigmoid",
        &float_fn!(|B, x| B::sigmoid(x)),
        &wide,
        &[Prec::F32, Prec::F16, Prec::BF16],
    );
    sweep_unary_grad(
        "hard_sigmoid",
        &float_fn!(|B, x| B::hard_sigmoid(x, Scalar::Float(0.2), Scalar::Float(0.5))),
        &wide,
        &[Prec::F32, Prec::F16, Prec::BF16],
    );
    for (name, op) in [("softmax", 0usize), ("softmin", 1), ("log_softmax", 2)] {
        for first in [false, true] {
            let f = float_fn!(op: usize = op, first: bool = first; |B, x| {
                let dim = if first { 0 } else { x.shape().num_dims() - 1 };
                match op {
                    0 => B::softmax(x, dim),
                    1 => B::softmin(x, dim),
                    _ => B::log_softmax(x, dim),
                }
            });
            sweep_unary_grad(
                &format!("{name} (first dim: {first})"),
                &f,
                &floats_gen(-4.0, 4.0),
                &ALL_PRECS,
            );
        }
    }
}

/// A unary activation through `Autodiff<Mlx>` against reference values and gradients.
struct RefGrad<F> {
    f: F,
    x: TensorData,
    layout: Layout,
}

impl<F: FloatFn> GradCase for RefGrad<F> {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (leaf, view) = cx.fgl(&self.x, self.layout);
        let y = self.f.apply::<B>(view);
        let grads = cx.backward(y.clone(), 7);
        vec![rf::<B>(y), cx.grad_l(&leaf, &grads)]
    }
}

/// The upstream gradient `Cx::backward(_, seed)` applies, as the backend sees it.
fn upstream(shape: &[usize], seed: u64, prec: Prec) -> Vec<f64> {
    seen(&floats_in(shape, seed ^ 0x5EED, -1.0, 1.0), prec)
}

#[test]
fn gradients_through_autodiff_against_references() {
    // Where the oracle's gradient is not accurate enough (see `backward_methods_direct`):
    // gelu (Autodiff calls `gelu_backward`, whose default body differentiates the tanh
    // approximation), log_sigmoid (its default backward cancels for x > 0), and sigmoid at F64
    // (the oracle's sigmoid is f32-accurate).
    type Ref = (fn(f64) -> f64, fn(f64) -> f64);
    let gelu_ref: Ref = (gelu, gelu_grad);
    let log_sigmoid_ref: Ref = (log_sigmoid, |x| sigmoid(-x));
    let sigmoid_ref: Ref = (sigmoid, |x| sigmoid(x) * sigmoid(-x));
    let mut inputs: Vec<(Vec<usize>, TensorData)> = SHAPES
        .iter()
        .enumerate()
        .map(|(i, s)| (s.to_vec(), wide(s, 1100 + i as u64)))
        .collect();
    inputs.push((vec![4, 6], extremes()));
    for (shape, x) in &inputs {
        for layout in [Layout::Contiguous, Layout::Transposed] {
            for prec in ALL_PRECS {
                let w = upstream(shape, 7, prec);
                let xs = seen(x, prec);
                let run = |name: &str, got: Vec<TensorData>, (f, df): Ref| {
                    let want_y = xs.iter().map(|v| f(*v)).collect();
                    let want_g = xs.iter().zip(&w).map(|(v, w)| df(*v) * w).collect();
                    let tol = prec.tol().times(4.0);
                    assert_host(
                        &format!("{name} {shape:?} {layout:?}"),
                        prec,
                        tol,
                        &got[0],
                        want_y,
                    );
                    assert_host(
                        &format!("{name} grad {shape:?} {layout:?}"),
                        prec,
                        tol,
                        &got[1],
                        want_g,
                    );
                };
                let gelu_case = RefGrad {
                    f: float_fn!(|B, x| B::gelu(x)),
                    x: x.clone(),
                    layout,
                };
                run("gelu", run_mlx_grad(prec, &gelu_case), gelu_ref);
                let ls = RefGrad {
                    f: float_fn!(|B, x| B::log_sigmoid(x)),
                    x: x.clone(),
                    layout,
                };
                run("log_sigmoid", run_mlx_grad(prec, &ls), log_sigmoid_ref);
                if prec == Prec::F64 {
                    let sig = RefGrad {
                        f: float_fn!(|B, x| B::sigmoid(x)),
                        x: x.clone(),
                        layout,
                    };
                    run("sigmoid", run_mlx_grad(prec, &sig), sigmoid_ref);
                }
            }
        }
    }
    // The oracle's gelu gradient is the tanh approximation's: close to the exact one, not equal.
    for prec in [Prec::F32, Prec::F64] {
        let case = RefGrad {
            f: float_fn!(|B, x| B::gelu(x)),
            x: wide(&[5, 17], 3),
            layout: Layout::Contiguous,
        };
        let (got, want) = run_both_grad(prec, &case);
        assert_outputs(
            "gelu grad vs the tanh approximation",
            prec,
            Tol::new(0.0, 2e-3),
            &got,
            &want,
        );
    }
}

/// How many `label` primitives the pending graphs behind `tensors` hold together.
fn primitives_named(label: &str, tensors: &[&Tensor<M, 2>]) -> usize {
    let arrays: Vec<_> = tensors
        .iter()
        .map(|t| (*t).clone().into_primitive().tensor())
        .collect();
    let dot = mlx::export_to_dot(arrays.iter().map(|t| t.array())).unwrap();
    dot.lines()
        .filter(|l| l.contains(&format!("label =\"{label}\"")))
        .count()
}

#[test]
fn gelu_backward_reuses_the_forward_erf() {
    // Burn's gelu_backward gets only the saved input; the backend finds the erf the forward
    // pass took, so the forward and backward graphs together hold one Erf (two without the
    // reuse). A read in between ends the step: the backward pass then computes its own erf,
    // with the same values.
    let data = floats_in([4, 6], 31, -3.0, 3.0);
    let xs: Vec<f64> = data.iter::<f64>().collect();
    let want_y: Vec<f64> = xs.iter().map(|&v| gelu(v)).collect();
    let want_dx: Vec<f64> = xs.iter().map(|&v| gelu_grad(v)).collect();
    let tol = Prec::F32.tol().times(4.0);
    for read_between in [false, true] {
        let x = Tensor::<AM, 2>::from_data(data.clone(), &mlx_device()).require_grad();
        let y = burn::tensor::activation::gelu(x.clone());
        if read_between {
            let _ = y.clone().into_data();
        }
        let grads = y.clone().sum().backward();
        let dx = x.grad(&grads).unwrap();
        let y = y.inner();
        if !read_between {
            assert_eq!(primitives_named("Erf", &[&y, &dx]), 1);
        }
        assert_host("gelu", Prec::F32, tol, &y.into_data(), want_y.clone());
        assert_host(
            "gelu grad",
            Prec::F32,
            tol,
            &dx.into_data(),
            want_dx.clone(),
        );
    }
}
