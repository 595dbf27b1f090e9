//! Data-parallel training across processes on MLX's collectives ([`mlx::distributed`]).
//!
//! Every process (a *rank*) holds the same model, takes its own share of each batch, computes
//! its gradients, and then [`average_gradients`] replaces each gradient by its mean over the
//! ranks, so that every rank applies the same update and the models stay identical. When each
//! rank's loss is the mean over its (equal) share of the batch, the averaged gradient is the
//! gradient of the mean loss over the whole batch: a data-parallel run follows the
//! single-process run on the full batches, up to float rounding.
//!
//! Gradients are averaged in buckets, as Python MLX's `average_gradients`: gradients of one
//! dtype are flattened and concatenated into buckets of up to [`DEFAULT_BUCKET_BYTES`] (larger
//! gradients go alone), each bucket is summed over the ranks with one `all_sum`, divided by the
//! number of ranks and split back. A model with many small parameters thus costs a few
//! collectives per step, not one per parameter.
//!
//! Processes are started by a launcher that gives each its rank and the addresses of the
//! others: `mlx::distributed::launch` or the `mlx-launch` binary,
//!
//! ```text
//! cargo run --release -p mlx-array --bin mlx-launch -- -n 2 -- target/release/examples/mnist_ddp
//! ```
//!
//! A process started without a launcher is a group of size 1, where averaging returns the
//! gradients unchanged: the same program trains on one process or many.
//!
//! ```no_run
//! use burn::module::AutodiffModule;
//! use burn::nn::{Linear, LinearConfig};
//! use burn::optim::{GradientsParams, Optimizer, SgdConfig};
//! use burn::tensor::Tensor;
//! use burn_mlx::distributed::{average_gradients, broadcast_parameters, rank_shard};
//! use burn_mlx::{MlxAutodiff, MlxDevice};
//! use mlx::distributed::{Backend, Group};
//!
//! type B = MlxAutodiff;
//! let device = MlxDevice::default();
//! let group = Group::init(false, Backend::Ring)?; // size 1 without the launcher
//! <B as burn::tensor::backend::Backend>::seed(&device, 42);
//! let model: Linear<B> = LinearConfig::new(4, 1).init(&device);
//! let mut model = broadcast_parameters(model, Some(&group))?; // rank 0's, to be sure
//! let mut optimizer = SgdConfig::new().init();
//! let batch: Vec<[f32; 4]> = vec![[1.0, 2.0, 3.0, 4.0]; 8]; // the global batch
//! // This rank's share of it (the batch size must divide among the ranks).
//! let mine = rank_shard(batch.len(), &group);
//! let x = Tensor::<B, 2>::from_data(burn::tensor::TensorData::new(
//!     batch[mine].concat(), [batch.len() / group.size() as usize, 4]), &device);
//! let loss = model.forward(x).powf_scalar(2.0).mean(); // a mean over this rank's share
//! let grads = GradientsParams::from_grads(loss.backward(), &model);
//! let grads = average_gradients(grads, &model, Some(&group))?;
//! model = optimizer.step(1e-2, model, grads);
//! # Ok::<(), mlx::Error>(())
//! ```
//!
//! Every rank must call the collectives of this module in the same order with tensors of the
//! same shapes (the same model, the same parameters with gradients): MLX's ring backend cannot
//! detect a mismatch and then fails or hangs. [`average_gradients`] evaluates its collectives
//! before it returns, so what a rank evaluates afterwards (printing its loss, say) cannot
//! reorder them.
//!
//! # Burn's `DistributedBackend` (the `distributed` feature)
//!
//! Burn 0.21 has its own data-parallel machinery (burn-backend's `DistributedBackend`, behind
//! Burn's `distributed` feature): parameters marked distributed (`Tensor::set_distributed`, as
//! burn-train's DDP strategy does) have their gradients handed, once complete during the
//! backward pass, to an in-process synchronization server that calls the backend's
//! `all_reduce` for the gradient of every device training a replica; the end of the backward
//! pass waits for them (`sync_collective`). With that feature on anywhere in a build,
//! `Autodiff<B>` requires `B: DistributedBackend`; this crate's `distributed` feature turns it on
//! and implements it for `Mlx`:
//!
//! | Burn | MLX |
//! |------|-----|
//! | `start_communication_server(&[device], config)` | joins the job's group (`Group::init(false, any)`) and starts Burn's server for this process's one device |
//! | `all_reduce(t, Sum, [device])` | `all_sum(t)` over the processes of the job |
//! | `all_reduce(t, Mean, [device])` | `all_sum(t) / group size` |
//! | `sync_collective(device)` | evaluates the pending `all_reduce` results, in the order they were made |
//! | `register_sync_parameters`, `submit_gradient_sync`, `submit_sync_collective`, `close_communication_server` | Burn's default bodies (its in-process server) |
//!
//! Burn's own backends reduce between several devices *of one process*; MLX's collectives
//! reduce between *processes*, one device each. So with `Mlx` each process is one of Burn's
//! devices: start the server with the process's one device, and the gradients Burn reduces are
//! reduced across the processes of the job (the tests check that this trains like one process
//! on the full batches). Several devices in one process (the CPU and the GPU both training
//! replicas) are not supported — MLX has no collective between them — and
//! `start_communication_server` and `all_reduce` panic saying so (the trait cannot return
//! errors). Burn's separate `collective` feature (the burn-collective crate, with its own
//! transport) is not built or tested with `Mlx` here.
//!
//! Note that burn-ndarray 0.21 does not implement `DistributedBackend`, so with the feature on,
//! `Autodiff<NdArray>` is no longer an autodiff backend: code that trains on both does not build.

