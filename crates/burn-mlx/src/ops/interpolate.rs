//! Interpolation (`interpolate`, `interpolate_backward`) on MLX, and the separable resampling it
//! shares with adaptive average pooling.
//!
//! Every mode Burn offers is separable: an output row (or column) is a weighted sum of a few
//! input rows (columns). The positions and weights depend only on the sizes and options, so they
//! are computed once on the host, in `f64` with exactly the formulas of Burn's reference backend,
//! and become small index and weight arrays ([`Taps`]). Resampling an axis is then an MLX
//! `take_along_axis` along it per tap, weighted and summed: the cost is proportional to the
//! output size times the number of taps (1 nearest, 2 bilinear, 4 bicubic, 6 Lanczos3),
//! whatever the scale.
//!
//! The backward pass is the adjoint of that linear map. Instead of scattering (atomic adds on
//! GPUs, serial on the CPU), the taps are transposed on the host: each input position lists the
//! outputs that read it and with which weight, and the gradient is gathered with the same
//! gather-multiply-sum. That is exact for every mode (clamped border taps accumulate), and
//! deterministic.

use burn_backend::TensorMetadata;
use burn_backend::ops::{InterpolateMode, InterpolateOptions};
use mlx::{Array, Dtype, ops};

use super::base::in_dtype;
use crate::eval::op;
use crate::tensor::MlxTensor;

/// The dtype resampling computes in: `f32` for half types (weights and sums keep their
/// precision; the result is converted back), the input's own otherwise.
pub(crate) fn compute_dtype(dtype: Dtype) -> Dtype {
    if dtype == Dtype::Float64 {
        Dtype::Float64
    } else {
        Dtype::Float32
    }
}

/// A separable resampling of one axis from `len_in` to `len_out` positions: output `o` is
/// `sum_t weight[o][t] * input[index[o][t]]` over `width` taps.
#[derive(Clone, Debug)]
pub(crate) struct Taps {
    pub(crate) len_in: usize,
    pub(crate) len_out: usize,
    pub(crate) width: usize,
    pub(crate) index: Vec<i32>,
    pub(crate) weight: Vec<f64>,
}

impl Taps {
    fn with_width(len_in: usize, len_out: usize, width: usize) -> Taps {
        Taps {
            len_in,
            len_out,
            width,
            index: Vec::with_capacity(len_out * width),
            weight: Vec::with_capacity(len_out * width),
        }
    }

    fn push(&mut self, index: usize, weight: f64) {
        // Every index lies in 0..len_in (callers clamp): fits MLX's i32 indices.
        self.index.push(index as i32);
        self.weight.push(weight);
    }

    /// Nearest neighbour as Burn defines it: output `o` reads `floor(o * in / out)` (the ratio
    /// taken first, in f64), whatever `align_corners`.
    pub(crate) fn nearest(len_in: usize, len_out: usize) -> Taps {
        let mut taps = Taps::with_width(len_in, len_out, 1);
        let ratio = len_in as f64 / len_out as f64;
        for o in 0..len_out {
            let i = (ratio * o as f64).floor() as usize;
            taps.push(i.min(len_in - 1), 1.0);
        }
        taps
    }

    /// The source coordinate of output `o`: corners aligned (`o * (in - 1) / max(out - 1, 1)`)
    /// or half-pixel centres (`(o + 0.5) * in / out - 0.5`).
    fn source(len_in: usize, len_out: usize, o: usize, align_corners: bool) -> f64 {
        if align_corners {
            let ratio = (len_in - 1) as f64 / (len_out.saturating_sub(1).max(1)) as f64;
            ratio * o as f64
        } else {
            (o as f64 + 0.5) * (len_in as f64 / len_out as f64) - 0.5
        }
    }

    /// Linear interpolation between `floor(x)` and `min(ceil(x), in - 1)`; with half-pixel
    /// centres the coordinate is first clamped to `[0, in - 1]`.
    pub(crate) fn linear(len_in: usize, len_out: usize, align_corners: bool) -> Taps {
        let mut taps = Taps::with_width(len_in, len_out, 2);
        let last = (len_in - 1) as f64;
        for o in 0..len_out {
            let mut x = Self::source(len_in, len_out, o, align_corners);
            if !align_corners {
                x = x.clamp(0.0, last);
            }
            let x0 = x.floor();
            let x1 = x.ceil().min(last);
            let w = x - x0;
            taps.push(x0 as usize, 1.0 - w);
            taps.push(x1 as usize, w);
        }
        taps
    }

