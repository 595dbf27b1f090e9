//! `float_grid_sample_2d` on MLX: sampling an NCHW image at the normalised positions of a grid.
//!
//! Conventions (Burn's, those of PyTorch's `grid_sample`): the grid's last axis holds `(x, y)`
//! in `[-1, 1]`; with `align_corners` -1 and 1 are the centres of the corner pixels
//! (`(g + 1) * (size - 1) / 2`), without it their outer edges (`(g + 1) * size / 2 - 0.5`).
//!
//! - `bilinear`: the coordinate goes through the padding mode (border: clamped to the image;
//!   reflection: reflected at the borders, a triangle wave over `[0, size - 1]` or
//!   `[-0.5, size - 0.5]`), then the four neighbours are weighted by the fractional parts.
//!   With zero padding a neighbour outside the image reads 0; otherwise neighbours are clamped.
//!   This is Burn's reference backend exactly.
//! - `nearest`: the coordinate goes through the padding mode and is rounded half to even (as
//!   PyTorch does); outside the image reads 0 with zero padding.
//! - `bicubic`: 4 x 4 neighbours around `floor` of the raw coordinate, with cubic convolution
//!   weights (`A = -0.75`); the padding mode applies to each neighbour's position (PyTorch's
//!   definition). Burn's reference backend has no bicubic (nor nearest) grid sampling.
//! - A non-finite grid position samples 0, or the centre pixel with border padding, as in Burn's
//!   reference backend.
//!
//! Natively: every neighbour's flat position and weight is computed elementwise on the grid,
//! and one `take_along_axis` along the flattened spatial axis gathers all of them for every
//! channel, followed by one weighted sum. Zero padding gathers from the image padded by one zero
//! pixel on each side, with positions clamped into that frame, so no masks are needed.
//!
//! The backward pass is not here: Burn's autodiff has no grid-sample node and differentiates
//! its own composition of primitive ops (which run on this backend).

use burn_backend::TensorMetadata;
use burn_backend::ops::{GridSampleOptions, GridSamplePaddingMode, InterpolateMode};
use mlx::{Array, Dtype, Scalar, ops};

use super::base::in_dtype;
use super::interpolate::compute_dtype;
use super::pick::pick;
use crate::eval::op;
use crate::tensor::MlxTensor;

/// One spatial axis of the sampled image.
struct Axis {
    size: usize,
    padding: GridSamplePaddingMode,
    align_corners: bool,
    dtype: Dtype,
}

/// Neighbours along one axis: integer positions (as floats) and their weights.
type Neighbours = Vec<(Array, Array)>;

impl Axis {
    fn scalar(&self, v: f64) -> Array {
        Scalar::Float(v).to_array(self.dtype)
    }

    /// Normalised grid values to pixel coordinates.
    fn unnormalize(&self, g: &Array) -> mlx::Result<Array> {
        let s = self.size as f64;
        let shifted = ops::add(g, &self.scalar(1.0))?;
        if self.align_corners {
            ops::multiply(&shifted, &self.scalar((s - 1.0) / 2.0))
        } else {
            ops::subtract(
                &ops::multiply(&shifted, &self.scalar(s / 2.0))?,
                &self.scalar(0.5),
            )
        }
    }

    /// The triangle wave folding coordinates back into `[lo, hi]`.
    fn reflect(&self, c: &Array) -> mlx::Result<Array> {
        let s = self.size as f64;
        let (lo, hi) = if self.align_corners {
            (0.0, s - 1.0)
        } else {
            (-0.5, s - 0.5)
        };
        let span = hi - lo;
        if span <= 0.0 {
            return ops::full_like(c, &self.scalar(lo), None);
        }
        let x = ops::abs(&ops::subtract(c, &self.scalar(lo))?)?;
        let period = self.scalar(2.0 * span);
        let wrapped = ops::subtract(
            &x,
            &ops::multiply(&ops::floor(&ops::divide(&x, &period)?)?, &period)?,
        )?;
        let folded = ops::abs(&ops::subtract(&wrapped, &self.scalar(span))?)?;
        ops::add(
            &ops::subtract(&self.scalar(span), &folded)?,
            &self.scalar(lo),
        )
    }

    fn clamp(&self, c: &Array, lo: f64, hi: f64) -> mlx::Result<Array> {
        ops::clip(c, Some(&self.scalar(lo)), Some(&self.scalar(hi)))
    }

