//! When the backend evaluates MLX's lazy graph.
//!
//! MLX records ops and computes nothing until asked. That is what makes it fast, but a training
//! loop that never reads a value would keep every step's graph alive: each updated parameter
//! refers to its gradient, which refers to the whole forward and backward pass, which refers to
//! the previous parameters, and so on. The backend therefore evaluates at three points:
//!
//! 1. **Reading** (`into_data`, `into_scalar`, printing values): the tensor is computed.
//! 2. **`sync`**: waits for everything submitted to the device.
//! 3. **Depth bound**: every tensor remembers how many not-yet-evaluated ops lie behind it (the
//!    longest such chain). When an op would produce a tensor deeper than
//!    [`max_graph_depth`] (default 256), that tensor is evaluated right away. Parameters updated
//!    by an optimizer grow deeper every step, so they are evaluated every few steps at the
//!    latest, and the graph kept in memory stays bounded whatever the program reads.
//!
//! Arrays that MLX already computed (because something that depends on them was evaluated)
//! count as depth 0.

use std::sync::atomic::{AtomicU32, Ordering};

use mlx::{Array, Status};

use crate::device::MlxDevice;
use crate::tensor::MlxTensor;

static MAX_GRAPH_DEPTH: AtomicU32 = AtomicU32::new(256);

/// The depth (ops not yet evaluated) at which a tensor is evaluated eagerly.
pub fn max_graph_depth() -> u32 {
    MAX_GRAPH_DEPTH.load(Ordering::Relaxed)
}

/// Sets the depth at which tensors are evaluated eagerly (at least 1). Larger values let MLX see
/// bigger graphs at once; smaller ones bound memory more tightly.
pub fn set_max_graph_depth(depth: u32) {
    MAX_GRAPH_DEPTH.store(depth.max(1), Ordering::Relaxed);
}

/// Runs MLX calls for `device`, turning an MLX error into a panic that names the op (Burn's
/// backend API cannot return errors).
pub(crate) fn run<R>(device: MlxDevice, op: &str, f: impl FnOnce() -> mlx::Result<R>) -> R {
    mlx::with_stream(device.stream(), f).unwrap_or_else(|e| panic!("burn-mlx: {op}: {e}"))
}

/// Depth of a tensor as an input: 0 once MLX has computed it.
fn input_depth(t: &MlxTensor) -> u32 {
    if t.depth == 0 || t.array.status() == Status::Available {
        0
    } else {
        t.depth
    }
}

/// Builds the result of an op on `inputs` (on the first input's device), applying the depth
/// bound.
pub(crate) fn output(
    inputs: &[&MlxTensor],
    device: MlxDevice,
    op: &str,
    array: Array,
) -> MlxTensor {
    let depth = inputs.iter().map(|t| input_depth(t)).max().unwrap_or(0) + 1;
    let mut out = MlxTensor {
        array,
        device,
        depth,
    };
    if depth >= max_graph_depth() {
        run(device, op, || out.array.eval());
        out.depth = 0;
    }
    out
}

/// Runs an op on tensors and wraps its result.
pub(crate) fn op(
    inputs: &[&MlxTensor],
    op: &str,
    f: impl FnOnce() -> mlx::Result<Array>,
) -> MlxTensor {
    let device = inputs.first().map(|t| t.device).unwrap_or_default();
    let array = run(device, op, f);
    output(inputs, device, op, array)
}

/// Runs an op with several results.
pub(crate) fn op_multi(
    inputs: &[&MlxTensor],
    op: &str,
    f: impl FnOnce() -> mlx::Result<Vec<Array>>,
) -> Vec<MlxTensor> {
    let device = inputs.first().map(|t| t.device).unwrap_or_default();
    run(device, op, f)
        .into_iter()
        .map(|a| output(inputs, device, op, a))
        .collect()
}
