//! Maintainer tasks for the workspace, run as `cargo xtask <task>`:
//!
//! - `bindings [--check]`: regenerate crates/mlx-sys/src/bindings.rs from mlxc's header, or fail
//!   if the committed file is stale. Needs libclang (LIBCLANG_PATH, or `pip install libclang`).
//! - `mlx`: which MLX the build uses, from where, its version, devices and BLAS.
//! - `bench matmul [N]`: N×N matmul through the `mlx` crate vs Python MLX, with and without
//!   OpenBLAS.
//! - `bench train [STEPS [BATCH]]`: memory and step time over a long `Autodiff<Mlx>` training
//!   loop, beside burn-ndarray.
//! - `bench peers [ARGS]`: burn-mlx beside native MLX (eager and `mx.compile`d), burn-ndarray,
//!   burn-cuda and PyTorch on the same models and ops; a table and a bar chart (the `mlx-bench`
//!   crate; `bench peers --help` lists its options).
//! - `bench census [ARGS]`: the MLX primitives of one training step, burn-mlx beside native MLX
//!   eager.
//! - `burn-coverage [--list]`: every method of the Burn backend traits, native in burn-mlx or
//!   left to Burn's default, and whether burn-mlx's tests name it.
//! - `fuzz [--seconds N] [--seed S]... [--timeout T] [--address-space-mb M]`: random calls over
//!   the `mlx` crate's API in child processes; reports (shrunk) calls that abort, hang or give
//!   an impossible shape.
//! - `coverage [--missing] [--prefix DIR]`: which public functions of MLX's C++ headers the
//!   `mlx` crate exposes, and why the others are not.
//! - `release [--execute] [--allow-dirty]`: checks a release end to end (versions, changelogs,
//!   git, `cargo package`, a build and test of the packaged crates, crates.io); `--execute` then
//!   publishes the crates in dependency order and tags `v<version>` (see `release.rs`).

mod bench;
mod bindings;
mod burn_coverage;
mod coverage;
mod fuzz;
mod release;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bindings") => bindings::run(args.iter().any(|a| a == "--check")),
        Some("mlx") => cargo(&["run", "--quiet", "-p", "mlx-array", "--example", "mlx_info"]),
        Some("bench") => bench::run(&args[1..]),
        Some("coverage") => coverage::run(&args[1..]),
        Some("burn-coverage") => burn_coverage::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("release") => release::run(&args[1..]),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <task>
  bindings [--check]   regenerate (or check) crates/mlx-sys/src/bindings.rs
  mlx                  show the MLX in use: source, version, devices, BLAS
  bench matmul [N]     time an NxN matmul vs Python MLX, with and without OpenBLAS
  bench train [STEPS [BATCH]]
                       memory and step time of a long Autodiff<Mlx> training loop vs ndarray
  bench peers [--device cpu|gpu] [--steps N] [--only CASE,...] [...]
                       burn-mlx vs native MLX (eager, compiled), burn-ndarray, burn-cuda and
                       PyTorch: table of medians and ratios, target/bench-peers.png
                       (`bench peers --help` lists every option)
  bench census [--device cpu|gpu] [--only CASE,...] [--shapes tiny]
                       the MLX primitives of one training step, burn-mlx beside native MLX

  coverage [--prefix DIR] [--missing]
                       which MLX C++ functions the mlx crate exposes (--missing: only gaps)
  fuzz [--seconds N] [--seed S]... [--batch B] [--timeout T] [--address-space-mb M]
                       random calls over the mlx API in child processes; fails on any
                       abort, hang or impossible shape, each shrunk to a minimal call
  burn-coverage [--list]
                       the Burn backend trait methods burn-mlx implements natively, and
                       which its tests name (--list: every method, not only the untested)
  release [--execute] [--allow-dirty]
                       dry run of a release: versions agree, changelog entries, clean tree,
                       cargo package, build + test of the packaged crates, crates.io checks;
                       --execute then publishes in dependency order and tags v<version>";

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs cargo in the workspace root.
pub fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed", args.join(" ")))
    }
}
