//! MLX's memory statistics and limits (bytes). MLX keeps freed buffers in a cache for reuse;
//! "active" memory excludes that cache.
//!
//! Where there is no GPU (the CPU builds on Linux), the cache limit starts at 0, unlike Python
//! MLX: MLX's CPU buffers come from malloc, whose heap already keeps freed buffers for reuse, so
//! a second cache would hold the same memory twice. [`set_cache_limit`] sets another limit, and
//! `MLXC_MALLOC_DEFAULTS=1` keeps MLX's default. With a GPU the cache is MLX's default.

use mlx_sys as sys;

use crate::error::{Result, check};

fn read(f: unsafe extern "C" fn(*mut usize) -> std::os::raw::c_int) -> usize {
    let mut v = 0;
    // SAFETY: valid out-pointer.
    if check(unsafe { f(&mut v) }).is_ok() {
        v
    } else {
        0
    }
}

fn set(
    f: unsafe extern "C" fn(*mut usize, usize) -> std::os::raw::c_int,
    limit: usize,
) -> Result<usize> {
    let mut prev = 0;
    // SAFETY: valid out-pointer.
    check(unsafe { f(&mut prev, limit) })?;
    Ok(prev)
}

/// Bytes held by live arrays.
pub fn active_memory() -> usize {
    read(sys::mlxc_memory_active)
}

/// The most active memory seen since start or the last [`reset_peak_memory`].
pub fn peak_memory() -> usize {
    read(sys::mlxc_memory_peak)
}

/// Restarts peak tracking from the current level.
pub fn reset_peak_memory() -> Result<()> {
    // SAFETY: no arguments.
    check(unsafe { sys::mlxc_memory_reset_peak() })
}

/// Bytes of freed buffers kept for reuse.
pub fn cache_memory() -> usize {
    read(sys::mlxc_memory_cache)
}

/// Returns the cached buffers to the system, and then the pages malloc keeps from freed blocks
/// (on Linux the process's malloc is jemalloc unless the `jemalloc` feature is off, and it keeps
/// freed pages for reuse until this call; see [`crate::build_info::allocator`]).
pub fn clear_cache() -> Result<()> {
    // SAFETY: no arguments.
    check(unsafe { sys::mlxc_memory_clear_cache() })?;
    sys::allocator::release_freed_memory();
    Ok(())
}

/// The memory limit MLX tries to stay under while evaluating.
///
/// It is also the largest array any op may produce: an op whose result would take more bytes
/// than this limit (or than the process's address-space limit, `ulimit -v`, when one is set)
/// returns an out-of-memory [`crate::Error`] when the graph is built, before anything is
/// allocated. This holds for every array, views included (a broadcast may be materialized by
/// a later op). MLX's allocator does not report a failed allocation itself, so this check is
/// what turns "larger than memory" into an error instead of a crash. It bounds each array, not
/// their sum: many arrays each under the limit can still exhaust memory.
pub fn memory_limit() -> usize {
    read(sys::mlxc_memory_limit)
}

/// Sets the memory limit; returns the previous one. Arrays built after the call are checked
/// against the new limit (see [`memory_limit`]).
///
/// ```
/// let prev = mlx::memory::set_memory_limit(1 << 20)?;
/// // 4 MiB of float32 is past a 1 MiB limit: an error, not an allocation.
/// assert!(mlx::ops::zeros(&[1 << 20], mlx::Dtype::Float32).is_err());
/// mlx::memory::set_memory_limit(prev)?;
/// assert!(mlx::ops::zeros(&[1 << 20], mlx::Dtype::Float32).is_ok());
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn set_memory_limit(limit: usize) -> Result<usize> {
    set(sys::mlxc_memory_set_limit, limit)
}

/// Sets how much freed memory the cache may keep (0 disables it); returns the previous limit.
pub fn set_cache_limit(limit: usize) -> Result<usize> {
    set(sys::mlxc_memory_set_cache_limit, limit)
}

/// Sets the wired (resident) memory limit, meaningful with Metal on macOS 15+; returns the
/// previous limit.
pub fn set_wired_limit(limit: usize) -> Result<usize> {
    set(sys::mlxc_memory_set_wired_limit, limit)
}
