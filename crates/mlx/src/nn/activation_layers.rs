//! The activations as layers (MLX's `nn.ReLU`, `nn.LeakyReLU`, ...), for models that hold their
//! activation as a field. Each calls the function of the same name in [`crate::nn`]; those with
//! a setting take it in `new` (Python's default in `Default`).

use crate::Parameters;
use crate::array::Array;
use crate::error::Result;
use crate::nn::{self, Module};
use crate::params::ModuleState;

/// Layers without settings: `(type, function, Python name)`.
macro_rules! plain_activations {
    ($($name:ident => $f:ident, $py:literal;)*) => {$(
        #[doc = concat!("Applies [`nn::", stringify!($f), "`] (MLX's `nn.", $py, "`).")]
        #[derive(Parameters, Clone, Debug, Default)]
        pub struct $name {
            #[param(state)]
            state: ModuleState,
        }

        impl $name {
            #[doc = concat!("The `", $py, "` layer.")]
            pub fn new() -> Self {
                Self::default()
            }
        }

        impl Module for $name {
            fn forward(&self, x: &Array) -> Result<Array> {
                nn::$f(x)
            }
        }
    )*};
}

plain_activations! {
    ReLU => relu, "ReLU";
    ReLU6 => relu6, "ReLU6";
    ReLU2 => relu2, "ReLU2";
    SELU => selu, "SELU";
    SiLU => silu, "SiLU";
    Sigmoid => sigmoid, "Sigmoid";
    LogSigmoid => log_sigmoid, "LogSigmoid";
    Softplus => softplus, "Softplus";
    Softsign => softsign, "Softsign";
    Mish => mish, "Mish";
    Tanh => tanh, "Tanh";
    Hardswish => hardswish, "Hardswish";
    HardTanh => hard_tanh, "HardTanh";
}

/// Layers with one setting: `(type, setting: type = default, |x, setting| call, Python name)`.
macro_rules! set_activations {
    ($($name:ident ($arg:ident: $ty:ty = $default:expr) => |$x:ident, $a:ident| $call:expr, $py:literal;)*) => {$(
        #[doc = concat!("MLX's `nn.", $py, "`, with `", stringify!($arg), "` (Python's default: ",
                        stringify!($default), ").")]
        #[derive(Parameters, Clone, Debug)]
        pub struct $name {
            #[param(skip)]
            $arg: $ty,
            #[param(state)]
            state: ModuleState,
        }

        impl $name {
            #[doc = concat!("The layer with the given `", stringify!($arg), "`.")]
            pub fn new($arg: $ty) -> Self {
                $name { $arg, state: ModuleState::new() }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::new($default)
            }
        }

        impl Module for $name {
            fn forward(&self, $x: &Array) -> Result<Array> {
                let $a = self.$arg;
                $call
            }
        }
    )*};
}

set_activations! {
    LeakyReLU(negative_slope: f64 = 0.01) => |x, s| nn::leaky_relu_with(x, s), "LeakyReLU";
    ELU(alpha: f64 = 1.0) => |x, a| nn::elu_with(x, a), "ELU";
    CELU(alpha: f64 = 1.0) => |x, a| nn::celu_with(x, a), "CELU";
    Softshrink(lambd: f64 = 0.5) => |x, l| nn::softshrink_with(x, l), "Softshrink";
    HardShrink(lambd: f64 = 0.5) => |x, l| nn::hard_shrink_with(x, l), "HardShrink";
    Step(threshold: f64 = 0.0) => |x, t| nn::step_with(x, t), "Step";
    GLU(axis: i32 = -1) => |x, a| nn::glu(x, a), "GLU";
    Softmax(axis: i32 = -1) => |x, a| nn::softmax(x, a), "Softmax";
    LogSoftmax(axis: i32 = -1) => |x, a| nn::log_softmax(x, a), "LogSoftmax";
    Softmin(axis: i32 = -1) => |x, a| nn::softmin(x, a), "Softmin";
}
