//! burn-mlx's differential tests that share nothing but the harness (`tests/common/`), in one
//! binary (one link instead of one per file). Tests that change process-wide state or measure
//! the process (`backend_ops`: memory cleanup; `compile`: compiled execution on and off;
//! `learner`, `ddp`, `smoke`) keep their own binaries, and so does `interpolate`, whose float64
//! oracle (burn-ndarray's interpolate on f64) comes out at float32 precision when built into
//! this binary, for a reason not yet found.

#[path = "../common/mod.rs"]
mod common;

mod activation_ops;
mod attention;
mod bool_ops;
mod conv;
mod ctc;
mod embedding;
mod float_ops;
mod grid_sample;
mod int_ops;
mod max_pool;
mod nn_modules;
mod norms;
mod pool;
mod qtensor_ops;
mod quantization;
mod spectral;
