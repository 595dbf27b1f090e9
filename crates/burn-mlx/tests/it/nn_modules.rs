//! Burn's nn modules on `Autodiff<Mlx>` against `Autodiff<NdArray>`: outputs, the inputs'
//! gradients and every parameter's gradient, from identical weights.
//!
//! Each module is initialised once on NdArray and serialised; both backends load those bytes, so
//! they start from bit-identical weights. Norm layers initialise to ones and zeros, which would
//! hide mistakes in how the affine parameters are applied, so their parameters are first replaced
//! by seeded random values ([`randomized`]).

use crate::common;

use burn::module::{AutodiffModule, Module, ModuleMapper, Param};
use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::conv::{Conv1dConfig, Conv2dConfig, ConvTranspose2dConfig};
use burn::nn::pool::{
    AdaptiveAvgPool1dConfig, AdaptiveAvgPool2dConfig, AvgPool1dConfig, AvgPool2dConfig,
    MaxPool1dConfig, MaxPool2dConfig,
};
use burn::nn::{
    BatchNorm, BatchNormConfig, BiLstmConfig, DropoutConfig, EmbeddingConfig, GroupNormConfig,
    LayerNormConfig, Linear, LinearConfig, LstmConfig, LstmState, PaddingConfig1d, PaddingConfig2d,
    Relu,
};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Bool, DType, Int, Tensor, TensorData};
use common::{
    AM, AN, M, Named, Tol, assert_named_close, bools, floats, floats_in, ints, load_bytes,
    mlx_device, module_bytes, param_grads,
};

/// One f32 tolerance for every comparison. The shapes are small enough that even the longest
/// chains here (five Adam steps, recurrent layers, normalisation gradients) stay well inside it.
const TOL: Tol = Tol::new(1e-4, 1e-5);

/// A computation over a module, written once for any autodiff backend.
trait ModCase {
    fn run<B: AutodiffBackend>(&self, dev: &B::Device) -> Named;
}

/// `mod_case!(name: Type = value, ...; |B, dev| body)`: a [`ModCase`] whose captures are cloned
/// into each run.
macro_rules! mod_case {
    ($($cap:ident : $ty:ty = $val:expr),* ; |$B:ident, $dev:ident| $body:expr) => {{
        struct Case {
            $($cap: $ty),*
        }
        impl ModCase for Case {
            #[allow(unused_variables, clippy::redundant_clone)]
            fn run<$B: AutodiffBackend>(&self, $dev: &$B::Device) -> Named {
                $(let $cap: $ty = ::core::clone::Clone::clone(&self.$cap);)*
                $body
            }
        }
        Case { $($cap: $val),* }
    }};
}

/// Runs `case` on both backends and compares every named value.
fn check(label: &str, tol: Tol, case: &impl ModCase) {
    let got = case.run::<AM>(&mlx_device());
    let want = case.run::<AN>(&Default::default());
    assert_named_close(label, &got, &want, tol);
}

// ---- weights shared by both backends ----------------------------------------------------------

/// Replaces every float parameter (and running statistic) with seeded values in [0.5, 1.5): away
/// from zero so that running variances stay valid, and different per element so that each one's
/// gradient is distinct.
struct Randomize(u64);

impl<B: Backend> ModuleMapper<B> for Randomize {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        self.0 += 1;
        let seed = self.0;
        param.map(|t| {
            let values = floats_in(t.dims(), seed, 0.5, 1.5);
            let require_grad = t.is_require_grad();
            Tensor::from_data(values, &t.device()).set_require_grad(require_grad)
        })
    }
}

fn randomized<Mo: Module<common::Nd>>(module: Mo, seed: u64) -> Mo {
    module.map(&mut Randomize(seed * 1000))
}

// ---- reading values and gradients -------------------------------------------------------------

/// A float input that records its gradient.
fn input<B: AutodiffBackend, const D: usize>(data: &TensorData, dev: &B::Device) -> Tensor<B, D> {
    Tensor::<B, D>::from_data(data.clone(), dev).require_grad()
}

