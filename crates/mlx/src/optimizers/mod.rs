//! Optimizers and learning-rate schedules (MLX's `mlx.optimizers`).
