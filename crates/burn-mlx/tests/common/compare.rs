//! Comparing MLX's results with the oracle's: shapes equal, ints and bools exact, floats within
//! a [`Tol`] (NaN matches NaN, infinities match by sign).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use burn::tensor::Tensor;
use burn_backend::{Backend, DType, TensorData};

use super::{BOOL, Prec, Tol, rng::numel};

/// Compares MLX's outputs with the oracle's, dtypes included (the oracle computes F16/BF16
/// cases in F32).
pub fn assert_outputs(label: &str, prec: Prec, tol: Tol, got: &[TensorData], want: &[TensorData]) {
    assert_eq!(got.len(), want.len(), "{label}: number of outputs");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let label = output_label(label, i, got.len());
        assert_dtype(&label, prec, g.dtype, w.dtype);
        assert_data_close(&label, g, w, tol);
    }
}

/// Compares lists of outputs value by value, whatever their dtypes.
pub fn assert_all_close(label: &str, got: &[TensorData], want: &[TensorData], tol: Tol) {
    assert_eq!(got.len(), want.len(), "{label}: number of outputs");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_data_close(&output_label(label, i, got.len()), g, w, tol);
    }
}

fn output_label(label: &str, i: usize, outputs: usize) -> String {
    if outputs > 1 {
        format!("{label} output {i}")
    } else {
        label.to_string()
    }
}

fn assert_dtype(label: &str, prec: Prec, got: DType, want: DType) {
    // Exact (bool stores too), except that F16/BF16 results meet the oracle's F32.
    let ok = got == want || (prec.is_half() && want == DType::F32 && got == prec.dtype());
    assert!(ok, "{label}: dtype {got:?}, expected {want:?}");
}

/// Element values widened for comparison.
enum Widened {
    Float(Vec<f64>),
    Int(Vec<i128>),
    Bool(Vec<bool>),
}

fn widen(d: &TensorData) -> Widened {
    match d.dtype {
        t if t.is_float() => Widened::Float(d.iter::<f64>().collect()),
        DType::U64 => Widened::Int(d.iter::<u64>().map(|v| v as i128).collect()),
        t if t.is_int() || t.is_uint() => {
            Widened::Int(d.iter::<i64>().map(|v| v as i128).collect())
        }
        DType::Bool(_) => Widened::Bool(d.clone().convert_dtype(BOOL).iter::<bool>().collect()),
        t => panic!("cannot compare {t:?}"),
    }
}

/// Element values of numeric data (floats or ints) as f64.
pub fn values(data: &TensorData) -> Vec<f64> {
    data.clone()
        .convert::<f64>()
        .to_vec::<f64>()
        .expect("numeric data")
}

/// Float closeness: NaN matches NaN, infinities match by sign, else within `tol`.
pub fn close(g: f64, w: f64, tol: Tol) -> bool {
    if w.is_nan() || g.is_nan() {
        return w.is_nan() && g.is_nan();
    }
    if w.is_infinite() || g.is_infinite() {
        return g == w;
    }
    (g - w).abs() <= tol.abs + tol.rel * w.abs()
}

/// Asserts equal shapes and element values within `tol` (exact for ints and bools; float
/// results against int expectations within `tol`).
pub fn assert_data_close(label: &str, got: &TensorData, want: &TensorData, tol: Tol) {
    assert_eq!(got.shape, want.shape, "{label}: shape");
    let bad: Vec<String> = match (widen(got), widen(want)) {
        (Widened::Float(g), Widened::Float(w)) => mismatches(&g, &w, |a, b| close(*a, *b, tol)),
        (Widened::Int(g), Widened::Int(w)) => mismatches(&g, &w, |a, b| a == b),
        (Widened::Bool(g), Widened::Bool(w)) => mismatches(&g, &w, |a, b| a == b),
        (Widened::Float(g), Widened::Int(w)) => {
            let w: Vec<f64> = w.iter().map(|v| *v as f64).collect();
            mismatches(&g, &w, |a, b| close(*a, *b, tol))
        }
        _ => panic!(
            "{label}: cannot compare {:?} with {:?}",
            got.dtype, want.dtype
        ),
    };
    if !bad.is_empty() {
        panic!(
            "{label}: {} mismatched element(s) of {} (shape {:?}, tol {tol:?}):\n  {}",
            bad.len(),
            numel(want.shape.as_slice()),
            want.shape.as_slice(),
            bad.iter().take(8).cloned().collect::<Vec<_>>().join("\n  ")
        );
    }
}

/// [`assert_data_close`] on two tensors, of any backends.
pub fn assert_tensors_close<B1: Backend, B2: Backend, const D: usize>(
    label: &str,
    got: Tensor<B1, D>,
    want: Tensor<B2, D>,
    tol: Tol,
) {
    assert_data_close(label, &got.into_data(), &want.into_data(), tol);
}

/// [`assert_data_close`] within `k` times the largest magnitude of `want` (at least `k`):
/// see [`Tol::of_largest`].
pub fn assert_close_to_largest(label: &str, got: &TensorData, want: &TensorData, k: f64) {
    assert_data_close(label, got, want, Tol::of_largest(k, want));
}

fn mismatches<T: std::fmt::Debug>(g: &[T], w: &[T], eq: impl Fn(&T, &T) -> bool) -> Vec<String> {
    g.iter()
        .zip(w)
        .enumerate()
        .filter(|(_, (a, b))| !eq(a, b))
        .map(|(i, (a, b))| format!("[{i}] got {a:?}, expected {b:?}"))
        .collect()
}

/// Asserts that `f` panics with a message containing `needle`.
pub fn assert_panics<R>(label: &str, needle: &str, f: impl FnOnce() -> R) {
    let Err(err) = catch_unwind(AssertUnwindSafe(f)) else {
        panic!("{label}: expected a panic mentioning {needle:?}")
    };
    let msg = message(err);
    assert!(
        msg.contains(needle),
        "{label}: panic message {msg:?} lacks {needle:?}"
    );
}

/// The message of the panic `f` raises (for checks of several parts of it).
pub fn panic_message<R>(f: impl FnOnce() -> R) -> String {
    message(
        catch_unwind(AssertUnwindSafe(f))
            .err()
            .expect("expected a panic"),
    )
}

fn message(err: Box<dyn Any + Send>) -> String {
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}
