//! A small convolutional network trained on handwritten digits with `mlx::nn` and
//! `mlx::optimizers` alone: two convolutions, max pooling, dropout and two linear layers, trained
//! with Adam through a compiled step, evaluated on held-out digits.
//!
//! The data are scikit-learn's digits (8×8 images), fetched once from PyPI with pip and cached.
//!
//! `cargo run --release -p mlx-array --example cnn [-- --epochs N]`

#[path = "../common/pypi.rs"]
mod pypi;

mod data;

use std::time::Instant;

use mlx::nn::{self, Module};
use mlx::optimizers::{Adam, CompiledStep, Optimizer};
use mlx::{Array, Dtype, Parameters, ops, random, transforms};

#[derive(Parameters, Clone)]
struct Cnn {
    conv1: nn::Conv2d,
    conv2: nn::Conv2d,
    pool: nn::MaxPool2d,
    dropout: nn::Dropout,
    fc1: nn::Linear,
    fc2: nn::Linear,
}

impl Cnn {
    fn new() -> mlx::Result<Cnn> {
        let same = mlx::ops::ConvOptions::new().with_padding(1);
        Ok(Cnn {
            conv1: nn::Conv2d::with_options(1, 16, 3, same, true)?,
            conv2: nn::Conv2d::with_options(16, 32, 3, same, true)?,
            pool: nn::MaxPool2d::new(2)?,
            dropout: nn::Dropout::new(0.25)?,
            fc1: nn::Linear::new(4 * 4 * 32, 64)?,
            fc2: nn::Linear::new(64, 10)?,
        })
    }
}

impl Module for Cnn {
    /// `[N, 8, 8, 1]` images to `[N, 10]` logits.
    fn forward(&self, x: &Array) -> mlx::Result<Array> {
        let h = nn::relu(&self.conv1.forward(x)?)?;
        let h = self.pool.forward(&nn::relu(&self.conv2.forward(&h)?)?)?;
        let h = h.flatten(1, -1)?;
        let h = self.dropout.forward(&nn::relu(&self.fc1.forward(&h)?)?)?;
        self.fc2.forward(&h)
    }
}

fn train_step(model: &mut Cnn, adam: &mut Adam, batch: &[Array]) -> mlx::Result<Vec<Array>> {
    let loss_of =
        |m: &Cnn| nn::losses::cross_entropy(&m.forward(&batch[0])?, &batch[1])?.mean(None, false);
    let (loss, grads) = transforms::value_and_grad_params(model, loss_of)?;
    adam.update(model, &grads)?;
    Ok(vec![loss])
}

fn accuracy(model: &Cnn, x: &Array, y: &Array) -> mlx::Result<f32> {
    let predicted = model.forward(x)?.argmax(Some(-1), false)?;
    ops::equal(&predicted, y)?
        .astype(Dtype::Float32)?
        .mean(None, false)?
        .item::<f32>()
}

fn epochs_from_args() -> Result<usize, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(12),
        [flag, n] if flag == "--epochs" => n.parse().map_err(|e| format!("--epochs {n}: {e}")),
        _ => Err("usage: cnn [--epochs N]".into()),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs = epochs_from_args()?;
    let digits = data::load()?;
    let n = digits.len() as i32;
    random::seed(0)?;
    // A fixed shuffle, then 1,500 images to train on and the rest to test.
    let order = random::permutation_n(n, Some(&random::key(42)?))?;
    let images = ops::take(
        &Array::from_slice(&digits.images, &[n, 8, 8, 1])?,
        &order,
        Some(0),
    )?;
    let labels = ops::take(&Array::from_slice(&digits.labels, &[n])?, &order, Some(0))?;
    let split = 1500;
    let part = |a: &Array, from: i32, to: i32| -> mlx::Result<Array> {
        let rows = ops::arange(f64::from(from), f64::from(to), 1.0, Dtype::Int32)?;
        ops::take(a, &rows, Some(0))
    };
    let (train_x, train_y) = (part(&images, 0, split)?, part(&labels, 0, split)?);
    let (test_x, test_y) = (part(&images, split, n)?, part(&labels, split, n)?);

    let mut model = Cnn::new()?;
    let mut adam = Adam::new(2e-3).with_bias_correction(true);
    println!(
        "CNN on {} digits ({} for training, {} held out), {} parameters",
        n,
        split,
        n - split,
        model.num_params()
    );
    let step = CompiledStep::new(train_step);
    let batch = 50;
    for epoch in 1..=epochs {
        model.train(true);
        let perm = random::permutation_n(split, None)?;
        let start = Instant::now();
        let mut loss_sum = 0.0;
        for b in 0..split / batch {
            let idx = ops::slice(&perm, &[b * batch], &[(b + 1) * batch], &[1])?;
            let xb = ops::take(&train_x, &idx, Some(0))?;
            let yb = ops::take(&train_y, &idx, Some(0))?;
            let loss = step.call(&mut model, &mut adam, &[xb, yb])?.remove(0);
            model.eval_params()?;
            loss_sum += loss.item::<f32>()?;
        }
        let seconds = start.elapsed().as_secs_f64();
        model.eval();
        println!(
            "epoch {epoch:>2}  loss {:.4}  test accuracy {:.3}  ({:.0} ms)",
            loss_sum / (split / batch) as f32,
            accuracy(&model, &test_x, &test_y)?,
            seconds * 1e3
        );
    }
    let final_accuracy = accuracy(&model, &test_x, &test_y)?;
    println!("held-out accuracy {final_accuracy:.3}");
    Ok(())
}
