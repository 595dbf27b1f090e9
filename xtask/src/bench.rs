//! `cargo xtask bench matmul [N]`: an N×N float32 matmul on the CPU through the `mlx` crate and
//! through Python MLX (the same MLX release), each with the reference BLAS bundled in MLX's
//! wheel and with the system OpenBLAS, measured in one run.
//!
//! `cargo xtask bench train [STEPS [BATCH]]`: burn-mlx's bounded-memory benchmark (the
//! `bench_training` example): memory and step time over a long `Autodiff<Mlx>` training loop,
//! beside burn-ndarray.
//!
//! `cargo xtask bench peers [ARGS]`: `cargo run --release -p mlx-bench -- peers [ARGS]`, the
//! side-by-side benchmark of burn-mlx against native MLX (eager and compiled), burn-ndarray,
//! burn-cuda and PyTorch: a table of medians with ratios, and a bar chart
//! (`target/bench-peers.png`). `ARGS` are mlx-bench's (`--device cpu|gpu`, `--steps N`,
//! `--only CASE,...`, `--help`).
//!
//! `cargo xtask bench census [ARGS]`: `mlx-bench census [ARGS]`, the MLX primitives of one
//! training step on burn-mlx beside native MLX eager.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::root;

/// The MLX release that mlx-sys provisions, for the Python side of the comparisons.
const MLX_VERSION: &str = "0.32.4";

const PY_BENCH: &str = r#"
import sys, time, statistics
import mlx.core as mx
n, iters = int(sys.argv[1]), int(sys.argv[2])
mx.set_default_device(mx.cpu)
a = (mx.arange(n * n, dtype=mx.float32) * 1e-6 - 0.5).reshape(n, n)
b = a.T
mx.eval(a, b)
times = []
for i in range(iters + 2):
    t = time.perf_counter()
    mx.eval(a @ b)
    if i >= 2:
        times.append((time.perf_counter() - t) * 1e3)
print(f"median_ms={statistics.median(times):.3f}")
"#;

/// burn-ndarray, the CPU peer, in its fastest configuration. The workspace leaves its `simd`
/// feature off (it is burn-mlx's test oracle, and its SIMD code is approximate on some CPUs), so
/// the benchmarks turn it on for themselves.
const NDARRAY_SIMD: &str = "burn-ndarray/simd";

pub fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("matmul") => matmul(args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1024)),
        Some("train") => {
            let mut cmd = vec![
                "run",
                "--release",
                "-p",
                "burn-mlx-array",
                "--example",
                "bench_training",
                "--features",
                NDARRAY_SIMD,
                "--",
            ];
            cmd.extend(args[1..].iter().map(String::as_str));
            crate::cargo(&cmd)
        }
        Some(command @ ("peers" | "census")) => {
            let mut cmd = vec![
                "run",
                "--release",
                "-p",
                "mlx-bench",
                "--features",
                NDARRAY_SIMD,
                "--",
                command,
            ];
            cmd.extend(args[1..].iter().map(String::as_str));
            let python = native_mlx_python(&args[1..]);
            if let Some(python) = &python {
                cmd.extend(["--python", python.to_str().ok_or("non-UTF-8 target path")?]);
            }
            crate::cargo(&cmd)
        }
        _ => Err(
            "usage: cargo xtask bench matmul [N] | bench train [STEPS [BATCH]] | \
             bench peers [ARGS] | bench census [ARGS]"
                .into(),
        ),
    }
}

fn matmul(n: usize) -> Result<(), String> {
    let iters = if n <= 1024 { 10 } else { 3 };
    let openblas = find_openblas().ok_or(
        "the system OpenBLAS is needed for the comparison (apt-get install libopenblas-dev)",
    )?;
    let python = python_with_mlx()?;
    println!(
        "{n}x{n} float32 matmul on the CPU, median of {iters} runs ({} cores)\n",
        cores()
    );
    let rust_openblas = rust_bench(n, iters, None)?;
    let rust_reference = rust_bench(n, iters, Some("bench-reference-blas"))?;
    let py_reference = python_bench(&python, n, iters, None)?;
    let py_openblas = python_bench(&python, n, iters, Some(&openblas))?;
    println!(
        "{:<34} {:>10} {:>16}",
        "configuration", "ms", "vs Python MLX"
    );
    let row = |name: &str, ms: f64, peer: f64| {
        println!("{name:<34} {ms:>10.2} {:>15.2}x", ms / peer);
    };
    row(
        "mlx crate, bundled reference BLAS",
        rust_reference,
        py_reference,
    );
    row(
        "Python MLX, bundled reference BLAS",
        py_reference,
        py_reference,
    );
    row("mlx crate, system OpenBLAS", rust_openblas, py_openblas);
    row(
        "Python MLX, OpenBLAS (LD_PRELOAD)",
        py_openblas,
        py_openblas,
    );
    println!(
        "\nOpenBLAS speed-up for the mlx crate: {:.1}x",
        rust_reference / rust_openblas
    );
    Ok(())
}

