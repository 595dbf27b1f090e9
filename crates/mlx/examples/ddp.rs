//! Data-parallel training with `mlx` alone: every process of a job trains the same MLP on its
//! shard of each batch, and `nn::average_gradients` averages the gradients over the processes
//! before each Adam step, so all processes hold the same model — the one a single process gets
//! from the full batches, which rank 0 checks at the end.
//!
//! ```text
//! cargo build --release -p mlx-array --example ddp --bin mlx-launch
//! target/release/mlx-launch -n 2 -- target/release/examples/ddp
//! ```
//!
//! Started without the launcher, it runs as a job of one process.

use mlx::distributed::{self, Backend, Group};
use mlx::nn::{self, Module};
use mlx::optimizers::{Adam, Optimizer};
use mlx::{Array, Dtype, Parameters, ops, random, transforms};

#[derive(Parameters, Clone)]
struct Mlp {
    layers: Vec<nn::Linear>,
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

fn mlp() -> mlx::Result<Mlp> {
    random::seed(1)?; // every process starts from the same weights
    let sizes = [2, 64, 64, 2];
    let layers = sizes
        .windows(2)
        .map(|w| nn::Linear::new(w[0], w[1]))
        .collect::<mlx::Result<_>>()?;
    Ok(Mlp { layers })
}

/// Two interleaved spirals, `n` points per class (the same on every process).
fn spirals(n: i32) -> mlx::Result<(Array, Array)> {
    let key = random::key(5)?;
    let t = &ops::linspace(0.0, 1.0, n, Dtype::Float32)?.sqrt()? * (3.0 * std::f64::consts::PI);
    let noise = &random::normal(&[2, 2, n], Dtype::Float32, Some(&key))? * 0.05;
    let arm = |sign: f64, k: i32| -> mlx::Result<Array> {
        let x = &(&(&t * &t.cos()?) * sign) / 10.0;
        let y = &(&(&t * &t.sin()?) * sign) / 10.0;
        let nx = ops::take_index(&ops::take_index(&noise, k, Some(0))?, 0, Some(0))?;
        let ny = ops::take_index(&ops::take_index(&noise, k, Some(0))?, 1, Some(0))?;
        ops::stack(&[&x + &nx, &y + &ny], 1)
    };
    let points = ops::concatenate(&[arm(1.0, 0)?, arm(-1.0, 1)?], Some(0))?;
    let labels = ops::concatenate(
        &[
            ops::zeros(&[n], Dtype::Int32)?,
            ops::ones(&[n], Dtype::Int32)?,
        ],
        Some(0),
    )?;
    // Shuffled once with a fixed key, so that every shard holds both classes.
    let order = random::permutation_n(2 * n, Some(&random::key(9)?))?;
    Ok((
        ops::take(&points, &order, Some(0))?,
        ops::take(&labels, &order, Some(0))?,
    ))
}

fn rows(a: &Array, from: i32, to: i32) -> mlx::Result<Array> {
    let idx = ops::arange(f64::from(from), f64::from(to), 1.0, Dtype::Int32)?;
    ops::take(a, &idx, Some(0))
}

/// Trains `steps` steps over batches of `batch` points; this process uses its `shard` of
/// `shards` of each batch and averages gradients over `group`.
fn train(
    x: &Array,
    y: &Array,
    steps: i32,
    batch: i32,
    (shard, shards): (i32, i32),
    group: Option<&Group>,
) -> mlx::Result<(Mlp, f32)> {
    let mut model = mlp()?;
    let mut adam = Adam::new(0.01).with_bias_correction(true);
    let per = batch / shards;
    let n = x.shape()[0];
    let mut loss = Array::scalar(0.0f32);
    for step in 0..steps {
        let start = (step * batch) % n + shard * per;
        let (xb, yb) = (rows(x, start, start + per)?, rows(y, start, start + per)?);
        let loss_of = |m: &Mlp| nn::losses::cross_entropy(&m.forward(&xb)?, &yb)?.mean(None, false);
        let (l, grads) = transforms::value_and_grad_params(&model, loss_of)?;
        let grads = match group {
            Some(g) => nn::average_gradients(&grads, Some(g), nn::ALL_REDUCE_SIZE)?,
            None => grads,
        };
        adam.update(&mut model, &grads)?;
        model.eval_params()?;
        loss = l;
    }
    let loss = match group {
        Some(g) => &distributed::all_sum(&loss, Some(g))? / f64::from(shards),
        None => loss,
    };
    Ok((model, loss.item::<f32>()?))
}

fn main() -> mlx::Result<()> {
    let group = Group::init(false, Backend::Ring)?;
    let (rank, size) = (group.rank(), group.size());
    let (x, y) = spirals(512)?;
    let (steps, batch) = (300, 128);
    if batch % size != 0 {
        return Err(mlx::Error::InvalidArgument(format!(
            "the batch of {batch} does not split among {size} processes"
        )));
    }
    let start = std::time::Instant::now();
    let (model, loss) = train(&x, &y, steps, batch, (rank, size), Some(&group))?;
    let ms = start.elapsed().as_secs_f64() * 1e3 / f64::from(steps);
    // Every process must hold the same parameters: compare with the average over the group.
    let mut spread = 0.0f32;
    for (_, p) in model.flatten_params() {
        let mean = &distributed::all_sum(&p, Some(&group))? / f64::from(size);
        let d = (&p - &mean).abs()?.max(None, false)?;
        spread = spread.max(distributed::all_max(&d, Some(&group))?.item::<f32>()?);
    }
    if rank == 0 {
        println!(
            "{size} process(es), {steps} steps of {batch} points ({} per process): {ms:.2} ms per step",
            batch / size
        );
        println!("final loss {loss:.4}; largest parameter difference between processes {spread:e}");
        // The same training in one process over the full batches.
        let (single, single_loss) = train(&x, &y, steps, batch, (0, 1), None)?;
        let mut diff = 0.0f32;
        for ((_, a), (_, b)) in model.flatten_params().iter().zip(single.flatten_params()) {
            diff = diff.max((a - &b).abs()?.max(None, false)?.item::<f32>()?);
        }
        println!(
            "one process over the full batches: loss {single_loss:.4}; largest parameter difference {diff:e}"
        );
        let predicted = model.forward(&x)?.argmax(Some(-1), false)?;
        let accuracy = ops::equal(&predicted, &y)?
            .astype(Dtype::Float32)?
            .mean(None, false)?;
        println!("training accuracy {:.3}", accuracy.item::<f32>()?);
    }
    Ok(())
}
