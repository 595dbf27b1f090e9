//! Fast Fourier transforms (`mlx.core.fft`).