/// Builds and runs the bench_matmul example; `target_dir` separates the build without OpenBLAS.
fn rust_bench(n: usize, iters: usize, target_dir: Option<&str>) -> Result<f64, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "run",
        "--quiet",
        "--release",
        "-p",
        "mlx-array",
        "--example",
        "bench_matmul",
        "--",
    ])
    .args([n.to_string(), iters.to_string()])
    .current_dir(root());
    if let Some(dir) = target_dir {
        cmd.env("MLX_SYS_NO_OPENBLAS", "1")
            .env("CARGO_TARGET_DIR", root().join("target").join(dir));
    }
    parse_median(&output(&mut cmd)?)
}

fn python_bench(
    python: &Path,
    n: usize,
    iters: usize,
    preload: Option<&Path>,
) -> Result<f64, String> {
    let mut cmd = Command::new(python);
    cmd.args(["-c", PY_BENCH, &n.to_string(), &iters.to_string()]);
    if let Some(lib) = preload {
        cmd.env("LD_PRELOAD", lib);
    }
    parse_median(&output(&mut cmd)?)
}

/// The interpreter for the native-MLX side of `bench peers`/`census` on a Linux CPU when the
/// user named none: `python3` if it imports MLX, else the pinned CPU build of MLX in a virtual
/// environment under target/ (made on first use), so that a fresh machine gets the comparison
/// without setup. `None` leaves the choice to mlx-bench (`--python`, `$MLX_BENCH_PYTHON`, or a
/// GPU run, where the CPU build of MLX would be the wrong peer; on macOS `pip install mlx`).
fn native_mlx_python(args: &[String]) -> Option<PathBuf> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let named =
        args.iter().any(|a| a == "--python") || std::env::var_os("MLX_BENCH_PYTHON").is_some();
    // The device mlx-bench will use: the one named; unnamed, it takes the GPU when MLX has
    // one, so a machine with an NVIDIA GPU is left alone (`--device cpu` gets the venv there).
    let device = args
        .windows(2)
        .find(|w| w[0] == "--device")
        .map(|w| w[1].as_str());
    let gpu = match device {
        Some(device) => device != "cpu",
        None => Path::new("/dev/nvidiactl").exists(),
    };
    let system_has_mlx = Command::new("python3")
        .args(["-c", "import mlx.core"])
        .output()
        .is_ok_and(|o| o.status.success());
    if named || gpu || system_has_mlx {
        return None;
    }
    eprintln!("python3 has no MLX: using Python MLX {MLX_VERSION} (CPU) from target/xtask-venv");
    match python_with_mlx() {
        Ok(python) => Some(python),
        // Without it the run still times every other peer (mlx-bench says native MLX was
        // skipped, and why).
        Err(e) => {
            eprintln!("could not set up Python MLX ({e}); native MLX will be skipped");
            None
        }
    }
}

/// A virtual environment under target/ with Python MLX of the pinned version.
fn python_with_mlx() -> Result<PathBuf, String> {
    let venv = root().join("target/xtask-venv");
    let python = venv.join("bin/python");
    let check = Command::new(&python)
        .args(["-c", "import mlx.core"])
        .output();
    if check.is_ok_and(|o| o.status.success()) {
        return Ok(python);
    }
    output(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    output(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        &format!("mlx[cpu]=={MLX_VERSION}"),
    ]))?;
    Ok(python)
}

fn find_openblas() -> Option<PathBuf> {
    [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
    ]
    .iter()
    .map(|d| Path::new(d).join("libopenblas.so.0"))
    .find(|p| p.exists())
}

fn output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn parse_median(text: &str) -> Result<f64, String> {
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("median_ms="))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no median in output: {text}"))
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
