//! Differential tests of `FloatTensorOps` on `Mlx` against `NdArray`: every method, forward at
//! each float precision (F32, F16, BF16, F64 on the CPU) and backward through `Autodiff`.

use crate::common;
use common::*;

/// Floats with |x| in [0.5, 3), either sign (divisors, reciprocals).
fn nonzero(shape: &[usize], seed: u64) -> TensorData {
    let mut rng = Rng::new(seed);
    let v: Vec<f32> = (0..shape.iter().product::<usize>())
        .map(|_| {
            let m = rng.range(0.5, 3.0) as f32;
            if rng.next_u64() & 1 == 0 { m } else { -m }
        })
        .collect();
    TensorData::new(v, shape.to_vec())
}

/// Values with ties (and a few distinct ones) for ordering ops.
fn tied(shape: &[usize], seed: u64) -> TensorData {
    floats_from(shape, seed, &[-1.5, -0.5, 0.0, 0.5, 0.5, 2.0, 3.25])
}

/// Distinct values in random order (no ties), for gradients of max/min/sort.
fn distinct(shape: &[usize], seed: u64) -> TensorData {
    let n: usize = shape.iter().product();
    let mut rng = Rng::new(seed);
    let mut v: Vec<f32> = (0..n).map(|i| i as f32 * 0.25 - n as f32 * 0.125).collect();
    for i in (1..n).rev() {
        let j = rng.int(0, i as i64 + 1) as usize;
        v.swap(i, j);
    }
    TensorData::new(v, shape.to_vec())
}

const I32: IntDType = IntDType::I32;

// ---- creation, data, devices -------------------------------------------------------------

#[test]
fn data_round_trip_and_creation() {
    for prec in ALL_PRECS {
        for (i, shape) in SHAPES.iter().chain(EMPTY_SHAPES).enumerate() {
            for layout in LAYOUTS {
                let x = floats(shape, i as u64);
                check(
                    format!("from_data/into_data {shape:?} {layout:?}"),
                    prec,
                    &case!(x: TensorData = x, layout: Layout = layout; |B, cx| rf::<B>(cx.fl(&x, layout))),
                );
            }
            let shape = Shape::from(shape.to_vec());
            check(
                format!("zeros/ones/full/empty {shape:?}"),
                prec,
                &case!(shape: Shape = shape; |B, cx| {
                    let d = cx.fdtype();
                    let empty = B::float_empty(shape.clone(), &cx.dev, d);
                    vec![
                        rf::<B>(B::float_zeros(shape.clone(), &cx.dev, d)),
                        rf::<B>(B::float_ones(shape.clone(), &cx.dev, d)),
                        rf::<B>(B::float_full(shape.clone(), Scalar::Float(-2.5), &cx.dev, d)),
                        // Only the shape and dtype of an empty tensor are defined.
                        TensorData::zeros::<f32, _>(empty.shape()).convert_dtype(empty.dtype()),
                    ]
                }),
            );
        }
    }
    // Device queries and moves.
    let dev = mlx_device();
    let t = M::float_from_data(floats([2, 3], 1), &dev);
    assert_eq!(M::float_device(&t), dev);
    let moved = M::float_to_device(t.clone(), &MlxDevice::Cpu);
    assert_eq!(M::float_device(&moved), MlxDevice::Cpu);
    assert_data_close("to_device", &rf::<M>(moved), &rf::<M>(t), Tol::EXACT);
}

// ---- element-wise unary functions -----------------------------------------------------------

/// Runs a unary op's forward sweep (every precision) and backward sweep (F32 and F64).
fn unary<F: FloatFn>(label: &str, f: &F, generator: &Gen) {
    sweep_unary(label, f, generator, &ALL_PRECS);
    sweep_unary_grad(label, f, generator, &[Prec::F32, Prec::F64]);
}

#[test]
fn unary_exp_log() {
    unary(
        "exp",
        &float_fn!(|B, x| B::float_exp(x)),
        &floats_gen(-3.0, 3.0),
    );
    unary(
        "log",
        &float_fn!(|B, x| B::float_log(x)),
        &floats_gen(0.05, 5.0),
    );
    unary(
        "log1p",
        &float_fn!(|B, x| B::float_log1p(x)),
        &floats_gen(-0.9, 4.0),
    );
    unary(
        "sqrt",
        &float_fn!(|B, x| B::float_sqrt(x)),
        &floats_gen(0.05, 5.0),
    );
    unary("recip", &float_fn!(|B, x| B::float_recip(x)), &nonzero);
    unary(
        "neg",
        &float_fn!(|B, x| B::float_neg(x)),
        &floats_gen(-3.0, 3.0),
    );
    unary("abs", &float_fn!(|B, x| B::float_abs(x)), &nonzero);
    unary(
        "erf",
        &float_fn!(|B, x| B::float_erf(x)),
        &floats_gen(-3.0, 3.0),
    );
}

#[test]
fn unary_trigonometric() {
    unary(
        "sin",
        &float_fn!(|B, x| B::float_sin(x)),
        &floats_gen(-4.0, 4.0),
    );
    unary(
        "cos",
        &float_fn!(|B, x| B::float_cos(x)),
        &floats_gen(-4.0, 4.0),
    );
    unary(
        "tan",
        &float_fn!(|B, x| B::float_tan(x)),
        &floats_gen(-1.3, 1.3),
    );
    unary(
        "asin",
        &float_fn!(|B, x| B::float_asin(x)),
        &floats_gen(-0.95, 0.95),
    );
    unary(
        "acos",
        &float_fn!(|B, x| B::float_acos(x)),
        &floats_gen(-0.95, 0.95),
    );
    unary(
        "atan",
        &float_fn!(|B, x| B::float_atan(x)),
        &floats_gen(-4.0, 4.0),
    );
}

#[test]
fn unary_hyperbolic() {
    unary(
        "sinh",
        &float_fn!(|B, x| B::float_sinh(x)),
        &floats_gen(-3.0, 3.0),
    );
    unary(
        "cosh",
        &float_fn!(|B, x| B::float_cosh(x)),
        &floats_gen(-3.0, 3.0),
    );
    unary(
        "tanh",
        &float_fn!(|B, x| B::float_tanh(x)),
        &floats_gen(-3.0, 3.0),
    );
    unary(
        "asinh",
        &float_fn!(|B, x| B::float_asinh(x)),
        &floats_gen(-4.0, 4.0),
    );
    unary(
        "acosh",
        &float_fn!(|B, x| B::float_acosh(x)),
        &floats_gen(1.05, 5.0),
    );
    unary(
        "atanh",
        &float_fn!(|B, x| B::float_atanh(x)),
        &floats_gen(-0.95, 0.95),
    );
}

#[test]
fn unary_rounding_and_sign() {
    // Inputs away from the discontinuities (so F16 rounding of the input cannot cross one),
    // plus exact halves below.
    let away = |shape: &[usize], seed: u64| {
        let mut rng = Rng::new(seed);
        let v: Vec<f32> = (0..shape.iter().product::<usize>())
            .map(|_| {
                (rng.int(-6, 6) as f64
                    + rng.range(0.1, 0.4) * if rng.next_u64() & 1 == 0 { 1.0 } else { 2.5 })
                    as f32
            })
            .collect();
        TensorData::new(v, shape.to_vec())
    };
    unary("floor", &float_fn!(|B, x| B::float_floor(x)), &away);
    unary("ceil", &float_fn!(|B, x| B::float_ceil(x)), &away);
    unary("trunc", &float_fn!(|B, x| B::float_trunc(x)), &away);
    unary("round", &float_fn!(|B, x| B::float_round(x)), &away);
    unary(
        "sign",
        &float_fn!(|B, x| B::float_sign(x)),
        &floats_gen(-3.0, 3.0),
    );
}

#[test]
fn round_is_half_to_even() {
    let halves = TensorData::new(
        vec![
            -3.5f32,
            -2.5,
            -1.5,
            -0.5,
            0.5,
            1.5,
            2.5,
            3.5,
            4.5,
            0.49999997,
            -0.49999997,
            1e7 + 0.5,
        ],
        [12],
    );
    for prec in [Prec::F32, Prec::F64] {
        check(
            "round halves",
            prec,
            &case!(x: TensorData = halves.clone(); |B, cx| rf::<B>(B::float_round(cx.f(&x)))),
        );
    }
    // Hand-checked: ties go to the even neighbour.
    let got = run_mlx(
        Prec::F32,
        &case!(x: TensorData = halves; |B, cx| rf::<B>(B::float_round(cx.f(&x)))),
    );
    let want = TensorData::new(
        vec![
            -4.0f32, -2.0, -2.0, -0.0, 0.0, 2.0, 2.0, 4.0, 4.0, 0.0, -0.0, 1e7,
        ],
        [12],
    );
    assert_data_close("round halves (hand)", &got[0], &want, Tol::EXACT);
}

/// Edge values through every unary op, at F32 and F64 (NaN matches NaN, infinities by sign).
#[test]
fn unary_edge_values() {
    let edges = vec![
        0.0f32,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        2.5,
        -2.5,
        1e-30,
        -1e-30,
        1e30,
        -1e30,
        88.0,
        -88.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MIN_POSITIVE,
        3.0e38,
        -3.0e38,
    ];
    let x = TensorData::new(edges.clone(), [edges.len()]);
    macro_rules! edge {
        ($x:ident; $($name:ident),*) => {$(
            for prec in [Prec::F32, Prec::F64] {
                check_tol(
                    concat!(stringify!($name), " edge values"),
                    prec,
                    prec.tol().times(10.0),
                    &case!(x: TensorData = $x.clone(); |B, cx| rf::<B>(B::$name(cx.f(&x)))),
                );
            }
        )*};
    }
    edge!(
        x; float_neg, float_recip, float_exp, float_log, float_log1p, float_sqrt, float_abs, float_floor, float_ceil,
        float_trunc, float_round, float_erf, float_tanh, float_atan, float_asinh, float_sin, float_cos
    );
    // sign(NaN) is 0, as Burn's default `float_sign` computes it (ndarray returns 1).
    let got = run_mlx(
        Prec::F32,
        &case!(x: TensorData = x.clone(); |B, cx| rf::<B>(B::float_sign(cx.f(&x)))),
    );
    let want: Vec<f32> = edges
        .iter()
        .map(|v| {
            if *v > 0.0 {
                1.0
            } else if *v < 0.0 {
                -1.0
            } else {
                0.0
            }
        })
        .collect();
    assert_data_close(
        "sign edge values",
        &got[0],
        &TensorData::new(want, [edges.len()]),
        Tol::EXACT,
    );
    // Domain edges of the inverse functions.
    let x = TensorData::new(vec![-1.0f32, 1.0, 0.0, -0.0, 1.5, -1.5, f32::NAN], [7]);
    edge!(x; float_asin, float_acos, float_atanh);
    let x = TensorData::new(vec![1.0f32, 0.5, 1e30, f32::INFINITY, f32::NAN], [5]);
    edge!(x; float_acosh, float_cosh, float_sinh);
}

