//! Fully sharded data parallelism (MLX's `nn.fully_shard` and `nn.FullyShardedModule`).

use std::sync::Arc;

use crate::Parameters;
use crate::array::Array;
use crate::distributed::{self, Group};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::nn::Module;
use crate::ops;
use crate::params::ParamPath;
use crate::transforms;

/// How the parameters are cut: the full shape of each leaf (in the module's leaf order) and
/// the group's size.
#[derive(Debug)]
struct Layout {
    full_shapes: Vec<Vec<i32>>,
    /// Elements of each leaf's slice.
    slice_sizes: Vec<i32>,
    processes: i32,
    compute_dtype: Option<Dtype>,
}

/// A module whose parameters are this process's slices, made by [`fully_shard`]: each process
/// of a group keeps only its slice of every parameter, so a model too large to train on one
/// process (parameters, gradients and optimizer state) fits across several.
///
/// Every parameter is cut along its first axis into one slice per process. A forward pass
/// gathers the full parameters (`all_gather`), runs the wrapped module on them and drops them;
/// in the backward pass the gradients of the full parameters are summed over the group and
/// each process keeps the mean of its own slice. An optimizer then updates the slices only, so
/// each process stores `1/n` of the parameters and of the optimizer's state.
///
/// Each process feeds its own batch, as in data-parallel training: the slices' gradients are
/// those of the mean loss over all processes' batches, and every process's model computes the
/// same function. The parameter tree is the wrapped module's under the name `module`, as in
/// Python MLX.
#[derive(Parameters, Clone, Debug)]
pub struct FullyShardedModule<M> {
    /// The wrapped module, holding this process's slice of each parameter.
    pub module: M,
    /// `all_gather` of the slices, whose vjp averages the full gradients' slices (built once).
    #[param(skip)]
    gather: transforms::Function,
    #[param(skip)]
    group: Group,
}

/// Wraps `module` so that each process of `group` holds `1/n` of every parameter (cut along
/// the first axis, which must divide by the group's size; scalars cannot be cut). With
/// `compute_dtype`, the gathered parameters are cast to it for the forward pass (e.g. bfloat16
/// compute over float32 slices). All processes must start from the same parameters (the same
/// seed, or a broadcast).
pub fn fully_shard<M: Parameters + Clone>(
    module: M,
    group: &Group,
    compute_dtype: Option<Dtype>,
) -> Result<FullyShardedModule<M>> {
    let (rank, n) = (group.rank(), group.size());
    let mut full_shapes = Vec::new();
    let mut slice_sizes = Vec::new();
    for (path, a) in module.flatten_params() {
        let shape = a.shape().to_vec();
        match shape.first() {
            None => {
                return Err(Error::InvalidArgument(format!(
                    "[fully_shard] cannot shard the scalar parameter `{path}`"
                )));
            }
            Some(rows) if rows % n != 0 => {
                return Err(Error::InvalidArgument(format!(
                    "[fully_shard] cannot shard `{path}` of shape {shape:?} across {n} \
                     processes: its first axis must divide by {n}"
                )));
            }
            Some(_) => {}
        }
        slice_sizes.push(i32::try_from(a.size() / n as usize).map_err(|_| {
            Error::InvalidArgument(format!("[fully_shard] `{path}` is too large to shard"))
        })?);
        full_shapes.push(shape);
    }
    let module = module.map_leaves(&ParamPath::root(), &mut |_, a| {
        let rows = a.shape()[0] / n;
        let mut start = vec![0; a.ndim()];
        let mut stop = a.shape().to_vec();
        start[0] = rank * rows;
        stop[0] = (rank + 1) * rows;
        ops::slice(a, &start, &stop, &vec![1; a.ndim()])
    })?;
    let layout = Arc::new(Layout {
        full_shapes,
        slice_sizes,
        processes: n,
        compute_dtype,
    });
    Ok(FullyShardedModule {
        module,
        gather: gather_function(layout, group)?,
        group: group.clone(),
    })
}

