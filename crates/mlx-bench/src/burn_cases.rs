//! The cases in Burn, written once over any backend and run on burn-mlx, burn-ndarray and
//! burn-cuda.
//!
//! The models are what a Burn user would write with Burn's own modules; training uses Burn's
//! `Adam` (learning rate 1e-3, epsilon 1e-8 as in MLX and PyTorch, not Burn's default 1e-5).
//! Every step ends by reading one scalar back to the host, as the Python peers do: the loss
//! (`into_scalar`) for the training cases, the first element of the result for the others. A
//! lazy backend therefore computes everything a step needs, and no backend can leave the work
//! queued past the timer.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use burn::module::{AutodiffModule, Module};
use burn::nn::activation::ActivationConfig;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::{CrossEntropyLossConfig, MseLoss, Reduction};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::transformer::{
    TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput,
};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig, Relu};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{DType, Distribution, ElementConversion, Int, Tensor, TensorData};

use crate::cases::{Case, Precision, Workload};

/// Adam's learning rate on every side.
pub const LEARNING_RATE: f64 = 1e-3;
/// Adam's epsilon on every side (MLX's and PyTorch's default).
pub const ADAM_EPS: f32 = 1e-8;

/// The timed steps of one case on one peer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timing {
    /// Wall-clock seconds of each timed step (warm-up excluded).
    pub times: Vec<f64>,
    /// The scalar read back on the last step: the loss, or the result's first element.
    pub value: f64,
}

/// burn-mlx's compiled-region counters when the last timed steps began (after the warm-up,
/// which pays the one-time compilation): what the timed steps did is the difference.
static REGIONS_AT_TIMING: std::sync::Mutex<Option<mlx::region::Stats>> =
    std::sync::Mutex::new(None);

/// The compiled-region counters taken when the last [`time_steps`] began timing.
pub fn regions_at_timing() -> Option<mlx::region::Stats> {
    *REGIONS_AT_TIMING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `step` `warmup` times untimed, then `steps` times timed. `step` must force its work
/// and return the value it read back.
pub fn time_steps(warmup: usize, steps: usize, mut step: impl FnMut() -> f64) -> Timing {
    let mut value = f64::NAN;
    for _ in 0..warmup {
        value = step();
    }
    *REGIONS_AT_TIMING.lock().unwrap_or_else(|e| e.into_inner()) = mlx::region::stats().ok();
    let mut times = Vec::with_capacity(steps);
    let profile = crate::profile::start();
    for _ in 0..steps {
        let start = Instant::now();
        value = step();
        times.push(start.elapsed().as_secs_f64());
    }
    if let Some(profile) = profile {
        profile.finish();
    }
    Timing { times, value }
}

/// Runs `case` on backend `B` (training cases with autodiff, the others on the inner backend).
/// A panic inside the backend (an unsupported op or dtype, say) becomes an `Err` with its
/// message, so one case cannot end the whole run.
pub fn run<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    warmup: usize,
    steps: usize,
) -> Result<Timing, String> {
    let previous_hook = std::panic::take_hook();
    // The message is returned (and shown under the table); don't print it twice.
    std::panic::set_hook(Box::new(|_| {}));
    let result = catch_unwind(AssertUnwindSafe(|| {
        run_unguarded::<B>(case, device, warmup, steps, None)
    }));
    std::panic::set_hook(previous_hook);
    result.map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked".into())
    })
}

/// For a training case: runs `warmup` steps, waits for them (`sync`), then builds one more step
/// without reading anything and calls `inspect` while that step's graph is pending (for
/// `mlx-bench census`). Returns `false`, running nothing, for the other cases.
pub fn inspect_step<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    warmup: usize,
    inspect: &mut dyn FnMut(),
) -> bool {
    if !case.trains() {
        return false;
    }
    run_unguarded::<B>(case, device, warmup, 0, Some(inspect));
    true
}

