//! `grid_sample_2d` on `Mlx`.
//!
//! - Bilinear against `NdArray`, every padding mode and `align_corners`, grids inside, on the
//!   border of and far outside the image, non-finite positions, every precision; and backward
//!   through `Autodiff` (Burn differentiates its own composition of primitive ops there), for the
//!   image and the grid.
//! - Bicubic and bilinear at the positions `interpolate` samples, with border padding, against
//!   ndarray's `interpolate` (the same definition).
//! - Nearest and bicubic, which ndarray does not sample, against a direct scalar
//!   implementation of PyTorch's definition written here.

use crate::common;

use burn::tensor::module::interpolate;
use burn::tensor::ops::{
    GridSampleOptions, GridSamplePaddingMode, InterpolateMode, InterpolateOptions,
};
use common::*;

const PADDINGS: [GridSamplePaddingMode; 3] = [
    GridSamplePaddingMode::Zeros,
    GridSamplePaddingMode::Border,
    GridSamplePaddingMode::Reflection,
];

/// Grid values uniform in [lo, hi), with a few exact landmarks mixed in; all are multiples of a
/// power of two small enough to be exact in bf16 (8 significant bits), so every precision
/// samples the same positions.
fn grid(n: usize, ho: usize, wo: usize, seed: u64, lo: f64, hi: f64) -> TensorData {
    let mut rng = Rng::new(seed);
    let mut step = 1.0;
    while lo.abs().max(hi.abs()) / (step / 2.0) < 255.0 {
        step /= 2.0;
    }
    let landmarks = [-1.0, 1.0, 0.0, -0.5, 0.5, -1.25, 1.25, 3.0, -3.0];
    let v: Vec<f32> = (0..n * ho * wo * 2)
        .map(|i| {
            if i % 7 == 3 {
                landmarks[rng.int(0, landmarks.len() as i64) as usize]
            } else {
                ((rng.range(lo, hi) / step).round() * step) as f32
            }
        })
        .collect();
    TensorData::new(v, [n, ho, wo, 2])
}

#[derive(Clone)]
struct Sample {
    x: TensorData,
    grid: TensorData,
    options: GridSampleOptions,
}

impl Case for Sample {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = tensor::<B, 4>(&self.x, device, dtype);
        let g = tensor::<B, 4>(&self.grid, device, dtype);
        vec![x.grid_sample_2d(g, self.options.clone()).into_data()]
    }
}

impl GradCase for Sample {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = tensor::<B, 4>(&self.x, device, dtype).require_grad();
        let g = tensor::<B, 4>(&self.grid, device, dtype).require_grad();
        let out = x.clone().grid_sample_2d(g.clone(), self.options.clone());
        let w = tensor::<B, 4>(&floats_exact(out.dims(), 55), device, dtype);
        let grads = (out.clone() * w).sum().backward();
        vec![
            out.into_data(),
            x.grad(&grads).unwrap().into_data(),
            g.grad(&grads).unwrap().into_data(),
        ]
    }
}

/// (image N, C, H, W; grid H_out, W_out)
const SHAPES: &[([usize; 4], [usize; 2])] = &[
    ([2, 3, 5, 7], [4, 6]),
    ([1, 1, 1, 1], [2, 3]),
    ([1, 2, 1, 6], [3, 3]),
    ([3, 2, 8, 4], [5, 1]),
];

fn options(
    mode: InterpolateMode,
    padding: GridSamplePaddingMode,
    align_corners: bool,
) -> GridSampleOptions {
    GridSampleOptions::new(mode)
        .with_padding_mode(padding)
        .with_align_corners(align_corners)
}