// ---- binary arithmetic -----------------------------------------------------------------------

fn binary<F: FloatFn2>(label: &str, f: &F, a: &Gen, b: &Gen) {
    sweep_binary(label, f, a, b, &ALL_PRECS);
    sweep_binary_grad(label, f, a, b, &[Prec::F32, Prec::F64]);
}

#[test]
fn binary_arithmetic() {
    let any = floats_gen(-3.0, 3.0);
    binary("add", &float_fn2!(|B, a, b| B::float_add(a, b)), &any, &any);
    binary("sub", &float_fn2!(|B, a, b| B::float_sub(a, b)), &any, &any);
    binary("mul", &float_fn2!(|B, a, b| B::float_mul(a, b)), &any, &any);
    binary(
        "div",
        &float_fn2!(|B, a, b| B::float_div(a, b)),
        &any,
        &nonzero,
    );
    binary(
        "powf",
        &float_fn2!(|B, a, b| B::float_powf(a, b)),
        &floats_gen(0.2, 3.0),
        &any,
    );
    binary(
        "atan2",
        &float_fn2!(|B, a, b| B::float_atan2(a, b)),
        &any,
        &nonzero,
    );
}

#[test]
fn remainder_follows_the_divisor_sign() {
    // Inputs away from multiples of the divisor so that rounding to F16 cannot flip the result.
    let a = |shape: &[usize], seed: u64| {
        let mut rng = Rng::new(seed);
        let v: Vec<f32> = (0..shape.iter().product::<usize>())
            .map(|_| (rng.int(-8, 8) as f64 * 0.75 + rng.range(0.2, 0.5)) as f32)
            .collect();
        TensorData::new(v, shape.to_vec())
    };
    let b = |shape: &[usize], seed: u64| floats_from(shape, seed, &[0.75, -0.75, 1.5, -1.5]);
    binary(
        "remainder",
        &float_fn2!(|B, a, b| B::float_remainder(a, b)),
        &a,
        &b,
    );
    for s in [0.75, -0.75, 1.5, -1.5, 2.0] {
        unary(
            &format!("remainder_scalar {s}"),
            &float_fn!(s: f64 = s; |B, x| B::float_remainder_scalar(x, Scalar::Float(s))),
            &a,
        );
    }
    // Hand-checked signs (Python's %, the sign of the divisor).
    let x = TensorData::new(vec![5.5f32, -5.5, 5.5, -5.5, 0.0, -0.0, 4.0, -4.0], [8]);
    let y = TensorData::new(vec![2.0f32, 2.0, -2.0, -2.0, 2.0, -2.0, 2.0, 2.0], [8]);
    let got = run_mlx(
        Prec::F32,
        &case!(x: TensorData = x.clone(), y: TensorData = y.clone(); |B, cx| rf::<B>(B::float_remainder(cx.f(&x), cx.f(&y)))),
    );
    let want = TensorData::new(vec![1.5f32, 0.5, -0.5, -1.5, 0.0, 0.0, 0.0, 0.0], [8]);
    assert_data_close("remainder signs", &got[0], &want, Tol::EXACT);
    check(
        "remainder signs",
        Prec::F32,
        &case!(x: TensorData = x, y: TensorData = y; |B, cx| rf::<B>(B::float_remainder(cx.f(&x), cx.f(&y)))),
    );
}

#[test]
fn scalar_arithmetic() {
    let any = floats_gen(-3.0, 3.0);
    for s in [2.5, -0.75, 0.0] {
        unary(
            &format!("add_scalar {s}"),
            &float_fn!(s: f64 = s; |B, x| B::float_add_scalar(x, Scalar::Float(s))),
            &any,
        );
        unary(
            &format!("sub_scalar {s}"),
            &float_fn!(s: f64 = s; |B, x| B::float_sub_scalar(x, Scalar::Float(s))),
            &any,
        );
        unary(
            &format!("mul_scalar {s}"),
            &float_fn!(s: f64 = s; |B, x| B::float_mul_scalar(x, Scalar::Float(s))),
            &any,
        );
    }
    for s in [2.5, -0.75] {
        unary(
            &format!("div_scalar {s}"),
            &float_fn!(s: f64 = s; |B, x| B::float_div_scalar(x, Scalar::Float(s))),
            &any,
        );
    }
    // Scalars given as integers convert to the tensor's float type.
    unary(
        "add_scalar int",
        &float_fn!(|B, x| B::float_add_scalar(x, Scalar::Int(3))),
        &any,
    );
    unary(
        "mul_scalar int",
        &float_fn!(|B, x| B::float_mul_scalar(x, Scalar::Int(-2))),
        &any,
    );
}

#[test]
fn powers() {
    // Fractional exponents of positive bases.
    // (ndarray rounds a scalar exponent to f32, so at F64 the oracle side uses a full tensor.)
    for e in [0.5, 1.7, -0.5, -2.3] {
        for prec in ALL_PRECS {
            for (i, shape) in SHAPES.iter().enumerate() {
                let x = floats_in(shape, i as u64, 0.1, 3.0);
                let case = case!(x: TensorData = x, e: f64 = e; |B, cx| {
                    let x = cx.fl(&x, Layout::Transposed);
                    if cx.oracle {
                        let full = B::float_full(x.shape(), Scalar::Float(e), &cx.dev, cx.fdtype());
                        vec![rf::<B>(B::float_powf(x.clone(), full.clone())), rf::<B>(B::float_powf(x, full))]
                    } else {
                        vec![rf::<B>(B::float_powf_scalar(x.clone(), Scalar::Float(e))), rf::<B>(B::float_powf_scalar_impl(x, Scalar::Float(e)))]
                    }
                });
                check(format!("powf_scalar {e} {shape:?}"), prec, &case);
            }
        }
        sweep_unary_grad(
            &format!("powf_scalar {e}"),
            &float_fn!(e: f64 = e; |B, x| B::float_powf_scalar(x, Scalar::Float(e))),
            &floats_gen(0.1, 3.0),
            &F32_ONLY,
        );
    }
    // Integer exponents (as ints and as integral floats) of negative and positive bases.
    let bases = |shape: &[usize], seed: u64| nonzero(shape, seed);
    for e in [-3i64, -2, -1, 0, 1, 2, 3, 4] {
        unary(
            &format!("powi_scalar {e}"),
            &float_fn!(e: i64 = e; |B, x| B::float_powi_scalar(x, Scalar::Int(e))),
            &bases,
        );
        unary(
            &format!("powi_scalar_impl {e}"),
            &float_fn!(e: i64 = e; |B, x| B::float_powi_scalar_impl(x, Scalar::Int(e))),
            &bases,
        );
        unary(
            &format!("powf_scalar {e}.0"),
            &float_fn!(e: i64 = e; |B, x| B::float_powf_scalar(x, Scalar::Float(e as f64))),
            &bases,
        );
    }
    // A tensor of integer exponents.
    for prec in ALL_PRECS {
        for (sa, sb) in BROADCAST_PAIRS {
            let (a, e) = (nonzero(sa, 1), ints(sb, 2, -3, 5, DType::I32));
            let case = case!(a: TensorData = a, e: TensorData = e; |B, cx| {
                let (mut a, mut e) = (cx.f(&a), cx.i(&e));
                if cx.oracle {
                    // ndarray's powi does not broadcast.
                    let shape = Shape::from(broadcast_shape(a.shape().as_slice(), e.shape().as_slice()));
                    a = B::float_expand(a, shape.clone());
                    e = B::int_expand(e, shape);
                }
                rf::<B>(B::float_powi(a, e))
            });
            check(format!("powi {sa:?} x {sb:?}"), prec, &case);
        }
    }
    // Negative bases with fractional exponents are NaN; 0^0 = 1; 0^-1 = inf.
    let a = TensorData::new(vec![-2.0f32, -0.5, 0.0, 0.0, 0.0, 4.0], [6]);
    let b = TensorData::new(vec![0.5f32, 1.5, 0.0, -1.0, 2.0, -0.5], [6]);
    check(
        "powf special",
        Prec::F32,
        &case!(a: TensorData = a, b: TensorData = b; |B, cx| rf::<B>(B::float_powf(cx.f(&a), cx.f(&b)))),
    );
}

#[test]
fn clamping() {
    let any = floats_gen(-3.0, 3.0);
    unary(
        "clamp_min",
        &float_fn!(|B, x| B::float_clamp_min(x, Scalar::Float(-0.5))),
        &any,
    );
    unary(
        "clamp_max",
        &float_fn!(|B, x| B::float_clamp_max(x, Scalar::Float(1.25))),
        &any,
    );
    unary(
        "clamp",
        &float_fn!(|B, x| B::float_clamp(x, Scalar::Float(-1.0), Scalar::Float(0.5))),
        &any,
    );
    // NaN passes through a clamp, as in ndarray.
    let x = TensorData::new(
        vec![f32::NAN, -5.0, 5.0, f32::INFINITY, f32::NEG_INFINITY],
        [5],
    );
    check(
        "clamp special",
        Prec::F32,
        &case!(x: TensorData = x; |B, cx| rf::<B>(B::float_clamp(cx.f(&x), Scalar::Float(-1.0), Scalar::Float(1.0)))),
    );
}

// ---- matmul and cross ------------------------------------------------------------------------

const MATMUL_SHAPES: &[(&[usize], &[usize])] = &[
    (&[3, 4], &[4, 5]),
    (&[1, 4], &[4, 1]),
    (&[5, 1], &[1, 3]),
    (&[17, 33], &[33, 9]),
    (&[2, 3, 4], &[2, 4, 5]),
    (&[1, 3, 4], &[2, 4, 5]),
    (&[2, 3, 4], &[1, 4, 5]),
    (&[2, 1, 3, 4], &[1, 3, 4, 2]),
];

