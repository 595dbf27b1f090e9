//! Differential harness for the convolution tests: deterministic inputs, the same op on `Mlx`
//! and on `NdArray` (forward), and on `Autodiff<Mlx>` and `Autodiff<NdArray>` (gradients),
//! compared within a tolerance that fits the dtype.
//!
//! Used by `tests/conv.rs` as a module; compiled on its own too (as an empty test crate).

#![allow(dead_code)]

use burn::backend::Autodiff;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{DType, Tensor, TensorData};
use burn_mlx::{Mlx, MlxDevice};
use burn_ndarray::NdArray;

pub type M = Mlx;
pub type N = NdArray<f32>;
pub type AM = Autodiff<Mlx>;
pub type AN = Autodiff<NdArray<f32>>;

/// The MLX device under test: the CPU, or the GPU with `BURN_MLX_TEST_DEVICE=gpu`.
pub fn mlx_device() -> MlxDevice {
    match std::env::var("BURN_MLX_TEST_DEVICE").as_deref() {
        Ok("gpu") => MlxDevice::Gpu,
        _ => MlxDevice::Cpu,
    }
}

/// A small deterministic generator (64-bit LCG, high bits).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407))
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let unit = (self.0 >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * unit
    }

    /// Float32 data of `shape`, uniform in `[lo, hi)`.
    pub fn data(&mut self, shape: &[usize], lo: f32, hi: f32) -> TensorData {
        let n = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|_| self.uniform(lo, hi)).collect();
        TensorData::new(values, shape.to_vec())
    }
}

/// The dtype under test on MLX, what the reference computes in, and how close they must be.
#[derive(Clone, Copy, Debug)]
pub struct Prec {
    pub dtype: DType,
    /// The reference's dtype: the same, or float32 where ndarray lacks the dtype.
    pub reference: DType,
    /// Largest error allowed, relative to the largest magnitude of the expected tensor.
    pub tol: f32,
}

pub const F32: Prec = Prec {
    dtype: DType::F32,
    reference: DType::F32,
    tol: 1e-4,
};
pub const F64: Prec = Prec {
    dtype: DType::F64,
    reference: DType::F64,
    tol: 1e-9,
};
pub const F16: Prec = Prec {
    dtype: DType::F16,
    reference: DType::F32,
    tol: 2e-2,
};
pub const BF16: Prec = Prec {
    dtype: DType::BF16,
    reference: DType::F32,
    tol: 6e-2,
};

impl Prec {
    /// `data` rounded to the tested dtype, so that both backends see the same values.
    pub fn round(&self, data: TensorData) -> TensorData {
        data.convert_dtype(self.dtype).convert_dtype(DType::F64)
    }
}

/// A tensor of `dtype` on `device` from (float64) data.
pub fn tensor<B: Backend, const D: usize>(
    data: &TensorData,
    dtype: DType,
    device: &B::Device,
) -> Tensor<B, D> {
    Tensor::from_data(data.clone(), (device, dtype))
}

/// Panics unless `actual` and `expected` have the same shape and every element is within
/// `tol * max(1, max |expected|)` of the expected one.
pub fn assert_close(what: &str, actual: TensorData, expected: TensorData, tol: f32) {
    assert_eq!(actual.shape, expected.shape, "{what}: shapes differ");
    let shape = actual.shape.clone();
    let a = actual.convert_dtype(DType::F64).to_vec::<f64>().unwrap();
    let e = expected.convert_dtype(DType::F64).to_vec::<f64>().unwrap();
    let scale = e.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let (mut worst, mut at) = (0.0f64, 0);
    for (i, (x, y)) in a.iter().zip(&e).enumerate() {
        let err = if x.is_nan() || y.is_nan() {
            f64::INFINITY
        } else {
            (x - y).abs()
        };
        if err > worst {
            (worst, at) = (err, i);
        }
    }
    assert!(
        worst <= f64::from(tol) * scale,
        "{what}: element {at} is {} but should be {} (error {worst:e}, allowed {:e}; shape {:?})",
        a[at],
        e[at],
        f64::from(tol) * scale,
        shape
    );
}

/// An op of an input, a weight and an optional bias, written once for every backend.
pub trait Op<const D: usize> {
    fn run<B: Backend>(
        &self,
        x: Tensor<B, D>,
        w: Tensor<B, D>,
        b: Option<Tensor<B, 1>>,
    ) -> Tensor<B, D>;
}

/// A grouped (transposed) convolution as one ungrouped `f` per group, concatenated: the
/// reference for grouped 1-D convolutions. burn-backend 0.21's default weight gradient of
/// grouped 1-D convolutions (which burn-ndarray uses) panics when the stride leaves input
/// elements unused: unlike its 2-D and 3-D siblings, it assigns the larger per-group gradient
/// without cropping it to the kernel.
///
/// The weight is split along its first axis: `C_out` for convolutions, `C_in` for transposed
/// ones (`[C_in, C_out / groups, *K]`).
pub fn by_groups<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    w: Tensor<B, D>,
    b: Option<Tensor<B, 1>>,
    groups: usize,
    f: impl Fn(Tensor<B, D>, Tensor<B, D>, Option<Tensor<B, 1>>) -> Tensor<B, D>,
) -> Tensor<B, D> {
    let cin = x.dims()[1] / groups;
    let wpart = w.dims()[0] / groups;
    let parts: Vec<Tensor<B, D>> = (0..groups)
        .map(|g| {
            f(
                x.clone().narrow(1, g * cin, cin),
                w.clone().narrow(0, g * wpart, wpart),
                None,
            )
        })
        .collect();
    let y = Tensor::cat(parts, 1);
    match b {
        Some(b) => {
            let mut shape = [1; D];
            shape[1] = b.dims()[0];
            y + b.reshape(shape)
        }
        None => y,
    }
}

