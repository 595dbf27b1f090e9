//! Quantization on `Mlx` against burn-ndarray (built with its `export_tests` feature, so that it
//! also quantizes 4- and 2-bit values, one byte each) and against Burn's own reference
//! functions (`QuantizedBytes`, `compute_range`, `compute_q_params`).

use burn::tensor::backend::Backend;
use burn::tensor::ops::QTensorOps;
use burn::tensor::quantization::{
    Calibration, QuantLevel, QuantParam, QuantScheme, QuantStore, QuantValue,
    QuantizationParameters, QuantizedBytes, compute_q_params, compute_range,
};
use burn::tensor::{DType, FloatDType, Int, Tensor, TensorData, TensorPrimitive, Transaction, s};

use crate::common::{
    M, MlxDevice, Nd, assert_close_to_largest, floats_in, floats_unit, panic_message,
};

const DEV: MlxDevice = MlxDevice::Cpu;

// ---- data ---------------------------------------------------------------------------------------

/// Inputs of shape `[4, 64]`: random values; values on exact halves of the scale (127 is the
/// largest magnitude, so `Q8S` per-tensor scales are exactly 1); a first block of zeros.
fn inputs() -> Vec<TensorData> {
    let random = floats_in([4, 64], 1, -3.0, 3.0);
    let mut halves: Vec<f32> = (0..256).map(|i| (i as f32 - 128.0) + 0.5).collect();
    halves[0] = -127.0;
    halves[255] = 127.0;
    let mut zeros = f32s(floats_in([4, 64], 2, -1.5, 1.5));
    zeros[..64].iter_mut().for_each(|v| *v = 0.0);
    vec![
        random,
        TensorData::new(halves, [4, 64]),
        TensorData::new(zeros, [4, 64]),
    ]
}

const VALUES: [QuantValue; 6] = [
    QuantValue::Q8F,
    QuantValue::Q8S,
    QuantValue::Q4F,
    QuantValue::Q4S,
    QuantValue::Q2F,
    QuantValue::Q2S,
];

/// Levels for `[4, 64]` tensors: per tensor; blocks of 8, 32 and 64 along the last axis; a 2-d
/// block size (Burn's blocks are runs of `num_elements` consecutive values).
fn levels() -> Vec<QuantLevel> {
    vec![
        QuantLevel::Tensor,
        QuantLevel::block([8]),
        QuantLevel::block([32]),
        QuantLevel::block([64]),
        QuantLevel::block([2, 16]),
    ]
}

fn scheme(value: QuantValue, level: QuantLevel) -> QuantScheme {
    QuantScheme::default()
        .with_value(value)
        .with_level(level)
        .with_store(QuantStore::Native)
        .with_param(QuantParam::F32)
}

fn all_schemes() -> Vec<QuantScheme> {
    VALUES
        .iter()
        .flat_map(|v| levels().into_iter().map(move |l| scheme(*v, l)))
        .collect()
}

// ---- helpers ------------------------------------------------------------------------------------

fn mlx<const D: usize>(data: &TensorData) -> Tensor<M, D> {
    Tensor::from_data(data.clone(), &DEV)
}

fn nd<const D: usize>(data: &TensorData) -> Tensor<Nd, D> {
    Tensor::from_data(data.clone(), &Default::default())
}

/// Values (one `i8` each) and `f32` scales of quantized data, read by Burn's own decoder.
fn decode(data: &TensorData) -> (Vec<i8>, Vec<f32>) {
    let DType::QFloat(scheme) = data.dtype else {
        panic!("not quantized: {:?}", data.dtype)
    };
    let bytes = QuantizedBytes {
        bytes: data.bytes.clone(),
        scheme,
        num_elements: data.num_elements(),
    };
    let (values, params) = bytes.into_vec_i8();
    (values, params.scales)
}

fn f32s(data: TensorData) -> Vec<f32> {
    data.convert::<f32>().to_vec::<f32>().unwrap()
}

/// Bit-for-bit equality of two float tensors' values (and shapes).
fn assert_same<const D: usize, B1: Backend, B2: Backend>(
    got: Tensor<B1, D>,
    want: Tensor<B2, D>,
    what: &str,
) {
    let (got, want) = (got.into_data(), want.into_data());
    assert_eq!(got.shape, want.shape, "{what}: shape");
    let (g, w) = (f32s(got), f32s(want));
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!(
            a.to_bits() == b.to_bits(),
            "{what}: element {i}: {a} != {b}"
        );
    }
}

fn assert_same_qdata(got: &TensorData, want: &TensorData, what: &str) {
    assert_eq!(got.dtype, want.dtype, "{what}: dtype");
    assert_eq!(got.shape, want.shape, "{what}: shape");
    if got.as_bytes() != want.as_bytes() {
        let (gv, gs) = decode(got);
        let (wv, ws) = decode(want);
        assert_eq!(gs, ws, "{what}: scales");
        assert_eq!(gv, wv, "{what}: values");
        panic!("{what}: bytes differ");
    }
}

// ---- quantize / dequantize against burn-ndarray ------------------------------------------------

