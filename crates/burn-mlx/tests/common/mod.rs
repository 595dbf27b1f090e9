//! The differential test harness: the same computation on `Mlx` and on `NdArray` (the oracle),
//! compared within a tolerance that fits the dtype.
//!
//! - Inputs come from a small seeded generator ([`Rng`], [`floats`], [`ints`], [`bools`]), never
//!   from either backend's RNG.
//! - A test body is written once, generic over the backend, with [`case!`] (forward values) or
//!   [`grad_case!`] (through `Autodiff`, values and gradients). [`check`] / [`check_grad`] run it
//!   on both backends and compare every output.
//! - [`Cx`] builds the inputs of one run: float inputs take the precision under test ([`Prec`]);
//!   F16 and BF16 run as such on MLX and in f32 on ndarray (which has neither), on identical
//!   (rounded) values. [`Layout`] makes the same logical input through a non-contiguous view.
//! - [`float_fn!`] / [`float_fn2!`] and the `sweep_*` functions run a float op over the shape
//!   lists ([`SHAPES`], [`BROADCAST_PAIRS`], [`EMPTY_SHAPES`]) and every layout.
//!
//! ```ignore
//! mod common;
//! use common::*;
//!
//! let x = floats([3, 4], 1);
//! check("exp", Prec::F32, &case!(x: TensorData = x; |B, cx| rf::<B>(B::float_exp(cx.f(&x)))));
//! sweep_unary("exp", &float_fn!(|B, x| B::float_exp(x)), &floats_gen(-3.0, 3.0), &ALL_PRECS);
//! ```
//!
//! Set `BURN_MLX_TEST_DEVICE=gpu` to run the MLX side on the GPU (float64 ops run on MLX's CPU stream there).

#![allow(dead_code, unused_macros, unused_imports)]

use std::fmt::Display;
use std::panic::{AssertUnwindSafe, catch_unwind};

pub use burn::tensor::{Bool, Int, Tensor, TensorPrimitive};
pub use burn_backend::ops::{
    ActivationOps, BoolTensorOps, FloatTensorOps, IntTensorOps, ModuleOps, TransactionOps,
};
pub use burn_backend::tensor::{BoolTensor, FloatTensor, IndexingUpdateOp, IntTensor};
pub use burn_backend::{
    AutodiffBackend, Backend, BoolDType, BoolStore, DType, Distribution, FloatDType, IntDType,
    Scalar, Shape, Slice, TensorData, TensorMetadata,
};
pub use burn_mlx::{Mlx, MlxDevice};

/// The backend under test.
pub type M = Mlx<f32, i32>;
/// The oracle, with the same default element types.
pub type Nd = burn_ndarray::NdArray<f32, i32>;
/// Trainable versions of both.
pub type AM = burn_autodiff::Autodiff<M>;
pub type AN = burn_autodiff::Autodiff<Nd>;

/// Bool dtype as both backends store it.
pub const BOOL: DType = DType::Bool(BoolStore::Native);
/// Burn's bool dtype argument.
pub const BOOL_OUT: BoolDType = BoolStore::Native;

// ---- deterministic inputs -------------------------------------------------------------------

/// SplitMix64: a tiny deterministic generator for test inputs.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in [lo, hi).
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(hi > lo, "empty integer range {lo}..{hi}");
        lo + (self.next_u64() % (hi - lo) as u64) as i64
    }
}

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// f32 values uniform in [-3, 3).
pub fn floats<S: AsRef<[usize]>>(shape: S, seed: u64) -> TensorData {
    floats_in(shape, seed, -3.0, 3.0)
}

/// f32 values uniform in [lo, hi).
pub fn floats_in<S: AsRef<[usize]>>(shape: S, seed: u64, lo: f64, hi: f64) -> TensorData {
    let shape = shape.as_ref();
    let mut rng = Rng::new(seed);
    let v: Vec<f32> = (0..numel(shape))
        .map(|_| rng.range(lo, hi) as f32)
        .collect();
    TensorData::new(v, shape.to_vec())
}

/// f32 values from a list of choices (ties, edge values), picked at random.
pub fn floats_from<S: AsRef<[usize]>>(shape: S, seed: u64, choices: &[f32]) -> TensorData {
    let shape = shape.as_ref();
    let mut rng = Rng::new(seed);
    let v: Vec<f32> = (0..numel(shape))
        .map(|_| choices[rng.int(0, choices.len() as i64) as usize])
        .collect();
    TensorData::new(v, shape.to_vec())
}

