//! The `mlx` crate's tests that share nothing but the harness, in one binary (one link of
//! libmlx instead of one per file). Tests that change process-wide state (the default device,
//! the compiled-region cache, memory limits), run children or measure the process
//! (`devices`, `region`, `errors`, `leaks`, `threads`, `distributed`, `chat`) keep their own
//! binaries.

#[path = "../common/mod.rs"]
mod common;

mod arith;
mod array;
mod compare;
mod conv;
mod fast;
mod fft;
mod index;
mod io;
mod kernels;
mod linalg;
mod misc;
mod nn;
mod params;
mod quant;
mod random;
mod reduce;
mod shape;
mod sort;
mod transforms;