#[test]
fn quantize_dynamic_matches_ndarray() {
    for data in inputs() {
        for scheme in all_schemes() {
            let what = format!("{scheme:?}");
            let q = mlx::<2>(&data).quantize_dynamic(&scheme);
            let r = nd::<2>(&data).quantize_dynamic(&scheme);
            assert_same_qdata(&q.to_data(), &r.to_data(), &what);
            assert_same(q.dequantize(), r.dequantize(), &what);
        }
    }
}

/// Inputs that are views (transposed, sliced with steps) quantize as their values.
#[test]
fn quantize_views_matches_ndarray() {
    let data = &inputs()[0];
    for scheme in [
        scheme(QuantValue::Q8F, QuantLevel::Tensor),
        scheme(QuantValue::Q4S, QuantLevel::block([4])),
        scheme(QuantValue::Q8S, QuantLevel::block([2, 2])),
    ] {
        let what = format!("{scheme:?}");
        let q = mlx::<2>(data)
            .transpose()
            .slice(s![0..64;2, ..])
            .quantize_dynamic(&scheme);
        let r = nd::<2>(data)
            .transpose()
            .slice(s![0..64;2, ..])
            .quantize_dynamic(&scheme);
        assert_same_qdata(&q.to_data(), &r.to_data(), &what);
        assert_same(q.dequantize(), r.dequantize(), &what);
    }
}

#[test]
fn quantize_with_given_scales_matches_ndarray() {
    // Scales of every kind: zero (read as 0.1), exact halves, odd values, a negative one.
    let data = floats_in([4, 64], 3, -2.0, 2.0);
    for value in VALUES {
        for (level, scales) in [
            (QuantLevel::Tensor, vec![0.013]),
            (QuantLevel::Tensor, vec![0.0]),
            (
                QuantLevel::block([32]),
                (0..8)
                    .map(|i| [0.0, 0.5, 0.0123, -0.25][i % 4] + i as f32 * 0.001)
                    .collect(),
            ),
            (QuantLevel::block([64]), vec![0.0, 0.02, 0.3, 1.0]),
        ] {
            let scheme = scheme(value, level);
            let n = scales.len();
            let q = mlx::<2>(&data).quantize(
                &scheme,
                QuantizationParameters {
                    scales: Tensor::from_data(TensorData::new(scales.clone(), [n]), &DEV),
                },
            );
            let r = nd::<2>(&data).quantize(
                &scheme,
                QuantizationParameters {
                    scales: Tensor::from_data(TensorData::new(scales, [n]), &Default::default()),
                },
            );
            let what = format!("{scheme:?}");
            assert_same_qdata(&q.to_data(), &r.to_data(), &what);
            assert_same(q.dequantize(), r.dequantize(), &what);
        }
    }
}

/// Half-precision scales: the values are those of burn-ndarray given the rounded scales
/// (burn-ndarray keeps `f32` scales whatever the param says).
#[test]
fn half_precision_scales() {
    for param in [QuantParam::F16, QuantParam::BF16] {
        let round = |s: f32| match param {
            QuantParam::F16 => half::f16::from_f32(s).to_f32(),
            _ => half::bf16::from_f32(s).to_f32(),
        };
        for data in inputs() {
            for value in VALUES {
                for level in levels() {
                    let scheme = scheme(value, level).with_param(param);
                    let what = format!("{scheme:?}");
                    let (_, ref_scales) =
                        decode(&nd::<2>(&data).quantize_dynamic(&scheme).to_data());
                    let rounded: Vec<f32> = ref_scales.iter().map(|s| round(*s)).collect();
                    let n = rounded.len();
                    let r = nd::<2>(&data).quantize(
                        &scheme,
                        QuantizationParameters {
                            scales: Tensor::from_data(
                                TensorData::new(rounded, [n]),
                                &Default::default(),
                            ),
                        },
                    );
                    let q = mlx::<2>(&data).quantize_dynamic(&scheme);
                    assert_same_qdata(&q.to_data(), &r.to_data(), &what);
                    assert_same(q.clone().dequantize(), r.dequantize(), &what);
                    // Loading keeps the param precision: data written with f32 scales is rounded.
                    let (_, exact) = decode(&nd::<2>(&data).quantize_dynamic(&scheme).to_data());
                    let loaded = Tensor::<M, 2>::from_data(
                        nd::<2>(&data).quantize_dynamic(&scheme).to_data(),
                        &DEV,
                    );
                    let (_, loaded_scales) = decode(&loaded.to_data());
                    assert_eq!(
                        loaded_scales,
                        exact.iter().map(|s| round(*s)).collect::<Vec<_>>(),
                        "{what}"
                    );
                }
            }
        }
    }
}

