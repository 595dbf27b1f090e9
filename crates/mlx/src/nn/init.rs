//! Parameter initializers (MLX's `mlx.nn.init`).
