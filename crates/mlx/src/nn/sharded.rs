//! Tensor-parallel linear layers (MLX's `nn.AllToShardedLinear` and `nn.ShardedToAllLinear`):
//! a linear layer's weight split across the processes of a [`Group`], each computing its part.
//!
//! A pair makes a sharded MLP: `AllToShardedLinear` (every process has the whole input and
//! computes its slice of the output features), an elementwise activation, then
//! `ShardedToAllLinear` (every process multiplies its slice of the features and an `all_sum`
//! adds the parts), so the result is the full layer's on every process.

use crate::Parameters;
use crate::array::Array;
use crate::distributed::{self, Group};
use crate::error::{Error, Result};
use crate::nn::linear::uniform_init;
use crate::nn::{Linear, Module};
use crate::ops;
use crate::params::ModuleState;
use crate::transforms;

/// `x`, whose gradient is summed over the group in the backward pass (the input of an
/// [`AllToShardedLinear`] feeds every process's slice, so its gradient is the sum of theirs).
pub fn sum_gradients(x: &Array, group: &Group) -> Result<Array> {
    if group.size() == 1 {
        return Ok(x.clone());
    }
    let g = group.clone();
    let f = transforms::custom_vjp(
        |inputs: &[Array]| Ok(vec![inputs[0].clone()]),
        move |_primals: &[Array], cotangents: &[Array], _outputs: &[Array]| {
            Ok(vec![distributed::all_sum(&cotangents[0], Some(&g))?])
        },
    )?;
    Ok(f.call(std::slice::from_ref(x))?.remove(0))
}

/// Rank `rank`'s rows of `w` along `axis`: its `1/n` of each of `segments` equal segments (a
/// fused projection such as `[q; k; v]` is split per segment so each rank keeps its share of
/// each).
fn shard(w: &Array, axis: i32, segments: i32, rank: i32, n: i32) -> Result<Array> {
    let len = w.shape()[axis.rem_euclid(w.ndim() as i32) as usize];
    if segments <= 0 || len % (segments * n) != 0 {
        return Err(Error::InvalidArgument(format!(
            "[shard] an axis of {len} does not split into {segments} segment(s) across {n} \
             processes"
        )));
    }
    let parts = ops::split(w, segments, axis)?
        .iter()
        .map(|segment| Ok(ops::split(segment, n, axis)?.swap_remove(rank as usize)))
        .collect::<Result<Vec<_>>>()?;
    ops::concatenate(&parts, Some(axis))
}

/// Every process holds the whole input and computes `output_dims / n` of the output features:
/// `weight` is its `[output_dims / n, input_dims]` slice.
#[derive(Parameters, Clone, Debug)]
pub struct AllToShardedLinear {
    /// This process's rows of the weight.
    pub weight: Array,
    /// This process's part of the bias.
    pub bias: Option<Array>,
    #[param(skip)]
    group: Group,
    #[param(state)]
    state: ModuleState,
}

impl AllToShardedLinear {
    /// A randomly initialized shard (as `Linear::new`, `uniform(±1/√input_dims)`).
    pub fn new(input_dims: i32, output_dims: i32, bias: bool, group: &Group) -> Result<Self> {
        let n = group.size();
        if output_dims % n != 0 {
            return Err(Error::InvalidArgument(format!(
                "[AllToShardedLinear] {output_dims} outputs do not split across {n} processes"
            )));
        }
        let scale = (1.0 / f64::from(input_dims)).sqrt();
        Ok(AllToShardedLinear {
            weight: uniform_init(&[output_dims / n, input_dims], scale)?,
            bias: bias
                .then(|| uniform_init(&[output_dims / n], scale))
                .transpose()?,
            group: group.clone(),
            state: ModuleState::new(),
        })
    }

    /// This process's shard of a full layer (the same on every process), its output features
    /// split in `segments` equal segments first (1 for a plain layer).
    pub fn from_linear(linear: &Linear, segments: i32, group: &Group) -> Result<Self> {
        let (rank, n) = (group.rank(), group.size());
        Ok(AllToShardedLinear {
            weight: shard(&linear.weight, 0, segments, rank, n)?,
            bias: linear
                .bias
                .as_ref()
                .map(|b| shard(b, 0, segments, rank, n))
                .transpose()?,
            group: group.clone(),
            state: ModuleState::new(),
        })
    }
}

impl Module for AllToShardedLinear {
    /// `[..., input_dims]` to this process's `[..., output_dims / n]`.
    fn forward(&self, x: &Array) -> Result<Array> {
        let x = sum_gradients(x, &self.group)?;
        let wt = self.weight.t()?;
        match &self.bias {
            Some(b) => ops::addmm(b, &x, &wt, 1.0, 1.0),
            None => x.matmul(&wt),
        }
    }
}

/// Every process holds `input_dims / n` of the input features and the matching columns of the
/// weight; the partial products are summed over the group, so every process gets the whole
/// output.
#[derive(Parameters, Clone, Debug)]
pub struct ShardedToAllLinear {
    /// This process's columns of the weight, `[output_dims, input_dims / n]`.
    pub weight: Array,
    /// The whole bias, `[output_dims]` (added once, after the sum).
    pub bias: Option<Array>,
    #[param(skip)]
    group: Group,
    #[param(state)]
    state: ModuleState,
}

impl ShardedToAllLinear {
    /// A randomly initialized shard (as `Linear::new`, `uniform(±1/√input_dims)`).
    pub fn new(input_dims: i32, output_dims: i32, bias: bool, group: &Group) -> Result<Self> {
        let n = group.size();
        if input_dims % n != 0 {
            return Err(Error::InvalidArgument(format!(
                "[ShardedToAllLinear] {input_dims} inputs do not split across {n} processes"
            )));
        }
        let scale = (1.0 / f64::from(input_dims)).sqrt();
        Ok(ShardedToAllLinear {
            weight: uniform_init(&[output_dims, input_dims / n], scale)?,
            bias: bias
                .then(|| uniform_init(&[output_dims], scale))
                .transpose()?,
            group: group.clone(),
            state: ModuleState::new(),
        })
    }

    /// This process's shard of a full layer (the same on every process), its input features
    /// split in `segments` equal segments first.
    pub fn from_linear(linear: &Linear, segments: i32, group: &Group) -> Result<Self> {
        let (rank, n) = (group.rank(), group.size());
        Ok(ShardedToAllLinear {
            weight: shard(&linear.weight, -1, segments, rank, n)?,
            bias: linear.bias.clone(),
            group: group.clone(),
            state: ModuleState::new(),
        })
    }
}

impl Module for ShardedToAllLinear {
    /// This process's `[..., input_dims / n]` to the whole `[..., output_dims]`.
    fn forward(&self, x: &Array) -> Result<Array> {
        let partial = x.matmul(&self.weight.t()?)?;
        let y = distributed::all_sum(&partial, Some(&self.group))?;
        Ok(match &self.bias {
            Some(b) => &y + b,
            None => y,
        })
    }
}
