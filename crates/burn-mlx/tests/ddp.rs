//! Data-parallel training with `burn_mlx::distributed::average_gradients`: this test binary
//! relaunched as 2 ranks of a ring job on 127.0.0.1 (the worker is an `#[ignore]`d test the
//! launcher runs by name), each training a small MLP on `Autodiff<Mlx>` with half of every
//! global batch, must end with the parameters of a single-process run over the full batches.
//!
//! Both ranks write their final parameters to files; this process compares them with each
//! other (bit for bit) and with a single-process run it does itself. Each rank also compares
//! with a single-process run of its own before writing.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::nn::loss::{MseLoss, Reduction};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::{AdamConfig, GradientsParams, Optimizer, SgdConfig};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use burn_mlx::distributed::{
    DEFAULT_BUCKET_BYTES, average_gradients, average_gradients_bucketed, broadcast_parameters,
    rank_shard,
};
use burn_mlx::{MlxAutodiff, MlxDevice};
use mlx::distributed::launch::{LaunchOptions, launch};
use mlx::distributed::{Backend as Comm, Group};

type B = MlxAutodiff;

const INPUTS: usize = 6;
const HIDDEN: usize = 16;
const OUTPUTS: usize = 3;
const GLOBAL_BATCH: usize = 16;
const STEPS: usize = 12;
const SEED: u64 = 2024;
const RANKS: usize = 2;
/// The environment variable telling the workers where to write their parameters.
const OUT_ENV: &str = "BURN_MLX_DDP_TEST_OUT";
/// Largest difference allowed between the data-parallel and the single-process parameters:
/// float rounding of sums taken in another order, through a few optimizer steps.
const TOLERANCE: f32 = 1e-6;

#[derive(Module, Debug)]
struct Mlp<B: Backend> {
    hidden: Linear<B>,
    out: Linear<B>,
    relu: Relu,
}

impl<B: Backend> Mlp<B> {
    fn new(device: &B::Device) -> Self {
        Mlp {
            hidden: LinearConfig::new(INPUTS, HIDDEN).init(device),
            out: LinearConfig::new(HIDDEN, OUTPUTS).init(device),
            relu: Relu::new(),
        }
    }

    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.out.forward(self.relu.forward(self.hidden.forward(x)))
    }
}

/// Rows `rows` of the global batch of `step`: deterministic inputs and targets (a smooth
/// function of the inputs), the same in every process.
fn batch(step: usize, rows: Range<usize>, device: &MlxDevice) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let n = rows.len();
    let mut x = Vec::with_capacity(n * INPUTS);
    let mut y = Vec::with_capacity(n * OUTPUTS);
    for row in rows {
        let xs: Vec<f32> = (0..INPUTS)
            .map(|j| ((step * 131 + row * 17 + j * 7) as f32 * 0.37).sin())
            .collect();
        for k in 0..OUTPUTS {
            let t: f32 = xs
                .iter()
                .enumerate()
                .map(|(j, v)| v * ((j + 2 * k) as f32 * 0.5).cos())
                .sum();
            y.push(t.tanh());
        }
        x.extend(xs);
    }
    (
        Tensor::from_data(TensorData::new(x, [n, INPUTS]), device),
        Tensor::from_data(TensorData::new(y, [n, OUTPUTS]), device),
    )
}

#[derive(Clone, Copy, Debug)]
enum Opt {
    Sgd,
    Adam,
}

/// How a run's gradients are combined.
#[derive(Clone, Copy)]
enum Averaging<'a> {
    /// None: the gradients of the rows this process sees.
    Local,
    /// `average_gradients_bucketed` over `group` with buckets of the given size.
    Group(Option<&'a Group>, usize),
}

/// Trains a fresh model (the same initial parameters in every process) for [`STEPS`] steps on
/// rows `rows` of each global batch; returns every parameter, flattened, in module order.
fn train(rows: Range<usize>, averaging: Averaging<'_>, opt: Opt) -> Vec<f32> {
    let device = MlxDevice::default();
    B::seed(&device, SEED);
    let model = Mlp::<B>::new(&device);
    match opt {
        Opt::Sgd => run(model, SgdConfig::new().init(), 0.3, rows, averaging),
        Opt::Adam => run(model, AdamConfig::new().init(), 0.01, rows, averaging),
    }
}

fn run<O: Optimizer<Mlp<B>, B>>(
    mut model: Mlp<B>,
    mut optimizer: O,
    lr: f64,
    rows: Range<usize>,
    averaging: Averaging<'_>,
) -> Vec<f32> {
    let device = MlxDevice::default();
    for step in 0..STEPS {
        let (x, y) = batch(step, rows.clone(), &device);
        // A mean over the rows seen here: averaged over equal shares, the full batch's mean.
        let loss = MseLoss::new().forward(model.forward(x), y, Reduction::Mean);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let grads = match averaging {
            Averaging::Local => grads,
            Averaging::Group(group, bucket) => {
                average_gradients_bucketed(grads, &model, group, bucket).expect("averaging")
            }
        };
        model = optimizer.step(lr, model, grads);
    }
    parameters(&model.valid())
}