/// `quantize_dynamic` on `Mlx` (one `|x|` reduction per block) equals Burn's default route
/// (`compute_range`, `compute_q_params`, `quantize`), for every float dtype of the input.
#[test]
fn quantize_dynamic_equals_burn_default_route() {
    for dtype in [DType::F32, DType::F16, DType::BF16, DType::F64] {
        for data in inputs() {
            let data = data.convert_dtype(dtype);
            for scheme in [
                scheme(QuantValue::Q8S, QuantLevel::Tensor),
                scheme(QuantValue::Q4F, QuantLevel::block([32])),
                scheme(QuantValue::Q2S, QuantLevel::block([8])).with_param(QuantParam::F16),
            ] {
                let x = mlx::<2>(&data);
                let range = compute_range(&scheme, &x, &Calibration::MinMax);
                let qparams = compute_q_params(&scheme, range);
                let want = x.clone().quantize(&scheme, qparams);
                let got = x.quantize_dynamic(&scheme);
                assert_same_qdata(
                    &got.to_data(),
                    &want.to_data(),
                    &format!("{dtype:?} {scheme:?}"),
                );
            }
        }
    }
}

#[test]
fn dequantize_to_each_float_dtype() {
    let data = &inputs()[0];
    for scheme in [
        scheme(QuantValue::Q8F, QuantLevel::block([32])),
        scheme(QuantValue::Q4S, QuantLevel::Tensor),
    ] {
        let q = mlx::<2>(data).quantize_dynamic(&scheme);
        let reference = f32s(
            nd::<2>(data)
                .quantize_dynamic(&scheme)
                .dequantize()
                .into_data(),
        );
        for dtype in [FloatDType::F16, FloatDType::BF16, FloatDType::F64] {
            let TensorPrimitive::QFloat(p) = q.clone().into_primitive() else {
                unreachable!()
            };
            let got =
                Tensor::<M, 2>::from_primitive(TensorPrimitive::Float(M::dequantize(p, dtype)));
            let got = got.into_data();
            assert_eq!(got.dtype, DType::from(dtype));
            // The f32 product converted once, as burn-ndarray converts its f32 result.
            let want = TensorData::new(reference.clone(), [4, 64]).convert_dtype(dtype.into());
            assert_eq!(got.as_bytes(), want.as_bytes(), "{scheme:?} -> {dtype:?}");
        }
    }
}

// ---- Burn's data format --------------------------------------------------------------------------

#[test]
fn from_data_into_data_round_trip() {
    for data in inputs() {
        for scheme in all_schemes() {
            let what = format!("{scheme:?}");
            let r = nd::<2>(&data).quantize_dynamic(&scheme);
            let bytes = r.to_data();
            let q = Tensor::<M, 2>::from_data(bytes.clone(), &DEV);
            assert_same_qdata(&q.to_data(), &bytes, &what);
            assert_same(q.dequantize(), r.dequantize(), &what);
        }
    }
}

/// `PackedU32(0)` (Burn's default store): the bytes decode, with Burn's own reader, to the
/// values and scales burn-ndarray computes one byte each; they load back unchanged.
#[test]
fn packed_u32_store() {
    for data in inputs() {
        for native in all_schemes() {
            let packed = native.with_store(QuantStore::PackedU32(0));
            let what = format!("{packed:?}");
            let q = mlx::<2>(&data).quantize_dynamic(&packed);
            let got = q.to_data();
            assert_eq!(got.dtype, DType::QFloat(packed));
            let r = nd::<2>(&data).quantize_dynamic(&native);
            let (values, scales) = decode(&r.to_data());
            assert_eq!(decode(&got), (values.clone(), scales.clone()), "{what}");
            // Size: 32 / bits values per word, then the scales.
            let per_word = 32 / native.value.size_bits();
            assert_eq!(
                got.as_bytes().len(),
                256 / per_word * 4 + scales.len() * 4,
                "{what}"
            );
            if native.value.size_bits() == 8 {
                // Four bytes per little-endian word: the bytes in order.
                let expected: Vec<u8> = values
                    .iter()
                    .map(|v| *v as u8)
                    .chain(scales.iter().flat_map(|s| s.to_le_bytes()))
                    .collect();
                assert_eq!(got.as_bytes(), &expected[..], "{what}");
            }
            let back = Tensor::<M, 2>::from_data(got.clone(), &DEV);
            assert_same_qdata(&back.to_data(), &got, &what);
            assert_same(back.dequantize(), r.dequantize(), &what);
        }
    }
}

/// Packing by hand: sign-extended fields of `bits` bits, lowest first, over the flattened
/// tensor (the last word padded with zeros).
#[test]
fn packed_u32_layout_by_hand() {
    // Q4S per tensor, scale 1 (max 7): values -7..=7 and a tail of 5 in a second word.
    let values: Vec<f32> = vec![-7.0, -1.0, 0.0, 1.0, 2.0, 3.0, 7.0, -4.0, 5.0, -6.0];
    let scheme = scheme(QuantValue::Q4S, QuantLevel::Tensor).with_store(QuantStore::PackedU32(0));
    let q = mlx::<1>(&TensorData::new(values.clone(), [10])).quantize_dynamic(&scheme);
    let data = q.to_data();
    let nibble = |v: f32| (v as i8 as u8 as u32) & 0xF;
    let word0 = values[..8]
        .iter()
        .enumerate()
        .fold(0u32, |acc, (i, v)| acc | nibble(*v) << (4 * i));
    let word1 = nibble(values[8]) | nibble(values[9]) << 4;
    let mut expected: Vec<u8> = [word0, word1]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    expected.extend(1.0f32.to_le_bytes());
    assert_eq!(data.as_bytes(), &expected[..]);
    assert_same(
        Tensor::<M, 1>::from_data(data, &DEV).dequantize(),
        Tensor::<M, 1>::from_data(TensorData::new(values, [10]), &DEV),
        "round trip",
    );
}

