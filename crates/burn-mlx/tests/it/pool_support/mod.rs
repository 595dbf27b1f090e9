//! Differential testing helpers for the pooling, interpolation and grid-sampling tests: run
//! the same computation on `Mlx` and on `NdArray` (the oracle), forward or through `Autodiff`,
//! and compare every output within a tolerance that fits the dtype.
//!
//! Inputs come from a small seeded generator and are multiples of 1/64 in [-4, 4): exactly
//! representable in f16 and bf16 too, so every precision sees the same values (ndarray, which has
//! no half types, runs in f32 on them).
//!
//! Set `BURN_MLX_TEST_DEVICE=gpu` to run the MLX side on the GPU (float64 ops run on MLX's CPU stream there).

#![allow(dead_code)]

pub use burn::tensor::backend::{AutodiffBackend, Backend};
pub use burn::tensor::{DType, Tensor, TensorData};
pub use burn_mlx::{Mlx, MlxDevice};

/// The backend under test and the oracle.
pub type M = Mlx<f32, i32>;
pub type Nd = burn_ndarray::NdArray<f32, i32>;
/// Their trainable versions.
pub type AM = burn_autodiff::Autodiff<M>;
pub type AN = burn_autodiff::Autodiff<Nd>;

/// The device the MLX side runs on.
pub fn mlx_device() -> MlxDevice {
    match std::env::var("BURN_MLX_TEST_DEVICE").as_deref() {
        Ok("gpu") => MlxDevice::Gpu,
        _ => MlxDevice::Cpu,
    }
}

/// SplitMix64: deterministic test inputs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D_4C95_7F2D)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform integer in `lo..hi`.
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo) as u64) as i64
    }

    /// Uniform in [lo, hi).
    pub fn unit_range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// Multiples of 1/64 in [-4, 4).
pub fn floats<const D: usize>(shape: [usize; D], seed: u64) -> TensorData {
    let mut rng = Rng::new(seed);
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.int(-256, 256) as f32 / 64.0).collect();
    TensorData::new(v, shape)
}

/// Values from a few levels only: many ties.
pub fn ties<const D: usize>(shape: [usize; D], seed: u64) -> TensorData {
    let mut rng = Rng::new(seed);
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.int(-1, 3) as f32).collect();
    TensorData::new(v, shape)
}

/// Float precisions under test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Prec {
    F32,
    F64,
    F16,
    BF16,
}

pub const ALL_PRECS: [Prec; 4] = [Prec::F32, Prec::F64, Prec::F16, Prec::BF16];

impl Prec {
    /// The dtype on MLX.
    pub fn dtype(self) -> DType {
        match self {
            Prec::F32 => DType::F32,
            Prec::F64 => DType::F64,
            Prec::F16 => DType::F16,
            Prec::BF16 => DType::BF16,
        }
    }

    /// The dtype on ndarray (no half types there).
    pub fn oracle_dtype(self) -> DType {
        match self {
            Prec::F64 => DType::F64,
            _ => DType::F32,
        }
    }

    /// (relative, absolute) tolerance.
    pub fn tolerance(self) -> (f64, f64) {
        match self {
            Prec::F32 => (1e-5, 1e-5),
            Prec::F64 => (1e-12, 1e-12),
            Prec::F16 => (4e-3, 8e-3),
            Prec::BF16 => (2e-2, 4e-2),
        }
    }
}

/// A computation written once for any backend: float inputs are created in `dtype`.
pub trait Case {
    fn run<B: Backend>(&self, device: &B::Device, dtype: DType) -> Vec<TensorData>;
}

/// A computation through autodiff: outputs and gradients.
pub trait GradCase {
    fn run<B: AutodiffBackend>(&self, device: &B::Device, dtype: DType) -> Vec<TensorData>;
}

/// A float tensor from test data in `dtype`.
pub fn tensor<B: Backend, const D: usize>(
    data: &TensorData,
    device: &B::Device,
    dtype: DType,
) -> Tensor<B, D> {
    Tensor::from_data(data.clone(), (device, dtype))
}

/// `case` on MLX and on ndarray, every output compared.
pub fn check(name: &str, prec: Prec, case: &impl Case) {
    let actual = case.run::<M>(&mlx_device(), prec.dtype());
    let expected = case.run::<Nd>(&Default::default(), prec.oracle_dtype());
    compare_all(name, prec, &actual, &expected);
}

/// `case` through `Autodiff<Mlx>` and `Autodiff<NdArray>`, every output compared.
pub fn check_grad(name: &str, prec: Prec, case: &impl GradCase) {
    let actual = case.run::<AM>(&mlx_device(), prec.dtype());
    let expected = case.run::<AN>(&Default::default(), prec.oracle_dtype());
    compare_all(name, prec, &actual, &expected);
}

pub fn compare_all(name: &str, prec: Prec, actual: &[TensorData], expected: &[TensorData]) {
    assert_eq!(actual.len(), expected.len(), "{name}: number of outputs");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert_close(
            &format!("{name} [{prec:?}] output {i}"),
            a,
            e,
            prec.tolerance(),
        );
    }
}

/// Values as f64 (ints too).
pub fn values(data: &TensorData) -> Vec<f64> {
    data.clone()
        .convert::<f64>()
        .to_vec::<f64>()
        .expect("numeric data")
}

/// Same shape; ints equal; floats within `atol + rtol * |expected|` (NaN matches NaN, infinities
/// match by sign).
pub fn assert_close(
    name: &str,
    actual: &TensorData,
    expected: &TensorData,
    (rtol, atol): (f64, f64),
) {
    assert_eq!(actual.shape, expected.shape, "{name}: shapes differ");
    let int = !actual.dtype.is_float() || !expected.dtype.is_float();
    if int {
        assert_eq!(
            actual.dtype.is_float(),
            expected.dtype.is_float(),
            "{name}: int vs float output"
        );
    }
    let (a, e) = (values(actual), values(expected));
    let mut worst: Option<(usize, f64)> = None;
    for (i, (x, y)) in a.iter().zip(&e).enumerate() {
        let ok = if int {
            x == y
        } else if x.is_nan() || y.is_nan() {
            x.is_nan() && y.is_nan()
        } else if x.is_infinite() || y.is_infinite() {
            x == y
        } else {
            (x - y).abs() <= atol + rtol * y.abs()
        };
        if !ok {
            let err = if x.is_finite() && y.is_finite() {
                (x - y).abs()
            } else {
                f64::INFINITY
            };
            if worst.is_none_or(|(_, w)| err > w) {
                worst = Some((i, err));
            }
        }
    }
    if let Some((i, _)) = worst {
        let bad = a
            .iter()
            .zip(&e)
            .filter(|(x, y)| !(x == y || (x.is_nan() && y.is_nan())))
            .count();
        panic!(
            "{name}: {bad} of {} values differ; worst at flat index {i}: got {}, expected {}\n got: {:?}\nexpected: {:?}",
            a.len(),
            a[i],
            e[i],
            &a[..a.len().min(64)],
            &e[..e.len().min(64)]
        );
    }
}

/// `(output * weight).sum()` backward: the gradient of `x` for output gradient `weight`.
pub fn grad_of<B: AutodiffBackend, const D: usize, const E: usize>(
    x: &Tensor<B, D>,
    output: Tensor<B, E>,
    weight: Tensor<B, E>,
) -> TensorData {
    let grads = (output * weight).sum().backward();
    x.grad(&grads)
        .expect("x takes part in the loss")
        .into_data()
}
