//! Averaging many arrays over a group in few collectives (the core of data-parallel training:
//! `nn::average_gradients` and burn-mlx's gradient averaging).

use super::{Group, all_sum, group_size};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops;

/// The default bucket size of [`average`]: 32 MiB, as Python MLX's `average_gradients`.
pub const BUCKET_BYTES: usize = 32 << 20;

/// Each of `arrays` averaged over the processes of `group` (`None`: the group of the last
/// [`Group::init`]), in the order and shapes given. Arrays are sent in buckets: arrays of one
/// dtype are flattened and concatenated up to `bucket_bytes` per bucket (an array of
/// `bucket_bytes` or more, or every array when `bucket_bytes` is 0, goes alone), so many small
/// arrays take few collective calls. The results are lazy, like any op: evaluating them runs
/// the collectives, which every process must do in the same order. A group of one process
/// returns the arrays unchanged.
pub fn average(arrays: &[Array], group: Option<&Group>, bucket_bytes: usize) -> Result<Vec<Array>> {
    let size = group_size(group)?;
    if size == 1 {
        return Ok(arrays.to_vec());
    }
    let sizes: Vec<(Dtype, usize)> = arrays.iter().map(|a| (a.dtype(), a.nbytes())).collect();
    let mut out: Vec<Option<Array>> = vec![None; arrays.len()];
    for bucket in plan_buckets(&sizes, bucket_bytes) {
        let flat = if let [only] = bucket[..] {
            arrays[only].clone()
        } else {
            let parts = bucket
                .iter()
                .map(|&i| arrays[i].reshape(&[-1]))
                .collect::<Result<Vec<_>>>()?;
            ops::concatenate(&parts, Some(0))?
        };
        let n = Array::scalar(size as f32).astype(flat.dtype())?;
        let mean = ops::divide(&all_sum(&flat, group)?, &n)?;
        if let [only] = bucket[..] {
            out[only] = Some(mean);
            continue;
        }
        let mut offset = 0i32;
        for &i in &bucket {
            let len = i32::try_from(arrays[i].size()).map_err(|_| {
                Error::InvalidArgument("[average] an array too large to bucket".into())
            })?;
            let piece = ops::slice(&mean, &[offset], &[offset + len], &[1])?;
            out[i] = Some(piece.reshape(arrays[i].shape())?);
            offset += len;
        }
    }
    Ok(out
        .into_iter()
        .map(|a| a.expect("every array is in a bucket"))
        .collect())
}

/// Groups arrays (their dtype and size in bytes, in order) into buckets summed by one
/// collective each: arrays of one dtype, up to `bucket_bytes` per bucket; an array of
/// `bucket_bytes` or more (or every array, when `bucket_bytes` is 0) alone. Buckets are listed
/// in the order they close, which depends only on the input (so it is the same on every
/// process).
fn plan_buckets(sizes: &[(Dtype, usize)], bucket_bytes: usize) -> Vec<Vec<usize>> {
    let mut plan = Vec::new();
    // The open bucket of each dtype, in order of first use: (dtype, members, bytes).
    let mut open: Vec<(Dtype, Vec<usize>, usize)> = Vec::new();
    for (i, &(dtype, bytes)) in sizes.iter().enumerate() {
        if bucket_bytes == 0 || bytes >= bucket_bytes {
            plan.push(vec![i]);
            continue;
        }
        let slot = match open.iter().position(|(d, _, _)| *d == dtype) {
            Some(slot) => slot,
            None => {
                open.push((dtype, Vec::new(), 0));
                open.len() - 1
            }
        };
        let (_, members, filled) = &mut open[slot];
        if *filled + bytes > bucket_bytes {
            plan.push(std::mem::take(members));
            *filled = 0;
        }
        members.push(i);
        *filled += bytes;
    }
    plan.extend(
        open.into_iter()
            .map(|(_, members, _)| members)
            .filter(|m| !m.is_empty()),
    );
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    const F32: Dtype = Dtype::Float32;
    const F16: Dtype = Dtype::Float16;

    #[test]
    fn buckets_fill_up_to_the_limit_per_dtype_in_order() {
        let sizes = [
            (F32, 40),
            (F32, 40),
            (F16, 10),
            (F32, 40),
            (F32, 100),
            (F16, 10),
        ];
        assert_eq!(
            plan_buckets(&sizes, 100),
            vec![vec![0, 1], vec![4], vec![3], vec![2, 5]]
        );
        assert_eq!(
            plan_buckets(&sizes, BUCKET_BYTES),
            vec![vec![0, 1, 3, 4], vec![2, 5]]
        );
        assert_eq!(plan_buckets(&sizes, 0).len(), sizes.len());
        assert!(plan_buckets(&[], 100).is_empty());
    }
}
