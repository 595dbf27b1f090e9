//! Helpers shared by the integration tests: value comparison and finite-difference gradient
//! checks. Include with `mod common;`.
#![allow(dead_code)]

use mlx::transforms;
use mlx::{Array, Dtype, Result};

/// The array's values as f64, whatever its real dtype.
pub fn values(a: &Array) -> Vec<f64> {
    a.astype(Dtype::Float64).unwrap().to_vec::<f64>().unwrap()
}

/// Asserts `|got - want| <= atol + rtol * |want|` elementwise (NaNs must match NaNs).
pub fn assert_close(got: &Array, want: &[f64], rtol: f64, atol: f64) {
    let g = values(got);
    assert_eq!(g.len(), want.len(), "length: got {g:?}, want {want:?}");
    for (i, (x, y)) in g.iter().zip(want).enumerate() {
        let ok = (x.is_nan() && y.is_nan()) || (x == y) || (x - y).abs() <= atol + rtol * y.abs();
        assert!(
            ok,
            "element {i}: got {x}, want {y}\n got  {g:?}\n want {want:?}"
        );
    }
}

/// Asserts two arrays have the same shape and close values.
pub fn assert_arrays_close(got: &Array, want: &Array, rtol: f64, atol: f64) {
    assert_eq!(got.shape(), want.shape(), "shapes differ");
    assert_close(got, &values(want), rtol, atol);
}

/// Checks the gradient of the scalar function `f` with respect to input `argnum` against central
/// finite differences. Use float64 inputs where the op supports them (CPU), so `eps` can be small.
pub fn check_grad(
    f: impl Fn(&[Array]) -> Result<Array>,
    inputs: &[Array],
    argnum: usize,
    eps: f64,
    tol: f64,
) {
    let analytic = transforms::grad(|x: &[Array]| f(x), &[argnum as i32])(inputs).unwrap();
    let analytic = values(&analytic[0]);
    let x = &inputs[argnum];
    let base = values(x);
    let shape = x.shape().to_vec();
    let dtype = x.dtype();
    let eval_at = |data: &[f64]| -> f64 {
        let moved = Array::from_slice(data, &shape)
            .unwrap()
            .astype(dtype)
            .unwrap();
        let mut args = inputs.to_vec();
        args[argnum] = moved;
        f(&args)
            .unwrap()
            .astype(Dtype::Float64)
            .unwrap()
            .item::<f64>()
            .unwrap()
    };
    for i in 0..base.len() {
        let mut plus = base.clone();
        plus[i] += eps;
        let mut minus = base.clone();
        minus[i] -= eps;
        let numeric = (eval_at(&plus) - eval_at(&minus)) / (2.0 * eps);
        let err = (numeric - analytic[i]).abs();
        assert!(
            err <= tol * (1.0 + numeric.abs()),
            "d/dx[{i}]: analytic {} vs numeric {numeric} (inputs {base:?})",
            analytic[i]
        );
    }
}

/// A deterministic pseudo-random float64 array in [lo, hi) (tests must not depend on MLX's RNG
/// to build their inputs).
pub fn sample(shape: &[i32], seed: u64, lo: f64, hi: f64) -> Array {
    let n: i32 = shape.iter().product();
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let data: Vec<f64> = (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            lo + (hi - lo) * unit
        })
        .collect();
    Array::from_slice(&data, shape).unwrap()
}

/// Runs `body` in a child process: this test binary re-executed on the one test `test_name`
/// (which must be the name of the calling test). A crash of MLX (a signal, an abort) then fails
/// this test with the signal instead of killing the whole test run; a panic in `body` fails it
/// like any test failure.
pub fn in_child(test_name: &str, body: impl FnOnce()) {
    const VAR: &str = "MLX_TEST_IN_CHILD";
    if std::env::var(VAR).as_deref() == Ok(test_name) {
        body();
        return;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = std::process::Command::new(exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(VAR, test_name)
        .output()
        .expect("re-running the test binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = out.status.signal() {
            panic!("{test_name}: the child process died of signal {signal}\n{text}");
        }
    }
    assert!(
        out.status.success(),
        "{test_name}: the child failed ({})\n{text}",
        out.status
    );
    assert!(
        text.contains("1 passed"),
        "{test_name}: the child ran no test\n{text}"
    );
}

/// The message of an error, asserting it mentions every one of `parts`.
pub fn err_with(result: Result<impl std::fmt::Debug>, parts: &[&str]) -> String {
    let e = result.expect_err("expected an error");
    let m = e.to_string();
    for p in parts {
        assert!(m.contains(p), "error {m:?} does not mention {p:?}");
    }
    m
}
