//! The `Backend` trait on `Mlx` (identity, devices, dtype support, seeding, sync and memory),
//! `TransactionOps::tr_execute` against `NdArray`, and tensors shared between threads.

mod common;
use common::*;

use std::sync::Barrier;
use std::thread;

use burn::tensor::Transaction;
use burn_backend::ops::{QTensorOps, TransactionPrimitive, TransactionPrimitiveData};
use burn_backend::quantization::{QuantLevel, QuantParam, QuantScheme, QuantStore, QuantValue};
use burn_backend::{Device, DeviceId};

const FLOAT_DTYPES: [DType; 5] = [
    DType::F64,
    DType::F32,
    DType::Flex32,
    DType::F16,
    DType::BF16,
];
const INT_DTYPES: [DType; 8] = [
    DType::I64,
    DType::I32,
    DType::I16,
    DType::I8,
    DType::U64,
    DType::U32,
    DType::U16,
    DType::U8,
];
const BOOL_DTYPES: [DType; 3] = [
    DType::Bool(BoolStore::Native),
    DType::Bool(BoolStore::U8),
    DType::Bool(BoolStore::U32),
];

// ---- identity, devices, dtypes --------------------------------------------------------------

#[test]
fn name_autodiff_flag_and_devices() {
    let dev = mlx_device();
    let name = M::name(&dev);
    assert!(
        name.starts_with("mlx ") && name.ends_with(&dev.to_string()),
        "name {name:?}"
    );
    assert_eq!(AM::name(&dev), format!("autodiff<{name}>"));
    assert_ne!(M::name(&MlxDevice::Cpu), Nd::name(&Default::default()));

    // Only the Autodiff wrapper differentiates, as with the oracle.
    assert_eq!(M::ad_enabled(&dev), Nd::ad_enabled(&Default::default()));
    assert!(!M::ad_enabled(&dev));
    assert_eq!(AM::ad_enabled(&dev), AN::ad_enabled(&Default::default()));
    assert!(AM::ad_enabled(&dev));

    // Device ids round-trip and tell the two devices apart.
    for d in [MlxDevice::Cpu, MlxDevice::Gpu] {
        assert_eq!(MlxDevice::from_id(d.to_id()), d);
    }
    assert_ne!(MlxDevice::Cpu.to_id(), MlxDevice::Gpu.to_id());
    assert_eq!(MlxDevice::from_id(DeviceId::new(0, 0)), MlxDevice::Cpu);
    assert_eq!(MlxDevice::Cpu.to_string(), "MLX CPU");
    let default = MlxDevice::default();
    assert_eq!(default == MlxDevice::Gpu, MlxDevice::Gpu.is_available());

    // One CPU; as many GPUs as this MLX can use (none without a GPU backend).
    assert_eq!(M::device_count(MlxDevice::Cpu.to_id().type_id), 1);
    let gpus = M::device_count(MlxDevice::Gpu.to_id().type_id);
    assert_eq!(gpus > 0, MlxDevice::Gpu.is_available(), "{gpus} GPUs");
    assert_eq!(AM::device_count(0), 1);

    // Tensors of every kind report and change their device.
    let (f, i, b) = (
        M::float_from_data(floats([2, 3], 1), &dev),
        M::int_from_data(ints([2, 3], 2, -5, 5, DType::I32), &dev),
        M::bool_from_data(bools([2, 3], 3), &dev),
    );
    assert_eq!(
        (M::float_device(&f), M::int_device(&i), M::bool_device(&b)),
        (dev, dev, dev)
    );
    let cpu = MlxDevice::Cpu;
    let (f2, i2, b2) = (
        M::float_to_device(f.clone(), &cpu),
        M::int_to_device(i.clone(), &cpu),
        M::bool_to_device(b.clone(), &cpu),
    );
    assert_eq!(
        (
            M::float_device(&f2),
            M::int_device(&i2),
            M::bool_device(&b2)
        ),
        (cpu, cpu, cpu)
    );
    assert_eq!(rf::<M>(f2), rf::<M>(f));
    assert_eq!(ri::<M>(i2), ri::<M>(i));
    assert_eq!(rb::<M>(b2), rb::<M>(b));
    // Through the tensor API, on Autodiff too.
    let t = Tensor::<AM, 2>::from_data(floats([2, 2], 4), &dev);
    assert_eq!(t.device(), dev);
    assert_eq!(t.clone().to_device(&cpu).device(), cpu);
}