/// Every float parameter of `module`, flattened, in module order.
fn parameters<M: Module<burn_mlx::Mlx>>(module: &M) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl ModuleVisitor<burn_mlx::Mlx> for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<burn_mlx::Mlx, D>>) {
            self.0
                .extend(param.val().into_data().to_vec::<f32>().expect("f32 values"));
        }
    }
    let mut c = Collect(Vec::new());
    module.visit(&mut c);
    c.0
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "parameter counts differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The data-parallel configurations each rank runs: optimizer, bucket size (default: the whole
/// model in one all_sum; 260 bytes: the 384-byte hidden weight alone, the hidden bias and the
/// output weight concatenated, the output bias in a third; 0: one all_sum per gradient), and whether the group is passed
/// or found (`None`).
const CONFIGS: [(Opt, usize, bool); 4] = [
    (Opt::Sgd, DEFAULT_BUCKET_BYTES, true),
    (Opt::Sgd, 260, true),
    (Opt::Adam, 0, true),
    (Opt::Adam, DEFAULT_BUCKET_BYTES, false),
];

fn params_file(dir: &Path, rank: usize, config: usize) -> PathBuf {
    dir.join(format!("rank{rank}-config{config}.f32"))
}

fn write_f32(path: &Path, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[test]
fn two_ranks_with_half_batches_train_like_one_process_with_full_batches() {
    let dir = std::env::temp_dir().join(format!("burn-mlx-ddp-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = std::env::current_exe().unwrap().display().to_string();
    let command = [
        exe,
        "ddp_worker".into(),
        "--exact".into(),
        "--ignored".into(),
        "--nocapture".into(),
    ];
    let mut options = LaunchOptions::new(RANKS, Comm::Ring);
    options
        .env
        .push((OUT_ENV.into(), dir.display().to_string()));
    let start = Instant::now();
    let status = launch(&command, &options).expect("launching");
    let took = start.elapsed();
    assert!(status.success(), "the {RANKS}-rank job failed: {status}");
    assert!(took < Duration::from_secs(120), "the job took {took:?}");

    for (i, &(opt, bucket, _)) in CONFIGS.iter().enumerate() {
        // The reference, computed here: one process, full batches, no collectives.
        let reference = train(0..GLOBAL_BATCH, Averaging::Local, opt);
        let ranks: Vec<Vec<f32>> = (0..RANKS)
            .map(|r| read_f32(&params_file(&dir, r, i)))
            .collect();
        for r in 1..RANKS {
            assert!(
                ranks[r] == ranks[0],
                "{opt:?}, buckets of {bucket} bytes: rank {r}'s parameters differ from rank 0's"
            );
        }
        let diff = max_abs_diff(&ranks[0], &reference);
        // The comparison is not vacuous: training on one half without averaging ends elsewhere.
        let half = train(0..GLOBAL_BATCH / 2, Averaging::Local, opt);
        let apart = max_abs_diff(&half, &reference);
        println!(
            "{opt:?}, buckets of {bucket} bytes: {} parameters, max |data-parallel - single \
             process| = {diff:e} (a half-batch run without averaging: {apart:e})",
            reference.len()
        );
        assert!(diff <= TOLERANCE, "{opt:?}, buckets of {bucket}: {diff:e}");
        assert!(
            apart > 100.0 * TOLERANCE,
            "{opt:?}: a half-batch run is too close ({apart:e})"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A rank of the job: trains each configuration with its half of every batch and averaged
/// gradients, checks against its own single-process run, and writes its parameters.
#[test]
#[ignore = "a worker: run by the launcher in two_ranks_with_half_batches_train_like_one_process_with_full_batches"]
fn ddp_worker() {
    let group = Group::init(true, Comm::Ring).expect("joining the ring");
    let (rank, size) = (group.rank() as usize, group.size() as usize);
    assert_eq!(size, RANKS);
    let dir = PathBuf::from(std::env::var(OUT_ENV).expect("the output folder"));
    let shard = rank_shard(GLOBAL_BATCH, &group);
    assert_eq!(shard.len(), GLOBAL_BATCH / RANKS);
    for (i, &(opt, bucket, pass_group)) in CONFIGS.iter().enumerate() {
        let g = pass_group.then_some(&group);
        let ddp = train(shard.clone(), Averaging::Group(g, bucket), opt);
        let reference = train(0..GLOBAL_BATCH, Averaging::Local, opt);
        let diff = max_abs_diff(&ddp, &reference);
        assert!(
            diff <= TOLERANCE,
            "rank {rank}, {opt:?}, buckets of {bucket} bytes: {diff:e} from the reference"
        );
        write_f32(&params_file(&dir, rank, i), &ddp);
    }
    // Models drawn with different seeds become rank 0's.
    B::seed(&device_default(), SEED + rank as u64);
    let mine = Mlp::<B>::new(&device_default());
    let shared = broadcast_parameters(mine, Some(&group)).expect("broadcasting");
    B::seed(&device_default(), SEED);
    let rank0 = parameters(&Mlp::<B>::new(&device_default()).valid());
    assert_eq!(
        parameters(&shared.valid()),
        rank0,
        "rank {rank}: not rank 0's model"
    );
    println!("ddp worker {rank}/{size} ok");
}

fn device_default() -> MlxDevice {
    MlxDevice::default()
}

/// Without a launcher the group has one process and averaging returns the gradients as they
/// are.
#[test]
fn a_single_process_averages_to_the_gradients_themselves() {
    type Inner = <B as AutodiffBackend>::InnerBackend;
    let device = MlxDevice::default();
    let group = Group::init(false, Comm::Ring).unwrap();
    assert_eq!(group.size(), 1);
    B::seed(&device, SEED);
    let model = Mlp::<B>::new(&device);
    let id = model.hidden.weight.id;
    for g in [Some(&group), None] {
        let (x, y) = batch(0, 0..GLOBAL_BATCH, &device);
        let loss = MseLoss::new().forward(model.forward(x), y, Reduction::Mean);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let count = grads.len();
        let before = grads.get::<Inner, 2>(id).unwrap().into_data();
        let after = average_gradients(grads, &model, g).unwrap();
        assert_eq!(after.len(), count);
        assert_eq!(after.get::<Inner, 2>(id).unwrap().into_data(), before);
    }
}

/// Burn's own gradient synchronization (the `distributed` feature): parameters marked
/// distributed have their gradients reduced during the backward pass, through `Mlx`'s
/// `DistributedBackend`, across the processes of the job.
#[cfg(feature = "distributed")]
mod burn_gradient_sync {
    use super::*;
    use burn::module::ModuleMapper;
    use burn::tensor::backend::distributed::{
        DistributedBackend, DistributedConfig, DistributedParamId, ReduceOperation,
    };

    /// Marks every float parameter distributed, as burn-train's DDP strategy does.
    struct MarkDistributed;

    impl ModuleMapper<B> for MarkDistributed {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
            let (id, tensor, mapper) = param.consume();
            let tensor = tensor.set_distributed(DistributedParamId::from(id.val()));
            Param::from_mapped_value(id, tensor, mapper)
        }
    }

    #[test]
    fn burns_gradient_sync_over_two_ranks_trains_like_one_process() {
        let exe = std::env::current_exe().unwrap().display().to_string();
        let command = [
            exe,
            "burn_gradient_sync::worker".into(),
            "--exact".into(),
            "--ignored".into(),
            "--nocapture".into(),
        ];
        let status = launch(&command, &LaunchOptions::new(RANKS, Comm::Ring)).expect("launching");
        assert!(status.success(), "the {RANKS}-rank job failed: {status}");
    }

    #[test]
    #[ignore = "a worker: run by the launcher in burns_gradient_sync_over_two_ranks_trains_like_one_process"]
    fn worker() {
        let group = Group::init(true, Comm::Ring).expect("joining the ring");
        let rank = group.rank() as usize;
        let device = MlxDevice::default();
        B::start_communication_server(
            std::slice::from_ref(&device),
            DistributedConfig {
                all_reduce_op: ReduceOperation::Mean,
            },
        );
        B::seed(&device, SEED);
        let mut model = Mlp::<B>::new(&device).map(&mut MarkDistributed);
        let mut optimizer = SgdConfig::new().init();
        let shard = rank_shard(GLOBAL_BATCH, &group);
        for step in 0..STEPS {
            let (x, y) = batch(step, shard.clone(), &device);
            let loss = MseLoss::new().forward(model.forward(x), y, Reduction::Mean);
            // The backward pass reduces the gradients (Mean) across the ranks.
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(0.3, model, grads);
        }
        B::close_communication_server(&device);
        let synced = parameters(&model.valid());
        let reference = train(0..GLOBAL_BATCH, Averaging::Local, Opt::Sgd);
        let diff = max_abs_diff(&synced, &reference);
        println!("rank {rank}: Burn's gradient sync, max |ddp - single process| = {diff:e}");
        assert!(diff <= TOLERANCE, "rank {rank}: {diff:e}");
    }
}