/// Integers uniform in [lo, hi), stored as `dtype`.
pub fn ints<S: AsRef<[usize]>>(shape: S, seed: u64, lo: i64, hi: i64, dtype: DType) -> TensorData {
    let shape = shape.as_ref();
    let mut rng = Rng::new(seed);
    let v: Vec<i64> = (0..numel(shape)).map(|_| rng.int(lo, hi)).collect();
    TensorData::new(v, shape.to_vec()).convert_dtype(dtype)
}

/// Booleans, true with probability 1/2.
pub fn bools<S: AsRef<[usize]>>(shape: S, seed: u64) -> TensorData {
    let shape = shape.as_ref();
    let mut rng = Rng::new(seed);
    let v: Vec<bool> = (0..numel(shape)).map(|_| rng.next_u64() & 1 == 1).collect();
    TensorData::new(v, shape.to_vec())
}

/// A generator of float inputs for the sweeps.
pub type Gen = dyn Fn(&[usize], u64) -> TensorData;

/// Uniform floats in [lo, hi) as a [`Gen`].
pub fn floats_gen(lo: f64, hi: f64) -> impl Fn(&[usize], u64) -> TensorData {
    move |shape, seed| floats_in(shape, seed, lo, hi)
}

// ---- shapes -------------------------------------------------------------------------------

/// Shapes every element-wise op is swept over: ranks 1 to 4, size-1 dims, odd sizes (vector
/// tails).
pub const SHAPES: &[&[usize]] = &[
    &[1],
    &[6],
    &[33],
    &[1, 1],
    &[3, 4],
    &[4, 1],
    &[5, 17],
    &[2, 3, 4],
    &[2, 1, 3],
    &[1, 2, 3, 2],
];

/// Shapes with an empty dimension.
pub const EMPTY_SHAPES: &[&[usize]] = &[&[0], &[3, 0], &[0, 2, 2]];

/// Operand shapes of binary ops: equal, broadcasting one side, both sides, size-1 everywhere.
pub const BROADCAST_PAIRS: &[(&[usize], &[usize])] = &[
    (&[7], &[7]),
    (&[1], &[5]),
    (&[3, 4], &[3, 4]),
    (&[3, 4], &[1, 4]),
    (&[3, 1], &[1, 4]),
    (&[4, 1], &[4, 3]),
    (&[2, 3, 4], &[2, 1, 4]),
    (&[1, 1, 1], &[2, 3, 4]),
    (&[2, 1, 5], &[1, 3, 1]),
    (&[2, 3, 1, 2], &[1, 3, 4, 2]),
];

/// The shape both operands of a broadcasting binary op produce.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Vec<usize> {
    a.iter()
        .zip(b)
        .map(|(x, y)| if *x == 1 { *y } else { *x })
        .collect()
}

// ---- precision and tolerance ----------------------------------------------------------------

/// The float precision a case runs at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prec {
    F32,
    F16,
    BF16,
    F64,
}

pub const ALL_PRECS: [Prec; 4] = [Prec::F32, Prec::F16, Prec::BF16, Prec::F64];
pub const F32_ONLY: [Prec; 1] = [Prec::F32];

impl Prec {
    /// The float dtype MLX runs with.
    pub fn dtype(self) -> DType {
        match self {
            Prec::F32 => DType::F32,
            Prec::F16 => DType::F16,
            Prec::BF16 => DType::BF16,
            Prec::F64 => DType::F64,
        }
    }

    /// The float dtype the oracle runs with (ndarray has no F16/BF16).
    pub fn oracle_dtype(self) -> DType {
        match self {
            Prec::F16 | Prec::BF16 => DType::F32,
            p => p.dtype(),
        }
    }

    pub fn is_half(self) -> bool {
        matches!(self, Prec::F16 | Prec::BF16)
    }

    /// The default tolerance of a single op's result at this precision.
    pub fn tol(self) -> Tol {
        match self {
            Prec::F32 => Tol::new(1e-4, 1e-5),
            Prec::F64 => Tol::new(1e-10, 1e-12),
            Prec::F16 => Tol::new(1e-2, 1e-2),
            Prec::BF16 => Tol::new(3e-2, 3e-2),
        }
    }

    /// Rounds f32/f64 values to this precision (as MLX will see them).
    pub fn round(self, data: &TensorData) -> TensorData {
        data.clone().convert_dtype(self.dtype())
    }
}

/// `|got - want| <= abs + rel * |want|`, element-wise.
#[derive(Clone, Copy, Debug)]
pub struct Tol {
    pub rel: f64,
    pub abs: f64,
}

impl Tol {
    pub const fn new(rel: f64, abs: f64) -> Self {
        Tol { rel, abs }
    }