fn q_scheme(value: QuantValue, param: QuantParam) -> QuantScheme {
    QuantScheme::default()
        .with_value(value)
        .with_level(QuantLevel::block([32]))
        .with_store(QuantStore::Native)
        .with_param(param)
}

#[test]
fn dtype_support() {
    let cpu = MlxDevice::Cpu;
    let nd = Default::default();
    let all: Vec<DType> = FLOAT_DTYPES
        .iter()
        .chain(&INT_DTYPES)
        .chain(&BOOL_DTYPES)
        .copied()
        .collect();
    for &dtype in &all {
        // MLX stores bools natively only: the U8 and U32 bool stores are reported unsupported
        // (data in those layouts is still accepted, and converted, on the way in).
        if matches!(dtype, DType::Bool(store) if store != BoolStore::Native) {
            assert!(M::dtype_usage(&cpu, dtype).is_empty(), "{dtype:?}");
            assert!(!M::supports_dtype(&MlxDevice::Gpu, dtype), "{dtype:?}");
            continue;
        }
        // Every other dtype is general-purpose on the CPU: a superset of the oracle's.
        assert!(M::supports_dtype(&cpu, dtype), "{dtype:?} on the CPU");
        assert!(
            M::dtype_usage(&cpu, dtype).is_superset(Nd::dtype_usage(&nd, dtype)),
            "{dtype:?}: at least what ndarray offers"
        );
        assert_eq!(
            M::supports_dtype(&cpu, dtype),
            M::dtype_usage(&cpu, dtype).is_superset(burn_backend::DTypeUsage::general())
        );
        assert_eq!(
            AM::supports_dtype(&cpu, dtype),
            M::supports_dtype(&cpu, dtype)
        );
        // The GPU device has the same: float64 ops run on MLX's CPU stream there.
        assert_eq!(
            M::dtype_usage(&MlxDevice::Gpu, dtype),
            M::dtype_usage(&cpu, dtype),
            "{dtype:?} on the GPU"
        );
    }
    // Quantized: the integer values with float scales are supported; float-valued ones not.
    assert!(M::supports_dtype(
        &cpu,
        DType::QFloat(q_scheme(QuantValue::Q8S, QuantParam::F32))
    ));
    assert!(M::supports_dtype(
        &cpu,
        DType::QFloat(q_scheme(QuantValue::Q4F, QuantParam::BF16))
    ));
    assert!(!M::supports_dtype(
        &cpu,
        DType::QFloat(q_scheme(QuantValue::E4M3, QuantParam::F32))
    ));
    assert!(!M::supports_dtype(
        &cpu,
        DType::QFloat(q_scheme(QuantValue::Q8S, QuantParam::UE8M0))
    ));

    // What is reported supported really works: create, compute, read back.
    for dtype in FLOAT_DTYPES {
        let t = M::float_full(
            Shape::from(vec![2, 3]),
            Scalar::Float(1.5),
            &cpu,
            dtype.into(),
        );
        let s = rf::<M>(M::float_sum(M::float_add_scalar(t, Scalar::Float(0.5))));
        assert_eq!(s.iter::<f64>().collect::<Vec<_>>(), vec![12.0], "{dtype:?}");
    }
    for dtype in INT_DTYPES {
        let t = M::int_full(Shape::from(vec![2, 3]), Scalar::Int(3), &cpu, dtype.into());
        let s = ri::<M>(M::int_sum(M::int_add_scalar(t, Scalar::Int(1))));
        assert_eq!(s.dtype, dtype);
        assert_eq!(s.iter::<i64>().collect::<Vec<_>>(), vec![24], "{dtype:?}");
    }
    for dtype in BOOL_DTYPES {
        let DType::Bool(store) = dtype else {
            unreachable!()
        };
        let t = M::bool_ones(Shape::from(vec![2, 3]), &cpu, store);
        let any = rb::<M>(M::bool_all(M::bool_not(M::bool_not(t))));
        assert!(any.dtype.is_bool());
        assert_eq!(
            any.convert_dtype(BOOL).to_vec::<bool>().unwrap(),
            vec![true],
            "{dtype:?}"
        );
    }
}