/// Backward pass of `sum(y * w)`, `w` seeded in [-1, 1), so that every output element gets a
/// different upstream gradient (a plain sum would hide permuted or misplaced gradients).
fn backward<B: AutodiffBackend, const D: usize>(y: Tensor<B, D>, seed: u64) -> B::Gradients {
    let w = Tensor::<B, D>::from_data(floats_in(y.dims(), seed, -1.0, 1.0), &y.device());
    (y * w).sum().backward()
}

fn grad<B: AutodiffBackend, const D: usize>(x: &Tensor<B, D>, grads: &B::Gradients) -> TensorData {
    x.grad(grads)
        .expect("the input has no gradient")
        .into_data()
}

/// The usual outputs of a one-input module: its output, the input's gradient and the parameters'.
fn outputs_and_grads<B: AutodiffBackend, Mo: Module<B>, const D: usize, const E: usize>(
    module: &Mo,
    x: &Tensor<B, D>,
    y: Tensor<B, E>,
    seed: u64,
) -> Named {
    let grads = backward(y.clone(), seed);
    let mut outs = vec![
        ("output".to_string(), y.into_data()),
        ("input grad".to_string(), grad(x, &grads)),
    ];
    outs.extend(param_grads(module, &grads));
    outs
}

fn named(name: &str, data: TensorData) -> (String, TensorData) {
    (name.to_string(), data)
}

// ---- linear and convolutions ------------------------------------------------------------------

#[test]
fn linear() {
    for bias in [true, false] {
        let cfg = LinearConfig::new(5, 4).with_bias(bias);
        let case = mod_case!(
            cfg: LinearConfig = cfg.clone(),
            w: Vec<u8> = module_bytes(cfg.init::<common::Nd>(&Default::default())),
            x: TensorData = floats([2, 3, 5], 1);
            |B, dev| {
                let m = load_bytes(cfg.init::<B>(dev), &w, dev);
                let x = input::<B, 3>(&x, dev);
                let y = m.forward(x.clone());
                outputs_and_grads(&m, &x, y, 2)
            }
        );
        check(&format!("Linear bias={bias}"), TOL, &case);
    }
}

#[test]
fn conv1d() {
    let cfgs = [
        Conv1dConfig::new(4, 6, 3),
        // Strided, dilated, grouped, asymmetric padding (padded by an explicit op first).
        Conv1dConfig::new(4, 6, 3)
            .with_stride(2)
            .with_dilation(2)
            .with_groups(2)
            .with_padding(PaddingConfig1d::Explicit(2, 1)),
        Conv1dConfig::new(4, 4, 3)
            .with_padding(PaddingConfig1d::Same)
            .with_groups(4)
            .with_bias(false),
    ];
    for (i, cfg) in cfgs.into_iter().enumerate() {
        let case = mod_case!(
            cfg: Conv1dConfig = cfg.clone(),
            w: Vec<u8> = module_bytes(cfg.init::<common::Nd>(&Default::default())),
            x: TensorData = floats([2, 4, 11], 10 + i as u64);
            |B, dev| {
                let m = load_bytes(cfg.init::<B>(dev), &w, dev);
                let x = input::<B, 3>(&x, dev);
                let y = m.forward(x.clone());
                outputs_and_grads(&m, &x, y, 3)
            }
        );
        check(&format!("Conv1d #{i} {cfg:?}"), TOL, &case);
    }
}

#[test]
fn conv2d() {
    let cfgs = [
        Conv2dConfig::new([3, 5], [3, 3]),
        Conv2dConfig::new([4, 6], [3, 2])
            .with_stride([2, 1])
            .with_dilation([1, 2])
            .with_padding(PaddingConfig2d::Explicit(1, 0, 1, 0)),
        Conv2dConfig::new([4, 6], [3, 3])
            .with_groups(2)
            .with_padding(PaddingConfig2d::Same)
            .with_bias(false),
        // Depthwise, with different padding at each side.
        Conv2dConfig::new([4, 4], [2, 3])
            .with_groups(4)
            .with_stride([1, 2])
            .with_padding(PaddingConfig2d::Explicit(1, 2, 0, 1)),
    ];
    for (i, cfg) in cfgs.into_iter().enumerate() {
        let channels = cfg.channels[0];
        let case = mod_case!(
            cfg: Conv2dConfig = cfg.clone(),
            w: Vec<u8> = module_bytes(cfg.init::<common::Nd>(&Default::default())),
            x: TensorData = floats([2, channels, 7, 6], 20 + i as u64);
            |B, dev| {
                let m = load_bytes(cfg.init::<B>(dev), &w, dev);
                let x = input::<B, 4>(&x, dev);
                let y = m.forward(x.clone());
                outputs_and_grads(&m, &x, y, 4)
            }
        );
        check(&format!("Conv2d #{i} {cfg:?}"), TOL, &case);
    }
}