    /// This tolerance scaled by `k` (for chains of ops, gradients, long reductions).
    pub fn times(self, k: f64) -> Self {
        Tol {
            rel: self.rel * k,
            abs: self.abs * k,
        }
    }
}

// ---- running on a backend ------------------------------------------------------------------

/// The MLX device the tests run on (`BURN_MLX_TEST_DEVICE=gpu` for the GPU).
pub fn mlx_device() -> MlxDevice {
    match std::env::var("BURN_MLX_TEST_DEVICE").as_deref() {
        Ok("gpu") => MlxDevice::Gpu,
        _ => MlxDevice::Cpu,
    }
}

/// One run's context: the device, the precision under test, and whether this is the oracle.
pub struct Cx<B: Backend> {
    pub dev: B::Device,
    pub prec: Prec,
    pub oracle: bool,
}

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
    fn plan(self, data: &TensorData) -> (TensorData, Vec<Step>) {
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

macro_rules! apply_steps {
    ($B:ty, $t:expr, $steps:expr, $swap:ident, $permute:ident, $slice:ident) => {{
        let mut t = $t;
        for step in $steps {
            t = match step {
                Step::Swap(a, b) => <$B>::$swap(t, a, b),
                Step::Permute(axes) => <$B>::$permute(t, &axes),
                Step::Slice(s) => <$B>::$slice(t, &s),
            };
        }
        t
    }};
}

impl<B: Backend> Cx<B> {
    /// The float dtype of this run.
    pub fn fdtype(&self) -> FloatDType {
        if self.oracle {
            self.prec.oracle_dtype().into()
        } else {
            self.prec.dtype().into()
        }
    }

    /// The float dtype of this run as a `DType`.
    pub fn dtype(&self) -> DType {
        self.fdtype().into()
    }

    /// Float data as this run sees it: rounded to the precision under test, then in the run's
    /// dtype.
    pub fn fdata(&self, data: &TensorData) -> TensorData {
        self.prec.round(data).convert_dtype(self.dtype())
    }

    /// A float tensor of `data` at the precision under test.
    pub fn f(&self, data: &TensorData) -> FloatTensor<B> {
        B::float_from_data(self.fdata(data), &self.dev)
    }

    /// The layout an input really takes in this run: the oracle always gets contiguous data
    /// (views only matter for the backend under test, and ndarray mishandles some of them).
    pub fn layout(&self, layout: Layout) -> Layout {
        if self.oracle {
            Layout::Contiguous
        } else {
            layout
        }
    }

    /// A float tensor of `data`, reached through `layout`.
    pub fn fl(&self, data: &TensorData, layout: Layout) -> FloatTensor<B> {
        let (stored, steps) = self.layout(layout).plan(&self.fdata(data));
        apply_steps!(
            B,
            B::float_from_data(stored, &self.dev),
            steps,
            float_swap_dims,
            float_permute,
            float_slice
        )
    }

    /// An int tensor of `data` (its dtype as given).
    pub fn i(&self, data: &TensorData) -> IntTensor<B> {
        B::int_from_data(data.clone(), &self.dev)
    }

    pub fn il(&self, data: &TensorData, layout: Layout) -> IntTensor<B> {
        let (stored, steps) = self.layout(layout).plan(data);
        apply_steps!(
            B,
            B::int_from_data(stored, &self.dev),
            steps,
            int_swap_dims,
            int_permute,
            int_slice
        )
    }

    /// A bool tensor of `data`.
    pub fn b(&self, data: &TensorData) -> BoolTensor<B> {
        B::bool_from_data(data.clone(), &self.dev)
    }

    pub fn bl(&self, data: &TensorData, layout: Layout) -> BoolTensor<B> {
        let (stored, steps) = self.layout(layout).plan(data);
        apply_steps!(
            B,
            B::bool_from_data(stored, &self.dev),
            steps,
            bool_swap_dims,
            bool_permute,
            bool_slice
        )
    }

    /// Tensor-API versions.
    pub fn ft<const D: usize>(&self, data: &TensorData) -> Tensor<B, D> {
        assert_eq!(data.shape.num_dims(), D, "rank of the data");
        Tensor::from_primitive(TensorPrimitive::Float(self.f(data)))
    }

    pub fn it<const D: usize>(&self, data: &TensorData) -> Tensor<B, D, Int> {
        assert_eq!(data.shape.num_dims(), D, "rank of the data");
        Tensor::from_primitive(self.i(data))
    }

    pub fn bt<const D: usize>(&self, data: &TensorData) -> Tensor<B, D, Bool> {
        assert_eq!(data.shape.num_dims(), D, "rank of the data");
        Tensor::from_primitive(self.b(data))
    }
}

impl<B: AutodiffBackend> Cx<B> {
    /// A float leaf that requires a gradient.
    pub fn fg(&self, data: &TensorData) -> FloatTensor<B> {
        B::float_set_require_grad(self.f(data), true)
    }

    /// A float leaf that requires a gradient, stored so that `layout` views it (see
    /// [`Cx::layout`]), and that view. [`Cx::grad_l`] reads the leaf's gradient back through the
    /// same view, so both backends' gradients compare in the logical layout.
    pub fn fgl(&self, data: &TensorData, layout: Layout) -> (Leaf<B>, FloatTensor<B>) {
        let (stored, steps) = self.layout(layout).plan(&self.fdata(data));
        let tensor = B::float_set_require_grad(B::float_from_data(stored, &self.dev), true);
        let view = apply_steps!(
            B,
            tensor.clone(),
            steps.clone(),
            float_swap_dims,
            float_permute,
            float_slice
        );
        (Leaf { tensor, steps }, view)
    }

    /// The gradient of a [`Cx::fgl`] leaf, through the leaf's view.
    pub fn grad_l(&self, leaf: &Leaf<B>, grads: &B::Gradients) -> TensorData {
        match B::grad(&leaf.tensor, grads) {
            Some(g) => {
                let g = apply_steps!(
                    B::InnerBackend,
                    g,
                    leaf.steps.clone(),
                    float_swap_dims,
                    float_permute,
                    float_slice
                );
                rf::<B::InnerBackend>(g)
            }
            None => {
                let view = apply_steps!(
                    B,
                    leaf.tensor.clone(),
                    leaf.steps.clone(),
                    float_swap_dims,
                    float_permute,
                    float_slice
                );
                TensorData::zeros::<f32, _>(view.shape()).convert_dtype(self.dtype())
            }
        }
    }

    /// Backward pass of `sum(y * w)` with seeded weights `w` (so every output element gets a
    /// different upstream gradient).
    pub fn backward(&self, y: FloatTensor<B>, seed: u64) -> B::Gradients {
        let shape = y.shape();
        let w = self.f(&floats_in(shape.as_slice(), seed ^ 0x5EED, -1.0, 1.0));
        B::backward(B::float_sum(B::float_mul(y, w)))
    }

    /// The gradient of `x` (panics when `x` got none).
    pub fn grad(&self, x: &FloatTensor<B>, grads: &B::Gradients) -> TensorData {
        let g = B::grad(x, grads).expect("the input has no gradient");
        rf::<B::InnerBackend>(g)
    }

    /// The gradient of `x`, or zeros of its shape when it got none.
    pub fn grad_or_zeros(&self, x: &FloatTensor<B>, grads: &B::Gradients) -> TensorData {
        match B::grad(x, grads) {
            Some(g) => rf::<B::InnerBackend>(g),
            None => TensorData::zeros::<f32, _>(x.shape()).convert_dtype(self.dtype()),
        }
    }
}

/// A gradient leaf made by [`Cx::fgl`].
pub struct Leaf<B: Backend> {
    pub tensor: FloatTensor<B>,
    steps: Vec<Step>,
}

/// Reads a float tensor.
pub fn rf<B: Backend>(t: FloatTensor<B>) -> TensorData {
    burn_backend::read_sync(B::float_into_data(t)).expect("reading a float tensor")
}

/// Reads an int tensor.
pub fn ri<B: Backend>(t: IntTensor<B>) -> TensorData {
    burn_backend::read_sync(B::int_into_data(t)).expect("reading an int tensor")
}

/// Reads a bool tensor.
pub fn rb<B: Backend>(t: BoolTensor<B>) -> TensorData {
    burn_backend::read_sync(B::bool_into_data(t)).expect("reading a bool tensor")
}

// ---- host-side layout helpers (byte-level, any dtype) ------------------------------------

fn strides(shape: &[usize]) -> Vec<usize> {
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

// ---- cases ------------------------------------------------------------------------------

/// A computation written once for every backend; returns the values to compare.
pub trait Case {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData>;
}

/// A computation through autodiff; returns values and gradients to compare.
pub trait GradCase {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData>;
}

/// What a case may return: data, tensors, and tuples or vectors of them.
pub trait Outputs {
    fn collect_into(self, out: &mut Vec<TensorData>);
}

impl Outputs for TensorData {
    fn collect_into(self, out: &mut Vec<TensorData>) {
        out.push(self);
    }
}

impl<T: Outputs> Outputs for Vec<T> {
    fn collect_into(self, out: &mut Vec<TensorData>) {
        for t in self {
            t.collect_into(out);
        }
    }
}

impl<B: Backend, const D: usize, K: burn_backend::tensor::BasicOps<B>> Outputs for Tensor<B, D, K>
where
    K::Elem: burn_backend::Element,
{
    fn collect_into(self, out: &mut Vec<TensorData>) {
        out.push(self.into_data());
    }
}

macro_rules! tuple_outputs {
    ($($t:ident),+) => {
        impl<$($t: Outputs),+> Outputs for ($($t,)+) {
            #[allow(non_snake_case)]
            fn collect_into(self, out: &mut Vec<TensorData>) {
                let ($($t,)+) = self;
                $($t.collect_into(out);)+
            }
        }
    };
}
tuple_outputs!(A);
tuple_outputs!(A, B2);
tuple_outputs!(A, B2, C);
tuple_outputs!(A, B2, C, D2);
tuple_outputs!(A, B2, C, D2, E);

/// Flattens a case's result.
pub fn outputs(o: impl Outputs) -> Vec<TensorData> {
    let mut out = vec![];
    o.collect_into(&mut out);
    out
}

/// A forward [`Case`]: `case!(name: Type = value, ...; |B, cx| body)`. The captures are cloned
/// into each run; the body is generic over the backend `B` and returns [`Outputs`].
macro_rules! case {
    (|$B:ident, $cx:ident| $body:expr) => {
        case!(; |$B, $cx| $body)
    };
    ($($cap:ident : $ty:ty = $val:expr),* ; |$B:ident, $cx:ident| $body:expr) => {{
        struct __Case {
            $($cap: $ty),*
        }
        impl $crate::common::Case for __Case {
            #[allow(unused_variables, clippy::redundant_clone)]
            fn run<$B: burn_backend::Backend>(&self, $cx: &$crate::common::Cx<$B>) -> Vec<burn_backend::TensorData> {
                $(let $cap: $ty = ::core::clone::Clone::clone(&self.$cap);)*
                $crate::common::outputs($body)
            }
        }
        __Case { $($cap: $val),* }
    }};
}
pub(crate) use case;

/// A [`GradCase`]: like [`case!`], with `B: AutodiffBackend`.
macro_rules! grad_case {
    (|$B:ident, $cx:ident| $body:expr) => {
        grad_case!(; |$B, $cx| $body)
    };
    ($($cap:ident : $ty:ty = $val:expr),* ; |$B:ident, $cx:ident| $body:expr) => {{
        struct __Case {
            $($cap: $ty),*
        }
        impl $crate::common::GradCase for __Case {
            #[allow(unused_variables, clippy::redundant_clone)]
            fn run<$B: burn_backend::AutodiffBackend>(&self, $cx: &$crate::common::Cx<$B>) -> Vec<burn_backend::TensorData> {
                $(let $cap: $ty = ::core::clone::Clone::clone(&self.$cap);)*
                $crate::common::outputs($body)
            }
        }
        __Case { $($cap: $val),* }
    }};
}
pub(crate) use grad_case;

/// Runs a case on MLX and on the oracle.
pub fn run_both<C: Case>(prec: Prec, case: &C) -> (Vec<TensorData>, Vec<TensorData>) {
    let mlx = case.run(&Cx::<M> {
        dev: mlx_device(),
        prec,
        oracle: false,
    });
    let nd = case.run(&Cx::<Nd> {
        dev: Default::default(),
        prec,
        oracle: true,
    });
    (mlx, nd)
}

/// Runs a gradient case on `Autodiff<Mlx>` and `Autodiff<NdArray>`.
pub fn run_both_grad<C: GradCase>(prec: Prec, case: &C) -> (Vec<TensorData>, Vec<TensorData>) {
    let mlx = case.run(&Cx::<AM> {
        dev: mlx_device(),
        prec,
        oracle: false,
    });
    let nd = case.run(&Cx::<AN> {
        dev: Default::default(),
        prec,
        oracle: true,
    });
    (mlx, nd)
}

/// Runs `case` on both backends at `prec` and compares every output (skips precisions the MLX
/// device lacks).
pub fn check<C: Case>(label: impl Display, prec: Prec, case: &C) {
    check_tol(label, prec, prec.tol(), case)
}

/// [`check`] with an explicit tolerance.
pub fn check_tol<C: Case>(label: impl Display, prec: Prec, tol: Tol, case: &C) {
    let (got, want) = run_both(prec, case);
    assert_outputs(&format!("{label} [{prec:?}]"), prec, tol, &got, &want);
}

/// [`check`] at every precision of `precs`.
pub fn check_precs<C: Case>(label: impl Display, precs: &[Prec], case: &C) {
    for &p in precs {
        check(&label, p, case);
    }
}

/// Runs a gradient case on both autodiff backends and compares values and gradients.
pub fn check_grad<C: GradCase>(label: impl Display, prec: Prec, case: &C) {
    check_grad_tol(label, prec, prec.tol().times(4.0), case)
}

pub fn check_grad_tol<C: GradCase>(label: impl Display, prec: Prec, tol: Tol, case: &C) {
    let (got, want) = run_both_grad(prec, case);
    assert_outputs(
        &format!("{label} [{prec:?}, autodiff]"),
        prec,
        tol,
        &got,
        &want,
    );
}

/// Runs a case on MLX only (for ops without an oracle: random sampling, device checks).
pub fn run_mlx<C: Case>(prec: Prec, case: &C) -> Vec<TensorData> {
    case.run(&Cx::<M> {
        dev: mlx_device(),
        prec,
        oracle: false,
    })
}

// ---- comparison ------------------------------------------------------------------------

/// Compares MLX's outputs with the oracle's.
pub fn assert_outputs(label: &str, prec: Prec, tol: Tol, got: &[TensorData], want: &[TensorData]) {
    assert_eq!(got.len(), want.len(), "{label}: number of outputs");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let label = if got.len() > 1 {
            format!("{label} output {i}")
        } else {
            label.to_string()
        };
        assert_dtype(&label, prec, g.dtype, w.dtype);
        assert_data_close(&label, g, w, tol);
    }
}

fn assert_dtype(label: &str, prec: Prec, got: DType, want: DType) {
    let ok = if want.is_float() {
        // The oracle computes F16/BF16 cases in F32.
        got == want || (prec.is_half() && want == DType::F32 && got == prec.dtype())
    } else if want.is_bool() {
        got.is_bool()
    } else {
        got == want
    };
    assert!(ok, "{label}: dtype {got:?}, expected {want:?}");
}

/// Element values widened for comparison.
enum Values {
    Float(Vec<f64>),
    Int(Vec<i128>),
    Bool(Vec<bool>),
}

fn values(d: &TensorData) -> Values {
    match d.dtype {
        t if t.is_float() => Values::Float(d.iter::<f64>().collect()),
        DType::U64 => Values::Int(d.iter::<u64>().map(|v| v as i128).collect()),
        t if t.is_int() || t.is_uint() => Values::Int(d.iter::<i64>().map(|v| v as i128).collect()),
        DType::Bool(_) => Values::Bool(d.clone().convert_dtype(BOOL).iter::<bool>().collect()),
        t => panic!("cannot compare {t:?}"),
    }
}

/// Float closeness: NaN matches NaN, infinities match by sign, else within `tol`.
pub fn close(g: f64, w: f64, tol: Tol) -> bool {
    if w.is_nan() || g.is_nan() {
        return w.is_nan() && g.is_nan();
    }
    if w.is_infinite() || g.is_infinite() {
        return g == w;
    }
    (g - w).abs() <= tol.abs + tol.rel * w.abs()
}

/// Asserts equal shapes and element values within `tol` (exact for ints and bools).
pub fn assert_data_close(label: &str, got: &TensorData, want: &TensorData, tol: Tol) {
    assert_eq!(got.shape, want.shape, "{label}: shape");
    let bad: Vec<String> = match (values(got), values(want)) {
        (Values::Float(g), Values::Float(w)) => mismatches(&g, &w, |a, b| close(*a, *b, tol)),
        (Values::Int(g), Values::Int(w)) => mismatches(&g, &w, |a, b| a == b),
        (Values::Bool(g), Values::Bool(w)) => mismatches(&g, &w, |a, b| a == b),
        (Values::Float(g), Values::Int(w)) => {
            let w: Vec<f64> = w.iter().map(|v| *v as f64).collect();
            mismatches(&g, &w, |a, b| close(*a, *b, tol))
        }
        _ => panic!(
            "{label}: cannot compare {:?} with {:?}",
            got.dtype, want.dtype
        ),
    };
    if !bad.is_empty() {
        panic!(
            "{label}: {} mismatched element(s) of {} (shape {:?}, tol {tol:?}):\n  {}",
            bad.len(),
            numel(want.shape.as_slice()),
            want.shape.as_slice(),
            bad.iter().take(8).cloned().collect::<Vec<_>>().join("\n  ")
        );
    }
}

fn mismatches<T: std::fmt::Debug>(g: &[T], w: &[T], eq: impl Fn(&T, &T) -> bool) -> Vec<String> {
    g.iter()
        .zip(w)
        .enumerate()
        .filter(|(_, (a, b))| !eq(a, b))
        .map(|(i, (a, b))| format!("[{i}] got {a:?}, expected {b:?}"))
        .collect()
}

/// Asserts that `f` panics with a message containing `needle`.
pub fn assert_panics<R>(label: &str, needle: &str, f: impl FnOnce() -> R) {
    let err = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("{label}: expected a panic mentioning {needle:?}"),
        Err(e) => e,
    };
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(
        msg.contains(needle),
        "{label}: panic message {msg:?} lacks {needle:?}"
    );
}

