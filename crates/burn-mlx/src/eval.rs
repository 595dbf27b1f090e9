//! When the backend evaluates MLX's lazy graph.
//!
//! MLX records ops and computes nothing until asked. That is what makes it fast, but a training
//! loop that never reads a value would keep every step's graph alive: each updated parameter
//! refers to its gradient, which refers to the whole forward and backward pass, which refers to
//! the previous parameters, and so on. The backend therefore evaluates at three points:
//!
//! 1. **Reading** (`into_data`, `into_scalar`, printing values): the tensor is computed. Its
//!    evaluation is started first, then that of every other tensor that the reading thread made
//!    and that is still pending ([`run_ahead`], on by default), and only then does the read wait,
//!    for its own tensor only. A training loop that reads its loss after the optimizer step has
//!    its backward pass and update scheduled while the device computes the forward pass, and
//!    computed while the program builds the next step, where the device would otherwise sit
//!    idle.
//! 2. **`Backend::sync`** (and `Backend::memory_cleanup`): every live tensor that still has
//!    pending ops is evaluated, in one batched MLX `eval`, and then the device is waited for. After
//!    `sync` returns, nothing the program can reach is pending, so a loop timed with `sync`
//!    measures compute, not graph building.
//! 3. **Depth bound**: every tensor remembers how many not-yet-evaluated ops lie behind it (the
//!    longest such chain). When an op would produce a tensor deeper than [`max_graph_depth`]
//!    (default 4096), that tensor's evaluation is started asynchronously (MLX's `async_eval`),
//!    and the program goes on building the next ops. Parameters updated by an optimizer grow
//!    deeper every step, so they are evaluated every few steps at the latest, and the graph kept
//!    in memory stays bounded whatever the program reads.
//!
//! The bound is a safety net for programs that read nothing, not a way to overlap building with
//! computing: a training loop that reads its loss every step should be evaluated whole at that
//! read. Evaluating part of a step early made every step slower (on an H100, a 4-layer
//! Transformer step took 33.9 ms with a bound of 256 against 18.3 ms without; on 2 CPU cores
//! 548 against 500 ms). A step of such a loop spans the previous step's backward pass and
//! update and this step's forward pass (512 to 768 ops deep for that Transformer), so the
//! default leaves room for models several times deeper.
//!
//! With compiled execution on ([`crate::compile`]), reads and `sync` evaluate the pending graph
//! through the compiled-region cache: a graph whose structure was seen before runs as one
//! compiled, fused MLX function. The depth bound does not: where it cuts a graph depends on how
//! deep the program has let it grow, so its regions rarely repeat (over 1,000 unread training
//! steps they took the resident memory from 47 to 101 MB and the step time from 8.5 to
//! 16.4 ms, against 56 MB and 8.5 ms evaluated as usual).
//!
//! Arrays that MLX already computed (because something that depends on them was evaluated)
//! count as depth 0. Asking MLX for that costs a walk of the pending graph, so the counts kept
//! on tensors serve until a result would reach the bound; then MLX measures the real chain of
//! pending ops behind it, so counts that went stale do not trigger evaluations.
//!
//! Tensors may be created, read, evaluated and dropped on any thread.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};

use mlx::{Array, Status};

use crate::device::MlxDevice;
use crate::tensor::MlxTensor;

/// 0 until set, or read from `BURN_MLX_MAX_GRAPH_DEPTH`.
static MAX_GRAPH_DEPTH: AtomicU32 = AtomicU32::new(0);

/// The default depth bound: deep enough that a training step of a usual model (reading its
/// loss every step) is evaluated whole where the program reads it, which is also what makes a
/// step one compiled region ([`crate::compile`]) whose structure repeats from step to step.
pub const DEFAULT_MAX_GRAPH_DEPTH: u32 = 4096;

