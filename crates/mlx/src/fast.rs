//! Fused kernels (`mlx.core.fast`).
