//! Normalizations on Mlx against burn-ndarray: the `layer_norm` op (MLX's fused kernel), and
//! Burn's `LayerNorm`, `RmsNorm`, `GroupNorm` and `BatchNorm` (train and eval) modules with their
//! gradients through `Autodiff<Mlx>`.

use crate::common;

use burn::module::{AutodiffModule, Param};
use burn::nn::{
    BatchNorm, BatchNormConfig, GroupNorm, GroupNormConfig, LayerNorm, LayerNormConfig, RmsNorm,
    RmsNormConfig,
};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use common::*;

fn layer_norm_op<B: Backend, const D: usize>(
    device: &B::Device,
    x: &TensorData,
    gamma: &TensorData,
    beta: Option<&TensorData>,
    epsilon: f64,
    dtype: DType,
    swapped: bool,
) -> Tensor<B, D> {
    let x = Tensor::<B, D>::from_data(x.clone(), (device, dtype));
    // A non-contiguous input (rank 3 and more): the first two dims swapped by a view.
    let x = if swapped && D >= 3 {
        x.swap_dims(0, 1)
    } else {
        x
    };
    let gamma = Tensor::<B, 1>::from_data(gamma.clone(), (device, dtype))
        .into_primitive()
        .tensor();
    let beta = beta.map(|b| {
        Tensor::<B, 1>::from_data(b.clone(), (device, dtype))
            .into_primitive()
            .tensor()
    });
    Tensor::from_primitive(TensorPrimitive::Float(B::layer_norm(
        x.into_primitive().tensor(),
        gamma,
        beta,
        epsilon,
    )))
}

#[test]
fn layer_norm_op_against_ndarray() {
    for (shape, eps) in [
        (vec![2, 3, 8], 1e-5),
        (vec![5, 1], 1e-5),
        (vec![4, 7], 0.1),
        (vec![3, 2, 1, 33], 1e-6),
    ] {
        let d = *shape.last().unwrap();
        // Inputs with an offset and a spread, so that centring matters.
        let x = TensorData::new(
            values(&floats_unit(&shape, 1))
                .iter()
                .map(|v| (3.0 + 4.0 * v) as f32)
                .collect::<Vec<_>>(),
            shape.clone(),
        );
        let gamma = floats_unit([d], 2);
        let beta = floats_unit([d], 3);
        for with_beta in [false, true] {
            let beta = with_beta.then_some(&beta);
            for swapped in [false, true] {
                let what =
                    format!("layer_norm {shape:?} eps {eps} beta {with_beta} swapped {swapped}");
                macro_rules! check {
                    ($d:literal) => {{
                        let a = layer_norm_op::<M, $d>(
                            &mlx_device(),
                            &x,
                            &gamma,
                            beta,
                            eps,
                            DType::F32,
                            swapped,
                        );
                        let e = layer_norm_op::<Nd, $d>(
                            &Default::default(),
                            &x,
                            &gamma,
                            beta,
                            eps,
                            DType::F32,
                            swapped,
                        );
                        assert_tensors_close(&what, a, e, Tol::new(1e-4, 2e-5));
                        for dtype in [DType::F16, DType::BF16, DType::F64] {
                            let a = layer_norm_op::<M, $d>(
                                &mlx_device(),
                                &x,
                                &gamma,
                                beta,
                                eps,
                                dtype,
                                swapped,
                            );
                            assert_eq!(a.dtype(), dtype, "{what}: dtype");
                            let e = layer_norm_op::<Nd, $d>(
                                &Default::default(),
                                &x,
                                &gamma,
                                beta,
                                eps,
                                DType::F32,
                                swapped,
                            );
                            let tol = match dtype {
                                DType::F64 => 2e-5,
                                DType::F16 => 2e-2,
                                _ => 6e-2,
                            };
                            assert_tensors_close(
                                &format!("{what} {dtype:?}"),
                                a,
                                e,
                                Tol::new(tol, tol),
                            );
                        }
                    }};
                }
                match shape.len() {
                    2 => check!(2),
                    3 => check!(3),
                    _ => check!(4),
                }
            }
        }
    }
}