#[test]
fn matmul() {
    for prec in ALL_PRECS {
        for (i, (sa, sb)) in MATMUL_SHAPES.iter().enumerate() {
            for layout in LAYOUTS {
                let other = LAYOUTS[(i + 1) % LAYOUTS.len()];
                let (a, b) = (floats(sa, i as u64), floats(sb, 50 + i as u64));
                let case = case!(a: TensorData = a, b: TensorData = b, l: (Layout, Layout) = (layout, other);
                    |B, cx| rf::<B>(B::float_matmul(cx.fl(&a, l.0), cx.fl(&b, l.1))));
                check_tol(
                    format!("matmul {sa:?} x {sb:?} {layout:?}/{other:?}"),
                    prec,
                    prec.tol().times(5.0),
                    &case,
                );
            }
        }
    }
    for prec in [Prec::F32, Prec::F64] {
        for (i, (sa, sb)) in MATMUL_SHAPES.iter().enumerate() {
            let (a, b) = (floats(sa, i as u64), floats(sb, 60 + i as u64));
            let case = grad_case!(a: TensorData = a, b: TensorData = b; |B, cx| {
                let (a, b) = (cx.fg(&a), cx.fg(&b));
                let y = B::float_matmul(a.clone(), b.clone());
                let g = cx.backward(y.clone(), 3);
                (rf::<B>(y), cx.grad_or_zeros(&a, &g), cx.grad_or_zeros(&b, &g))
            });
            check_grad(format!("matmul grad {sa:?} x {sb:?}"), prec, &case);
        }
    }
    // Empty operands (ndarray cannot): an empty inner dimension gives zeros.
    let got = run_mlx(
        Prec::F32,
        &case!(|B, cx| vec![
            rf::<B>(B::float_matmul(
                cx.f(&floats([3, 0], 1)),
                cx.f(&floats([0, 4], 2))
            )),
            rf::<B>(B::float_matmul(
                cx.f(&floats([0, 3], 1)),
                cx.f(&floats([3, 2], 2))
            )),
            rf::<B>(B::float_matmul(
                cx.f(&floats([2, 3, 0], 1)),
                cx.f(&floats([2, 0, 2], 2))
            )),
        ]),
    );
    assert_data_close(
        "matmul k=0",
        &got[0],
        &TensorData::new(vec![0.0f32; 12], [3, 4]),
        Tol::EXACT,
    );
    assert_eq!(got[1].shape.as_slice(), &[0, 2]);
    assert_data_close(
        "matmul batched k=0",
        &got[2],
        &TensorData::new(vec![0.0f32; 12], [2, 3, 2]),
        Tol::EXACT,
    );
}

#[test]
fn half_precision_products() {
    // Inner dimensions of 256 and 512, where half-precision accumulation would drift; on the
    // CPU they are computed in f32 and rounded once.
    let (a, b) = (floats([64, 512], 7), floats([512, 48], 8));
    let (ba, bb) = (floats([3, 32, 256], 9), floats([3, 256, 16], 10));
    let (bias, grad) = (floats([48], 11), floats([64, 48], 12));
    for prec in [Prec::F16, Prec::BF16] {
        let case = case!(
            a: TensorData = a.clone(), b: TensorData = b.clone(),
            ba: TensorData = ba.clone(), bb: TensorData = bb.clone(),
            bias: TensorData = bias.clone(), grad: TensorData = grad.clone();
            |B, cx| {
                let (a, b, grad) = (cx.f(&a), cx.f(&b), cx.f(&grad));
                vec![
                    rf::<B>(B::float_matmul(a.clone(), b.clone())),
                    rf::<B>(B::float_matmul(cx.f(&ba), cx.f(&bb))),
                    rf::<B>(B::linear(a.clone(), b.clone(), Some(cx.f(&bias)))),
                    rf::<B>(B::linear_x_backward(b, grad.clone())),
                    rf::<B>(B::linear_weight_backward(a, grad)),
                ]
            }
        );
        check(format!("half-precision products, {prec:?}"), prec, &case);
    }
    // On the CPU, a half-precision product is the f32 product of the same values, rounded.
    if mlx_device() != MlxDevice::Cpu {
        return;
    }
    for prec in [Prec::F16, Prec::BF16] {
        let got = run_mlx(
            prec,
            &case!(ba: TensorData = ba.clone(), bb: TensorData = bb.clone(); |B, cx| {
                let (x, y) = (cx.f(&ba), cx.f(&bb));
                let wide = |t| B::float_cast(t, FloatDType::F32);
                let product = B::float_matmul(wide(x.clone()), wide(y.clone()));
                vec![
                    rf::<B>(B::float_matmul(x, y)),
                    rf::<B>(B::float_cast(product, cx.fdtype())),
                ]
            }),
        );
        assert_eq!(got[0].dtype, prec.dtype());
        assert_eq!(
            got[0], got[1],
            "{prec:?}: CPU half matmul is the rounded f32 product"
        );
    }
}

#[test]
fn cross_product() {
    let shapes: &[(&[usize], &[usize], usize)] = &[
        (&[4, 3], &[4, 3], 1),
        (&[3, 5], &[3, 5], 0),
        (&[2, 3, 4], &[2, 3, 4], 1),
        (&[3], &[3], 0),
        (&[1, 3], &[4, 3], 1),
    ];
    for prec in ALL_PRECS {
        for (i, (sa, sb, dim)) in shapes.iter().enumerate() {
            let (a, b) = (floats(sa, i as u64), floats(sb, 10 + i as u64));
            for layout in [Layout::Contiguous, Layout::Transposed, Layout::Reversed] {
                let case = case!(a: TensorData = a.clone(), b: TensorData = b.clone(), dim: usize = *dim, l: Layout = layout;
                    |B, cx| rf::<B>(B::float_cross(cx.fl(&a, l), cx.f(&b), dim)));
                check(
                    format!("cross {sa:?} x {sb:?} dim {dim} {layout:?}"),
                    prec,
                    &case,
                );
            }
        }
    }
    for (i, (sa, sb, dim)) in shapes.iter().enumerate() {
        let (a, b) = (floats(sa, i as u64), floats(sb, 10 + i as u64));
        let case = grad_case!(a: TensorData = a, b: TensorData = b, dim: usize = *dim; |B, cx| {
            let (a, b) = (cx.fg(&a), cx.fg(&b));
            let y = B::float_cross(a.clone(), b.clone(), dim);
            let g = cx.backward(y.clone(), 5);
            (rf::<B>(y), cx.grad(&a, &g), cx.grad(&b, &g))
        });
        check_grad(format!("cross grad {sa:?} x {sb:?}"), Prec::F32, &case);
    }
}

// ---- comparisons -----------------------------------------------------------------------------

