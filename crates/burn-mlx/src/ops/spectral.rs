//! Real FFTs through `mlx::fft`. Burn has no complex dtype: a spectrum is a pair of float tensors
//! (real and imaginary parts), split from MLX's `complex64` with `real` / `imag` on the way out
//! and recombined as `re + i·im` on the way in.
//!
//! MLX transforms in single precision (`complex64`): float64 signals are transformed in float32
//! precision and the results converted back to float64; float16 / bfloat16 are widened to
//! float32 and narrowed back. Under CUDA, MLX runs its FFTs on the CPU (it has no CUDA FFT).
//!
//! `n` follows NumPy (and Burn): `rfft` crops or zero-pads the signal to `n` samples and keeps
//! `n / 2 + 1` frequencies; `irfft` crops or zero-pads the spectrum to `n / 2 + 1` bins and
//! returns `n` samples (default `2 · (bins - 1)`). The imaginary parts of the zero-frequency and
//! (for even `n`) Nyquist bins do not contribute to a real signal and are ignored.

use burn_backend::TensorMetadata;
use mlx::fft::FftNorm;
use mlx::{Array, Complex32, Dtype, ops};

use super::base::axis;
use crate::eval::{op, op_multi};
use crate::tensor::MlxTensor;

fn fft_size(n: Option<usize>, op: &str) -> Option<i32> {
    n.map(|n| {
        i32::try_from(n)
            .unwrap_or_else(|_| panic!("burn-mlx: {op}: n = {n} exceeds MLX's i32 limit"))
    })
}

/// The real and imaginary parts of the real FFT of `signal` along `dim`.
pub(crate) fn rfft(signal: MlxTensor, dim: usize, n: Option<usize>) -> (MlxTensor, MlxTensor) {
    check_dim(&signal, dim, "rfft");
    let size = fft_size(n, "rfft");
    let mut parts = op_multi(&[&signal], "rfft", || {
        let dtype = signal.array.dtype();
        let spectrum = mlx::fft::rfft(&signal.array, size, axis(dim), FftNorm::Backward)?;
        let re = ops::real(&spectrum)?.astype(dtype)?;
        let im = ops::imag(&spectrum)?.astype(dtype)?;
        Ok(vec![re, im])
    });
    let im = parts.pop().expect("rfft: two results");
    let re = parts.pop().expect("rfft: two results");
    (re, im)
}

/// The real signal whose real FFT along `dim` is `re + i·im`.
pub(crate) fn irfft(re: MlxTensor, im: MlxTensor, dim: usize, n: Option<usize>) -> MlxTensor {
    check_dim(&re, dim, "irfft");
    let size = fft_size(n, "irfft");
    op(&[&re, &im], "irfft", || {
        let dtype = re.array.dtype();
        let i = Array::scalar(Complex32::new(0.0, 1.0));
        let imag = ops::multiply(&im.array.astype(Dtype::Complex64)?, &i)?;
        let spectrum = ops::add(&re.array.astype(Dtype::Complex64)?, &imag)?;
        mlx::fft::irfft(&spectrum, size, axis(dim), FftNorm::Backward)?.astype(dtype)
    })
}

fn check_dim(t: &MlxTensor, dim: usize, op: &str) {
    let rank = t.shape().num_dims();
    assert!(
        dim < rank,
        "burn-mlx: {op}: dim {dim} is out of range for a tensor of rank {rank}"
    );
}
