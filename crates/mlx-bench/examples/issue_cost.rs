//! What issuing one tiny op costs, layer by layer, on each device MLX has here: an MLX `add`
//! through the `mlx` crate (built and dropped), a chain of 200 of them built and dropped, the
//! same chain evaluated, and Burn's `x + 1.0` on burn-mlx (a chain built and dropped; built and
//! read), with compiled regions off and on. A host-bound step (a small model, a GPU that waits
//! for the host) costs about its op count times these figures; comparing the layers on one host,
//! and one host with another, says whether a slow step is the host's speed, MLX's graph
//! building, or burn-mlx's dispatch.
//!
//! `cargo run --release -p mlx-bench --example issue_cost`
//!
//! `ISSUE_COST_DIVIDE=N` runs N times fewer calls, for an instruction counter
//! (`valgrind --tool=callgrind`), whose counts, unlike times, do not move with a noisy machine.

use std::time::Instant;

use burn::tensor::{Distribution, Tensor};
use burn_mlx::{Mlx, MlxDevice};
use mlx::{Array, Device, ops};

const CHAIN: usize = 200;

/// Median over `rounds` of the mean time per call of `f` over `n` calls, in nanoseconds.
fn median_ns(rounds: usize, n: usize, mut f: impl FnMut()) -> f64 {
    // `ISSUE_COST_DIVIDE=N`: N times fewer calls (under an instruction counter, say).
    let divide = std::env::var("ISSUE_COST_DIVIDE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1);
    let n = (n / divide).max(1);
    let per_call: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    mlx_bench::report::median(&per_call).expect("at least one round")
}

fn mlx_layer(device: Device) -> mlx::Result<()> {
    let stream = mlx::Stream::default_for(device)?;
    mlx::with_stream(stream, || -> mlx::Result<()> {
        let x = Array::ones::<f32>(&[1000])?;
        let one = Array::scalar(1.0f32);
        mlx::eval([&x, &one])?;
        let op = median_ns(9, 20_000, || {
            drop(std::hint::black_box(ops::add(&x, &one).unwrap()))
        });
        let chain_build = median_ns(9, 200, || {
            let mut y = x.clone();
            for _ in 0..CHAIN {
                y = ops::add(&y, &one).unwrap();
            }
            drop(std::hint::black_box(y));
        }) / CHAIN as f64;
        let chain_eval = median_ns(9, 50, || {
            let mut y = x.clone();
            for _ in 0..CHAIN {
                y = ops::add(&y, &one).unwrap();
            }
            mlx::eval([&y]).unwrap();
        }) / CHAIN as f64;
        println!(
            "{:?} mlx: add built+dropped {op:.0} ns; chain built {chain_build:.0} ns/op; \
             chain evaluated {chain_eval:.0} ns/op",
            device.kind
        );
        Ok(())
    })
}

fn burn_layer(device: MlxDevice, compiled: bool) {
    burn_mlx::compile::set_enabled(compiled);
    let x = Tensor::<Mlx, 1>::random([1000], Distribution::Default, &device);
    let build = |read: bool| {
        let x = x.clone();
        move || {
            let mut y = x.clone();
            for _ in 0..CHAIN {
                y = y + 1.0;
            }
            if read {
                std::hint::black_box(y.narrow(0, 0, 1).into_scalar());
            } else {
                drop(std::hint::black_box(y));
            }
        }
    };
    // Warm the region cache and MLX's kernels before timing.
    median_ns(1, 20, build(true));
    let built = median_ns(9, 100, build(false)) / CHAIN as f64;
    let read = median_ns(9, 50, build(true)) / CHAIN as f64;
    println!(
        "{device:?} burn-mlx{}: x + 1.0 built {built:.0} ns/op; chain read {read:.0} ns/op",
        if compiled { " compiled" } else { "" }
    );
}

fn main() -> mlx::Result<()> {
    let mut devices = vec![(Device::cpu(), MlxDevice::Cpu)];
    if Device::gpu().is_available() {
        devices.push((Device::gpu(), MlxDevice::Gpu));
    }
    for (device, burn_device) in devices {
        mlx_layer(device)?;
        burn_layer(burn_device, false);
        burn_layer(burn_device, true);
    }
    Ok(())
}
