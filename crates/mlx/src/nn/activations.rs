//! Activation functions (MLX's `mlx.nn` functional forms).

use crate::array::Array;
use crate::error::Result;
use crate::ops;

/// `max(x, 0)`.
pub fn relu(x: &Array) -> Result<Array> {
    ops::maximum(x, &Array::scalar(0.0f32).astype(x.dtype())?)
}