#[test]
fn layer_norm_op_large_offset() {
    // A mean far from zero with a small spread: a one-pass variance would cancel badly.
    let x = TensorData::new(
        (0..64)
            .map(|i| 1000.0 + (i as f32 * 0.37).sin())
            .collect::<Vec<_>>(),
        [4, 16],
    );
    let gamma = floats_unit([16], 4);
    let a = layer_norm_op::<M, 2>(&mlx_device(), &x, &gamma, None, 1e-5, DType::F32, false);
    let e = layer_norm_op::<Nd, 2>(
        &Default::default(),
        &x,
        &gamma,
        None,
        1e-5,
        DType::F32,
        false,
    );
    assert_tensors_close("layer_norm large offset", a, e, Tol::new(2e-3, 2e-3));
}

fn param<B: Backend>(data: TensorData, device: &B::Device) -> Param<Tensor<B, 1>> {
    Param::from_tensor(Tensor::from_data(data, device))
}

fn layer_fwd<B: Backend, const D: usize>(m: &LayerNorm<B>, x: Tensor<B, D>) -> Tensor<B, D> {
    m.forward(x)
}

fn rms_fwd<B: Backend, const D: usize>(m: &RmsNorm<B>, x: Tensor<B, D>) -> Tensor<B, D> {
    m.forward(x)
}

fn group_fwd<B: Backend, const D: usize>(m: &GroupNorm<B>, x: Tensor<B, D>) -> Tensor<B, D> {
    m.forward(x)
}

fn batch_fwd<B: Backend, const D: usize>(m: &BatchNorm<B>, x: Tensor<B, D>) -> Tensor<B, D> {
    m.forward(x)
}

/// Output, input gradient and parameter gradients of `module.forward(x)` weighted by a fixed
/// random tensor.
fn run<B: AutodiffBackend, M: AutodiffModule<B>, const D: usize>(
    module: &M,
    forward: impl Fn(&M, Tensor<B, D>) -> Tensor<B, D>,
    x: &TensorData,
    device: &B::Device,
) -> (TensorData, TensorData, Named) {
    let x = Tensor::<B, D>::from_data(x.clone(), device).require_grad();
    let out = forward(module, x.clone());
    let r = Tensor::<B, D>::from_data(floats_unit(out.dims(), 77), device);
    let grads = (out.clone() * r).sum().backward();
    (
        out.into_data(),
        x.grad(&grads).expect("x grad").into_data(),
        param_grads(module, &grads),
    )
}

fn compare(what: &str, a: (TensorData, TensorData, Named), e: (TensorData, TensorData, Named)) {
    assert_data_close(&format!("{what} output"), &a.0, &e.0, Tol::new(1e-4, 2e-5));
    assert_data_close(&format!("{what} x grad"), &a.1, &e.1, Tol::new(1e-3, 5e-5));
    assert_named_close(what, &a.2, &e.2, Tol::new(1e-3, 5e-5));
}

#[test]
fn layer_norm_module() {
    for bias in [true, false] {
        let config = LayerNormConfig::new(12).with_bias(bias);
        let mut reference = config.init::<AN>(&Default::default());
        reference.gamma = param(floats_unit([12], 1), &Default::default());
        if bias {
            reference.beta = Some(param(floats_unit([12], 2), &Default::default()));
        }
        let (reference, module) =
            transfer(reference, config.init::<AM>(&mlx_device()), &mlx_device());
        let x = floats_unit([3, 4, 12], 3);
        compare(
            "LayerNorm",
            run::<AM, _, 3>(&module, layer_fwd, &x, &mlx_device()),
            run::<AN, _, 3>(&reference, layer_fwd, &x, &Default::default()),
        );
        // Inference (no autodiff) uses the fused op.
        let inner = module.valid();
        let out = inner.forward(Tensor::<M, 3>::from_data(x.clone(), &mlx_device()));
        let out_e = reference
            .valid()
            .forward(Tensor::<Nd, 3>::from_data(x.clone(), &Default::default()));
        assert_tensors_close("LayerNorm inference", out, out_e, Tol::new(1e-4, 2e-5));
    }
}