#[test]
fn comparisons() {
    // Few distinct values, so that equality happens, plus NaN and infinities.
    let vals = [
        -1.0f32,
        0.0,
        0.5,
        2.0,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    for prec in ALL_PRECS {
        for (i, (sa, sb)) in BROADCAST_PAIRS.iter().enumerate() {
            let (a, b) = (
                floats_from(sa, i as u64, &vals),
                floats_from(sb, 20 + i as u64, &vals),
            );
            let case = case!(a: TensorData = a, b: TensorData = b; |B, cx| {
                let (a, b) = (cx.fl(&a, Layout::Transposed), cx.f(&b));
                vec![
                    rb::<B>(B::float_equal(a.clone(), b.clone(), BOOL_OUT)),
                    rb::<B>(B::float_not_equal(a.clone(), b.clone(), BOOL_OUT)),
                    rb::<B>(B::float_greater(a.clone(), b.clone(), BOOL_OUT)),
                    rb::<B>(B::float_greater_equal(a.clone(), b.clone(), BOOL_OUT)),
                    rb::<B>(B::float_lower(a.clone(), b.clone(), BOOL_OUT)),
                    rb::<B>(B::float_lower_equal(a, b, BOOL_OUT)),
                ]
            });
            check(format!("compare {sa:?} x {sb:?}"), prec, &case);
        }
        for s in [0.5, f64::NAN, f64::INFINITY, -1.0] {
            let a = floats_from([4, 5], 7, &vals);
            let case = case!(a: TensorData = a, s: f64 = s; |B, cx| {
                let a = cx.fl(&a, Layout::Stepped);
                let s = Scalar::Float(s);
                vec![
                    rb::<B>(B::float_equal_elem(a.clone(), s, BOOL_OUT)),
                    rb::<B>(B::float_not_equal_elem(a.clone(), s, BOOL_OUT)),
                    rb::<B>(B::float_greater_elem(a.clone(), s, BOOL_OUT)),
                    rb::<B>(B::float_greater_equal_elem(a.clone(), s, BOOL_OUT)),
                    rb::<B>(B::float_lower_elem(a.clone(), s, BOOL_OUT)),
                    rb::<B>(B::float_lower_equal_elem(a, s, BOOL_OUT)),
                ]
            });
            check(format!("compare elem {s}"), prec, &case);
        }
    }
}

#[test]
fn nan_inf_tests_any_all() {
    let vals = [
        -1.0f32,
        0.0,
        -0.0,
        2.5,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    for prec in ALL_PRECS {
        for (i, shape) in SHAPES.iter().chain(EMPTY_SHAPES).enumerate() {
            let x = floats_from(shape, i as u64, &vals);
            let case = case!(x: TensorData = x, layout: Layout = LAYOUTS[i % 5]; |B, cx| {
                let x = cx.fl(&x, layout);
                let mut out = vec![
                    rb::<B>(B::float_is_nan(x.clone(), BOOL_OUT)),
                    rb::<B>(B::float_is_inf(x.clone(), BOOL_OUT)),
                    rb::<B>(B::float_any(x.clone(), BOOL_OUT)),
                    rb::<B>(B::float_all(x.clone(), BOOL_OUT)),
                ];
                for d in 0..x.shape().num_dims() {
                    out.push(rb::<B>(B::float_any_dim(x.clone(), d, BOOL_OUT)));
                    out.push(rb::<B>(B::float_all_dim(x.clone(), d, BOOL_OUT)));
                }
                out
            });
            check(format!("is_nan/is_inf/any/all {shape:?}"), prec, &case);
        }
    }
    // All-zero and all-nonzero inputs.
    for v in [0.0f32, 3.0] {
        let x = TensorData::new(vec![v; 6], [2, 3]);
        check(
            format!("any/all of {v}"),
            Prec::F32,
            &case!(x: TensorData = x; |B, cx| vec![
                rb::<B>(B::float_any(cx.f(&x), BOOL_OUT)),
                rb::<B>(B::float_all(cx.f(&x), BOOL_OUT)),
                rb::<B>(B::float_any_dim(cx.f(&x), 1, BOOL_OUT)),
                rb::<B>(B::float_all_dim(cx.f(&x), 0, BOOL_OUT)),
            ]),
        );
    }
}

// ---- reductions ------------------------------------------------------------------------------

const REDUCE_SHAPES: &[&[usize]] = &[
    &[5],
    &[1],
    &[1, 7],
    &[3, 1],
    &[3, 4],
    &[2, 3, 4],
    &[4, 33],
    &[2, 1, 3, 2],
];

#[test]
fn reductions() {
    // Values near +-1 so that long products stay in range at every precision.
    let near_one = |shape: &[usize], seed: u64| {
        let mut rng = Rng::new(seed);
        let v: Vec<f32> = (0..shape.iter().product::<usize>())
            .map(|_| {
                rng.range(0.8, 1.25) as f32
                    * if rng.next_u64().is_multiple_of(4) {
                        -1.0
                    } else {
                        1.0
                    }
            })
            .collect();
        TensorData::new(v, shape.to_vec())
    };
    for prec in ALL_PRECS {
        for (i, shape) in REDUCE_SHAPES.iter().enumerate() {
            for layout in LAYOUTS {
                let x = near_one(shape, i as u64);
                let case = case!(x: TensorData = x, layout: Layout = layout; |B, cx| {
                    let x = cx.fl(&x, layout);
                    let mut out = vec![
                        rf::<B>(B::float_sum(x.clone())),
                        rf::<B>(B::float_prod(x.clone())),
                        rf::<B>(B::float_mean(x.clone())),
                        rf::<B>(B::float_max(x.clone())),
                        rf::<B>(B::float_min(x.clone())),
                        rf::<B>(B::float_max_abs(x.clone())),
                    ];
                    for d in 0..x.shape().num_dims() {
                        out.push(rf::<B>(B::float_sum_dim(x.clone(), d)));
                        out.push(rf::<B>(B::float_prod_dim(x.clone(), d)));
                        out.push(rf::<B>(B::float_mean_dim(x.clone(), d)));
                        out.push(rf::<B>(B::float_max_dim(x.clone(), d)));
                        out.push(rf::<B>(B::float_min_dim(x.clone(), d)));
                        out.push(rf::<B>(B::float_max_abs_dim(x.clone(), d)));
                    }
                    out
                });
                check_tol(
                    format!("reductions {shape:?} {layout:?}"),
                    prec,
                    prec.tol().times(4.0),
                    &case,
                );
            }
        }
    }
    // Full reductions have shape [1], as in Burn.
    let out = run_mlx(
        Prec::F32,
        &case!(|B, cx| rf::<B>(B::float_sum(cx.f(&floats([2, 3, 4], 1))))),
    );
    assert_eq!(out[0].shape.as_slice(), &[1]);
}

#[test]
fn half_precision_means_accumulate_in_f32() {
    // 1024 values near 511: the sum (about 523,000) is beyond float16's 65504, the mean is not.
    let x = floats_in([4, 1024], 3, 510.0, 513.0);
    for prec in [Prec::F16, Prec::BF16] {
        let case = case!(x: TensorData = x.clone(); |B, cx| {
            let x = cx.f(&x);
            vec![
                rf::<B>(B::float_mean(x.clone())),
                rf::<B>(B::float_mean_dim(x.clone(), 1)),
                rf::<B>(B::float_mean_dim(B::float_transpose(x), 0)),
            ]
        });
        check(format!("mean of values near 511, {prec:?}"), prec, &case);
    }
}

/// `values` (exactly representable in the dtype of `prec`) as MLX float data of that dtype.
fn half_data(values: &[f32], shape: &[usize], prec: Prec) -> TensorData {
    TensorData::new(values.to_vec(), shape.to_vec()).convert_dtype(prec.dtype())
}

/// Reads MLX's float output as f32 values.
fn f32s(data: &TensorData) -> Vec<f32> {
    data.clone()
        .convert_dtype(DType::F32)
        .to_vec::<f32>()
        .unwrap()
}

#[test]
fn half_precision_means_closed_form() {
    // The case, exactly: the sum of 1024 values near 511 is beyond float16's range
    // (MLX's own float16 mean is inf), the mean is representable. bfloat16 cannot hold 511 or
    // 511.5, so it averages 508 and 512.
    for (prec, lo, hi, mean) in [
        (Prec::F16, 511.0f32, 512.0f32, 511.5f32),
        (Prec::BF16, 508.0, 512.0, 510.0),
    ] {
        let v: Vec<f32> = (0..4096)
            .map(|i| if i % 2 == 0 { lo } else { hi })
            .collect();
        let got = run_mlx(
            prec,
            &case!(v: Vec<f32> = v.clone(); |B, cx| {
                let x = B::float_from_data(half_data(&v, &[4, 1024], cx.prec), &cx.dev);
                vec![
                    rf::<B>(B::float_mean(x.clone())),
                    rf::<B>(B::float_mean_dim(x.clone(), 1)),
                    rf::<B>(B::float_mean_dim(B::float_transpose(x), 0)),
                ]
            }),
        );
        for (out, len) in got.iter().zip([1, 4, 4]) {
            assert_eq!(out.dtype, prec.dtype(), "{prec:?}: dtype");
            assert_eq!(
                f32s(out),
                vec![mean; len],
                "{prec:?}: mean of {lo} and {hi}"
            );
        }
    }
}

#[test]
fn half_precision_sums_and_products_accumulate_in_f32() {
    // Differential: sums and products of many values near 1 (the oracle computes in f32).
    let near_one = floats_in([8, 4096], 5, 0.5, 1.5);
    let small = floats_in([6, 64], 6, 0.9, 1.1);
    for prec in [Prec::F16, Prec::BF16] {
        let case = case!(x: TensorData = near_one.clone(), p: TensorData = small.clone(); |B, cx| {
            let (x, p) = (cx.f(&x), cx.f(&p));
            vec![
                rf::<B>(B::float_sum(x.clone())),
                rf::<B>(B::float_sum_dim(x.clone(), 1)),
                rf::<B>(B::float_sum_dim(B::float_transpose(x.clone()), 0)),
                rf::<B>(B::float_cumsum(x.clone(), 1)),
                rf::<B>(B::float_cumsum(B::float_transpose(x), 0)),
                rf::<B>(B::float_prod(p.clone())),
                rf::<B>(B::float_prod_dim(p.clone(), 1)),
                rf::<B>(B::float_cumprod(p, 1)),
            ]
        });
        check(format!("sums and products near 1, {prec:?}"), prec, &case);
    }
    // Closed forms. A cumulative sum of 4096 quarters reaches 1024, where a float16 running sum
    // stops at 512 (512 + 0.25 rounds back to 512) and a bfloat16 one at 64. Products of
    // 256, 256, 256, 1/256, 1/256, 1/256 are 1, where the float16 running product overflows
    // at 256^3.
    let scale = [
        256.0f32,
        256.0,
        256.0,
        1.0 / 256.0,
        1.0 / 256.0,
        1.0 / 256.0,
    ];
    for prec in [Prec::F16, Prec::BF16] {
        let got = run_mlx(
            prec,
            &case!(s: [f32; 6] = scale; |B, cx| {
                let q = B::float_from_data(half_data(&[0.25; 4096], &[2, 2048], cx.prec), &cx.dev);
                let p = B::float_from_data(half_data(&s, &[1, 6], cx.prec), &cx.dev);
                vec![
                    rf::<B>(B::float_cumsum(B::float_reshape(q.clone(), Shape::new([4096])), 0)),
                    rf::<B>(B::float_sum(q.clone())),
                    rf::<B>(B::float_sum_dim(q, 1)),
                    rf::<B>(B::float_prod(p.clone())),
                    rf::<B>(B::float_prod_dim(p.clone(), 1)),
                    rf::<B>(B::float_cumprod(p, 1)),
                ]
            }),
        );
        // The exact running sums, each rounded once.
        let want: Vec<f32> = (1..=4096).map(|i| i as f32 * 0.25).collect();
        let want = f32s(&half_data(&want, &[4096], prec));
        assert_eq!(f32s(&got[0]), want, "{prec:?}: cumsum of quarters");
        assert_eq!(f32s(&got[1]), vec![1024.0], "{prec:?}: sum of quarters");
        assert_eq!(
            f32s(&got[2]),
            vec![512.0; 2],
            "{prec:?}: sum_dim of quarters"
        );
        assert_eq!(f32s(&got[3]), vec![1.0], "{prec:?}: prod");
        assert_eq!(f32s(&got[4]), vec![1.0], "{prec:?}: prod_dim");
        assert_eq!(
            f32s(&got[5]),
            vec![256.0, 65536.0, 16_777_216.0, 65536.0, 256.0, 1.0]
                .into_iter()
                .map(|v: f32| if prec == Prec::F16 && v > 65504.0 {
                    f32::INFINITY
                } else {
                    v
                })
                .collect::<Vec<_>>(),
            "{prec:?}: cumprod"
        );
    }
}

#[test]
fn reductions_of_empty_tensors() {
    for prec in [Prec::F32, Prec::F64] {
        for shape in [&[0usize][..], &[3, 0], &[0, 2]] {
            let x = floats(shape, 1);
            let case = case!(x: TensorData = x; |B, cx| {
                let x = cx.f(&x);
                let mut out = vec![rf::<B>(B::float_sum(x.clone())), rf::<B>(B::float_prod(x.clone()))];
                for d in 0..x.shape().num_dims() {
                    out.push(rf::<B>(B::float_sum_dim(x.clone(), d)));
                    out.push(rf::<B>(B::float_prod_dim(x.clone(), d)));
                }
                out
            });
            check(format!("empty reductions {shape:?}"), prec, &case);
        }
    }
}

#[test]
fn reductions_grad() {
    for prec in [Prec::F32, Prec::F64] {
        for (i, shape) in REDUCE_SHAPES.iter().enumerate() {
            // Distinct values: max/min have a single winner. Positive ones: autodiff's product
            // is exp(sum(log x)).
            let x = distinct(shape, i as u64);
            let n = x.num_elements() as f32;
            let x = TensorData::new(
                x.iter::<f32>().map(|v| v / n + 1.0).collect::<Vec<f32>>(),
                shape.to_vec(),
            );
            let rank = shape.len();
            for op in 0..6 {
                for dim in 0..=rank {
                    let case = grad_case!(x: TensorData = x.clone(), op: usize = op, dim: usize = dim, rank: usize = rank; |B, cx| {
                        let x = cx.fg(&x);
                        let y = if dim == rank {
                            match op {
                                0 => B::float_sum(x.clone()),
                                1 => B::float_prod(x.clone()),
                                2 => B::float_mean(x.clone()),
                                3 => B::float_max(x.clone()),
                                4 => B::float_min(x.clone()),
                                _ => B::float_max_abs(x.clone()),
                            }
                        } else {
                            match op {
                                0 => B::float_sum_dim(x.clone(), dim),
                                1 => B::float_prod_dim(x.clone(), dim),
                                2 => B::float_mean_dim(x.clone(), dim),
                                3 => B::float_max_dim(x.clone(), dim),
                                4 => B::float_min_dim(x.clone(), dim),
                                _ => B::float_max_abs_dim(x.clone(), dim),
                            }
                        };
                        let g = cx.backward(y.clone(), 9);
                        (rf::<B>(y), cx.grad(&x, &g))
                    });
                    check_grad_tol(
                        format!("reduction {op} dim {dim} grad {shape:?}"),
                        prec,
                        prec.tol().times(20.0),
                        &case,
                    );
                }
            }
        }
    }
}

#[test]
fn arg_extremes_with_ties() {
    for prec in ALL_PRECS {
        for (i, shape) in REDUCE_SHAPES.iter().enumerate() {
            for layout in [Layout::Contiguous, Layout::Transposed, Layout::Reversed] {
                let x = tied(shape, i as u64);
                let case = case!(x: TensorData = x, layout: Layout = layout; |B, cx| {
                    let x = cx.fl(&x, layout);
                    let mut out = vec![];
                    for d in 0..x.shape().num_dims() {
                        out.push(ri::<B>(B::float_argmax(x.clone(), d, I32)));
                        out.push(ri::<B>(B::float_argmin(x.clone(), d, I32)));
                        let (v, i) = B::float_max_dim_with_indices(x.clone(), d, I32);
                        out.push(rf::<B>(v));
                        out.push(ri::<B>(i));
                        let (v, i) = B::float_min_dim_with_indices(x.clone(), d, IntDType::I64);
                        out.push(rf::<B>(v));
                        out.push(ri::<B>(i));
                    }
                    out
                });
                check(
                    format!("argmax/argmin ties {shape:?} {layout:?}"),
                    prec,
                    &case,
                );
            }
        }
    }
    // Hand-checked: the first of equal maxima wins.
    let x = TensorData::new(vec![1.0f32, 3.0, 3.0, 0.0, 0.0, 1.0], [6]);
    let got = run_mlx(
        Prec::F32,
        &case!(x: TensorData = x; |B, cx| vec![
            ri::<B>(B::float_argmax(cx.f(&x), 0, I32)),
            ri::<B>(B::float_argmin(cx.f(&x), 0, I32)),
        ]),
    );
    assert_eq!(got[0].to_vec::<i32>().unwrap(), vec![1]);
    assert_eq!(got[1].to_vec::<i32>().unwrap(), vec![3]);
}

// ---- cumulative ops --------------------------------------------------------------------------

#[test]
fn cumulative() {
    let near_one = floats_gen(0.7, 1.3);
    for prec in ALL_PRECS {
        for (i, shape) in REDUCE_SHAPES.iter().enumerate() {
            for layout in LAYOUTS {
                let x = near_one(shape, i as u64);
                let case = case!(x: TensorData = x, layout: Layout = layout; |B, cx| {
                    let x = cx.fl(&x, layout);
                    let mut out = vec![];
                    for d in 0..x.shape().num_dims() {
                        out.push(rf::<B>(B::float_cumsum(x.clone(), d)));
                        out.push(rf::<B>(B::float_cumprod(x.clone(), d)));
                        out.push(rf::<B>(B::float_cummin(x.clone(), d)));
                        out.push(rf::<B>(B::float_cummax(x.clone(), d)));
                    }
                    out
                });
                check_tol(
                    format!("cumulative {shape:?} {layout:?}"),
                    prec,
                    prec.tol().times(4.0),
                    &case,
                );
            }
        }
    }
    for prec in [Prec::F32, Prec::F64] {
        for (i, shape) in REDUCE_SHAPES.iter().enumerate() {
            let x = distinct(shape, 40 + i as u64);
            for d in 0..shape.len() {
                for op in 0..4 {
                    let case = grad_case!(x: TensorData = x.clone(), d: usize = d, op: usize = op; |B, cx| {
                        let x = cx.fg(&x);
                        let y = match op {
                            0 => B::float_cumsum(x.clone(), d),
                            1 => B::float_cumprod(x.clone(), d),
                            2 => B::float_cummin(x.clone(), d),
                            _ => B::float_cummax(x.clone(), d),
                        };
                        let g = cx.backward(y.clone(), 13);
                        (rf::<B>(y), cx.grad(&x, &g))
                    });
                    check_grad_tol(
                        format!("cumulative {op} grad {shape:?} dim {d}"),
                        prec,
                        prec.tol().times(50.0),
                        &case,
                    );
                }
            }
        }
    }
}

// ---- sorting ---------------------------------------------------------------------------------

/// The flat indices of each line along `dim` of a row-major `shape`.
fn lines(shape: &[usize], dim: usize) -> Vec<Vec<usize>> {
    let inner: usize = shape[dim + 1..].iter().product();
    let outer: usize = shape[..dim].iter().product();
    let mut out = vec![];
    for o in 0..outer {
        for i in 0..inner {
            out.push(
                (0..shape[dim])
                    .map(|k| (o * shape[dim] + k) * inner + i)
                    .collect(),
            );
        }
    }
    out
}

/// A stable sort's indices along `dim`: equal values keep their original order.
fn stable_indices(values: &[f64], shape: &[usize], dim: usize, descending: bool) -> Vec<i64> {
    let mut out = vec![0i64; values.len()];
    for line in lines(shape, dim) {
        let mut order: Vec<usize> = (0..line.len()).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (values[line[a]], values[line[b]]);
            if descending {
                y.partial_cmp(&x).unwrap()
            } else {
                x.partial_cmp(&y).unwrap()
            }
        });
        for (pos, k) in order.into_iter().enumerate() {
            out[line[pos]] = k as i64;
        }
    }
    out
}

