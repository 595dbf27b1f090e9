//! Embedding and linear on Mlx against burn-ndarray: the ops, their backward ops, gradients
//! through `Autodiff<Mlx>`, and Burn's `Embedding`, `Linear` and `Lstm` modules end to end.

use crate::common;

use burn::module::Module;
use burn::nn::{EmbeddingConfig, LinearConfig, LstmConfig};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::module::{embedding, linear};
use burn::tensor::{DType, Int, Tensor, TensorData, TensorPrimitive};
use common::*;

fn indices(shape: [usize; 2], vocab: usize, seed: u64) -> TensorData {
    let mut rng = Rng::new(seed);
    let n = shape[0] * shape[1];
    // Index 0 appears several times, so that gradients accumulate.
    let v: Vec<i64> = (0..n)
        .map(|i| {
            if i % 3 == 0 {
                0
            } else {
                rng.int(0, vocab as i64)
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
        let w = floats_unit([vocab, d], 1);
        let idx = indices(shape, vocab, 2);
        for int in [DType::I32, DType::I64] {
            for transposed in [false, true] {
                let what = format!(
                    "embedding vocab {vocab} d {d} {shape:?} {int:?} transposed {transposed}"
                );
                let actual = embed::<M>(&mlx_device(), &w, &idx, DType::F32, int, transposed);
                let expected =
                    embed::<Nd>(&Default::default(), &w, &idx, DType::F32, int, transposed);
                assert_tensors_close(&what, actual, expected, Tol::EXACT);
            }
        }
    }
    // Rows are copied exactly, in half precision too.
    let w = floats_unit([9, 6], 3);
    let idx = indices([4, 5], 9, 4);
    for dtype in [DType::F16, DType::BF16, DType::F64] {
        let actual = embed::<M>(&mlx_device(), &w, &idx, dtype, DType::I32, false);
        assert_eq!(actual.dtype(), dtype);
        let expected = embed::<Nd>(&Default::default(), &w, &idx, DType::F32, DType::I32, false);
        let tol = if dtype == DType::F64 { 1e-7 } else { 1e-2 };
        assert_tensors_close(
            &format!("embedding {dtype:?}"),
            actual,
            expected,
            Tol::new(tol, tol),
        );
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
        let w = floats_unit([vocab, d], 5);
        let idx = indices(shape, vocab, 6);
        let g = floats_unit([shape[0], shape[1], d], 7);
        let actual = embedding_backward_op::<M>(&mlx_device(), &w, &g, &idx);
        let expected = embedding_backward_op::<Nd>(&Default::default(), &w, &g, &idx);
        assert_data_close(
            &format!("embedding_backward {vocab} {d} {shape:?}"),
            &actual,
            &expected,
            Tol::new(1e-6, 1e-6),
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
        let r = Tensor::<B, 3>::from_data(floats_unit(out.dims(), 8), device);
        let grads = (out * r).sum().backward();
        weights.grad(&grads).expect("grad").into_data()
    }
    let w = floats_unit([10, 6], 9);
    let idx = indices([4, 7], 10, 10);
    assert_data_close(
        "embedding autodiff",
        &grad::<AM>(&mlx_device(), &w, &idx),
        &grad::<AN>(&Default::default(), &w, &idx),
        Tol::new(1e-5, 1e-5),
    );
}

#[test]
fn embedding_module() {
    let config = EmbeddingConfig::new(13, 6);
    let (reference, module) = transfer(
        config.init::<AN>(&Default::default()),
        config.init::<AM>(&mlx_device()),
        &mlx_device(),
    );
    let idx = indices([3, 5], 13, 11);
    fn run<B: AutodiffBackend>(
        m: &burn::nn::Embedding<B>,
        idx: &TensorData,
        device: &B::Device,
    ) -> (TensorData, Named) {
        let out = m.forward(Tensor::<B, 2, Int>::from_data(idx.clone(), device));
        let r = Tensor::<B, 3>::from_data(floats_unit(out.dims(), 12), device);
        let grads = (out.clone() * r).sum().backward();
        (out.into_data(), param_grads(m, &grads))
    }
    let (out, grads) = run(&module, &idx, &mlx_device());
    let (out_e, grads_e) = run(&reference, &idx, &Default::default());
    assert_data_close("Embedding output", &out, &out_e, Tol::EXACT);
    assert_named_close("Embedding", &grads, &grads_e, Tol::new(1e-5, 1e-5));
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
    let w = floats_unit([d_in, d_out], 1);
    let b = floats_unit([d_out], 2);
    for bias in [false, true] {
        let b = bias.then_some(&b);
        let x1 = floats_unit([d_in], 3);
        assert_tensors_close(
            "linear rank 1",
            linear_fwd::<M, 1>(&mlx_device(), &x1, &w, b, DType::F32),
            linear_fwd::<Nd, 1>(&Default::default(), &x1, &w, b, DType::F32),
            Tol::new(1e-5, 1e-5),
        );
        let x2 = floats_unit([4, d_in], 4);
        assert_tensors_close(
            "linear rank 2",
            linear_fwd::<M, 2>(&mlx_device(), &x2, &w, b, DType::F32),
            linear_fwd::<Nd, 2>(&Default::default(), &x2, &w, b, DType::F32),
            Tol::new(1e-5, 1e-5),
        );
        let x3 = floats_unit([3, 4, d_in], 5);
        assert_tensors_close(
            "linear rank 3",
            linear_fwd::<M, 3>(&mlx_device(), &x3, &w, b, DType::F32),
            linear_fwd::<Nd, 3>(&Default::default(), &x3, &w, b, DType::F32),
            Tol::new(1e-5, 1e-5),
        );
        let x4 = floats_unit([2, 1, 3, d_in], 6);
        assert_tensors_close(
            "linear rank 4",
            linear_fwd::<M, 4>(&mlx_device(), &x4, &w, b, DType::F32),
            linear_fwd::<Nd, 4>(&Default::default(), &x4, &w, b, DType::F32),
            Tol::new(1e-5, 1e-5),
        );
        let x0 = floats_unit([2, 0, d_in], 7);
        let empty = linear_fwd::<M, 3>(&mlx_device(), &x0, &w, b, DType::F32);
        assert_eq!(empty.dims(), [2, 0, d_out]);
        for dtype in [DType::F16, DType::BF16, DType::F64] {
            let actual = linear_fwd::<M, 3>(&mlx_device(), &x3, &w, b, dtype);
            assert_eq!(actual.dtype(), dtype);
            let expected = linear_fwd::<Nd, 3>(&Default::default(), &x3, &w, b, DType::F32);
            let tol = if dtype == DType::F64 { 1e-6 } else { 5e-2 };
            assert_tensors_close(
                &format!("linear {dtype:?}"),
                actual,
                expected,
                Tol::new(tol, tol),
            );
        }
    }
    // Non-contiguous input: built [d_in, batch] and transposed.
    let xt = floats_unit([d_in, 4], 8);
    let run = |x: Tensor<M, 2>| {
        linear(
            x.transpose(),
            Tensor::from_data(w.clone(), &mlx_device()),
            Some(Tensor::from_data(b.clone(), &mlx_device())),
        )
    };
    let actual = run(Tensor::from_data(xt.clone(), &mlx_device()));
    let expected = linear(
        Tensor::<Nd, 2>::from_data(xt, &Default::default()).transpose(),
        Tensor::from_data(w.clone(), &Default::default()),
        Some(Tensor::from_data(b.clone(), &Default::default())),
    );
    assert_tensors_close(
        "linear non-contiguous",
        actual,
        expected,
        Tol::new(1e-5, 1e-5),
    );
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
    let w = floats_unit([d_in, d_out], 1);
    let check = |what: &str, a: [TensorData; 3], e: [TensorData; 3]| {
        for (i, name) in ["x", "weight", "bias"].iter().enumerate() {
            assert_data_close(
                &format!("{what}: {name} gradient"),
                &a[i],
                &e[i],
                Tol::new(1e-5, 1e-5),
            );
        }
    };
    let (x, g) = (floats_unit([4, d_in], 2), floats_unit([4, d_out], 3));
    check(
        "rank 2",
        linear_backward_ops::<M, 2>(&mlx_device(), &x, &w, &g),
        linear_backward_ops::<Nd, 2>(&Default::default(), &x, &w, &g),
    );
    let (x, g) = (floats_unit([3, 4, d_in], 4), floats_unit([3, 4, d_out], 5));
    check(
        "rank 3",
        linear_backward_ops::<M, 3>(&mlx_device(), &x, &w, &g),
        linear_backward_ops::<Nd, 3>(&Default::default(), &x, &w, &g),
    );
    let (x, g) = (
        floats_unit([2, 3, 1, d_in], 6),
        floats_unit([2, 3, 1, d_out], 7),
    );
    check(
        "rank 4",
        linear_backward_ops::<M, 4>(&mlx_device(), &x, &w, &g),
        linear_backward_ops::<Nd, 4>(&Default::default(), &x, &w, &g),
    );
}

#[test]
fn linear_autodiff_and_module() {
    let config = LinearConfig::new(7, 4);
    for bias in [true, false] {
        let config = config.clone().with_bias(bias);
        let (reference, module) = transfer(
            config.init::<AN>(&Default::default()),
            config.init::<AM>(&mlx_device()),
            &mlx_device(),
        );
        fn run<B: AutodiffBackend>(
            m: &burn::nn::Linear<B>,
            x: &TensorData,
            device: &B::Device,
        ) -> (TensorData, TensorData, Named) {
            // A non-contiguous rank-3 input.
            let x = Tensor::<B, 3>::from_data(x.clone(), device).require_grad();
            let out = m.forward(x.clone().swap_dims(0, 1));
            let r = Tensor::<B, 3>::from_data(floats_unit(out.dims(), 13), device);
            let grads = (out.clone() * r).sum().backward();
            (
                out.into_data(),
                x.grad(&grads).expect("x grad").into_data(),
                param_grads(m, &grads),
            )
        }
        let x = floats_unit([3, 2, 7], 14);
        let (out, dx, grads) = run(&module, &x, &mlx_device());
        let (out_e, dx_e, grads_e) = run(&reference, &x, &Default::default());
        assert_data_close("Linear output", &out, &out_e, Tol::new(1e-5, 1e-5));
        assert_data_close("Linear x grad", &dx, &dx_e, Tol::new(1e-5, 1e-5));
        assert_named_close("Linear", &grads, &grads_e, Tol::new(1e-5, 1e-5));
        assert_eq!(grads.len(), if bias { 2 } else { 1 });
    }
}

#[test]
fn lstm_module() {
    let config = LstmConfig::new(5, 7, true);
    let (reference, module) = transfer(
        config.init::<AN>(&Default::default()),
        config.init::<AM>(&mlx_device()),
        &mlx_device(),
    );
    fn run<B: AutodiffBackend>(
        m: &burn::nn::Lstm<B>,
        x: &TensorData,
        device: &B::Device,
    ) -> Vec<TensorData> {
        let x = Tensor::<B, 3>::from_data(x.clone(), device).require_grad();
        let (out, state) = m.forward(x.clone(), None);
        let r = Tensor::<B, 3>::from_data(floats_unit(out.dims(), 15), device);
        let loss = (out.clone() * r).sum() + state.cell.clone().sum() * 0.5;
        let grads = loss.backward();
        let mut result = vec![
            out.into_data(),
            state.hidden.into_data(),
            state.cell.into_data(),
            x.grad(&grads).expect("x grad").into_data(),
        ];
        let params = param_grads(m, &grads);
        let covered: usize = params.iter().map(|(_, g)| g.num_elements()).sum();
        assert_eq!(
            covered,
            m.num_params(),
            "every LSTM parameter has a gradient"
        );
        result.extend(params.into_iter().map(|(_, g)| g));
        result
    }
    let x = floats_unit([2, 6, 5], 16);
    let actual = run(&module, &x, &mlx_device());
    let expected = run(&reference, &x, &Default::default());
    assert_eq!(actual.len(), expected.len());
    assert!(
        actual.len() > 4 + 4,
        "the gates' weights and biases have gradients"
    );
    for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
        assert_data_close(&format!("Lstm result {i}"), a, e, Tol::new(1e-4, 2e-5));
    }
}
