//! Deterministic test inputs: one seeded generator and the tensor data made from it. Both
//! backends get the same host data, so no test depends on either backend's RNG.

use burn_backend::{DType, TensorData};

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

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// f32 data of `shape`, uniform in [lo, hi), drawn from this generator (for several inputs
    /// from one seed).
    pub fn floats<S: AsRef<[usize]>>(&mut self, shape: S, lo: f64, hi: f64) -> TensorData {
        let shape = shape.as_ref();
        let v: Vec<f32> = (0..numel(shape))
            .map(|_| self.range(lo, hi) as f32)
            .collect();
        TensorData::new(v, shape.to_vec())
    }
}

pub(crate) fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// f32 values uniform in [-3, 3).
pub fn floats<S: AsRef<[usize]>>(shape: S, seed: u64) -> TensorData {
    floats_in(shape, seed, -3.0, 3.0)
}

/// f32 values uniform in [-1, 1).
pub fn floats_unit<S: AsRef<[usize]>>(shape: S, seed: u64) -> TensorData {
    floats_in(shape, seed, -1.0, 1.0)
}

/// f32 values uniform in [lo, hi).
pub fn floats_in<S: AsRef<[usize]>>(shape: S, seed: u64, lo: f64, hi: f64) -> TensorData {
    Rng::new(seed).floats(shape, lo, hi)
}

/// Multiples of 1/64 in [-4, 4): exact in f16 and bf16 too, so every precision sees the same
/// values (and ndarray, which has no half types, runs in f32 on exactly those).
pub fn floats_exact<S: AsRef<[usize]>>(shape: S, seed: u64) -> TensorData {
    let shape = shape.as_ref();
    let mut rng = Rng::new(seed);
    let v: Vec<f32> = (0..numel(shape))
        .map(|_| rng.int(-256, 256) as f32 / 64.0)
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
