//! Distributed collectives over real processes: this test binary relaunched as 2 and 3 ranks of
//! a ring job on 127.0.0.1 (the workers are `#[ignore]`d tests the launcher runs by name).

mod common;

use std::time::{Duration, Instant};

use mlx::distributed::launch::{LaunchOptions, launch};
use mlx::distributed::{self as dist, Backend, Group};
use mlx::{Array, Dtype, transforms};

/// Runs the ignored test `worker` as `n` ranks of a ring job; returns the job's status and how
/// long it took.
fn run_job(worker: &str, n: usize) -> (std::process::ExitStatus, Duration) {
    run_job_on(worker, n, Backend::Ring)
}

/// [`run_job`] with another backend.
fn run_job_on(worker: &str, n: usize, backend: Backend) -> (std::process::ExitStatus, Duration) {
    let exe = std::env::current_exe().unwrap().display().to_string();
    let command = [
        exe,
        worker.into(),
        "--exact".into(),
        "--ignored".into(),
        "--nocapture".into(),
    ];
    let start = Instant::now();
    let status = launch(&command, &LaunchOptions::new(n, backend)).expect("launching");
    (status, start.elapsed())
}

#[test]
fn every_collective_over_two_and_three_ranks() {
    for n in [2, 3] {
        let (status, _) = run_job("ring_worker", n);
        assert!(status.success(), "the {n}-rank job failed: {status}");
    }
}

#[test]
fn a_failing_rank_stops_the_job() {
    let (status, took) = run_job("failing_worker", 3);
    assert_eq!(
        status.code(),
        Some(3),
        "the job reports the failing rank's status"
    );
    assert!(
        took < Duration::from_secs(30),
        "the other ranks were stopped ({took:?})"
    );
}

#[test]
fn a_single_process_gets_a_group_of_one_and_bad_calls_are_errors() {
    assert!(dist::is_available(Backend::Ring));
    let g = Group::init(false, Backend::Ring).unwrap();
    assert_eq!((g.rank(), g.size()), (0, 1));
    let x = mlx::array![1.0f32, 2.0];
    assert_eq!(
        dist::all_sum(&x, Some(&g))
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        vec![1.0, 2.0]
    );
    let e = dist::send(&x, 1, Some(&g)).unwrap_err().to_string();
    assert!(e.contains("not in the group"), "{e}");
    let e = dist::recv(&[2], Dtype::Float32, 0, Some(&g))
        .unwrap_err()
        .to_string();
    assert!(e.contains("is this process"), "{e}");
    let e = dist::sum_scatter(&Array::scalar(1.0f32), Some(&g))
        .unwrap_err()
        .to_string();
    assert!(e.contains("must divide"), "{e}");
    assert!("tcp".parse::<Backend>().is_err());
}

