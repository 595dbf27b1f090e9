//! Side-by-side benchmark of burn-mlx against its peers: native MLX through Python (eager and
//! `mx.compile`d), burn-ndarray, burn-cuda (feature `burn-cuda` or `cuda`) and PyTorch, on the
//! same cases and shapes in one run.
//!
//! The binary `mlx-bench` (`cargo xtask bench peers`) drives everything, the Python peers
//! included (as child processes running `python/mlx_cases.py` and `python/torch_cases.py`), so
//! the built binary plus that folder is all a machine without Rust needs.

pub mod burn_cases;
pub mod cases;
pub mod census;
pub mod chart;
pub mod machine;
pub mod peers;
pub mod profile;
pub mod python;
pub mod report;