#[test]
fn conv_transpose2d() {
    let cfgs = [
        ConvTranspose2dConfig::new([3, 4], [3, 3]),
        ConvTranspose2dConfig::new([4, 6], [3, 2])
            .with_stride([2, 1])
            .with_padding([1, 0])
            .with_padding_out([1, 0])
            .with_dilation([1, 2])
            .with_groups(2),
        ConvTranspose2dConfig::new([2, 2], [2, 2])
            .with_stride([2, 2])
            .with_bias(false),
    ];
    for (i, cfg) in cfgs.into_iter().enumerate() {
        let channels = cfg.channels[0];
        let case = mod_case!(
            cfg: ConvTranspose2dConfig = cfg.clone(),
            w: Vec<u8> = module_bytes(cfg.init::<common::Nd>(&Default::default())),
            x: TensorData = floats([2, channels, 4, 5], 30 + i as u64);
            |B, dev| {
                let m = load_bytes(cfg.init::<B>(dev), &w, dev);
                let x = input::<B, 4>(&x, dev);
                let y = m.forward(x.clone());
                outputs_and_grads(&m, &x, y, 5)
            }
        );
        check(&format!("ConvTranspose2d #{i} {cfg:?}"), TOL, &case);
    }
}

// ---- normalisation ----------------------------------------------------------------------------

/// Running statistics, read after the pending updates are applied.
fn running_stats<B: Backend>(bn: &BatchNorm<B>, step: &str) -> Named {
    vec![
        named(
            &format!("{step} running mean"),
            bn.running_mean.value_sync().into_data(),
        ),
        named(
            &format!("{step} running var"),
            bn.running_var.value_sync().into_data(),
        ),
    ]
}

#[test]
fn batch_norm() {
    // Rank 3 ([batch, channels, length]) and rank 4 ([batch, channels, h, w]) inputs.
    let cfg = BatchNormConfig::new(3).with_momentum(0.3);
    let bytes = module_bytes(randomized(cfg.init::<common::Nd>(&Default::default()), 1));
    let case = mod_case!(
        cfg: BatchNormConfig = cfg.clone(),
        w: Vec<u8> = bytes.clone(),
        // The offset and spread make the batch statistics far from the initial running ones.
        x1: TensorData = floats_in([4, 3, 5, 2], 40, -1.0, 5.0),
        x2: TensorData = floats_in([4, 3, 5, 2], 41, -4.0, 2.0),
        x3: TensorData = floats([2, 3, 7], 42),
        xe: TensorData = floats([3, 3, 2, 2], 43);
        |B, dev| {
            let bn = load_bytes(cfg.init::<B>(dev), &w, dev);
            let mut outs = running_stats(&bn, "initial");
            // Two training steps: each normalises with the batch's statistics and moves the
            // running ones.
            for (step, x) in [("step 1", &x1), ("step 2", &x2)] {
                let x = input::<B, 4>(x, dev);
                let y = bn.forward(x.clone());
                for (name, v) in outputs_and_grads(&bn, &x, y, 6) {
                    outs.push((format!("{step} {name}"), v));
                }
                outs.extend(running_stats(&bn, step));
            }
            let x = input::<B, 3>(&x3, dev);
            let y = bn.forward(x.clone());
            for (name, v) in outputs_and_grads(&bn, &x, y, 7) {
                outs.push((format!("rank 3 {name}"), v));
            }
            outs.extend(running_stats(&bn, "rank 3"));
            // Inference: the inner-backend module normalises with the running statistics.
            let eval = bn.valid();
            let y = eval.forward(Tensor::<B::InnerBackend, 4>::from_data(xe.clone(), dev));
            outs.push(named("inference output", y.into_data()));
            outs.extend(running_stats(&eval, "after inference"));
            outs
        }
    );
    check("BatchNorm", TOL, &case);
}