// ---- seeding --------------------------------------------------------------------------------

/// Draws from every random op on `B`.
fn draws<B: Backend>(dev: &B::Device) -> Vec<TensorData> {
    let shape = || Shape::from(vec![4, 16]);
    let mut out = vec![];
    for dtype in [
        FloatDType::F32,
        FloatDType::F16,
        FloatDType::BF16,
        FloatDType::F64,
    ] {
        for dist in [
            Distribution::Default,
            Distribution::Uniform(-2.0, 3.0),
            Distribution::Normal(1.0, 2.0),
            Distribution::Bernoulli(0.4),
        ] {
            out.push(rf::<B>(B::float_random(shape(), dist, dev, dtype)));
        }
    }
    for dtype in [IntDType::I32, IntDType::I64, IntDType::U8] {
        out.push(ri::<B>(B::int_random(
            shape(),
            Distribution::Uniform(0.0, 100.0),
            dev,
            dtype,
        )));
    }
    out.push(Tensor::<B, 2>::random([3, 5], Distribution::Normal(0.0, 1.0), dev).into_data());
    out
}

fn same(a: &[TensorData], b: &[TensorData]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

#[test]
fn seed_makes_random_ops_reproducible() {
    let dev = mlx_device();
    M::seed(&dev, 7);
    let (a1, a2) = (draws::<M>(&dev), draws::<M>(&dev));
    M::seed(&dev, 7);
    let (b1, b2) = (draws::<M>(&dev), draws::<M>(&dev));
    assert!(same(&a1, &b1) && same(&a2, &b2), "same seed, same draws");
    assert!(!same(&a1, &a2), "successive draws differ");
    M::seed(&dev, 8);
    assert!(!same(&draws::<M>(&dev), &a1), "another seed, other draws");
    // Autodiff seeds the inner backend.
    AM::seed(&dev, 7);
    assert!(same(&draws::<AM>(&dev), &a1), "Autodiff<Mlx> seeded alike");

    // Seeding is per thread: threads seeding and drawing at the same time each get the
    // sequence of their own seed, unaffected by the others.
    let barrier = Barrier::new(4);
    let results: Vec<(u64, Vec<TensorData>)> = thread::scope(|s| {
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    let seed = if t % 2 == 0 { 7 } else { 100 + t };
                    barrier.wait();
                    M::seed(&dev, seed);
                    (seed, draws::<M>(&dev))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (seed, got) in &results {
        if *seed == 7 {
            assert!(same(got, &a1), "seed 7 on another thread");
        } else {
            M::seed(&dev, *seed);
            assert!(
                same(got, &draws::<M>(&dev)),
                "seed {seed} on another thread"
            );
        }
    }
}

// ---- sync, memory, staging ------------------------------------------------------------------

#[test]
fn sync_memory_cleanup_persistent_allocations_staging() {
    let dev = mlx_device();
    let nd = Default::default();
    let x = floats([64, 48], 1);
    // A lazy graph is pending; sync returns Ok and values are unchanged by it.
    let case = case!(x: TensorData = x.clone(); |B, cx| {
        let t = cx.f(&x);
        let y = B::float_exp(B::float_mul_scalar(B::float_matmul(t.clone(), B::float_transpose(t)), Scalar::Float(0.01)));
        B::sync(&cx.dev).expect("sync");
        let s = B::float_sum_dim(y.clone(), 1);
        B::sync(&cx.dev).expect("sync");
        (rf::<B>(y), rf::<B>(s))
    });
    check_tol("sync", Prec::F32, Prec::F32.tol().times(10.0), &case);
    AM::sync(&dev).expect("Autodiff sync");
    if !MlxDevice::Gpu.is_available() {
        // No GPU here: syncing it is a usage error that says so, like any op on it.
        assert_panics("sync on a missing gpu", "not available", || {
            M::sync(&MlxDevice::Gpu)
        });
    }

    // Cleanup after dropping large tensors leaves live (and pending) tensors intact.
    let live = M::float_from_data(x.clone(), &dev);
    let pending = M::float_add_scalar(live.clone(), Scalar::Float(1.0));
    for i in 0..4 {
        let big = M::float_random(
            Shape::from(vec![512, 512]),
            Distribution::Default,
            &dev,
            FloatDType::F32,
        );
        let _ = rf::<M>(M::float_sum(M::float_mul_scalar(
            big,
            Scalar::Float(i as f64),
        )));
    }
    M::memory_cleanup(&dev);
    AM::memory_cleanup(&dev);
    Nd::memory_cleanup(&nd);
    assert_eq!(rf::<M>(live), x);
    let want = rf::<Nd>(Nd::float_add_scalar(
        Nd::float_from_data(x.clone(), &nd),
        Scalar::Float(1.0),
    ));
    assert_data_close("after memory_cleanup", &rf::<M>(pending), &want, Tol::EXACT);

    // Persistent allocations: the function runs once on the input, its tensors usable after.
    let t = M::memory_persistent_allocations(&dev, x.clone(), |d| {
        M::float_mul_scalar(M::float_from_data(d, &dev), Scalar::Float(2.0))
    });
    let want: Vec<f32> = x.iter::<f32>().map(|v| v * 2.0).collect();
    assert_eq!(rf::<M>(t).to_vec::<f32>().unwrap(), want);
    assert_eq!(AM::memory_persistent_allocations(&dev, 20, |v| v + 1), 21);

    // Staging leaves the data as it was, and it loads as before.
    let mut staged = [x.clone(), bools([3, 3], 2), ints([5], 3, -9, 9, DType::I64)];
    M::staging(staged.iter_mut(), &dev);
    AM::staging(staged.iter_mut(), &dev);
    assert_eq!(staged[0], x);
    assert_eq!(rf::<M>(M::float_from_data(staged[0].clone(), &dev)), x);
    assert_eq!(
        rb::<M>(M::bool_from_data(staged[1].clone(), &dev)),
        bools([3, 3], 2)
    );
    assert_eq!(
        ri::<M>(M::int_from_data(staged[2].clone(), &dev)),
        ints([5], 3, -9, 9, DType::I64)
    );
}

// ---- transactions ---------------------------------------------------------------------------

fn tr_outputs(data: TransactionPrimitiveData) -> Vec<TensorData> {
    assert!(data.read_qfloats.is_empty());
    let mut out = data.read_floats;
    out.extend(data.read_ints);
    out.extend(data.read_bools);
    out
}

#[test]
fn tr_execute_reads_many_tensors_at_once() {
    let (x, y) = (floats([6, 5], 1), floats([5, 6], 2));
    let (k, m) = (ints([4, 3], 3, -20, 20, DType::I64), bools([2, 7], 4));
    for prec in ALL_PRECS {
        let case = case!(x: TensorData = x.clone(), y: TensorData = y.clone(), k: TensorData = k.clone(), m: TensorData = m.clone(); |B, cx| {
            let a = cx.fl(&x, Layout::Transposed);
            // Tensors sharing one pending graph, views, an empty tensor, several dtypes.
            let p = B::float_matmul(cx.f(&x), cx.f(&y));
            let q = B::float_exp(B::float_mul_scalar(p.clone(), Scalar::Float(0.1)));
            let floats = vec![
                p.clone(),
                q.clone(),
                a.clone(),
                B::float_slice(q.clone(), &[Slice::new(0, None, -2)]),
                B::float_zeros(Shape::from(vec![3, 0]), &cx.dev, cx.fdtype()),
                B::float_sum_dim(q.clone(), 0),
            ];
            let ki = cx.il(&k, Layout::Reversed);
            let ints = vec![
                ki.clone(),
                B::int_mul_scalar(ki.clone(), Scalar::Int(3)),
                B::float_argmax(q.clone(), 1, IntDType::I32),
                B::int_cast(B::int_abs(ki), IntDType::U8),
                B::bool_into_int(cx.b(&m), IntDType::I16),
            ];
            let mb = cx.bl(&m, Layout::Stepped);
            let bools = vec![
                mb.clone(),
                B::float_greater_elem(p, Scalar::Float(0.0), BOOL_OUT),
                B::bool_not(mb),
                B::bool_zeros(Shape::from(vec![0]), &cx.dev, BOOL_OUT),
            ];
            let tr = TransactionPrimitive::<B>::new(floats, vec![], ints, bools);
            let data = burn_backend::read_sync(B::tr_execute(tr)).expect("tr_execute");
            assert_eq!((data.read_floats.len(), data.read_ints.len(), data.read_bools.len()), (6, 5, 4));
            tr_outputs(data)
        });
        check_tol("tr_execute", prec, prec.tol().times(10.0), &case);
    }
    // Quantized tensors read in the same transaction as plain ones, each as alone.
    let dev = mlx_device();
    let scheme = q_scheme(QuantValue::Q8S, QuantParam::F32);
    let base = M::float_from_data(floats([4, 64], 5), &dev);
    let q1 = M::quantize_dynamic(
        M::float_mul_scalar(base.clone(), Scalar::Float(2.0)),
        &scheme,
    );
    let q2 = M::quantize_dynamic(
        M::float_exp(base.clone()),
        &q_scheme(QuantValue::Q4F, QuantParam::F16),
    );
    let data = burn_backend::read_sync(M::tr_execute(TransactionPrimitive::new(
        vec![base.clone()],
        vec![q1.clone(), q2.clone()],
        vec![],
        vec![M::float_lower_elem(
            base.clone(),
            Scalar::Float(0.0),
            BOOL_OUT,
        )],
    )))
    .expect("transaction with quantized tensors");
    assert_eq!(data.read_qfloats.len(), 2);
    for (got, q) in data.read_qfloats.iter().zip([q1, q2]) {
        let alone = burn_backend::read_sync(M::q_into_data(q)).expect("q_into_data");
        assert_eq!(got.dtype, alone.dtype);
        assert_eq!(got.shape, alone.shape);
        assert_eq!(got.as_bytes(), alone.as_bytes(), "quantized bytes");
    }
    assert_eq!(data.read_floats[0], floats([4, 64], 5));
    assert_eq!(data.read_bools[0].shape.as_slice(), &[4, 64]);
    // Nothing to read.
    let empty = burn_backend::read_sync(M::tr_execute(TransactionPrimitive::new(
        vec![],
        vec![],
        vec![],
        vec![],
    )))
    .expect("empty transaction");
    assert!(tr_outputs(empty).is_empty());
}

#[test]
fn transaction_api_keeps_registration_order() {
    let (x, k, m) = (
        floats([3, 4], 1),
        ints([3, 4], 2, -5, 5, DType::I32),
        bools([3, 4], 3),
    );
    for prec in [Prec::F32, Prec::F16, Prec::F64] {
        let case = case!(x: TensorData = x.clone(), k: TensorData = k.clone(), m: TensorData = m.clone(); |B, cx| {
            let f: Tensor<B, 2> = cx.ft(&x);
            let i: Tensor<B, 2, Int> = cx.it(&k);
            let b: Tensor<B, 2, Bool> = cx.bt(&m);
            let g = f.clone().exp() * 2.0;
            Transaction::default()
                .register(g.clone())
                .register(b.clone().bool_not())
                .register(i.clone() * 4)
                .register(f.clone())
                .register(i.clone().equal_elem(0))
                .register(g.sum_dim(1))
                // The same tensor twice.
                .register(f)
                .register(i)
                .execute()
        });
        check_tol("Transaction", prec, prec.tol().times(4.0), &case);
    }
    // On Autodiff, with tensors in a tracked graph.
    let case = grad_case!(x: TensorData = x; |B, cx| {
        let w: Tensor<B, 2> = Tensor::from_primitive(TensorPrimitive::Float(cx.fg(&x)));
        let y = (w.clone() * w.clone()).sum_dim(0);
        let out = Transaction::default().register(y.clone()).register(w.clone().greater_elem(0.5)).register(w.clone().argmax(1)).execute();
        let g = y.sum().backward();
        (out, w.grad(&g).unwrap().into_data())
    });
    check_grad("Transaction on Autodiff", Prec::F32, &case);
}

// ---- threads --------------------------------------------------------------------------------

/// A thread's work on shared tensors `a`, `b` and its own `own`: matmuls, reductions, int and
/// bool results.
fn work<B: Backend>(
    t: usize,
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    own: Tensor<B, 2>,
) -> Vec<TensorData> {
    let s = (t + 1) as f32 * 0.25;
    let ab = (a.clone() * s).matmul(b.clone());
    let own_sq = own.clone().matmul(own.clone().transpose());
    // A chain longer than the backend's graph depth bound (two ops a link), so it is evaluated
    // part-way by the thread building it.
    let links = burn_mlx::eval::max_graph_depth() as usize / 2 + 8;
    let mut chained = a.clone();
    for i in 0..links {
        chained = chained * 0.999 + 0.001 * (i % 3) as f32;
    }
    vec![
        chained.sum_dim(1).into_data(),
        ab.clone().sum_dim(1).into_data(),
        (ab.clone() * 0.05).tanh().mean_dim(0).into_data(),
        own_sq.clone().max_dim(1).into_data(),
        own_sq.argmax(1).into_data(),
        a.greater_elem(0.0).int().sum_dim(0).into_data(),
        own.clone().matmul(b).lower_elem(0.0).into_data(),
        (own.sum() + ab.sum()).into_data(),
    ]
}

/// A thread's training step through Autodiff on the shared inner tensor `a`.
fn grad_work(t: usize, a: Tensor<M, 2>, b: Tensor<M, 2>) -> Vec<TensorData> {
    let x = Tensor::<AM, 2>::from_inner(a).require_grad();
    let y = (x.clone().matmul(Tensor::from_inner(b)) * (0.01 * (t + 1) as f32))
        .tanh()
        .sum();
    let g = y.backward();
    vec![y.into_data(), x.grad(&g).unwrap().into_data()]
}

#[test]
fn tensors_shared_between_threads() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 6;
    let dev = mlx_device();
    let nd = Default::default();
    let (ad, bd) = (floats([48, 40], 1), floats([40, 32], 2));
    let own_data: Vec<TensorData> = (0..THREADS)
        .map(|t| floats([24, 40], 100 + t as u64))
        .collect();

    // Created here, used from every thread.
    let a = Tensor::<M, 2>::from_data(ad.clone(), &dev);
    let b = Tensor::<M, 2>::from_data(bd.clone(), &dev);
    let lazy_of =
        |a: &Tensor<M, 2>, b: &Tensor<M, 2>| (a.clone().matmul(b.clone()) / 7.0).tanh().sum_dim(0);
    // A pending graph that the threads evaluate at the same time, and its value computed alone.
    let shared_lazy = lazy_of(&a, &b);
    let lazy_want = lazy_of(&a, &b).into_data();

    // References, single-threaded; checked against the oracle first.
    let refs: Vec<Vec<TensorData>> = (0..THREADS)
        .map(|t| {
            let own = Tensor::<M, 2>::from_data(own_data[t].clone(), &dev);
            work(t, a.clone(), b.clone(), own)
        })
        .collect();
    let grad_refs: Vec<Vec<TensorData>> = (0..THREADS)
        .map(|t| grad_work(t, a.clone(), b.clone()))
        .collect();
    for (t, want) in refs.iter().enumerate() {
        let oracle = work(
            t,
            Tensor::<Nd, 2>::from_data(ad.clone(), &nd),
            Tensor::<Nd, 2>::from_data(bd.clone(), &nd),
            Tensor::<Nd, 2>::from_data(own_data[t].clone(), &nd),
        );
        assert_outputs(
            &format!("thread {t} reference vs ndarray"),
            Prec::F32,
            Tol::new(1e-4, 1e-4),
            want,
            &oracle,
        );
    }

    let barrier = Barrier::new(THREADS);
    let results: Vec<(Vec<Vec<TensorData>>, Tensor<M, 2>)> = thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (a, b, lazy, barrier) = (a.clone(), b.clone(), shared_lazy.clone(), &barrier);
                let own_data = own_data[t].clone();
                s.spawn(move || {
                    let mut rounds = vec![];
                    // All threads start together: the first reads race on the pending graph.
                    barrier.wait();
                    let lazy_read = lazy.clone().into_data();
                    for _ in 0..ROUNDS {
                        let own = Tensor::<M, 2>::from_data(own_data.clone(), &dev);
                        let mut out = work(t, a.clone(), b.clone(), own);
                        out.extend(grad_work(t, a.clone(), b.clone()));
                        out.push(lazy.clone().into_data());
                        out.push(lazy_read.clone());
                        // Waiting for the device while the other threads submit work.
                        M::sync(&dev).expect("sync from a thread");
                        rounds.push(out);
                    }
                    // A pending result made here, read by the main thread.
                    let handed_over = lazy_of(&a, &b);
                    (rounds, handed_over)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread panicked"))
            .collect()
    });
    for (t, (rounds, handed_over)) in results.into_iter().enumerate() {
        assert_data_close(
            &format!("thread {t} result read on the main thread"),
            &handed_over.into_data(),
            &lazy_want,
            Tol::new(1e-6, 1e-6),
        );
        let mut want = refs[t].clone();
        want.extend(grad_refs[t].clone());
        want.push(lazy_want.clone());
        want.push(lazy_want.clone());
        for (r, got) in rounds.iter().enumerate() {
            assert_outputs(
                &format!("thread {t} round {r}"),
                Prec::F32,
                Tol::new(1e-6, 1e-6),
                got,
                &want,
            );
        }
    }
    // The shared tensors are intact afterwards.
    assert_eq!(a.into_data(), ad);
    assert_data_close(
        "shared pending graph",
        &shared_lazy.into_data(),
        &lazy_want,
        Tol::EXACT,
    );
}

/// Whether MLX has computed the tensor's array (nothing pending behind it).
fn computed<const D: usize>(t: &Tensor<M, D>) -> bool {
    t.clone().into_primitive().tensor().array().status() == mlx::Status::Available
}

#[test]
fn tensors_created_on_one_thread_are_read_on_others() {
    let dev = mlx_device();
    // Random draws are the case that needs the process-wide streams: MLX splits the random key
    // on its own, on the calling thread's default stream.
    let random = Tensor::<M, 2>::random([4, 5], Distribution::Default, &dev);
    let affine = random.clone() * 2.0 + 1.0;
    let filled = Tensor::<M, 2>::full([2, 3], 1.5, &dev);
    let (random_there, affine_there, filled_there) = thread::spawn({
        let (r, a, f) = (random.clone(), affine.clone(), filled.clone());
        move || (r.into_data(), a.into_data(), f.into_data())
    })
    .join()
    .expect("reading on another thread");
    let r: Vec<f32> = random_there.to_vec().unwrap();
    assert!(r.iter().all(|v| (0.0..1.0).contains(v)), "{r:?}");
    let want: Vec<f32> = r.iter().map(|v| v * 2.0 + 1.0).collect();
    assert_eq!(affine_there.to_vec::<f32>().unwrap(), want);
    assert_eq!(filled_there.to_vec::<f32>().unwrap(), vec![1.5; 6]);
    // The values read elsewhere are the tensor's, read here too.
    assert_eq!(random.into_data(), random_there);

    // Made on a worker (fresh parameters and a dropout-style mask, as a data loader or a training
    // worker does), handed back pending, read here and dropped on a third thread.
    let (param, masked) = thread::spawn(move || {
        let param = Tensor::<M, 2>::random([3, 4], Distribution::Normal(0.0, 1.0), &dev);
        let mask = Tensor::<M, 2>::random([3, 4], Distribution::Bernoulli(0.5), &dev);
        let masked = param.clone() * mask;
        (param, masked)
    })
    .join()
    .expect("creating on another thread");
    assert!(
        !computed(&masked),
        "the worker's result should still be pending"
    );
    let p: Vec<f32> = param.clone().into_data().to_vec().unwrap();
    let m: Vec<f32> = masked.clone().into_data().to_vec().unwrap();
    for (p, m) in p.iter().zip(&m) {
        assert!(*m == 0.0 || m == p, "mask times parameter: {m} vs {p}");
    }
    thread::spawn(move || drop((param, masked)))
        .join()
        .expect("dropping on another thread");

    // A training step on a worker thread over parameters initialized here, the loss read there:
    // the pattern of burn-train's Learner.
    let w = Tensor::<AM, 2>::random([6, 2], Distribution::Default, &dev).require_grad();
    let (loss, grad) = thread::spawn({
        let w = w.clone();
        move || {
            let x = Tensor::<AM, 2>::random([5, 6], Distribution::Default, &dev);
            let loss = x.matmul(w.clone()).powi_scalar(2).mean();
            let grads = loss.backward();
            (loss.into_data(), w.grad(&grads).unwrap().into_data())
        }
    })
    .join()
    .expect("training step on another thread");
    assert!(loss.to_vec::<f32>().unwrap()[0] > 0.0);
    assert_eq!(grad.shape.to_vec(), vec![6, 2]);
    // Every gradient is positive: inputs and weights are in [0, 1).
    assert!(grad.to_vec::<f32>().unwrap().iter().all(|g| *g > 0.0));
}

#[test]
fn sync_evaluates_every_pending_tensor() {
    let dev = mlx_device();
    let x = Tensor::<M, 2>::random([16, 16], Distribution::Default, &dev);
    let y = x.clone().matmul(x.clone().transpose()).exp();
    let zeros = Tensor::<M, 2>::zeros([3, 3], &dev);
    let ints = Tensor::<M, 1, Int>::arange(0..10, &dev) * 3;
    let mask = y.clone().greater_elem(1.0);
    assert!(!computed(&y) && !computed(&zeros) && !computed(&x));
    M::sync(&dev).expect("sync");
    assert!(computed(&x) && computed(&y) && computed(&zeros));
    for t in [ints.into_primitive(), mask.into_primitive()] {
        assert_eq!(t.array().status(), mlx::Status::Available);
    }

    // An optimizer step with nothing read: after `sync` the updated parameters are computed, so
    // a loop timed with `sync` measures the step's compute.
    use burn::module::Module;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{AdamConfig, GradientsParams, Optimizer};
    let mut model: Linear<AM> = LinearConfig::new(8, 4).init(&dev);
    let mut optim = AdamConfig::new().init();
    for _ in 0..3 {
        let x = Tensor::<AM, 2>::random([32, 8], Distribution::Default, &dev);
        let loss = model.forward(x).powi_scalar(2).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-2, model, grads);
    }
    let weight = model.weight.val().inner();
    assert!(
        !computed(&weight),
        "the step's result should still be pending"
    );
    AM::sync(&dev).expect("sync");
    assert!(computed(&weight));
    assert_eq!(model.num_params(), 8 * 4 + 4);
}
