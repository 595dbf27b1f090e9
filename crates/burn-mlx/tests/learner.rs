//! burn-train's `Learner` on `Autodiff<Mlx>`: supervised training with worker threads (the data
//! loader's and the Learner's own), metrics and checkpointing, to a falling loss.

mod common;
use common::*;

use std::path::PathBuf;

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::InMemDataset;
use burn::module::{AutodiffModule, Module};
use burn::nn::loss::{MseLoss, Reduction};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::AdamConfig;
use burn::record::CompactRecorder;
use burn::train::metric::LossMetric;
use burn::train::{
    InferenceStep, Learner, RegressionOutput, SupervisedTraining, TrainOutput, TrainStep,
};

const FEATURES: usize = 6;

#[derive(Module, Debug)]
struct Regressor<B: Backend> {
    hidden: Linear<B>,
    out: Linear<B>,
    relu: Relu,
}

impl<B: Backend> Regressor<B> {
    fn new(device: &B::Device) -> Self {
        Regressor {
            hidden: LinearConfig::new(FEATURES, 16).init(device),
            out: LinearConfig::new(16, 1).init(device),
            relu: Relu::new(),
        }
    }

    fn regress(&self, batch: Batch<B>) -> RegressionOutput<B> {
        let output = self
            .out
            .forward(self.relu.forward(self.hidden.forward(batch.inputs)));
        let loss = MseLoss::new().forward(output.clone(), batch.targets.clone(), Reduction::Mean);
        RegressionOutput::new(loss, output, batch.targets)
    }
}

impl<B: AutodiffBackend> TrainStep for Regressor<B> {
    type Input = Batch<B>;
    type Output = RegressionOutput<B>;

    fn step(&self, batch: Batch<B>) -> TrainOutput<RegressionOutput<B>> {
        let item = self.regress(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl<B: Backend> InferenceStep for Regressor<B> {
    type Input = Batch<B>;
    type Output = RegressionOutput<B>;

    fn step(&self, batch: Batch<B>) -> RegressionOutput<B> {
        self.regress(batch)
    }
}

#[derive(Clone, Debug)]
struct Item {
    x: [f32; FEATURES],
    y: f32,
}

#[derive(Clone, Debug)]
struct Batch<B: Backend> {
    inputs: Tensor<B, 2>,
    targets: Tensor<B, 2>,
}

/// Stacks items into tensors on the data loader's worker threads.
#[derive(Clone)]
struct Stack;

impl<B: Backend> Batcher<B, Item, Batch<B>> for Stack {
    fn batch(&self, items: Vec<Item>, device: &B::Device) -> Batch<B> {
        let n = items.len();
        let xs: Vec<f32> = items.iter().flat_map(|i| i.x).collect();
        let ys: Vec<f32> = items.iter().map(|i| i.y).collect();
        Batch {
            inputs: Tensor::from_data(TensorData::new(xs, [n, FEATURES]), device),
            targets: Tensor::from_data(TensorData::new(ys, [n, 1]), device),
        }
    }
}

/// A smooth target: a fixed linear map of the features plus a product term.
fn dataset(n: usize, seed: u64) -> InMemDataset<Item> {
    let mut rng = Rng::new(seed);
    let items = (0..n)
        .map(|_| {
            let x: [f32; FEATURES] = std::array::from_fn(|_| rng.range(-1.0, 1.0) as f32);
            let y = x
                .iter()
                .enumerate()
                .map(|(i, v)| v * (i as f32 - 2.5) * 0.4)
                .sum::<f32>()
                + 0.5 * x[0] * x[1];
            Item { x, y }
        })
        .collect();
    InMemDataset::new(items)
}

/// Mean squared error of `model` over `data`, computed directly.
fn mse(model: &Regressor<M>, data: &InMemDataset<Item>, device: &MlxDevice) -> f32 {
    use burn::data::dataset::Dataset;
    let batch: Batch<M> = Stack.batch(data.iter().collect(), device);
    model.regress(batch).loss.into_scalar()
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("burn-mlx-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn learner_trains_on_autodiff_mlx() {
    let device = mlx_device();
    let dir = scratch_dir("learner");
    AM::seed(&device, 11);
    let train = dataset(512, 1);
    let valid = dataset(128, 2);

    // Worker threads build the batches: tensors made there are used on the training thread.
    let train_loader = DataLoaderBuilder::new(Stack)
        .batch_size(32)
        .shuffle(7)
        .num_workers(2)
        .build(train);
    let valid_loader = DataLoaderBuilder::new(Stack)
        .batch_size(64)
        .num_workers(2)
        .build(dataset(128, 2));

    let model = Regressor::<AM>::new(&device);
    let before = mse(&model.valid(), &valid, &device);
    let learner = Learner::new(model, AdamConfig::new().init(), 2e-2);
    let result = SupervisedTraining::new(&dir, train_loader, valid_loader)
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .with_file_checkpointer(CompactRecorder::new())
        .with_application_logger(None)
        .num_epochs(4)
        .launch(learner);
    let after = mse(&result.model, &valid, &device);
    eprintln!("validation MSE {before} -> {after}");
    assert!(
        after.is_finite() && after < before * 0.25,
        "validation loss should fall: {before} -> {after}"
    );

    // Checkpoints of the model and the optimizer were written for the last epoch.
    let checkpoints = dir.join("checkpoint");
    for name in ["model-4.mpk", "optim-4.mpk"] {
        assert!(
            checkpoints.join(name).is_file(),
            "missing checkpoint {name}"
        );
    }
    // And the training loss was logged per epoch by the metric logger.
    let log = std::fs::read_to_string(dir.join("train/epoch-4/Loss.log")).expect("loss log");
    assert!(!log.trim().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
