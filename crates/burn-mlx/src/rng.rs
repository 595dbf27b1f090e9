//! The backend's random keys.
//!
//! MLX's samplers called without a key split a global key, whose next value is a lazy array
//! derived from the previous one: draws would chain through every evaluation, and a compiled
//! replay of a step (see [`crate::compile`]) would have to carry that chain. Instead, every draw
//! here gets its own key, made from data: a process-wide seed and a draw counter, mixed so that
//! neighbouring counters give unrelated keys (MLX's threefry sampler then does the rest). Keys
//! are therefore plain inputs of the graph.
//!
//! As with MLX's own global key, each thread has its own sequence:
//! [`Backend::seed`](burn_backend::Backend::seed) restarts the calling thread's, so threads that
//! seed and draw at the same time each get the draws of their own seed. An unseeded thread starts
//! from the clock and its thread id.

use std::cell::RefCell;
use std::hash::{BuildHasher, RandomState};
use std::time::{SystemTime, UNIX_EPOCH};

use mlx::Array;

struct Keys {
    seed: u64,
    drawn: u64,
}

thread_local! {
    static KEYS: RefCell<Option<Keys>> = const { RefCell::new(None) };
}

/// SplitMix64's output function: a bijection that spreads every input bit over the output.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Restarts the calling thread's key sequence from `seed`.
pub(crate) fn seed(seed: u64) {
    KEYS.with(|k| *k.borrow_mut() = Some(Keys { seed, drawn: 0 }));
}

/// The key of the calling thread's next draw.
pub(crate) fn next_key() -> mlx::Result<Array> {
    let value = KEYS.with(|keys| {
        let mut keys = keys.borrow_mut();
        let k = keys.get_or_insert_with(|| {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            // A per-thread random value, so threads started in the same tick differ.
            let thread = RandomState::new().hash_one(std::thread::current().id());
            Keys {
                seed: nanos ^ thread,
                drawn: 0,
            }
        });
        k.drawn += 1;
        mix(k.seed ^ mix(k.drawn))
    });
    mlx::random::key(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_seed_and_differ_between_draws() {
        seed(5);
        let a: Vec<u32> = (0..3)
            .flat_map(|_| next_key().unwrap().to_vec().unwrap())
            .collect();
        seed(5);
        let b: Vec<u32> = (0..3)
            .flat_map(|_| next_key().unwrap().to_vec().unwrap())
            .collect();
        assert_eq!(a, b);
        assert_ne!(a[0..2], a[2..4]);
        assert_ne!(a[2..4], a[4..6]);
    }
}
