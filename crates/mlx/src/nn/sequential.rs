//! [`Sequential`]: layers applied one after the other (MLX's `nn.Sequential`).

use crate::Parameters;
use crate::array::Array;
use crate::error::Result;
use crate::nn::Module;
use crate::params::ModuleState;

/// Layers applied in order, each to the previous one's output (MLX's `nn.Sequential`): a tuple
/// of up to eight modules, so each keeps its own type and the whole is checked at compile time.
/// Parameters are named `layers.0.weight`, `layers.1.bias`, ... as in Python MLX, so a
/// Python `nn.Sequential`'s checkpoint loads into one made of the same layers.
///
/// ```
/// use mlx::nn::{self, Module, Sequential};
/// use mlx::Parameters;
///
/// let mlp = Sequential::new((nn::Linear::new(4, 8)?, nn::ReLU::new(), nn::Linear::new(8, 2)?));
/// let y = mlp.forward(&mlx::Array::zeros::<f32>(&[3, 4])?)?;
/// assert_eq!(y.shape(), &[3, 2]);
/// assert_eq!(mlp.param_names()[0], "layers.0.weight");
/// # Ok::<(), mlx::Error>(())
/// ```
#[derive(Parameters, Clone, Debug)]
pub struct Sequential<L> {
    /// The layers, in order.
    pub layers: L,
    #[param(state)]
    state: ModuleState,
}

impl<L: Parameters> Sequential<L> {
    /// The layers `layers` (a tuple of modules), applied in order.
    pub fn new(layers: L) -> Self {
        Sequential {
            layers,
            state: ModuleState::new(),
        }
    }
}

macro_rules! sequential_forward {
    ($(($($name:ident $index:tt),+)),+ $(,)?) => {$(
        impl<$($name: Module + Parameters),+> Module for Sequential<($($name,)+)> {
            fn forward(&self, x: &Array) -> Result<Array> {
                let y = x.clone();
                $(let y = self.layers.$index.forward(&y)?;)+
                Ok(y)
            }
        }
    )+};
}

sequential_forward!(
    (A 0),
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
    (A 0, B 1, C 2, D 3, E 4),
    (A 0, B 1, C 2, D 3, E 4, F 5),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7),
);