fn run_unguarded<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    warmup: usize,
    steps: usize,
    inspect: Option<&mut dyn FnMut()>,
) -> Timing {
    B::seed(device, 1);
    let normal = Distribution::Normal(0.0, 1.0);
    match &case.workload {
        Workload::Mlp { batch, dims } => {
            let model = Mlp::<B>::new(dims, device);
            let x = Tensor::random([*batch, dims[0]], Distribution::Default, device);
            let y = labels::<B>(*batch, dims[dims.len() - 1], device);
            classifier(model, x, y, warmup, steps, inspect)
        }
        Workload::Cnn {
            batch,
            side,
            channels,
            hidden,
            classes,
        } => {
            let model = Cnn::<B>::new(*side, *channels, *hidden, *classes, device);
            let x = Tensor::random([*batch, 1, *side, *side], Distribution::Default, device);
            let y = labels::<B>(*batch, *classes, device);
            classifier(model, x, y, warmup, steps, inspect)
        }
        Workload::Transformer {
            batch,
            seq,
            d_model,
            heads,
            d_ff,
            layers,
        } => {
            let model = Encoder::<B>::new(*d_model, *heads, *d_ff, *layers, device);
            let x = Tensor::<B, 3>::random([*batch, *seq, *d_model], normal, device);
            let target = Tensor::<B, 3>::random([*batch, *seq, *d_model], normal, device);
            train(model, warmup, steps, inspect, |m: &Encoder<B>| {
                MseLoss::new().forward(m.forward(x.clone()), target.clone(), Reduction::Mean)
            })
        }
        Workload::Chain { len, ops } => {
            let x = Tensor::<B::InnerBackend, 1>::random([*len], Distribution::Default, device);
            time_steps(warmup, steps, || {
                let mut y = x.clone();
                for _ in 0..*ops {
                    y = y + 1.0;
                }
                first(y.narrow(0, 0, 1))
            })
        }
        Workload::Matmul { n, dtype } => {
            let dtype = match dtype {
                Precision::F32 => DType::F32,
                Precision::Bf16 => DType::BF16,
            };
            let matrix =
                || Tensor::<B::InnerBackend, 2>::random([*n, *n], normal, device).cast(dtype);
            let (a, b) = (matrix(), matrix());
            time_steps(warmup, steps, || {
                first(a.clone().matmul(b.clone()).narrow(0, 0, 1).narrow(1, 0, 1))
            })
        }
        Workload::Exp { len } => {
            let x = Tensor::<B::InnerBackend, 1>::random([*len], normal, device);
            time_steps(warmup, steps, || {
                first((x.clone().exp() * 2.0 + 1.0).narrow(0, 0, 1))
            })
        }
    }
}

/// With `MLX_BENCH_SPLIT=1`, prints on stderr how much of a training step's median time went
/// into issuing its ops (forward, backward, optimizer: for a lazy backend, building the graph
/// and whatever the depth bound evaluates) before the loss was read: where a step is bound by the
/// host rather than the device, and how it divides between the forward pass and loss, the
/// backward pass and the optimizer update. The Python peers print the same line (one phase: MLX
/// builds forward and backward together).
fn report_building(building: &[[f64; 3]], step_times: &[f64]) {
    if std::env::var("MLX_BENCH_SPLIT").as_deref() != Ok("1") || building.is_empty() {
        return;
    }
    let ms = |v: &[f64]| crate::report::median(v).unwrap_or(f64::NAN) * 1e3;
    let phase = |i: usize| ms(&building.iter().map(|b| b[i]).collect::<Vec<_>>());
    let total: Vec<f64> = building.iter().map(|b| b.iter().sum()).collect();
    eprintln!(
        "split: issuing the ops {:.3} ms of a {:.3} ms step (medians; forward {:.3}, backward \
         {:.3}, update {:.3})",
        ms(&total),
        ms(step_times),
        phase(0),
        phase(1),
        phase(2)
    );
}

/// Reads a one-element tensor of any float dtype back to the host.
fn first<B: Backend, const D: usize>(t: Tensor<B, D>) -> f64 {
    t.into_data()
        .iter::<f64>()
        .next()
        .expect("a one-element tensor")
}

/// Random class labels in `0..classes`, the same for every backend.
fn labels<B: Backend>(batch: usize, classes: usize, device: &B::Device) -> Tensor<B, 1, Int> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let labels: Vec<i64> = (0..batch)
        .map(|_| {
            // xorshift64
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % classes as u64) as i64
        })
        .collect();
    Tensor::from_data(TensorData::new(labels, [batch]), device)
}

