//! Compiled execution (`burn_mlx::compile`): a Burn training loop, unchanged, replays compiled
//! MLX functions from its second step on, with the same losses as the uncompiled path, fresh
//! dropout masks every step, and a training run on burn-ndarray as the oracle. Compilation is a
//! process-wide switch, so everything runs in one test, in order.

mod common;
use common::*;

use burn::module::Module;
use burn::nn::loss::{CrossEntropyLossConfig, MseLoss, Reduction};
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::ElementConversion;

#[derive(Module, Debug)]
struct Net<B: Backend> {
    fc1: Linear<B>,
    norm: LayerNorm<B>,
    fc2: Linear<B>,
    dropout: Dropout,
}

impl<B: Backend> Net<B> {
    fn new(device: &B::Device, dropout: f64) -> Self {
        Net {
            fc1: LinearConfig::new(12, 32).init(device),
            norm: LayerNormConfig::new(32).init(device),
            fc2: LinearConfig::new(32, 4).init(device),
            dropout: DropoutConfig::new(dropout).init(),
        }
    }

    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let h = burn::tensor::activation::gelu(self.norm.forward(self.fc1.forward(x)));
        self.fc2.forward(self.dropout.forward(h))
    }
}

/// `steps` Adam steps on fixed data, reading the loss after each (Burn's usual loop). The model
/// starts from the same record on every backend.
fn train<B: AutodiffBackend>(device: &B::Device, start: &Net<B>, steps: usize) -> Vec<f32> {
    let x = Tensor::<B, 2>::from_data(floats([16, 12], 3), device);
    let labels: Vec<i64> = (0..16).map(|i| (i * 7 % 4) as i64).collect();
    let y = Tensor::<B, 1, Int>::from_data(TensorData::new(labels, [16]), device);
    let mut model = start.clone();
    let mut optimizer = AdamConfig::new().init::<B, Net<B>>();
    let mut losses = Vec::new();
    for _ in 0..steps {
        let logits = model.forward(x.clone());
        let loss = CrossEntropyLossConfig::new()
            .init(device)
            .forward(logits, y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(1e-2, model, grads);
        losses.push(loss.into_scalar().elem::<f32>());
    }
    losses
}

fn assert_losses_close(got: &[f32], want: &[f32], rtol: f32, what: &str) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 + rtol * w.abs(),
            "{what}: step {i}: {g} vs {w}\n got  {got:?}\n want {want:?}"
        );
    }
}

#[test]
fn compiled_training_matches_uncompiled_and_ndarray() {
    let dev = mlx_device();
    let nd = Default::default();
    AM::seed(&dev, 1);
    let start = Net::<AM>::new(&dev, 0.0);
    let nd_start = copy_params::<AN>(&start, Net::<AN>::new(&nd, 0.0), &nd);

    burn_mlx::compile::set_enabled(false);
    let before = burn_mlx::compile::stats();
    let eager = train::<AM>(&dev, &start, 10);
    assert_eq!(
        burn_mlx::compile::stats().replays,
        before.replays,
        "off means off"
    );

    burn_mlx::compile::set_enabled(true);
    assert!(burn_mlx::compile::is_enabled());
    let before = burn_mlx::compile::stats();
    let compiled = train::<AM>(&dev, &start, 10);
    let after = burn_mlx::compile::stats();
    // Each step reads its loss once, which evaluates that step's forward pass and the previous
    // step's update. The first two regions differ (no previous update; Adam's first update,
    // without moments), the third is the first of the repeating structure, the fourth compiles
    // it and every later one replays it.
    assert!(
        after.replays - before.replays >= 6,
        "steps did not replay compiled code: {before:?} -> {after:?}"
    );
    assert!(after.compiles > before.compiles);
    // Where the host's time went is counted for every region.
    assert!(after.nodes > before.nodes);
    assert!(after.trace_seconds > before.trace_seconds);
    assert!(after.replay_seconds > before.replay_seconds);
    assert!(after.eval_seconds > before.eval_seconds);
    assert_losses_close(&compiled, &eager, 1e-4, "compiled vs uncompiled");
    assert!(compiled[9] < compiled[0], "the loss falls: {compiled:?}");

    let oracle = train::<AN>(&nd, &nd_start, 10);
    // Ten Adam steps amplify the backends' rounding differences a little.
    assert_losses_close(&compiled, &oracle, 1e-3, "compiled vs burn-ndarray");

    // Scalars enter a compiled region 0-d, as MLX's fused kernels want them (a computed
    // broadcast operand would be read as a strided array), and one scalar broadcast to a shape
    // serves every op on that shape: ten `+ 1.0` are one `Broadcast` and ten `Add`s. Three
    // times: the kept broadcast is pending the first time, computed (a view of the scalar, read
    // as the scalar again) after the first evaluation.
    let x = Tensor::<AM, 1>::from_data([1.0f32, 2.0, 3.0], &dev);
    AM::sync(&dev).unwrap();
    for _ in 0..3 {
        let before = burn_mlx::compile::stats();
        let y = (0..10).fold(x.clone(), |y, _| y + 1.0);
        assert_eq!(y.into_data().to_vec::<f32>().unwrap(), [11.0, 12.0, 13.0]);
        assert_eq!(burn_mlx::compile::stats().nodes - before.nodes, 11);
    }

    // Dropout draws a new mask every replayed step: the same input gives other outputs.
    let model = Net::<AM>::new(&dev, 0.5);
    let x = Tensor::<AM, 2>::from_data(floats([8, 12], 4), &dev);
    let outs: Vec<TensorData> = (0..4)
        .map(|_| {
            let loss = MseLoss::new().forward(
                model.forward(x.clone()),
                Tensor::zeros([8, 4], &dev),
                Reduction::Mean,
            );
            let _ = loss.backward();
            model.forward(x.clone()).into_data()
        })
        .collect();
    assert_ne!(
        outs[2], outs[3],
        "a replay repeated the previous dropout mask"
    );

    // Seeding still reproduces the draws.
    AM::seed(&dev, 11);
    let a = model.forward(x.clone()).into_data();
    AM::seed(&dev, 11);
    let b = model.forward(x.clone()).into_data();
    assert_eq!(a, b);
}

/// `target` with `source`'s parameter values (moved across backends through their data).
fn copy_params<B: AutodiffBackend>(source: &Net<AM>, target: Net<B>, device: &B::Device) -> Net<B> {
    let param = |t: Tensor<AM, 2>| Tensor::<B, 2>::from_data(t.into_data(), device).require_grad();
    let vector = |t: Tensor<AM, 1>| Tensor::<B, 1>::from_data(t.into_data(), device).require_grad();
    let linear = |s: &Linear<AM>, t: Linear<B>| Linear {
        weight: t.weight.map(|_| param(s.weight.val())),
        bias: t
            .bias
            .map(|b| b.map(|_| vector(s.bias.as_ref().expect("bias").val()))),
    };
    let norm = |s: &LayerNorm<AM>, t: LayerNorm<B>| {
        let mut t = t;
        t.gamma = t.gamma.map(|_| vector(s.gamma.val()));
        if let (Some(tb), Some(sb)) = (t.beta.take(), s.beta.as_ref()) {
            t.beta = Some(tb.map(|_| vector(sb.val())));
        }
        t
    };
    Net {
        fc1: linear(&source.fc1, target.fc1),
        norm: norm(&source.norm, target.norm),
        fc2: linear(&source.fc2, target.fc2),
        dropout: target.dropout,
    }
}
