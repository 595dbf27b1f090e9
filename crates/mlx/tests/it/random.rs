//! `mlx::random`: determinism, shapes and dtypes, values against Python MLX for fixed keys, and
//! distribution checks on large samples.

use crate::common;
use common::assert_err;

use common::{assert_close, values};
use mlx::{Array, Dtype, random};

fn k(seed: u64) -> Array {
    random::key(seed).unwrap()
}

fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var)
}

fn f32s(shape: &[i32], v: f32) -> Array {
    Array::full::<f32>(shape, v).unwrap()
}

const N: i32 = 100_000;

// ---- keys and determinism -----------------------------------------------------------------------

#[test]
fn keys_hold_the_two_halves_of_the_seed() {
    let key = random::key(42).unwrap();
    assert_eq!(key.dtype(), Dtype::Uint32);
    assert_eq!(key.to_vec::<u32>().unwrap(), vec![0, 42]);
    assert_eq!(
        random::key((1 << 32) + 2).unwrap().to_vec::<u32>().unwrap(),
        vec![1, 2]
    );
}

#[test]
fn split_keys_match_mlx_and_differ() {
    let (a, b) = random::split(&k(1)).unwrap();
    assert_eq!(a.shape(), &[2]);
    assert_eq!(a.to_vec::<u32>().unwrap(), vec![2441914641, 1384938218]);
    assert_eq!(b.to_vec::<u32>().unwrap(), vec![3819641963, 2025898573]);
    let three = random::split_n(&k(1), 3).unwrap();
    assert_eq!(three.shape(), &[3, 2]);
    assert_eq!(
        three.to_vec::<u32>().unwrap(),
        vec![
            3568232559, 713140391, 3620866055, 2761185182, 2442350529, 2639019713
        ]
    );
    assert_err(
        random::split(&Array::from_slice(&[1u32, 2, 3], &[3]).unwrap()),
        "[bits] Expected key shape (2) but received (3)",
    );
}

#[test]
fn samplers_match_python_mlx_for_a_fixed_key() {
    // Values printed by Python MLX 0.32.4 with mx.random.key(1).
    let key = k(1);
    let f = Dtype::Float32;
    assert_close(
        &random::uniform(&[3], f, Some(&key)).unwrap(),
        &[0.568552553653717, 0.2586038112640381, 0.8893296718597412],
        1e-6,
        0.0,
    );
    assert_close(
        &random::uniform_range(
            &Array::from(-2.0f32),
            &Array::from(4.0f32),
            &[3],
            f,
            Some(&key),
        )
        .unwrap(),
        &[1.4113154411315918, -0.4483771324157715, 3.3359780311584473],
        1e-6,
        1e-6,
    );
    assert_close(
        &random::normal(&[3], f, Some(&key)).unwrap(),
        &[0.17269034683704376, -0.6476556658744812, 1.2229710817337036],
        1e-5,
        1e-6,
    );
    assert_close(
        &random::normal_with(
            &[3],
            f,
            &Array::from(2.0f32),
            &Array::from(3.0f32),
            Some(&key),
        )
        .unwrap(),
        &[2.518070936203003, 0.05703294277191162, 5.668912887573242],
        1e-5,
        1e-5,
    );
    let ri = random::randint(
        &Array::from(0i32),
        &Array::from(100i32),
        &[4],
        Dtype::Int32,
        Some(&key),
    )
    .unwrap();
    assert_eq!(ri.to_vec::<i32>().unwrap(), vec![56, 32, 88, 47]);
    assert_eq!(
        random::permutation_n(6, Some(&key))
            .unwrap()
            .to_vec::<u32>()
            .unwrap(),
        vec![1, 4, 5, 3, 0, 2]
    );
    let logits = Array::from_slice(&[0.1f32.ln(), 0.2f32.ln(), 0.7f32.ln()], &[3]).unwrap();
    assert_eq!(
        random::categorical_n(&logits, -1, 6, Some(&key))
            .unwrap()
            .to_vec::<u32>()
            .unwrap(),
        vec![2, 1, 2, 2, 2, 2]
    );
    assert_eq!(
        random::bernoulli(&Array::from(0.5f32), Some(&[6]), Some(&key))
            .unwrap()
            .to_vec::<bool>()
            .unwrap(),
        vec![false, true, false, false, false, false]
    );
    assert_close(
        &random::gumbel(&[3], f, Some(&key)).unwrap(),
        &[0.5715288519859314, -0.3019237518310547, 2.1431288719177246],
        1e-5,
        1e-6,
    );
    assert_close(
        &random::laplace(&[3], f, 0.0, 1.0, Some(&key)).unwrap(),
        &[
            -0.14746245741844177,
            0.6593107581138611,
            -1.5080525875091553,
        ],
        1e-5,
        1e-6,
    );
    assert_close(
        &random::truncated_normal(
            &Array::from(-1.0f32),
            &Array::from(1.0f32),
            Some(&[3]),
            f,
            Some(&key),
        )
        .unwrap(),
        &[0.1175808310508728, -0.42559537291526794, 0.7250562906265259],
        1e-5,
        1e-6,
    );
}

