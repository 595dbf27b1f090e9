//! Embedding and linear on Mlx against burn-ndarray: the ops, their backward ops, gradients
//! through `Autodiff<Mlx>`, and Burn's `Embedding`, `Linear` and `Lstm` modules end to end.

use crate::attn_support;

use attn_support::*;
use burn::nn::{EmbeddingConfig, LinearConfig, LstmConfig};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::module::{embedding, linear};
use burn::tensor::{DType, Int, Tensor, TensorData, TensorPrimitive};

fn indices(shape: [usize; 2], vocab: usize, seed: u64) -> TensorData {
    let mut rng = Rng::new(seed);
    let n = shape[0] * shape[1];
    // Index 0 appears several times, so that gradients accumulate.
    let v: Vec<i64> = (0..n)
        .map(|i| {
            if i % 3 == 0 {
                0
            } else {
                rng.below(vocab as u64) as i64
            }
        })
        .collect();
    TensorData::new(v, shape)
}

fn embed<B: Backend>(
    device: &B::Device,
    w: &TensorData,
    idx: &TensorData,
    dtype: DType,
    int: DType,
    transposed: bool,
) -> Tensor<B, 3> {
    let weights = if transposed {
        // Stored as [d_model, vocab] and transposed: a non-contiguous table.
        let [v, d] = [w.shape[0], w.shape[1]];
        let vals = values(w);
        let t: Vec<f32> = (0..d * v)
            .map(|k| vals[(k % v) * d + k / v] as f32)
            .collect();
        Tensor::<B, 2>::from_data(TensorData::new(t, [d, v]), (device, dtype)).transpose()
    } else {
        Tensor::<B, 2>::from_data(w.clone(), (device, dtype))
    };
    let idx = Tensor::<B, 2, Int>::from_data(idx.clone(), (device, int));
    embedding(weights, idx)
}

#[test]
fn embedding_forward() {
    for (vocab, d, shape) in [
        (11, 5, [3, 4]),
        (1, 3, [2, 2]),
        (7, 1, [1, 1]),
        (6, 4, [0, 3]),
    ] {
        let w = floats(&[vocab, d], 1);
        let idx = indices(shape, vocab, 2);
        for int in [DType::I32, DType::I64] {
            for transposed in [false, true] {
                let what = format!(
                    "embedding vocab {vocab} d {d} {shape:?} {int:?} transposed {transposed}"
                );
                let actual = embed::<Mx>(&dev(), &w, &idx, DType::F32, int, transposed);
                let expected = embed::<Nd>(&nd_device(), &w, &idx, DType::F32, int, transposed);
                assert_tensors_close(&what, actual, expected, 0.0, 0.0);
            }
        }
    }
    // Rows are copied exactly, in half precision too.
    let w = floats(&[9, 6], 3);
    let idx = indices([4, 5], 9, 4);
    for dtype in [DType::F16, DType::BF16, DType::F64] {
        let actual = embed::<Mx>(&dev(), &w, &idx, dtype, DType::I32, false);
        assert_eq!(actual.dtype(), dtype);
        let expected = embed::<Nd>(&nd_device(), &w, &idx, DType::F32, DType::I32, false);
        let tol = if dtype == DType::F64 { 1e-7 } else { 1e-2 };
        assert_tensors_close(&format!("embedding {dtype:?}"), actual, expected, tol, tol);
    }
}

fn embedding_backward_op<B: Backend>(
    device: &B::Device,
    w: &TensorData,
    g: &TensorData,
    idx: &TensorData,
) -> TensorData {
    let w = Tensor::<B, 2>::from_data(w.clone(), device)
        .into_primitive()
        .tensor();
    let g = Tensor::<B, 3>::from_data(g.clone(), device)
        .into_primitive()
        .tensor();
    let idx = Tensor::<B, 2, Int>::from_data(idx.clone(), device).into_primitive();
    Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(B::embedding_backward(w, g, idx)))
        .into_data()
}