#[cfg(feature = "distributed")]
mod backend;

use std::collections::HashMap;
use std::ops::Range;

use burn_core::module::{AutodiffModule, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn_core::tensor::backend::AutodiffBackend;
use burn_core::tensor::{Tensor, TensorPrimitive};
use burn_optim::GradientsParams;
use mlx::Array;
use mlx::distributed::{self as dist, Group};

use crate::Mlx;
use crate::element::{MlxFloat, MlxInt};
use crate::tensor::MlxTensor;

/// The largest bucket of gradients summed by one collective: 32 MiB, as Python MLX's
/// `average_gradients`.
pub const DEFAULT_BUCKET_BYTES: usize = dist::BUCKET_BYTES;

/// Replaces each gradient of `module`'s parameters in `grads` by its mean over the ranks of
/// `group` (`None`: the job's group, `Group::init(false, Backend::Any)`, as Python MLX's
/// `average_gradients`), bucketing small gradients into collectives of up to
/// [`DEFAULT_BUCKET_BYTES`]. A group of size 1 returns `grads` unchanged.
///
/// Call it between `GradientsParams::from_grads` and the optimizer's `step`. Every rank must
/// call it with the same model (the same parameters having gradients); see the
/// [module documentation](self).
pub fn average_gradients<B, M, F, I>(
    grads: GradientsParams,
    module: &M,
    group: Option<&Group>,
) -> mlx::Result<GradientsParams>
where
    B: AutodiffBackend<InnerBackend = Mlx<F, I>>,
    M: AutodiffModule<B>,
    F: MlxFloat,
    I: MlxInt,
{
    average_gradients_bucketed(grads, module, group, DEFAULT_BUCKET_BYTES)
}

/// [`average_gradients`] with buckets of up to `bucket_bytes` bytes; `0` sums each gradient
/// with its own collective.
pub fn average_gradients_bucketed<B, M, F, I>(
    mut grads: GradientsParams,
    module: &M,
    group: Option<&Group>,
    bucket_bytes: usize,
) -> mlx::Result<GradientsParams>
where
    B: AutodiffBackend<InnerBackend = Mlx<F, I>>,
    M: AutodiffModule<B>,
    F: MlxFloat,
    I: MlxInt,
{
    let size = group_size(group)?;
    if size == 1 {
        return Ok(grads);
    }
    // The gradients in the order the module lists its parameters: the same on every rank
    // (parameter ids are not: each process draws its own).
    let mut take = TakeGrads::<F, I> {
        grads: &mut grads,
        taken: Vec::new(),
        _types: std::marker::PhantomData,
    };
    module.visit(&mut take);
    let taken = take.taken;
    if taken.is_empty() {
        return Ok(grads);
    }
    let device = taken[0].1.device;
    let arrays: Vec<&Array> = taken.iter().map(|(_, t)| t.array()).collect();
    let averaged = mlx::with_stream(device.stream(), || {
        average_arrays(&arrays, group, bucket_bytes)
    })?;
    let mut averaged: HashMap<ParamId, MlxTensor> = taken
        .iter()
        .zip(averaged)
        .map(|((id, _), a)| (*id, MlxTensor::new(a, device)))
        .collect();
    let mut put = PutGrads::<F, I> {
        grads: &mut grads,
        averaged: &mut averaged,
        _types: std::marker::PhantomData,
    };
    module.visit(&mut put);
    Ok(grads)
}

/// `module` with every float parameter replaced by rank 0's, so that all ranks start from the
/// same model whatever each drew (one `all_sum` per parameter, evaluated; call it once, before
/// training). In a group of size 1 the parameters keep their values.
///
/// Seeding every rank alike before creating the model gives the same parameters too, but Burn
/// creates parameters lazily, at their first use: a rank that reseeds in between (for its own
/// dropout masks, say) draws different ones. This creates them (in a group of size 1 too, so
/// that one process draws what a job's rank 0 draws), then makes them equal.
pub fn broadcast_parameters<B, M, F, I>(module: M, group: Option<&Group>) -> mlx::Result<M>
where
    B: AutodiffBackend<InnerBackend = Mlx<F, I>>,
    M: AutodiffModule<B>,
    F: MlxFloat,
    I: MlxInt,
{
    let joined;
    let group = match group {
        Some(g) => g,
        None => {
            joined = Group::init(false, dist::Backend::Any)?;
            &joined
        }
    };
    let mut mapper = FromRankZero::<F, I> {
        group,
        error: None,
        _types: std::marker::PhantomData,
    };
    let module = module.map(&mut mapper);
    match mapper.error {
        Some(e) => Err(e),
        None => Ok(module),
    }
}

/// Replaces each float parameter by rank 0's: the sum of rank 0's value and zeros elsewhere.
struct FromRankZero<'a, F: MlxFloat, I: MlxInt> {
    group: &'a Group,
    error: Option<mlx::Error>,
    _types: std::marker::PhantomData<(F, I)>,
}

