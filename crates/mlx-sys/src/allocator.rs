//! The process's malloc.
//!
//! With the `jemalloc` feature (on by default) on Linux, jemalloc is linked into the binary and
//! replaces the system malloc for the whole process: MLX's C++ objects and CPU buffers, the C
//! layer and Rust's allocations alike. Without it, the system malloc stays (on Linux, glibc's,
//! with the thresholds the C layer sets; see `MLXC_MALLOC_DEFAULTS`).
//!
//! Why: building and evaluating an MLX graph allocates and frees several small C++ objects per
//! op (the array, its descriptor, vectors of inputs and shapes, the scheduler's closures), many
//! of them freed on another thread than the one that made them. Under glibc's malloc that was
//! about 40% of the host's time of a small training step on 2 CPU cores (perf); with jemalloc's
//! per-thread caches the host's share of a step takes 2 to 2.5 times less time. On a GPU the
//! host's share is what bounds small models' steps.
//!
//! Settings (`MALLOC_CONF` in the environment, read at start, overrides them):
//! - `narenas:1`: one arena for the process. MLX allocates a result on the thread that evaluates
//!   it, and an arena per thread would keep the same freed megabytes once per thread
//!   (burn-train's Learner evaluates on several), as glibc's heaps per thread did. Each thread
//!   still has its own cache of small blocks, so threads rarely wait on each other.
//! - `dirty_decay_ms:-1,muzzy_decay_ms:-1`: freed pages stay with the process for reuse instead
//!   of going back to the system over the following seconds. With jemalloc's default decay a CPU
//!   training step's large buffers went back and were faulted in again each step (390,000 page
//!   faults over 2 s of CNN steps on 2 cores, against 29,000 with glibc; 75 ms a step against
//!   50). The process therefore keeps the memory of its peak, as MLX's own GPU buffer cache
//!   does; [`release_freed_memory`] (called by the `mlx` crate's `memory::clear_cache`) returns
//!   it to the system.
//!
//! A library loaded into another program (a `cdylib`, such as a Python extension) cannot
//! replace that program's malloc: build it without this feature.

#[cfg(all(feature = "jemalloc", target_os = "linux"))]
mod imp {
    use std::ffi::{CStr, c_char, c_void};
    use std::ptr::null_mut;

    // Links jemalloc, whose `override_allocator_on_supported_platforms` feature makes its
    // `malloc`, `free`, ... the process's.
    use tikv_jemalloc_sys as jemalloc;

    /// jemalloc's options, read once at its start: see the module's documentation.
    const CONF: &CStr = c"narenas:1,dirty_decay_ms:-1,muzzy_decay_ms:-1";

    /// What jemalloc reads its compiled-in options from (a weak default inside jemalloc; this
    /// definition replaces it). `#[used]` keeps it in binaries that never name it.
    #[unsafe(no_mangle)]
    #[used]
    static malloc_conf: Option<&'static c_char> = Some(unsafe { &*CONF.as_ptr() });

    pub fn name() -> String {
        let version = read(c"version", std::ptr::null::<c_char>());
        let Some(version) = version.filter(|v| !v.is_null()) else {
            return "jemalloc".into();
        };
        // SAFETY: jemalloc's version string is static and NUL-terminated.
        let version = unsafe { CStr::from_ptr(version) }.to_string_lossy();
        // "5.3.1-0-g<commit>": the release is enough.
        let release = version.split('-').next().unwrap_or(&version);
        format!("jemalloc {release}")
    }

    pub fn release_freed_memory() -> bool {
        // Arena index 4096 (jemalloc's MALLCTL_ARENAS_ALL) names every arena at once.
        // SAFETY: "arena.<i>.purge" takes and returns nothing.
        unsafe {
            jemalloc::mallctl(
                c"arena.4096.purge".as_ptr(),
                null_mut(),
                null_mut(),
                null_mut(),
                0,
            ) == 0
        }
    }

