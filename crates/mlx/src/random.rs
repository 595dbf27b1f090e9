//! Random numbers (`mlx.core.random`).
//!
//! MLX's generator is counter-based: a *key* (a `uint32` array of shape `[2]`, made by [`key`])
//! fully determines the values drawn with it, and [`split`] derives new independent keys from
//! one. Every sampler takes `key: Option<&Array>`:
//!
//! - `Some(key)`: the result depends on the key alone (same key, same values);
//! - `None`: the next key of a global sequence is used, so successive calls differ. The global
//!   sequence is **per thread** in MLX: [`seed`] resets the calling thread's sequence only, and a
//!   thread that never called [`seed`] starts from a seed taken from the clock.
//!
//! ```
//! use mlx::{Dtype, random};
//!
//! let k = random::key(7)?;
//! let a = random::normal(&[2, 3], Dtype::Float32, Some(&k))?;
//! let b = random::normal(&[2, 3], Dtype::Float32, Some(&k))?;
//! assert_eq!(a.to_vec::<f32>()?, b.to_vec::<f32>()?);
//! let (k1, k2) = random::split(&k)?;
//! let c = random::uniform(&[4], Dtype::Float32, Some(&k1))?;
//! let d = random::uniform(&[4], Dtype::Float32, Some(&k2))?;
//! assert_ne!(c.to_vec::<f32>()?, d.to_vec::<f32>()?);
//! # Ok::<(), mlx::Error>(())
//! ```
//!
//! Bounds and parameters given as arrays (`low`, `high`, `loc`, `p`, …) broadcast against the
//! requested shape and are converted to the requested dtype, so `&Array::from(2.0)` (float64)
//! is fine for a float32 sample. [`multivariate_normal`] runs on the CPU (it needs an SVD; see
//! [`crate::linalg`]).

use std::cell::RefCell;

use mlx_sys as sys;

use crate::array::{Array, ints};
use crate::dtype::Dtype;
use crate::error::Result;
use crate::linalg::{on_cpu, opt_raw};
use crate::ops::{call, call_vec};

thread_local! {
    /// The calling thread's global key (`None` until first used or seeded).
    static GLOBAL_KEY: RefCell<Option<Array>> = const { RefCell::new(None) };
}

/// The key a sampler called with `key` uses: that key, or the next of the thread's global
/// sequence (the sequence's key is split in two: one half becomes the new state, the other is
/// used, as MLX's and Python MLX's sequences do).
fn resolve_key(key: Option<&Array>) -> Result<Option<Array>> {
    if let Some(k) = key {
        return Ok(Some(k.clone()));
    }
    let current = match state() {
        Some(k) => k,
        None => self::key(time_seed())?,
    };
    let (next, used) = split(&current)?;
    set_state(Some(next));
    Ok(Some(used))
}

/// A seed from the clock, for threads that never called [`seed`].
pub(crate) fn time_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Resets the calling thread's global key sequence (used by samplers called without a key) to
/// `key(seed)`.
pub fn seed(seed: u64) -> Result<()> {
    set_state(Some(key(seed)?));
    Ok(())
}

/// The calling thread's global key: the state samplers called without a key advance (Python
/// MLX's `mx.random.state`). `None` before the thread's first draw or [`seed`].
///
/// A compiled function draws from the key its trace saw, as a constant, unless the key is one
/// of its inputs and outputs: [`crate::optimizers::CompiledStep`] carries it so.
pub fn state() -> Option<Array> {
    GLOBAL_KEY.with(|k| k.borrow().clone())
}

/// Replaces the calling thread's global key (a `uint32` key of shape `[2]`, as from [`key`] or
/// [`state`]); `None` makes the next draw start a clock-seeded sequence.
pub fn set_state(key: Option<Array>) {
    GLOBAL_KEY.with(|k| *k.borrow_mut() = key);
}

/// A key made from `seed` (its high and low 32 bits).
pub fn key(seed: u64) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_random_key(r, seed, s) })
}

/// Two new keys derived from `key`.
pub fn split(key: &Array) -> Result<(Array, Array)> {
    let mut v = call_vec(|r, s| unsafe { sys::mlxc_random_split(r, key.as_raw(), s) })?;
    let second = v.pop().expect("mlxc_random_split returns two keys");
    let first = v.pop().expect("mlxc_random_split returns two keys");
    Ok((first, second))
}