/// The depth (ops not yet evaluated) at which a tensor is evaluated eagerly: the value given to
/// [`set_max_graph_depth`], else the environment variable `BURN_MLX_MAX_GRAPH_DEPTH`, else
/// [`DEFAULT_MAX_GRAPH_DEPTH`].
pub fn max_graph_depth() -> u32 {
    match MAX_GRAPH_DEPTH.load(Ordering::Relaxed) {
        0 => {
            static FROM_ENV: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
            let from_env = FROM_ENV.get_or_init(|| {
                std::env::var("BURN_MLX_MAX_GRAPH_DEPTH")
                    .ok()
                    .and_then(|v| v.trim().parse::<u32>().ok())
                    .map(|d| d.max(1))
            });
            from_env.unwrap_or(DEFAULT_MAX_GRAPH_DEPTH)
        }
        depth => depth,
    }
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

// ---- the tensors that may still be pending -------------------------------------------------------

/// Weak references to every tensor created with pending ops, so that `sync` can evaluate the
/// live ones, each with the thread that made it ([`thread_tag`]), so that a read starts only its
/// own thread's pending work ([`start_pending`]). Weak: the registry never keeps a graph alive.
/// Dead entries are dropped whenever the list has doubled since the last sweep, which keeps it
/// proportional to the live tensors.
struct Pending {
    arrays: Vec<(u32, Weak<Array>)>,
    /// Length after the last sweep.
    swept_len: usize,
}

static PENDING: Mutex<Pending> = Mutex::new(Pending {
    arrays: Vec::new(),
    swept_len: 0,
});

fn pending() -> std::sync::MutexGuard<'static, Pending> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

fn register(array: &Arc<Array>) {
    let mut p = pending();
    if p.arrays.len() >= (2 * p.swept_len).max(1024) {
        p.arrays.retain(|(_, w)| w.strong_count() > 0);
        p.swept_len = p.arrays.len();
    }
    p.arrays.push((thread_tag(), Arc::downgrade(array)));
}

/// Evaluates every live tensor that still has pending ops, in one MLX `eval`.
pub(crate) fn eval_pending() -> mlx::Result<()> {
    let live = take_live(None);
    if live.is_empty() {
        return Ok(());
    }
    let result = crate::compile::eval(live.iter().map(|(_, a)| &**a));
    if result.is_err() {
        // Keep them listed: a later `sync` reports the same error instead of skipping them.
        relist(&live);
    }
    result
}

/// Takes the live tensors out of the registry: every thread's, or only those `thread` made.
fn take_live(thread: Option<u32>) -> Vec<(u32, Arc<Array>)> {
    let taken = {
        let mut p = pending();
        // Sized once, and the registry keeps its capacity: a read every training step would
        // otherwise grow both lists again from nothing, a dozen reallocations per read.
        let taken = match thread {
            None => p.arrays.drain(..).collect(),
            Some(tag) => {
                let mut taken = Vec::with_capacity(p.arrays.len());
                p.arrays.retain(|(t, w)| {
                    if *t == tag {
                        taken.push((tag, w.clone()));
                    }
                    *t != tag
                });
                taken
            }
        };
        p.swept_len = p.swept_len.min(p.arrays.len());
        taken
    };
    taken
        .into_iter()
        .filter_map(|(tag, w)| Some((tag, w.upgrade()?)))
        .collect()
}

/// Puts tensors back into the registry.
fn relist(live: &[(u32, Arc<Array>)]) {
    let mut p = pending();
    p.arrays
        .extend(live.iter().map(|(tag, a)| (*tag, Arc::downgrade(a))));
}

/// A small number naming the calling thread (cheaper to compare than a `ThreadId`).
fn thread_tag() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    thread_local! {
        static TAG: u32 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    TAG.with(|t| *t)
}

/// On unless `BURN_MLX_RUN_AHEAD=0`.
static RUN_AHEAD: crate::switch::Switch = crate::switch::Switch::new("BURN_MLX_RUN_AHEAD", true);

/// Whether a read of a tensor also starts computing every other live tensor that the reading
/// thread made and that is still pending (on by default; `BURN_MLX_RUN_AHEAD=0` or
/// [`set_run_ahead`]`(false)` turns it off).
///
/// A training loop that reads its loss after the optimizer step has, at that read, built the
/// step's backward pass and parameter update too; the read itself needs only the forward pass.
/// Started with the read (MLX's `async_eval`, after the read's own tensor, which is all the
/// read waits for), the rest runs on the device while the program builds the next step,
/// instead of after it: the time spent issuing ops, during which the device would otherwise
/// sit idle, overlaps with compute. On an H200, scheduling the rest before waiting for the read
/// (rather than after) took the benchmark's MLP, CNN and Transformer training steps from 1.40,
/// 2.54 and 15.7 ms to 1.02, 2.12 and 12.8 (the first of three alternations on one machine;
/// in all three, every training step was faster, compiled or not).
pub fn run_ahead() -> bool {
    RUN_AHEAD.get()
}

/// Turns [`run_ahead`] on or off for the whole process (overrides `BURN_MLX_RUN_AHEAD`).
pub fn set_run_ahead(on: bool) {
    RUN_AHEAD.set(on);
}

/// Starts a read of `arrays` without waiting for it: ends what [`crate::memo`] keeps, starts
/// the arrays not yet scheduled, then the reading thread's other pending work
/// ([`start_pending`]). The reader then waits for each array on its own
/// ([`MlxTensor::started_to_data`]), so the host schedules the rest while the device computes
/// what the read needs.
pub(crate) fn start_read<'a>(arrays: impl IntoIterator<Item = &'a Array>) -> mlx::Result<()> {
    crate::memo::clear();
    let unscheduled: Vec<&Array> = arrays
        .into_iter()
        .filter(|a| a.status() == Status::Unscheduled)
        .collect();
    if !unscheduled.is_empty() {
        crate::compile::async_eval(unscheduled)?;
    }
    start_pending();
    Ok(())
}

