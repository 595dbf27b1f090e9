//! Arrays shared between threads stay correct.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use mlx::ops::ConvOptions;
use mlx::{Array, Dtype, ops};

#[test]
fn arrays_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Array>();
    assert_send_sync::<mlx::transforms::Function>();
}

#[test]
fn shared_inputs_many_threads() {
    memory_settings();
    let base = Arc::new(
        Array::arange::<f32>(1000)
            .unwrap()
            .reshape(&[10, 100])
            .unwrap(),
    );
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let base = Arc::clone(&base);
            thread::spawn(move || {
                let mut acc = Array::zeros::<f32>(&[10, 100]).unwrap();
                for _ in 0..50 {
                    acc = &acc + &(&*base * (i as f64));
                }
                acc.sum(None, false).unwrap().item::<f32>().unwrap()
            })
        })
        .collect();
    let base_sum: f32 = (0..1000).map(|x| x as f32).sum();
    for (i, h) in handles.into_iter().enumerate() {
        let got = h.join().unwrap();
        let want = base_sum * i as f32 * 50.0;
        assert!(
            (got - want).abs() <= want.abs() * 1e-5,
            "thread {i}: {got} vs {want}"
        );
    }
}

#[test]
fn graph_built_in_one_thread_evaluated_in_another() {
    memory_settings();
    let a = Array::ones::<f32>(&[32, 32]).unwrap();
    let lazy = ops::matmul(&a, &a).unwrap();
    let value = thread::spawn(move || lazy.sum(None, false).unwrap().item::<f32>().unwrap())
        .join()
        .unwrap();
    assert_eq!(value, 32.0 * 32.0 * 32.0);
}

#[test]
fn concurrent_evaluation_of_one_shared_graph() {
    memory_settings();
    // Several threads evaluate (and read) the same lazy node at once. Float32 throughout, so
    // that the test also runs on a GPU (MLX's GPU backends have no float64).
    let a = Array::ones::<f32>(&[64, 64]).unwrap();
    let shared = Arc::new(ops::sqrt(&ops::matmul(&a, &a).unwrap()).unwrap());
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let s = Arc::clone(&shared);
            thread::spawn(move || s.to_vec::<f32>().unwrap().iter().sum::<f32>())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 64.0 * 64.0 * 8.0);
    }
}

#[test]
fn arrays_dropped_in_other_threads() {
    memory_settings();
    let arrays: Vec<Array> = (0..100)
        .map(|i| Array::full(&[10], i as f32).unwrap())
        .collect();
    let sum = ops::add(&arrays[3], &arrays[4]).unwrap();
    thread::spawn(move || drop(arrays)).join().unwrap();
    assert_eq!(sum.to_vec::<f32>().unwrap(), vec![7.0; 10]);
}

#[test]
fn implicit_ops_cross_threads() {
    memory_settings();
    // MLX builds some nodes itself on the calling thread's default stream: the key split behind
    // a random draw without a key, the cotangents inside a transform. Arrays holding them are
    // evaluated on other threads, and made on other threads are evaluated here.
    let drawn = mlx::random::uniform(&[64], Dtype::Float32, None).unwrap();
    let shifted = &drawn + 1.0;
    let there = thread::spawn(move || shifted.to_vec::<f32>().unwrap())
        .join()
        .unwrap();
    let here = drawn.to_vec::<f32>().unwrap();
    assert!(here.iter().all(|v| (0.0..1.0).contains(v)));
    let want: Vec<f32> = here.iter().map(|v| v + 1.0).collect();
    assert_eq!(there, want);

    let (x, dx) = thread::spawn(|| {
        let x = mlx::random::normal(&[5], Dtype::Float32, None).unwrap();
        let mut grad = mlx::transforms::grad(|a: &[Array]| (&a[0] * &a[0]).sum(None, false), &[0]);
        let dx = grad(std::slice::from_ref(&x)).unwrap().remove(0);
        (x, dx)
    })
    .join()
    .unwrap();
    let x = x.to_vec::<f32>().unwrap();
    let want: Vec<f32> = x.iter().map(|v| 2.0 * v).collect();
    assert_eq!(dx.to_vec::<f32>().unwrap(), want);
}

