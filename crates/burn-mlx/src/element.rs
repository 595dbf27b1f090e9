//! The element types `Mlx` can be instantiated with.

use half::{bf16, f16};

/// A float type usable as `Mlx`'s default float element.
pub trait MlxFloat: burn_backend::Element + mlx::ArrayElement {}
impl MlxFloat for f32 {}
impl MlxFloat for f16 {}
impl MlxFloat for bf16 {}
/// CPU only: MLX's GPU backends reject float64.
impl MlxFloat for f64 {}

/// An integer type usable as `Mlx`'s default int element.
pub trait MlxInt: burn_backend::Element + mlx::ArrayElement {}
impl MlxInt for i32 {}
impl MlxInt for i64 {}