#[test]
fn layer_norm() {
    for bias in [true, false] {
        let cfg = LayerNormConfig::new(6).with_bias(bias);
        let case = mod_case!(
            cfg: LayerNormConfig = cfg.clone(),
            w: Vec<u8> = module_bytes(randomized(cfg.init::<common::Nd>(&Default::default()), 2)),
            x: TensorData = floats_in([2, 3, 6], 50, -2.0, 4.0);
            |B, dev| {
                let m = load_bytes(cfg.init::<B>(dev), &w, dev);
                let x = input::<B, 3>(&x, dev);
                let y = m.forward(x.clone());
                outputs_and_grads(&m, &x, y, 8)
            }
        );
        check(&format!("LayerNorm bias={bias}"), TOL, &case);
    }
}

#[test]
fn group_norm() {
    for (groups, affine) in [(2, true), (3, true), (6, false)] {
        let cfg = GroupNormConfig::new(groups, 6).with_affine(affine);
        let case = mod_case!(
            cfg: GroupNormConfig = cfg.clone(),
            w: Vec<u8> = module_bytes(randomized(cfg.init::<common::Nd>(&Default::default()), 3)),
            x: TensorData = floats_in([2, 6, 3, 4], 60, -2.0, 4.0);
            |B, dev| {
                let m = load_bytes(cfg.init::<B>(dev), &w, dev);
                let x = input::<B, 4>(&x, dev);
                let y = m.forward(x.clone());
                outputs_and_grads(&m, &x, y, 9)
            }
        );
        check(
            &format!("GroupNorm groups={groups} affine={affine}"),
            TOL,
            &case,
        );
    }
}

// ---- dropout ----------------------------------------------------------------------------------

#[test]
fn dropout_extremes_match_ndarray() {
    // p = 0 is the identity. p = 1 keeps nothing and Burn scales by 1 / (1 - p) = inf, so the
    // output is 0 * inf = NaN everywhere, on any backend: MLX must agree exactly.
    for p in [0.0, 1.0] {
        let case = mod_case!(
            p: f64 = p,
            x: TensorData = floats([3, 8], 70);
            |B, dev| {
                let dropout = DropoutConfig::new(p).init();
                let x = input::<B, 2>(&x, dev);
                let y = dropout.forward(x.clone());
                outputs_and_grads(&dropout, &x, y, 10)
            }
        );
        check(&format!("Dropout p={p}"), Tol::EXACT, &case);
    }
}

#[test]
fn dropout_keeps_and_scales_on_mlx() {
    // Random masks differ between backends, so the statistics are checked on MLX alone.
    let dev = mlx_device();
    let n = 64 * 64;
    for p in [0.25, 0.5, 0.8] {
        AM::seed(&dev, 7);
        let dropout = DropoutConfig::new(p).init();
        let x_data = floats_in([64, 64], 71, 0.5, 2.0);
        let x = Tensor::<AM, 2>::from_data(x_data.clone(), &dev).require_grad();
        let y = dropout.forward(x.clone());
        let grads = y.clone().sum().backward();
        let g: Vec<f32> = grad(&x, &grads).to_vec().unwrap();
        let y: Vec<f32> = y.into_data().to_vec().unwrap();
        let x: Vec<f32> = x_data.to_vec().unwrap();

        let scale = 1.0 / (1.0 - p as f32);
        let mut kept = 0;
        for i in 0..n {
            if y[i] == 0.0 {
                // A dropped element passes no gradient.
                assert_eq!(g[i], 0.0, "p={p}: gradient of dropped element {i}");
            } else {
                kept += 1;
                let want = x[i] * scale;
                assert!(
                    (y[i] - want).abs() <= 1e-6 * want.abs(),
                    "p={p}: element {i} is {}, expected {want} (x * 1/(1-p))",
                    y[i]
                );
                assert!(
                    (g[i] - scale).abs() <= 1e-6 * scale,
                    "p={p}: gradient of kept element {i} is {}, expected {scale}",
                    g[i]
                );
            }
        }
        // Binomial(4096, 1-p): the standard deviation of the kept fraction is at most 0.008, so
        // 0.04 is five of them.
        let fraction = kept as f64 / n as f64;
        assert!(
            (fraction - (1.0 - p)).abs() < 0.04,
            "p={p}: kept fraction {fraction}, expected {}",
            1.0 - p
        );

        // The same seed gives the same mask.
        AM::seed(&dev, 7);
        let again = dropout.forward(Tensor::<AM, 2>::from_data(x_data.clone(), &dev));
        let again: Vec<f32> = again.into_data().to_vec().unwrap();
        assert_eq!(again, y, "p={p}: mask not reproducible from the seed");

        // Without autodiff (inference) dropout is the identity.
        let plain = dropout.forward(Tensor::<M, 2>::from_data(x_data.clone(), &dev));
        assert_eq!(plain.into_data(), x_data, "p={p}: inference dropout");
    }
}