// ---- op sweeps --------------------------------------------------------------------------

/// A float -> float op, generic over the backend; see [`float_fn!`].
pub trait FloatFn {
    fn apply<B: Backend>(&self, x: FloatTensor<B>) -> FloatTensor<B>;
}

/// A (float, float) -> float op; see [`float_fn2!`].
pub trait FloatFn2 {
    fn apply<B: Backend>(&self, a: FloatTensor<B>, b: FloatTensor<B>) -> FloatTensor<B>;
}

/// `float_fn!(captures; |B, x| body)`: a [`FloatFn`].
macro_rules! float_fn {
    (|$B:ident, $x:ident| $body:expr) => {
        float_fn!(; |$B, $x| $body)
    };
    ($($cap:ident : $ty:ty = $val:expr),* ; |$B:ident, $x:ident| $body:expr) => {{
        struct __Fn {
            $($cap: $ty),*
        }
        impl $crate::common::FloatFn for __Fn {
            #[allow(unused_variables, clippy::redundant_clone)]
            fn apply<$B: burn_backend::Backend>(&self, $x: burn_backend::tensor::FloatTensor<$B>) -> burn_backend::tensor::FloatTensor<$B> {
                $(let $cap: $ty = ::core::clone::Clone::clone(&self.$cap);)*
                $body
            }
        }
        __Fn { $($cap: $val),* }
    }};
}
pub(crate) use float_fn;