    /// Cubic convolution (Keys, `A = -0.75`) over `floor(x) - 1 ..= floor(x) + 2`, positions
    /// clamped to the border (the border value repeats).
    pub(crate) fn cubic(len_in: usize, len_out: usize, align_corners: bool) -> Taps {
        const A: f64 = -0.75;
        // |d| <= 1 and 1 < |d| < 2 pieces of the kernel.
        let near = |d: f64| ((A + 2.0) * d - (A + 3.0)) * d * d + 1.0;
        let far = |d: f64| ((A * d - 5.0 * A) * d + 8.0 * A) * d - 4.0 * A;
        let mut taps = Taps::with_width(len_in, len_out, 4);
        let last = (len_in - 1) as isize;
        for o in 0..len_out {
            let x = Self::source(len_in, len_out, o, align_corners);
            let x0 = x.floor();
            let t = x - x0;
            let base = x0 as isize;
            let weights = [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)];
            for (k, w) in weights.into_iter().enumerate() {
                let i = (base - 1 + k as isize).clamp(0, last);
                taps.push(i as usize, w);
            }
        }
        taps
    }

    /// Lanczos3 over `floor(x) - 2 ..= floor(x) + 3`: positions outside the input are left out
    /// and the remaining weights renormalised to sum to one.
    pub(crate) fn lanczos3(len_in: usize, len_out: usize, align_corners: bool) -> Taps {
        fn kernel(x: f64) -> f64 {
            if x == 0.0 {
                return 1.0;
            }
            if x.abs() >= 3.0 {
                return 0.0;
            }
            let px = std::f64::consts::PI * x;
            (px.sin() * (px / 3.0).sin()) / (px * (px / 3.0))
        }
        let mut taps = Taps::with_width(len_in, len_out, 6);
        for o in 0..len_out {
            let x = Self::source(len_in, len_out, o, align_corners);
            let x0 = x.floor();
            let mut row = [(0usize, 0.0f64); 6];
            let mut total = 0.0;
            for (slot, k) in (-2isize..=3).enumerate() {
                let i = x0 as isize + k;
                if i < 0 || i >= len_in as isize {
                    continue;
                }
                let w = kernel(x - (x0 + k as f64));
                row[slot] = (i as usize, w);
                total += w;
            }
            let norm = if total != 0.0 { total } else { 1.0 };
            for (i, w) in row {
                taps.push(i, w / norm);
            }
        }
        taps
    }

    /// The taps of `mode`.
    pub(crate) fn for_mode(
        mode: &InterpolateMode,
        len_in: usize,
        len_out: usize,
        align_corners: bool,
    ) -> Taps {
        match mode {
            InterpolateMode::Nearest => Taps::nearest(len_in, len_out),
            InterpolateMode::Bilinear => Taps::linear(len_in, len_out, align_corners),
            InterpolateMode::Bicubic => Taps::cubic(len_in, len_out, align_corners),
            InterpolateMode::Lanczos3 => Taps::lanczos3(len_in, len_out, align_corners),
        }
    }

    /// The adjoint resampling (from `len_out` back to `len_in` positions): input position `i`
    /// gathers every output that read it, with the same weight. Taps of weight zero are dropped
    /// and repeated reads of one position by one output merged.
    pub(crate) fn transpose(&self) -> Taps {
        let mut lists: Vec<Vec<(usize, f64)>> = vec![Vec::new(); self.len_in];
        for o in 0..self.len_out {
            for t in 0..self.width {
                let w = self.weight[o * self.width + t];
                if w == 0.0 {
                    continue;
                }
                let list = &mut lists[self.index[o * self.width + t] as usize];
                match list.last_mut() {
                    // One output's taps come one after another: a repeat is the last entry.
                    Some(last) if last.0 == o => last.1 += w,
                    _ => list.push((o, w)),
                }
            }
        }
        let width = lists.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut taps = Taps::with_width(self.len_out, self.len_in, width);
        for list in lists {
            for t in 0..width {
                let (o, w) = list.get(t).copied().unwrap_or((0, 0.0));
                taps.push(o, w);
            }
        }
        taps
    }

    /// Whether every output copies one input (nearest neighbour): a plain gather.
    fn is_copy(&self) -> bool {
        self.width == 1 && self.weight.iter().all(|w| *w == 1.0)
    }

    /// Resamples `axis` of `a`; the result is in `dtype` (see [`compute_dtype`]) unless the taps
    /// only copy, which keeps `a`'s dtype.
    pub(crate) fn apply(&self, a: &Array, axis: usize, dtype: Dtype) -> mlx::Result<Array> {
        let (o, t) = (self.len_out as i32, self.width);
        if a.size() == 0 {
            // MLX refuses to gather from an empty array (no batch or no channels).
            let mut shape = a.shape().to_vec();
            shape[axis] = o;
            return ops::zeros(&shape, if self.is_copy() { a.dtype() } else { dtype });
        }
        // Gathers use `take_along_axis` with the indices broadcast over the other axes: MLX's
        // CPU backend runs it many times faster than `take` of whole strided slices (5 to 15 ns
        // against 150 ns per element), and GPUs gather elementwise either way. The taps are
        // positions computed here, checked once on the host, so the gathers need none of the
        // in-graph clamping that indices from a user get.
        let len = a.shape()[axis];
        let in_range = self.index.iter().all(|&i| (0..len).contains(&i));
        let gather = |index: &Array| {
            if in_range {
                // SAFETY: every index lies in `0..len`, the length of `axis` (checked above).
                unsafe { ops::take_along_axis_unchecked(a, index, axis as i32) }
            } else {
                ops::take_along_axis(a, index, Some(axis as i32))
            }
        };
        let mut index_shape = vec![1; a.ndim()];
        let mut weight_shape = vec![1; a.ndim() - axis];
        weight_shape[0] = o;
        let weights = |w: Vec<f64>, shape: &[i32]| -> mlx::Result<Array> {
            if dtype == Dtype::Float64 {
                Array::from_slice(&w, shape)
            } else {
                let w: Vec<f32> = w.into_iter().map(|w| w as f32).collect();
                Array::from_slice(&w, shape)?.astype(dtype)
            }
        };
        if t <= 8 {
            // A few taps: one gather per tap, weighted and accumulated (no reduction over a
            // short axis, which is slow on MLX's CPU backend).
            index_shape[axis] = o;
            let mut acc: Option<Array> = None;
            for k in 0..t {
                let column =
                    |v: &[i32]| -> Vec<i32> { v.iter().skip(k).step_by(t).copied().collect() };
                let index = Array::from_slice(&column(&self.index), &index_shape)?;
                let taken = gather(&index)?;
                if self.is_copy() {
                    return Ok(taken);
                }
                let taken = in_dtype(&taken, dtype)?;
                let w: Vec<f64> = self.weight.iter().skip(k).step_by(t).copied().collect();
                let term = ops::multiply(&taken, &weights(w, &weight_shape)?)?;
                acc = Some(match acc {
                    Some(acc) => ops::add(&acc, &term)?,
                    None => term,
                });
            }
            return Ok(acc.expect("at least one tap"));
        }
        // Many taps: one gather of all of them, then a weighted sum over the tap axis.
        index_shape[axis] = o * t as i32;
        let index = Array::from_slice(&self.index, &index_shape)?;
        let taken = gather(&index)?;
        let mut split = taken.shape().to_vec();
        split.splice(axis..=axis, [o, t as i32]);
        let taken = taken.reshape(&split)?;
        let taken = in_dtype(&taken, dtype)?;
        weight_shape.insert(1, t as i32);
        let weight = weights(self.weight.clone(), &weight_shape)?;
        ops::multiply(&taken, &weight)?.sum(Some(&[axis as i32 + 1]), false)
    }
}