#[test]
fn same_key_same_values_and_different_keys_differ() {
    let a = random::normal(&[64], Dtype::Float32, Some(&k(3))).unwrap();
    let b = random::normal(&[64], Dtype::Float32, Some(&k(3))).unwrap();
    assert_eq!(a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
    let c = random::normal(&[64], Dtype::Float32, Some(&k(4))).unwrap();
    assert_ne!(a.to_vec::<f32>().unwrap(), c.to_vec::<f32>().unwrap());
    let (k1, k2) = random::split(&k(3)).unwrap();
    let u1 = random::uniform(&[64], Dtype::Float32, Some(&k1))
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let u2 = random::uniform(&[64], Dtype::Float32, Some(&k2))
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let u0 = random::uniform(&[64], Dtype::Float32, Some(&k(3)))
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert_ne!(u1, u2);
    assert_ne!(u0, u1);
    assert_ne!(u0, u2);
}

#[test]
fn seed_resets_this_threads_global_sequence() {
    random::seed(42).unwrap();
    let first = random::uniform(&[3], Dtype::Float32, None)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let second = random::uniform(&[3], Dtype::Float32, None)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert_ne!(first, second, "successive draws differ");
    // Python MLX: mx.random.seed(42); mx.random.uniform(shape=(3,)).
    let want = [0.2851702570915222, 0.6119449138641357, 0.17565257847309113];
    for (g, w) in first.iter().zip(want) {
        assert!((f64::from(*g) - w).abs() < 1e-6, "{first:?}");
    }
    random::seed(42).unwrap();
    let again = random::uniform(&[3], Dtype::Float32, None)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert_eq!(first, again);
    // Another thread has its own sequence: seeding it does not disturb this one.
    random::seed(42).unwrap();
    std::thread::spawn(|| {
        random::seed(7).unwrap();
        random::uniform(&[3], Dtype::Float32, None)
            .unwrap()
            .eval()
            .unwrap();
    })
    .join()
    .unwrap();
    let after = random::uniform(&[3], Dtype::Float32, None)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert_eq!(first, after);
}

// ---- bits ---------------------------------------------------------------------------------------

#[test]
fn bits_of_each_width() {
    for (width, dtype) in [(4, Dtype::Uint32), (2, Dtype::Uint16), (1, Dtype::Uint8)] {
        let b = random::bits(&[4, 5], width, Some(&k(9))).unwrap();
        assert_eq!(b.dtype(), dtype);
        assert_eq!(b.shape(), &[4, 5]);
        let again = random::bits(&[4, 5], width, Some(&k(9))).unwrap();
        assert_eq!(values(&b), values(&again));
    }
    // Bytes are spread over the whole range.
    let bytes = random::bits(&[N], 1, Some(&k(10)))
        .unwrap()
        .to_vec::<u8>()
        .unwrap();
    let (mean, _) = mean_var(&bytes.iter().map(|&b| f64::from(b)).collect::<Vec<_>>());
    assert!((mean - 127.5).abs() < 1.0, "{mean}");
    assert!(bytes.contains(&0) && bytes.contains(&255));
    assert_err(
        random::bits(&[2], 3, Some(&k(1))),
        "[bits] Bit width must be in {1, 2, 4} but got 3",
    );
    assert_err(
        random::bits(&[2], 4, Some(&Array::from_slice(&[1i32, 2], &[2]).unwrap())),
        "[bits] Expected key type uint32 but received int32",
    );
}

// ---- continuous distributions -------------------------------------------------------------------

#[test]
fn uniform_samples_lie_in_range_with_the_right_moments() {
    for dtype in [Dtype::Float16, Dtype::Bfloat16, Dtype::Float32] {
        let u = random::uniform(&[N], dtype, Some(&k(11))).unwrap();
        assert_eq!(u.dtype(), dtype);
        let v = values(&u);
        assert!(v.iter().all(|x| (0.0..1.0).contains(x)), "{dtype}");
        let (mean, var) = mean_var(&v);
        assert!((mean - 0.5).abs() < 0.01, "{dtype}: mean {mean}");
        assert!((var - 1.0 / 12.0).abs() < 0.005, "{dtype}: var {var}");
    }
    // Per-column bounds broadcast to the shape: [N/10, 2] with columns in [-3, -1) and [10, 20).
    let low = Array::from_slice(&[-3.0f32, 10.0], &[2]).unwrap();
    let high = Array::from_slice(&[-1.0f32, 20.0], &[2]).unwrap();
    let u = random::uniform_range(&low, &high, &[N / 10, 2], Dtype::Float32, Some(&k(12))).unwrap();
    let v = values(&u);
    let col0: Vec<f64> = v.iter().step_by(2).copied().collect();
    let col1: Vec<f64> = v.iter().skip(1).step_by(2).copied().collect();
    assert!(col0.iter().all(|x| (-3.0..-1.0).contains(x)));
    assert!(col1.iter().all(|x| (10.0..20.0).contains(x)));
    assert!((mean_var(&col0).0 + 2.0).abs() < 0.05);
    assert!((mean_var(&col1).0 - 15.0).abs() < 0.2);
    // A float64 bound is converted to the requested dtype.
    let u = random::uniform_range(
        &Array::from(1.0f64),
        &Array::from(2.0f64),
        &[8],
        Dtype::Float32,
        Some(&k(1)),
    )
    .unwrap();
    assert_eq!(u.dtype(), Dtype::Float32);
    let e = random::uniform(&[0, 3], Dtype::Float32, None).unwrap();
    assert_eq!(e.shape(), &[0, 3]);
    e.eval().unwrap();
    assert_err(
        random::uniform(&[3], Dtype::Int32, None),
        "[uniform] Can only generate uniform numbers with real floating point type",
    );
    assert_err(
        random::uniform_range(
            &f32s(&[4], 0.0),
            &Array::from(1.0f32),
            &[3],
            Dtype::Float32,
            None,
        ),
        "cannot be broadcast",
    );
}

#[test]
fn normal_samples_have_the_requested_moments() {
    for dtype in [
        Dtype::Float16,
        Dtype::Bfloat16,
        Dtype::Float32,
        Dtype::Float64,
    ] {
        let x = random::normal(&[N], dtype, Some(&k(13))).unwrap();
        assert_eq!(x.dtype(), dtype);
        let (mean, var) = mean_var(&values(&x));
        assert!(mean.abs() < 0.02, "{dtype}: mean {mean}");
        assert!((var - 1.0).abs() < 0.03, "{dtype}: var {var}");
    }
    let x = random::normal_with(
        &[N],
        Dtype::Float32,
        &Array::from(2.0f32),
        &Array::from(3.0f32),
        Some(&k(14)),
    )
    .unwrap();
    let (mean, var) = mean_var(&values(&x));
    assert!((mean - 2.0).abs() < 0.05, "{mean}");
    assert!((var - 9.0).abs() < 0.25, "{var}");
    // Array-valued loc broadcasts: two columns with means -5 and 5.
    let loc = Array::from_slice(&[-5.0f32, 5.0], &[2]).unwrap();
    let x = random::normal_with(
        &[N / 10, 2],
        Dtype::Float32,
        &loc,
        &Array::from(1.0f32),
        Some(&k(15)),
    )
    .unwrap();
    let v = values(&x);
    assert!((mean_var(&v.iter().step_by(2).copied().collect::<Vec<_>>()).0 + 5.0).abs() < 0.05);
    assert!(
        (mean_var(&v.iter().skip(1).step_by(2).copied().collect::<Vec<_>>()).0 - 5.0).abs() < 0.05
    );
    // complex64: independent parts of variance 1/2.
    let z = random::normal(&[N], Dtype::Complex64, Some(&k(16))).unwrap();
    assert_eq!(z.dtype(), Dtype::Complex64);
    let zs = z.to_vec::<mlx::Complex32>().unwrap();
    let re: Vec<f64> = zs.iter().map(|c| f64::from(c.re)).collect();
    let im: Vec<f64> = zs.iter().map(|c| f64::from(c.im)).collect();
    assert!((mean_var(&re).1 - 0.5).abs() < 0.02);
    assert!((mean_var(&im).1 - 0.5).abs() < 0.02);
    assert_err(
        random::normal(&[3], Dtype::Int32, None),
        "[normal] Only floating point and complex64 types are supported",
    );
}

#[test]
fn multivariate_normal_matches_mean_and_covariance() {
    let mean = Array::from_slice(&[1.0f32, -2.0], &[2]).unwrap();
    let cov = Array::from_slice(&[2.0f32, 0.6, 0.6, 1.0], &[2, 2]).unwrap();
    let x = random::multivariate_normal(&mean, &cov, &[N], Dtype::Float32, Some(&k(17))).unwrap();
    assert_eq!(x.shape(), &[N, 2]);
    let v = values(&x);
    let a: Vec<f64> = v.iter().step_by(2).copied().collect();
    let b: Vec<f64> = v.iter().skip(1).step_by(2).copied().collect();
    let (ma, va) = mean_var(&a);
    let (mb, vb) = mean_var(&b);
    let cab = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - ma) * (y - mb))
        .sum::<f64>()
        / a.len() as f64;
    assert!(
        (ma - 1.0).abs() < 0.03 && (mb + 2.0).abs() < 0.03,
        "{ma} {mb}"
    );
    assert!(
        (va - 2.0).abs() < 0.06 && (vb - 1.0).abs() < 0.03,
        "{va} {vb}"
    );
    assert!((cab - 0.6).abs() < 0.03, "{cab}");
    let same =
        random::multivariate_normal(&mean, &cov, &[N], Dtype::Float32, Some(&k(17))).unwrap();
    assert_eq!(values(&same)[..10], v[..10]);
    assert_err(
        random::multivariate_normal(&mean, &cov, &[3], Dtype::Float64, None),
        "[multivariate_normal] dtype must be float32",
    );
    assert_err(
        random::multivariate_normal(
            &mean,
            &Array::eye::<f32>(3).unwrap(),
            &[3],
            Dtype::Float32,
            None,
        ),
        "[multivariate_normal] mean and cov must have compatible shapes",
    );
}