/// `float_fn2!(captures; |B, a, b| body)`: a [`FloatFn2`].
macro_rules! float_fn2 {
    (|$B:ident, $a:ident, $b:ident| $body:expr) => {
        float_fn2!(; |$B, $a, $b| $body)
    };
    ($($cap:ident : $ty:ty = $val:expr),* ; |$B:ident, $a:ident, $b:ident| $body:expr) => {{
        struct __Fn {
            $($cap: $ty),*
        }
        impl $crate::common::FloatFn2 for __Fn {
            #[allow(unused_variables, clippy::redundant_clone)]
            fn apply<$B: burn_backend::Backend>(
                &self,
                $a: burn_backend::tensor::FloatTensor<$B>,
                $b: burn_backend::tensor::FloatTensor<$B>,
            ) -> burn_backend::tensor::FloatTensor<$B> {
                $(let $cap: $ty = ::core::clone::Clone::clone(&self.$cap);)*
                $body
            }
        }
        __Fn { $($cap: $val),* }
    }};
}
pub(crate) use float_fn2;

struct Unary<'a, F> {
    f: &'a F,
    x: TensorData,
    layout: Layout,
}

impl<F: FloatFn> Case for Unary<'_, F> {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        vec![rf::<B>(self.f.apply::<B>(cx.fl(&self.x, self.layout)))]
    }
}