/// Resamples the two spatial axes (2 and 3) of an NCHW array, rows first.
pub(crate) fn resample_2d(a: &Array, rows: &Taps, cols: &Taps) -> mlx::Result<Array> {
    let dtype = a.dtype();
    let compute = compute_dtype(dtype);
    let out = rows.apply(a, 2, compute)?;
    let out = cols.apply(&out, 3, compute)?;
    in_dtype(&out, dtype)
}

fn spatial(x: &MlxTensor, name: &str) -> [usize; 2] {
    let shape = x.shape();
    if shape.num_dims() != 4 {
        panic!(
            "burn-mlx: {name}: expected a [batch, channels, height, width] tensor, got shape {shape:?}"
        );
    }
    [shape[2], shape[3]]
}

fn check_sizes(name: &str, input: [usize; 2], output: [usize; 2]) {
    if input.contains(&0) || output.contains(&0) {
        panic!(
            "burn-mlx: {name}: spatial sizes must be positive (input {input:?}, output {output:?})"
        );
    }
}

pub(crate) fn interpolate(
    x: MlxTensor,
    output_size: [usize; 2],
    options: InterpolateOptions,
) -> MlxTensor {
    let [h, w] = spatial(&x, "interpolate");
    check_sizes("interpolate", [h, w], output_size);
    let rows = Taps::for_mode(&options.mode, h, output_size[0], options.align_corners);
    let cols = Taps::for_mode(&options.mode, w, output_size[1], options.align_corners);
    op(&[&x], "interpolate", || resample_2d(&x.array, &rows, &cols))
}

pub(crate) fn interpolate_backward(
    x: MlxTensor,
    grad: MlxTensor,
    output_size: [usize; 2],
    options: InterpolateOptions,
) -> MlxTensor {
    let [h, w] = spatial(&x, "interpolate_backward");
    check_sizes("interpolate_backward", [h, w], output_size);
    let rows = Taps::for_mode(&options.mode, h, output_size[0], options.align_corners).transpose();
    let cols = Taps::for_mode(&options.mode, w, output_size[1], options.align_corners).transpose();
    let dtype = x.array.dtype();
    op(&[&grad], "interpolate_backward", || {
        in_dtype(&resample_2d(&grad.array, &rows, &cols)?, dtype)
    })
}