#[test]
fn truncated_normal_stays_within_bounds() {
    let x = random::truncated_normal(
        &Array::from(-1.0f32),
        &Array::from(1.0f32),
        Some(&[N]),
        Dtype::Float32,
        Some(&k(18)),
    )
    .unwrap();
    let v = values(&x);
    assert!(v.iter().all(|x| (-1.0..=1.0).contains(x)));
    // Standard normal truncated to [-1, 1]: mean 0, variance 1 - 2 φ(1) / (Φ(1) - Φ(-1)).
    let phi1 = (-0.5f64).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let want_var = 1.0 - 2.0 * phi1 / 0.682_689_492_137_085_9;
    let (mean, var) = mean_var(&v);
    assert!(mean.abs() < 0.01, "{mean}");
    assert!((var - want_var).abs() < 0.01, "{var} vs {want_var}");
    // Asymmetric, array-valued bounds; shape from the bounds.
    let lower = Array::from_slice(&[0.0f32, -2.0, 1.5], &[3]).unwrap();
    let upper = Array::from_slice(&[0.5f32, -1.0, 3.0], &[3]).unwrap();
    let x = random::truncated_normal(&lower, &upper, None, Dtype::Float32, Some(&k(19))).unwrap();
    assert_eq!(x.shape(), &[3]);
    let x = random::truncated_normal(
        &lower,
        &upper,
        Some(&[1000, 3]),
        Dtype::Float16,
        Some(&k(20)),
    )
    .unwrap();
    assert_eq!(x.dtype(), Dtype::Float16);
    let v = values(&x);
    for (i, val) in v.iter().enumerate() {
        let (lo, hi) = [(0.0, 0.5), (-2.0, -1.0), (1.5, 3.0)][i % 3];
        assert!(
            *val >= lo - 1e-3 && *val <= hi + 1e-3,
            "{val} not in [{lo}, {hi}]"
        );
    }
    assert_err(
        random::truncated_normal(
            &Array::from(-1.0f32),
            &Array::from(1.0f32),
            Some(&[3]),
            Dtype::Int32,
            None,
        ),
        "[trunc_normal] trunc_normal only accepts floating point dtypes",
    );
}