/// A rank of the job: checks each collective's values, which depend on every rank's input.
#[test]
#[ignore = "a worker: run by the launcher in every_collective_over_two_and_three_ranks"]
fn ring_worker() {
    let g = Group::init(true, Backend::Ring).expect("joining the ring");
    let (rank, n) = (g.rank(), g.size());
    let r = rank as f32;
    let x = Array::from_slice(&[r, 10.0 + r, -r], &[3]).unwrap();
    let sum_r: f32 = (0..n).map(|i| i as f32).sum();
    let all = |a: &Array| a.to_vec::<f32>().unwrap();
    assert_eq!(
        all(&dist::all_sum(&x, Some(&g)).unwrap()),
        vec![sum_r, 10.0 * n as f32 + sum_r, -sum_r]
    );
    let top = (n - 1) as f32;
    assert_eq!(
        all(&dist::all_max(&x, Some(&g)).unwrap()),
        vec![top, 10.0 + top, 0.0]
    );
    assert_eq!(
        all(&dist::all_min(&x, Some(&g)).unwrap()),
        vec![0.0, 10.0, -top]
    );
    // Gather: rank i contributes the row [i, 10+i, -i].
    let gathered = dist::all_gather(&x.reshape(&[1, 3]).unwrap(), Some(&g)).unwrap();
    assert_eq!(gathered.shape(), &[n, 3]);
    let want: Vec<f32> = (0..n)
        .flat_map(|i| [i as f32, 10.0 + i as f32, -(i as f32)])
        .collect();
    assert_eq!(all(&gathered), want);
    // MLX's ring backend has no sum_scatter (NCCL and MPI do): a clear error at evaluation.
    let rows = mlx::ops::arange(0.0, f64::from(2 * n), 1.0, Dtype::Float32).unwrap();
    let e = dist::sum_scatter(&rows, Some(&g))
        .unwrap()
        .to_vec::<f32>()
        .unwrap_err();
    assert!(e.to_string().contains("sum_scatter not supported"), "{e}");
    // Send to the next rank, receive from the previous one (the ring's neighbours).
    let next = (rank + 1) % n;
    let prev = (rank + n - 1) % n;
    let payload = Array::from_slice(&[r * 100.0, 1.0], &[2]).unwrap();
    let received = if rank % 2 == 0 {
        mlx::eval([&dist::send(&payload, next, Some(&g)).unwrap()]).unwrap();
        dist::recv(&[2], Dtype::Float32, prev, Some(&g)).unwrap()
    } else {
        let got = dist::recv_like(&payload, prev, Some(&g)).unwrap();
        mlx::eval([&got]).unwrap();
        mlx::eval([&dist::send(&payload, next, Some(&g)).unwrap()]).unwrap();
        got
    };
    assert_eq!(all(&received), vec![prev as f32 * 100.0, 1.0]);
    // Gradients flow through all_sum as MLX defines them: each process differentiates its own
    // contribution, d/dw sum(all_sum(w * c_rank)) = c_rank.
    let w = mlx::array![1.0f32, 2.0];
    let c = Array::from_slice(&[r + 1.0, 2.0 * r], &[2]).unwrap();
    let mut grad = transforms::grad(
        move |a: &[Array]| dist::all_sum(&(&a[0] * &c), None)?.sum(None, false),
        &[0],
    );
    let gw = grad(&[w]).unwrap();
    assert_eq!(all(&gw[0]), vec![r + 1.0, 2.0 * r]);
    // MLX's ring backend cannot split groups (MPI and NCCL can): an error, not a crash.
    let e = g.split(rank % 2, None).unwrap_err().to_string();
    assert!(e.contains("split not supported"), "{e}");
    println!("ring worker {rank}/{n} ok");
}

/// NCCL, where it can run: a job of one rank on one GPU, through the launcher's NCCL
/// environment. It needs MLX's CUDA build and an NVIDIA GPU, so it runs only when
/// `MLX_TEST_NCCL=1` (the GPU host's test runs set it) and otherwise notes the skip.
#[test]
fn nccl_job_of_one_rank() {
    if std::env::var("MLX_TEST_NCCL").as_deref() != Ok("1") {
        eprintln!("note: MLX_TEST_NCCL is not 1; skipping the NCCL job (needs a CUDA GPU)");
        return;
    }
    assert!(
        dist::is_available(Backend::Nccl),
        "this MLX build has no NCCL"
    );
    let (status, _) = run_job_on("nccl_worker", 1, Backend::Nccl);
    assert!(status.success(), "the NCCL job failed: {status}");
}

/// The rank of `nccl_job_of_one_rank`: on the GPU, every collective of a group of one returns
/// its input, in each dtype NCCL reduces; the dtypes NCCL lacks and bad shapes are errors.
#[test]
#[ignore = "a worker: run by the launcher in nccl_job_of_one_rank"]
fn nccl_worker() {
    mlx::Device::gpu().set_default().unwrap();
    let g = Group::init(true, Backend::Nccl).expect("joining the NCCL job");
    assert_eq!((g.rank(), g.size()), (0, 1));
    let values = [1.5f32, -2.0, 3.25, 0.0, 7.0, -0.5];
    let x = Array::from_slice(&values, &[3, 2]).unwrap();
    for dtype in [
        Dtype::Float32,
        Dtype::Float16,
        Dtype::Bfloat16,
        Dtype::Int32,
    ] {
        let x = x.astype(dtype).unwrap();
        let want = x.astype(Dtype::Float32).unwrap().to_vec::<f32>().unwrap();
        let results = [
            ("all_sum", dist::all_sum(&x, Some(&g))),
            ("all_max", dist::all_max(&x, Some(&g))),
            ("all_min", dist::all_min(&x, Some(&g))),
            ("all_gather", dist::all_gather(&x, Some(&g))),
            ("sum_scatter", dist::sum_scatter(&x, Some(&g))),
        ];
        for (name, y) in results {
            let y = y.unwrap_or_else(|e| panic!("{name} {dtype:?}: {e}"));
            assert_eq!(y.shape(), &[3, 2], "{name} {dtype:?}");
            assert_eq!(y.dtype(), dtype, "{name}");
            let got = y.astype(Dtype::Float32).unwrap().to_vec::<f32>().unwrap();
            assert_eq!(got, want, "{name} {dtype:?}");
        }
    }
    // The gradient through all_sum on the GPU.
    let c = mlx::array![3.0f32, -1.0];
    let mut grad = transforms::grad(
        move |a: &[Array]| dist::all_sum(&(&a[0] * &c), None)?.sum(None, false),
        &[0],
    );
    let gw = grad(&[mlx::array![1.0f32, 2.0]]).unwrap();
    assert_eq!(gw[0].to_vec::<f32>().unwrap(), vec![3.0, -1.0]);
    // What NCCL cannot do is refused before MLX is called (its NCCL backend would exit).
    let e = dist::all_sum(&mlx::array![true, false], Some(&g)).unwrap_err();
    assert!(e.to_string().contains("bool"), "{e}");
    let e = dist::sum_scatter(&Array::scalar(1.0f32), Some(&g)).unwrap_err();
    assert!(e.to_string().contains("must divide"), "{e}");
    println!("nccl worker ok");
}

