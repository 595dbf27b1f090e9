//! Data-parallel training helpers over [`crate::distributed`].

use crate::array::Array;
use crate::distributed::{self, Group};
use crate::error::Result;
use crate::ops;
use crate::params::{ParamPath, Parameters};

/// The default bucket size of [`average_gradients`]: 32 MiB, as Python MLX's.
pub const ALL_REDUCE_SIZE: usize = 32 << 20;

/// The average of `gradients` over the processes of `group` (`None`: the group of the last
/// [`Group::init`]), as Python MLX's `nn.average_gradients`: each process passes the gradients
/// of its shard of the batch and gets their mean over all shards.
///
/// Leaves are sent in buckets: consecutive leaves of one dtype are flattened and concatenated
/// until a bucket holds `all_reduce_size` bytes (0: one `all_sum` per leaf), so a model of many
/// small parameters makes few collective calls. A group of one process returns the gradients
/// unchanged.
///
/// ```
/// use mlx::distributed::{Backend, Group};
/// use mlx::nn::{self, average_gradients};
///
/// let group = Group::init(false, Backend::Any)?; // one process here: the mean is the input
/// let grads = nn::Linear::new(3, 2)?;
/// let averaged = average_gradients(&grads, Some(&group), nn::ALL_REDUCE_SIZE)?;
/// assert_eq!(averaged.weight.to_vec::<f32>()?, grads.weight.to_vec::<f32>()?);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn average_gradients<M: Parameters>(
    gradients: &M,
    group: Option<&Group>,
    all_reduce_size: usize,
) -> Result<M> {
    let size = distributed::group_size(group)?;
    if size == 1 {
        return gradients.map_params(|_, g| Ok(g.clone()));
    }
    let leaves: Vec<Array> = gradients.leaves().into_iter().cloned().collect();
    let mut averaged: Vec<Option<Array>> = vec![None; leaves.len()];
    let scale = 1.0 / f64::from(size);
    for bucket in buckets(&leaves, all_reduce_size) {
        if bucket.len() == 1 {
            let i = bucket[0];
            averaged[i] = Some(&distributed::all_sum(&leaves[i], group)? * scale);
            continue;
        }
        let flat = bucket
            .iter()
            .map(|&i| leaves[i].reshape(&[-1]))
            .collect::<Result<Vec<_>>>()?;
        let summed = &distributed::all_sum(&ops::concatenate(&flat, Some(0))?, group)? * scale;
        let mut offsets = Vec::with_capacity(bucket.len());
        let mut end = 0;
        for &i in &bucket[..bucket.len() - 1] {
            end += leaves[i].size() as i32;
            offsets.push(end);
        }
        let parts = ops::split_indices(&summed, &offsets, 0)?;
        for (&i, part) in bucket.iter().zip(parts) {
            averaged[i] = Some(part.reshape(leaves[i].shape())?);
        }
    }
    let mut next = averaged.into_iter();
    gradients.map_leaves(&ParamPath::root(), &mut |_, _| {
        Ok(next
            .next()
            .flatten()
            .expect("every leaf belongs to one bucket"))
    })
}

/// Groups the leaf indices into buckets of consecutive same-dtype leaves of at most
/// `limit` bytes (a larger leaf is a bucket of its own).
fn buckets(leaves: &[Array], limit: usize) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut bytes = 0;
    for (i, leaf) in leaves.iter().enumerate() {
        let n = leaf.nbytes();
        let fits = out
            .last()
            .is_some_and(|b| leaves[b[0]].dtype() == leaf.dtype() && bytes + n <= limit);
        if fits {
            out.last_mut().expect("checked").push(i);
            bytes += n;
        } else {
            out.push(vec![i]);
            bytes = n;
        }
    }
    out
}
