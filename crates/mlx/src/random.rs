//! Random numbers (`mlx.core.random`).
