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
use crate::nn::quantized::{Quantization, pack};
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
    /// The scales of the quantized weight's groups.
    pub scales: Option<Array>,
    /// The offsets of the quantized weight's groups (affine mode).
    pub biases: Option<Array>,
    #[param(skip)]
    quantization: Option<Quantization>,
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
            scales: None,
            biases: None,
            quantization: None,
            group: group.clone(),
            state: ModuleState::new(),
        })
    }

    /// This process's shard of a full layer (the same on every process), its output features
    /// split in `segments` equal segments first (1 for a plain layer). A quantized `linear`
    /// gives a quantized shard (MLX's `QuantizedAllToShardedLinear.from_quantized_linear`).
    pub fn from_linear(linear: &Linear, segments: i32, group: &Group) -> Result<Self> {
        let (rank, n) = (group.rank(), group.size());
        let split = |a: &Option<Array>| {
            a.as_ref()
                .map(|a| shard(a, 0, segments, rank, n))
                .transpose()
        };
        let mut layer = AllToShardedLinear {
            weight: shard(&linear.weight, 0, segments, rank, n)?,
            bias: split(&linear.bias)?,
            scales: split(&linear.scales)?,
            biases: split(&linear.biases)?,
            quantization: linear.quantization(),
            group: group.clone(),
            state: ModuleState::new(),
        };
        if layer.quantization.is_some() {
            layer.freeze();
        }
        Ok(layer)
    }

    /// Quantizes this process's weight in place and freezes the layer (MLX's
    /// `QuantizedAllToShardedLinear`); fails when it is already quantized.
    pub fn quantize(&mut self, quantization: Quantization) -> Result<()> {
        quantize_shard(
            "AllToShardedLinear::quantize",
            &mut self.weight,
            &mut self.scales,
            &mut self.biases,
            &mut self.quantization,
            quantization,
        )?;
        self.freeze();
        Ok(())
    }

    /// The quantization of the weight, when it is quantized.
    pub fn quantization(&self) -> Option<Quantization> {
        self.quantization
    }
}

impl Module for AllToShardedLinear {
    /// `[..., input_dims]` to this process's `[..., output_dims / n]`.
    fn forward(&self, x: &Array) -> Result<Array> {
        let x = sum_gradients(x, &self.group)?;
        if let (None, Some(b)) = (self.quantization, &self.bias) {
            return ops::addmm(b, &x, &self.weight.t()?, 1.0, 1.0);
        }
        let y = project(
            &x,
            &self.weight,
            &self.scales,
            &self.biases,
            self.quantization,
        )?;
        Ok(match &self.bias {
            Some(b) => &y + b,
            None => y,
        })
    }
}

/// `x @ wᵀ`, through MLX's quantized matmul when `w` is packed.
fn project(
    x: &Array,
    weight: &Array,
    scales: &Option<Array>,
    biases: &Option<Array>,
    quantization: Option<Quantization>,
) -> Result<Array> {
    match (quantization, scales) {
        (Some(q), Some(scales)) => {
            super::quantized::quantized_project(x, weight, scales, biases.as_ref(), &q)
        }
        _ => x.matmul(&weight.t()?),
    }
}

/// Packs a shard's weight in place (the shared half of the two layers' `quantize`).
fn quantize_shard(
    what: &str,
    weight: &mut Array,
    scales: &mut Option<Array>,
    biases: &mut Option<Array>,
    current: &mut Option<Quantization>,
    quantization: Quantization,
) -> Result<()> {
    if current.is_some() {
        return Err(Error::InvalidArgument(format!(
            "[{what}] the layer is already quantized"
        )));
    }
    let packed = pack(weight, &quantization, what)?;
    *weight = packed.weight;
    *scales = Some(packed.scales);
    *biases = packed.biases;
    *current = Some(quantization);
    Ok(())
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
    /// The scales of the quantized weight's groups.
    pub scales: Option<Array>,
    /// The offsets of the quantized weight's groups (affine mode).
    pub biases: Option<Array>,
    #[param(skip)]
    quantization: Option<Quantization>,
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
            scales: None,
            biases: None,
            quantization: None,
            group: group.clone(),
            state: ModuleState::new(),
        })
    }

    /// This process's shard of a full layer (the same on every process), its input features
    /// split in `segments` equal segments first. A quantized `linear` gives a quantized shard
    /// (MLX's `QuantizedShardedToAllLinear.from_quantized_linear`): each process's share of the
    /// input features must then be a whole number of quantization groups.
    pub fn from_linear(linear: &Linear, segments: i32, group: &Group) -> Result<Self> {
        let (rank, n) = (group.rank(), group.size());
        let split = |a: &Option<Array>| {
            a.as_ref()
                .map(|a| shard(a, -1, segments, rank, n))
                .transpose()
        };
        let mut layer = ShardedToAllLinear {
            weight: shard(&linear.weight, -1, segments, rank, n)?,
            bias: linear.bias.clone(),
            scales: split(&linear.scales)?,
            biases: split(&linear.biases)?,
            quantization: linear.quantization(),
            group: group.clone(),
            state: ModuleState::new(),
        };
        if layer.quantization.is_some() {
            layer.freeze();
        }
        Ok(layer)
    }

    /// Quantizes this process's weight in place and freezes the layer (MLX's
    /// `QuantizedShardedToAllLinear`); fails when it is already quantized.
    pub fn quantize(&mut self, quantization: Quantization) -> Result<()> {
        quantize_shard(
            "ShardedToAllLinear::quantize",
            &mut self.weight,
            &mut self.scales,
            &mut self.biases,
            &mut self.quantization,
            quantization,
        )?;
        self.freeze();
        Ok(())
    }

    /// The quantization of the weight, when it is quantized.
    pub fn quantization(&self) -> Option<Quantization> {
        self.quantization
    }
}

impl Module for ShardedToAllLinear {
    /// This process's `[..., input_dims / n]` to the whole `[..., output_dims]`.
    fn forward(&self, x: &Array) -> Result<Array> {
        let partial = project(
            x,
            &self.weight,
            &self.scales,
            &self.biases,
            self.quantization,
        )?;
        let y = distributed::all_sum(&partial, Some(&self.group))?;
        Ok(match &self.bias {
            Some(b) => &y + b,
            None => y,
        })
    }
}