// ---- embedding --------------------------------------------------------------------------------

#[test]
fn embedding() {
    let cfg = EmbeddingConfig::new(7, 4);
    let case = mod_case!(
        cfg: EmbeddingConfig = cfg.clone(),
        w: Vec<u8> = module_bytes(cfg.init::<common::Nd>(&Default::default())),
        // 12 lookups among 7 rows: repeated indices, whose gradients must accumulate.
        ids: TensorData = ints([3, 4], 80, 0, 7, DType::I32);
        |B, dev| {
            let m = load_bytes(cfg.init::<B>(dev), &w, dev);
            let ids = Tensor::<B, 2, Int>::from_data(ids.clone(), dev);
            let y = m.forward(ids);
            let grads = backward(y.clone(), 11);
            let mut outs = vec![named("output", y.into_data())];
            outs.extend(param_grads(&m, &grads));
            outs
        }
    );
    check("Embedding", TOL, &case);
}

// ---- attention --------------------------------------------------------------------------------

#[test]
fn multi_head_attention() {
    // Dropout off: its masks are random, so they would differ between backends.
    let cfgs = [
        MultiHeadAttentionConfig::new(8, 2).with_dropout(0.0),
        MultiHeadAttentionConfig::new(8, 4)
            .with_dropout(0.0)
            .with_quiet_softmax(true),
    ];
    for (i, cfg) in cfgs.into_iter().enumerate() {
        for masked in [false, true] {
            let case = mod_case!(
                cfg: MultiHeadAttentionConfig = cfg.clone(),
                w: Vec<u8> = module_bytes(cfg.init::<common::Nd>(&Default::default())),
                masked: bool = masked,
                // Cross attention: 3 queries over 5 keys.
                q: TensorData = floats([2, 3, 8], 90 + i as u64),
                k: TensorData = floats([2, 5, 8], 91 + i as u64),
                v: TensorData = floats([2, 5, 8], 92 + i as u64),
                // Padding: the last key of the second sequence; plus a random attention mask,
                // keeping the first key visible to every query so that no row is fully masked.
                pad: TensorData = TensorData::new(
                    vec![false, false, false, false, false, false, false, false, false, true],
                    [2, 5],
                ),
                attn: TensorData = {
                    let mut m: Vec<bool> = bools([2, 3, 5], 93).to_vec().unwrap();
                    for row in m.chunks_mut(5) {
                        row[0] = false;
                    }
                    TensorData::new(m, [2, 3, 5])
                };
                |B, dev| {
                    let m: MultiHeadAttention<B> = load_bytes(cfg.init::<B>(dev), &w, dev);
                    let (q, k, v) = (
                        input::<B, 3>(&q, dev),
                        input::<B, 3>(&k, dev),
                        input::<B, 3>(&v, dev),
                    );
                    let mut mha_input = MhaInput::new(q.clone(), k.clone(), v.clone());
                    if masked {
                        mha_input = mha_input
                            .mask_pad(Tensor::<B, 2, Bool>::from_data(pad.clone(), dev))
                            .mask_attn(Tensor::<B, 3, Bool>::from_data(attn.clone(), dev));
                    }
                    let out = m.forward(mha_input);
                    // Both outputs feed the loss, so the weights' path gets its own gradient.
                    let w_up = Tensor::<B, 4>::from_data(
                        floats_in(out.weights.dims(), 94, -1.0, 1.0),
                        dev,
                    );
                    let c_up = Tensor::<B, 3>::from_data(
                        floats_in(out.context.dims(), 95, -1.0, 1.0),
                        dev,
                    );
                    let loss = (out.weights.clone() * w_up).sum() + (out.context.clone() * c_up).sum();
                    let grads = loss.backward();
                    let mut outs = vec![
                        named("context", out.context.into_data()),
                        named("weights", out.weights.into_data()),
                        named("query grad", grad(&q, &grads)),
                        named("key grad", grad(&k, &grads)),
                        named("value grad", grad(&v, &grads)),
                    ];
                    outs.extend(param_grads(&m, &grads));
                    outs
                }
            );
            check(
                &format!("MultiHeadAttention #{i} masked={masked}"),
                TOL,
                &case,
            );
        }
    }
}