    /// The padding mode applied to a coordinate (zero padding leaves it alone).
    fn pad_coordinate(&self, c: &Array) -> mlx::Result<Array> {
        match self.padding {
            GridSamplePaddingMode::Zeros => Ok(c.clone()),
            GridSamplePaddingMode::Border => self.clamp(c, 0.0, self.size as f64 - 1.0),
            GridSamplePaddingMode::Reflection => self.reflect(c),
        }
    }

    /// An integer position (float-valued) to an index of the gathered image axis: with zero
    /// padding the image has one zero pixel on each side and outside positions land there;
    /// otherwise positions are clamped to the image.
    fn index(&self, p: &Array) -> mlx::Result<Array> {
        let last = self.size as f64 - 1.0;
        match self.padding {
            GridSamplePaddingMode::Zeros => {
                ops::add(&self.clamp(p, -1.0, last + 1.0)?, &self.scalar(1.0))?.astype(Dtype::Int32)
            }
            _ => self.clamp(p, 0.0, last)?.astype(Dtype::Int32),
        }
    }

    /// The length of the gathered image axis.
    fn gathered_len(&self) -> usize {
        match self.padding {
            GridSamplePaddingMode::Zeros => self.size + 2,
            _ => self.size,
        }
    }

    /// Neighbour indices and weights for the pixel coordinates `c`.
    fn neighbours(&self, c: &Array, mode: &InterpolateMode) -> mlx::Result<Neighbours> {
        match mode {
            InterpolateMode::Bilinear => {
                let c = self.pad_coordinate(c)?;
                let f = ops::floor(&c)?;
                let t = ops::subtract(&c, &f)?;
                let one_minus = ops::subtract(&self.scalar(1.0), &t)?;
                let next = ops::add(&f, &self.scalar(1.0))?;
                Ok(vec![(self.index(&f)?, one_minus), (self.index(&next)?, t)])
            }
            InterpolateMode::Nearest => {
                let c = self.pad_coordinate(c)?;
                let r = ops::round(&c, 0)?;
                Ok(vec![(self.index(&r)?, ops::ones_like(&c, None)?)])
            }
            InterpolateMode::Bicubic => {
                const A: f64 = -0.75;
                let f = ops::floor(c)?;
                let t = ops::subtract(c, &f)?;
                let s = |v: f64| self.scalar(v);
                // Keys' kernel: |d| <= 1 and 1 < |d| < 2.
                let near = |d: &Array| -> mlx::Result<Array> {
                    let inner = ops::subtract(&ops::multiply(&s(A + 2.0), d)?, &s(A + 3.0))?;
                    ops::add(&ops::multiply(&ops::multiply(&inner, d)?, d)?, &s(1.0))
                };
                let far = |d: &Array| -> mlx::Result<Array> {
                    let a = ops::subtract(&ops::multiply(&s(A), d)?, &s(5.0 * A))?;
                    let b = ops::add(&ops::multiply(&a, d)?, &s(8.0 * A))?;
                    ops::subtract(&ops::multiply(&b, d)?, &s(4.0 * A))
                };
                let weights = [
                    far(&ops::add(&t, &s(1.0))?)?,
                    near(&t)?,
                    near(&ops::subtract(&s(1.0), &t)?)?,
                    far(&ops::subtract(&s(2.0), &t)?)?,
                ];
                let mut out = Vec::with_capacity(4);
                for (k, w) in weights.into_iter().enumerate() {
                    let p = ops::add(&f, &s(k as f64 - 1.0))?;
                    // Each neighbour's position goes through the padding mode (reflection
                    // then clamps, as positions are whole pixels).
                    let p = match self.padding {
                        GridSamplePaddingMode::Reflection => self.reflect(&p)?,
                        _ => p,
                    };
                    out.push((self.index(&p)?, w));
                }
                Ok(out)
            }
            InterpolateMode::Lanczos3 => {
                panic!(
                    "burn-mlx: grid_sample_2d: Lanczos3 has no grid sampling definition (bilinear, nearest and bicubic do)"
                )
            }
        }
    }
}

