//! Compiled execution: unchanged Burn programs get MLX's kernel fusion.
//!
//! Burn builds a new graph every step (autodiff records the forward pass, then the backward
//! pass and the optimizer update add theirs), so a Burn model never calls `mx.compile`. The
//! backend compiles anyway, at its evaluation points (a read, [`Backend::sync`], the depth bound;
//! see [`crate::eval`]): the pending graph behind what is evaluated is a *region*, looked up by
//! structure (ops, their attributes, shapes, dtypes, wiring) in a cache. The second time a
//! structure is seen, it is compiled with MLX's compiler — elementwise chains fused into single
//! kernels, repeated subexpressions merged — and from then on each step calls the compiled
//! function on the step's own inputs (parameters, batch, scalars such as the learning rate, the
//! random keys of dropout). A step that changes shape (the last, shorter batch of an epoch) is
//! another structure; a graph that never repeats runs as usual and costs one cache lookup.
//!
//! Results equal the uncompiled path within float rounding (fused kernels may round
//! differently). Regions holding an op MLX's compiler cannot compare run uncompiled; data-
//! dependent ops (`argwhere`, `nonzero`) read their input, which ends the region before them.
//!
//! Off by default for now: turn it on with [`set_enabled`]`(true)` or the environment variable
//! `BURN_MLX_COMPILE=1` (`0` keeps it off). [`stats`] shows whether a program's steps replay
//! compiled code, how long compilation took, and where the host's time per region goes (tracing
//! and lookup, replaying, MLX's evaluation). MLX builds each fused kernel the first time it
//! runs: on the CPU with the system C++ compiler (then cached under `/tmp/mlx`; without a
//! compiler the region runs uncompiled), on a GPU at run time, where the first compiled steps of
//! a Transformer on a fresh machine have taken over a minute. That first-run cost keeps it off
//! by default. Once built, it has won on every case of the repository's benchmark in most runs
//! (a host whose speed drifts can hide it: see the README's Benchmarks): on an H200, training
//! steps of an MLP, a CNN and a Transformer took 1.40, 2.58 and 10.2 ms against 1.52, 2.88 and
//! 18.4 uncompiled (native MLX eager: 1.73, 3.50 and 19.2; compiled: 0.67, 1.29 and
//! 11.6), and a chain of 200 `x + 1.0` 2.70 µs per op against 5.56. On 2 CPU cores the MLP, CNN
//! and Transformer steps take about 0.55×, 0.75× and 0.9× the uncompiled time.
//!
//! What remains between this and `mx.compile` is the host's work per step: Burn rebuilds the
//! graph every step, and each evaluation walks it (into flat buffers reused from one
//! evaluation to the next, so that a region seen before allocates nothing), looks it up, and
//! redirects the results, where a function compiled by `mx.compile` replays without rebuilding.
//!
//! [`Backend::sync`]: burn_backend::Backend::sync

use crate::switch::Switch;

/// Off unless `BURN_MLX_COMPILE=1`.
static ENABLED: Switch = Switch::new("BURN_MLX_COMPILE", false);

/// Whether evaluation goes through the compiled-region cache.
pub fn is_enabled() -> bool {
    ENABLED.get()
}

/// Turns compiled execution on or off for the whole process (overrides `BURN_MLX_COMPILE`).
pub fn set_enabled(enabled: bool) {
    ENABLED.set(enabled);
}

/// What the region cache did since the process started: regions evaluated, how many ran
/// compiled (`replays`), how many could not be compiled, compile count and seconds, and the
/// host's seconds in each part of an evaluation (differences of two calls cover the steps
/// between them).
pub fn stats() -> mlx::region::Stats {
    mlx::region::stats().unwrap_or_else(|e| panic!("burn-mlx: compile stats: {e}"))
}

/// Drops every compiled region (they are rebuilt when seen again).
pub fn clear_cache() {
    mlx::region::clear_cache().unwrap_or_else(|e| panic!("burn-mlx: compile cache: {e}"));
}

/// Evaluates `arrays`, compiled when enabled.
pub(crate) fn eval<'a>(arrays: impl IntoIterator<Item = &'a mlx::Array>) -> mlx::Result<()> {
    crate::eval::next_epoch();
    if is_enabled() {
        mlx::region::eval(arrays)
    } else {
        mlx::eval(arrays)
    }
}

/// Starts evaluating `arrays`, compiled when enabled.
pub(crate) fn async_eval<'a>(arrays: impl IntoIterator<Item = &'a mlx::Array>) -> mlx::Result<()> {
    crate::eval::next_epoch();
    if is_enabled() {
        mlx::region::async_eval(arrays)
    } else {
        mlx::async_eval(arrays)
    }
}
