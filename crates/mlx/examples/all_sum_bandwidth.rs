//! The bandwidth of `all_sum` between the processes of a job, for messages of 1 MB to 256 MB:
//!
//! ```sh
//! cargo build --release -p mlx-array --example all_sum_bandwidth --bin mlx-launch
//! target/release/mlx-launch -n 2 -- target/release/examples/all_sum_bandwidth   # ring, CPU
//! target/release/mlx-launch -n 2 --backend nccl -- target/release/examples/all_sum_bandwidth --gpu
//! ```
//!
//! Rank 0 prints, per size, the median time of an `all_sum` of a float32 array and two
//! bandwidths: the algorithm bandwidth (bytes / time) and the bus bandwidth (algorithm
//! bandwidth × 2(n−1)/n, what each link carries in a ring all-reduce; the figure NCCL's tests
//! report). Every result is checked: the sum of the ranks' `rank + 1` fills.

use std::time::Instant;

use mlx::distributed::{self, Backend, Group};
use mlx::{Array, Device, Dtype};

fn main() -> mlx::Result<()> {
    let gpu = std::env::args().any(|a| a == "--gpu");
    let device = if gpu { Device::gpu() } else { Device::cpu() };
    device.set_default()?;
    let group = Group::init(true, if gpu { Backend::Nccl } else { Backend::Ring })?;
    let (rank, n) = (group.rank(), group.size());
    let expected = (n * (n + 1) / 2) as f32;
    if rank == 0 {
        println!(
            "all_sum over {n} processes ({}), float32, median of 5 after 2 warm-ups",
            if gpu { "nccl" } else { "ring" }
        );
        println!(
            "{:>8} {:>10} {:>14} {:>14}",
            "MB", "ms", "algo GB/s", "bus GB/s"
        );
    }
    for mb in [1usize, 4, 16, 64, 256] {
        let len = (mb << 20) / 4;
        let x = mlx::ops::full(
            &[len as i32],
            &Array::scalar((rank + 1) as f32),
            Dtype::Float32,
        )?;
        x.eval()?;
        let mut times = Vec::new();
        for i in 0..7 {
            let start = Instant::now();
            let y = distributed::all_sum(&x, Some(&group))?;
            y.eval()?;
            let elapsed = start.elapsed().as_secs_f64();
            if i == 0 {
                let first = mlx::ops::slice(&y, &[0], &[1], &[1])?.item::<f32>()?;
                assert_eq!(first, expected, "all_sum result");
            }
            if i >= 2 {
                times.push(elapsed);
            }
        }
        times.sort_by(f64::total_cmp);
        let t = times[times.len() / 2];
        let algo = (mb << 20) as f64 / t / 1e9;
        let bus = algo * 2.0 * f64::from(n - 1) / f64::from(n);
        if rank == 0 {
            println!("{mb:>8} {:>10.3} {algo:>14.2} {bus:>14.2}", t * 1e3);
        }
    }
    Ok(())
}
