//! A multi-layer perceptron on a derived parameter struct, trained with `value_and_grad_params`
//! and an Adam optimizer written here; the weights are saved as safetensors and reloaded.
//!
//! The task: classify points of two interleaved spirals (a problem no linear model solves).
//!
//! `cargo run --release -p mlx --example mlp`

use mlx::{Array, Dtype, Parameters, ops, random, transforms};

#[derive(Parameters, Clone)]
struct Linear {
    weight: Array,
    bias: Array,
}

impl Linear {
    fn new(inputs: i32, outputs: i32) -> mlx::Result<Linear> {
        let bound = 1.0 / f64::from(inputs).sqrt();
        let u = |shape: &[i32]| -> mlx::Result<Array> {
            let unit = random::uniform(shape, Dtype::Float32, None)?;
            Ok(&(&unit * (2.0 * bound)) - bound)
        };
        Ok(Linear {
            weight: u(&[inputs, outputs])?,
            bias: u(&[outputs])?,
        })
    }

    fn forward(&self, x: &Array) -> mlx::Result<Array> {
        ops::addmm(&self.bias, x, &self.weight, 1.0, 1.0)
    }
}

#[derive(Parameters, Clone)]
struct Mlp {
    layers: Vec<Linear>,
}

impl Mlp {
    fn new(sizes: &[i32]) -> mlx::Result<Mlp> {
        let layers = sizes
            .windows(2)
            .map(|w| Linear::new(w[0], w[1]))
            .collect::<mlx::Result<_>>()?;
        Ok(Mlp { layers })
    }

    fn forward(&self, x: &Array) -> mlx::Result<Array> {
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = ops::maximum(&h, &Array::scalar(0.0f32))?; // ReLU
            }
        }
        Ok(h)
    }
}

/// Mean cross-entropy of logits against integer labels.
fn cross_entropy(logits: &Array, labels: &Array) -> mlx::Result<Array> {
    let log_z = logits.logsumexp(&[-1], true)?;
    let picked = ops::take_along_axis(logits, &labels.expand_dims(&[-1])?, Some(-1))?;
    (&log_z - &picked).mean(&[], false)
}

/// Adam with bias correction, over any parameter tree.
struct Adam<M> {
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    step: i32,
    m: M,
    v: M,
}

impl<M: Parameters + Clone> Adam<M> {
    fn new(model: &M, lr: f64) -> mlx::Result<Self> {
        let zeros = model.map_params(|_, p| ops::zeros_like(p, None))?;
        Ok(Adam {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            step: 0,
            m: zeros.clone(),
            v: zeros,
        })
    }

    fn update(&mut self, model: &M, grads: &M) -> mlx::Result<M> {
        self.step += 1;
        let (b1, b2) = self.betas;
        self.m = self
            .m
            .zip_params(grads, |_, m, g| Ok(&(m * b1) + &(g * (1.0 - b1))))?;
        self.v = self
            .v
            .zip_params(grads, |_, v, g| Ok(&(v * b2) + &(&(g * g) * (1.0 - b2))))?;
        let lr_t = self.lr * (1.0 - b2.powi(self.step)).sqrt() / (1.0 - b1.powi(self.step));
        let eps = self.eps;
        // p - lr_t * m / (sqrt(v) + eps)
        let steps = self.m.zip_params(&self.v, |_, m, v| {
            ops::divide(&(m * lr_t), &(&v.sqrt()? + eps))
        })?;
        model.zip_params(&steps, |_, p, s| Ok(p - s))
    }
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
        .mean(&[], false)?
        .item::<f32>()
}

fn main() -> mlx::Result<()> {
    random::seed(7)?;
    let (x, y) = spirals(500)?;
    let mut model = Mlp::new(&[2, 64, 64, 2])?;
    let mut adam = Adam::new(&model, 0.01)?;
    println!(
        "MLP {:?}: {} parameters",
        [2, 64, 64, 2],
        model.num_params()
    );
    for step in 0..=600 {
        let (loss, grads) =
            transforms::value_and_grad_params(&model, |m| cross_entropy(&m.forward(&x)?, &y))?;
        model = adam.update(&model, &grads)?;
        model.eval_params()?;
        if step % 100 == 0 {
            println!(
                "step {step:>3}  loss {:.4}  accuracy {:.3}",
                loss.item::<f32>()?,
                accuracy(&model, &x, &y)?
            );
        }
    }
    let trained = accuracy(&model, &x, &y)?;

    let path = std::env::temp_dir().join(format!(
        "mlx-mlp-example-{}.safetensors",
        std::process::id()
    ));
    model.save_safetensors(&path)?;
    let mut reloaded = Mlp::new(&[2, 64, 64, 2])?;
    reloaded.load_safetensors(&path)?;
    std::fs::remove_file(&path).ok();
    let same =
        ops::array_equal(&reloaded.forward(&x)?, &model.forward(&x)?, false)?.item::<bool>()?;
    println!(
        "saved to and reloaded from {} — identical predictions: {same}",
        path.display()
    );
    println!("final training accuracy {trained:.3}");
    assert!(same, "reloaded weights differ");
    Ok(())
}