fn grid_sample_array(x: &Array, grid: &Array, options: &GridSampleOptions) -> mlx::Result<Array> {
    let dtype = x.dtype();
    let compute = compute_dtype(dtype);
    let [n, c, h, w] = <[i32; 4]>::try_from(x.shape()).expect("4-d input");
    let [_, ho, wo, _] = <[i32; 4]>::try_from(grid.shape()).expect("4-d grid");
    let p = ho * wo;
    if x.size() == 0 {
        // No batch or no channels: nothing to sample (MLX refuses to gather from an empty array).
        return ops::zeros(&[n, c, ho, wo], dtype);
    }
    let axis = |size: i32| Axis {
        size: size as usize,
        padding: options.padding_mode,
        align_corners: options.align_corners,
        dtype: compute,
    };
    let (ax, ay) = (axis(w), axis(h));

    // Pixel coordinates, [N, P]; non-finite ones are replaced (and their results too, below).
    let grid = grid.astype(compute)?.reshape(&[n, p, 2])?;
    let gx = ops::take_index(&grid, 0, Some(2))?;
    let gy = ops::take_index(&grid, 1, Some(2))?;
    let finite = ops::logical_and(&ops::isfinite(&gx)?, &ops::isfinite(&gy)?)?;
    let zero = Scalar::Float(0.0).to_array(compute);
    let px = ax.unnormalize(&pick(&finite, &gx, &zero)?)?;
    let py = ay.unnormalize(&pick(&finite, &gy, &zero)?)?;

    let xs = ax.neighbours(&px, &options.mode)?;
    let ys = ay.neighbours(&py, &options.mode)?;

    // The image flattened spatially: [N, C, H' * W'].
    let image = if options.padding_mode == GridSamplePaddingMode::Zeros {
        let widths = [(0, 0), (0, 0), (1, 1), (1, 1)];
        ops::pad(
            x,
            &widths,
            &Scalar::Float(0.0).to_array(dtype),
            ops::PadMode::Constant,
        )?
    } else {
        x.clone()
    };
    let row = Array::scalar(ax.gathered_len() as i32);
    let image = image.reshape(&[n, c, (ay.gathered_len() * ax.gathered_len()) as i32])?;

    // Every neighbour's flat position and weight, [N, 1, K * P], gathered at once for all
    // channels.
    let (mut positions, mut weights) = (Vec::new(), Vec::new());
    for (iy, wy) in &ys {
        let base = ops::multiply(iy, &row)?;
        for (ix, wx) in &xs {
            positions.push(ops::add(&base, ix)?);
            weights.push(ops::multiply(wy, wx)?);
        }
    }
    let k = positions.len() as i32;
    let positions = ops::concatenate(&positions, Some(1))?.reshape(&[n, 1, k * p])?;
    let weights = ops::concatenate(&weights, Some(1))?.reshape(&[n, 1, k, p])?;
    let samples = ops::take_along_axis(&image, &positions, Some(2))?.reshape(&[n, c, k, p])?;
    let samples = in_dtype(&samples, compute)?;
    let out = ops::multiply(&samples, &weights)?.sum(Some(&[2]), false)?;

    // Non-finite positions: 0, or the centre pixel with border padding.
    let fallback = if options.padding_mode == GridSamplePaddingMode::Border {
        let (cy, cx) = ((h - 1) / 2, (w - 1) / 2);
        let centre = ops::slice(x, &[0, 0, cy, cx], &[n, c, cy + 1, cx + 1], &[1, 1, 1, 1])?;
        centre.reshape(&[n, c, 1])?.astype(compute)?
    } else {
        zero
    };
    let out = pick(&ops::expand_dims(&finite, &[1])?, &out, &fallback)?;
    out.reshape(&[n, c, ho, wo])?.astype(dtype)
}

pub(crate) fn grid_sample_2d(
    tensor: MlxTensor,
    grid: MlxTensor,
    options: GridSampleOptions,
) -> MlxTensor {
    let (xs, gs) = (tensor.shape(), grid.shape());
    if xs.num_dims() != 4 || gs.num_dims() != 4 || gs[3] != 2 || gs[0] != xs[0] {
        panic!(
            "burn-mlx: grid_sample_2d: expected an input [N, C, H, W] and a grid [N, H_out, W_out, 2], got {xs:?} and {gs:?}"
        );
    }
    if xs[2] == 0 || xs[3] == 0 {
        panic!("burn-mlx: grid_sample_2d: cannot sample an empty image ({xs:?})");
    }
    if matches!(options.mode, InterpolateMode::Lanczos3) {
        panic!(
            "burn-mlx: grid_sample_2d: Lanczos3 has no grid sampling definition (bilinear, nearest and bicubic do)"
        );
    }
    op(&[&tensor, &grid], "grid_sample_2d", || {
        grid_sample_array(&tensor.array, &grid.array, &options)
    })
}
