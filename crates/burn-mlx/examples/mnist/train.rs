//! The training loop and evaluation, generic over the backend.

use std::time::Instant;

use burn::lr_scheduler::LrScheduler;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::module::AutodiffModule;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use indicatif::{ProgressBar, ProgressStyle};

use crate::data::{Dataset, Digits};
use crate::model::{Cnn, CnnConfig};
use crate::rng::SplitMix64;

/// Images per forward pass when evaluating (no gradients, so this can be large).
const EVAL_BATCH: usize = 500;

/// Hyper-parameters of a run.
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub seed: u64,
}

/// Numbers collected while training, for the summary and the plot.
#[derive(Default)]
pub struct History {
    /// Training loss of every optimizer step, in order.
    pub step_losses: Vec<f32>,
    /// One entry per epoch.
    pub epochs: Vec<EpochStats>,
}

pub struct EpochStats {
    /// Fraction of evaluation images classified correctly after the epoch.
    pub accuracy: f32,
}

/// Trains a fresh [`Cnn`] on `data.train`, evaluating on `data.test` after each epoch.
pub fn train<B: AutodiffBackend>(
    device: &B::Device,
    data: &Dataset,
    config: &TrainConfig,
) -> (Cnn<B::InnerBackend>, History) {
    B::seed(device, config.seed);
    let mut model = CnnConfig::new().init::<B>(device);
    let mut optimizer = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let mut shuffler = SplitMix64::new(config.seed);

    println!(
        "model: {} parameters; Adam, learning rate {} with cosine decay, batch size {}, {} epochs",
        model.parameter_count(),
        config.learning_rate,
        config.batch_size,
        config.epochs
    );

    let mut order: Vec<usize> = (0..data.train.len()).collect();
    let steps_per_epoch = order.len().div_ceil(config.batch_size);
    // The learning rate follows half a cosine from `learning_rate` down to a fiftieth of it.
    let mut schedule = CosineAnnealingLrSchedulerConfig::new(
        config.learning_rate,
        (steps_per_epoch * config.epochs).saturating_sub(1).max(1),
    )
    .with_min_lr(config.learning_rate / 50.0)
    .init()
    .expect("learning rate in (0, 1] and at least one step");
    let mut history = History::default();

    for epoch in 1..=config.epochs {
        let start = Instant::now();
        shuffler.shuffle(&mut order);
        let bar = progress_bar(epoch, config.epochs, steps_per_epoch);
        let mut epoch_loss = 0.0;

        for batch in order.chunks(config.batch_size) {
            let (images, labels) = data.train.batch::<B>(batch, device);
            let logits = model.forward(images);
            let loss = loss_fn.forward(logits, labels);
            let loss_value: f32 = loss.clone().into_scalar().elem();

            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(schedule.step(), model, grads);

            history.step_losses.push(loss_value);
            epoch_loss += loss_value;
            bar.inc(1);
            bar.set_message(format!("{loss_value:.4}"));
        }
        bar.finish_and_clear();

        let train_loss = epoch_loss / steps_per_epoch as f32;
        let accuracy = evaluate(&model.valid(), &data.test, device);
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "epoch {epoch:>2}/{}  train loss {train_loss:.4}  {} accuracy {:.2}%  ({seconds:.1} s)",
            config.epochs,
            data.test_name,
            accuracy * 100.0
        );
        history.epochs.push(EpochStats { accuracy });
    }
    (model.valid(), history)
}

/// Fraction of `digits` that `model` classifies correctly.
pub fn evaluate<B: Backend>(model: &Cnn<B>, digits: &Digits, device: &B::Device) -> f32 {
    let all: Vec<usize> = (0..digits.len()).collect();
    let mut correct = 0i64;
    for batch in all.chunks(EVAL_BATCH) {
        let (images, labels) = digits.batch::<B>(batch, device);
        let predicted = model.forward(images).argmax(1).flatten::<1>(0, 1);
        let hits: i64 = predicted.equal(labels).int().sum().into_scalar().elem();
        correct += hits;
    }
    correct as f32 / digits.len().max(1) as f32
}

fn progress_bar(epoch: usize, epochs: usize, steps: usize) -> ProgressBar {
    let bar = ProgressBar::new(steps as u64);
    let style = ProgressStyle::with_template(
        "epoch {prefix} [{bar:32}] {pos}/{len} batches  loss {msg}  {elapsed} (eta {eta})",
    )
    .expect("valid progress bar template")
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(format!("{epoch:>2}/{epochs}"));
    bar
}