impl<B, F, I> ModuleMapper<B> for FromRankZero<'_, F, I>
where
    B: AutodiffBackend<InnerBackend = Mlx<F, I>>,
    F: MlxFloat,
    I: MlxInt,
{
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        // Consuming the parameter creates it, if it was not yet.
        let (id, tensor, mapper) = param.consume();
        if self.error.is_some() || self.group.size() == 1 {
            // Every rank fails at the same parameter (the error is local: a dtype, an
            // evaluation), so no collective is left waiting.
            return Param::from_mapped_value(id, tensor, mapper);
        }
        let require_grad = tensor.is_require_grad();
        let local = tensor.clone().inner().into_primitive().tensor();
        let device = local.device;
        let shared = mlx::with_stream(device.stream(), || {
            let mine = if self.group.rank() == 0 {
                local.array().clone()
            } else {
                mlx::ops::zeros_like(local.array(), None)?
            };
            let s = dist::all_sum(&mine, Some(self.group))?;
            s.eval()?;
            Ok::<_, mlx::Error>(s)
        });
        let tensor = match shared {
            Ok(a) => {
                let inner =
                    Tensor::from_primitive(TensorPrimitive::Float(MlxTensor::new(a, device)));
                Tensor::from_inner(inner).set_require_grad(require_grad)
            }
            Err(e) => {
                self.error = Some(e);
                tensor
            }
        };
        Param::from_mapped_value(id, tensor, mapper)
    }
}

/// The sum of `tensor` over the ranks of `group` (`None`: the job's group), evaluated: for
/// totals across ranks, such as a metric's numerator and denominator.
pub fn all_sum<F: MlxFloat, I: MlxInt, const D: usize>(
    tensor: Tensor<Mlx<F, I>, D>,
    group: Option<&Group>,
) -> mlx::Result<Tensor<Mlx<F, I>, D>> {
    let t = tensor.into_primitive().tensor();
    let device = t.device;
    let summed = mlx::with_stream(device.stream(), || {
        let s = dist::all_sum(t.array(), group)?;
        s.eval()?;
        Ok::<_, mlx::Error>(s)
    })?;
    Ok(Tensor::from_primitive(TensorPrimitive::Float(
        MlxTensor::new(summed, device),
    )))
}