#[test]
fn embedding_backward() {
    for (vocab, d, shape) in [(11, 5, [3, 4]), (1, 3, [2, 2]), (6, 4, [0, 3])] {
        let w = floats(&[vocab, d], 5);
        let idx = indices(shape, vocab, 6);
        let g = floats(&[shape[0], shape[1], d], 7);
        let actual = embedding_backward_op::<Mx>(&dev(), &w, &g, &idx);
        let expected = embedding_backward_op::<Nd>(&nd_device(), &w, &g, &idx);
        assert_close(
            &format!("embedding_backward {vocab} {d} {shape:?}"),
            &actual,
            &expected,
            1e-6,
            1e-6,
        );
    }
    // Through autodiff, with a non-contiguous output gradient path (swap_dims after lookup).
    fn grad<B: AutodiffBackend>(
        device: &B::Device,
        w: &TensorData,
        idx: &TensorData,
    ) -> TensorData {
        let weights = Tensor::<B, 2>::from_data(w.clone(), device).require_grad();
        let idx = Tensor::<B, 2, Int>::from_data(idx.clone(), device);
        let out = embedding(weights.clone(), idx).swap_dims(0, 1);
        let r = Tensor::<B, 3>::from_data(floats(&out.dims(), 8), device);
        let grads = (out * r).sum().backward();
        weights.grad(&grads).expect("grad").into_data()
    }
    let w = floats(&[10, 6], 9);
    let idx = indices([4, 7], 10, 10);
    assert_close(
        "embedding autodiff",
        &grad::<MxAd>(&dev(), &w, &idx),
        &grad::<NdAd>(&nd_device(), &w, &idx),
        1e-5,
        1e-5,
    );
}

#[test]
fn embedding_module() {
    let config = EmbeddingConfig::new(13, 6);
    let (reference, module) = transfer(
        config.init::<NdAd>(&nd_device()),
        config.init::<MxAd>(&dev()),
        &dev(),
    );
    let idx = indices([3, 5], 13, 11);
    fn run<B: AutodiffBackend>(
        m: &burn::nn::Embedding<B>,
        idx: &TensorData,
        device: &B::Device,
    ) -> (TensorData, Vec<Option<TensorData>>) {
        let out = m.forward(Tensor::<B, 2, Int>::from_data(idx.clone(), device));
        let r = Tensor::<B, 3>::from_data(floats(&out.dims(), 12), device);
        let grads = (out.clone() * r).sum().backward();
        (out.into_data(), param_grads(m, &grads))
    }
    let (out, grads) = run(&module, &idx, &dev());
    let (out_e, grads_e) = run(&reference, &idx, &nd_device());
    assert_close("Embedding output", &out, &out_e, 0.0, 0.0);
    assert_param_grads_close("Embedding", &grads, &grads_e, 1e-5, 1e-5);
}

// ---- linear -----------------------------------------------------------------------------------

fn linear_fwd<B: Backend, const D: usize>(
    device: &B::Device,
    x: &TensorData,
    w: &TensorData,
    b: Option<&TensorData>,
    dtype: DType,
) -> Tensor<B, D> {
    let x = Tensor::<B, D>::from_data(x.clone(), (device, dtype));
    let w = Tensor::<B, 2>::from_data(w.clone(), (device, dtype));
    let b = b.map(|b| Tensor::<B, 1>::from_data(b.clone(), (device, dtype)));
    linear(x, w, b)
}

