//! Times an n×n float32 matmul on the CPU (median of several runs), e.g.
//! `cargo run --release -p mlx-array --example bench_matmul -- 1024 20`.
//! `cargo xtask bench matmul` runs it beside Python MLX, with and without OpenBLAS.

use std::time::Instant;

use mlx::{Device, Dtype, ops};

fn main() -> mlx::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: i32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let iters: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    Device::cpu().set_default()?;
    // Deterministic, non-trivial inputs.
    let a = ops::astype(
        &ops::arange(0.0, f64::from(n * n), 1.0, Dtype::Float32)?,
        Dtype::Float32,
    )?
    .reshape(&[n, n])?;
    let a = &(&a * 1e-6) - 0.5;
    let b = a.t()?;
    mlx::eval([&a, &b])?;
    let mut times = Vec::with_capacity(iters);
    for i in 0..iters + 2 {
        let start = Instant::now();
        a.matmul(&b)?.eval()?;
        if i >= 2 {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "matmul n={n} median_ms={median:.3} blas={}",
        mlx::build_info::blas()
    );
    Ok(())
}
