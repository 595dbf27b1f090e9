//! Random calls over the `mlx` crate's public API, looking for inputs that kill the process
//! (a signal, an abort), hang, or give an array with an impossible shape. Driven by
//! `cargo xtask fuzz`, which runs batches of calls in child processes, catches their deaths and
//! shrinks a failing call to a minimal one.
//!
//! ```text
//! fuzz run SEED FIRST COUNT   calls FIRST..FIRST+COUNT of SEED; before each call prints
//!                             `B <index> <choices>`, after it `E <index> ok|err|bad <what>`
//! fuzz replay CHOICES         the one call the choice list describes (the same lines)
//! ```
//!
//! A call is drawn from a list of choices (numbers). Recorded while running, the list replays
//! the same call; lowering or removing entries gives simpler calls, which is how `xtask fuzz`
//! shrinks: every draw maps 0 to its simplest option and reads missing entries as 0.

mod calls;
mod draw;

use std::panic::{AssertUnwindSafe, catch_unwind};

use mlx::{Array, Result, transforms};

use calls::call;
use draw::{Src, emit};

/// Whether an array's shape is possible: no negative dimension, a size that fits.
fn shape_ok(a: &Array) -> bool {
    let mut n: i64 = 1;
    for &d in a.shape() {
        if d < 0 {
            return false;
        }
        match n.checked_mul(i64::from(d)) {
            Some(m) => n = m,
            None => return false,
        }
    }
    n as usize == a.size()
}

/// Runs one call and classifies it: `ok`, `err`, `bad <what>` (an impossible shape or a panic).
/// With `show`, prints the call's description once it is built (before evaluating it).
fn run_one(s: &mut Src, show: bool) -> String {
    let (desc, outcome) = match catch_unwind(AssertUnwindSafe(|| call(s))) {
        Ok(x) => x,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|m| m.to_string()))
                .unwrap_or_default();
            return format!("bad panic: {msg}");
        }
    };
    if show {
        emit(&format!("\nD {desc}"));
    }
    match outcome {
        Err(e) => format!("err {}", e.message().lines().next().unwrap_or("")),
        Ok(arrays) => {
            if let Some(a) = arrays.iter().find(|a| !shape_ok(a)) {
                format!("bad shape {:?} size {}", a.shape(), a.size())
            } else {
                // Evaluate and read back: most traps happen in the kernels.
                // Every fourth call is evaluated through a compiled region (compiled at once:
                // `main` sets the threshold to 1, and no fused kernels, so no C++ compiler runs).
                let compiled = s.draw(4) == 3;
                let read = catch_unwind(AssertUnwindSafe(|| -> Result<()> {
                    if compiled {
                        mlx::region::eval(arrays.iter())?;
                    } else {
                        mlx::eval(arrays.iter())?;
                    }
                    for a in &arrays {
                        if a.nbytes() <= 1 << 24 {
                            a.to_bytes()?;
                        }
                    }
                    Ok(())
                }));
                match read {
                    Ok(Ok(())) => "ok".to_string(),
                    Ok(Err(e)) => format!("err {}", e.message().lines().next().unwrap_or("")),
                    Err(_) => "bad panic while reading the result".to_string(),
                }
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Arrays past this many bytes are refused (an Err), which keeps every call quick.
    let limit: usize = std::env::var("MLX_FUZZ_MEMORY_LIMIT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256 << 20);
    mlx::memory::set_memory_limit(limit).expect("setting the memory limit");
    mlx::Device::cpu().set_default().expect("the CPU device");
    mlx::region::set_options(16, 1 << 16, 1).expect("region options");
    transforms::set_compile_mode(transforms::CompileMode::NoFuse).expect("compile mode");
    match args.first().map(String::as_str) {
        Some("run") => {
            let num = |i: usize| -> u64 { args[i].parse().expect("a number") };
            let (seed, first, count) = (num(1), num(2), num(3));
            for i in first..first + count {
                emit(&format!("B {i} "));
                let verdict = run_one(&mut Src::seeded(seed, i), false);
                emit(&format!("\nE {i} {verdict}\n"));
            }
        }
        Some("replay") => {
            let choices: Vec<u64> = args
                .get(1)
                .map(|t| {
                    t.split(',')
                        .filter(|x| !x.is_empty())
                        .map(|x| x.parse().expect("a number"))
                        .collect()
                })
                .unwrap_or_default();
            emit("B 0 ");
            let verdict = run_one(&mut Src::replaying(choices), true);
            emit(&format!("\nE 0 {verdict}\n"));
        }
        _ => {
            eprintln!("usage: fuzz run SEED FIRST COUNT | fuzz replay CHOICES");
            std::process::exit(2);
        }
    }
}