#[test]
fn rms_norm_module() {
    let config = RmsNormConfig::new(10);
    let mut reference = config.init::<AN>(&Default::default());
    reference.gamma = param(floats_unit([10], 4), &Default::default());
    let (reference, module) = transfer(reference, config.init::<AM>(&mlx_device()), &mlx_device());
    let x = floats_unit([2, 5, 10], 5);
    compare(
        "RmsNorm",
        run::<AM, _, 3>(&module, rms_fwd, &x, &mlx_device()),
        run::<AN, _, 3>(&reference, rms_fwd, &x, &Default::default()),
    );
}

#[test]
fn group_norm_module() {
    for (groups, channels, affine) in [(2, 6, true), (3, 3, true), (1, 4, false)] {
        let config = GroupNormConfig::new(groups, channels).with_affine(affine);
        let mut reference = config.init::<AN>(&Default::default());
        if affine {
            reference.gamma = Some(param(floats_unit([channels], 6), &Default::default()));
            reference.beta = Some(param(floats_unit([channels], 7), &Default::default()));
        }
        let (reference, module) =
            transfer(reference, config.init::<AM>(&mlx_device()), &mlx_device());
        let x = floats_unit([2, channels, 3, 5], 8);
        let what = format!("GroupNorm {groups}/{channels} affine {affine}");
        let a = run::<AM, _, 4>(&module, group_fwd, &x, &mlx_device());
        let e = run::<AN, _, 4>(&reference, group_fwd, &x, &Default::default());
        if affine {
            compare(&what, a, e);
        } else {
            assert_data_close(&format!("{what} output"), &a.0, &e.0, Tol::new(1e-4, 2e-5));
            assert_data_close(&format!("{what} x grad"), &a.1, &e.1, Tol::new(1e-3, 5e-5));
        }
    }
}

#[test]
fn batch_norm_module_train_and_eval() {
    let channels = 4;
    let config = BatchNormConfig::new(channels).with_momentum(0.3);
    let mut reference = config.init::<AN>(&Default::default());
    reference.gamma = param(floats_unit([channels], 9), &Default::default());
    reference.beta = param(floats_unit([channels], 10), &Default::default());
    let (reference, module) = transfer(reference, config.init::<AM>(&mlx_device()), &mlx_device());
    // Two training steps (the running statistics move), on 3-D and 4-D inputs.
    for (step, shape) in [vec![3, channels, 5], vec![2, channels, 3, 2]]
        .into_iter()
        .enumerate()
    {
        let x = TensorData::new(
            values(&floats_unit(&shape, 11 + step as u64))
                .iter()
                .map(|v| (1.5 + 2.0 * v) as f32)
                .collect::<Vec<_>>(),
            shape.clone(),
        );
        let what = format!("BatchNorm train step {step}");
        if shape.len() == 3 {
            compare(
                &what,
                run::<AM, _, 3>(&module, batch_fwd, &x, &mlx_device()),
                run::<AN, _, 3>(&reference, batch_fwd, &x, &Default::default()),
            );
        } else {
            compare(
                &what,
                run::<AM, _, 4>(&module, batch_fwd, &x, &mlx_device()),
                run::<AN, _, 4>(&reference, batch_fwd, &x, &Default::default()),
            );
        }
        let mean = module.running_mean.value_sync().into_data();
        let var = module.running_var.value_sync().into_data();
        assert_data_close(
            &format!("{what} running mean"),
            &mean,
            &reference.running_mean.value_sync().into_data(),
            Tol::new(1e-5, 1e-5),
        );
        assert_data_close(
            &format!("{what} running var"),
            &var,
            &reference.running_var.value_sync().into_data(),
            Tol::new(1e-5, 1e-5),
        );
        assert!(
            values(&mean).iter().any(|m| *m != 0.0),
            "the running mean moved"
        );
    }
    // Eval: the inner backend's module normalizes with the running statistics.
    let x = floats_unit([2, channels, 6], 13);
    let out = module
        .valid()
        .forward(Tensor::<M, 3>::from_data(x.clone(), &mlx_device()));
    let out_e = reference
        .valid()
        .forward(Tensor::<Nd, 3>::from_data(x, &Default::default()));
    assert_tensors_close("BatchNorm eval", out, out_e, Tol::new(1e-4, 2e-5));
}
