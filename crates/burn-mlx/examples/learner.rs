//! Burn's `Learner` training the digit CNN of the `mnist` example, on `Autodiff<Mlx>` or, for
//! comparison, on burn-ndarray: data-loader worker threads, loss and accuracy metrics, a
//! checkpoint per epoch, unchanged Burn code. At the end it prints the held-out accuracy, the
//! time, and the process's peak resident memory.
//!
//! ```text
//! cargo run --release -p burn-mlx-array --example learner
//! cargo run --release -p burn-mlx-array --example learner -- --backend ndarray --epochs 2
//! cargo run --release -p burn-mlx-array --example learner -- --memory-limit 24
//! ```
//!
//! The digits are those of the `mnist` example (downloaded once, 4.9 MB, or `--mnist-dir`).

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

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use burn::backend::Autodiff;
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::InMemDataset;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::AdamConfig;
use burn::prelude::*;
use burn::record::CompactRecorder;
use burn::tensor::backend::AutodiffBackend;
use burn::train::metric::{AccuracyMetric, LossMetric, MetricDefinition};
use burn::train::renderer::{
    EvaluationName, EvaluationProgress, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining, ProgressType, TrainingProgress,
};
use burn::train::{
    ClassificationOutput, InferenceStep, Learner, SupervisedTraining, TrainOutput, TrainStep,
};

use data::{Digits, Source};
use model::{Cnn, CnnConfig};

const USAGE: &str = "\
Train the digit CNN with burn-train's Learner and report peak memory.

Usage: cargo run --release -p burn-mlx-array --example learner -- [OPTIONS]

Options:
  --backend mlx|ndarray   Autodiff<Mlx> (default) or Autodiff<NdArray>
  --epochs N              passes over the training set        [default: 3]
  --batch-size N          images per step                     [default: 64]
  --workers N             data-loader worker threads          [default: 2]
  --memory-limit MB       cap MLX's memory (mlx::memory::set_memory_limit): MLX
                          waits for finished work to free its buffers before it
                          runs more, for a lower peak at some speed
  --mnist-dir DIR         the standard MNIST IDX files instead of the download
  -h, --help              this text";

/// A batch of images and their classes.
#[derive(Clone, Debug)]
struct Batch<B: Backend> {
    images: Tensor<B, 4>,
    labels: Tensor<B, 1, Int>,
}

/// Builds batches from image indices, on the data loader's worker threads.
#[derive(Clone)]
struct Stack(Arc<Digits>);

impl<B: Backend> Batcher<B, usize, Batch<B>> for Stack {
    fn batch(&self, indices: Vec<usize>, device: &B::Device) -> Batch<B> {
        let (images, labels) = self.0.batch(&indices, device);
        Batch { images, labels }
    }
}

/// The CNN with the Learner's step traits.
#[derive(Module, Debug)]
struct Classifier<B: Backend> {
    cnn: Cnn<B>,
}

impl<B: Backend> Classifier<B> {
    fn classify(&self, batch: Batch<B>) -> ClassificationOutput<B> {
        let logits = self.cnn.forward(batch.images);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.labels.clone());
        ClassificationOutput::new(loss, logits, batch.labels)
    }
}

impl<B: AutodiffBackend> TrainStep for Classifier<B> {
    type Input = Batch<B>;
    type Output = ClassificationOutput<B>;

