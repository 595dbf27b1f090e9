//! What an array handle costs: `Array::clone` + drop, and a tiny op (build only, then drop),
//! on one thread and on four threads sharing the arrays. Used to measure the cost of taking the
//! C layer's graph lock when handles are copied and freed.
//!
//! `cargo run --release -p mlx-array --example handle_cost`

use std::time::Instant;

use mlx::{Array, ops};

fn per_iter(n: u32, f: impl Fn()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_nanos() as f64 / f64::from(n)
}

fn main() -> mlx::Result<()> {
    let a = Array::ones::<f32>(&[4])?;
    let b = Array::ones::<f32>(&[4])?;
    // Outputs of a multi-output op share sibling descriptors: the case the lock is about.
    let (q, r) = ops::divmod(&a, &b)?;
    let clone = per_iter(2_000_000, || drop(std::hint::black_box(q.clone())));
    let op = per_iter(200_000, || {
        drop(std::hint::black_box(ops::add(&a, &b).unwrap()))
    });
    println!("one thread:   clone+drop {clone:.1} ns, add (build+drop) {op:.1} ns");
    let threads = 4;
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..200_000 {
                    let x = std::hint::black_box(r.clone());
                    let y = ops::add(&x, &q).unwrap();
                    drop((x, y));
                }
            });
        }
    });
    let per = t.elapsed().as_nanos() as f64 / f64::from(threads * 200_000);
    println!("{threads} threads: clone+add+drop {per:.1} ns per iteration (wall / total)");
    Ok(())
}