/// Outputs of multi-output ops (siblings) cloned and freed on some threads while others build
/// on them and evaluate: MLX's array destructor edits sibling and input descriptors, so the C
/// layer takes its graph lock in handle copies and frees.
#[test]
fn sibling_outputs_freed_while_others_evaluate() {
    memory_settings();
    let a = Array::from_slice(&(1..=64).map(|x| x as f32).collect::<Vec<_>>(), &[8, 8]).unwrap();
    let b = Array::full::<f32>(&[8, 8], 3.0).unwrap();
    for round in 0..20 {
        let (q, r) = ops::divmod(&a, &b).unwrap();
        let parts = ops::split(&a, 4, 0).unwrap();
        let (u, s, vt) = mlx::linalg::svd(&a).unwrap();
        let shared = Arc::new((q, r, parts, u, s, vt));
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let shared = Arc::clone(&shared);
                thread::spawn(move || {
                    let (q, r, parts, u, s, vt) = &*shared;
                    for _ in 0..20 {
                        if t % 2 == 0 {
                            // Clone and drop handles to siblings.
                            let copies: Vec<Array> = [q, r, &parts[t % 4], u, s, vt]
                                .into_iter()
                                .cloned()
                                .collect();
                            drop(copies);
                        } else {
                            let y = (&(q * 3.0) + r).sum(None, false).unwrap();
                            let z = parts[t % 4].sum(None, false).unwrap();
                            let w = s.sum(None, false).unwrap();
                            mlx::eval([&y, &z, &w]).unwrap();
                            assert_eq!(y.item::<f32>().unwrap(), (1..=64).sum::<i32>() as f32);
                            let _ = (u, vt);
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(Arc::strong_count(&shared), 1, "round {round}");
    }
}

#[test]
fn evaluation_errors_reach_the_calling_thread() {
    memory_settings();
    // MLX fails while evaluating (a singular matrix has no inverse): the error comes back to the
    // thread that asked, wherever the evaluation ran, and the library stays usable there.
    let message = thread::spawn(|| {
        let singular = Array::zeros::<f32>(&[4, 4]).unwrap();
        let inverse = mlx::linalg::inv(&singular).unwrap();
        let err = inverse
            .to_vec::<f32>()
            .expect_err("a singular matrix has no inverse");
        let after = (&Array::ones::<f32>(&[3]).unwrap() * 2.0)
            .to_vec::<f32>()
            .unwrap();
        assert_eq!(after, vec![2.0; 3]);
        err.to_string()
    })
    .join()
    .unwrap();
    assert!(message.contains("Inverse"), "{message}");
}

/// Threads that evaluate a matrix product and a convolution and then end, beside one that keeps
/// evaluating convolutions. With CUDA, MLX destroys a thread's cuBLAS and cuDNN handles when
/// the thread ends, which broke a graph capture running on the other thread (an abort or a
/// segfault within seconds) until evaluations moved to a thread that outlives the callers.
#[test]
fn short_lived_threads_beside_a_busy_one() {
    memory_settings();
    fn conv_sum(x: &[i32; 4], w: &[i32; 4]) -> f32 {
        let x = Array::ones::<f32>(x).unwrap();
        let w = Array::ones::<f32>(w).unwrap();
        ops::conv2d(&x, &w, ConvOptions::default())
            .unwrap()
            .sum(None, false)
            .unwrap()
            .item::<f32>()
            .unwrap()
    }
    let stop = Arc::new(AtomicBool::new(false));
    let busy = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let mut steps = 0;
            while !stop.load(Ordering::Relaxed) {
                // 2 images, 6×6 outputs, 4 channels, each a sum of 3·3·3 ones.
                assert_eq!(conv_sum(&[2, 8, 8, 3], &[4, 3, 3, 3]), 7776.0);
                steps += 1;
            }
            steps
        })
    };
    for round in 0..40 {
        let handles: Vec<_> = (1..=4)
            .map(|v| {
                thread::spawn(move || {
                    let a = Array::full::<f32>(&[32, 32], v as f32).unwrap();
                    let product = ops::matmul(&a, &a).unwrap().sum(None, false).unwrap();
                    (
                        product.item::<f32>().unwrap(),
                        conv_sum(&[1, 6, 6, 2], &[2, 3, 3, 2]),
                    )
                })
            })
            .collect();
        for (v, h) in (1..=4).zip(handles) {
            let (product, conv) = h.join().unwrap();
            assert_eq!(product, (32 * 32 * 32 * v * v) as f32, "round {round}");
            assert_eq!(conv, 576.0, "round {round}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    assert!(busy.join().unwrap() > 0);
}

/// `THREADS_TEST_CACHE_LIMIT=BYTES`, set by [`same_tests_without_a_buffer_cache`] for the
/// child it starts: MLX's buffer cache limit for the tests of this file.
fn memory_settings() {
    if let Ok(limit) = std::env::var("THREADS_TEST_CACHE_LIMIT") {
        mlx::memory::set_cache_limit(limit.parse().unwrap()).unwrap();
    }
}

/// Runs this file's tests but `this` again in a child process with `env` set, four at a time,
/// and checks that each reports ok.
fn same_tests_with(this: &str, env: (&str, &str)) {
    let run = |args: &[&str], with_env: bool| {
        let mut command = Command::new(std::env::current_exe().unwrap());
        if with_env {
            command.env(env.0, env.1);
        }
        let out = command.args(args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        stdout
    };
    let listed = run(&["--list", "--format", "terse"], false);
    let others: Vec<&str> = listed
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .filter(|name| !name.starts_with("same_tests_"))
        .collect();
    assert!(others.len() >= 5, "{listed}");
    let report = run(&["--skip", "same_tests_", "--test-threads", "4"], true);
    for name in others {
        assert!(
            report.contains(&format!("test {name} ... ok")),
            "{this}: {name}:\n{report}"
        );
    }
}

/// With CUDA, evaluations asked for on threads other than the process's main one run on one
/// evaluation thread of the C layer (MLX's per-thread GPU handles die with their threads). The
/// other tests of this file run again with that path forced on every backend.
#[test]
fn same_tests_with_evaluations_on_one_thread() {
    same_tests_with(
        "same_tests_with_evaluations_on_one_thread",
        ("MLXC_EVALUATION_THREAD", "1"),
    );
}

/// Without a buffer cache every freed buffer goes back to the system (on a GPU, to the device)
/// at once, from whichever thread drops the last reference: MLX's completion threads included,
/// which free a finished op's inputs outside the C layer's lock. The CPU runs this way by
/// default; with a GPU the cache is on unless a program turns it off, as this re-run does.
#[test]
fn same_tests_without_a_buffer_cache() {
    same_tests_with(
        "same_tests_without_a_buffer_cache",
        ("THREADS_TEST_CACHE_LIMIT", "0"),
    );
}