#[test]
fn linear_forward_every_rank() {
    let (d_in, d_out) = (6, 5);
    let w = floats(&[d_in, d_out], 1);
    let b = floats(&[d_out], 2);
    for bias in [false, true] {
        let b = bias.then_some(&b);
        let x1 = floats(&[d_in], 3);
        assert_tensors_close(
            "linear rank 1",
            linear_fwd::<Mx, 1>(&dev(), &x1, &w, b, DType::F32),
            linear_fwd::<Nd, 1>(&nd_device(), &x1, &w, b, DType::F32),
            1e-5,
            1e-5,
        );
        let x2 = floats(&[4, d_in], 4);
        assert_tensors_close(
            "linear rank 2",
            linear_fwd::<Mx, 2>(&dev(), &x2, &w, b, DType::F32),
            linear_fwd::<Nd, 2>(&nd_device(), &x2, &w, b, DType::F32),
            1e-5,
            1e-5,
        );
        let x3 = floats(&[3, 4, d_in], 5);
        assert_tensors_close(
            "linear rank 3",
            linear_fwd::<Mx, 3>(&dev(), &x3, &w, b, DType::F32),
            linear_fwd::<Nd, 3>(&nd_device(), &x3, &w, b, DType::F32),
            1e-5,
            1e-5,
        );
        let x4 = floats(&[2, 1, 3, d_in], 6);
        assert_tensors_close(
            "linear rank 4",
            linear_fwd::<Mx, 4>(&dev(), &x4, &w, b, DType::F32),
            linear_fwd::<Nd, 4>(&nd_device(), &x4, &w, b, DType::F32),
            1e-5,
            1e-5,
        );
        let x0 = floats(&[2, 0, d_in], 7);
        let empty = linear_fwd::<Mx, 3>(&dev(), &x0, &w, b, DType::F32);
        assert_eq!(empty.dims(), [2, 0, d_out]);
        for dtype in [DType::F16, DType::BF16, DType::F64] {
            let actual = linear_fwd::<Mx, 3>(&dev(), &x3, &w, b, dtype);
            assert_eq!(actual.dtype(), dtype);
            let expected = linear_fwd::<Nd, 3>(&nd_device(), &x3, &w, b, DType::F32);
            let tol = if dtype == DType::F64 { 1e-6 } else { 5e-2 };
            assert_tensors_close(&format!("linear {dtype:?}"), actual, expected, tol, tol);
        }
    }
    // Non-contiguous input: built [d_in, batch] and transposed.
    let xt = floats(&[d_in, 4], 8);
    let run = |x: Tensor<Mx, 2>| {
        linear(
            x.transpose(),
            Tensor::from_data(w.clone(), &dev()),
            Some(Tensor::from_data(b.clone(), &dev())),
        )
    };
    let actual = run(Tensor::from_data(xt.clone(), &dev()));
    let expected = linear(
        Tensor::<Nd, 2>::from_data(xt, &nd_device()).transpose(),
        Tensor::from_data(w.clone(), &nd_device()),
        Some(Tensor::from_data(b.clone(), &nd_device())),
    );
    assert_tensors_close("linear non-contiguous", actual, expected, 1e-5, 1e-5);
}

/// The three backward ops of linear, called directly.
fn linear_backward_ops<B: Backend, const D: usize>(
    device: &B::Device,
    x: &TensorData,
    w: &TensorData,
    g: &TensorData,
) -> [TensorData; 3] {
    let x = Tensor::<B, D>::from_data(x.clone(), device)
        .into_primitive()
        .tensor();
    let w = Tensor::<B, 2>::from_data(w.clone(), device)
        .into_primitive()
        .tensor();
    let g = Tensor::<B, D>::from_data(g.clone(), device)
        .into_primitive()
        .tensor();
    let dx = Tensor::<B, D>::from_primitive(TensorPrimitive::Float(B::linear_x_backward(
        w.clone(),
        g.clone(),
    )));
    let dw = Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(B::linear_weight_backward(
        x,
        g.clone(),
    )));
    let db = Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(B::linear_bias_backward(g)));
    [dx.into_data(), dw.into_data(), db.into_data()]
}