// ---- recurrent --------------------------------------------------------------------------------

#[test]
fn lstm() {
    for (batch_first, with_state) in [(true, false), (false, true)] {
        let cfg = LstmConfig::new(3, 4, true).with_batch_first(batch_first);
        let shape = if batch_first { [2, 5, 3] } else { [5, 2, 3] };
        let case = mod_case!(
            cfg: LstmConfig = cfg.clone(),
            w: Vec<u8> = module_bytes(cfg.init::<common::Nd>(&Default::default())),
            with_state: bool = with_state,
            x: TensorData = floats(shape, 100),
            c0: TensorData = floats_in([2, 4], 101, -1.0, 1.0),
            h0: TensorData = floats_in([2, 4], 102, -1.0, 1.0);
            |B, dev| {
                let m = load_bytes(cfg.init::<B>(dev), &w, dev);
                let x = input::<B, 3>(&x, dev);
                let (c0, h0) = (input::<B, 2>(&c0, dev), input::<B, 2>(&h0, dev));
                let state = with_state.then(|| LstmState::new(c0.clone(), h0.clone()));
                let (y, last) = m.forward(x.clone(), state);
                // The loss reads the whole sequence and the final cell state.
                let loss = (y.clone() * Tensor::from_data(floats_in(y.dims(), 103, -1.0, 1.0), dev))
                    .sum()
                    + (last.cell.clone() * Tensor::from_data(floats_in([2, 4], 104, -1.0, 1.0), dev))
                        .sum();
                let grads = loss.backward();
                let mut outs = vec![
                    named("output", y.into_data()),
                    named("final cell", last.cell.into_data()),
                    named("final hidden", last.hidden.into_data()),
                    named("input grad", grad(&x, &grads)),
                ];
                if with_state {
                    outs.push(named("initial cell grad", grad(&c0, &grads)));
                    outs.push(named("initial hidden grad", grad(&h0, &grads)));
                }
                outs.extend(param_grads(&m, &grads));
                outs
            }
        );
        check(
            &format!("Lstm batch_first={batch_first} state={with_state}"),
            TOL,
            &case,
        );
    }
}

#[test]
fn bi_lstm() {
    let cfg = BiLstmConfig::new(3, 4, true);
    let case = mod_case!(
        cfg: BiLstmConfig = cfg.clone(),
        w: Vec<u8> = module_bytes(cfg.init::<common::Nd>(&Default::default())),
        x: TensorData = floats([2, 4, 3], 110);
        |B, dev| {
            let m = load_bytes(cfg.init::<B>(dev), &w, dev);
            let x = input::<B, 3>(&x, dev);
            let (y, last) = m.forward(x.clone(), None);
            let mut outs = outputs_and_grads(&m, &x, y, 12);
            outs.push(named("final cell", last.cell.into_data()));
            outs.push(named("final hidden", last.hidden.into_data()));
            outs
        }
    );
    check("BiLstm", TOL, &case);
}

// ---- pooling ----------------------------------------------------------------------------------

/// A parameter-free module with one float input: output and the input's gradient.
macro_rules! pool_case {
    ($label:expr, $cfg_ty:ty, $cfg:expr, $rank:literal, $shape:expr, $seed:expr) => {{
        let case = mod_case!(
            cfg: $cfg_ty = $cfg,
            x: TensorData = floats($shape, $seed);
            |B, dev| {
                let pool = cfg.init();
                let x = input::<B, $rank>(&x, dev);
                let y = pool.forward(x.clone());
                outputs_and_grads(&pool, &x, y, 13)
            }
        );
        check($label, TOL, &case);
    }};
}