impl<F: FloatFn> GradCase for Unary<'_, F> {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (leaf, view) = cx.fgl(&self.x, self.layout);
        let y = self.f.apply::<B>(view);
        let grads = cx.backward(y.clone(), 7);
        vec![rf::<B>(y), cx.grad_l(&leaf, &grads)]
    }
}

struct Binary<'a, F> {
    f: &'a F,
    a: TensorData,
    b: TensorData,
    layouts: (Layout, Layout),
}

/// The oracle broadcasts the operands explicitly first: ndarray's kernels for some element-wise
/// ops do not broadcast (the backend under test must, as Burn's tensor API relies on it).
fn oracle_broadcast<B: Backend>(
    cx: &Cx<B>,
    a: FloatTensor<B>,
    b: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let (sa, sb) = (a.shape(), b.shape());
    if !cx.oracle || sa == sb {
        return (a, b);
    }
    let shape = Shape::from(broadcast_shape(sa.as_slice(), sb.as_slice()));
    (B::float_expand(a, shape.clone()), B::float_expand(b, shape))
}

impl<F: FloatFn2> Case for Binary<'_, F> {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (a, b) = oracle_broadcast(
            cx,
            cx.fl(&self.a, self.layouts.0),
            cx.fl(&self.b, self.layouts.1),
        );
        vec![rf::<B>(self.f.apply::<B>(a, b))]
    }
}