/// A rank that fails (rank 1) while the others wait: the launcher must stop them.
#[test]
#[ignore = "a worker: run by the launcher in a_failing_rank_stops_the_job"]
fn failing_worker() {
    let rank: i32 = std::env::var("MLX_RANK").unwrap().parse().unwrap();
    if rank == 1 {
        std::process::exit(3);
    }
    std::thread::sleep(Duration::from_secs(120));
}

#[derive(mlx::Parameters, Clone)]
struct Grads {
    big: Array,
    small: Vec<Array>,
    ints: Array,
}

/// A rank of `gradients_average_over_ranks`.
#[test]
#[ignore = "a worker: run by the launcher in gradients_average_over_ranks"]
fn averaging_worker() {
    let g = Group::init(true, Backend::Ring).unwrap();
    let (rank, n) = (g.rank() as f32, g.size() as f32);
    // Leaf k on rank r holds (k + 1) * (r + 1) everywhere: the mean is (k + 1) * (n + 1) / 2.
    let leaf = |k: usize, shape: &[i32]| {
        mlx::ops::full(
            shape,
            &Array::scalar((k + 1) as f32 * (rank + 1.0)),
            Dtype::Float32,
        )
        .unwrap()
    };
    let grads = Grads {
        big: leaf(0, &[64, 32]),
        small: (1..6).map(|k| leaf(k, &[3])).collect(),
        ints: mlx::ops::full(&[2], &Array::scalar(2.0f32), Dtype::Float16).unwrap(),
    };
    // Buckets of 64 bytes: the big leaf alone, the small ones several per bucket, the f16 leaf
    // in its own; and the unbucketed path.
    for limit in [64, 0, mlx::nn::ALL_REDUCE_SIZE] {
        let avg = mlx::nn::average_gradients(&grads, Some(&g), limit).unwrap();
        let mean = |k: usize| (k + 1) as f64 * f64::from(n + 1.0) / 2.0;
        common::assert_close(&avg.big, &vec![mean(0); 64 * 32], 1e-6, 0.0);
        for (k, s) in avg.small.iter().enumerate() {
            common::assert_close(s, &[mean(k + 1); 3], 1e-6, 0.0);
        }
        assert_eq!(avg.ints.dtype(), Dtype::Float16);
        common::assert_close(&avg.ints, &[2.0, 2.0], 0.0, 0.0);
    }
    println!("averaging worker {rank} ok");
}

#[test]
fn gradients_average_over_ranks() {
    let (status, _) = run_job("averaging_worker", 3);
    assert!(status.success(), "the averaging job failed: {status}");
}

