//! Failing calls in a loop leak nothing. Alone in its own test binary, so no other test
//! allocates while memory is measured.

use mlx::{Array, ops};

fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[test]
fn ten_thousand_failures_neither_abort_nor_leak() {
    let a = Array::ones::<f32>(&[16, 16]).unwrap();
    let b = Array::ones::<f32>(&[3, 5]).unwrap();
    let fail_all = |n: usize| {
        for _ in 0..n {
            assert!(ops::add(&a, &b).is_err());
            assert!(a.reshape(&[7]).is_err());
            assert!(ops::matmul(&a, &b).is_err());
            assert!(a.sum(Some(&[5]), true).is_err());
        }
    };
    // Warm up allocators and caches, then measure.
    fail_all(1000);
    let (rss0, active0) = (resident_bytes(), mlx::memory::active_memory());
    fail_all(10_000);
    let (rss1, active1) = (resident_bytes(), mlx::memory::active_memory());
    assert_eq!(active1, active0, "MLX memory grew across failing calls");
    if rss0 > 0 {
        // 40,000 failed calls; a leak of even one small object each would show as megabytes.
        assert!(
            rss1 < rss0 + (2 << 20),
            "resident memory grew from {rss0} to {rss1}"
        );
    }
    // And the library still works.
    assert_eq!(
        ops::add(&a, &a)
            .unwrap()
            .sum(None, false)
            .unwrap()
            .item::<f32>()
            .unwrap(),
        512.0
    );
}