#[test]
fn bilinear_forward() {
    for (i, &(shape, [ho, wo])) in SHAPES.iter().enumerate() {
        for padding in PADDINGS {
            for align_corners in [true, false] {
                for (range, seed) in [((-1.0, 1.0), 0), ((-2.5, 2.5), 1), ((-9.0, 9.0), 2)] {
                    let case = Sample {
                        x: floats_exact(shape, i as u64),
                        grid: grid(shape[0], ho, wo, 10 * i as u64 + seed, range.0, range.1),
                        options: options(InterpolateMode::Bilinear, padding, align_corners),
                    };
                    for prec in ALL_PRECS {
                        check_tol(
                            format!(
                                "grid_sample bilinear {padding:?} align={align_corners} #{i} {range:?}"
                            ),
                            prec,
                            prec.tight_tol(),
                            &case,
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn bilinear_non_finite_positions() {
    let mut g = grid(1, 3, 4, 9, -1.0, 1.0).to_vec::<f32>().unwrap();
    g[0] = f32::NAN;
    g[3] = f32::INFINITY;
    g[8] = f32::NEG_INFINITY;
    g[13] = f32::NAN;
    let g = TensorData::new(g, [1, 3, 4, 2]);
    for padding in PADDINGS {
        for align_corners in [true, false] {
            let case = Sample {
                x: floats_exact([1, 2, 5, 6], 3),
                grid: g.clone(),
                options: options(InterpolateMode::Bilinear, padding, align_corners),
            };
            check_tol(
                format!("grid_sample non-finite {padding:?} align={align_corners}"),
                Prec::F32,
                Prec::F32.tight_tol(),
                &case,
            );
        }
    }
}

#[test]
fn bilinear_backward() {
    for (i, &(shape, [ho, wo])) in SHAPES.iter().enumerate() {
        for padding in PADDINGS {
            for align_corners in [true, false] {
                let case = Sample {
                    x: floats_exact(shape, 20 + i as u64),
                    grid: grid(shape[0], ho, wo, 30 + i as u64, -1.4, 1.4),
                    options: options(InterpolateMode::Bilinear, padding, align_corners),
                };
                for prec in [Prec::F32, Prec::F64] {
                    check_grad_tol(
                        format!(
                            "grid_sample bilinear backward {padding:?} align={align_corners} #{i}"
                        ),
                        prec,
                        prec.tight_tol(),
                        &case,
                    );
                }
            }
        }
    }
}

/// The grid that makes `grid_sample` read where `interpolate` reads.
fn interpolation_grid(
    n: usize,
    h: usize,
    w: usize,
    out: [usize; 2],
    align_corners: bool,
) -> TensorData {
    let norm = |o: usize, len_in: usize, len_out: usize| -> f64 {
        if align_corners {
            let ratio = (len_in - 1) as f64 / (len_out.saturating_sub(1).max(1)) as f64;
            let x = ratio * o as f64;
            if len_in == 1 {
                -1.0
            } else {
                2.0 * x / (len_in - 1) as f64 - 1.0
            }
        } else {
            2.0 * (o as f64 + 0.5) / len_out as f64 - 1.0
        }
    };
    let mut v = Vec::new();
    for _ in 0..n {
        for oy in 0..out[0] {
            for ox in 0..out[1] {
                v.push(norm(ox, w, out[1]) as f32);
                v.push(norm(oy, h, out[0]) as f32);
            }
        }
    }
    TensorData::new(v, [n, out[0], out[1], 2])
}

#[test]
fn bicubic_and_bilinear_match_interpolate() {
    for (hw, out) in [([5, 7], [9, 4]), ([8, 6], [3, 11]), ([4, 4], [4, 4])] {
        for align_corners in [true, false] {
            for mode in [InterpolateMode::Bicubic, InterpolateMode::Bilinear] {
                let x = floats_exact([2, 3, hw[0], hw[1]], 40);
                let g = interpolation_grid(2, hw[0], hw[1], out, align_corners);
                let actual = Tensor::<M, 4>::from_data(x.clone(), &mlx_device()).grid_sample_2d(
                    Tensor::from_data(g, &mlx_device()),
                    options(mode.clone(), GridSamplePaddingMode::Border, align_corners),
                );
                let expected = interpolate(
                    Tensor::<Nd, 4>::from_data(x, &Default::default()),
                    out,
                    InterpolateOptions::new(mode.clone()).with_align_corners(align_corners),
                );
                assert_data_close(
                    &format!(
                        "grid_sample {mode:?} vs interpolate align={align_corners} {hw:?} -> {out:?}"
                    ),
                    &actual.into_data(),
                    &expected.into_data(),
                    Tol::new(1e-4, 1e-4),
                );
            }
        }
    }
}

// ---- a scalar reference for the modes ndarray lacks ----------------------------------------------

fn unnormalize(g: f64, size: usize, align_corners: bool) -> f64 {
    if align_corners {
        (g + 1.0) * (size as f64 - 1.0) / 2.0
    } else {
        (g + 1.0) * size as f64 / 2.0 - 0.5
    }
}

fn reflect(x: f64, size: usize, align_corners: bool) -> f64 {
    let (lo, hi) = if align_corners {
        (0.0, size as f64 - 1.0)
    } else {
        (-0.5, size as f64 - 0.5)
    };
    let span = hi - lo;
    if span <= 0.0 {
        return lo;
    }
    let d = (x - lo).abs();
    let flips = (d / span).floor();
    let extra = d - flips * span;
    if flips as i64 % 2 == 0 {
        lo + extra
    } else {
        lo + span - extra
    }
}

/// Reads pixel (iy, ix) of plane `p` with the padding mode's rule for whole-pixel positions.
fn read(
    img: &[f64],
    h: usize,
    w: usize,
    iy: f64,
    ix: f64,
    padding: GridSamplePaddingMode,
    align_corners: bool,
) -> f64 {
    let (iy, ix) = match padding {
        GridSamplePaddingMode::Zeros => (iy, ix),
        GridSamplePaddingMode::Border => {
            (iy.clamp(0.0, h as f64 - 1.0), ix.clamp(0.0, w as f64 - 1.0))
        }
        GridSamplePaddingMode::Reflection => (
            reflect(iy, h, align_corners).clamp(0.0, h as f64 - 1.0),
            reflect(ix, w, align_corners).clamp(0.0, w as f64 - 1.0),
        ),
    };
    if iy < 0.0 || ix < 0.0 || iy >= h as f64 || ix >= w as f64 {
        return 0.0;
    }
    img[iy as usize * w + ix as usize]
}

fn cubic(t: f64) -> [f64; 4] {
    let a = -0.75;
    let near = |d: f64| ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0;
    let far = |d: f64| ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a;
    [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)]
}

fn reference(x: &TensorData, g: &TensorData, options: &GridSampleOptions) -> TensorData {
    let [n, c, h, w] = x.shape.as_slice().try_into().unwrap();
    let [_, ho, wo, _] = g.shape.as_slice().try_into().unwrap();
    let (xv, gv) = (values(x), values(g));
    let (pad, align) = (options.padding_mode, options.align_corners);
    let mut out = vec![0f64; n * c * ho * wo];
    for b in 0..n {
        for ch in 0..c {
            let img = &xv[(b * c + ch) * h * w..(b * c + ch + 1) * h * w];
            for oy in 0..ho {
                for ox in 0..wo {
                    let k = ((b * ho + oy) * wo + ox) * 2;
                    let (px, py) = (
                        unnormalize(gv[k], w, align),
                        unnormalize(gv[k + 1], h, align),
                    );
                    let v = match options.mode {
                        InterpolateMode::Nearest => {
                            let fold = |p: f64, size: usize| match pad {
                                GridSamplePaddingMode::Zeros => p,
                                GridSamplePaddingMode::Border => p.clamp(0.0, size as f64 - 1.0),
                                GridSamplePaddingMode::Reflection => {
                                    reflect(p, size, align).clamp(0.0, size as f64 - 1.0)
                                }
                            };
                            read(
                                img,
                                h,
                                w,
                                fold(py, h).round_ties_even(),
                                fold(px, w).round_ties_even(),
                                GridSamplePaddingMode::Zeros,
                                align,
                            )
                        }
                        InterpolateMode::Bicubic => {
                            let (fx, fy) = (px.floor(), py.floor());
                            let (wx, wy) = (cubic(px - fx), cubic(py - fy));
                            let mut acc = 0.0;
                            for (j, wyj) in wy.iter().enumerate() {
                                for (i, wxi) in wx.iter().enumerate() {
                                    let iy = fy - 1.0 + j as f64;
                                    let ix = fx - 1.0 + i as f64;
                                    acc += wyj * wxi * read(img, h, w, iy, ix, pad, align);
                                }
                            }
                            acc
                        }
                        _ => unreachable!(),
                    };
                    out[((b * c + ch) * ho + oy) * wo + ox] = v;
                }
            }
        }
    }
    TensorData::new(out, [n, c, ho, wo])
}

#[test]
fn nearest_and_bicubic_match_the_reference() {
    for (i, &(shape, [ho, wo])) in SHAPES.iter().enumerate() {
        for mode in [InterpolateMode::Nearest, InterpolateMode::Bicubic] {
            for padding in PADDINGS {
                for align_corners in [true, false] {
                    for (range, seed) in [((-1.0, 1.0), 0), ((-2.5, 2.5), 1)] {
                        let x = floats_exact(shape, 60 + i as u64);
                        let g = grid(
                            shape[0],
                            ho,
                            wo,
                            70 + 10 * i as u64 + seed,
                            range.0,
                            range.1,
                        );
                        let opts = options(mode.clone(), padding, align_corners);
                        let expected = reference(&x, &g, &opts);
                        for prec in ALL_PRECS {
                            let case = Sample {
                                x: x.clone(),
                                grid: g.clone(),
                                options: opts.clone(),
                            };
                            let actual = Case::run(&case, &Cx::<M>::mlx(prec));
                            let name = format!(
                                "grid_sample {mode:?} {padding:?} align={align_corners} #{i} {range:?}"
                            );
                            assert_all_close(
                                &format!("{name} [{prec:?}]"),
                                &actual,
                                std::slice::from_ref(&expected),
                                prec.tight_tol(),
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn empty_batches_and_channels() {
    for (shape, n) in [([0, 3, 4, 5], 0), ([2, 0, 4, 5], 2)] {
        for padding in PADDINGS {
            let case = Sample {
                x: floats_exact(shape, 1),
                grid: grid(n, 3, 2, 2, -1.2, 1.2),
                options: options(InterpolateMode::Bilinear, padding, false),
            };
            check_tol(
                format!("grid_sample {shape:?} {padding:?}"),
                Prec::F32,
                Prec::F32.tight_tol(),
                &case,
            );
        }
    }
}