/// A rank of `sharded_layers_compute_the_full_mlp`.
#[test]
#[ignore = "a worker: run by the launcher in sharded_layers_compute_the_full_mlp"]
fn sharded_worker() {
    use mlx::Parameters;
    use mlx::nn::{self, Module};
    let g = Group::init(true, Backend::Ring).unwrap();
    // The same full layers on every rank (same seed), then each rank's shards.
    mlx::random::seed(21).unwrap();
    let up = nn::Linear::new(6, 8).unwrap();
    let down = nn::Linear::new(8, 5).unwrap();
    let x = mlx::random::normal(&[4, 6], Dtype::Float32, None).unwrap();
    let up_shard = nn::AllToShardedLinear::from_linear(&up, 1, &g).unwrap();
    let down_shard = nn::ShardedToAllLinear::from_linear(&down, 1, &g).unwrap();
    assert_eq!(up_shard.weight.shape(), &[8 / g.size(), 6]);
    assert_eq!(down_shard.weight.shape(), &[5, 8 / g.size()]);
    let full = |x: &Array| down.forward(&nn::relu(&up.forward(x)?)?);
    let sharded = |x: &Array| down_shard.forward(&nn::relu(&up_shard.forward(x)?)?);
    common::assert_arrays_close(&sharded(&x).unwrap(), &full(&x).unwrap(), 1e-5, 1e-6);
    // The input's gradient: each rank's slice contributes, sum_gradients adds them up.
    let loss = |f: &dyn Fn(&Array) -> mlx::Result<Array>| {
        let mut g = transforms::grad(
            move |a: &[Array]| f(&a[0])?.square()?.sum(None, false),
            &[0],
        );
        g(std::slice::from_ref(&x)).unwrap().remove(0)
    };
    common::assert_arrays_close(&loss(&sharded), &loss(&full), 1e-4, 1e-5);
    // Fused projections shard per segment: rank r keeps its share of each of the 2 segments.
    let fused = nn::AllToShardedLinear::from_linear(&up, 2, &g).unwrap();
    let rows = |w: &Array| w.to_vec::<f32>().unwrap();
    let per = 4 / g.size();
    let segment_rows: Vec<f32> = [0, 4]
        .iter()
        .flat_map(|s| {
            let start = s + g.rank() * per;
            rows(&mlx::ops::slice(&up.weight, &[start, 0], &[start + per, 6], &[1, 1]).unwrap())
        })
        .collect();
    assert_eq!(rows(&fused.weight), segment_rows);
    assert!(nn::AllToShardedLinear::new(6, 7, true, &g).is_err());

    // Quantized: shards of quantized layers, and shards quantized in place, both compute the
    // quantized full MLP (the same packed values; only the order of the sums differs).
    let q = nn::Quantization::default();
    let mut up = nn::Linear::new(64, 256).unwrap();
    let mut down = nn::Linear::new(256, 32).unwrap();
    let x = mlx::random::normal(&[3, 64], Dtype::Float32, None).unwrap();
    let (mut up_shard, mut down_shard) = (
        nn::AllToShardedLinear::from_linear(&up, 1, &g).unwrap(),
        nn::ShardedToAllLinear::from_linear(&down, 1, &g).unwrap(),
    );
    up_shard.quantize(q).unwrap();
    down_shard.quantize(q).unwrap();
    assert!(up_shard.quantize(q).is_err(), "already quantized");
    up.quantize(q).unwrap();
    down.quantize(q).unwrap();
    let (up_from_q, down_from_q) = (
        nn::AllToShardedLinear::from_linear(&up, 1, &g).unwrap(),
        nn::ShardedToAllLinear::from_linear(&down, 1, &g).unwrap(),
    );
    assert_eq!(up_from_q.quantization(), Some(q));
    assert!(up_from_q.trainable_params().is_empty() && down_shard.trainable_params().is_empty());
    assert_eq!(
        down_from_q.param_names(),
        ["weight", "bias", "scales", "biases"]
    );
    let packed = |w: &Array| w.to_vec::<u32>().unwrap();
    assert_eq!(packed(&up_from_q.weight), packed(&up_shard.weight));
    assert_eq!(packed(&down_from_q.weight), packed(&down_shard.weight));
    let full = down
        .forward(&nn::relu(&up.forward(&x).unwrap()).unwrap())
        .unwrap();
    for (a, b) in [(&up_shard, &down_shard), (&up_from_q, &down_from_q)] {
        let y = b
            .forward(&nn::relu(&a.forward(&x).unwrap()).unwrap())
            .unwrap();
        common::assert_arrays_close(&y, &full, 1e-4, 1e-5);
    }
    println!("sharded worker {} ok", g.rank());
}

#[test]
fn sharded_layers_compute_the_full_mlp() {
    let (status, _) = run_job("sharded_worker", 2);
    assert!(status.success(), "the sharded job failed: {status}");
}

/// Two layers for the fully sharded test.
#[derive(mlx::Parameters, Clone, Debug)]
struct TwoLayers {
    first: mlx::nn::Linear,
    second: mlx::nn::Linear,
}

impl mlx::nn::Module for TwoLayers {
    fn forward(&self, x: &Array) -> mlx::Result<Array> {
        self.second
            .forward(&mlx::nn::relu(&self.first.forward(x)?)?)
    }
}