const SORT_SHAPES: &[&[usize]] = &[&[6], &[1], &[40], &[3, 7], &[7, 3], &[2, 5, 4], &[1, 9, 1]];

#[test]
fn sorting() {
    for prec in ALL_PRECS {
        for (i, shape) in SORT_SHAPES.iter().enumerate() {
            for descending in [false, true] {
                for layout in [Layout::Contiguous, Layout::Transposed, Layout::Stepped] {
                    let x = tied(shape, i as u64);
                    let case = case!(x: TensorData = x.clone(), desc: bool = descending, layout: Layout = layout; |B, cx| {
                        let x = cx.fl(&x, layout);
                        let mut out = vec![];
                        for d in 0..x.shape().num_dims() {
                            out.push(rf::<B>(B::float_sort(x.clone(), d, desc)));
                            let (v, _) = B::float_sort_with_indices(x.clone(), d, desc, I32);
                            out.push(rf::<B>(v));
                        }
                        out
                    });
                    check(
                        format!("sort {shape:?} desc={descending} {layout:?}"),
                        prec,
                        &case,
                    );
                    // Indices: those of a stable sort (ties in their original order).
                    let got = run_mlx(
                        prec,
                        &case!(x: TensorData = x.clone(), desc: bool = descending, layout: Layout = layout; |B, cx| {
                            let x = cx.fl(&x, layout);
                            let mut out = vec![];
                            for d in 0..x.shape().num_dims() {
                                out.push(ri::<B>(B::float_argsort(x.clone(), d, desc, I32)));
                                out.push(ri::<B>(B::float_sort_with_indices(x.clone(), d, desc, IntDType::I64).1));
                            }
                            out
                        }),
                    );
                    let values: Vec<f64> = x.iter::<f64>().collect();
                    for d in 0..shape.len() {
                        let want = TensorData::new(
                            stable_indices(&values, shape, d, descending),
                            shape.to_vec(),
                        );
                        let label = format!(
                            "argsort {shape:?} dim {d} desc={descending} {layout:?} [{prec:?}]"
                        );
                        assert_data_close(&label, &got[2 * d], &want, Tol::EXACT);
                        assert_data_close(&label, &got[2 * d + 1], &want, Tol::EXACT);
                    }
                }
            }
        }
    }
}

#[test]
fn sort_grad() {
    for (i, shape) in SORT_SHAPES.iter().enumerate() {
        for descending in [false, true] {
            let x = distinct(shape, 70 + i as u64);
            let case = grad_case!(x: TensorData = x, desc: bool = descending; |B, cx| {
                let x = cx.fg(&x);
                let d = x.shape().num_dims() - 1;
                let y = B::float_sort(x.clone(), d, desc);
                let (y2, _) = B::float_sort_with_indices(x.clone(), 0, desc, I32);
                let g = cx.backward(B::float_add(B::float_sum(y.clone()), B::float_sum(B::float_mul(y2.clone(), y2.clone()))), 1);
                (rf::<B>(y), rf::<B>(y2), cx.grad(&x, &g))
            });
            check_grad(
                format!("sort grad {shape:?} desc={descending}"),
                Prec::F32,
                &case,
            );
        }
    }
}