/// The mean of `tensor` over the ranks of `group` (`None`: the job's group), evaluated.
pub fn all_mean<F: MlxFloat, I: MlxInt, const D: usize>(
    tensor: Tensor<Mlx<F, I>, D>,
    group: Option<&Group>,
) -> mlx::Result<Tensor<Mlx<F, I>, D>> {
    let size = group_size(group)?;
    if size == 1 {
        return Ok(tensor);
    }
    Ok(all_sum(tensor, group)?.div_scalar(size))
}

/// This rank's share of a batch of `batch_size` items: the `rank`-th of `size` equal ranges.
///
/// # Panics
///
/// When `batch_size` does not divide among the ranks: unequal shares would weight the items of
/// the smaller shares more in the averaged gradient.
pub fn rank_shard(batch_size: usize, group: &Group) -> Range<usize> {
    let (rank, size) = (group.rank() as usize, group.size() as usize);
    assert!(
        batch_size.is_multiple_of(size),
        "burn-mlx: a batch of {batch_size} does not divide among {size} ranks"
    );
    let share = batch_size / size;
    rank * share..(rank + 1) * share
}

/// The number of processes of `group`, or of the job's group.
fn group_size(group: Option<&Group>) -> mlx::Result<i32> {
    match group {
        Some(g) => Ok(g.size()),
        None => Ok(Group::init(false, dist::Backend::Any)?.size()),
    }
}

/// Averages `arrays` over the group in buckets (see [`mlx::distributed::average`]) and
/// evaluates the results; returns the averages in the order and shapes of `arrays`.
fn average_arrays(
    arrays: &[&Array],
    group: Option<&Group>,
    bucket_bytes: usize,
) -> mlx::Result<Vec<Array>> {
    for a in arrays {
        if !a.dtype().is_float() {
            return Err(mlx::Error::InvalidArgument(format!(
                "burn-mlx: averaging gradients: a gradient of dtype {} (only float \
                 gradients are averaged)",
                a.dtype()
            )));
        }
    }
    let owned: Vec<Array> = arrays.iter().map(|a| (*a).clone()).collect();
    let averages = dist::average(&owned, group, bucket_bytes)?;
    // One evaluation for every bucket: the collectives run now, in the same order on every
    // rank, and nothing a rank evaluates later can reorder them.
    mlx::eval(averages.iter())?;
    Ok(averages)
}

/// Takes the gradients of a module's float parameters out of a `GradientsParams`, in the order
/// the module visits them.
struct TakeGrads<'a, F: MlxFloat, I: MlxInt> {
    grads: &'a mut GradientsParams,
    taken: Vec<(ParamId, MlxTensor)>,
    _types: std::marker::PhantomData<(F, I)>,
}

impl<B, F, I> ModuleVisitor<B> for TakeGrads<'_, F, I>
where
    B: AutodiffBackend<InnerBackend = Mlx<F, I>>,
    F: MlxFloat,
    I: MlxInt,
{
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.remove::<Mlx<F, I>, D>(param.id) {
            self.taken.push((param.id, grad.into_primitive().tensor()));
        }
    }
}

/// Puts averaged gradients back, with their parameter's rank.
struct PutGrads<'a, F: MlxFloat, I: MlxInt> {
    grads: &'a mut GradientsParams,
    averaged: &'a mut HashMap<ParamId, MlxTensor>,
    _types: std::marker::PhantomData<(F, I)>,
}

impl<B, F, I> ModuleVisitor<B> for PutGrads<'_, F, I>
where
    B: AutodiffBackend<InnerBackend = Mlx<F, I>>,
    F: MlxFloat,
    I: MlxInt,
{
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(avg) = self.averaged.remove(&param.id) {
            self.grads.register::<Mlx<F, I>, D>(
                param.id,
                Tensor::from_primitive(TensorPrimitive::Float(avg)),
            );
        }
    }
}
