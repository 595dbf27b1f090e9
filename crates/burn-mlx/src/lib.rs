//! A Burn backend on MLX.
