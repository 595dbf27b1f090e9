//! A multi-layer perceptron built from `mlx::nn` layers and trained with `mlx::optimizers::Adam`,
//! first eagerly and then with the whole step (forward, gradient, update) compiled; the two
//! timings are printed side by side. The weights are saved as safetensors and reloaded.
//!
//! The task: classify points of two interleaved spirals (a problem no linear model solves).
//!
//! `cargo run --release -p mlx-array --example mlp`

use std::time::Instant;

use mlx::nn::{self, Module};
use mlx::optimizers::{Adam, CompiledStep, Optimizer};
use mlx::{Array, Dtype, Parameters, ops, random, transforms};

#[derive(Parameters, Clone)]
struct Mlp {
    layers: Vec<nn::Linear>,
}

impl Mlp {
    fn new(sizes: &[i32]) -> mlx::Result<Mlp> {
        let layers = sizes
            .windows(2)
            .map(|w| nn::Linear::new(w[0], w[1]))
            .collect::<mlx::Result<_>>()?;
        Ok(Mlp { layers })
    }
}

impl Module for Mlp {
    fn forward(&self, x: &Array) -> mlx::Result<Array> {
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = nn::relu(&h)?;
            }
        }
        Ok(h)
    }
}

/// One training step: mean cross-entropy, its gradients, an Adam update. The same function runs
/// eagerly and compiled.
fn train_step(model: &mut Mlp, adam: &mut Adam, batch: &[Array]) -> mlx::Result<Vec<Array>> {
    let (x, y) = (&batch[0], &batch[1]);
    let loss_of = |m: &Mlp| nn::losses::cross_entropy(&m.forward(x)?, y)?.mean(None, false);
    let (loss, grads) = transforms::value_and_grad_params(model, loss_of)?;
    adam.update(model, &grads)?;
    Ok(vec![loss])
}

/// Two interleaved spirals: `n` points per class, labels 0 and 1.
fn spirals(n: i32) -> mlx::Result<(Array, Array)> {
    let t = &ops::linspace(0.0, 1.0, n, Dtype::Float32)?.sqrt()? * (3.0 * std::f64::consts::PI);
    let noise =
        |s: &[i32]| -> mlx::Result<Array> { Ok(&random::normal(s, Dtype::Float32, None)? * 0.05) };
    let arm = |sign: f64| -> mlx::Result<Array> {
        let x = &(&(&t * &t.cos()?) * sign) / 10.0;
        let y = &(&(&t * &t.sin()?) * sign) / 10.0;
        ops::stack(&[&x + &noise(&[n])?, &y + &noise(&[n])?], 1)
    };
    let points = ops::concatenate(&[arm(1.0)?, arm(-1.0)?], Some(0))?;
    let labels = ops::concatenate(
        &[
            ops::zeros(&[n], Dtype::Int32)?,
            ops::ones(&[n], Dtype::Int32)?,
        ],
        Some(0),
    )?;
    Ok((points, labels))
}

fn accuracy(model: &Mlp, x: &Array, y: &Array) -> mlx::Result<f32> {
    let predicted = model.forward(x)?.argmax(Some(-1), false)?;
    ops::equal(&predicted, y)?
        .astype(Dtype::Float32)?
        .mean(None, false)?
        .item::<f32>()
}

/// Trains a fresh model for `steps` steps with `step` (eager or compiled), printing progress;
/// returns the model, the milliseconds of the first step (where a compiled step is traced and
/// its fused kernels built) and the milliseconds per step after it.
fn train(
    steps: usize,
    x: &Array,
    y: &Array,
    mut step: impl FnMut(&mut Mlp, &mut Adam, &[Array]) -> mlx::Result<Vec<Array>>,
) -> mlx::Result<(Mlp, f64, f64)> {
    random::seed(7)?;
    let mut model = Mlp::new(&[2, 64, 64, 2])?;
    let mut adam = Adam::new(0.01).with_bias_correction(true);
    let batch = [x.clone(), y.clone()];
    let mut start = Instant::now();
    let mut first_ms = 0.0;
    for i in 0..=steps {
        let loss = step(&mut model, &mut adam, &batch)?.remove(0);
        model.eval_params()?;
        if i == 0 {
            first_ms = start.elapsed().as_secs_f64() * 1e3;
            start = Instant::now();
        }
        if i % 200 == 0 {
            println!(
                "  step {i:>4}  loss {:.4}  accuracy {:.3}",
                loss.item::<f32>()?,
                accuracy(&model, x, y)?
            );
        }
    }
    let ms = start.elapsed().as_secs_f64() * 1e3 / steps as f64;
    Ok((model, first_ms, ms))
}

fn main() -> mlx::Result<()> {
    random::seed(3)?;
    let (x, y) = spirals(500)?;
    let steps = 800;
    println!(
        "MLP [2, 64, 64, 2] on two spirals ({} points), Adam",
        x.shape()[0]
    );

    println!("eager steps:");
    let (eager, eager_first, eager_ms) = train(steps, &x, &y, train_step)?;
    println!("compiled steps (forward, gradient and Adam update fused into one graph):");
    let compiled_step = CompiledStep::new(train_step);
    let (model, compiled_first, compiled_ms) =
        train(steps, &x, &y, |m, o, b| compiled_step.call(m, o, b))?;
    println!(
        "first step: eager {eager_first:.1} ms, compiled {compiled_first:.1} ms (tracing and \
         building the fused kernels)"
    );
    println!(
        "later steps: eager {eager_ms:.3} ms, compiled {compiled_ms:.3} ms per step ({:.2}x)",
        eager_ms / compiled_ms
    );
    let close = ops::CloseOptions::default().with_rtol(1e-3).with_atol(1e-4);
    let same = ops::allclose(&model.forward(&x)?, &eager.forward(&x)?, close)?.item::<bool>()?;
    println!("compiled and eager training reach the same model: {same}");

    let trained = accuracy(&model, &x, &y)?;
    let path = std::env::temp_dir().join(format!(
        "mlx-mlp-example-{}.safetensors",
        std::process::id()
    ));
    model.save_safetensors(&path)?;
    let mut reloaded = Mlp::new(&[2, 64, 64, 2])?;
    reloaded.load_safetensors(&path)?;
    std::fs::remove_file(&path).ok();
    let identical =
        ops::array_equal(&reloaded.forward(&x)?, &model.forward(&x)?, false)?.item::<bool>()?;
    println!(
        "saved to and reloaded from {} — identical predictions: {identical}",
        path.display()
    );
    println!("final training accuracy {trained:.3}");
    assert!(identical, "reloaded weights differ");
    Ok(())
}
