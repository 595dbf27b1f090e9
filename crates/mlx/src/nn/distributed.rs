//! Data-parallel training helpers over [`crate::distributed`].

use crate::array::Array;
use crate::distributed::{self, Group};
use crate::error::Result;
use crate::params::{ParamPath, Parameters};

/// The default bucket size of [`average_gradients`]: 32 MiB, as Python MLX's.
pub const ALL_REDUCE_SIZE: usize = distributed::BUCKET_BYTES;

/// The average of `gradients` over the processes of `group` (`None`: the group of the last
/// [`Group::init`]), as Python MLX's `nn.average_gradients`: each process passes the gradients
/// of its shard of the batch and gets their mean over all shards.
///
/// Leaves are sent in buckets of up to `all_reduce_size` bytes (0: one `all_sum` per leaf), so
/// a model of many small parameters makes few collective calls; see
/// [`distributed::average`]. A group of one process returns the gradients unchanged.
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
    let leaves: Vec<Array> = gradients.leaves().into_iter().cloned().collect();
    let mut averaged = distributed::average(&leaves, group, all_reduce_size)?.into_iter();
    gradients.map_leaves(&ParamPath::root(), &mut |_, _| {
        Ok(averaged.next().expect("one average per leaf"))
    })
}
