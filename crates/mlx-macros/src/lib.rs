//! Procedural macros for the `mlx` crate.