#[test]
fn topk() {
    for prec in ALL_PRECS {
        for (i, shape) in SORT_SHAPES.iter().enumerate() {
            let x = tied(shape, 90 + i as u64);
            for d in 0..shape.len() {
                for k in [1, shape[d].div_ceil(2), shape[d]] {
                    // ndarray has no argtopk: the oracle takes the first k of a descending sort.
                    let case = case!(x: TensorData = x.clone(), d: usize = d, k: usize = k; |B, cx| {
                        let x = cx.fl(&x, Layout::Transposed);
                        if cx.oracle {
                            let (v, _) = B::float_sort_with_indices(x, d, true, I32);
                            let mut s = vec![Slice::new(0, None, 1); v.shape().num_dims()];
                            s[d] = Slice::new(0, Some(k as isize), 1);
                            rf::<B>(B::float_slice(v, &s))
                        } else {
                            rf::<B>(B::float_topk(x, d, k))
                        }
                    });
                    check(format!("topk {shape:?} dim {d} k {k}"), prec, &case);
                    // Indices: ties ordered by lowest index (Burn's contract).
                    let got = run_mlx(
                        prec,
                        &case!(x: TensorData = x.clone(), d: usize = d, k: usize = k; |B, cx| {
                            ri::<B>(B::float_argtopk(cx.fl(&x, Layout::Transposed), d, k, I32))
                        }),
                    );
                    let values: Vec<f64> = x.iter::<f64>().collect();
                    let full =
                        TensorData::new(stable_indices(&values, shape, d, true), shape.to_vec());
                    let want = run_mlx(
                        prec,
                        &case!(full: TensorData = full, d: usize = d, k: usize = k; |B, cx| {
                            let mut s = vec![Slice::new(0, None, 1); full.shape.num_dims()];
                            s[d] = Slice::new(0, Some(k as isize), 1);
                            ri::<B>(B::int_slice(cx.i(&full), &s))
                        }),
                    );
                    assert_data_close(
                        &format!("argtopk {shape:?} dim {d} k {k} [{prec:?}]"),
                        &got[0],
                        &want[0],
                        Tol::EXACT,
                    );
                }
            }
        }
    }
}

// ---- gather / scatter / select ---------------------------------------------------------------

#[test]
fn gather_scatter() {
    for prec in ALL_PRECS {
        for idx_dtype in [DType::I32, DType::I64] {
            for (shape, dim) in [
                (&[4usize, 5][..], 0usize),
                (&[4, 5], 1),
                (&[3, 4, 2], 1),
                (&[3, 4, 2], 2),
                (&[6], 0),
            ] {
                // Indices repeat (several entries address the same slot).
                let mut ishape = shape.to_vec();
                ishape[dim] = shape[dim] + 2;
                let x = floats(shape, 1);
                let idx = ints(&ishape, 2, 0, shape[dim] as i64, idx_dtype);
                let v = floats(&ishape, 3);
                let case = case!(x: TensorData = x, idx: TensorData = idx, v: TensorData = v, dim: usize = dim; |B, cx| {
                    let x = cx.fl(&x, Layout::Transposed);
                    // gather with fewer rows than the source along dim, and with more.
                    let mut small = vec![Slice::new(0, None, 1); idx.shape.num_dims()];
                    small[dim] = Slice::new(0, Some(2), 1);
                    let idx_t = cx.i(&idx);
                    vec![
                        rf::<B>(B::float_gather(dim, x.clone(), idx_t.clone())),
                        rf::<B>(B::float_gather(dim, x.clone(), B::int_slice(idx_t.clone(), &small))),
                        rf::<B>(B::float_scatter_add(dim, B::float_slice(B::float_repeat_dim(x.clone(), dim, 2), &small_or_full(&x, dim)), idx_t, cx.f(&v))),
                    ]
                });
                check(
                    format!("gather/scatter_add {shape:?} dim {dim} {idx_dtype:?}"),
                    prec,
                    &case,
                );
            }
        }
    }
}

/// Slices that keep `x`'s extent along `dim` of `repeat_dim(x, dim, 2)` (so it is `x` again,
/// through a view).
fn small_or_full<T: TensorMetadata>(x: &T, dim: usize) -> Vec<Slice> {
    let shape = x.shape();
    let mut s = vec![Slice::new(0, None, 1); shape.num_dims()];
    s[dim] = Slice::new(0, Some(shape[dim] as isize), 1);
    s
}

#[test]
fn select_and_select_add() {
    for prec in ALL_PRECS {
        for (shape, dim) in [
            (&[4usize, 5][..], 0usize),
            (&[4, 5], 1),
            (&[3, 4, 2], 2),
            (&[6], 0),
        ] {
            for n in [1, 3, 7] {
                let x = floats(shape, 1);
                let idx = ints([n], 2 + n as u64, 0, shape[dim] as i64, DType::I32);
                let mut vshape = shape.to_vec();
                vshape[dim] = n;
                let v = floats(&vshape, 3);
                let case = case!(x: TensorData = x, idx: TensorData = idx, v: TensorData = v, dim: usize = dim; |B, cx| {
                    let x = cx.fl(&x, Layout::Reversed);
                    vec![
                        rf::<B>(B::float_select(x.clone(), dim, cx.i(&idx))),
                        rf::<B>(B::float_select_add(x, dim, cx.i(&idx), cx.f(&v))),
                    ]
                });
                check(
                    format!("select/select_add {shape:?} dim {dim} n {n}"),
                    prec,
                    &case,
                );
            }
        }
    }
}

#[test]
fn gather_scatter_select_grad() {
    for prec in [Prec::F32, Prec::F64] {
        let x = floats([4, 5], 1);
        let idx = ints([6, 5], 2, 0, 4, DType::I32);
        let v = floats([6, 5], 3);
        let sel = ints([7], 4, 0, 5, DType::I32);
        let sv = floats([4, 7], 5);
        let case = grad_case!(x: TensorData = x, idx: TensorData = idx, v: TensorData = v, sel: TensorData = sel, sv: TensorData = sv; |B, cx| {
            let (x, v, sv) = (cx.fg(&x), cx.fg(&v), cx.fg(&sv));
            let a = B::float_gather(0, x.clone(), cx.i(&idx));
            let b = B::float_scatter_add(0, x.clone(), cx.i(&idx), v.clone());
            let c = B::float_select(x.clone(), 1, cx.i(&sel));
            let d = B::float_select_add(x.clone(), 1, cx.i(&sel), sv.clone());
            let y = B::float_add(
                B::float_add(B::float_sum(B::float_mul(a.clone(), a.clone())), B::float_sum(B::float_mul(b.clone(), b.clone()))),
                B::float_add(B::float_sum(B::float_mul(c.clone(), c.clone())), B::float_sum(B::float_mul(d.clone(), d.clone()))),
            );
            let g = B::backward(y.clone());
            (vec![rf::<B>(a), rf::<B>(b), rf::<B>(c), rf::<B>(d)], cx.grad(&x, &g), cx.grad(&v, &g), cx.grad(&sv, &g))
        });
        check_grad("gather/scatter_add/select/select_add grad", prec, &case);
    }
}

#[test]
fn gather_nd_scatter_nd() {
    let (reductions, configs) = (SCATTER_ND_REDUCTIONS, ND_CONFIGS);
    for prec in ALL_PRECS {
        for (i, (dshape, batch, k)) in configs.iter().enumerate() {
            let data = floats(dshape, i as u64);
            let n: usize = batch.iter().product();
            // Index rows: repeated rows for the reducing updates, distinct rows for Assign.
            let mut rng = Rng::new(10 + i as u64);
            let all_rows: Vec<Vec<i64>> = {
                let count: usize = dshape[..*k].iter().product();
                let mut rows: Vec<Vec<i64>> = (0..count)
                    .map(|mut f| {
                        let mut r = vec![0i64; *k];
                        for j in (0..*k).rev() {
                            r[j] = (f % dshape[j]) as i64;
                            f /= dshape[j];
                        }
                        r
                    })
                    .collect();
                for j in (1..rows.len()).rev() {
                    rows.swap(j, rng.int(0, j as i64 + 1) as usize);
                }
                rows
            };
            let mut ishape = batch.to_vec();
            ishape.push(*k);
            let distinct_rows: Vec<i64> = (0..n)
                .flat_map(|r| all_rows[r % all_rows.len()].clone())
                .collect();
            let repeated_rows: Vec<i64> = (0..n)
                .flat_map(|r| all_rows[r % 2.min(all_rows.len())].clone())
                .collect();
            let mut vshape = batch.to_vec();
            vshape.extend_from_slice(&dshape[*k..]);
            let values = floats(&vshape, 20 + i as u64);
            for op in reductions {
                let rows = if op == IndexingUpdateOp::Assign && n <= all_rows.len() {
                    &distinct_rows
                } else {
                    &repeated_rows
                };
                if op == IndexingUpdateOp::Assign && n > all_rows.len() {
                    continue;
                }
                let idx = TensorData::new(rows.clone(), ishape.clone()).convert_dtype(DType::I32);
                let case = case!(data: TensorData = data.clone(), idx: TensorData = idx, values: TensorData = values.clone(), op: IndexingUpdateOp = op; |B, cx| {
                    vec![
                        rf::<B>(B::float_gather_nd(cx.fl(&data, Layout::Reversed), cx.i(&idx))),
                        rf::<B>(B::float_scatter_nd(cx.fl(&data, Layout::Transposed), cx.i(&idx), cx.f(&values), op)),
                    ]
                });
                check(
                    format!("gather_nd/scatter_nd {dshape:?} batch {batch:?} K {k} {op:?}"),
                    prec,
                    &case,
                );
            }
        }
    }
}

// ---- slicing and masking ---------------------------------------------------------------------

/// Slices of a [6, 7, 5] tensor: steps, negative steps, negative indices, open ends, empty.
fn slice_cases() -> Vec<Vec<Slice>> {
    let s = Slice::new;
    vec![
        vec![s(0, None, 1)],
        vec![s(1, Some(4), 1), s(2, None, 1)],
        vec![s(0, None, 2), s(1, Some(7), 3), s(0, Some(5), 2)],
        vec![s(0, None, -1)],
        vec![s(1, Some(5), -1), s(0, None, -2)],
        vec![s(0, None, -3), s(2, Some(6), -2), s(1, Some(4), -1)],
        vec![s(-4, Some(-1), 1), s(-3, None, 1)],
        vec![s(-5, None, 2), s(0, Some(-2), -2)],
        vec![s(3, Some(3), 1)],
        vec![s(0, Some(1), 1), s(6, Some(7), 1), s(4, None, 1)],
        vec![s(5, None, -1), s(0, None, 7)],
        vec![s(0, None, 1), s(0, None, 1), s(-1, None, -1)],
    ]
}

fn sliced_shape(shape: &[usize], slices: &[Slice]) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .map(|(d, n)| slices.get(d).map(|s| s.output_size(*n)).unwrap_or(*n))
        .collect()
}

