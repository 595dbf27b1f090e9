//! Half-precision products on MLX's CPU: how long `float_matmul` (square and batched),
//! `linear`, `conv2d` (forward and weight gradient) and `attention` take in f16 and bf16,
//! beside f32.
//!
//! MLX's CPU backend multiplies float32 (and float64) matrices with BLAS; it has no BLAS for
//! half types. burn-mlx therefore computes half-precision products and attention on the CPU in
//! float32 and rounds the result back (see the README's note on dtypes); this program measures
//! that.
//!
//! `cargo run --release -p burn-mlx-array --example half_matmul [-- REPEATS]`
//!
//! Each line is the fastest of REPEATS runs (default 7) after one warm-up run, each timed up
//! to `Backend::sync` (the minimum, as other processes on the machine only ever add time).
//! `BURN_MLX_DEVICE=gpu` times the GPU instead. On a machine with few cores, run it with
//! `OPENBLAS_NUM_THREADS=1`: OpenBLAS's threads keep spinning for a while after each float32
//! product and slow down the MLX ops that follow (float32 ones included).

use std::time::Instant;

use burn_backend::ops::{AttentionModuleOptions, ConvOptions, FloatTensorOps, ModuleOps};
use burn_backend::tensor::FloatTensor;
use burn_backend::{Backend, DType, Distribution, FloatDType, Shape};
use burn_mlx::{Mlx, MlxDevice};

type B = Mlx<f32, i32>;

fn random(shape: &[usize], dtype: FloatDType, device: &MlxDevice) -> FloatTensor<B> {
    let t = B::float_random(
        Shape::from(shape.to_vec()),
        Distribution::Uniform(-1.0, 1.0),
        device,
        dtype,
    );
    B::sync(device).expect("sync");
    t
}

/// The fastest time of `f` in milliseconds.
fn time(repeats: usize, device: &MlxDevice, f: impl Fn() -> FloatTensor<B>) -> f64 {
    let once = || {
        let start = Instant::now();
        let out = f();
        B::sync(device).expect("sync");
        drop(out);
        start.elapsed().as_secs_f64() * 1e3
    };
    once();
    (0..repeats).map(|_| once()).fold(f64::INFINITY, f64::min)
}

fn main() {
    let repeats: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(7);
    let device = match std::env::var("BURN_MLX_DEVICE").as_deref() {
        Ok("gpu") => MlxDevice::Gpu,
        _ => MlxDevice::Cpu,
    };
    println!("device: {device}, fastest of {repeats} runs");
    println!("{:<34} {:>6} {:>10}", "op", "dtype", "ms");
    let dtypes = [FloatDType::F32, FloatDType::F16, FloatDType::BF16];
    let name = |d: FloatDType| format!("{:?}", DType::from(d)).to_lowercase();

    for n in [512, 1024] {
        for dtype in dtypes {
            let a = random(&[n, n], dtype, &device);
            let b = random(&[n, n], dtype, &device);
            let ms = time(repeats, &device, || B::float_matmul(a.clone(), b.clone()));
            let label = format!("matmul {n}x{n} · {n}x{n}");
            println!("{label:<34} {:>6} {ms:>10.2}", name(dtype));
        }
    }
    for dtype in dtypes {
        let a = random(&[16, 256, 256], dtype, &device);
        let b = random(&[16, 256, 256], dtype, &device);
        let ms = time(repeats, &device, || B::float_matmul(a.clone(), b.clone()));
        println!(
            "{:<34} {:>6} {ms:>10.2}",
            "batched matmul 16x256x256",
            name(dtype)
        );
    }
    for dtype in dtypes {
        let x = random(&[4096, 512], dtype, &device);
        let w = random(&[512, 512], dtype, &device);
        let bias = random(&[512], dtype, &device);
        let ms = time(repeats, &device, || {
            B::linear(x.clone(), w.clone(), Some(bias.clone()))
        });
        println!(
            "{:<34} {:>6} {ms:>10.2}",
            "linear 4096x512 · 512x512",
            name(dtype)
        );
    }
    for dtype in dtypes {
        let x = random(&[8, 64, 32, 32], dtype, &device);
        let w = random(&[64, 64, 3, 3], dtype, &device);
        let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
        let ms = time(repeats, &device, || {
            B::conv2d(x.clone(), w.clone(), None, options.clone())
        });
        println!(
            "{:<34} {:>6} {ms:>10.2}",
            "conv2d 8x64x32x32, 64x64x3x3",
            name(dtype)
        );
    }
    for dtype in dtypes {
        let x = random(&[8, 64, 32, 32], dtype, &device);
        let w = random(&[64, 64, 3, 3], dtype, &device);
        let grad = random(&[8, 64, 32, 32], dtype, &device);
        let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
        let ms = time(repeats, &device, || {
            B::conv2d_weight_backward(x.clone(), w.clone(), grad.clone(), options.clone())
        });
        println!(
            "{:<34} {:>6} {ms:>10.2}",
            "conv2d weight gradient (same)",
            name(dtype)
        );
    }
    for dtype in dtypes {
        let q = random(&[4, 8, 256, 64], dtype, &device);
        let k = random(&[4, 8, 256, 64], dtype, &device);
        let v = random(&[4, 8, 256, 64], dtype, &device);
        let ms = time(repeats, &device, || {
            B::attention(
                q.clone(),
                k.clone(),
                v.clone(),
                None,
                None,
                AttentionModuleOptions::default(),
            )
        });
        println!(
            "{:<34} {:>6} {ms:>10.2}",
            "attention 4x8x256x64",
            name(dtype)
        );
    }
}