impl<F: FloatFn2> GradCase for Binary<'_, F> {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (la, a) = cx.fgl(&self.a, self.layouts.0);
        let (lb, b) = cx.fgl(&self.b, self.layouts.1);
        let (a, b) = oracle_broadcast(cx, a, b);
        let y = self.f.apply::<B>(a, b);
        let grads = cx.backward(y.clone(), 11);
        vec![rf::<B>(y), cx.grad_l(&la, &grads), cx.grad_l(&lb, &grads)]
    }
}

/// Forward of a unary float op over [`SHAPES`] x [`LAYOUTS`] (plus [`EMPTY_SHAPES`]) at each
/// precision, inputs from `gen`.
pub fn sweep_unary<F: FloatFn>(label: &str, f: &F, generator: &Gen, precs: &[Prec]) {
    sweep_unary_tol(label, f, generator, precs, None)
}

/// [`sweep_unary`] with a tolerance for every precision (`None`: each precision's default).
pub fn sweep_unary_tol<F: FloatFn>(
    label: &str,
    f: &F,
    generator: &Gen,
    precs: &[Prec],
    tol: Option<Tol>,
) {
    for &prec in precs {
        for (i, shape) in SHAPES.iter().chain(EMPTY_SHAPES).enumerate() {
            for layout in LAYOUTS {
                let case = Unary {
                    f,
                    x: generator(shape, 100 + i as u64),
                    layout,
                };
                check_tol(
                    format!("{label} {shape:?} {layout:?}"),
                    prec,
                    tol.unwrap_or(prec.tol()),
                    &case,
                );
            }
        }
    }
}