/// At a read, once the read's own tensor is started: starts evaluating every live tensor that
/// the reading thread made and that still has pending ops, without waiting for it
/// ([`run_ahead`]). Other threads' tensors are left alone: they may be halfway through building
/// a graph that is better evaluated whole.
/// The started tensors leave the registry: once scheduled, MLX computes them, and `sync` waits
/// for the device anyway. An error here is not the reader's: the tensors go back to the
/// registry, and the read or `sync` that needs them reports it.
pub(crate) fn start_pending() {
    if !run_ahead() {
        return;
    }
    let live: Vec<(u32, Arc<Array>)> = take_live(Some(thread_tag()))
        .into_iter()
        .filter(|(_, a)| a.status() == Status::Unscheduled)
        .collect();
    if !live.is_empty() && crate::compile::async_eval(live.iter().map(|(_, a)| &**a)).is_err() {
        relist(&live);
    }
}

/// The live tensors' arrays that were pending when made. Copied out of the registry first:
/// asking MLX anything takes its graph lock, never while holding this mutex.
fn live_pending() -> Vec<Arc<Array>> {
    let weak: Vec<Weak<Array>> = pending().arrays.iter().map(|(_, w)| w.clone()).collect();
    weak.iter().filter_map(Weak::upgrade).collect()
}

/// How many tensors with pending ops are alive (for tests and diagnostics).
pub fn pending_count() -> usize {
    live_pending()
        .iter()
        .filter(|a| a.status() != Status::Available)
        .count()
}

/// The pending MLX graph behind every live tensor, in Graphviz DOT form (`mx.export_to_dot`):
/// one rectangle per MLX primitive that the next `sync` would run. For diagnostics: counting
/// the primitives of one training step shows what Burn's ops became in MLX (raise
/// [`set_max_graph_depth`] first, so that the depth bound evaluates nothing mid-step).
pub fn pending_graph_dot() -> mlx::Result<String> {
    mlx::export_to_dot(live_pending().iter().map(|a| &**a))
}

// ---- building results ------------------------------------------------------------------------------

/// Wraps the result of an op on `inputs` (on `device`), applying the depth bound.
pub(crate) fn output(
    inputs: &[&MlxTensor],
    device: MlxDevice,
    op: &str,
    array: Array,
) -> MlxTensor {
    let bound = max_graph_depth();
    let now = epoch();
    let mut depth = inputs
        .iter()
        .map(|t| t.pending_depth(now))
        .max()
        .unwrap_or(0)
        + 1;
    if depth >= bound {
        // Depths are counted when tensors are made, so they only bound the real chain: inputs
        // computed since then (an optimizer's parameters, computed one step after they were
        // made) still carry their old counts. Only now ask MLX for the real chain behind the
        // result; the walk stops at computed arrays.
        depth = run(device, op, || array.pending_depth(bound));
    }
    let array = Arc::new(array);
    if depth >= bound {
        // Not through the compiled-region cache: where a chain crosses the bound depends on
        // how deep the program's graph has grown, not on where a step ends, so these regions
        // rarely repeat, and each would fill the cache with a structure as deep as the bound.
        run(device, op, || {
            next_epoch();
            mlx::async_eval([&*array])
        });
        depth = 0;
    }
    register(&array);
    MlxTensor {
        array,
        device,
        depth,
        epoch: now,
        channels_last: false,
        index_bound: 0,
    }
}

