//! Shared helpers of the attention / CTC / spectral / embedding / norm tests: deterministic
//! inputs, comparisons with tolerance, and moving a module's weights between backends.
//! (Included with `mod attn_support;`; each test binary uses a subset.)
#![allow(dead_code)]

use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};

pub type Nd = burn_ndarray::NdArray<f32>;
pub type NdAd = burn::backend::Autodiff<Nd>;
pub type Mx = burn_mlx::Mlx;
pub type MxAd = burn_mlx::MlxAutodiff;

/// The MLX device under test: the CPU, or the GPU with `BURN_MLX_TEST_DEVICE=gpu`.
pub fn dev() -> burn_mlx::MlxDevice {
    match std::env::var("BURN_MLX_TEST_DEVICE").as_deref() {
        Ok("gpu") => burn_mlx::MlxDevice::Gpu,
        _ => burn_mlx::MlxDevice::Cpu,
    }
}

pub fn nd_device() -> burn_ndarray::NdArrayDevice {
    burn_ndarray::NdArrayDevice::Cpu
}

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn floats(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi) as f32).collect()
    }

    pub fn bools(&mut self, n: usize, p_true: f64) -> Vec<bool> {
        (0..n).map(|_| self.unit() < p_true).collect()
    }
}

/// Float data of `shape`, uniform in `[-1, 1)`.
pub fn floats(shape: &[usize], seed: u64) -> TensorData {
    let n = shape.iter().product();
    TensorData::new(Rng::new(seed).floats(n, -1.0, 1.0), shape.to_vec())
}

/// Values of a float tensor as f64.
pub fn values(data: &TensorData) -> Vec<f64> {
    data.clone()
        .convert::<f64>()
        .to_vec::<f64>()
        .expect("float data")
}

/// Asserts equal shapes and `|a - b| <= atol + rtol·|b|` everywhere (NaN matches only NaN, an
/// infinity only the same infinity).
pub fn assert_close(what: &str, actual: &TensorData, expected: &TensorData, atol: f64, rtol: f64) {
    assert_eq!(actual.shape, expected.shape, "{what}: shapes differ");
    let (a, e) = (values(actual), values(expected));
    for (i, (x, y)) in a.iter().zip(&e).enumerate() {
        let ok = if y.is_nan() || x.is_nan() {
            x.is_nan() && y.is_nan()
        } else if y.is_infinite() || x.is_infinite() {
            x == y
        } else {
            (x - y).abs() <= atol + rtol * y.abs()
        };
        if !ok {
            panic!(
                "{what}: element {i} differs: got {x}, expected {y} (shape {:?}, atol {atol}, rtol {rtol})\n\
                 got:      {:?}\nexpected: {:?}",
                actual.shape,
                &a[i.saturating_sub(4)..(i + 4).min(a.len())],
                &e[i.saturating_sub(4)..(i + 4).min(e.len())],
            );
        }
    }
}

/// Compares two tensors of any backends.
pub fn assert_tensors_close<B1: Backend, B2: Backend, const D: usize>(
    what: &str,
    actual: Tensor<B1, D>,
    expected: Tensor<B2, D>,
    atol: f64,
    rtol: f64,
) {
    assert_close(what, &actual.into_data(), &expected.into_data(), atol, rtol);
}

/// `src` with its parameters initialized, and `dst` (the same module type on another backend)
/// with the same parameters and buffers. (Burn initializes parameters lazily, and a clone of an
/// uninitialized module initializes separately: hence the returned `src`.)
pub fn transfer<B1: Backend, B2: Backend, M1: Module<B1>, M2: Module<B2>>(
    src: M1,
    dst: M2,
    device: &B2::Device,
) -> (M1, M2) {
    let src = src.clone().load_record(src.into_record());
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    let bytes = Recorder::<B1>::record(&recorder, src.clone().into_record(), ())
        .expect("record the module");
    let record = Recorder::<B2>::load(&recorder, bytes, device).expect("load the record");
    (src, dst.load_record(record))
}

/// The gradients of every float parameter of a module, in visiting order.
struct GradCollector<'a, B: AutodiffBackend> {
    grads: &'a B::Gradients,
    out: Vec<Option<TensorData>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for GradCollector<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.out
            .push(param.val().grad(self.grads).map(|g| g.into_data()));
    }
}

pub fn param_grads<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: &B::Gradients,
) -> Vec<Option<TensorData>> {
    let mut collector = GradCollector::<B> { grads, out: vec![] };
    module.visit(&mut collector);
    collector.out
}

/// Compares the parameter gradients of the same module on two backends.
pub fn assert_param_grads_close(
    what: &str,
    actual: &[Option<TensorData>],
    expected: &[Option<TensorData>],
    atol: f64,
    rtol: f64,
) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{what}: parameter counts differ"
    );
    assert!(!actual.is_empty(), "{what}: the module has no parameters");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        match (a, e) {
            (Some(a), Some(e)) => assert_close(
                &format!("{what}: gradient of parameter {i}"),
                a,
                e,
                atol,
                rtol,
            ),
            (None, None) => {}
            _ => panic!("{what}: parameter {i} has a gradient on one backend only"),
        }
    }
}