/// Backward of a unary float op through autodiff over [`SHAPES`] (contiguous and transposed).
pub fn sweep_unary_grad<F: FloatFn>(label: &str, f: &F, generator: &Gen, precs: &[Prec]) {
    for &prec in precs {
        for (i, shape) in SHAPES.iter().enumerate() {
            for layout in [Layout::Contiguous, Layout::Transposed] {
                let case = Unary {
                    f,
                    x: generator(shape, 200 + i as u64),
                    layout,
                };
                check_grad(format!("{label} {shape:?} {layout:?}"), prec, &case);
            }
        }
    }
}

/// Forward of a binary float op over [`BROADCAST_PAIRS`] (both orders), each operand through
/// each layout in turn.
pub fn sweep_binary<F: FloatFn2>(label: &str, f: &F, gen_a: &Gen, gen_b: &Gen, precs: &[Prec]) {
    sweep_binary_tol(label, f, gen_a, gen_b, precs, None)
}

pub fn sweep_binary_tol<F: FloatFn2>(
    label: &str,
    f: &F,
    gen_a: &Gen,
    gen_b: &Gen,
    precs: &[Prec],
    tol: Option<Tol>,
) {
    for &prec in precs {
        for (i, (sa, sb)) in BROADCAST_PAIRS.iter().enumerate() {
            for (sa, sb) in [(sa, sb), (sb, sa)] {
                for (j, layout) in LAYOUTS.iter().enumerate() {
                    let other = LAYOUTS[(j + 2) % LAYOUTS.len()];
                    let seed = 300 + 10 * i as u64;
                    let case = Binary {
                        f,
                        a: gen_a(sa, seed),
                        b: gen_b(sb, seed + 1),
                        layouts: (*layout, other),
                    };
                    let label = format!("{label} {sa:?} x {sb:?} {layout:?}/{other:?}");
                    check_tol(label, prec, tol.unwrap_or(prec.tol()), &case);
                }
            }
        }
        // Empty operands.
        for (i, shape) in EMPTY_SHAPES.iter().enumerate() {
            let case = Binary {
                f,
                a: gen_a(shape, 400 + i as u64),
                b: gen_b(shape, 410 + i as u64),
                layouts: (Layout::Contiguous, Layout::Contiguous),
            };
            check(format!("{label} {shape:?} (empty)"), prec, &case);
        }
    }
}

/// Backward of a binary float op over [`BROADCAST_PAIRS`] (gradients reduced over broadcast dims).
pub fn sweep_binary_grad<F: FloatFn2>(
    label: &str,
    f: &F,
    gen_a: &Gen,
    gen_b: &Gen,
    precs: &[Prec],
) {
    for &prec in precs {
        for (i, (sa, sb)) in BROADCAST_PAIRS.iter().enumerate() {
            for (sa, sb) in [(sa, sb), (sb, sa)] {
                let seed = 500 + 10 * i as u64;
                let case = Binary {
                    f,
                    a: gen_a(sa, seed),
                    b: gen_b(sb, seed + 1),
                    layouts: (Layout::Contiguous, Layout::Transposed),
                };
                check_grad(format!("{label} {sa:?} x {sb:?}"), prec, &case);
            }
        }
    }
}