#[test]
fn linear_backward_ops_every_rank() {
    let (d_in, d_out) = (6, 5);
    let w = floats(&[d_in, d_out], 1);
    let check = |what: &str, a: [TensorData; 3], e: [TensorData; 3]| {
        for (i, name) in ["x", "weight", "bias"].iter().enumerate() {
            assert_close(
                &format!("{what}: {name} gradient"),
                &a[i],
                &e[i],
                1e-5,
                1e-5,
            );
        }
    };
    let (x, g) = (floats(&[4, d_in], 2), floats(&[4, d_out], 3));
    check(
        "rank 2",
        linear_backward_ops::<Mx, 2>(&dev(), &x, &w, &g),
        linear_backward_ops::<Nd, 2>(&nd_device(), &x, &w, &g),
    );
    let (x, g) = (floats(&[3, 4, d_in], 4), floats(&[3, 4, d_out], 5));
    check(
        "rank 3",
        linear_backward_ops::<Mx, 3>(&dev(), &x, &w, &g),
        linear_backward_ops::<Nd, 3>(&nd_device(), &x, &w, &g),
    );
    let (x, g) = (floats(&[2, 3, 1, d_in], 6), floats(&[2, 3, 1, d_out], 7));
    check(
        "rank 4",
        linear_backward_ops::<Mx, 4>(&dev(), &x, &w, &g),
        linear_backward_ops::<Nd, 4>(&nd_device(), &x, &w, &g),
    );
}

#[test]
fn linear_autodiff_and_module() {
    let config = LinearConfig::new(7, 4);
    for bias in [true, false] {
        let config = config.clone().with_bias(bias);
        let (reference, module) = transfer(
            config.init::<NdAd>(&nd_device()),
            config.init::<MxAd>(&dev()),
            &dev(),
        );
        fn run<B: AutodiffBackend>(
            m: &burn::nn::Linear<B>,
            x: &TensorData,
            device: &B::Device,
        ) -> (TensorData, TensorData, Vec<Option<TensorData>>) {
            // A non-contiguous rank-3 input.
            let x = Tensor::<B, 3>::from_data(x.clone(), device).require_grad();
            let out = m.forward(x.clone().swap_dims(0, 1));
            let r = Tensor::<B, 3>::from_data(floats(&out.dims(), 13), device);
            let grads = (out.clone() * r).sum().backward();
            (
                out.into_data(),
                x.grad(&grads).expect("x grad").into_data(),
                param_grads(m, &grads),
            )
        }
        let x = floats(&[3, 2, 7], 14);
        let (out, dx, grads) = run(&module, &x, &dev());
        let (out_e, dx_e, grads_e) = run(&reference, &x, &nd_device());
        assert_close("Linear output", &out, &out_e, 1e-5, 1e-5);
        assert_close("Linear x grad", &dx, &dx_e, 1e-5, 1e-5);
        assert_param_grads_close("Linear", &grads, &grads_e, 1e-5, 1e-5);
        assert_eq!(grads.len(), if bias { 2 } else { 1 });
    }
}

#[test]
fn lstm_module() {
    let config = LstmConfig::new(5, 7, true);
    let (reference, module) = transfer(
        config.init::<NdAd>(&nd_device()),
        config.init::<MxAd>(&dev()),
        &dev(),
    );
    fn run<B: AutodiffBackend>(
        m: &burn::nn::Lstm<B>,
        x: &TensorData,
        device: &B::Device,
    ) -> Vec<TensorData> {
        let x = Tensor::<B, 3>::from_data(x.clone(), device).require_grad();
        let (out, state) = m.forward(x.clone(), None);
        let r = Tensor::<B, 3>::from_data(floats(&out.dims(), 15), device);
        let loss = (out.clone() * r).sum() + state.cell.clone().sum() * 0.5;
        let grads = loss.backward();
        let mut result = vec![
            out.into_data(),
            state.hidden.into_data(),
            state.cell.into_data(),
            x.grad(&grads).expect("x grad").into_data(),
        ];
        result.extend(
            param_grads(m, &grads)
                .into_iter()
                .map(|g| g.expect("every LSTM parameter has a gradient")),
        );
        result
    }
    let x = floats(&[2, 6, 5], 16);
    let actual = run(&module, &x, &dev());
    let expected = run(&reference, &x, &nd_device());
    assert_eq!(actual.len(), expected.len());
    assert!(
        actual.len() > 4 + 4,
        "the gates' weights and biases have gradients"
    );
    for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
        assert_close(&format!("Lstm result {i}"), a, e, 2e-5, 1e-4);
    }
}
