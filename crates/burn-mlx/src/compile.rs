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
//! compiled code, and how long compilation took. On the CPU, MLX builds each fused kernel with
//! the system C++ compiler the first time it runs (then caches it under `/tmp/mlx`), and its
//! fused kernels are not always faster than its own vectorized ones: on 2 CPU cores the
//! benchmark's MLP and CNN training steps take about 0.7× the uncompiled time, its Transformer
//! step 0.95×, and the MNIST example 0.7–0.8× once its kernels are built. Building them costs
//! the first run of a program (MNIST's first 2-epoch run: 11.6 s against 7.6 s uncompiled), and
//! needs a C++ compiler. On an NVIDIA H200 it took the benchmark's Transformer step from 42.8
//! to 19.3 ms (native MLX: 27.4 eager, 10.0 compiled), its CNN step from 3.88 to 3.22 ms and
//! `exp(x)*2+1` from 0.66 to 0.32 ms, with the uncompiled side still evaluating part of each
//! step early (the former depth bound of 256, see [`crate::eval`]); the MLP step stayed at 1.5
//! ms, and the benchmark's chain of 200 `x + 1.0` (read once) cost more (11.1 against 7.4 µs
//! per op). Since then, host scalars of equal value (the `1.0` of each `x + 1.0`, an
//! optimizer's constants) are one input of the compiled function instead of one each: on 2 CPU
//! cores that chain went from 3.1 to 2.25 µs per op compiled (uncompiled: 3.9), and on an H100
//! it takes 3.67 µs per op compiled against 5.47 uncompiled (native MLX: 4.79 eager, 0.59
//! compiled). On an H100 with the current depth bound, compiled MLP and CNN steps take 1.33 and
//! 3.12 ms against 1.94 and 3.72 uncompiled. In a later run on another H100 host, the
//! Transformer step took 15.3 ms compiled against 22.3 uncompiled (native MLX: 17.3 eager, 8.7
//! compiled), the MLP 1.24 against 1.54 and the CNN 2.73 against 3.44 (native MLX eager: 0.95 and
//! 2.34). It stays off by default until it wins on every case.
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
/// compiled (`replays`), how many could not be compiled, compile count and seconds.
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
