//! Linear algebra (`mlx.core.linalg`).
