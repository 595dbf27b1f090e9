//! Layouts: the same logical input reaching an op through different strides, made on the host
//! (data permuted, flipped or interleaved, byte by byte, any dtype) and undone on the device.

use burn_backend::{Slice, TensorData};

use super::rng::numel;

/// A view through which an input reaches the op: the same logical values, different strides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Plain row-major data.
    Contiguous,
    /// Stored with the last two dims swapped, then `swap_dims` back (rank >= 2).
    Transposed,
    /// Stored with the dims rotated, then `permute` back (rank >= 3; else as `Transposed`).
    Permuted,
    /// Every other row of a twice-as-tall tensor: `slice` with step 2 on dim 0.
    Stepped,
    /// Stored reversed along the last dim, then `slice` with step -1.
    Reversed,
}

pub const LAYOUTS: [Layout; 5] = [
    Layout::Contiguous,
    Layout::Transposed,
    Layout::Permuted,
    Layout::Stepped,
    Layout::Reversed,
];

/// A device-side step of a layout.
#[derive(Clone, Debug)]
pub enum Step {
    Swap(usize, usize),
    Permute(Vec<usize>),
    Slice(Vec<Slice>),
}

impl Layout {
    /// Host data and device steps such that applying the steps to the data gives `data` back.
    pub(crate) fn plan(self, data: &TensorData) -> (TensorData, Vec<Step>) {
        let rank = data.shape.num_dims();
        match self {
            Layout::Contiguous => (data.clone(), vec![]),
            Layout::Transposed | Layout::Permuted if rank < 2 => (data.clone(), vec![]),
            // Slicing an empty axis: nothing to view.
            Layout::Stepped if data.shape[0] == 0 => (data.clone(), vec![]),
            Layout::Transposed => {
                let mut perm: Vec<usize> = (0..rank).collect();
                perm.swap(rank - 2, rank - 1);
                (
                    host_permute(data, &perm),
                    vec![Step::Swap(rank - 2, rank - 1)],
                )
            }
            Layout::Permuted if rank == 2 => Layout::Transposed.plan(data),
            Layout::Permuted => {
                // Stored as Y with Y.shape[i] = X.shape[p[i]]; permuting Y by q = p^-1 gives X.
                let p: Vec<usize> = (0..rank).map(|i| (i + 1) % rank).collect();
                let mut q = vec![0; rank];
                for (i, &pi) in p.iter().enumerate() {
                    q[pi] = i;
                }
                (host_permute(data, &p), vec![Step::Permute(q)])
            }
            Layout::Stepped => {
                let mut slices = vec![Slice::new(0, None, 1); rank];
                slices[0] = Slice::new(1, None, 2);
                (host_interleave0(data), vec![Step::Slice(slices)])
            }
            Layout::Reversed => {
                let mut slices = vec![Slice::new(0, None, 1); rank];
                slices[rank - 1] = Slice::new(0, None, -1);
                (host_flip(data, rank - 1), vec![Step::Slice(slices)])
            }
        }
    }
}

/// Row-major strides of `shape`, in elements.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Data permuted on the host: `out.shape[i] = in.shape[perm[i]]`.
pub fn host_permute(data: &TensorData, perm: &[usize]) -> TensorData {
    let shape = data.shape.as_slice().to_vec();
    let size = data.dtype.size();
    let in_strides = strides(&shape);
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let n = numel(&shape);
    let bytes = data.as_bytes();
    let mut out = Vec::with_capacity(n * size);
    let mut idx = vec![0usize; out_shape.len()];
    for _ in 0..n {
        let src: usize = idx
            .iter()
            .enumerate()
            .map(|(i, &v)| v * in_strides[perm[i]])
            .sum();
        out.extend_from_slice(&bytes[src * size..(src + 1) * size]);
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    TensorData::from_bytes_vec(out, out_shape, data.dtype)
}

/// Data reversed along `dim` on the host.
pub fn host_flip(data: &TensorData, dim: usize) -> TensorData {
    let shape = data.shape.as_slice().to_vec();
    let size = data.dtype.size();
    let outer: usize = shape[..dim].iter().product();
    let len = shape[dim];
    let inner: usize = shape[dim + 1..].iter().product::<usize>() * size;
    let bytes = data.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    for o in 0..outer {
        for i in (0..len).rev() {
            let start = (o * len + i) * inner;
            out.extend_from_slice(&bytes[start..start + inner]);
        }
    }
    TensorData::from_bytes_vec(out, shape, data.dtype)
}

/// Data with a filler row before each row of dim 0 (the rows in reverse order).
fn host_interleave0(data: &TensorData) -> TensorData {
    let mut shape = data.shape.as_slice().to_vec();
    let rows = shape[0];
    let row = numel(&shape[1..]) * data.dtype.size();
    let bytes = data.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for r in 0..rows {
        let filler = rows - 1 - r;
        out.extend_from_slice(&bytes[filler * row..(filler + 1) * row]);
        out.extend_from_slice(&bytes[r * row..(r + 1) * row]);
    }
    shape[0] = rows * 2;
    TensorData::from_bytes_vec(out, shape, data.dtype)
}
