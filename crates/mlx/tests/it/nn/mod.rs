//! `mlx::nn` and `mlx::optimizers`: each layer, loss and optimizer against Python MLX (same
//! inputs and parameters, same outputs or updates) where Python MLX is installed, and against
//! closed forms.

pub(crate) use crate::common;

mod compiled;
mod functional;
mod layers;
mod losses;
mod optimizers;
mod pool;
mod sequence;

use mlx::nn::Module;
use mlx::{Array, Parameters};

pub use common::{assert_arrays_close, assert_close, python_mlx, sample, values};

/// A float32 sample in [-1, 1) (see [`common::sample`]).
pub fn input(shape: &[i32], seed: u64) -> Array {
    common::sample_f32(shape, seed, -1.0, 1.0)
}

/// The module's parameters as oracle inputs named `prefix.<leaf name>`.
pub fn named_params(module: &impl Parameters, prefix: &str) -> Vec<(String, Array)> {
    module
        .flatten_params()
        .into_iter()
        .map(|(k, v)| (format!("{prefix}.{k}"), v))
        .collect()
}

/// Runs `layer` on `x` here and `python_layer` (a Python expression building the same
/// `mlx.nn` layer) on `x` in Python MLX with this layer's weights loaded (strictly, so the
/// parameter names and shapes must be Python's), and compares the outputs. With
/// `eval_mode`, the Python layer is put in evaluation mode. Returns this side's output.
pub fn check_against_python(
    layer: &impl Module,
    python_layer: &str,
    x: &Array,
    eval_mode: bool,
    tol: f64,
) -> Array {
    let y = layer.forward(x).unwrap();
    let params = named_params(layer, "m");
    let mut inputs: Vec<(&str, &Array)> = params.iter().map(|(k, v)| (k.as_str(), v)).collect();
    inputs.push(("x", x));
    let eval = if eval_mode { "m.eval()\n" } else { "" };
    let body = format!("m = load({python_layer}, 'm')\n{eval}out['y'] = m(inp['x'])");
    if let Some(out) = python_mlx(&body, &inputs) {
        assert_arrays_close(&y, &out["y"], tol, tol);
    }
    y
}
