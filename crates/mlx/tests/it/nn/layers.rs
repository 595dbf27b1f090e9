//! Layers against Python MLX and closed forms.

use mlx::nn::{self, Module};
use mlx::{Array, Parameters, ops};

use super::*;

#[test]
fn linear_matches_python_and_the_closed_form() {
    mlx::random::seed(1).unwrap();
    let layer = nn::Linear::new(5, 3).unwrap();
    assert_eq!(layer.weight.shape(), &[3, 5]);
    let x = input(&[4, 5], 1);
    let y = check_against_python(&layer, "nn.Linear(5, 3)", &x, false, 1e-5);
    let want = &x.matmul(&layer.weight.t().unwrap()).unwrap() + layer.bias.as_ref().unwrap();
    assert_arrays_close(&y, &want, 1e-6, 1e-6);
    // The default init is uniform(-1/sqrt(5), 1/sqrt(5)).
    let bound = 1.0 / 5f64.sqrt();
    assert!(values(&layer.weight).iter().all(|w| w.abs() <= bound));

    let no_bias = nn::Linear::with_bias(5, 3, false).unwrap();
    assert_eq!(no_bias.param_names(), ["weight"]);
    check_against_python(&no_bias, "nn.Linear(5, 3, bias=False)", &x, false, 1e-5);
    assert!(nn::Linear::new(0, 3).is_err());
}

#[test]
fn bilinear_matches_python() {
    mlx::random::seed(2).unwrap();
    let layer = nn::Bilinear::new(3, 4, 2, true).unwrap();
    let (x1, x2) = (input(&[2, 5, 3], 2), input(&[2, 5, 4], 3));
    let y = layer.forward(&x1, &x2).unwrap();
    assert_eq!(y.shape(), &[2, 5, 2]);
    // Closed form for one element: x1 W[k] x2 + b[k].
    let w = values(&layer.weight);
    let (a, b) = (values(&x1), values(&x2));
    let bias = values(layer.bias.as_ref().unwrap());
    for k in 0..2 {
        let mut s = bias[k];
        for i in 0..3 {
            for j in 0..4 {
                s += a[i] * w[k * 12 + j * 3 + i] * b[j];
            }
        }
        assert!(
            (values(&y)[k] - s).abs() < 1e-5,
            "k={k}: {} vs {s}",
            values(&y)[k]
        );
    }
    let params = named_params(&layer, "m");
    let mut inputs: Vec<(&str, &Array)> = params.iter().map(|(k, v)| (k.as_str(), v)).collect();
    inputs.extend([("x1", &x1), ("x2", &x2)]);
    if let Some(out) = python_mlx(
        "m = load(nn.Bilinear(3, 4, 2), 'm')\nout['y'] = m(inp['x1'], inp['x2'])",
        &inputs,
    ) {
        assert_arrays_close(&y, &out["y"], 1e-5, 1e-5);
    }
}

#[test]
fn identity_passes_through() {
    let x = input(&[2, 3], 4);
    let y = nn::Identity::new().forward(&x).unwrap();
    assert!(
        ops::array_equal(&x, &y, false)
            .unwrap()
            .item::<bool>()
            .unwrap()
    );
}

#[derive(Parameters, Clone)]
struct Two {
    a: nn::Linear,
    b: Vec<nn::Linear>,
}