#[test]
fn slice_and_slice_assign() {
    let shape = [6usize, 7, 5];
    for prec in ALL_PRECS {
        for (i, slices) in slice_cases().into_iter().enumerate() {
            for layout in [Layout::Contiguous, Layout::Permuted, Layout::Stepped] {
                let x = floats(shape, i as u64);
                let v = floats(sliced_shape(&shape, &slices), 100 + i as u64);
                let case = case!(x: TensorData = x, v: TensorData = v, s: Vec<Slice> = slices.clone(), layout: Layout = layout; |B, cx| {
                    let x = cx.fl(&x, layout);
                    vec![
                        rf::<B>(B::float_slice(x.clone(), &s)),
                        rf::<B>(B::float_slice_assign(x, &s, cx.fl(&v, Layout::Transposed))),
                    ]
                });
                check(
                    format!("slice/slice_assign {slices:?} {layout:?}"),
                    prec,
                    &case,
                );
            }
        }
    }
    // Hand-checked negative steps on a vector.
    let x = TensorData::new((0..8).map(|v| v as f32).collect::<Vec<_>>(), [8]);
    let got = run_mlx(
        Prec::F32,
        &case!(x: TensorData = x; |B, cx| vec![
            rf::<B>(B::float_slice(cx.f(&x), &[Slice::new(2, Some(8), -2)])),
            rf::<B>(B::float_slice(cx.f(&x), &[Slice::new(0, Some(5), -1)])),
            rf::<B>(B::float_slice(cx.f(&x), &[Slice::new(-3, None, -1)])),
        ]),
    );
    assert_eq!(got[0].to_vec::<f32>().unwrap(), vec![7.0, 5.0, 3.0]);
    assert_eq!(
        got[1].to_vec::<f32>().unwrap(),
        vec![4.0, 3.0, 2.0, 1.0, 0.0]
    );
    assert_eq!(got[2].to_vec::<f32>().unwrap(), vec![7.0, 6.0, 5.0]);
}

#[test]
fn slice_grad() {
    let shape = [6usize, 7, 5];
    for (i, slices) in slice_cases().into_iter().enumerate() {
        let x = floats(shape, i as u64);
        let v = floats(sliced_shape(&shape, &slices), 100 + i as u64);
        let case = grad_case!(x: TensorData = x, v: TensorData = v, s: Vec<Slice> = slices.clone(); |B, cx| {
            let (x, v) = (cx.fg(&x), cx.fg(&v));
            let a = B::float_slice(x.clone(), &s);
            let b = B::float_slice_assign(x.clone(), &s, v.clone());
            let y = B::float_add(B::float_sum(B::float_mul(a.clone(), a.clone())), B::float_sum(B::float_mul(b.clone(), b.clone())));
            let g = B::backward(y);
            (rf::<B>(a), rf::<B>(b), cx.grad(&x, &g), cx.grad_or_zeros(&v, &g))
        });
        check_grad(format!("slice grad {slices:?}"), Prec::F32, &case);
    }
}

#[test]
fn masking() {
    for prec in ALL_PRECS {
        for (i, shape) in SHAPES.iter().chain(EMPTY_SHAPES).enumerate() {
            for layout in [Layout::Contiguous, Layout::Transposed, Layout::Reversed] {
                let (x, v, m) = (
                    floats(shape, i as u64),
                    floats(shape, 50 + i as u64),
                    bools(shape, 80 + i as u64),
                );
                let case = case!(x: TensorData = x, v: TensorData = v, m: TensorData = m, layout: Layout = layout; |B, cx| {
                    let x = cx.fl(&x, layout);
                    vec![
                        rf::<B>(B::float_mask_where(x.clone(), cx.bl(&m, layout), cx.f(&v))),
                        rf::<B>(B::float_mask_fill(x, cx.bl(&m, Layout::Stepped), Scalar::Float(-7.5))),
                    ]
                });
                check(
                    format!("mask_where/mask_fill {shape:?} {layout:?}"),
                    prec,
                    &case,
                );
            }
        }
    }
    // A mask that broadcasts over the tensor.
    let (x, v, m) = (floats([3, 4], 1), floats([3, 4], 2), bools([1, 4], 3));
    check(
        "mask_where broadcast mask",
        Prec::F32,
        &case!(x: TensorData = x, v: TensorData = v, m: TensorData = m; |B, cx| rf::<B>(B::float_mask_where(cx.f(&x), B::bool_expand(cx.b(&m), Shape::from(vec![3, 4])), cx.f(&v)))),
    );
    let case = grad_case!(x: TensorData = floats([3, 4], 1), v: TensorData = floats([3, 4], 2), m: TensorData = bools([3, 4], 3); |B, cx| {
        let (x, v) = (cx.fg(&x), cx.fg(&v));
        let a = B::float_mask_where(x.clone(), cx.b(&m), v.clone());
        let b = B::float_mask_fill(x.clone(), cx.b(&m), Scalar::Float(2.0));
        let y = B::float_add(B::float_sum(B::float_mul(a.clone(), a.clone())), B::float_sum(B::float_mul(b.clone(), x.clone())));
        let g = B::backward(y);
        (rf::<B>(a), rf::<B>(b), cx.grad(&x, &g), cx.grad(&v, &g))
    });
    check_grad("mask grad", Prec::F32, &case);
}

// ---- shape ops -------------------------------------------------------------------------------

#[test]
fn shape_ops() {
    for prec in ALL_PRECS {
        for layout in LAYOUTS {
            let x = floats([2, 3, 4], 1);
            let case = case!(x: TensorData = x, layout: Layout = layout; |B, cx| {
                let x = cx.fl(&x, layout);
                let y = cx.f(&floats([2, 5, 4], 2));
                let e = cx.f(&floats([2, 0, 4], 3));
                vec![
                    rf::<B>(B::float_cat(vec![x.clone(), y.clone(), e, x.clone()], 1)),
                    rf::<B>(B::float_cat(vec![x.clone(), x.clone()], 0)),
                    rf::<B>(B::float_cat(vec![x.clone()], 2)),
                    rf::<B>(B::float_repeat_dim(x.clone(), 0, 3)),
                    rf::<B>(B::float_repeat_dim(x.clone(), 2, 2)),
                    rf::<B>(B::float_repeat_dim(x.clone(), 1, 1)),
                    rf::<B>(B::float_flip(x.clone(), &[0])),
                    rf::<B>(B::float_flip(x.clone(), &[1, 2])),
                    rf::<B>(B::float_flip(x.clone(), &[])),
                    rf::<B>(B::float_permute(x.clone(), &[2, 0, 1])),
                    rf::<B>(B::float_swap_dims(x.clone(), 0, 2)),
                    rf::<B>(B::float_transpose(x.clone())),
                    rf::<B>(B::float_reshape(x.clone(), Shape::from(vec![6, 4]))),
                    rf::<B>(B::float_reshape(x.clone(), Shape::from(vec![24]))),
                    rf::<B>(B::float_reshape(x.clone(), Shape::from(vec![4, 1, 3, 2]))),
                    rf::<B>(B::float_expand(B::float_slice(x.clone(), &[Slice::new(0, Some(1), 1)]), Shape::from(vec![3, 3, 4]))),
                    rf::<B>(B::float_expand(x.clone(), Shape::from(vec![2, 2, 3, 4]))),
                    rf::<B>(B::float_unfold(x.clone(), 2, 2, 1)),
                    rf::<B>(B::float_unfold(x.clone(), 1, 2, 2)),
                    rf::<B>(B::float_unfold(x.clone(), 2, 4, 3)),
                    rf::<B>(B::float_unfold(x, 0, 1, 1)),
                ]
            });
            check(format!("shape ops {layout:?}"), prec, &case);
        }
    }
    // A [3, 1] expands to [3, 5]; a vector's transpose is itself (ndarray panics on it).
    check(
        "expand size-1",
        Prec::F32,
        &case!(|B, cx| rf::<B>(B::float_expand(
            cx.f(&floats([3, 1], 2)),
            Shape::from(vec![3, 5])
        ))),
    );
    let v = floats([5], 1);
    let got = run_mlx(
        Prec::F32,
        &case!(v: TensorData = v.clone(); |B, cx| rf::<B>(B::float_transpose(cx.f(&v)))),
    );
    assert_data_close("transpose 1-d", &got[0], &v, Tol::EXACT);
}

#[test]
fn shape_ops_grad() {
    for op in 0..12 {
        let case = grad_case!(op: usize = op; |B, cx| {
            let x = cx.fg(&floats([2, 3, 4], 1));
            let y = cx.fg(&floats([2, 2, 4], 2));
            let out = match op {
                0 => B::float_cat(vec![x.clone(), y.clone(), x.clone()], 1),
                1 => B::float_repeat_dim(x.clone(), 1, 3),
                2 => B::float_flip(x.clone(), &[0, 2]),
                3 => B::float_permute(x.clone(), &[1, 2, 0]),
                4 => B::float_swap_dims(x.clone(), 0, 1),
                5 => B::float_transpose(x.clone()),
                6 => B::float_reshape(x.clone(), Shape::from(vec![4, 6])),
                7 => B::float_expand(B::float_slice(x.clone(), &[Slice::new(1, Some(2), 1)]), Shape::from(vec![5, 3, 4])),
                8 => B::float_unfold(x.clone(), 2, 2, 1),
                9 => B::float_expand(x.clone(), Shape::from(vec![3, 2, 3, 4])),
                10 => B::float_unfold(x.clone(), 1, 2, 2),
                _ => B::float_sub(B::float_permute(x.clone(), &[2, 1, 0]), B::float_transpose(B::float_permute(x.clone(), &[2, 0, 1]))),
            };
            let g = cx.backward(out.clone(), 4);
            (rf::<B>(out), cx.grad(&x, &g), cx.grad_or_zeros(&y, &g))
        });
        check_grad(format!("shape op {op} grad"), Prec::F32, &case);
    }
}

// ---- casts -----------------------------------------------------------------------------------