/// How the inputs are laid out in memory before the op sees them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Layout {
    /// Contiguous tensors, straight from data.
    Plain,
    /// Views: `x` and `w` built with their first two axes exchanged, then swapped back.
    Swapped,
}

fn input<B: Backend, const D: usize>(
    data: &TensorData,
    dtype: DType,
    device: &B::Device,
    layout: Layout,
) -> Tensor<B, D> {
    match layout {
        Layout::Plain => tensor(data, dtype, device),
        Layout::Swapped => {
            let t: Tensor<B, D> = tensor(data, dtype, device);
            let swapped = Tensor::<B, D>::from_data(t.swap_dims(0, 1).into_data(), (device, dtype));
            swapped.swap_dims(0, 1)
        }
    }
}

struct Outputs {
    y: TensorData,
    gx: TensorData,
    gw: TensorData,
    gb: Option<TensorData>,
}

#[allow(clippy::too_many_arguments)]
fn run_autodiff<B: AutodiffBackend, const D: usize, O: Op<D>>(
    op: &O,
    xd: &TensorData,
    wd: &TensorData,
    bd: Option<&TensorData>,
    gd: &TensorData,
    dtype: DType,
    device: &B::Device,
    layout: Layout,
) -> Outputs {
    let x = input::<B, D>(xd, dtype, device, layout).require_grad();
    let w = input::<B, D>(wd, dtype, device, layout).require_grad();
    let b = bd.map(|d| tensor::<B, 1>(d, dtype, device).require_grad());
    let y = op.run(x.clone(), w.clone(), b.clone());
    let loss = (y.clone() * tensor::<B, D>(gd, dtype, device)).sum();
    let grads = loss.backward();
    Outputs {
        y: y.into_data(),
        gx: x.grad(&grads).expect("x gradient").into_data(),
        gw: w.grad(&grads).expect("weight gradient").into_data(),
        gb: b.map(|b| b.grad(&grads).expect("bias gradient").into_data()),
    }
}

/// One differential test of `op`: forward on `Mlx` vs `NdArray`, then forward and the `x`,
/// weight and bias gradients on the autodiff backends, for the loss `sum(y * g)` with a random
/// `g`.
#[allow(clippy::too_many_arguments)]
pub fn check<const D: usize, O: Op<D>>(
    what: &str,
    op: &O,
    x_shape: [usize; D],
    w_shape: [usize; D],
    bias: Option<usize>,
    prec: Prec,
    layout: Layout,
    seed: u64,
) {
    check_against(what, op, op, x_shape, w_shape, bias, prec, layout, seed)
}

/// [`check`] with `op` on MLX and `reference` (an equivalent composition) on ndarray.
#[allow(clippy::too_many_arguments)]
pub fn check_against<const D: usize, O: Op<D>, R: Op<D>>(
    what: &str,
    op: &O,
    reference: &R,
    x_shape: [usize; D],
    w_shape: [usize; D],
    bias: Option<usize>,
    prec: Prec,
    layout: Layout,
    seed: u64,
) {
    eprintln!("checking {what}");
    let mut rng = Rng::new(seed);
    let xd = prec.round(rng.data(&x_shape, -1.0, 1.0));
    let wd = prec.round(rng.data(&w_shape, -1.0, 1.0));
    let bd = bias.map(|n| prec.round(rng.data(&[n], -1.0, 1.0)));
    let (dm, dn) = (mlx_device(), Default::default());

    let ym = op.run::<M>(
        input(&xd, prec.dtype, &dm, layout),
        input(&wd, prec.dtype, &dm, layout),
        bd.as_ref().map(|d| tensor(d, prec.dtype, &dm)),
    );
    let yn = reference.run::<N>(
        tensor(&xd, prec.reference, &dn),
        tensor(&wd, prec.reference, &dn),
        bd.as_ref().map(|d| tensor(d, prec.reference, &dn)),
    );
    assert_eq!(ym.dtype(), prec.dtype, "{what}: output dtype");
    let gd = prec.round(rng.data(&yn.dims(), -1.0, 1.0));
    assert_close(
        &format!("{what}: forward"),
        ym.into_data(),
        yn.into_data(),
        prec.tol,
    );

    let m = run_autodiff::<AM, D, O>(op, &xd, &wd, bd.as_ref(), &gd, prec.dtype, &dm, layout);
    let n = run_autodiff::<AN, D, R>(
        reference,
        &xd,
        &wd,
        bd.as_ref(),
        &gd,
        prec.reference,
        &dn,
        Layout::Plain,
    );
    assert_close(&format!("{what}: autodiff forward"), m.y, n.y, prec.tol);
    assert_close(&format!("{what}: x gradient"), m.gx, n.gx, prec.tol);
    assert_close(&format!("{what}: weight gradient"), m.gw, n.gw, prec.tol);
    if let (Some(a), Some(e)) = (m.gb, n.gb) {
        assert_close(&format!("{what}: bias gradient"), a, e, prec.tol);
    }
}