#[test]
fn train_eval_and_freeze_reach_every_layer() {
    let mut m = Two {
        a: nn::Linear::new(2, 2).unwrap(),
        b: vec![
            nn::Linear::new(2, 2).unwrap(),
            nn::Linear::new(2, 2).unwrap(),
        ],
    };
    assert!(m.training());
    m.eval();
    assert!(!m.training() && !m.b[1].training());
    m.train(true);
    assert!(m.b[1].training());

    assert_eq!(m.trainable_params().len(), 6);
    m.freeze();
    assert!(m.trainable_params().is_empty());
    m.unfreeze();
    m.freeze_keys(&["bias"]);
    let names: Vec<String> = m.trainable_params().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["a.weight", "b.0.weight", "b.1.weight"]);
    m.unfreeze_keys(&["bias"]);
    m.b[0].freeze();
    let names: Vec<String> = m.trainable_params().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["a.weight", "a.bias", "b.1.weight", "b.1.bias"]);
    // A frozen layer gets no gradient (zeros) and the others do.
    let x = input(&[3, 2], 5);
    let (_, grads) = mlx::transforms::value_and_grad_params(&m, |m: &Two| {
        let h = m.a.forward(&x)?;
        m.b[1].forward(&m.b[0].forward(&h)?)?.sum(None, false)
    })
    .unwrap();
    assert!(values(&grads.b[0].weight).iter().all(|g| *g == 0.0));
    assert!(values(&grads.a.weight).iter().any(|g| *g != 0.0));
}

#[test]
fn convolutions_match_python() {
    mlx::random::seed(3).unwrap();
    use mlx::ops::{ConvOptions, ConvTransposeOptions};
    let x1 = input(&[2, 9, 4], 10);
    let x2 = input(&[2, 7, 6, 4], 11);
    let x3 = input(&[1, 5, 6, 5, 4], 12);
    check_against_python(
        &nn::Conv1d::new(4, 6, 3).unwrap(),
        "nn.Conv1d(4, 6, 3)",
        &x1,
        false,
        1e-4,
    );
    let strided = nn::Conv1d::with_options(
        4,
        6,
        3,
        ConvOptions::new()
            .with_stride(2)
            .with_padding(1)
            .with_dilation(2)
            .with_groups(2),
        false,
    )
    .unwrap();
    assert_eq!(strided.weight.shape(), &[6, 3, 2]);
    check_against_python(
        &strided,
        "nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, bias=False)",
        &x1,
        false,
        1e-4,
    );
    let c2 = nn::Conv2d::with_options(
        4,
        5,
        [3, 2],
        ConvOptions::new().with_stride([2, 1]).with_padding([1, 0]),
        true,
    )
    .unwrap();
    check_against_python(
        &c2,
        "nn.Conv2d(4, 5, (3, 2), stride=(2, 1), padding=(1, 0))",
        &x2,
        false,
        1e-4,
    );
    check_against_python(
        &nn::Conv3d::new(4, 3, 2).unwrap(),
        "nn.Conv3d(4, 3, 2)",
        &x3,
        false,
        1e-4,
    );
    let t1 = nn::ConvTranspose1d::with_options(
        4,
        3,
        3,
        ConvTransposeOptions::new()
            .with_stride(2)
            .with_padding(1)
            .with_output_padding(1),
        true,
    )
    .unwrap();
    check_against_python(
        &t1,
        "nn.ConvTranspose1d(4, 3, 3, stride=2, padding=1, output_padding=1)",
        &x1,
        false,
        1e-4,
    );
    check_against_python(
        &nn::ConvTranspose2d::new(4, 2, 3).unwrap(),
        "nn.ConvTranspose2d(4, 2, 3)",
        &x2,
        false,
        1e-4,
    );
    check_against_python(
        &nn::ConvTranspose3d::new(4, 2, 2).unwrap(),
        "nn.ConvTranspose3d(4, 2, 2)",
        &x3,
        false,
        1e-4,
    );
    // A 1x1 convolution is a linear map over channels.
    let point = nn::Conv2d::new(4, 5, 1).unwrap();
    let y = point.forward(&x2).unwrap();
    let w = point.weight.reshape(&[5, 4]).unwrap();
    assert_arrays_close(&y, &x2.matmul(&w.t().unwrap()).unwrap(), 1e-5, 1e-5);
    assert!(nn::Conv2d::with_options(4, 6, 3, ConvOptions::new().with_groups(3), true).is_err());
    assert!(nn::Conv1d::new(4, 6, 0).is_err());
}

