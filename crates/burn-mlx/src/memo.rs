//! Results that Burn's autodiff asks for twice.
//!
//! Burn's backward passes recompute some forward results from the saved input: `exp`'s backward
//! calls `exp` again on the same tensor, `tanh`'s calls `tanh`, and GELU's backward
//! (`gelu_backward`) needs the `erf` that the forward pass already took. MLX does not merge equal
//! subgraphs, so each recomputation would be a second pass over the whole tensor; on the CPU,
//! where MLX's `exp` and `erf` are scalar code, GELU's second `erf` alone cost a sixth of a
//! Transformer training step. The backend therefore remembers such results, keyed by the input
//! tensor, for as long as that input is alive:
//!
//! - under autodiff, the input is saved for the backward pass, so the result is kept until then,
//!   exactly as native MLX keeps it in its graph for its own backward pass;
//! - without autodiff (inference), the op consumes its input, nothing else holds it, and the
//!   entry is dropped at the next one added: no memory is kept past the op.
//!
//! Keys are identities, not values: the `Arc` of the input tensor, held weakly, so its address
//! cannot be reused while the entry exists. Tensors are immutable, so a hit is always the same
//! value. The list is bounded; `Backend::memory_cleanup` empties it.

use std::sync::{Arc, Mutex, Weak};

use mlx::Array;

use crate::tensor::MlxTensor;

/// What an entry holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `exp(input)`.
    Exp,
    /// `tanh(input)`.
    Tanh,
    /// GELU's `erf(input / √2)`.
    GeluErf,
}

struct Entry {
    kind: Kind,
    input: Weak<Array>,
    /// The result, for [`Kind::Exp`] and [`Kind::Tanh`].
    tensor: Option<MlxTensor>,
    /// The intermediate, for [`Kind::GeluErf`].
    array: Option<Array>,
}

/// At most this many entries; past it the oldest go (a hit is an optimization only).
const CAPACITY: usize = 256;

static ENTRIES: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

fn entries() -> std::sync::MutexGuard<'static, Vec<Entry>> {
    ENTRIES.lock().unwrap_or_else(|e| e.into_inner())
}

fn add(entry: Entry) {
    // Dropped outside the lock: freeing an MLX array takes MLX's graph lock.
    let mut dropped = Vec::new();
    {
        let mut list = entries();
        let mut i = 0;
        while i < list.len() {
            if list[i].input.strong_count() == 0 {
                dropped.push(list.remove(i));
            } else {
                i += 1;
            }
        }
        if list.len() >= CAPACITY {
            dropped.push(list.remove(0));
        }
        list.push(entry);
    }
    drop(dropped);
}

/// The entry for `kind` on `input`, if any.
fn find<R>(kind: Kind, input: &MlxTensor, get: impl FnOnce(&Entry) -> Option<R>) -> Option<R> {
    let list = entries();
    let e = list
        .iter()
        .rev()
        .find(|e| e.kind == kind && std::ptr::eq(e.input.as_ptr(), Arc::as_ptr(&input.array)))?;
    get(e)
}

/// `f(input)` for a pure unary op `kind` ([`Kind::Exp`], [`Kind::Tanh`]), or the result
/// remembered from an earlier call on the same input.
pub(crate) fn unary(kind: Kind, input: &MlxTensor, f: impl FnOnce() -> MlxTensor) -> MlxTensor {
    if let Some(hit) = find(kind, input, |e| e.tensor.clone()) {
        return hit;
    }
    let out = f();
    add(Entry {
        kind,
        input: Arc::downgrade(&input.array),
        tensor: Some(out.clone()),
        array: None,
    });
    out
}

/// Remembers an intermediate array computed from `input` (for [`Kind::GeluErf`]).
pub(crate) fn keep(kind: Kind, input: &MlxTensor, array: Array) {
    add(Entry {
        kind,
        input: Arc::downgrade(&input.array),
        tensor: None,
        array: Some(array),
    });
}

/// The intermediate array remembered for `kind` on `input`, if any.
pub(crate) fn kept(kind: Kind, input: &MlxTensor) -> Option<Array> {
    find(kind, input, |e| e.array.clone())
}

/// Forgets everything (`Backend::memory_cleanup`).
pub(crate) fn clear() {
    let dropped = std::mem::take(&mut *entries());
    drop(dropped);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MlxDevice;

    fn tensor(values: &[f32]) -> MlxTensor {
        MlxTensor::new(
            Array::from_slice(values, &[values.len() as i32]).unwrap(),
            MlxDevice::Cpu,
        )
    }

    fn exp(x: &MlxTensor) -> MlxTensor {
        unary(Kind::Exp, x, || {
            MlxTensor::new(mlx::ops::exp(&x.array).unwrap(), x.device)
        })
    }

    #[test]
    fn a_second_call_on_the_same_input_returns_the_first_result() {
        let x = tensor(&[0.0, 1.0]);
        let (a, b) = (exp(&x), exp(&x.clone()));
        assert!(Arc::ptr_eq(&a.array, &b.array));
        // An equal but distinct input is another key.
        let c = exp(&tensor(&[0.0, 1.0]));
        assert!(!Arc::ptr_eq(&a.array, &c.array));
        // Kinds do not mix.
        assert!(find(Kind::Tanh, &x, |e| e.tensor.clone()).is_none());
    }

    #[test]
    fn entries_go_when_their_input_dies() {
        let x = tensor(&[2.0]);
        let _ = exp(&x);
        let key = Arc::as_ptr(&x.array);
        let held = |key| {
            entries()
                .iter()
                .any(|e| std::ptr::eq(e.input.as_ptr(), key))
        };
        assert!(held(key));
        drop(x);
        // Swept when the next entry is added: nothing stays for an input nobody can pass again.
        let y = tensor(&[3.0]);
        keep(Kind::GeluErf, &y, y.array.as_ref().clone());
        assert!(!held(key));
        assert!(kept(Kind::GeluErf, &y).is_some());
    }
}