/// A model that maps a batch of inputs to class logits.
trait Classifier<B: Backend, const D: usize> {
    fn logits(&self, x: Tensor<B, D>) -> Tensor<B, 2>;
}

/// Trains a classifier with cross-entropy on the fixed batch `(x, y)`.
fn classifier<B, M, const D: usize>(
    model: M,
    x: Tensor<B, D>,
    y: Tensor<B, 1, Int>,
    warmup: usize,
    steps: usize,
    inspect: Option<&mut dyn FnMut()>,
) -> Timing
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Classifier<B, D>,
{
    let loss_fn = CrossEntropyLossConfig::new().init(&x.device());
    train(model, warmup, steps, inspect, |m: &M| {
        loss_fn.forward(m.logits(x.clone()), y.clone())
    })
}

/// Times Adam steps on `model`: forward and loss (`loss_of`), backward, update, read the loss.
/// With `inspect`, then builds one more step, reads nothing and calls `inspect`.
fn train<B, M>(
    model: M,
    warmup: usize,
    steps: usize,
    inspect: Option<&mut dyn FnMut()>,
    loss_of: impl Fn(&M) -> Tensor<B, 1>,
) -> Timing
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
{
    let mut optimizer = AdamConfig::new().with_epsilon(ADAM_EPS).init::<B, M>();
    // The optimizer consumes the model and returns the updated one; the slot carries it from
    // one call of the step closure to the next.
    let devices = model.devices();
    let mut slot = Some(model);
    // Seconds of each step spent issuing: forward, backward, update.
    let building = std::cell::RefCell::new(Vec::new());
    let mut step = |read: bool| {
        let started = Instant::now();
        let model = slot.take().expect("the model is put back after every step");
        let loss = loss_of(&model);
        let forward = started.elapsed().as_secs_f64();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let backward = started.elapsed().as_secs_f64();
        slot = Some(optimizer.step(LEARNING_RATE, model, grads));
        let issued = started.elapsed().as_secs_f64();
        building
            .borrow_mut()
            .push([forward, backward - forward, issued - backward]);
        if read {
            loss.into_scalar().elem::<f64>()
        } else {
            f64::NAN
        }
    };
    let timing = time_steps(warmup, steps, || step(true));
    report_building(&building.borrow()[warmup..], &timing.times);
    if let Some(inspect) = inspect {
        for device in &devices {
            B::sync(device).expect("the warm-up steps run");
        }
        step(false);
        inspect();
    }
    timing
}

/// Linear layers with ReLU between them.
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    layers: Vec<Linear<B>>,
    relu: Relu,
}

impl<B: Backend> Mlp<B> {
    /// Layers `dims[0] → dims[1] → … → dims[last]`.
    pub fn new(dims: &[usize], device: &B::Device) -> Self {
        let layers = dims
            .windows(2)
            .map(|w| LinearConfig::new(w[0], w[1]).init(device))
            .collect();
        Mlp {
            layers,
            relu: Relu::new(),
        }
    }
}

impl<B: Backend> Classifier<B, 2> for Mlp<B> {
    fn logits(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let (last, hidden) = self.layers.split_last().expect("at least one layer");
        let x = hidden
            .iter()
            .fold(x, |x, layer| self.relu.forward(layer.forward(x)));
        last.forward(x)
    }
}

/// Two 3×3 convolutions, one 2×2 max-pool, two linear layers; NCHW images in.
#[derive(Module, Debug)]
pub struct Cnn<B: Backend> {
    conv1: Conv2d<B>,
    conv2: Conv2d<B>,
    pool: MaxPool2d,
    fc1: Linear<B>,
    fc2: Linear<B>,
    relu: Relu,
}