#[test]
fn transaction_reads_quantized_tensors() {
    let data = &inputs()[0];
    let scheme = scheme(QuantValue::Q8S, QuantLevel::block([32]));
    let q = mlx::<2>(data).quantize_dynamic(&scheme);
    let x = mlx::<2>(data);
    let [qd, xd] = Transaction::default()
        .register(q.clone())
        .register(x)
        .execute()
        .try_into()
        .unwrap();
    assert_same_qdata(&qd, &q.to_data(), "transaction");
    assert_eq!(xd, *data);
}

#[test]
fn to_device_keeps_the_tensor() {
    let data = &inputs()[0];
    let q = mlx::<2>(data).quantize_dynamic(&scheme(QuantValue::Q4F, QuantLevel::block([8])));
    let mut devices = vec![MlxDevice::Cpu];
    if MlxDevice::Gpu.is_available() {
        devices.push(MlxDevice::Gpu);
    }
    for device in devices {
        let moved = q.clone().to_device(&device);
        assert_eq!(moved.device(), device);
        assert_same_qdata(&moved.to_data(), &q.to_data(), "to_device");
    }
}

// ---- layout ops ------------------------------------------------------------------------------------

/// Whether two float tensors hold the same values, bit for bit.
fn same_bits<const D: usize>(a: Tensor<M, D>, b: Tensor<M, D>) -> bool {
    let (a, b) = (a.into_data(), b.into_data());
    a.shape == b.shape
        && f32s(a)
            .iter()
            .zip(f32s(b))
            .all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Exported data of a quantized result holds `want` exactly, or (`exact` false) `want`
/// re-quantized with the scheme. Results whose size is not a whole number of blocks have no
/// form in Burn's data format: exporting them must say so.
fn check_export<const D: usize>(got: Tensor<M, D>, want: Tensor<M, D>, exact: bool, what: &str) {
    let DType::QFloat(scheme) = got.dtype() else {
        panic!("{what}: not quantized")
    };
    if let QuantLevel::Block(size) = scheme.level
        && !got
            .shape()
            .num_elements()
            .is_multiple_of(size.num_elements())
    {
        let message = panic_message(|| drop(got.to_data()));
        assert!(message.contains("do not tile"), "{what}: {message}");
        return;
    }
    let data = got.to_data();
    let back = Tensor::<M, D>::from_data(data.clone(), &DEV).dequantize();
    if same_bits(back, want.clone()) {
        return;
    }
    assert!(!exact, "{what}: export is not exact");
    assert_same_qdata(
        &data,
        &want.quantize_dynamic(&scheme).to_data(),
        &format!("{what}: re-quantized export"),
    );
}

/// Applies `$body` (an expression of `$t`) to the quantized tensor and to its dequantized
/// values: dequantizing the quantized result must give exactly the float result, and the
/// result's data must hold it (see [`check_export`]). With `$nd` (burn-ndarray's quantized
/// tensor), the exported data must also equal burn-ndarray's.
macro_rules! check_layout {
    ($q:expr, $nd:expr, $exact:expr, $name:expr, |$t:ident| $body:expr) => {{
        let what = format!("{} on {:?} {:?}", $name, $q.shape(), $q.dtype());
        let got = {
            let $t = $q.clone();
            $body
        };
        let want = {
            let $t = $q.clone().dequantize();
            $body
        };
        assert!(
            matches!(got.dtype(), DType::QFloat(_)),
            "{what}: result not quantized"
        );
        assert_same(got.clone().dequantize(), want.clone(), &what);
        check_export(got.clone(), want, $exact, &what);
        if let Some(r) = $nd.clone() {
            let r = {
                let $t = r;
                $body
            };
            assert_same_qdata(
                &got.to_data(),
                &r.to_data(),
                &format!("{what}: vs burn-ndarray"),
            );
        }
    }};
}

fn ints<B: Backend, const D: usize>(
    values: Vec<i64>,
    shape: [usize; D],
    t: &Tensor<B, 3>,
) -> Tensor<B, D, Int> {
    Tensor::from_data(
        TensorData::new(values, shape).convert_dtype(DType::I64),
        &t.device(),
    )
}

fn layout_cases(data: &TensorData, scheme: QuantScheme) {
    let q = mlx::<3>(data).quantize_dynamic(&scheme);
    let per_tensor = scheme.level == QuantLevel::Tensor;
    // burn-ndarray moves per-tensor quantized values correctly (for blocks it keeps the scales
    // in place, which pairs them with the wrong values after most layout ops).
    // (Given the scales of `q`, which are rounded to the param precision.)
    let r = per_tensor.then(|| {
        let (_, scales) = decode(&q.to_data());
        let scales = Tensor::from_data(TensorData::new(scales, [1]), &Default::default());
        nd::<3>(data).quantize(&scheme, QuantizationParameters { scales })
    });
    let [a, b, c] = q.dims();
    let e = per_tensor;
    check_layout!(q, r, e, "reshape", |t| t.reshape([b, a, c]));
    check_layout!(q, r, e, "reshape 2-d", |t| t.reshape([a, b * c]));
    check_layout!(q, r, e, "reshape 1-d", |t| t.reshape([a * b * c]));
    check_layout!(q, r, e, "reshape split", |t| t.reshape([a * b, c / 2, 2]));
    check_layout!(q, r, e, "reshape merge", |t| t
        .reshape([a * b * c / 24, 24]));
    check_layout!(q, r, e, "swap_dims", |t| t.swap_dims(0, 2));
    check_layout!(q, r, e, "transpose", |t| t.transpose());
    check_layout!(q, r, e, "permute", |t| t.permute([2, 0, 1]));
    check_layout!(q, r, e, "flip", |t| t.flip([1, 2]));
    check_layout!(q, r, e, "flip 0", |t| t.flip([0]));
    check_layout!(q, r, e, "slice", |t| t.slice(s![1..3, .., 4..12]));
    check_layout!(q, r, e, "slice aligned", |t| t.slice(s![.., 2..4, 8..]));
    check_layout!(q, r, e, "slice unaligned", |t| t.slice(s![.., .., 3..11]));
    check_layout!(q, r, e, "slice step", |t| t.slice(s![.., 0..6;2, ..]));
    check_layout!(q, r, e, "slice negative steps", |t| t
        .slice(s![..;-1, 1..5;-2, 3..;-3]));
    check_layout!(q, r, e, "select", |t| {
        let idx = ints(vec![5, 0, 0, 3], [4], &t);
        t.select(1, idx)
    });
    check_layout!(q, r, e, "select last", |t| {
        let idx = ints(vec![c as i64 - 1, 0, 9, 9, 2], [5], &t);
        t.select(2, idx)
    });
    check_layout!(q, r, e, "gather", |t| {
        let idx = ints(
            (0..a * b * 5).map(|i| ((i * 7) % c) as i64).collect(),
            [a, b, 5],
            &t,
        );
        t.gather(2, idx)
    });
    check_layout!(q, r, e, "gather 0", |t| {
        let idx = ints(
            (0..2 * b * c).map(|i| ((i * 3) % a) as i64).collect(),
            [2, b, c],
            &t,
        );
        t.gather(0, idx)
    });
    check_layout!(q, r, e, "chain", |t| t
        .swap_dims(1, 2)
        .slice(s![.., 2..10, ..])
        .flip([2])
        .reshape([a * 8, b]));
    // Ops Burn re-quantizes by default; here they keep values and scales.
    let none: Option<Tensor<Nd, 3>> = None;
    check_layout!(q, none, e, "repeat_dim", |t| t.repeat_dim(1, 2));
    check_layout!(q, none, e, "repeat_dim last", |t| t.repeat_dim(2, 3));
    check_layout!(q, none, e, "cat", |t| Tensor::cat(
        vec![t.clone(), t.flip([2])],
        1
    ));
    check_layout!(q, none, false, "cat last", |t| Tensor::cat(
        vec![t.clone().slice(s![.., .., 0..5]), t],
        2
    ));
    check_layout!(q, none, e, "sort", |t| t.sort(2));
    check_layout!(q, none, e, "sort descending", |t| t
        .sort_descending_with_indices(1)
        .0);
    check_layout!(q, none, e, "topk", |t| t.topk(3, 2));
    check_layout!(q, none, e, "max_dim", |t| t.max_dim(1));
    check_layout!(q, none, e, "min_dim", |t| t.min_dim(2));
    check_layout!(q, none, e, "max", |t| t.max());
    // Full-range maxima below zero take a negative scale, which exports re-quantized.
    let symmetric = matches!(
        scheme.value,
        QuantValue::Q8S | QuantValue::Q4S | QuantValue::Q2S
    );
    check_layout!(q, none, e && symmetric, "max_abs_dim", |t| t.max_abs_dim(1));
    check_layout!(q, none, e && symmetric, "max_abs", |t| t.max_abs());
    if matches!(
        scheme.value,
        QuantValue::Q8S | QuantValue::Q4S | QuantValue::Q2S
    ) {
        check_layout!(q, none, e, "abs", |t| t.abs());
    }
}

fn layout_data(shape: [usize; 3], seed: u64) -> TensorData {
    floats_in(shape, seed, -2.0, 2.0)
}

#[test]
fn layout_ops_per_tensor() {
    for value in VALUES {
        layout_cases(
            &layout_data([4, 6, 16], 5),
            scheme(value, QuantLevel::Tensor),
        );
    }
    layout_cases(
        &layout_data([4, 6, 12], 6),
        scheme(QuantValue::Q8S, QuantLevel::Tensor).with_param(QuantParam::BF16),
    );
}

#[test]
fn layout_ops_per_block() {
    let data = layout_data([4, 6, 16], 7);
    for (value, level) in [
        (QuantValue::Q4F, QuantLevel::block([8])),
        (QuantValue::Q8F, QuantLevel::block([32])),
        (QuantValue::Q8S, QuantLevel::block([16])),
        (QuantValue::Q2S, QuantLevel::block([2, 16])),
        (QuantValue::Q4S, QuantLevel::block([96])),
    ] {
        layout_cases(&data, scheme(value, level));
    }
    layout_cases(
        &data,
        scheme(QuantValue::Q4S, QuantLevel::block([8])).with_param(QuantParam::F16),
    );
    // Blocks of 8 over rows of 12: blocks straddle rows.
    layout_cases(
        &layout_data([4, 6, 12], 8),
        scheme(QuantValue::Q8S, QuantLevel::block([8])),
    );
}

/// `q_expand` (Burn's `Tensor::expand` dequantizes first, so the backend op is called here):
/// values and scales are broadcast together.
#[test]
fn expand_keeps_values_quantized() {
    fn expanded<const D: usize>(t: Tensor<M, 3>, shape: [usize; D]) -> Tensor<M, D> {
        let TensorPrimitive::QFloat(p) = t.into_primitive() else {
            unreachable!()
        };
        Tensor::from_primitive(TensorPrimitive::QFloat(M::q_expand(p, shape.into())))
    }
    let data = layout_data([4, 6, 16], 10);
    for scheme in [
        scheme(QuantValue::Q8S, QuantLevel::Tensor),
        scheme(QuantValue::Q4F, QuantLevel::block([8])),
    ] {
        let exact = scheme.level == QuantLevel::Tensor;
        let q = mlx::<3>(&data).quantize_dynamic(&scheme);
        let rows = q.clone().slice(s![0..1, .., ..]);
        let got = expanded(rows.clone(), [3, 6, 16]);
        let want = rows.dequantize().expand([3, 6, 16]);
        assert_same(got.clone().dequantize(), want.clone(), "expand");
        check_export(got, want, exact, "expand");
        let cols = q.slice(s![.., 0..1, ..]);
        let got = expanded(cols.clone(), [2, 4, 5, 16]);
        let want = cols.dequantize().expand([2, 4, 5, 16]);
        assert_same(
            got.clone().dequantize(),
            want.clone(),
            "expand with a new axis",
        );
        check_export(got, want, exact, "expand with a new axis");
    }
}

/// Block layouts that still line up with the scheme export exactly (no re-quantization).
#[test]
fn aligned_block_layouts_export_exactly() {
    let data = layout_data([4, 6, 16], 9);
    let q = mlx::<3>(&data).quantize_dynamic(&scheme(QuantValue::Q8S, QuantLevel::block([8])));
    let exact = |t: Tensor<M, 3>, what: &str| {
        let want = t.clone().dequantize();
        check_export(t, want, true, what);
    };
    exact(q.clone().slice(s![1..3, 2..5, 8..16]), "aligned slice");
    exact(q.clone().flip([0, 1]), "flip of leading axes");
    exact(q.clone().flip([2]).flip([2]), "double flip");
    exact(q.clone().swap_dims(0, 1), "swap of leading axes");
    exact(
        q.clone().select(1, Tensor::from_data([4, 4, 0], &DEV)),
        "select of rows",
    );
    exact(q.clone().reshape([6, 4, 16]), "reshape keeping rows");
    exact(q.clone().repeat_dim(0, 2), "repeat rows");
    exact(
        Tensor::cat(vec![q.clone(), q.clone().slice(s![0..1, .., ..])], 0),
        "cat rows",
    );
    exact(q.clone().transpose().transpose(), "transpose back");
    exact(
        q.clone()
            .reshape([4, 6, 2, 8])
            .swap_dims(2, 3)
            .swap_dims(2, 3)
            .reshape([4, 6, 16]),
        "reshape, swap back",
    );
}

// ---- matmul ------------------------------------------------------------------------------------------

fn quantized<const D: usize>(shape: [usize; D], seed: u64, scheme: QuantScheme) -> Tensor<M, D> {
    mlx::<D>(&floats_unit(shape, seed)).quantize_dynamic(&scheme)
}

fn float<const D: usize>(shape: [usize; D], seed: u64) -> Tensor<M, D> {
    mlx::<D>(&floats_unit(shape, seed))
}

/// Quantized operands on either side (MLX's kernel where blocks fit its groups of 32, 64 or
/// 128, dequantization otherwise) against the float product of the dequantized values.
#[test]
fn q_matmul_matches_dequantized_matmul() {
    let x = float([5, 64], 20);
    let cases = [
        // Blocks along N (the kernel's untransposed form).
        scheme(QuantValue::Q8S, QuantLevel::block([32])),
        scheme(QuantValue::Q4F, QuantLevel::block([64])),
        scheme(QuantValue::Q2S, QuantLevel::block([128])),
        // Per tensor (any group size fits).
        scheme(QuantValue::Q8F, QuantLevel::Tensor),
        scheme(QuantValue::Q4S, QuantLevel::Tensor).with_param(QuantParam::F16),
        // Blocks too small for MLX's groups: dequantized.
        scheme(QuantValue::Q8S, QuantLevel::block([8])),
        // Blocks of 256 elements (whole rows of 256: groups of 128 with repeated scales).
        scheme(QuantValue::Q2F, QuantLevel::block([2, 128])),
    ];
    for scheme in cases {
        let what = format!("{scheme:?}");
        // x @ w, w: [64, 256].
        let w = quantized([64, 256], 21, scheme);
        let got = x.clone().matmul(w.clone());
        assert!(matches!(got.dtype(), DType::F32));
        // Again (with the packed form kept from the first product) and through the transpose.
        assert_same(
            x.clone().matmul(w.clone()),
            got.clone(),
            &format!("x @ w again {what}"),
        );
        let again = w.clone().transpose().transpose();
        assert_same(
            x.clone().matmul(again),
            got.clone(),
            &format!("x @ wtt {what}"),
        );
        assert_close_to_largest(
            &format!("x @ w {what}"),
            &got.into_data(),
            &x.clone().matmul(w.clone().dequantize()).into_data(),
            1e-5,
        );
        // x @ wᵀ with w: [96, 64] (blocks along K after the transpose).
        let wt = quantized([96, 64], 22, scheme);
        let got = x.clone().matmul(wt.clone().transpose());
        assert_close_to_largest(
            &format!("x @ wt {what}"),
            &got.into_data(),
            &x.clone()
                .matmul(wt.clone().dequantize().transpose())
                .into_data(),
            1e-5,
        );
        // w @ y: quantized on the left.
        let y = float([64, 7], 23);
        let lhs = quantized([4, 64], 24, scheme);
        let got = lhs.clone().matmul(y.clone());
        assert_close_to_largest(
            &format!("w @ y {what}"),
            &got.into_data(),
            &lhs.clone().dequantize().matmul(y.clone()).into_data(),
            1e-5,
        );
        let lhs_t = quantized([64, 4], 25, scheme);
        let got = lhs_t.clone().transpose().matmul(y.clone());
        assert_close_to_largest(
            &format!("wt @ y {what}"),
            &got.into_data(),
            &lhs_t.clone().dequantize().transpose().matmul(y).into_data(),
            1e-5,
        );
        // Both quantized.
        let got = lhs.clone().matmul(w.clone());
        assert_close_to_largest(
            &format!("w @ w {what}"),
            &got.into_data(),
            &lhs.dequantize().matmul(w.dequantize()).into_data(),
            1e-5,
        );
    }
}

#[test]
fn q_matmul_against_ndarray() {
    let xd = floats_unit([4, 64], 30);
    let wd = floats_unit([64, 32], 31);
    for scheme in [
        scheme(QuantValue::Q8S, QuantLevel::block([32])),
        scheme(QuantValue::Q4F, QuantLevel::Tensor),
    ] {
        let got = mlx::<2>(&xd).matmul(mlx::<2>(&wd).quantize_dynamic(&scheme));
        let want = nd::<2>(&xd).matmul(nd::<2>(&wd).quantize_dynamic(&scheme));
        assert_close_to_largest(
            &format!("{scheme:?}"),
            &got.into_data(),
            &want.into_data(),
            1e-5,
        );
    }
}

#[test]
fn q_matmul_batched_and_half_precision() {
    let scheme = scheme(QuantValue::Q8S, QuantLevel::block([32]));
    // Batched activations with a weight of batch 1 (the kernel broadcasts it).
    let x = float([2, 3, 64], 40);
    let w = quantized([1, 64, 32], 41, scheme);
    assert_close_to_largest(
        "batch 1 weight",
        &x.clone().matmul(w.clone()).into_data(),
        &x.clone().matmul(w.clone().dequantize()).into_data(),
        1e-5,
    );
    // Batched weights (dequantized).
    let wb = quantized([2, 64, 32], 42, scheme);
    assert_close_to_largest(
        "batched weight",
        &x.clone().matmul(wb.clone()).into_data(),
        &x.clone().matmul(wb.dequantize()).into_data(),
        1e-5,
    );
    // Quantized on the left, batched right-hand side.
    let lhs = quantized([1, 4, 64], 43, scheme);
    let y = float([2, 64, 5], 44);
    assert_close_to_largest(
        "quantized lhs, batched rhs",
        &lhs.clone().matmul(y.clone()).into_data(),
        &lhs.dequantize().matmul(y).into_data(),
        1e-5,
    );
    // Half-precision activations: the result keeps their dtype.
    for dtype in [FloatDType::F16, FloatDType::BF16] {
        let xh = float([3, 64], 45).cast(dtype);
        let w = quantized([64, 32], 46, scheme);
        let got = xh.clone().matmul(w.clone());
        assert_eq!(got.dtype(), DType::from(dtype));
        let want = xh.cast(FloatDType::F32).matmul(w.dequantize());
        assert_close_to_largest(
            &format!("{dtype:?}"),
            &got.cast(FloatDType::F32).into_data(),
            &want.into_data(),
            2e-2,
        );
    }
    // Float64 activations (CPU): dequantized, computed in float64.
    let x64 = float([3, 64], 47).cast(FloatDType::F64);
    let w = quantized([64, 32], 48, scheme);
    let got = x64.clone().matmul(w.clone());
    assert_eq!(got.dtype(), DType::F64);
    assert_close_to_largest(
        "f64",
        &got.cast(FloatDType::F32).into_data(),
        &x64.cast(FloatDType::F32).matmul(w.dequantize()).into_data(),
        1e-5,
    );
}

// ---- the user-facing API ----------------------------------------------------------------------------

#[test]
fn tensor_quantize_dynamic_api() {
    let data = floats_in([2, 3, 32], 50, -4.0, 4.0);
    // Burn's default scheme (8-bit, per tensor, packed into u32 words) and burn-ndarray's.
    let default = QuantScheme::default();
    let native = default.with_store(QuantStore::Native);
    assert!(M::supports_dtype(&DEV, DType::QFloat(default)));
    let q = Tensor::<M, 3>::from_data(data.clone(), &DEV).quantize_dynamic(&default);
    let r = Tensor::<Nd, 3>::from_data(data.clone(), &Default::default()).quantize_dynamic(&native);
    assert_eq!(q.dtype(), DType::QFloat(default));
    assert_eq!(decode(&q.to_data()), decode(&r.to_data()));
    assert_same(q.clone().dequantize(), r.clone().dequantize(), "dequantize");
    // Quantized tensors in float ops: dequantized (Burn's default propagation).
    let sum = q.clone().sum_dim(2);
    assert_same(sum, q.clone().dequantize().sum_dim(2), "sum_dim");
    let out = (q.clone() + q.clone()).into_data();
    assert_eq!(out.dtype, DType::F32);
    // Quantizing with explicit parameters, then moving and reading.
    let scheme = native
        .with_value(QuantValue::Q4S)
        .with_level(QuantLevel::block([16]));
    let x = Tensor::<M, 3>::from_data(data.clone(), &DEV);
    let range = compute_range(&scheme, &x, &Calibration::MinMax);
    let q = x.quantize(&scheme, compute_q_params(&scheme, range));
    let r = Tensor::<Nd, 3>::from_data(data, &Default::default()).quantize_dynamic(&scheme);
    assert_same_qdata(
        &q.to_data(),
        &r.to_data(),
        "quantize with computed parameters",
    );
}

// ---- schemes the backend does not support -------------------------------------------------------------

#[test]
fn supported_schemes_are_reported() {
    for scheme in all_schemes() {
        for param in [QuantParam::F32, QuantParam::F16, QuantParam::BF16] {
            for store in [QuantStore::Native, QuantStore::PackedU32(0)] {
                let s = scheme.with_param(param).with_store(store);
                assert!(M::supports_dtype(&DEV, DType::QFloat(s)), "{s:?}");
            }
        }
    }
}

#[test]
fn unsupported_schemes_panic_with_the_reason() {
    let data = floats_unit([2, 32], 60);
    let base = scheme(QuantValue::Q8S, QuantLevel::Tensor);
    for (scheme, reason) in [
        (
            base.with_value(QuantValue::E4M3),
            "floating-point quantized values",
        ),
        (
            base.with_value(QuantValue::E5M2),
            "floating-point quantized values",
        ),
        (
            base.with_value(QuantValue::E2M1),
            "floating-point quantized values",
        ),
        (base.with_param(QuantParam::UE8M0), "UE8M0 and UE4M3 scales"),
        (base.with_param(QuantParam::UE4M3), "UE8M0 and UE4M3 scales"),
        (
            base.with_store(QuantStore::PackedU32(1)),
            "packed along a dimension other than the innermost",
        ),
        (base.with_store(QuantStore::PackedNative(0)), "PackedNative"),
        (base.with_level(QuantLevel::block([0])), "zero elements"),
    ] {
        assert!(
            !M::supports_dtype(&DEV, DType::QFloat(scheme)),
            "{scheme:?}"
        );
        let x = mlx::<2>(&data);
        let message = panic_message(|| drop(x.quantize_dynamic(&scheme)));
        assert!(
            message.contains("is not supported") && message.contains(reason),
            "{scheme:?}: {message}"
        );
        assert!(message.contains(&format!("{scheme:?}")), "{message}");
        let bytes = TensorData::from_bytes_vec(vec![0; 68], [2, 32], DType::QFloat(scheme));
        let message = panic_message(|| drop(Tensor::<M, 2>::from_data(bytes, &DEV)));
        assert!(
            message.contains("q_from_data") && message.contains(reason),
            "{scheme:?}: {message}"
        );
    }
}

#[test]
fn blocks_must_tile_the_tensor() {
    let x = mlx::<2>(&floats_unit([3, 10], 61));
    let message = panic_message(|| {
        drop(x.quantize_dynamic(&scheme(QuantValue::Q8S, QuantLevel::block([4]))))
    });
    assert!(
        message.contains("do not tile a tensor of 30 elements"),
        "{message}"
    );
}

#[test]
fn malformed_data_is_rejected() {
    let scheme = scheme(QuantValue::Q8S, QuantLevel::block([8]));
    let data = TensorData::from_bytes_vec(vec![0; 16 + 4], [16], DType::QFloat(scheme));
    let message = panic_message(|| drop(Tensor::<M, 1>::from_data(data, &DEV)));
    assert!(message.contains("takes 24 bytes"), "{message}");
}
