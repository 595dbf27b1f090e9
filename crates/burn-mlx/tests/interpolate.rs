//! Interpolation on `Mlx` against `NdArray`: every mode and `align_corners`, upscaling and
//! downscaling, odd and unit sizes, every float precision, non-contiguous inputs, and Burn's
//! `Interpolate2d` module; backward passes too.
//!
//! ndarray differentiates only nearest-neighbour interpolation, so the backward pass of the other
//! modes is checked against the adjoint of ndarray's forward pass: interpolation is linear, and
//! ndarray's forward pass on one-hot images gives its matrix, whose transpose applied to the
//! output gradient is the input gradient.

mod common;

use burn::nn::interpolate::{Interpolate2dConfig, InterpolateMode as NnMode};
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use common::*;

const MODES: [InterpolateMode; 4] = [
    InterpolateMode::Nearest,
    InterpolateMode::Bilinear,
    InterpolateMode::Bicubic,
    InterpolateMode::Lanczos3,
];

/// (input H, W) -> (output H, W): up, down, mixed, identity, to and from size 1.
const SIZES: &[([usize; 2], [usize; 2])] = &[
    ([4, 5], [8, 10]),
    ([7, 9], [3, 4]),
    ([5, 6], [11, 3]),
    ([6, 6], [6, 6]),
    ([1, 4], [3, 7]),
    ([5, 3], [1, 1]),
    ([3, 8], [7, 5]),
    ([2, 2], [9, 13]),
    ([13, 11], [4, 6]),
];

fn options(mode: &InterpolateMode, align_corners: bool) -> InterpolateOptions {
    InterpolateOptions::new(mode.clone()).with_align_corners(align_corners)
}

#[derive(Clone)]
struct Interp {
    x: TensorData,
    out: [usize; 2],
    mode: InterpolateMode,
    align_corners: bool,
    swapped: bool,
}

impl Interp {
    fn x<B: Backend>(&self, device: &B::Device, dtype: DType) -> Tensor<B, 4> {
        let x = tensor::<B, 4>(&self.x, device, dtype);
        if !self.swapped {
            return x;
        }
        // The same values through a transposed view.
        let stored = Tensor::<B, 4>::from_data(x.swap_dims(2, 3).into_data(), (device, dtype));
        stored.swap_dims(2, 3)
    }
}

impl Case for Interp {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = self.x::<B>(device, dtype);
        vec![interpolate(x, self.out, options(&self.mode, self.align_corners)).into_data()]
    }
}

impl GradCase for Interp {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        let x = self.x::<B>(device, dtype).require_grad();
        let out = interpolate(x.clone(), self.out, options(&self.mode, self.align_corners));
        let w = tensor::<B, 4>(&floats_exact(out.dims(), 77), device, dtype);
        let g = grad_of(&x, out.clone(), w);
        vec![out.into_data(), g]
    }
}

#[test]
fn interpolate_forward() {
    for (i, &(hw, out)) in SIZES.iter().enumerate() {
        for mode in &MODES {
            for align_corners in [true, false] {
                let case = Interp {
                    x: floats_exact([2, 3, hw[0], hw[1]], i as u64),
                    out,
                    mode: mode.clone(),
                    align_corners,
                    swapped: false,
                };
                for prec in ALL_PRECS {
                    check_tol(
                        format!("interpolate {mode:?} align={align_corners} {hw:?} -> {out:?}"),
                        prec,
                        prec.tight_tol(),
                        &case,
                    );
                }
            }
        }
    }
}

#[test]
fn interpolate_forward_non_contiguous() {
    for (i, &(hw, out)) in SIZES.iter().enumerate() {
        for mode in &MODES {
            let case = Interp {
                x: floats_exact([1, 2, hw[0], hw[1]], 50 + i as u64),
                out,
                mode: mode.clone(),
                align_corners: false,
                swapped: true,
            };
            check_tol(
                format!("interpolate {mode:?} swapped {hw:?} -> {out:?}"),
                Prec::F32,
                Prec::F32.tight_tol(),
                &case,
            );
        }
    }
}

#[test]
fn interpolate_nearest_backward() {
    for (i, &(hw, out)) in SIZES.iter().enumerate() {
        for align_corners in [true, false] {
            for swapped in [false, true] {
                let case = Interp {
                    x: floats_exact([2, 3, hw[0], hw[1]], 100 + i as u64),
                    out,
                    mode: InterpolateMode::Nearest,
                    align_corners,
                    swapped,
                };
                for prec in ALL_PRECS {
                    check_grad_tol(
                        format!("interpolate nearest backward {hw:?} -> {out:?} swapped={swapped}"),
                        prec,
                        prec.tight_tol(),
                        &case,
                    );
                }
            }
        }
    }
}