/// Evaluations started by the backend so far (a read, `sync`, the depth bound): tensors made
/// in an earlier epoch may have been computed since.
static EPOCH: AtomicU32 = AtomicU32::new(0);

/// The current evaluation epoch.
pub(crate) fn epoch() -> u32 {
    EPOCH.load(Ordering::Relaxed)
}

/// Marks the start of an evaluation (see [`epoch`]).
pub(crate) fn next_epoch() {
    EPOCH.fetch_add(1, Ordering::Relaxed);
}

impl MlxTensor {
    /// The longest chain of pending ops behind this tensor, as far as known: its count, unless
    /// an evaluation started since it was counted and MLX has computed or scheduled the array
    /// (then 0). Without this, parameters and optimizer state computed in the previous step
    /// would carry their old counts into every op that uses them, and reaching the bound would
    /// make MLX walk the whole pending graph again and again (one status query instead, once
    /// per use in a later epoch).
    fn pending_depth(&self, now: u32) -> u32 {
        if self.depth == 0 || self.epoch == now || self.array.status() == Status::Unscheduled {
            self.depth
        } else {
            0
        }
    }
}

/// Wraps a freshly created lazy array (a fill, a random draw, a range): pending, depth 1.
pub(crate) fn created(array: Array, device: MlxDevice) -> MlxTensor {
    output(&[], device, "create", array)
}

/// Runs an op on tensors and wraps its result.
pub(crate) fn op(
    inputs: &[&MlxTensor],
    op: &str,
    f: impl FnOnce() -> mlx::Result<Array>,
) -> MlxTensor {
    op_routed(inputs, op, false, f)
}

/// Runs an op on tensors and wraps its result; with `cpu_only` (an op MLX's GPU backends lack,
/// such as an int64 scatter or a cast to float64), a GPU tensor's op runs on MLX's CPU stream.
/// Ops reading float64 always do (see [`crate::tensor::exec_device`]).
pub(crate) fn op_routed(
    inputs: &[&MlxTensor],
    op: &str,
    cpu_only: bool,
    f: impl FnOnce() -> mlx::Result<Array>,
) -> MlxTensor {
    let (device, array) = run_routed(inputs, cpu_only, op, f, |a| vec![a]);
    output(inputs, device, op, array)
}

/// Runs an op on `inputs` on the stream [`op_exec_device`] picks; returns the inputs' device and
/// the op's result (whose arrays `arrays_of` lists). Where that stream is the CPU's for GPU
/// tensors, the arrays crossing between the streams are settled first (see [`settle`]).
fn run_routed<R>(
    inputs: &[&MlxTensor],
    cpu_only: bool,
    op: &str,
    f: impl FnOnce() -> mlx::Result<R>,
    arrays_of: impl Fn(&R) -> Vec<&Array>,
) -> (MlxDevice, R) {
    let device = inputs.first().map(|t| t.device).unwrap_or_default();
    let exec = op_exec_device(device, inputs, cpu_only);
    let crossing = exec != device;
    if crossing {
        settle(inputs.iter().map(|t| &*t.array), op);
    }
    let result = run(exec, op, f);
    if crossing {
        settle(arrays_of(&result).into_iter(), op);
    }
    (device, result)
}

/// Computes the arrays of a GPU tensor op that runs on MLX's CPU stream (see
/// [`op_exec_device`]) whose values cross between the streams: the inputs the GPU stream made,
/// before the op; the results the GPU stream will read, after it. Float64 arrays stay on the CPU
/// stream (every op reading them runs there), so they are left pending. Lazy edges between the
/// two streams of MLX's CUDA build can stall its evaluation; computed arrays carry no edge.
fn settle<'a>(arrays: impl Iterator<Item = &'a Array>, op: &str) {
    let crossing: Vec<&Array> = arrays
        .filter(|a| !crate::tensor::gpu_lacks(a.dtype()))
        .collect();
    if !crossing.is_empty() {
        mlx::eval(crossing).unwrap_or_else(|e| panic!("burn-mlx: {op}: {e}"));
    }
}