/// `num` new keys derived from `key`, as a `[num, 2]` array (row `i` is a key).
pub fn split_n(key: &Array, num: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_random_split_num(r, key.as_raw(), num, s) })
}

/// Raw random bits: `uint32` for `width` 4, `uint16` for 2, `uint8` for 1 (bytes per element).
pub fn bits(shape: &[i32], width: i32, key: Option<&Array>) -> Result<Array> {
    let key = resolve_key(key)?;
    call(|r, s| unsafe { sys::mlxc_random_bits(r, ints(shape), width, opt_raw(key.as_ref()), s) })
}

/// Uniform samples in `[0, 1)` of a floating-point `dtype`.
pub fn uniform(shape: &[i32], dtype: Dtype, key: Option<&Array>) -> Result<Array> {
    uniform_range(
        &Array::scalar(0.0f32),
        &Array::scalar(1.0f32),
        shape,
        dtype,
        key,
    )
}

/// Uniform samples in `[low, high)` of a floating-point `dtype`; `low` and `high` broadcast to
/// `shape`.
pub fn uniform_range(
    low: &Array,
    high: &Array,
    shape: &[i32],
    dtype: Dtype,
    key: Option<&Array>,
) -> Result<Array> {
    let key = resolve_key(key)?;
    call(|r, s| unsafe {
        sys::mlxc_random_uniform(
            r,
            low.as_raw(),
            high.as_raw(),
            ints(shape),
            dtype.to_sys(),
            opt_raw(key.as_ref()),
            s,
        )
    })
}

