//! `attention` on Mlx (MLX's fused kernel, or the composed path with softcap) against
//! burn-ndarray, for every combination of bool mask, additive bias, causal masking, custom scale
//! and softcap; gradients through `Autodiff<Mlx>` against `Autodiff<NdArray>`; Burn's
//! `MultiHeadAttention` end to end.

use crate::common;

use burn::module::Module;
use burn::nn::attention::{MhaInput, MultiHeadAttentionConfig};
use burn::tensor::backend::Backend;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, DType, Tensor, TensorData};
use common::*;

#[derive(Clone, Copy, Debug)]
struct Dims {
    batch: usize,
    heads: usize,
    t_q: usize,
    t_k: usize,
    d: usize,
    d_v: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum MaskKind {
    None,
    Random,
    /// Random, plus one query row with every key masked.
    FullRow,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum BiasKind {
    None,
    Random,
    /// Random with some `-inf` entries and one row entirely `-inf`.
    NegInf,
}

/// The inputs of one case, as data.
struct Case {
    q: TensorData,
    k: TensorData,
    v: TensorData,
    mask: Option<TensorData>,
    bias: Option<TensorData>,
    options: AttentionModuleOptions,
}

impl Case {
    fn new(
        dims: Dims,
        mask: MaskKind,
        bias: BiasKind,
        options: AttentionModuleOptions,
        seed: u64,
    ) -> Case {
        let Dims {
            batch,
            heads,
            t_q,
            t_k,
            d,
            d_v,
        } = dims;
        let scores = batch * heads * t_q * t_k;
        let mut rng = Rng::new(seed);
        let mask = match mask {
            MaskKind::None => None,
            kind => {
                let mut m: Vec<bool> = (0..scores).map(|_| rng.chance(0.3)).collect();
                if kind == MaskKind::FullRow {
                    // Query row 0 of the last (batch, head) sees nothing.
                    let start = scores - t_q * t_k;
                    m[start..start + t_k].iter_mut().for_each(|x| *x = true);
                }
                Some(TensorData::new(m, [batch, heads, t_q, t_k]))
            }
        };
        let bias = match bias {
            BiasKind::None => None,
            kind => {
                let mut b: Vec<f32> = (0..scores).map(|_| rng.range(-1.0, 1.0) as f32).collect();
                if kind == BiasKind::NegInf {
                    for x in b.iter_mut() {
                        if rng.chance(0.2) {
                            *x = f32::NEG_INFINITY;
                        }
                    }
                    let row = (t_q - 1) * t_k;
                    b[row..row + t_k]
                        .iter_mut()
                        .for_each(|x| *x = f32::NEG_INFINITY);
                }
                Some(TensorData::new(b, [batch, heads, t_q, t_k]))
            }
        };
        Case {
            q: floats_unit([batch, heads, t_q, d], seed + 1),
            k: floats_unit([batch, heads, t_k, d], seed + 2),
            v: floats_unit([batch, heads, t_k, d_v], seed + 3),
            mask,
            bias,
            options,
        }
    }

    fn forward<B: Backend>(&self, device: &B::Device, dtype: DType) -> Tensor<B, 4> {
        let f = |data: &TensorData| Tensor::<B, 4>::from_data(data.clone(), (device, dtype));
        attention(
            f(&self.q),
            f(&self.k),
            f(&self.v),
            self.mask
                .as_ref()
                .map(|m| Tensor::<B, 4, Bool>::from_data(m.clone(), device)),
            self.bias.as_ref().map(f),
            self.options,
        )
    }
}

const SHAPES: [Dims; 4] = [
    Dims {
        batch: 2,
        heads: 3,
        t_q: 5,
        t_k: 7,
        d: 8,
        d_v: 6,
    },
    // More queries than keys: with causal masking, the first queries see no key.
    Dims {
        batch: 1,
        heads: 2,
        t_q: 7,
        t_k: 4,
        d: 4,
        d_v: 4,
    },
    Dims {
        batch: 2,
        heads: 1,
        t_q: 6,
        t_k: 6,
        d: 16,
        d_v: 16,
    },
    Dims {
        batch: 1,
        heads: 1,
        t_q: 1,
        t_k: 1,
        d: 2,
        d_v: 3,
    },
];

fn all_options() -> Vec<AttentionModuleOptions> {
    let mut out = vec![];
    for scale in [None, Some(0.3)] {
        for softcap in [None, Some(1.5)] {
            for is_causal in [false, true] {
                out.push(AttentionModuleOptions {
                    scale,
                    softcap,
                    is_causal,
                });
            }
        }
    }
    out
}

const MASKS: [MaskKind; 3] = [MaskKind::None, MaskKind::Random, MaskKind::FullRow];
const BIASES: [BiasKind; 3] = [BiasKind::None, BiasKind::Random, BiasKind::NegInf];

#[test]
fn forward_every_combination_f32() {
    let mut count = 0;
    for (si, dims) in SHAPES.iter().enumerate() {
        for mask in MASKS {
            for bias in BIASES {
                for options in all_options() {
                    let case = Case::new(*dims, mask, bias, options, 100 + si as u64);
                    let what =
                        format!("attention {dims:?} mask {mask:?} bias {bias:?} {options:?}");
                    let actual = case.forward::<M>(&mlx_device(), DType::F32);
                    let expected = case.forward::<Nd>(&Default::default(), DType::F32);
                    assert_tensors_close(&what, actual, expected, Tol::new(1e-4, 2e-5));
                    count += 1;
                }
            }
        }
    }
    assert_eq!(count, SHAPES.len() * 3 * 3 * 8);
}

#[test]
fn fully_masked_rows_are_zero() {
    // Every key masked for every query: Burn defines the result as zeros.
    let dims = Dims {
        batch: 1,
        heads: 2,
        t_q: 3,
        t_k: 4,
        d: 4,
        d_v: 5,
    };
    let mut case = Case::new(
        dims,
        MaskKind::None,
        BiasKind::None,
        AttentionModuleOptions::default(),
        7,
    );
    case.mask = Some(TensorData::new(vec![true; 2 * 3 * 4], [1, 2, 3, 4]));
    let out = case.forward::<M>(&mlx_device(), DType::F32).into_data();
    assert_data_close(
        "fully masked",
        &out,
        &TensorData::new(vec![0.0f32; 2 * 3 * 5], [1, 2, 3, 5]),
        Tol::EXACT,
    );
    // Causal with more queries than keys: the first t_q - t_k rows are zeros, the others not.
    let dims = Dims {
        batch: 1,
        heads: 1,
        t_q: 5,
        t_k: 2,
        d: 3,
        d_v: 2,
    };
    let options = AttentionModuleOptions {
        is_causal: true,
        ..Default::default()
    };
    let case = Case::new(dims, MaskKind::None, BiasKind::None, options, 8);
    let out = values(&case.forward::<M>(&mlx_device(), DType::F32).into_data());
    assert!(out[..6].iter().all(|x| *x == 0.0), "{out:?}");
    assert!(out[6..].iter().all(|x| *x != 0.0), "{out:?}");
}

#[test]
fn forward_half_precision_and_f64() {
    for (dtype, atol) in [(DType::F16, 2e-2), (DType::BF16, 6e-2), (DType::F64, 1e-6)] {
        for mask in [MaskKind::None, MaskKind::FullRow] {
            for bias in [BiasKind::None, BiasKind::Random] {
                for options in all_options() {
                    let case = Case::new(SHAPES[0], mask, bias, options, 31);
                    let what =
                        format!("attention {dtype:?} mask {mask:?} bias {bias:?} {options:?}");
                    let actual = case.forward::<M>(&mlx_device(), dtype);
                    assert_eq!(actual.dtype(), dtype, "{what}: dtype");
                    let ref_dtype = if dtype == DType::F64 {
                        DType::F64
                    } else {
                        DType::F32
                    };
                    let expected = case.forward::<Nd>(&Default::default(), ref_dtype);
                    assert_tensors_close(&what, actual, expected, Tol::new(atol, atol));
                }
            }
        }
    }
}

#[test]
fn forward_non_contiguous_and_broadcast_mask() {
    // q, k, v built as [batch, seq, heads, dim] and swapped to [batch, heads, seq, dim]; the
    // mask and the bias broadcast over batch and heads.
    let (b, h, tq, tk, d) = (2, 3, 5, 6, 4);
    let q = floats_unit([b, tq, h, d], 1);
    let k = floats_unit([b, tk, h, d], 2);
    let v = floats_unit([b, tk, h, d], 3);
    let mut rng = Rng::new(4);
    let mask: Vec<bool> = (0..tq * tk).map(|_| rng.chance(0.3)).collect();
    let mask = TensorData::new(mask, [1, 1, tq, tk]);
    let bias = floats_unit([1, 1, tq, tk], 5);
    for options in all_options() {
        fn run<B: Backend>(
            device: &B::Device,
            data: [&TensorData; 5],
            options: AttentionModuleOptions,
            expand: [usize; 4],
        ) -> Tensor<B, 4> {
            let t = |d: &TensorData| Tensor::<B, 4>::from_data(d.clone(), device).swap_dims(1, 2);
            let mask = Tensor::<B, 4, Bool>::from_data(data[3].clone(), device).expand(expand);
            let bias = Tensor::<B, 4>::from_data(data[4].clone(), device).expand(expand);
            attention(
                t(data[0]),
                t(data[1]),
                t(data[2]),
                Some(mask),
                Some(bias),
                options,
            )
        }
        let data = [&q, &k, &v, &mask, &bias];
        let expand = [b, h, tq, tk];
        let actual = run::<M>(&mlx_device(), data, options, expand);
        let expected = run::<Nd>(&Default::default(), data, options, expand);
        assert_tensors_close(
            &format!("non-contiguous {options:?}"),
            actual,
            expected,
            Tol::new(1e-4, 2e-5),
        );
    }
}

/// Gradients of `sum(attention(...) * w)` for q, k, v and the bias.
fn grads<B: burn::tensor::backend::AutodiffBackend>(
    case: &Case,
    device: &B::Device,
) -> Vec<TensorData> {
    let f = |data: &TensorData| Tensor::<B, 4>::from_data(data.clone(), device).require_grad();
    let (q, k, v) = (f(&case.q), f(&case.k), f(&case.v));
    let bias = case.bias.as_ref().map(f);
    let mask = case
        .mask
        .as_ref()
        .map(|m| Tensor::<B, 4, Bool>::from_data(m.clone(), device));
    let out = attention(
        q.clone(),
        k.clone(),
        v.clone(),
        mask,
        bias.clone(),
        case.options,
    );
    let w = Tensor::<B, 4>::from_data(floats_unit(out.dims(), 99), device);
    let g = (out * w).sum().backward();
    let mut result: Vec<TensorData> = [q, k, v]
        .iter()
        .map(|t| t.grad(&g).expect("grad").into_data())
        .collect();
    if let Some(bias) = bias {
        result.push(bias.grad(&g).expect("bias grad").into_data());
    }
    result
}

#[test]
fn backward_every_combination() {
    for (si, dims) in SHAPES[..3].iter().enumerate() {
        for mask in MASKS {
            for bias in BIASES {
                for options in all_options() {
                    let case = Case::new(*dims, mask, bias, options, 200 + si as u64);
                    let actual = grads::<AM>(&case, &mlx_device());
                    let expected = grads::<AN>(&case, &Default::default());
                    for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
                        let what = format!(
                            "grad {} of {dims:?} mask {mask:?} bias {bias:?} {options:?}",
                            ["q", "k", "v", "bias"][i]
                        );
                        assert_data_close(&what, a, e, Tol::new(2e-4, 2e-5));
                    }
                }
            }
        }
    }
}

#[test]
fn multi_head_attention_module() {
    let (batch, seq, d_model, heads) = (2, 5, 16, 4);
    let config = MultiHeadAttentionConfig::new(d_model, heads).with_dropout(0.0);
    let (reference, module) = transfer(
        config.init::<AN>(&Default::default()),
        config.init::<AM>(&mlx_device()),
        &mlx_device(),
    );
    let x = floats_unit([batch, seq, d_model], 11);
    let mask_pad = TensorData::new(
        vec![
            false, false, false, true, true, false, false, false, false, true,
        ],
        [batch, seq],
    );

    fn run<B: burn::tensor::backend::AutodiffBackend>(
        module: &burn::nn::attention::MultiHeadAttention<B>,
        x: &TensorData,
        mask_pad: &TensorData,
        device: &B::Device,
    ) -> (TensorData, TensorData, TensorData, Named) {
        let x = Tensor::<B, 3>::from_data(x.clone(), device).require_grad();
        let mask = Tensor::<B, 2, Bool>::from_data(mask_pad.clone(), device);
        let input = MhaInput::self_attn(x.clone()).mask_pad(mask);
        let out = module.forward(input);
        let w = Tensor::<B, 3>::from_data(floats_unit(out.context.dims(), 12), device);
        let grads = (out.context.clone() * w).sum().backward();
        let x_grad = x.grad(&grads).expect("x grad").into_data();
        (
            out.context.into_data(),
            out.weights.into_data(),
            x_grad,
            param_grads(module, &grads),
        )
    }
    let (ctx, weights, x_grad, params) = run(&module, &x, &mask_pad, &mlx_device());
    let (ctx_e, weights_e, x_grad_e, params_e) =
        run(&reference, &x, &mask_pad, &Default::default());
    assert_data_close("mha context", &ctx, &ctx_e, Tol::new(1e-4, 2e-5));
    assert_data_close("mha weights", &weights, &weights_e, Tol::new(1e-4, 2e-5));
    assert_data_close("mha x grad", &x_grad, &x_grad_e, Tol::new(1e-4, 2e-5));
    assert_named_close("mha", &params, &params_e, Tol::new(1e-4, 2e-5));
    assert!(module.num_params() > 0);
}

#[test]
fn empty_sequences() {
    // No key: every query attends to nothing, so the result is zeros; no query: an empty result.
    for (t_q, t_k) in [(3, 0), (0, 4)] {
        let dims = Dims {
            batch: 2,
            heads: 2,
            t_q,
            t_k,
            d: 4,
            d_v: 3,
        };
        for mask in [MaskKind::None, MaskKind::Random] {
            for options in all_options() {
                let case = Case::new(dims, mask, BiasKind::None, options, 5);
                let out = case.forward::<M>(&mlx_device(), DType::F32);
                assert_eq!(out.dims(), [2, 2, t_q, 3]);
                let expected = TensorData::new(vec![0.0f32; 2 * 2 * t_q * 3], [2, 2, t_q, 3]);
                assert_data_close(
                    &format!("empty {t_q}x{t_k} {options:?}"),
                    &out.into_data(),
                    &expected,
                    Tol::EXACT,
                );
            }
        }
    }
}
