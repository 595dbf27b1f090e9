//! Helpers shared by the integration tests: value comparison and finite-difference gradient
//! checks. Include with `mod common;`.
#![allow(dead_code)]

use mlx::transforms;
use mlx::{Array, Dtype, Result};

/// The array's values as f64, whatever its real dtype. The cast runs on the CPU, so that this
/// works where the default device is a GPU (which refuses float64); the array is computed on
/// its own stream first, so that no lazy edge runs from a GPU stream to the CPU's.
pub fn values(a: &Array) -> Vec<f64> {
    a.eval().unwrap();
    let cpu = mlx::Stream::default_for(mlx::Device::cpu()).unwrap();
    mlx::with_stream(cpu, || a.astype(Dtype::Float64))
        .unwrap()
        .to_vec::<f64>()
        .unwrap()
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

/// [`sample`] as float32, made from data (a cast on a GPU would read float64, which GPUs refuse).
pub fn sample_f32(shape: &[i32], seed: u64, lo: f64, hi: f64) -> Array {
    let data: Vec<f32> = values(&sample(shape, seed, lo, hi))
        .iter()
        .map(|v| *v as f32)
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

/// Whether python3 can import numpy and mlx. Without them, tests that compare with Python MLX
/// print a note and check closed forms only; with `MLX_TEST_REQUIRE_PYTHON=1` (CI) their absence
/// is a failure.
pub fn python_mlx_available() -> bool {
    static READY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *READY.get_or_init(|| {
        std::process::Command::new("python3")
            .args(["-c", "import numpy, mlx.core"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    });
    if !ok {
        if std::env::var("MLX_TEST_REQUIRE_PYTHON").as_deref() == Ok("1") {
            panic!("MLX_TEST_REQUIRE_PYTHON=1 but python3 cannot import numpy and mlx");
        }
        eprintln!("note: python3 with numpy and mlx is not available; skipping the Python check");
    }
    ok
}

/// Runs `body` in Python MLX and returns the arrays it leaves in the dict `out`; `None` when
/// Python MLX is not available (see [`python_mlx_available`]).
///
/// The script starts with `mx` (`mlx.core`), `nn` (`mlx.nn`), `optim` (`mlx.optimizers`),
/// `tree_flatten`/`tree_unflatten` (`mlx.utils`), the dict `inp` of `inputs` (read from a
/// safetensors file, so no float64) and an empty dict `out`. Helpers defined there:
/// `load(module, prefix)` loads the inputs named `prefix.*` into `module` as its weights
/// (strictly: names and shapes must match the module's), and `params(module, prefix)` stores
/// the module's parameters in `out` under `prefix.`.
pub fn python_mlx(
    body: &str,
    inputs: &[(&str, &Array)],
) -> Option<std::collections::HashMap<String, Array>> {
    if !python_mlx_available() {
        return None;
    }
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "mlx-python-oracle-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let input_path = dir.join("in.safetensors");
    let output_path = dir.join("out.safetensors");
    let map: std::collections::HashMap<String, Array> = inputs
        .iter()
        .map(|(k, a)| (k.to_string(), (*a).clone()))
        .collect();
    mlx::io::save_safetensors(&input_path, &map, &Default::default()).unwrap();
    let script = format!(
        "import sys\nimport mlx.core as mx\nimport mlx.nn as nn\nimport mlx.optimizers as optim\n\
         from mlx.utils import tree_flatten, tree_unflatten\n\
         inp = mx.load(sys.argv[1])\nout = {{}}\n\
         def load(module, prefix):\n    \
             pre = prefix + '.'\n    \
             module.load_weights([(k[len(pre):], v) for k, v in inp.items() if k.startswith(pre)], strict=True)\n    \
             return module\n\
         def params(module, prefix):\n    \
             for k, v in tree_flatten(module.parameters()):\n        \
                 out[prefix + '.' + k] = v\n\
         {body}\n\
         mx.save_safetensors(sys.argv[2], {{k: mx.array(v) for k, v in out.items()}})\n"
    );
    let result = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .arg(&input_path)
        .arg(&output_path)
        .output()
        .expect("running python3");
    let read = if result.status.success() {
        Some(mlx::io::load_safetensors(&output_path).map(|(arrays, _)| arrays))
    } else {
        None
    };
    let _ = std::fs::remove_dir_all(&dir);
    match read {
        Some(Ok(arrays)) => Some(arrays),
        _ => panic!(
            "the Python MLX script failed\n{script}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        ),
    }
}

/// MLX's message of a call that must fail with an error from MLX.
pub fn mlx_err<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Err(mlx::Error::Mlx(m)) => m,
        other => panic!("expected an error from MLX, got {other:?}"),
    }
}

/// MLX's message of an error that must come from MLX.
pub fn mlx_message(e: mlx::Error) -> String {
    mlx_err(Err::<(), _>(e))
}

/// Asserts the call fails in MLX with a message containing `needle`.
pub fn assert_err<T: std::fmt::Debug>(r: Result<T>, needle: &str) {
    let m = mlx_err(r);
    assert!(m.contains(needle), "message {m:?} lacks {needle:?}");
}

/// The multi-index of the row-major flat index `i` in `shape`.
pub fn unravel(mut i: usize, shape: &[i32]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        let n = shape[d] as usize;
        idx[d] = i % n;
        i /= n;
    }
    idx
}