/// A rank of `fully_sharded_training_matches_one_process`.
#[test]
#[ignore = "a worker: run by the launcher in fully_sharded_training_matches_one_process"]
fn fully_sharded_worker() {
    use mlx::Parameters;
    use mlx::nn::{self, Module};
    use mlx::optimizers::{Adam, Optimizer};
    let g = Group::init(true, Backend::Ring).unwrap();
    let (rank, n) = (g.rank(), g.size());
    // The same parameters everywhere; each rank's own batch (all of them are made everywhere,
    // for the one-process reference).
    mlx::random::seed(5).unwrap();
    let model = TwoLayers {
        first: nn::Linear::new(6, 8).unwrap(),
        second: nn::Linear::new(8, 4).unwrap(),
    };
    let batches: Vec<(Array, Array)> = (0..n)
        .map(|_| {
            (
                mlx::random::normal(&[5, 6], Dtype::Float32, None).unwrap(),
                mlx::random::normal(&[5, 4], Dtype::Float32, None).unwrap(),
            )
        })
        .collect();
    fn mse<M: Module>(m: &M, (x, y): &(Array, Array)) -> mlx::Result<Array> {
        (&m.forward(x)? - y).square()?.mean(None, false)
    }
    let rows_of_rank = |a: &Array| {
        let rows = a.shape()[0] / n;
        let mut stop = a.shape().to_vec();
        let mut start = vec![0; a.ndim()];
        start[0] = rank * rows;
        stop[0] = (rank + 1) * rows;
        mlx::ops::slice(a, &start, &stop, &vec![1; a.ndim()]).unwrap()
    };

    let mut sharded = nn::fully_shard(model.clone(), &g, None).unwrap();
    assert_eq!(sharded.module.first.weight.shape(), &[8 / n, 6]);
    assert_eq!(
        sharded.module.second.bias.as_ref().unwrap().shape(),
        &[4 / n]
    );
    assert_eq!(
        sharded.param_names(),
        [
            "module.first.weight",
            "module.first.bias",
            "module.second.weight",
            "module.second.bias"
        ]
    );
    // The forward pass is the full model's.
    let x = &batches[0].0;
    common::assert_arrays_close(
        &sharded.forward(x).unwrap(),
        &model.forward(x).unwrap(),
        1e-6,
        1e-6,
    );

    // Two Adam steps: each rank's slices follow the slices of one process training on the mean
    // loss over every rank's batch.
    let mut reference = model.clone();
    let (mut opt, mut ref_opt) = (Adam::new(0.01), Adam::new(0.01));
    for _ in 0..2 {
        let (_, grads) =
            mlx::transforms::value_and_grad_params(&sharded, |m| mse(m, &batches[rank as usize]))
                .unwrap();
        opt.update(&mut sharded, &grads).unwrap();
        let (_, ref_grads) = mlx::transforms::value_and_grad_params(&reference, |m| {
            let losses = batches
                .iter()
                .map(|b| mse(m, b))
                .collect::<mlx::Result<Vec<_>>>()?;
            mlx::ops::stack(&losses, 0)?.mean(None, false)
        })
        .unwrap();
        ref_opt.update(&mut reference, &ref_grads).unwrap();
    }
    for ((name, slice), (_, full)) in sharded
        .module
        .flatten_params()
        .iter()
        .zip(reference.flatten_params())
    {
        let want = rows_of_rank(&full);
        assert_eq!(slice.shape(), want.shape(), "{name}");
        common::assert_arrays_close(slice, &want, 1e-5, 1e-6);
    }

    // What cannot be cut: a first axis that does not divide, a scalar.
    #[derive(mlx::Parameters, Clone, Debug)]
    struct Odd {
        w: Array,
    }
    let odd = Odd {
        w: Array::zeros::<f32>(&[3, 2]).unwrap(),
    };
    let scalar = Odd {
        w: Array::scalar(1.0f32),
    };
    let err = nn::fully_shard(odd, &g, None).unwrap_err().to_string();
    assert!(err.contains("first axis must divide"), "{err}");
    assert!(nn::fully_shard(scalar, &g, None).is_err());
    println!("fully sharded worker {rank} ok");
}

#[test]
fn fully_sharded_training_matches_one_process() {
    let (status, _) = run_job("fully_sharded_worker", 2);
    assert!(status.success(), "the fully sharded job failed: {status}");
}