    fn step(&self, batch: Batch<B>) -> TrainOutput<ClassificationOutput<B>> {
        let item = self.classify(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl<B: Backend> InferenceStep for Classifier<B> {
    type Input = Batch<B>;
    type Output = ClassificationOutput<B>;

    fn step(&self, batch: Batch<B>) -> ClassificationOutput<B> {
        self.classify(batch)
    }
}

/// One line per finished training or validation pass, instead of a line per batch.
struct EpochLines(Instant);

impl EpochLines {
    fn report(&self, phase: &str, item: &TrainingProgress) {
        if item
            .progress
            .as_ref()
            .is_some_and(|p| p.items_processed == p.items_total)
        {
            println!(
                "epoch {}/{}: {phase} pass done at {:.1} s",
                item.global_progress.items_processed,
                item.global_progress.items_total,
                self.0.elapsed().as_secs_f64()
            );
        }
    }
}

impl MetricsRendererTraining for EpochLines {
    fn update_train(&mut self, _state: MetricState) {}
    fn update_valid(&mut self, _state: MetricState) {}
    fn render_train(&mut self, item: TrainingProgress, _: Vec<ProgressType>) {
        self.report("training", &item);
    }
    fn render_valid(&mut self, item: TrainingProgress, _: Vec<ProgressType>) {
        self.report("validation", &item);
    }
}

impl MetricsRendererEvaluation for EpochLines {
    fn render_test(&mut self, _item: EvaluationProgress, _: Vec<ProgressType>) {}
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}
}

impl MetricsRenderer for EpochLines {
    fn manual_close(&mut self) {}
    fn register_metric(&mut self, _definition: MetricDefinition) {}
}

struct Args {
    backend: String,
    epochs: usize,
    batch_size: usize,
    workers: usize,
    memory_limit_mb: Option<usize>,
    source: Source,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        backend: "mlx".into(),
        epochs: 3,
        batch_size: 64,
        workers: 2,
        memory_limit_mb: None,
        source: Source::Npm {
            cache_dir: data::default_cache_dir(),
        },
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if matches!(flag.as_str(), "-h" | "--help") {
            return Ok(None);
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let count = |v: &str| {
            v.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{flag}: `{v}` is not a positive count"))
        };
        match flag.as_str() {
            "--backend" if matches!(value.as_str(), "mlx" | "ndarray") => args.backend = value,
            "--backend" => return Err(format!("--backend: `{value}` is not mlx or ndarray")),
            "--epochs" => args.epochs = count(&value)?,
            "--batch-size" => args.batch_size = count(&value)?,
            "--workers" => args.workers = count(&value)?,
            "--memory-limit" => args.memory_limit_mb = Some(count(&value)?),
            "--mnist-dir" => args.source = Source::Idx(PathBuf::from(value)),
            _ => return Err(format!("unknown option `{flag}`")),
        }
    }
    if args.memory_limit_mb.is_some() && args.backend != "mlx" {
        return Err("--memory-limit applies to the mlx backend only".into());
    }
    Ok(Some(args))
}

/// Trains with the Learner on backend `B`; returns the held-out accuracy.
fn train<B: AutodiffBackend>(device: &B::Device, args: &Args, data: data::Dataset) -> f64 {
    B::seed(device, 42);
    let dir = std::env::temp_dir().join(format!("burn-mlx-learner-{}", std::process::id()));
    let (train, test) = (Arc::new(data.train), Arc::new(data.test));
    let indices = |d: &Digits| InMemDataset::new((0..d.len()).collect::<Vec<usize>>());
    let train_loader = DataLoaderBuilder::new(Stack(train.clone()))
        .batch_size(args.batch_size)
        .shuffle(7)
        .num_workers(args.workers)
        .build(indices(&train));
    let valid_loader = DataLoaderBuilder::new(Stack(test.clone()))
        .batch_size(256)
        .num_workers(args.workers)
        .build(indices(&test));

    let model = Classifier {
        cnn: CnnConfig::new().init::<B>(device),
    };
    let learner = Learner::new(model, AdamConfig::new().init(), 2e-3);
    let result = SupervisedTraining::new(&dir, train_loader, valid_loader)
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .metric_valid_numeric(AccuracyMetric::new())
        .with_file_checkpointer(CompactRecorder::new())
        .with_application_logger(None)
        .renderer(EpochLines(Instant::now()))
        .num_epochs(args.epochs)
        .launch(learner);
    let _ = std::fs::remove_dir_all(&dir);

    // Held-out accuracy of the trained model (the Learner returns it on the inner backend).
    let model = result.model;
    let all: Vec<usize> = (0..test.len()).collect();
    let correct: usize = all
        .chunks(256)
        .map(|chunk| {
            let (images, labels) = test.batch::<B::InnerBackend>(chunk, device);
            let predicted = model.cnn.forward(images).argmax(1).flatten::<1>(0, 1);
            predicted
                .equal(labels)
                .int()
                .sum()
                .into_scalar()
                .elem::<i64>() as usize
        })
        .sum();
    correct as f64 / test.len() as f64
}

/// The process's peak resident set (VmHWM), in MB, where the system reports it.
fn peak_resident_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() -> ExitCode {
    cli::main(USAGE, parse_args(), run)
}

fn run(args: Args) -> data::Result<()> {
    let data = data::load(&args.source)?;
    println!("data: {}", data.description);
    let started = Instant::now();
    let (name, accuracy) = if args.backend == "ndarray" {
        let device = burn_ndarray::NdArrayDevice::Cpu;
        let name = "burn-ndarray".to_string();
        (
            name,
            train::<Autodiff<burn_ndarray::NdArray>>(&device, &args, data),
        )
    } else {
        let device = burn_mlx::MlxDevice::default();
        let mut name = format!("burn-mlx ({device:?})");
        if let Some(mb) = args.memory_limit_mb {
            let bytes = mb
                .checked_mul(1 << 20)
                .ok_or_else(|| format!("--memory-limit: {mb} MB is too large"))?;
            mlx::memory::set_memory_limit(bytes).map_err(|e| format!("--memory-limit: {e}"))?;
            name.push_str(&format!(", MLX memory limit {mb} MB"));
        }
        (name, train::<Autodiff<burn_mlx::Mlx>>(&device, &args, data))
    };
    println!(
        "{name}: {} epochs in {:.1} s, held-out accuracy {:.2}%, peak resident memory {}",
        args.epochs,
        started.elapsed().as_secs_f64(),
        accuracy * 100.0,
        peak_resident_mb().map_or("unknown".into(), |mb| format!("{mb:.0} MB"))
    );
    Ok(())
}