impl<M: Parameters + Clone> FullyShardedModule<M> {
    /// The wrapped module with its full parameters gathered from every process (differentiable:
    /// gradients flow back to this process's slices). For calling methods other than `forward`
    /// (Python's `as_linear`, say).
    pub fn gathered(&self) -> Result<M> {
        let slices: Vec<Array> = self.module.leaves().into_iter().cloned().collect();
        let fulls = self.gather.call(&slices)?;
        let mut fulls = fulls.into_iter();
        self.module.map_leaves(&ParamPath::root(), &mut |_, _| {
            fulls
                .next()
                .ok_or_else(|| Error::InvalidArgument("[fully_shard] leaves changed".into()))
        })
    }

    /// The group the parameters are sharded across.
    pub fn group(&self) -> &Group {
        &self.group
    }
}

/// `all_gather` of the slices, with the vjp that averages the full gradients' slices.
fn gather_function(layout: Arc<Layout>, group: &Group) -> Result<transforms::Function> {
    let (forward_layout, forward_group) = (layout.clone(), group.clone());
    let backward_group = group.clone();
    transforms::custom_vjp(
        move |slices: &[Array]| gather(slices, &forward_layout, &forward_group),
        move |slices: &[Array], cotangents: &[Array], _outputs: &[Array]| {
            reduce_to_slices(slices, cotangents, &layout, &backward_group)
        },
    )
}

/// Split points of the concatenated slices.
fn offsets(layout: &Layout) -> Vec<i32> {
    let mut at = 0;
    let mut points = Vec::new();
    for size in &layout.slice_sizes[..layout.slice_sizes.len().saturating_sub(1)] {
        at += size;
        points.push(at);
    }
    points
}

/// Every process's slices, flattened into one row each and gathered into `[n, total]`, cut back
/// into the full parameters.
fn gather(slices: &[Array], layout: &Layout, group: &Group) -> Result<Vec<Array>> {
    let rows = slices
        .iter()
        .map(|s| {
            let s = match layout.compute_dtype {
                Some(dtype) if s.dtype() != dtype => s.astype(dtype)?,
                _ => s.clone(),
            };
            s.reshape(&[1, -1])
        })
        .collect::<Result<Vec<_>>>()?;
    let mine = ops::concatenate(&rows, Some(1))?;
    let all = if layout.processes == 1 {
        mine
    } else {
        distributed::all_gather(&mine, Some(group))?
    };
    ops::split_indices(&all, &offsets(layout), 1)?
        .iter()
        .zip(&layout.full_shapes)
        .map(|(part, shape)| part.reshape(shape))
        .collect()
}

/// The full parameters' gradients summed over the group; this process's slice of each, divided
/// by the group's size, in the slice's dtype. (`all_sum` then a slice rather than MLX's
/// `sum_scatter`, which the ring backend lacks.)
fn reduce_to_slices(
    slices: &[Array],
    cotangents: &[Array],
    layout: &Layout,
    group: &Group,
) -> Result<Vec<Array>> {
    let n = layout.processes;
    let rows = cotangents
        .iter()
        .map(|c| c.reshape(&[n, -1]))
        .collect::<Result<Vec<_>>>()?;
    let local = ops::concatenate(&rows, Some(1))?;
    let summed = if n == 1 {
        local
    } else {
        distributed::all_sum(&local, Some(group))?
    };
    let rank = group.rank();
    let total = summed.shape()[1];
    let mine = ops::slice(&summed, &[rank, 0], &[rank + 1, total], &[1, 1])?;
    let mean = &mine / f64::from(n);
    ops::split_indices(&mean, &offsets(layout), 1)?
        .iter()
        .zip(slices)
        .map(|(part, slice)| part.reshape(slice.shape())?.astype(slice.dtype()))
        .collect()
}

impl<M: Module + Parameters + Clone> Module for FullyShardedModule<M> {
    /// The wrapped module's forward pass on the gathered parameters.
    fn forward(&self, x: &Array) -> Result<Array> {
        self.gathered()?.forward(x)
    }
}