#[test]
fn max_pool2d() {
    let cfgs = [
        MaxPool2dConfig::new([2, 2]),
        MaxPool2dConfig::new([3, 2])
            .with_strides([2, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 2]),
        // Padded on one side only: Burn pads with -inf explicitly first.
        MaxPool2dConfig::new([3, 3])
            .with_strides([2, 2])
            .with_padding(PaddingConfig2d::Explicit(0, 1, 1, 0)),
        MaxPool2dConfig::new([3, 3])
            .with_strides([2, 2])
            .with_ceil_mode(true),
    ];
    for (i, cfg) in cfgs.into_iter().enumerate() {
        let label = format!("MaxPool2d #{i} {cfg:?}");
        pool_case!(
            &label,
            MaxPool2dConfig,
            cfg,
            4,
            [2, 3, 7, 6],
            120 + i as u64
        );
    }
}

#[test]
fn avg_pool2d() {
    let cfgs = [
        AvgPool2dConfig::new([2, 2]),
        AvgPool2dConfig::new([3, 2])
            .with_strides([2, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)),
        AvgPool2dConfig::new([3, 2])
            .with_strides([2, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_count_include_pad(false),
        AvgPool2dConfig::new([3, 3])
            .with_strides([2, 2])
            .with_ceil_mode(true)
            .with_count_include_pad(false),
    ];
    for (i, cfg) in cfgs.into_iter().enumerate() {
        let label = format!("AvgPool2d #{i} {cfg:?}");
        pool_case!(
            &label,
            AvgPool2dConfig,
            cfg,
            4,
            [2, 3, 7, 6],
            130 + i as u64
        );
    }
}

#[test]
fn adaptive_avg_pool() {
    // Output sizes that do not divide the input: windows overlap and differ in size.
    for (i, out) in [[3, 2], [1, 1], [7, 4]].into_iter().enumerate() {
        let label = format!("AdaptiveAvgPool2d {out:?}");
        let cfg = AdaptiveAvgPool2dConfig::new(out);
        pool_case!(
            &label,
            AdaptiveAvgPool2dConfig,
            cfg,
            4,
            [2, 3, 7, 5],
            140 + i as u64
        );
    }
    for (i, out) in [3, 1].into_iter().enumerate() {
        let label = format!("AdaptiveAvgPool1d {out}");
        let cfg = AdaptiveAvgPool1dConfig::new(out);
        pool_case!(
            &label,
            AdaptiveAvgPool1dConfig,
            cfg,
            3,
            [2, 3, 8],
            145 + i as u64
        );
    }
}

#[test]
fn pool1d() {
    let max = [
        MaxPool1dConfig::new(2),
        MaxPool1dConfig::new(3)
            .with_stride(2)
            .with_padding(PaddingConfig1d::Explicit(1, 1))
            .with_dilation(2),
        MaxPool1dConfig::new(3)
            .with_stride(2)
            .with_padding(PaddingConfig1d::Explicit(0, 2)),
    ];
    for (i, cfg) in max.into_iter().enumerate() {
        let label = format!("MaxPool1d #{i} {cfg:?}");
        pool_case!(&label, MaxPool1dConfig, cfg, 3, [2, 3, 11], 150 + i as u64);
    }
    let avg = [
        AvgPool1dConfig::new(2),
        AvgPool1dConfig::new(3)
            .with_stride(2)
            .with_padding(PaddingConfig1d::Explicit(1, 1)),
        AvgPool1dConfig::new(3)
            .with_stride(2)
            .with_padding(PaddingConfig1d::Explicit(1, 1))
            .with_count_include_pad(false)
            .with_ceil_mode(true),
    ];
    for (i, cfg) in avg.into_iter().enumerate() {
        let label = format!("AvgPool1d #{i} {cfg:?}");
        pool_case!(&label, AvgPool1dConfig, cfg, 3, [2, 3, 11], 160 + i as u64);
    }
}

// ---- end to end: a few optimizer steps ----------------------------------------------------------

#[derive(Module, Debug)]
struct Mlp<B: Backend> {
    hidden: Linear<B>,
    out: Linear<B>,
    act: Relu,
}

impl<B: Backend> Mlp<B> {
    fn new(dev: &B::Device) -> Self {
        Mlp {
            hidden: LinearConfig::new(6, 16).init(dev),
            out: LinearConfig::new(16, 3).init(dev),
            act: Relu::new(),
        }
    }

    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.out.forward(self.act.forward(self.hidden.forward(x)))
    }
}

#[test]
fn mlp_adam_training() {
    let case = mod_case!(
        w: Vec<u8> = module_bytes(Mlp::<common::Nd>::new(&Default::default())),
        x: TensorData = floats([8, 6], 170),
        target: TensorData = floats_in([8, 3], 171, -1.0, 1.0);
        |B, dev| {
            let mut model = load_bytes(Mlp::<B>::new(dev), &w, dev);
            let mut optim = AdamConfig::new().init::<B, Mlp<B>>();
            let x = Tensor::<B, 2>::from_data(x.clone(), dev);
            let target = Tensor::<B, 2>::from_data(target.clone(), dev);
            let mut outs = vec![];
            for step in 0..5 {
                // Mean squared error.
                let loss = (model.forward(x.clone()) - target.clone()).square().mean();
                outs.push(named(&format!("loss {step}"), loss.clone().into_data()));
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(1e-2, model, grads);
            }
            let model = model.valid();
            outs.push(named("final hidden weight", model.hidden.weight.val().into_data()));
            outs.push(named("final out weight", model.out.weight.val().into_data()));
            outs.push(named("final out bias", model.out.bias.unwrap().val().into_data()));
            outs
        }
    );
    check("MLP + Adam, 5 steps", TOL, &case);
}

/// conv → ReLU → conv → ReLU → max-pool → linear: every image op of a small CNN, so the
/// convolutions' channels-last results flow through ReLU, its backward pass, max pooling with
/// indices and the bias gradients as they do in training.
#[derive(Module, Debug)]
struct SmallCnn<B: Backend> {
    conv1: burn::nn::conv::Conv2d<B>,
    conv2: burn::nn::conv::Conv2d<B>,
    pool: burn::nn::pool::MaxPool2d,
    out: Linear<B>,
    act: Relu,
}

impl<B: Backend> SmallCnn<B> {
    fn new(dev: &B::Device) -> Self {
        SmallCnn {
            conv1: Conv2dConfig::new([2, 4], [3, 3]).init(dev),
            conv2: Conv2dConfig::new([4, 6], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(dev),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            out: LinearConfig::new(6 * 3 * 3, 3).init(dev),
            act: Relu::new(),
        }
    }

    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = self.act.forward(self.conv1.forward(x));
        let x = self.pool.forward(self.act.forward(self.conv2.forward(x)));
        self.out.forward(x.flatten(1, 3))
    }
}

#[test]
fn cnn_adam_training() {
    let case = mod_case!(
        w: Vec<u8> = module_bytes(SmallCnn::<common::Nd>::new(&Default::default())),
        x: TensorData = floats([4, 2, 8, 8], 172),
        target: TensorData = floats_in([4, 3], 173, -1.0, 1.0);
        |B, dev| {
            let mut model = load_bytes(SmallCnn::<B>::new(dev), &w, dev);
            let mut optim = AdamConfig::new().init::<B, SmallCnn<B>>();
            let x = Tensor::<B, 4>::from_data(x.clone(), dev);
            let target = Tensor::<B, 2>::from_data(target.clone(), dev);
            let mut outs = vec![];
            for step in 0..4 {
                let loss = (model.forward(x.clone()) - target.clone()).square().mean();
                outs.push(named(&format!("loss {step}"), loss.clone().into_data()));
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(1e-2, model, grads);
            }
            let model = model.valid();
            outs.push(named("final conv1 weight", model.conv1.weight.val().into_data()));
            outs.push(named("final conv1 bias", model.conv1.bias.unwrap().val().into_data()));
            outs.push(named("final conv2 weight", model.conv2.weight.val().into_data()));
            outs.push(named("final conv2 bias", model.conv2.bias.unwrap().val().into_data()));
            outs.push(named("final out weight", model.out.weight.val().into_data()));
            outs
        }
    );
    check("CNN + Adam, 4 steps", TOL, &case);
}