#[test]
fn norms_match_python() {
    let x = input(&[2, 3, 4, 8], 20);
    let scaled = |v: f64| -> Array { &input(&[8], 21) * v };
    let mut ln = nn::LayerNorm::new(8).unwrap();
    ln.weight = Some(&scaled(2.0) + 1.0);
    ln.bias = Some(scaled(0.5));
    check_against_python(&ln, "nn.LayerNorm(8)", &x, false, 1e-4);
    check_against_python(
        &nn::LayerNorm::with_options(8, 1e-3, true, false).unwrap(),
        "nn.LayerNorm(8, eps=1e-3, bias=False)",
        &x,
        false,
        1e-4,
    );
    let mut rms = nn::RMSNorm::new(8).unwrap();
    rms.weight = &scaled(1.0) + 1.5;
    check_against_python(&rms, "nn.RMSNorm(8)", &x, false, 1e-4);
    let mut gn = nn::GroupNorm::new(4, 8).unwrap();
    gn.bias = Some(scaled(0.3));
    check_against_python(&gn, "nn.GroupNorm(4, 8)", &x, false, 1e-4);
    let pt = nn::GroupNorm::with_options(2, 8, 1e-5, true, true).unwrap();
    check_against_python(
        &pt,
        "nn.GroupNorm(2, 8, pytorch_compatible=True)",
        &x,
        false,
        1e-4,
    );
    check_against_python(
        &nn::InstanceNorm::new(8).unwrap(),
        "nn.InstanceNorm(8)",
        &x,
        false,
        1e-4,
    );
    let ina = nn::InstanceNorm::with_options(8, 1e-5, true).unwrap();
    check_against_python(&ina, "nn.InstanceNorm(8, affine=True)", &x, false, 1e-4);
    assert!(nn::GroupNorm::new(3, 8).is_err());
    assert!(nn::LayerNorm::with_options(8, 0.0, true, true).is_err());

    // LayerNorm closed form: each row has zero mean and unit variance.
    let y = nn::LayerNorm::new(8).unwrap().forward(&x).unwrap();
    let mean = values(&y.mean(Some(&[-1]), false).unwrap());
    assert!(mean.iter().all(|m| m.abs() < 1e-5));
}

#[test]
fn batch_norm_matches_python_in_both_modes_and_updates_running_stats() {
    let x = input(&[6, 5, 4], 30);
    let mut bn = nn::BatchNorm::new(4).unwrap();
    assert_eq!(
        bn.param_names(),
        ["weight", "bias", "running_mean", "running_var"]
    );
    let trainable: Vec<String> = bn.trainable_params().into_iter().map(|(k, _)| k).collect();
    assert_eq!(trainable, ["weight", "bias"]);
    bn.unfreeze();
    assert_eq!(
        bn.trainable_params().len(),
        2,
        "running statistics stay frozen"
    );
    // Training mode: batch statistics, and two updates of the running ones.
    let y_train = bn.forward_train(&x).unwrap();
    let x2 = &input(&[6, 5, 4], 31) * 3.0;
    bn.forward_train(&x2).unwrap();
    let mut inputs = vec![("x", &x), ("x2", &x2)];
    let rm = bn.running_mean.clone().unwrap();
    let rv = bn.running_var.clone().unwrap();
    inputs.push(("rm", &rm));
    inputs.push(("rv", &rv));
    bn.eval();
    let y_eval = bn.forward(&x).unwrap();
    let body = "m = nn.BatchNorm(4)\nout['train'] = m(inp['x'])\nm(inp['x2'])\n\
                out['rm'] = m.running_mean\nout['rv'] = m.running_var\nm.eval()\n\
                out['eval'] = m(inp['x'])";
    if let Some(out) = python_mlx(body, &inputs) {
        assert_arrays_close(&y_train, &out["train"], 1e-4, 1e-4);
        assert_arrays_close(&rm, &out["rm"], 1e-5, 1e-5);
        assert_arrays_close(&rv, &out["rv"], 1e-5, 1e-5);
        assert_arrays_close(&y_eval, &out["eval"], 1e-4, 1e-4);
    }
    // Closed form of the first running mean update: 0.9 * 0 + 0.1 * batch mean.
    let batch_mean = values(&x.mean(Some(&[0, 1]), false).unwrap());
    let fresh = {
        let mut b = nn::BatchNorm::new(4).unwrap();
        b.forward_train(&x).unwrap();
        values(b.running_mean.as_ref().unwrap())
    };
    for (f, m) in fresh.iter().zip(&batch_mean) {
        assert!((f - 0.1 * m).abs() < 1e-6);
    }
    assert!(
        nn::BatchNorm::new(4)
            .unwrap()
            .forward(&input(&[1, 1, 1, 1, 4], 1))
            .is_err()
    );
}