#[test]
fn float_casts_and_into_int() {
    let x = TensorData::new(
        vec![
            -2.7f32, -0.5, -0.0, 0.5, 2.7, 100.9, -100.9, 1.0, 7.5, -7.5, 65.25, 3.99,
        ],
        [3, 4],
    );
    for prec in ALL_PRECS {
        for target in [
            FloatDType::F32,
            FloatDType::F16,
            FloatDType::BF16,
            FloatDType::F64,
        ] {
            let case = case!(x: TensorData = x.clone(), target: FloatDType = target; |B, cx| {
                let x = cx.fl(&x, Layout::Transposed);
                if cx.oracle && matches!(target, FloatDType::F16 | FloatDType::BF16) {
                    // ndarray has neither: cast to F32 and round on the host.
                    rf::<B>(B::float_cast(x, FloatDType::F32)).convert_dtype(target.into())
                } else {
                    rf::<B>(B::float_cast(x, target))
                }
            });
            check(format!("float_cast to {target:?}"), prec, &case);
        }
        // Truncation towards zero into every signed int type; non-negative values into unsigned.
        for out in [IntDType::I64, IntDType::I32, IntDType::I16, IntDType::I8] {
            check(
                format!("into_int {out:?}"),
                prec,
                &case!(x: TensorData = x.clone(), out: IntDType = out; |B, cx| ri::<B>(B::float_into_int(cx.fl(&x, Layout::Reversed), out))),
            );
        }
        for out in [IntDType::U64, IntDType::U32, IntDType::U16, IntDType::U8] {
            check(
                format!("into_int {out:?}"),
                prec,
                &case!(x: TensorData = x.clone(), out: IntDType = out; |B, cx| ri::<B>(B::float_into_int(B::float_abs(cx.f(&x)), out))),
            );
        }
    }
    let got = run_mlx(
        Prec::F32,
        &case!(x: TensorData = x; |B, cx| ri::<B>(B::float_into_int(cx.f(&x), IntDType::I32))),
    );
    assert_eq!(
        got[0].to_vec::<i32>().unwrap(),
        vec![-2, 0, 0, 0, 2, 100, -100, 1, 7, -7, 65, 3]
    );
}

// ---- random ----------------------------------------------------------------------------------

fn stats(v: &[f64]) -> (f64, f64, f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    let min = v.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    (mean, var, min, max)
}

#[test]
fn random_distributions() {
    let dev = mlx_device();
    let n = 200_000usize;
    for dtype in [
        FloatDType::F32,
        FloatDType::F16,
        FloatDType::BF16,
        FloatDType::F64,
    ] {
        let draw = |d: Distribution| {
            let t = M::float_random(Shape::from(vec![n / 100, 100]), d, &dev, dtype);
            assert_eq!(t.dtype(), DType::from(dtype));
            assert_eq!(t.shape().as_slice(), &[n / 100, 100]);
            rf::<M>(t).iter::<f64>().collect::<Vec<f64>>()
        };
        // Standard errors: sd/sqrt(n) ~ 0.002 for the mean; allow ~5 of them plus dtype rounding.
        let (mean, var, min, max) = stats(&draw(Distribution::Default));
        assert!(
            (mean - 0.5).abs() < 0.01 && (var - 1.0 / 12.0).abs() < 0.005,
            "default {dtype:?}: {mean} {var}"
        );
        assert!(
            min >= 0.0 && max <= 1.0,
            "default range {dtype:?}: {min} {max}"
        );
        let (mean, var, min, max) = stats(&draw(Distribution::Uniform(-2.0, 5.0)));
        assert!(
            (mean - 1.5).abs() < 0.05 && (var - 49.0 / 12.0).abs() < 0.1,
            "uniform {dtype:?}: {mean} {var}"
        );
        assert!(
            min >= -2.0 && max <= 5.0,
            "uniform range {dtype:?}: {min} {max}"
        );
        let (mean, var, _, _) = stats(&draw(Distribution::Normal(1.0, 2.0)));
        assert!(
            (mean - 1.0).abs() < 0.05 && (var - 4.0).abs() < 0.15,
            "normal {dtype:?}: {mean} {var}"
        );
        let b = draw(Distribution::Bernoulli(0.3));
        assert!(
            b.iter().all(|v| *v == 0.0 || *v == 1.0),
            "bernoulli values {dtype:?}"
        );
        let (mean, _, _, _) = stats(&b);
        assert!((mean - 0.3).abs() < 0.01, "bernoulli {dtype:?}: {mean}");
    }
}

#[test]
fn random_seed_is_reproducible() {
    let dev = mlx_device();
    let draw = || {
        let t = M::float_random(
            Shape::from(vec![64]),
            Distribution::Normal(0.0, 1.0),
            &dev,
            FloatDType::F32,
        );
        rf::<M>(t).to_vec::<f32>().unwrap()
    };
    M::seed(&dev, 42);
    let (a, b) = (draw(), draw());
    M::seed(&dev, 42);
    let (c, d) = (draw(), draw());
    M::seed(&dev, 43);
    let e = draw();
    assert_eq!(a, c, "same seed, same first draw");
    assert_eq!(b, d, "same seed, same second draw");
    assert_ne!(a, b, "successive draws differ");
    assert_ne!(a, e, "another seed, another draw");
}

// ---- devices and float64 --------------------------------------------------------------------

#[test]
fn float64_on_cpu_and_gpu_requests() {
    // Float64 computes at full precision on the CPU.
    let x = TensorData::new(vec![1.0f64 + 1e-12, 1e-300, 123_456_789.123_456_78], [3]);
    let dev = MlxDevice::Cpu;
    let t = M::float_from_data(x.clone(), &dev);
    assert_eq!(t.dtype(), DType::F64);
    let y = rf::<M>(M::float_mul_scalar(
        M::float_add_scalar(t, Scalar::Float(1e-12)),
        Scalar::Float(2.0),
    ));
    let want: Vec<f64> = x.iter::<f64>().map(|v| (v + 1e-12) * 2.0).collect();
    assert_eq!(y.to_vec::<f64>().unwrap(), want);
    assert!(M::supports_dtype(&MlxDevice::Cpu, DType::F64));
    assert!(M::supports_dtype(&MlxDevice::Gpu, DType::F64));

    if MlxDevice::Gpu.is_available() {
        // A GPU: MLX's GPU backends lack float64, so those ops run on MLX's CPU stream while the
        // tensors stay on the GPU device, at full precision.
        let gpu = MlxDevice::Gpu;
        let t = M::float_from_data(x.clone(), &gpu);
        let y = M::float_mul_scalar(
            M::float_add_scalar(t, Scalar::Float(1e-12)),
            Scalar::Float(2.0),
        );
        assert_eq!(M::float_device(&y), gpu);
        assert_eq!(rf::<M>(y).to_vec::<f64>().unwrap(), want);
        let cpu = M::float_from_data(x.clone(), &MlxDevice::Cpu);
        let moved = M::float_to_device(cpu, &gpu);
        let sum = rf::<M>(M::float_sum(M::float_add(moved.clone(), moved)));
        let want_sum: f64 = x.iter::<f64>().map(|v| v + v).sum();
        assert_eq!(sum.to_vec::<f64>().unwrap(), [want_sum]);
        let zeros = M::float_zeros(Shape::from(vec![2]), &gpu, FloatDType::F64);
        assert_eq!(rf::<M>(zeros).to_vec::<f64>().unwrap(), [0.0, 0.0]);
        // A float32 GPU tensor cast to float64, and back: both casts run.
        let f32s = M::float_from_data(TensorData::new(vec![0.5f32, 1.25], [2]), &gpu);
        let up = M::float_cast(f32s, FloatDType::F64);
        let back = M::float_cast(M::float_mul_scalar(up, Scalar::Float(4.0)), FloatDType::F32);
        assert_eq!(rf::<M>(back).to_vec::<f32>().unwrap(), [2.0, 5.0]);
    } else {
        // No GPU here: asking for it panics clearly, whatever the dtype.
        assert_panics("f32 on a missing gpu", "not available", || {
            rf::<M>(M::float_add_scalar(
                M::float_from_data(floats([2], 1), &MlxDevice::Gpu),
                Scalar::Float(1.0),
            ))
        });
        assert_panics("f32 zeros on a missing gpu", "not available", || {
            M::float_zeros(Shape::from(vec![2]), &MlxDevice::Gpu, FloatDType::F32)
        });
        assert_panics("f64 on a missing gpu", "not available", || {
            rf::<M>(M::float_add_scalar(
                M::float_from_data(x.clone(), &MlxDevice::Gpu),
                Scalar::Float(1.0),
            ))
        });
        assert_panics("f64 zeros on a missing gpu", "not available", || {
            M::float_zeros(Shape::from(vec![2]), &MlxDevice::Gpu, FloatDType::F64)
        });
    }
}

// ---- the rest --------------------------------------------------------------------------------

#[test]
fn grid_sample_2d() {
    use burn_backend::ops::{GridSampleOptions, GridSamplePaddingMode, InterpolateMode};
    for align_corners in [false, true] {
        for padding_mode in [
            GridSamplePaddingMode::Zeros,
            GridSamplePaddingMode::Border,
            GridSamplePaddingMode::Reflection,
        ] {
            let options = GridSampleOptions {
                mode: InterpolateMode::Bilinear,
                padding_mode,
                align_corners,
            };
            let x = floats([2, 3, 5, 4], 1);
            let grid = floats_in([2, 3, 6, 2], 2, -1.2, 1.2);
            let case = case!(x: TensorData = x, grid: TensorData = grid, options: GridSampleOptions = options.clone(); |B, cx| {
                rf::<B>(B::float_grid_sample_2d(cx.f(&x), cx.f(&grid), options))
            });
            check(format!("grid_sample_2d {options:?}"), Prec::F32, &case);
        }
    }
}

#[test]
fn detach_and_require_grad() {
    let case = grad_case!(|B, cx| {
        let x = cx.fg(&floats([3, 4], 1));
        assert!(B::float_is_require_grad(&x));
        let d = B::float_detach(x.clone());
        let y = B::float_add(B::float_mul(x.clone(), d.clone()), B::float_exp(x.clone()));
        let g = B::backward(B::float_sum(y.clone()));
        (rf::<B>(y), cx.grad(&x, &g))
    });
    check_grad("detach", Prec::F32, &case);
    // Outside autodiff the flags are inert.
    let t = M::float_from_data(floats([2], 1), &mlx_device());
    assert!(!M::float_is_require_grad(&M::float_set_require_grad(
        t.clone(),
        true
    )));
    assert_data_close(
        "detach (inner)",
        &rf::<M>(M::float_detach(t.clone())),
        &rf::<M>(t),
        Tol::EXACT,
    );
}