impl<B: Backend> Cnn<B> {
    /// For `side`×`side` one-channel images: conv(1→c₀) and conv(c₀→c₁) shrink each side by 2,
    /// the pool halves it.
    pub fn new(
        side: usize,
        channels: [usize; 2],
        hidden: usize,
        classes: usize,
        device: &B::Device,
    ) -> Self {
        let pooled = (side - 4) / 2;
        Cnn {
            conv1: Conv2dConfig::new([1, channels[0]], [3, 3]).init(device),
            conv2: Conv2dConfig::new(channels, [3, 3]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc1: LinearConfig::new(channels[1] * pooled * pooled, hidden).init(device),
            fc2: LinearConfig::new(hidden, classes).init(device),
            relu: Relu::new(),
        }
    }
}

impl<B: Backend> Classifier<B, 4> for Cnn<B> {
    fn logits(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = self.relu.forward(self.conv1.forward(x));
        let x = self.pool.forward(self.relu.forward(self.conv2.forward(x)));
        let x = self.relu.forward(self.fc1.forward(x.flatten::<2>(1, 3)));
        self.fc2.forward(x)
    }
}

/// Burn's `TransformerEncoder`, pre-norm with GELU and dropout 0, plus the final LayerNorm
/// that `mlx.nn.TransformerEncoder` always applies (so all peers train the same network).
#[derive(Module, Debug)]
pub struct Encoder<B: Backend> {
    encoder: TransformerEncoder<B>,
    norm: LayerNorm<B>,
}

impl<B: Backend> Encoder<B> {
    /// `layers` encoder layers of width `d_model` with `heads` heads and a `d_ff` feed-forward.
    pub fn new(
        d_model: usize,
        heads: usize,
        d_ff: usize,
        layers: usize,
        device: &B::Device,
    ) -> Self {
        let encoder = TransformerEncoderConfig::new(d_model, d_ff, heads, layers)
            .with_dropout(0.0)
            .with_norm_first(true)
            .with_activation(ActivationConfig::Gelu)
            .init(device);
        Encoder {
            encoder,
            norm: LayerNormConfig::new(d_model).init(device),
        }
    }

    /// `[batch, seq, d_model]` in and out.
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let encoded = self.encoder.forward(TransformerEncoderInput::new(x));
        self.norm.forward(encoded)
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::Autodiff;
    use burn_mlx::{Mlx, MlxDevice};

    use super::*;
    use crate::cases::tiny_cases;

    /// One step of every case at tiny shapes on burn-mlx's CPU: each runs, the losses are
    /// finite and of the expected size, the computations give a plausible first element.
    #[test]
    fn every_case_runs_on_burn_mlx() {
        for case in tiny_cases() {
            let timing = run::<Autodiff<Mlx>>(&case, &MlxDevice::Cpu, 1, 1)
                .unwrap_or_else(|e| panic!("{}: {e}", case.id));
            assert_eq!(timing.times.len(), 1);
            let v = timing.value;
            assert!(v.is_finite(), "{}: {v}", case.id);
            match case.workload {
                // Cross-entropy over 10 classes starts near ln 10.
                Workload::Mlp { .. } | Workload::Cnn { .. } => {
                    assert!(v > 0.5 && v < 10.0, "{}: {v}", case.id)
                }
                Workload::Transformer { .. } => assert!(v > 0.0, "{}: {v}", case.id),
                // Inputs are uniform in [0, 1): after `ops` additions of 1, in [ops, ops + 1).
                Workload::Chain { ops, .. } => {
                    assert!(v >= ops as f64 && v < ops as f64 + 1.0, "{v}")
                }
                // exp(x) * 2 + 1 > 1.
                Workload::Exp { .. } => assert!(v > 1.0, "{v}"),
                Workload::Matmul { .. } => {}
            }
        }
    }

    #[test]
    fn time_steps_times_only_after_warm_up() {
        let mut calls = 0;
        let timing = time_steps(3, 5, || {
            calls += 1;
            calls as f64
        });
        assert_eq!(calls, 8);
        assert_eq!(timing.times.len(), 5);
        assert_eq!(timing.value, 8.0);
    }

    #[test]
    fn a_panicking_case_becomes_an_error() {
        let case = Case {
            id: "bad".into(),
            workload: Workload::Mlp {
                batch: 2,
                dims: vec![],
            },
        };
        let err = run::<Autodiff<Mlx>>(&case, &MlxDevice::Cpu, 0, 1).unwrap_err();
        assert!(!err.is_empty());
    }
}