#[test]
fn dropout_scales_what_it_keeps_and_is_the_identity_in_eval_mode() {
    mlx::random::seed(4).unwrap();
    let x = Array::ones::<f32>(&[200, 50]).unwrap();
    let mut d = nn::Dropout::new(0.25).unwrap();
    let y = values(&d.forward(&x).unwrap());
    let kept = y.iter().filter(|v| **v != 0.0).count() as f64 / y.len() as f64;
    assert!((kept - 0.75).abs() < 0.02, "kept fraction {kept}");
    assert!(y.iter().all(|v| *v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
    d.eval();
    assert_eq!(values(&d.forward(&x).unwrap()), values(&x));

    // Channel dropout: each (sample, channel) is kept or dropped as a whole.
    let x2 = Array::ones::<f32>(&[4, 3, 3, 16]).unwrap();
    let y2 = nn::Dropout::new_2d(0.5).unwrap().forward(&x2).unwrap();
    let per_channel = y2.max(Some(&[1, 2]), false).unwrap();
    let lo = y2.min(Some(&[1, 2]), false).unwrap();
    assert_eq!(values(&per_channel), values(&lo));
    let y3 = nn::Dropout::new_3d(0.5)
        .unwrap()
        .forward(&Array::ones::<f32>(&[2, 2, 3, 3, 8]).unwrap())
        .unwrap();
    assert_eq!(
        values(&y3.max(Some(&[1, 2, 3]), false).unwrap()),
        values(&y3.min(Some(&[1, 2, 3]), false).unwrap())
    );
    assert!(
        nn::Dropout::new_2d(0.5)
            .unwrap()
            .forward(&input(&[3, 4], 1))
            .is_err()
    );
    assert!(nn::Dropout::new(1.0).is_err());
}

#[test]
fn embedding_matches_python() {
    mlx::random::seed(5).unwrap();
    let e = nn::Embedding::new(10, 6).unwrap();
    let idx = Array::from_slice(&[1i32, 7, 0, 9, 7, 3], &[2, 3]).unwrap();
    let y = check_against_python(&e, "nn.Embedding(10, 6)", &idx, false, 0.0);
    assert_eq!(y.shape(), &[2, 3, 6]);
    let row7 = ops::take_index(&e.weight, 7, Some(0)).unwrap();
    let got = y.reshape(&[6, 6]).unwrap();
    assert_eq!(values(&got)[6..12], values(&row7)[..]);
    let h = input(&[2, 6], 6);
    assert_arrays_close(
        &e.as_linear(&h).unwrap(),
        &h.matmul(&e.weight.t().unwrap()).unwrap(),
        1e-6,
        1e-6,
    );
}

#[derive(Parameters, Clone)]
struct Tiny {
    embed: nn::Embedding,
    proj: nn::Linear,
    head: nn::Linear,
}

#[test]
fn quantized_layers_match_python() {
    mlx::random::seed(6).unwrap();
    let dense = nn::Linear::new(128, 16).unwrap();
    let x = input(&[3, 128], 7);
    let mut q = dense.clone();
    q.quantize(nn::Quantization::default()).unwrap();
    assert_eq!(q.weight.dtype(), mlx::Dtype::Uint32);
    assert_eq!(q.param_names(), ["weight", "bias", "scales", "biases"]);
    assert!(
        q.trainable_params().is_empty(),
        "quantized layers are frozen"
    );
    assert!(q.quantize(nn::Quantization::default()).is_err());
    let y = q.forward(&x).unwrap();
    // Close to the dense layer (4-bit error), and exactly Python's packing.
    let y_dense = dense.forward(&x).unwrap();
    assert_arrays_close(&y, &y_dense, 0.1, 0.1);
    let q8 = {
        let mut l = dense.clone();
        l.quantize(nn::Quantization::new(
            Some(32),
            Some(8),
            mlx::ops::QuantizationMode::Affine,
        ))
        .unwrap();
        l
    };
    let y8 = q8.forward(&x).unwrap();
    let params = named_params(&dense, "d");
    let mut inputs: Vec<(&str, &Array)> = params.iter().map(|(k, v)| (k.as_str(), v)).collect();
    inputs.push(("x", &x));
    let body = "d = nn.Linear(128, 16)\nd.load_weights([(k[2:], v) for k, v in inp.items() if k.startswith('d.')])\n\
                q = nn.QuantizedLinear.from_linear(d)\nout['y'] = q(inp['x'])\nout['w'] = q.weight\n\
                out['s'] = q.scales\nout['b'] = q.biases\n\
                q8 = nn.QuantizedLinear.from_linear(d, group_size=32, bits=8)\nout['y8'] = q8(inp['x'])";
    if let Some(out) = python_mlx(body, &inputs) {
        assert_arrays_close(&y, &out["y"], 1e-5, 1e-5);
        assert_arrays_close(&y8, &out["y8"], 1e-5, 1e-5);
        assert_eq!(values(&q.weight), values(&out["w"]));
        assert_arrays_close(q.scales.as_ref().unwrap(), &out["s"], 0.0, 0.0);
        assert_arrays_close(q.biases.as_ref().unwrap(), &out["b"], 0.0, 0.0);
    }

    // A whole model: embedding and the layers whose width divides the group size.
    let mut model = Tiny {
        embed: nn::Embedding::new(10, 64).unwrap(),
        proj: nn::Linear::new(64, 8).unwrap(),
        head: nn::Linear::new(8, 3).unwrap(),
    };
    let reference = model.clone();
    assert!(nn::quantize(&mut model.clone(), nn::Quantization::default()).is_err());
    nn::quantize_where(&mut model, nn::Quantization::default(), |path, layer| {
        layer
            .downcast_ref::<nn::Linear>()
            .is_none_or(|l| l.weight.shape()[1] % 64 == 0)
            && path != "never"
    })
    .unwrap();
    assert!(model.embed.is_quantized() && model.proj.is_quantized());
    assert!(!model.head.is_quantized());
    let ids = Array::from_slice(&[3i32, 9, 0], &[3]).unwrap();
    let run = |m: &Tiny| {
        let h = m.embed.forward(&ids).unwrap();
        let logits = m.head.forward(&m.proj.forward(&h).unwrap()).unwrap();
        let tied = m.embed.as_linear(&h).unwrap();
        (h, logits, tied)
    };
    let (h, logits, tied) = run(&model);
    let (h0, logits0, _) = run(&reference);
    assert_arrays_close(&h, &h0, 0.05, 0.05);
    assert_arrays_close(&logits, &logits0, 0.1, 0.1);
    let params = named_params(&model, "m");
    let mut inputs: Vec<(&str, &Array)> = params.iter().map(|(k, v)| (k.as_str(), v)).collect();
    inputs.extend([("ids", &ids), ("h", &h)]);
    let body = "class Tiny(nn.Module):\n    def __init__(self):\n        super().__init__()\n        \
                self.embed = nn.Embedding(10, 64)\n        self.proj = nn.Linear(64, 8)\n        \
                self.head = nn.Linear(8, 3)\n\
                m = Tiny()\nnn.quantize(m, class_predicate=lambda p, l: hasattr(l, 'to_quantized') and p != 'head')\n\
                load(m, 'm')\nh = m.embed(inp['ids'])\nout['h'] = h\nout['logits'] = m.head(m.proj(h))\n\
                out['tied'] = m.embed.as_linear(inp['h'])";
    if let Some(out) = python_mlx(body, &inputs) {
        assert_arrays_close(&h, &out["h"], 1e-6, 1e-6);
        assert_arrays_close(&logits, &out["logits"], 1e-5, 1e-5);
        assert_arrays_close(&tied, &out["tied"], 1e-4, 1e-4);
    }
}

/// On the CPU, inputs of many rows take the dequantized path (one pass over the weight, then
/// BLAS) instead of MLX's quantized kernel: same values, with float32 and float16 scales.
#[test]
fn quantized_layers_on_many_rows_equal_the_quantized_kernel() {
    mlx::with_device(mlx::Device::cpu(), || {
        mlx::random::seed(11).unwrap();
        for half_scales in [false, true] {
            let dense = nn::Linear::new(128, 24).unwrap();
            let weight = if half_scales {
                dense.weight.astype(mlx::Dtype::Float16).unwrap()
            } else {
                dense.weight.clone()
            };
            let mut q = nn::Linear::from_weights(weight, None).unwrap();
            q.quantize(nn::Quantization::default()).unwrap();
            let scales = q.scales.clone().unwrap();
            assert_eq!(scales.dtype() == mlx::Dtype::Float16, half_scales);
            let options = nn::Quantization::default().options();
            for rows in [1, 7, 8, 40] {
                let x = input(&[rows, 128], rows as u64);
                let want = ops::quantized_matmul(
                    &x,
                    &q.weight,
                    &scales,
                    q.biases.as_ref(),
                    true,
                    &options,
                )
                .unwrap();
                let got = q.forward(&x).unwrap();
                assert_eq!(got.dtype(), want.dtype());
                assert_arrays_close(&got, &want, 1e-5, 1e-5);
            }
        }
        // The tied output projection of a quantized embedding, over 3 x 8 positions.
        let mut embed = nn::Embedding::new(40, 64).unwrap();
        embed.quantize(nn::Quantization::default()).unwrap();
        let h = input(&[3, 8, 64], 5);
        let want = ops::quantized_matmul(
            &h,
            &embed.weight,
            embed.scales.as_ref().unwrap(),
            embed.biases.as_ref(),
            true,
            &nn::Quantization::default().options(),
        )
        .unwrap();
        assert_arrays_close(&embed.as_linear(&h).unwrap(), &want, 1e-5, 1e-5);
    })
    .unwrap();
}

#[test]
fn qq_linear_quantizes_inputs_and_weights_as_python_does() {
    use mlx::ops::QuantizationMode::{Affine, Mxfp8, Nvfp4};
    mlx::random::seed(11).unwrap();
    let dense = nn::Linear::with_bias(64, 8, false).unwrap();
    // One row: MLX's CPU back end computes these products for a single row of a packed weight
    // only ("NYI for the general case"); GPUs take any shape.
    let x = input(&[1, 64], 12);
    let computed = |y: Result<Array, mlx::Error>| {
        y.and_then(|y| {
            y.eval()?;
            Ok(y)
        })
    };
    for mode in [Nvfp4, Mxfp8] {
        let mut layer = nn::QQLinear::from_linear(&dense, None, None, mode).unwrap();
        assert!(!layer.is_quantized());
        assert_eq!(layer.param_names(), ["weight"]);
        let on_the_fly = computed(layer.forward(&x));
        layer.quantize().unwrap();
        assert!(layer.is_quantized());
        assert_eq!(layer.weight.dtype(), mlx::Dtype::Uint32);
        assert_eq!(layer.param_names(), ["weight", "scales"]);
        let y = computed(layer.forward(&x)).unwrap();
        // Low-precision products: near the float layer, not equal to it.
        assert_arrays_close(&y, &dense.forward(&x).unwrap(), 0.25, 0.25);
        match on_the_fly {
            // Packing once or on every call gives the same values.
            Ok(y_dense_form) => assert_arrays_close(&y_dense_form, &y, 0.0, 0.0),
            Err(e) => {
                assert_eq!(mlx::Device::default().kind, mlx::DeviceType::Cpu);
                assert!(e.to_string().contains("QQMatmul"), "{e}");
            }
        }
        let mode_name = if mode == Nvfp4 { "nvfp4" } else { "mxfp8" };
        let body = format!(
            "d = nn.Linear(64, 8, bias=False)\nload(d, 'd')\n\
             q = nn.QQLinear.from_linear(d, mode='{mode_name}')\nq.eval()\n\
             out['y'] = q(inp['x'])\nout['w'] = q.weight\nout['s'] = q.scales"
        );
        let params = named_params(&dense, "d");
        let mut inputs: Vec<(&str, &Array)> = params.iter().map(|(k, v)| (k.as_str(), v)).collect();
        inputs.push(("x", &x));
        if let Some(out) = python_mlx(&body, &inputs) {
            assert_arrays_close(&y, &out["y"], 1e-6, 1e-6);
            assert_eq!(values(&layer.weight), values(&out["w"]));
            assert_eq!(values(layer.scales.as_ref().unwrap()), values(&out["s"]));
        }
        layer.dequantize().unwrap();
        assert_eq!(layer.weight.dtype(), mlx::Dtype::Float32);
        assert!(layer.scales.is_none());
    }
    // What the layer refuses: affine mode, a bias, a width not a multiple of the group.
    assert!(nn::QQLinear::new(64, 8, None, None, Affine).is_err());
    assert!(
        nn::QQLinear::from_linear(&nn::Linear::new(64, 8).unwrap(), None, None, Nvfp4).is_err()
    );
    assert!(nn::QQLinear::new(40, 8, None, None, Mxfp8).is_err());
    assert!(nn::QQLinear::new(0, 8, None, None, Nvfp4).is_err());
}

#[test]
fn sequential_applies_layers_in_order_with_python_names() {
    use mlx::Parameters;
    mlx::random::seed(17).unwrap();
    let mut model = nn::Sequential::new((
        nn::Linear::new(4, 8).unwrap(),
        nn::ReLU::new(),
        nn::Linear::new(8, 3).unwrap(),
        nn::Tanh::new(),
    ));
    assert_eq!(
        model.param_names(),
        [
            "layers.0.weight",
            "layers.0.bias",
            "layers.2.weight",
            "layers.2.bias"
        ]
    );
    let x = input(&[5, 4], 18);
    let y = model.forward(&x).unwrap();
    let by_hand = {
        let (first, _, last, _) = &model.layers;
        nn::tanh(
            &last
                .forward(&nn::relu(&first.forward(&x).unwrap()).unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    assert_arrays_close(&y, &by_hand, 0.0, 0.0);
    let params = named_params(&model, "s");
    let mut inputs: Vec<(&str, &Array)> = params.iter().map(|(k, v)| (k.as_str(), v)).collect();
    inputs.push(("x", &x));
    let body = "s = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.Tanh())\n\
                load(s, 's')\nout['y'] = s(inp['x'])";
    if let Some(out) = python_mlx(body, &inputs) {
        assert_arrays_close(&y, &out["y"], 1e-6, 1e-6);
    }
    // Freezing and modes reach every layer.
    model.freeze();
    assert!(model.trainable_params().is_empty());
    model.unfreeze();
    assert_eq!(model.trainable_params().len(), 4);
    model.train(false);
    assert!(!model.layers.0.training());
}