    /// Reads a control whose value is a `T` (jemalloc checks the size it is given against the
    /// control's own and fails on a mismatch).
    pub fn read<T: Copy>(name: &CStr, mut value: T) -> Option<T> {
        let mut len = std::mem::size_of::<T>();
        // SAFETY: the out-pointer holds `len` bytes; jemalloc writes nothing on a size mismatch.
        let rc = unsafe {
            jemalloc::mallctl(
                name.as_ptr(),
                (&raw mut value).cast::<c_void>(),
                &mut len,
                null_mut(),
                0,
            )
        };
        (rc == 0).then_some(value)
    }

    #[cfg(test)]
    pub fn jemalloc_malloc() -> *const c_void {
        jemalloc::malloc as *const c_void
    }
}

#[cfg(not(all(feature = "jemalloc", target_os = "linux")))]
mod imp {
    pub fn name() -> String {
        "system malloc".into()
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    pub fn release_freed_memory() -> bool {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: glibc's malloc_trim takes a byte count and touches only free memory.
        unsafe { malloc_trim(0) == 1 }
    }

    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    pub fn release_freed_memory() -> bool {
        false
    }
}

/// The malloc this process runs on, e.g. `jemalloc 5.3.1` or `system malloc`.
pub fn name() -> String {
    imp::name()
}

/// Returns the pages malloc keeps from freed blocks to the system (jemalloc: purges every arena;
/// glibc: `malloc_trim`). Live allocations are untouched. Returns whether anything was asked of
/// the allocator.
pub fn release_freed_memory() -> bool {
    imp::release_freed_memory()
}

#[cfg(all(test, feature = "jemalloc", target_os = "linux"))]
mod tests {
    use super::imp;

    unsafe extern "C" {
        fn dlsym(
            handle: *mut std::ffi::c_void,
            name: *const std::ffi::c_char,
        ) -> *mut std::ffi::c_void;
    }

    #[test]
    fn the_process_malloc_is_jemalloc() {
        // What a shared library's call to `malloc` (libmlx's, libstdc++'s operator new) binds to:
        // the first definition in the process's global scope.
        // SAFETY: RTLD_DEFAULT (null) and a NUL-terminated name.
        let global = unsafe { dlsym(std::ptr::null_mut(), c"malloc".as_ptr()) };
        assert_eq!(global.cast_const(), imp::jemalloc_malloc());
        assert!(
            super::name().starts_with("jemalloc 5."),
            "{}",
            super::name()
        );
    }

    #[test]
    fn the_compiled_in_options_are_read() {
        if std::env::var_os("MALLOC_CONF").is_some() {
            return; // the environment overrides them
        }
        assert_eq!(imp::read(c"opt.narenas", 0u32), Some(1));
        assert_eq!(imp::read(c"opt.dirty_decay_ms", 0isize), Some(-1));
        assert_eq!(imp::read(c"opt.muzzy_decay_ms", 0isize), Some(-1));
    }

    /// Resident bytes of this process (Linux's /proc/self/statm, in pages of 4 KiB here).
    fn resident_bytes() -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096
    }

    #[test]
    fn freed_pages_stay_until_released() {
        if std::env::var_os("MALLOC_CONF").is_some() {
            return;
        }
        unsafe extern "C" {
            fn malloc(size: usize) -> *mut u8;
            fn free(ptr: *mut u8);
        }
        const SIZE: usize = 64 << 20;
        // SAFETY: a block of SIZE bytes, written within bounds, then freed once.
        let before_free = unsafe {
            let block = malloc(SIZE);
            assert!(!block.is_null());
            std::ptr::write_bytes(block, 1, SIZE);
            // Keeps an optimizing build from dropping the writes, and with them the block.
            std::hint::black_box(block);
            let resident = resident_bytes();
            free(block);
            resident
        };
        let after_free = resident_bytes();
        assert!(super::release_freed_memory());
        let after_release = resident_bytes();
        // Kept for reuse after `free` (no decay), returned by the purge.
        assert!(
            after_free + (8 << 20) > before_free,
            "{before_free} -> {after_free}"
        );
        assert!(
            after_free.saturating_sub(after_release) > SIZE / 2,
            "{after_free} -> {after_release}"
        );
    }
}