#[test]
fn gumbel_and_laplace_moments() {
    let g = values(&random::gumbel(&[N], Dtype::Float32, Some(&k(21))).unwrap());
    let (mean, var) = mean_var(&g);
    let euler = 0.577_215_664_901_532_9;
    assert!((mean - euler).abs() < 0.02, "{mean}");
    assert!(
        (var - std::f64::consts::PI.powi(2) / 6.0).abs() < 0.05,
        "{var}"
    );
    let l = values(&random::laplace(&[N], Dtype::Float32, 1.5, 0.5, Some(&k(22))).unwrap());
    let (mean, var) = mean_var(&l);
    assert!((mean - 1.5).abs() < 0.01, "{mean}");
    assert!((var - 0.5).abs() < 0.02, "{var}");
    let l = random::laplace(&[4], Dtype::Float64, 0.0, 1.0, Some(&k(1))).unwrap();
    assert_eq!(l.dtype(), Dtype::Float64);
    assert_err(
        random::gumbel(&[3], Dtype::Int32, None),
        "[uniform] Can only generate uniform numbers with real floating point type",
    );
    assert_err(
        random::laplace(&[3], Dtype::Int32, 0.0, 1.0, None),
        "[laplace] Only real floating point types are supported",
    );
}

// ---- discrete distributions ---------------------------------------------------------------------

