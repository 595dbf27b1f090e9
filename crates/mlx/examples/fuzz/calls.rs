//! The calls: one random op of the public API, with inputs drawn for it.

use mlx::ops::{self, PadMode, QuantizationMode, QuantizeOptions, ScanOptions};
use mlx::{Array, Dtype, Idx, Result, fft, linalg, random, transforms};

use super::draw::*;

/// The number of ops [`call`] chooses from.
pub(super) const OPS: u64 = 123;

/// One random call; returns its description and result.
pub(super) fn call(s: &mut Src) -> (String, Result<Vec<Array>>) {
    let op = s.draw(OPS);
    let unary: [fn(&Array) -> Result<Array>; 24] = [
        ops::abs,
        ops::negative,
        ops::sign,
        ops::reciprocal,
        ops::square,
        ops::sqrt,
        ops::exp,
        ops::log,
        ops::sin,
        ops::arccos,
        ops::tanh,
        ops::arctanh,
        ops::erf,
        ops::erfinv,
        ops::sigmoid,
        ops::floor,
        ops::ceil,
        ops::bitwise_invert,
        ops::logical_not,
        ops::real,
        ops::imag,
        ops::isnan,
        ops::conjugate,
        ops::log1p,
    ];
    let binary: [fn(&Array, &Array) -> Result<Array>; 22] = [
        ops::add,
        ops::subtract,
        ops::multiply,
        ops::divide,
        ops::power,
        ops::floor_divide,
        ops::remainder,
        ops::maximum,
        ops::minimum,
        ops::logaddexp,
        ops::arctan2,
        ops::bitwise_and,
        ops::bitwise_or,
        ops::bitwise_xor,
        ops::left_shift,
        ops::right_shift,
        ops::logical_and,
        ops::logical_or,
        ops::equal,
        ops::less,
        ops::matmul,
        ops::greater_equal,
    ];
    macro_rules! go {
        ($($arg:expr),* ; $body:expr) => {{
            let d = format!(concat!("op {} ", $(stringify!($arg), "={:?} "),*), op, $($arg),*);
            (d, $body)
        }};
    }
    match op {
        0..=23 => {
            let f = unary[op as usize];
            let a = array(s);
            let da = describe(&a);
            go!(da; one(f(&a)))
        }
        24..=45 => {
            let f = binary[(op - 24) as usize];
            let a = array(s);
            let b = if s.draw(3) == 0 {
                let shape = a.shape().to_vec();
                array_of(s, &shape)
            } else {
                array(s)
            };
            let (da, db) = (describe(&a), describe(&b));
            go!(da, db; one(f(&a, &b)))
        }
        46 => {
            let (a, b) = (array(s), array(s));
            let (da, db) = (describe(&a), describe(&b));
            go!(da, db; two(ops::divmod(&a, &b)))
        }
        47 => {
            let (sh, d) = (shape_arg(s), dtype(s));
            go!(sh, d; one(ops::zeros(&sh, d)))
        }
        48 => {
            let (sh, d, v) = (shape_arg(s), dtype(s), array(s));
            let dv = describe(&v);
            go!(sh, d, dv; one(ops::full(&sh, &v, d)))
        }
        49 => {
            let (a, b, c, d) = (int(s) as f64, int(s) as f64, int(s) as f64, dtype(s));
            go!(a, b, c, d; one(ops::arange(a, b, c, d)))
        }
        50 => {
            let (a, b, n, d) = (value(s), value(s), int(s), dtype(s));
            go!(a, b, n, d; one(ops::linspace(a, b, n, d)))
        }
        51 => {
            let (n, m, k, d) = (int(s), int(s), int(s), dtype(s));
            go!(n, m, k, d; one(ops::eye(n, m, k, d)))
        }
        52 => {
            let (n, d) = (int(s), dtype(s));
            go!(n, d; one(ops::identity(n, d)))
        }
        53 => {
            let (n, m, k, d) = (int(s), int(s), int(s), dtype(s));
            go!(n, m, k, d; one(ops::tri(n, m, k, d)))
        }
        54 => {
            let a = array(s);
            let (ax, keep, da) = (opt_axes(s, a.ndim()), s.flag(), describe(&a));
            let f = s.pick(&[
                ops::sum as fn(&Array, Option<&[i32]>, bool) -> Result<Array>,
                ops::prod,
                ops::mean,
                ops::max,
                ops::min,
                ops::all,
                ops::any,
                ops::logsumexp,
                ops::median,
            ]);
            go!(da, ax, keep; one(f(&a, ax.as_deref(), keep)))
        }
        55 => {
            let a = array(s);
            let (ax, keep, ddof, da) = (opt_axes(s, a.ndim()), s.flag(), int(s), describe(&a));
            go!(da, ax, keep, ddof; one(ops::var(&a, ax.as_deref(), keep, ddof)))
        }
        56 => {
            let a = array(s);
            let (ax, keep, da) = (axis(s, a.ndim()), s.flag(), describe(&a));
            let ax = if s.flag() { Some(ax) } else { None };
            go!(da, ax, keep; one(ops::argmax(&a, ax, keep)))
        }
        57 => {
            let a = array(s);
            let da = describe(&a);
            let ax = Some(axis(s, a.ndim())).filter(|_| s.flag());
            let o = ScanOptions {
                reverse: s.flag(),
                inclusive: s.flag(),
                dtype: None,
            };
            let f = s.pick(&[
                ops::cumsum as fn(&Array, Option<i32>, ScanOptions) -> Result<Array>,
                ops::cumprod,
                ops::cummax,
                ops::cummin,
                ops::logcumsumexp,
            ]);
            go!(da, ax, o; one(f(&a, ax, o)))
        }
        58 => {
            let a = array(s);
            let (n, ax, da) = (int(s), axis(s, a.ndim()), describe(&a));
            go!(da, n, ax; one(ops::diff(&a, n, ax)))
        }
        59 => {
            let a = array(s);
            let da = describe(&a);
            let ax = Some(axis(s, a.ndim())).filter(|_| s.flag());
            let f = s.pick(&[
                ops::sort as fn(&Array, Option<i32>) -> Result<Array>,
                ops::argsort,
            ]);
            go!(da, ax; one(f(&a, ax)))
        }
        60 => {
            let a = array(s);
            let (k, da) = (int(s), describe(&a));
            let ax = Some(axis(s, a.ndim())).filter(|_| s.flag());
            let f = s.pick(&[
                ops::partition as fn(&Array, i32, Option<i32>) -> Result<Array>,
                ops::argpartition,
                ops::topk,
            ]);
            go!(da, k, ax; one(f(&a, k, ax)))
        }
        61 => {
            let a = array(s);
            let (sh, da) = (shape_arg(s), describe(&a));
            go!(da, sh; one(ops::reshape(&a, &sh)))
        }
        62 => {
            let a = array(s);
            let (ax, da) = (opt_axes(s, a.ndim()), describe(&a));
            go!(da, ax; one(ops::transpose(&a, ax.as_deref())))
        }
        63 => {
            let a = array(s);
            let (ax, da) = (opt_axes(s, a.ndim()), describe(&a));
            go!(da, ax; one(ops::squeeze(&a, ax.as_deref())))
        }
        64 => {
            let a = array(s);
            let (ax, da) = (axes(s, a.ndim() + 1), describe(&a));
            go!(da, ax; one(ops::expand_dims(&a, &ax)))
        }
        65 => {
            let a = array(s);
            let (x, y, da) = (axis(s, a.ndim()), axis(s, a.ndim()), describe(&a));
            go!(da, x, y; one(ops::flatten(&a, x, y)))
        }
        66 => {
            let a = array(s);
            let (x, da) = (axis(s, a.ndim()), describe(&a));
            let k = s.draw(4) as usize;
            let sh: Vec<i32> = (0..k).map(|_| s.pick(&[-1, 0, 1, 2, 3, -2, 4])).collect();
            go!(da, x, sh; one(ops::unflatten(&a, x, &sh)))
        }
        67 => {
            let a = array(s);
            let (sh, da) = (shape_arg(s), describe(&a));
            go!(da, sh; one(ops::broadcast_to(&a, &sh)))
        }
        68 => {
            let n = s.draw(4) as usize;
            let xs: Vec<Array> = (0..n).map(|_| array(s)).collect();
            let ax = axis(s, 3);
            let d: Vec<String> = xs.iter().map(describe).collect();
            if s.flag() {
                go!(d, ax; one(ops::concatenate(&xs, Some(ax))))
            } else {
                go!(d, ax; one(ops::stack(&xs, ax)))
            }
        }
        69 => {
            let a = array(s);
            let (n, ax, da) = (int(s), axis(s, a.ndim()), describe(&a));
            go!(da, n, ax; ops::split(&a, n, ax))
        }
        70 => {
            let a = array(s);
            let k = s.draw(4) as usize;
            let reps: Vec<i32> = (0..k).map(|_| int(s)).collect();
            let da = describe(&a);
            go!(da, reps; one(ops::tile(&a, &reps)))
        }
        71 => {
            let a = array(s);
            let (n, da) = (int(s), describe(&a));
            let ax = Some(axis(s, a.ndim())).filter(|_| s.flag());
            go!(da, n, ax; one(ops::repeat(&a, n, ax)))
        }
        72 => {
            let a = array(s);
            let k = s.draw(3) as usize;
            let sh: Vec<i32> = (0..k).map(|_| int(s)).collect();
            let ax = opt_axes(s, a.ndim());
            let da = describe(&a);
            go!(da, sh, ax; one(ops::roll(&a, &sh, ax.as_deref())))
        }
        73 => {
            let a = array(s);
            let k = s.draw(a.ndim() as u64 + 2) as usize;
            let w: Vec<(i32, i32)> = (0..k).map(|_| (int(s), int(s))).collect();
            let v = array(s);
            let m = s.pick(&[
                PadMode::Constant,
                PadMode::Edge,
                PadMode::Reflect,
                PadMode::Symmetric,
            ]);
            let (da, dv) = (describe(&a), describe(&v));
            go!(da, w, dv, m; one(ops::pad(&a, &w, &v, m)))
        }
        74 => {
            let a = array(s);
            let (k, da) = (int(s), describe(&a));
            go!(da, k; one(ops::diag(&a, k)))
        }
        75 => {
            let a = array(s);
            let (o, x, y, da) = (int(s), axis(s, a.ndim()), axis(s, a.ndim()), describe(&a));
            go!(da, o, x, y; one(ops::diagonal(&a, o, x, y)))
        }
        76 => {
            let a = array(s);
            let (k, da) = (int(s), describe(&a));
            if s.flag() {
                go!(da, k; one(ops::tril(&a, k)))
            } else {
                go!(da, k; one(ops::triu(&a, k)))
            }
        }
        77 => {
            let (a, i) = (array(s), index_array(s));
            let da = (describe(&a), describe(&i));
            let ax = Some(axis(s, a.ndim())).filter(|_| s.flag());
            go!(da, ax; one(ops::take(&a, &i, ax)))
        }
        78 => {
            let (a, i) = (array(s), index_array(s));
            let da = (describe(&a), describe(&i));
            let ax = Some(axis(s, a.ndim())).filter(|_| s.flag());
            go!(da, ax; one(ops::take_along_axis(&a, &i, ax)))
        }
        79 => {
            let (a, i, v) = (array(s), index_array(s), array(s));
            let da = (describe(&a), describe(&i), describe(&v));
            let ax = Some(axis(s, a.ndim())).filter(|_| s.flag());
            if s.flag() {
                go!(da, ax; one(ops::put_along_axis(&a, &i, &v, ax)))
            } else {
                go!(da, ax; one(ops::scatter_add_axis(&a, &i, &v, ax)))
            }
        }
        80 => {
            let a = array(s);
            let n = a.ndim();
            let st: Vec<i32> = (0..n).map(|_| int(s)).collect();
            let sp: Vec<i32> = (0..n).map(|_| int(s)).collect();
            let str_: Vec<i32> = (0..n).map(|_| int(s)).collect();
            let da = describe(&a);
            go!(da, st, sp, str_; one(ops::slice(&a, &st, &sp, &str_)))
        }
        81 => {
            let a = array(s);
            let start = index_array(s);
            let ax = axes(s, a.ndim());
            let sz: Vec<i32> = (0..a.ndim()).map(|_| int(s)).collect();
            let da = (describe(&a), describe(&start));
            go!(da, ax, sz; one(ops::slice_dynamic(&a, &start, &ax, &sz)))
        }
        82 => {
            let (a, u) = (array(s), array(s));
            let n = a.ndim();
            let st: Vec<i32> = (0..n).map(|_| int(s)).collect();
            let sp: Vec<i32> = (0..n).map(|_| int(s)).collect();
            let str_: Vec<i32> = (0..n).map(|_| s.pick(&[1, 1, 2, -1, 0])).collect();
            let da = (describe(&a), describe(&u));
            go!(da, st, sp, str_; one(ops::slice_update(&a, &u, &st, &sp, &str_)))
        }
        83 => {
            let a = array(s);
            let k = s.draw(3) as usize;
            let idx: Vec<Array> = (0..k).map(|_| index_array(s)).collect();
            let ax = axes(s, a.ndim());
            let sz: Vec<i32> = (0..a.ndim()).map(|_| s.draw(3) as i32).collect();
            let d = (describe(&a), idx.iter().map(describe).collect::<Vec<_>>());
            go!(d, ax, sz; one(ops::gather(&a, &idx, &ax, &sz)))
        }
        84 => {
            let a = array(s);
            let k = s.draw(3) as usize;
            let idx: Vec<Array> = (0..k).map(|_| index_array(s)).collect();
            let ax = axes(s, a.ndim());
            let u = array(s);
            let f = s.pick(&[
                ops::scatter as fn(&Array, &[Array], &Array, &[i32]) -> Result<Array>,
                ops::scatter_add,
                ops::scatter_prod,
                ops::scatter_max,
                ops::scatter_min,
            ]);
            let d = (
                describe(&a),
                idx.iter().map(describe).collect::<Vec<_>>(),
                describe(&u),
            );
            go!(d, ax; one(f(&a, &idx, &u, &ax)))
        }
        85 => {
            let a = array(s);
            let k = s.draw(4) as usize;
            let index: Vec<Idx> = (0..k)
                .map(|_| match s.draw(5) {
                    0 => Idx::from(int(s)),
                    1 => Idx::slice(Some(int(s)), Some(int(s)), s.pick(&[1, 2, -1, 0, 3])),
                    2 => Idx::from(index_array(s)),
                    3 => Idx::from(mlx::NewAxis),
                    _ => Idx::from(mlx::Ellipsis),
                })
                .collect();
            let v = array(s);
            let mode = s.draw(5);
            let d = (describe(&a), describe(&v), mode);
            let r = match mode {
                0 => a.index(index.clone()),
                1 => a.index_put(index.clone(), &v),
                2 => a.index_add(index.clone(), &v),
                3 => a.index_max(index.clone(), &v),
                _ => a.index_prod(index.clone(), &v),
            };
            go!(d, index; one(r))
        }
        86 => {
            let (a, m, v) = (array(s), array(s), array(s));
            let d = (describe(&a), describe(&m), describe(&v));
            go!(d; one(ops::masked_scatter(&a, &m, &v)))
        }
        87 => {
            let (a, b) = (matrix(s), matrix(s));
            let d = (describe(&a), describe(&b));
            go!(d; one(ops::matmul(&a, &b)))
        }
        88 => {
            let a = matrix(s);
            let da = describe(&a);
            match s.draw(12) {
                0 => go!(da; one(linalg::inv(&a))),
                1 => go!(da; two(linalg::qr(&a))),
                2 => go!(da; linalg::svd(&a).map(|(u, x, v)| vec![u, x, v])),
                3 => go!(da; linalg::lu(&a).map(|(p, l, u)| vec![p, l, u])),
                4 => go!(da; two(linalg::eig(&a))),
                5 => go!(da; one(linalg::eigvals(&a))),
                6 => go!(da; one(linalg::cholesky(&a, false))),
                7 => go!(da; two(linalg::eigh(&a, false))),
                8 => go!(da; one(linalg::pinv(&a))),
                9 => go!(da; one(linalg::det(&a))),
                10 => go!(da; two(linalg::lu_factor(&a))),
                _ => go!(da; one(linalg::tri_inv(&a, true))),
            }
        }
        89 => {
            let (a, b) = (matrix(s), matrix(s));
            let d = (describe(&a), describe(&b));
            match s.draw(6) {
                0 => go!(d; one(linalg::solve(&a, &b))),
                1 => go!(d; one(linalg::solve_triangular(&a, &b, false))),
                2 => go!(d; one(ops::kron(&a, &b))),
                3 => go!(d; one(ops::outer(&a, &b))),
                4 => go!(d; one(ops::inner(&a, &b))),
                _ => {
                    let k = int(s);
                    go!(d, k; one(ops::tensordot(&a, &b, k)))
                }
            }
        }
        90 => {
            let (a, b, seg) = (matrix(s), matrix(s), index_array(s));
            let d = (describe(&a), describe(&b), describe(&seg));
            go!(d; one(ops::segmented_mm(&a, &b, &seg)))
        }
        91 => {
            let a = array(s);
            let (ord, da) = (s.draw(5), describe(&a));
            let ax = if s.flag() {
                Some(axes(s, a.ndim()))
            } else {
                None
            };
            let ord = match ord {
                0 => None,
                1 => Some(linalg::NormOrd::Fro),
                2 => Some(linalg::NormOrd::Nuc),
                3 => Some(linalg::NormOrd::P(f64::INFINITY)),
                _ => Some(linalg::NormOrd::P(int(s) as f64)),
            };
            go!(da, ord, ax; one(linalg::norm(&a, ord, ax.as_deref(), false)))
        }
        92 => {
            let a = array(s);
            let da = describe(&a);
            let n = Some(int(s)).filter(|_| s.flag());
            let ax = axis(s, a.ndim());
            let f = s.pick(&[
                fft::fft as fn(&Array, Option<i32>, i32, fft::FftNorm) -> Result<Array>,
                fft::ifft,
                fft::rfft,
                fft::irfft,
            ]);
            go!(da, n, ax; one(f(&a, n, ax, fft::FftNorm::Backward)))
        }
        93 => {
            let a = array(s);
            let da = describe(&a);
            let k = s.draw(3) as usize;
            let sz: Vec<i32> = (0..k).map(|_| int(s)).collect();
            let ax = axes(s, a.ndim());
            let sz = Some(sz).filter(|_| s.flag());
            let ax = Some(ax).filter(|_| s.flag());
            let f = s.pick(&[
                fft::fftn
                    as fn(&Array, Option<&[i32]>, Option<&[i32]>, fft::FftNorm) -> Result<Array>,
                fft::ifftn,
                fft::rfftn,
                fft::irfftn,
            ]);
            go!(da, sz, ax; one(f(&a, sz.as_deref(), ax.as_deref(), fft::FftNorm::Ortho)))
        }
        94 => {
            let (x, w) = (array(s), array(s));
            let d = (describe(&x), describe(&w));
            let (st, p, dl, g) = (int(s), int(s), int(s), int(s));
            let o = ops::ConvOptions::new()
                .with_stride(st)
                .with_padding(p)
                .with_dilation(dl)
                .with_groups(g);
            if s.flag() {
                go!(d, st, p, dl, g; one(ops::conv1d(&x, &w, o)))
            } else {
                let o2 = ops::ConvOptions::new()
                    .with_stride(st)
                    .with_padding(p)
                    .with_dilation(dl)
                    .with_groups(g);
                go!(d, st, p, dl, g; one(ops::conv2d(&x, &w, o2)))
            }
        }
        95 => {
            let (x, w) = (array(s), array(s));
            let d = (describe(&x), describe(&w));
            let (st, p, dl, op_, g) = (int(s), int(s), int(s), int(s), int(s));
            let o = ops::ConvTransposeOptions::new()
                .with_stride(st)
                .with_padding(p)
                .with_dilation(dl)
                .with_output_padding(op_)
                .with_groups(g);
            go!(d, st, p, dl, op_, g; one(ops::conv_transpose1d(&x, &w, o)))
        }
        96 => {
            let w = if s.flag() { matrix(s) } else { array(s) };
            let mode = s.pick(&[
                QuantizationMode::Affine,
                QuantizationMode::Mxfp4,
                QuantizationMode::Mxfp8,
                QuantizationMode::Nvfp4,
            ]);
            let mut o = QuantizeOptions::new(mode);
            if s.flag() {
                o = o.with_group_size(s.pick(&[0, 32, 64, 16, -1, 7, 128, 1 << 20]));
            }
            if s.flag() {
                o = o.with_bits(s.pick(&[4, 8, 0, 2, 3, 5, 6, 33, -1]));
            }
            let dw = describe(&w);
            let od = (o.mode.name(), o.group_size, o.bits);
            let r = ops::quantize(&w, &o);
            match (s.draw(3), r) {
                (0, r) => go!(dw, od; r.map(|q| vec![q.weights, q.scales])),
                (1, Ok(q)) => {
                    let x = array(s);
                    let t = s.flag();
                    let dx = describe(&x);
                    go!(dw, od, dx, t; one(ops::quantized_matmul(&x, &q.weights, &q.scales, q.biases.as_ref(), t, &o)))
                }
                (_, Ok(q)) => go!(dw, od; one(q.dequantize(&o, None))),
                (_, Err(e)) => go!(dw, od; Err(e)),
            }
        }
        97 => {
            let x = array(s);
            let wshape = [s.draw(3) as i32, s.draw(3) as i32];
            let w = array_typed(s, &wshape, Dtype::Uint32);
            let sc = array(s);
            let d = (describe(&x), describe(&w), describe(&sc));
            let o = QuantizeOptions::new(QuantizationMode::Affine)
                .with_group_size(s.pick(&[32, 64, 0]));
            let od = o.group_size;
            go!(d, od; one(ops::gather_qmm(&x, &w, &sc, Some(&sc), None, None, s.flag(), &o, false)))
        }
        98 => {
            let (sh, d) = (
                shape_arg(s),
                s.pick(&[Dtype::Float32, Dtype::Float16, Dtype::Int32]),
            );
            match s.draw(4) {
                0 => go!(sh, d; one(random::uniform(&sh, d, None))),
                1 => go!(sh, d; one(random::normal(&sh, d, None))),
                2 => {
                    let (lo, hi) = (array(s), array(s));
                    let dd = (describe(&lo), describe(&hi));
                    go!(sh, d, dd; one(random::randint(&lo, &hi, &sh, d, None)))
                }
                _ => go!(sh, d; one(random::gumbel(&sh, d, None))),
            }
        }
        99 => {
            let a = array(s);
            let (ax, da) = (axis(s, a.ndim()), describe(&a));
            if s.flag() {
                go!(da, ax; one(random::categorical(&a, ax, None)))
            } else {
                go!(da, ax; one(random::permutation(&a, ax, None)))
            }
        }
        100 => {
            let n = s.draw(3) as usize;
            let xs: Vec<Array> = (0..n).map(|_| array(s)).collect();
            let m = s.draw(3) as usize;
            let ys: Vec<Array> = (0..m).map(|_| array(s)).collect();
            let d = (n, m);
            go!(d; ops::depends(&xs, &ys))
        }
        101 => {
            // grad of sum(f(x)) for a unary f.
            let f = unary[s.draw(unary.len() as u64) as usize];
            let x = float_array(s);
            let dx = describe(&x);
            let mut g = transforms::grad(move |a: &[Array]| f(&a[0])?.sum(None, false), &[0]);
            go!(dx; g(&[x]))
        }
        102 => {
            // vmap of a unary f over a random axis.
            let f = unary[s.draw(unary.len() as u64) as usize];
            let x = array(s);
            let (ia, oa, dx) = (axis(s, x.ndim()), axis(s, x.ndim()), describe(&x));
            let mut v = transforms::vmap(move |a: &[Array]| Ok(vec![f(&a[0])?]), &[ia], &[oa]);
            go!(dx, ia, oa; v(&[x]))
        }
        103 => {
            // checkpoint / custom_vjp with closures returning arbitrary counts and shapes.
            let x = float_array(s);
            let n_out = s.draw(3) as usize;
            let n_cot = s.draw(3) as usize;
            let cot_shape: Vec<i32> = (0..s.draw(3)).map(|_| s.draw(4) as i32).collect();
            let dx = describe(&x);
            let fwd = move |a: &[Array]| -> Result<Vec<Array>> {
                (0..n_out).map(|_| ops::multiply(&a[0], &a[0])).collect()
            };
            let which = s.draw(2);
            let f = if which == 0 {
                transforms::checkpoint(fwd)
            } else {
                let cs = cot_shape.clone();
                transforms::custom_vjp(fwd, move |_: &[Array], _: &[Array], _: &[Array]| {
                    (0..n_cot).map(|_| Array::ones::<f32>(&cs)).collect()
                })
            };
            let f = match f {
                Ok(f) => f,
                Err(e) => return go!(dx; Err(e)),
            };
            let mut g = transforms::grad(
                move |a: &[Array]| {
                    let out = f.call(a)?;
                    match out.first() {
                        Some(o) => o.sum(None, false),
                        None => Array::ones::<f32>(&[]).and_then(|o| o.sum(None, false)),
                    }
                },
                &[0],
            );
            go!(dx, which, n_out, n_cot, cot_shape; g(&[x]))
        }
        104 => {
            let x = float_array(s);
            let shapeless = s.flag();
            let f = unary[s.draw(unary.len() as u64) as usize];
            let dx = describe(&x);
            let c = transforms::compile(move |a: &[Array]| Ok(vec![f(&a[0])?]), shapeless);
            let y = array(s);
            let dy = describe(&y);
            go!(dx, dy, shapeless; c.and_then(|c| {
                let mut out = c.call(&[x])?;
                out.extend(c.call(&[y])?);
                Ok(out)
            }))
        }
        105 => {
            let a = array(s);
            let (d, da) = (dtype(s), describe(&a));
            if s.flag() {
                go!(da, d; one(ops::astype(&a, d)))
            } else {
                go!(da, d; one(ops::view(&a, d)))
            }
        }
        106 => {
            let a = array(s);
            let k = s.draw(4) as usize;
            let sh: Vec<i32> = (0..k).map(|_| dim(s)).collect();
            let st: Vec<i64> = (0..k).map(|_| int(s) as i64).collect();
            let off = s.draw(5) as usize;
            let da = describe(&a);
            go!(da, sh, st, off; one(ops::as_strided(&a, &sh, &st, off)))
        }
        107 => {
            let a = array(s);
            let (ax, p, da) = (opt_axes(s, a.ndim()), s.flag(), describe(&a));
            go!(da, ax, p; one(ops::softmax(&a, ax.as_deref(), p)))
        }
        108 => {
            let (a, lo, hi) = (array(s), array(s), array(s));
            let d = (describe(&a), describe(&lo), describe(&hi));
            go!(d; one(ops::clip(&a, Some(&lo), Some(&hi))))
        }
        109 => {
            let (c, x, y) = (array(s), array(s), array(s));
            let d = (describe(&c), describe(&x), describe(&y));
            go!(d; one(ops::where_(&c, &x, &y)))
        }
        110 => {
            let a = array(s);
            let da = describe(&a);
            let sc = Some(value(s) as f32).filter(|_| s.flag());
            go!(da, sc; one(ops::hadamard_transform(&a, sc)))
        }
        111 => {
            let (a, v) = (array(s), array(s));
            let d = (describe(&a), describe(&v));
            let side = s.pick(&[ops::Side::Left, ops::Side::Right]);
            go!(d, side; one(ops::searchsorted(&a, &v, side)))
        }
        112 => {
            let a = array(s);
            let (n, da) = (int(s), describe(&a));
            go!(da, n; one(a.round(n)))
        }
        113 => {
            let m = int(s);
            let f = s.pick(&[
                ops::hanning as fn(i32) -> Result<Array>,
                ops::hamming,
                ops::bartlett,
                ops::blackman,
            ]);
            go!(m; one(f(m)))
        }
        114 => {
            let a = array(s);
            let (ax, inv, d, da) = (opt_axes(s, a.ndim()), s.flag(), dtype(s), describe(&a));
            go!(da, ax, inv, d; one(ops::number_of_elements(&a, ax.as_deref(), inv, d)))
        }
        115 => {
            let a = array(s);
            let da = describe(&a);
            let bytes = mlx::io::npy_to_bytes(&a);
            go!(da; bytes.and_then(|b| mlx::io::npy_from_bytes(&b)).map(|x| vec![x]))
        }
        116 => {
            let a = array(s);
            let d = dtype(s);
            let da = describe(&a);
            go!(da, d; one(mlx::weak_scalar(int_value(s), d).and_then(|w| ops::add(&a, &w))))
        }
        117 => {
            let a = array(s);
            let (ax, da) = (opt_axes(s, a.ndim()), describe(&a));
            go!(da, ax; one(ops::flip(&a, ax.as_deref())))
        }
        118 => {
            let a = array(s);
            let (ax, keep, da) = (opt_axes(s, a.ndim()), s.flag(), describe(&a));
            match s.draw(3) {
                0 => {
                    let ddof = int(s);
                    go!(da, ax, keep, ddof; one(ops::std(&a, ax.as_deref(), keep, ddof)))
                }
                1 => go!(da, ax, keep; two(ops::minmax(&a, ax.as_deref(), keep))),
                _ => go!(da, ax, keep; one(ops::count_nonzero(&a, ax.as_deref(), keep))),
            }
        }
        // The crate's own CPU kernels.
        119 => {
            let (x, w) = (float_array(s), float_array(s));
            let b = s.flag().then(|| float_array(s));
            let d = (describe(&x), describe(&w), b.as_ref().map(describe));
            let ints = |s: &mut Src| (0..s.draw(4)).map(|_| int(s)).collect::<Vec<_>>();
            let (st, lo, hi, dl) = (ints(s), ints(s), ints(s), ints(s));
            let g = ops::ChannelMajorConv {
                stride: &st,
                padding_lo: &lo,
                padding_hi: &hi,
                dilation: &dl,
            };
            go!(d, st, lo, hi, dl; one(ops::conv_channel_major(&x, &w, b.as_ref(), &g)))
        }
        120 => {
            let x = float_array(s);
            let dx = describe(&x);
            let pair = |s: &mut Src| [int(s), int(s)];
            let w = ops::Windows2d {
                kernel: pair(s),
                stride: pair(s),
                padding: pair(s),
                dilation: pair(s),
                out: pair(s),
            };
            let positions = s.flag();
            go!(dx, w, positions; ops::window_max_2d(&x, &w, positions)
                .map(|(best, at)| std::iter::once(best).chain(at).collect()))
        }
        121 => {
            let a = array(s);
            let da = describe(&a);
            go!(da; one(ops::exp_vectorized(&a)))
        }
        _ => {
            let (a, b) = (array(s), array(s));
            let (ax, da) = (axis(s, a.ndim()), (describe(&a), describe(&b)));
            go!(da, ax; one(linalg::cross(&a, &b, ax)))
        }
    }
}