/// The device whose stream runs an op on `inputs` (all on `device`): the CPU for a GPU op that
/// MLX's GPU backends lack. Costs nothing on the CPU device.
fn op_exec_device(device: MlxDevice, inputs: &[&MlxTensor], cpu_only: bool) -> MlxDevice {
    let cpu_only = device == MlxDevice::Gpu
        && (cpu_only
            || inputs
                .iter()
                .any(|t| crate::tensor::gpu_lacks(t.array.dtype())));
    crate::tensor::exec_device(device, cpu_only)
}

/// Runs an op with several results.
pub(crate) fn op_multi(
    inputs: &[&MlxTensor],
    op: &str,
    f: impl FnOnce() -> mlx::Result<Vec<Array>>,
) -> Vec<MlxTensor> {
    let (device, arrays) = run_routed(inputs, false, op, f, |v| v.iter().collect());
    arrays
        .into_iter()
        .map(|a| output(inputs, device, op, a))
        .collect()
}

#[cfg(test)]
mod tests {
    use burn_backend::TensorData;
    use mlx::{Array, Dtype, Status};

    use super::{op, set_run_ahead, settle};
    use crate::{MlxDevice, MlxTensor};

    #[test]
    fn a_read_starts_the_pending_tensors_of_its_own_thread_only() {
        set_run_ahead(true);
        let exp_of = |values: [f32; 3]| {
            let t = MlxTensor::from_data(TensorData::new(values.to_vec(), [3]), MlxDevice::Cpu);
            op(&[&t], "exp", || mlx::ops::exp(&t.array))
        };
        let mine = exp_of([0.0, 1.0, 2.0]);
        let read = exp_of([1.0, 1.0, 1.0]);
        let theirs = std::thread::spawn(move || exp_of([3.0, 4.0, 5.0]))
            .join()
            .unwrap();
        assert_eq!(mine.array.status(), Status::Unscheduled);
        let _ = read.to_data();
        assert_ne!(mine.array.status(), Status::Unscheduled);
        assert_eq!(theirs.array.status(), Status::Unscheduled);
        let values = mine.to_data().to_vec::<f32>().unwrap();
        let expected = [1.0f32, 1.0f32.exp(), 2.0f32.exp()];
        assert!(
            values
                .iter()
                .zip(expected)
                .all(|(v, e)| (v - e).abs() < 1e-6)
        );
    }

    #[test]
    fn a_read_of_a_tensor_already_started_waits_for_its_values() {
        let input: Vec<f32> = (0..4096).map(|i| i as f32 * 1e-3).collect();
        let t = MlxTensor::from_data(TensorData::new(input.clone(), [4096]), MlxDevice::Cpu);
        let mut y = op(&[&t], "exp", || mlx::ops::exp(&t.array));
        for _ in 0..4 {
            let x = y;
            y = op(&[&x], "sqrt", || mlx::ops::sqrt(&x.array));
        }
        // Started elsewhere (as the depth bound or another read would): the read only waits.
        mlx::async_eval([&*y.array]).unwrap();
        assert_ne!(y.array.status(), Status::Unscheduled);
        let values = y.to_data().to_vec::<f32>().unwrap();
        assert_eq!(y.array.status(), Status::Available);
        for (v, x) in values.iter().zip(&input) {
            let expected = (x / 16.0).exp();
            assert!(
                (v - expected).abs() < 1e-5 * expected,
                "{v} against {expected}"
            );
        }
    }

    #[test]
    fn settling_computes_the_arrays_that_cross_streams_and_leaves_float64_pending() {
        // On the CPU stream, which has float64 wherever this runs.
        let cpu = crate::MlxDevice::Cpu.stream();
        let (single, ints, wide) = mlx::with_stream(cpu, || {
            let base = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
            let single = &base + &base;
            let ints = single.astype(Dtype::Int64).unwrap();
            (single, ints, base.astype(Dtype::Float64).unwrap())
        });
        settle([&single, &ints, &wide].into_iter(), "test");
        assert_eq!(single.status(), Status::Available);
        assert_eq!(ints.status(), Status::Available);
        assert_eq!(wide.status(), Status::Unscheduled);
        assert_eq!(ints.to_vec::<i64>().unwrap(), vec![2, 4]);
    }
}