#[test]
fn randint_covers_its_range_for_integer_dtypes() {
    for dtype in [Dtype::Int32, Dtype::Int64, Dtype::Uint8, Dtype::Int8] {
        let (lo, hi) = if dtype == Dtype::Uint8 {
            (3i32, 9i32)
        } else {
            (-4, 6)
        };
        let x = random::randint(
            &Array::from(lo),
            &Array::from(hi),
            &[N / 10],
            dtype,
            Some(&k(23)),
        )
        .unwrap();
        assert_eq!(x.dtype(), dtype);
        let v = values(&x);
        let mut counts = vec![0usize; (hi - lo) as usize];
        for val in &v {
            assert!(
                *val >= f64::from(lo) && *val < f64::from(hi),
                "{dtype}: {val}"
            );
            counts[(*val as i32 - lo) as usize] += 1;
        }
        let expect = v.len() as f64 / counts.len() as f64;
        for c in counts {
            assert!(
                (c as f64 - expect).abs() < 0.1 * expect,
                "{dtype}: count {c} vs {expect}"
            );
        }
    }
    let b = random::randint(
        &Array::from(0i32),
        &Array::from(2i32),
        &[1000],
        Dtype::Bool,
        Some(&k(24)),
    )
    .unwrap();
    assert_eq!(b.dtype(), Dtype::Bool);
    assert_err(
        random::randint(
            &Array::from(0i32),
            &Array::from(5i32),
            &[3],
            Dtype::Float32,
            None,
        ),
        "[randint] randint only accepts integer dtypes and bool",
    );
}

#[test]
fn bernoulli_frequency_and_shapes() {
    let b = random::bernoulli(&Array::from(0.3f32), Some(&[N]), Some(&k(25))).unwrap();
    assert_eq!(b.dtype(), Dtype::Bool);
    let freq = b.to_vec::<bool>().unwrap().iter().filter(|x| **x).count() as f64 / f64::from(N);
    assert!((freq - 0.3).abs() < 0.01, "{freq}");
    // p of shape [4] sets the shape when none is given; p = 0 and 1 are certain.
    let p = Array::from_slice(&[0.0f32, 1.0, 0.0, 1.0], &[4]).unwrap();
    let b = random::bernoulli(&p, None, Some(&k(26))).unwrap();
    assert_eq!(b.to_vec::<bool>().unwrap(), vec![false, true, false, true]);
    let b = random::bernoulli(&p, Some(&[3, 4]), Some(&k(26))).unwrap();
    assert_eq!(b.shape(), &[3, 4]);
    assert_eq!(
        b.to_vec::<bool>().unwrap(),
        [false, true, false, true].repeat(3)
    );
    assert_err(
        random::bernoulli(
            &Array::from_slice(&[0.5f32, 0.5], &[2]).unwrap(),
            Some(&[3]),
            None,
        ),
        "cannot be broadcast",
    );
}

