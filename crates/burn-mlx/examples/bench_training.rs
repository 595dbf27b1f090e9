//! Bounded memory and steady step time over a long training loop.
//!
//! Trains an MLP (784 → 256 → 256 → 10, Adam) for 10,000 steps with `Autodiff<Mlx>` and reads
//! nothing in between, the hardest case for a lazy backend: without an evaluation policy every
//! step's graph would stay alive. At a few checkpoints it reports MLX's active memory, the
//! process's resident memory and the mean step time of the preceding window, beside the same loop
//! on burn-ndarray (the peer, measured in the same run).
//!
//! `cargo run --release -p burn-mlx-array --example bench_training [-- STEPS [BATCH]]`

use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use burn_autodiff::Autodiff;
use burn_mlx::{Mlx, MlxDevice};
use burn_ndarray::{NdArray, NdArrayDevice};

#[derive(Module, Debug)]
struct Mlp<B: Backend> {
    hidden1: Linear<B>,
    hidden2: Linear<B>,
    output: Linear<B>,
    relu: Relu,
}

impl<B: Backend> Mlp<B> {
    fn new(device: &B::Device) -> Self {
        Mlp {
            hidden1: LinearConfig::new(784, 256).init(device),
            hidden2: LinearConfig::new(256, 256).init(device),
            output: LinearConfig::new(256, 10).init(device),
            relu: Relu::new(),
        }
    }

    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let h = self.relu.forward(self.hidden1.forward(x));
        let h = self.relu.forward(self.hidden2.forward(h));
        self.output.forward(h)
    }
}

/// One measurement window ending at `step`.
struct Checkpoint {
    step: usize,
    ms_per_step: f64,
    mlx_active_mb: f64,
    rss_mb: f64,
}

fn resident_mb() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / 1e6
}

/// A small xorshift generator: the same inputs and labels for both backends.
fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// A fixed pool of synthetic input batches (values in [0, 1)), cycled through.
fn inputs<B: Backend>(device: &B::Device, batch: usize) -> Vec<Tensor<B, 2>> {
    let mut next = xorshift(0x2545_f491_4f6c_dd1d);
    (0..8)
        .map(|_| {
            let x: Vec<f32> = (0..batch * 784)
                .map(|_| (next() % 1000) as f32 / 1000.0)
                .collect();
            Tensor::from_data(TensorData::new(x, [batch, 784]), device)
        })
        .collect()
}

/// Trains for `steps` steps, reading nothing but at the checkpoints.
fn run<B: AutodiffBackend>(
    device: &B::Device,
    steps: usize,
    batch: usize,
    checkpoints: &[usize],
) -> (Vec<Checkpoint>, f32) {
    B::seed(device, 1);
    let data = inputs::<B>(device, batch);
    // Fresh random labels every step: nothing to memorize, so the loss stays near ln 10 and
    // the gradients keep their size all along. (With a few memorized batches the loss falls to
    // zero and the gradients toward float32's subnormal range, where x86 arithmetic is slow, so
    // late step times would depend on the data rather than on the backend.)
    let mut next_label = xorshift(0x9e37_79b9_7f4a_7c15);
    let mut model = Mlp::<B>::new(device);
    let mut optimizer = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let mut results = Vec::new();
    let mut window_start = Instant::now();
    let mut window_first = 1;
    let mut last_loss = 0.0;
    for step in 1..=steps {
        let x = data[step % data.len()].clone();
        let labels: Vec<i64> = (0..batch).map(|_| (next_label() % 10) as i64).collect();
        let y = Tensor::<B, 1, Int>::from_data(TensorData::new(labels, [batch]), device);
        let loss = loss_fn.forward(model.forward(x), y);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(1e-3, model, grads);
        if checkpoints.contains(&step) {
            last_loss = loss.into_scalar().elem::<f32>();
            B::sync(device).expect("sync");
            let elapsed = window_start.elapsed().as_secs_f64();
            results.push(Checkpoint {
                step,
                ms_per_step: elapsed * 1e3 / (step + 1 - window_first) as f64,
                mlx_active_mb: mlx::memory::active_memory() as f64 / 1e6,
                rss_mb: resident_mb(),
            });
            window_start = Instant::now();
            window_first = step + 1;
        }
    }
    (results, last_loss)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let steps: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let batch: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let checkpoints: Vec<usize> = [100, 1_000, 5_000, 10_000, steps]
        .into_iter()
        .filter(|c| *c <= steps)
        .collect();
    let device = MlxDevice::default();
    println!(
        "MLP 784-256-256-10, Adam, batch {batch}, {steps} steps, nothing read between checkpoints; \
         {device}, graph depth bound {}",
        burn_mlx::eval::max_graph_depth()
    );

    let (mlx, mlx_loss) = run::<Autodiff<Mlx>>(&device, steps, batch, &checkpoints);
    let (ndarray, nd_loss) =
        run::<Autodiff<NdArray>>(&NdArrayDevice::Cpu, steps, batch, &checkpoints);

    println!(
        "\n{:>7} {:>14} {:>12} {:>12} {:>16} {:>10}",
        "step", "MLX active MB", "RSS MB", "Mlx ms/step", "ndarray ms/step", "ratio"
    );
    for (m, n) in mlx.iter().zip(&ndarray) {
        println!(
            "{:>7} {:>14.1} {:>12.1} {:>12.3} {:>16.3} {:>9.2}x",
            m.step,
            m.mlx_active_mb,
            m.rss_mb,
            m.ms_per_step,
            n.ms_per_step,
            m.ms_per_step / n.ms_per_step
        );
    }
    println!("\nfinal loss: Mlx {mlx_loss:.4}, ndarray {nd_loss:.4}");
    if let (Some(first), Some(last)) = (mlx.first(), mlx.last()) {
        println!(
            "step {} vs step {}: MLX active memory x{:.2}, step time x{:.2}",
            last.step,
            first.step,
            last.mlx_active_mb / first.mlx_active_mb.max(1e-9),
            last.ms_per_step / first.ms_per_step
        );
    }
    if burn_mlx::compile::is_enabled() {
        println!("compiled execution: {:?}", burn_mlx::compile::stats());
    }
}