/// The input gradient ndarray's forward pass implies: `A^T g` per image plane, with `A` read
/// off ndarray's outputs for one-hot inputs.
fn adjoint_oracle(
    x: &TensorData,
    w: &TensorData,
    out: [usize; 2],
    options: InterpolateOptions,
) -> TensorData {
    let [n, c, h, wd] = x.shape.as_slice().try_into().unwrap();
    let (hw, ohw) = (h * wd, out[0] * out[1]);
    let mut eye = vec![0f64; hw * hw];
    for i in 0..hw {
        eye[i * hw + i] = 1.0;
    }
    let basis = Tensor::<burn_ndarray::NdArray<f64>, 4>::from_data(
        TensorData::new(eye, [hw, 1, h, wd]),
        &Default::default(),
    );
    // columns[i] = A e_i, i.e. row i of A^T.
    let columns = values(&interpolate(basis, out, options).into_data());
    let g = values(w);
    let mut grad = vec![0f64; n * c * hw];
    for plane in 0..n * c {
        for i in 0..hw {
            grad[plane * hw + i] = (0..ohw)
                .map(|o| columns[i * ohw + o] * g[plane * ohw + o])
                .sum();
        }
    }
    TensorData::new(grad, [n, c, h, wd])
}

#[test]
fn interpolate_backward_is_the_adjoint_of_the_forward_pass() {
    for (i, &(hw, out)) in SIZES.iter().enumerate() {
        for mode in &MODES {
            for align_corners in [true, false] {
                for swapped in [false, true] {
                    let x = floats_exact([2, 3, hw[0], hw[1]], 200 + i as u64);
                    let case = Interp {
                        x: x.clone(),
                        out,
                        mode: mode.clone(),
                        align_corners,
                        swapped,
                    };
                    let name = format!(
                        "interpolate {mode:?} backward align={align_corners} swapped={swapped} {hw:?} -> {out:?}"
                    );
                    // The output gradient `grad_of` uses.
                    let w = floats_exact([2, 3, out[0], out[1]], 77);
                    let expected_grad = adjoint_oracle(&x, &w, out, options(mode, align_corners));
                    for prec in ALL_PRECS {
                        let expected_out = Case::run(&case, &Cx::<Nd>::oracle(prec)).remove(0);
                        let actual = GradCase::run(&case, &Cx::<AM>::mlx(prec));
                        assert_all_close(
                            &format!("{name} [{prec:?}]"),
                            &actual,
                            &[expected_out, expected_grad.clone()],
                            prec.tight_tol(),
                        );
                    }
                }
            }
        }
    }
}

struct Module {
    x: TensorData,
}

impl Module {
    fn outputs<B: Backend>(x: Tensor<B, 4>) -> Vec<Tensor<B, 4>> {
        vec![
            Interpolate2dConfig::new()
                .with_output_size(Some([9, 7]))
                .init()
                .forward(x.clone()),
            Interpolate2dConfig::new()
                .with_scale_factor(Some([2.0, 1.5]))
                .with_mode(NnMode::Linear)
                .init()
                .forward(x.clone()),
            Interpolate2dConfig::new()
                .with_output_size(Some([3, 4]))
                .with_mode(NnMode::Linear)
                .with_align_corners(false)
                .init()
                .forward(x.clone()),
            Interpolate2dConfig::new()
                .with_output_size(Some([8, 11]))
                .with_mode(NnMode::Cubic)
                .init()
                .forward(x.clone()),
            Interpolate2dConfig::new()
                .with_scale_factor(Some([0.5, 0.7]))
                .with_mode(NnMode::Cubic)
                .with_align_corners(false)
                .init()
                .forward(x),
        ]
    }
}

impl Case for Module {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (device, dtype) = (&cx.dev, cx.dtype());
        Module::outputs::<B>(tensor(&self.x, device, dtype))
            .into_iter()
            .map(|t| t.into_data())
            .collect()
    }
}

#[test]
fn burn_interpolate2d_module() {
    let case = Module {
        x: floats_exact([2, 3, 6, 5], 300),
    };
    for prec in ALL_PRECS {
        check_tol("Interpolate2d", prec, prec.tight_tol(), &case);
    }
    // Nearest (the module's default mode) differentiates on both backends.
    struct Nearest(TensorData);
    impl GradCase for Nearest {
        fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
            let (device, dtype) = (&cx.dev, cx.dtype());
            let x = tensor::<B, 4>(&self.0, device, dtype).require_grad();
            let y = Interpolate2dConfig::new()
                .with_output_size(Some([9, 7]))
                .init()
                .forward(x.clone());
            let w = tensor::<B, 4>(&floats_exact(y.dims(), 5), device, dtype);
            vec![grad_of(&x, y, w)]
        }
    }
    check_grad_tol(
        "Interpolate2d nearest backward",
        Prec::F32,
        Prec::F32.tight_tol(),
        &Nearest(floats_exact([2, 3, 6, 5], 301)),
    );
}

#[test]
fn empty_batches_and_channels() {
    for shape in [[0, 3, 4, 5], [2, 0, 4, 5]] {
        for mode in &MODES {
            let case = Interp {
                x: floats_exact(shape, 1),
                out: [7, 3],
                mode: mode.clone(),
                align_corners: false,
                swapped: false,
            };
            check_tol(
                format!("interpolate {mode:?} {shape:?}"),
                Prec::F32,
                Prec::F32.tight_tol(),
                &case,
            );
            if matches!(mode, InterpolateMode::Nearest) {
                check_grad_tol(
                    format!("interpolate {mode:?} backward {shape:?}"),
                    Prec::F32,
                    Prec::F32.tight_tol(),
                    &case,
                );
            } else {
                let actual = GradCase::run(&case, &Cx::<AM>::mlx(Prec::F32));
                assert_eq!(
                    actual[1].shape.as_slice(),
                    shape.as_slice(),
                    "interpolate {mode:?} backward {shape:?}"
                );
            }
        }
    }
}
