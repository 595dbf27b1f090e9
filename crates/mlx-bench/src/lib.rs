//! Side-by-side benchmark of burn-mlx against its peers: native MLX through Python (eager and
//! `mx.compile`d), burn-ndarray, burn-cuda (feature `burn-cuda` or `cuda`) and PyTorch, on the
//! same cases and shapes in one run.

pub mod burn_cases;
pub mod cases;
pub mod python;