/// Standard normal samples (mean 0, variance 1) of a floating-point or complex `dtype` (complex
/// samples have independent real and imaginary parts of variance 1/2 each).
pub fn normal(shape: &[i32], dtype: Dtype, key: Option<&Array>) -> Result<Array> {
    let key = resolve_key(key)?;
    call(|r, s| unsafe {
        sys::mlxc_random_normal(
            r,
            ints(shape),
            dtype.to_sys(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            opt_raw(key.as_ref()),
            s,
        )
    })
}

/// Normal samples with mean `loc` and standard deviation `scale` (both broadcast to `shape`).
pub fn normal_with(
    shape: &[i32],
    dtype: Dtype,
    loc: &Array,
    scale: &Array,
    key: Option<&Array>,
) -> Result<Array> {
    let key = resolve_key(key)?;
    call(|r, s| unsafe {
        sys::mlxc_random_normal(
            r,
            ints(shape),
            dtype.to_sys(),
            loc.as_raw(),
            scale.as_raw(),
            opt_raw(key.as_ref()),
            s,
        )
    })
}

/// Samples of the multivariate normal with `mean` (`[..., n]`) and covariance `cov`
/// (`[..., n, n]`, symmetric positive semi-definite); the result is `shape + [n]`, where `shape`
/// broadcasts with the batch dimensions of `mean` and `cov`. Only float32. Runs on the CPU.
pub fn multivariate_normal(
    mean: &Array,
    cov: &Array,
    shape: &[i32],
    dtype: Dtype,
    key: Option<&Array>,
) -> Result<Array> {
    let key = resolve_key(key)?;
    on_cpu(|| {
        call(|r, s| unsafe {
            sys::mlxc_random_multivariate_normal(
                r,
                mean.as_raw(),
                cov.as_raw(),
                ints(shape),
                dtype.to_sys(),
                opt_raw(key.as_ref()),
                s,
            )
        })
    })
}

/// Integers uniform in `[low, high)` of an integer `dtype` (Python's default is `Int32`); `low`
/// and `high` broadcast to `shape`.
pub fn randint(
    low: &Array,
    high: &Array,
    shape: &[i32],
    dtype: Dtype,
    key: Option<&Array>,
) -> Result<Array> {
    let key = resolve_key(key)?;
    call(|r, s| unsafe {
        sys::mlxc_random_randint(
            r,
            low.as_raw(),
            high.as_raw(),
            ints(shape),
            dtype.to_sys(),
            opt_raw(key.as_ref()),
            s,
        )
    })
}

/// Booleans that are `true` with probability `p` (which broadcasts to `shape`; `None`: `p`'s
/// shape).
pub fn bernoulli(p: &Array, shape: Option<&[i32]>, key: Option<&Array>) -> Result<Array> {
    let key = resolve_key(key)?;
    match shape {
        Some(shape) => call(|r, s| unsafe {
            sys::mlxc_random_bernoulli(r, p.as_raw(), ints(shape), opt_raw(key.as_ref()), s)
        }),
        None => call(|r, s| unsafe {
            sys::mlxc_random_bernoulli_like(r, p.as_raw(), opt_raw(key.as_ref()), s)
        }),
    }
}

/// Standard normal samples truncated to `[lower, upper]` (bounds broadcast to `shape`; `None`:
/// the bounds' broadcast shape), of a floating-point `dtype`.
pub fn truncated_normal(
    lower: &Array,
    upper: &Array,
    shape: Option<&[i32]>,
    dtype: Dtype,
    key: Option<&Array>,
) -> Result<Array> {
    let key = resolve_key(key)?;
    match shape {
        Some(shape) => call(|r, s| unsafe {
            sys::mlxc_random_truncated_normal(
                r,
                lower.as_raw(),
                upper.as_raw(),
                ints(shape),
                dtype.to_sys(),
                opt_raw(key.as_ref()),
                s,
            )
        }),
        None => call(|r, s| unsafe {
            sys::mlxc_random_truncated_normal_like(
                r,
                lower.as_raw(),
                upper.as_raw(),
                dtype.to_sys(),
                opt_raw(key.as_ref()),
                s,
            )
        }),
    }
}

/// Samples of the standard Gumbel distribution (location 0, scale 1; mean is the
/// Euler–Mascheroni constant).
pub fn gumbel(shape: &[i32], dtype: Dtype, key: Option<&Array>) -> Result<Array> {
    let key = resolve_key(key)?;
    call(|r, s| unsafe {
        sys::mlxc_random_gumbel(r, ints(shape), dtype.to_sys(), opt_raw(key.as_ref()), s)
    })
}

/// One sample (a `uint32` index) from each categorical distribution given by unnormalized
/// log-probabilities `logits` along `axis`; the result is `logits`' shape without `axis`.
pub fn categorical(logits: &Array, axis: i32, key: Option<&Array>) -> Result<Array> {
    let key = resolve_key(key)?;
    call(|r, s| unsafe {
        sys::mlxc_random_categorical(r, logits.as_raw(), axis, opt_raw(key.as_ref()), s)
    })
}

/// Like [`categorical`], with an output `shape` that broadcasts with `logits`' shape without
/// `axis`.
pub fn categorical_shape(
    logits: &Array,
    axis: i32,
    shape: &[i32],
    key: Option<&Array>,
) -> Result<Array> {
    let key = resolve_key(key)?;
    call(|r, s| unsafe {
        sys::mlxc_random_categorical_shape(
            r,
            logits.as_raw(),
            axis,
            ints(shape),
            opt_raw(key.as_ref()),
            s,
        )
    })
}

/// `num_samples` samples from each distribution of [`categorical`], in a new last axis.
pub fn categorical_n(
    logits: &Array,
    axis: i32,
    num_samples: i32,
    key: Option<&Array>,
) -> Result<Array> {
    let key = resolve_key(key)?;
    call(|r, s| unsafe {
        sys::mlxc_random_categorical_num(
            r,
            logits.as_raw(),
            axis,
            num_samples,
            opt_raw(key.as_ref()),
            s,
        )
    })
}

/// Samples of the Laplace distribution with location `loc` and scale `scale` (variance
/// `2 scale²`), of a floating-point `dtype`.
pub fn laplace(
    shape: &[i32],
    dtype: Dtype,
    loc: f32,
    scale: f32,
    key: Option<&Array>,
) -> Result<Array> {
    let key = resolve_key(key)?;
    call(|r, s| unsafe {
        sys::mlxc_random_laplace(
            r,
            ints(shape),
            dtype.to_sys(),
            loc,
            scale,
            opt_raw(key.as_ref()),
            s,
        )
    })
}

/// `x` with its entries along `axis` randomly shuffled.
pub fn permutation(x: &Array, axis: i32, key: Option<&Array>) -> Result<Array> {
    let key = resolve_key(key)?;
    call(|r, s| unsafe {
        sys::mlxc_random_permutation(r, x.as_raw(), axis, opt_raw(key.as_ref()), s)
    })
}

/// A random permutation of `0..n` (uint32).
pub fn permutation_n(n: i32, key: Option<&Array>) -> Result<Array> {
    let key = resolve_key(key)?;
    call(|r, s| unsafe { sys::mlxc_random_permutation_n(r, n, opt_raw(key.as_ref()), s) })
}