#[test]
fn categorical_frequencies_and_shapes() {
    let probs = [0.1f32, 0.2, 0.7];
    let logits = Array::from_slice(&probs.map(f32::ln), &[1, 3]).unwrap();
    let s = random::categorical_n(&logits, -1, N, Some(&k(27))).unwrap();
    assert_eq!(s.shape(), &[1, N]);
    assert_eq!(s.dtype(), Dtype::Uint32);
    let v = s.to_vec::<u32>().unwrap();
    for (c, p) in probs.iter().enumerate() {
        let freq = v.iter().filter(|x| **x == c as u32).count() as f64 / f64::from(N);
        assert!((freq - f64::from(*p)).abs() < 0.01, "class {c}: {freq}");
    }
    // One sample per distribution; distributions along axis 0 of a [3, 2] array.
    let peaked =
        Array::from_slice(&[-100.0f32, 0.0, 0.0, -100.0, -100.0, -100.0], &[3, 2]).unwrap();
    let one = random::categorical(&peaked, 0, Some(&k(28))).unwrap();
    assert_eq!(one.shape(), &[2]);
    assert_eq!(one.to_vec::<u32>().unwrap(), vec![1, 0]);
    let shaped = random::categorical_shape(&peaked, 0, &[5, 2], Some(&k(29))).unwrap();
    assert_eq!(shaped.shape(), &[5, 2]);
    assert_eq!(shaped.to_vec::<u32>().unwrap(), [1, 0].repeat(5));
    assert_err(
        random::categorical(&peaked, 2, None),
        "[categorical] Invalid axis 2 for logits with 2 dimensions",
    );
    assert_err(
        random::categorical_shape(&peaked, 0, &[5, 3], None),
        "cannot be broadcast",
    );
}

#[test]
fn permutations_are_permutations() {
    let p = random::permutation_n(1000, Some(&k(30))).unwrap();
    assert_eq!(p.dtype(), Dtype::Uint32);
    let mut v = p.to_vec::<u32>().unwrap();
    assert_ne!(
        v,
        (0..1000).collect::<Vec<_>>(),
        "a shuffle moves something"
    );
    v.sort();
    assert_eq!(v, (0..1000).collect::<Vec<_>>());
    assert_eq!(random::permutation_n(0, None).unwrap().shape(), &[0]);
    // Rows of a matrix (axis 0) and columns (axis 1, given as -1) move as wholes.
    let m = Array::arange::<i32>(40).unwrap().reshape(&[10, 4]).unwrap();
    let rows = random::permutation(&m, 0, Some(&k(31)))
        .unwrap()
        .to_vec::<i32>()
        .unwrap();
    let mut firsts: Vec<i32> = rows.chunks(4).map(|r| r[0]).collect();
    for r in rows.chunks(4) {
        assert_eq!(r, &[r[0], r[0] + 1, r[0] + 2, r[0] + 3]);
    }
    firsts.sort();
    assert_eq!(firsts, (0..10).map(|i| i * 4).collect::<Vec<_>>());
    let cols = random::permutation(&m, -1, Some(&k(32)))
        .unwrap()
        .to_vec::<i32>()
        .unwrap();
    let order: Vec<i32> = cols[..4].to_vec();
    for (i, r) in cols.chunks(4).enumerate() {
        let shifted: Vec<i32> = order.iter().map(|c| c + 4 * i as i32).collect();
        assert_eq!(r, &shifted[..]);
    }
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(sorted, vec![0, 1, 2, 3]);
    // Through a transpose, and with a float dtype.
    let t = Array::arange::<f32>(6)
        .unwrap()
        .reshape(&[2, 3])
        .unwrap()
        .t()
        .unwrap();
    let shuffled = random::permutation(&t, 0, Some(&k(33))).unwrap();
    let mut rows: Vec<Vec<i64>> = values(&shuffled)
        .chunks(2)
        .map(|r| r.iter().map(|x| *x as i64).collect())
        .collect();
    rows.sort();
    assert_eq!(rows, vec![vec![0, 3], vec![1, 4], vec![2, 5]]);
    assert!(random::permutation(&m, 2, None).is_err());
}
