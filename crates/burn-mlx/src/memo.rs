//! Intermediates of a forward pass that Burn's autodiff would have the backward pass compute
//! again.
//!
//! Burn's GELU backward (`gelu_backward(x, grad)`) gets only the saved input, so it would take
//! `erf(x / √2)` a second time. MLX does not merge equal subgraphs, so that is a second pass
//! over the whole activation; on the CPU, where MLX's `erf` is scalar code, it cost a sixth of a
//! Transformer training step. The forward pass therefore leaves the `erf` here, keyed by its
//! input, for the backward pass to find:
//!
//! - An entry lives while its input does (under autodiff, the input is saved for the backward
//!   pass) and until the next host read or `sync` on the thread, which is where a training step
//!   ends. Native MLX keeps the same intermediate in its graph for its own backward pass.
//! - Without autodiff, the op consumes its input and nothing else holds it: the entry goes when
//!   the next one is added, or at the next read.
//!
//! Keys are identities, not values: the `Arc` of the input tensor, held weakly, so its address
//! cannot be reused while the entry exists. Tensors are immutable, so a hit is always the same
//! value. Each thread has its own short list (Burn runs a backward pass on the thread that
//! built the forward graph).
//!
//! Burn's `exp` backward pass takes `exp(x)` of the saved input again too. Its result is kept
//! only when something else holds the input as the forward pass runs (under autodiff, the
//! checkpoint of the input for that backward pass): in Burn's softmax that saves a second
//! exponential over the whole attention matrix per layer (on the CPU, MLX's `exp` is scalar
//! code), and the result is alive until then anyway, as the saved numerator of the division
//! that follows. An `exp` of an input nobody else holds keeps nothing, so that MLX can reuse its
//! buffer in the ops that follow. (`tanh`'s backward pass recomputes its result too, and is
//! left alone for that reason.)

use std::cell::RefCell;
use std::sync::{Arc, Weak};

use mlx::Array;

use crate::tensor::MlxTensor;

struct Entry {
    /// The op that left the intermediate (`"gelu"`).
    op: &'static str,
    input: Weak<Array>,
    array: Array,
}

/// At most this many entries; past it the oldest go (a hit is an optimization only).
const CAPACITY: usize = 256;

thread_local! {
    static ENTRIES: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

/// Leaves `array`, computed by `op` from `input`, for the backward pass.
pub(crate) fn keep(op: &'static str, input: &MlxTensor, array: Array) {
    let entry = Entry {
        op,
        input: Arc::downgrade(&input.array),
        array,
    };
    // Dropped after the borrow ends: dropping an entry frees MLX arrays.
    let dropped = ENTRIES.with_borrow_mut(|list| {
        let (live, mut dead): (Vec<Entry>, Vec<Entry>) = std::mem::take(list)
            .into_iter()
            .partition(|e| e.input.strong_count() > 0);
        *list = live;
        if list.len() >= CAPACITY {
            dead.push(list.remove(0));
        }
        list.push(entry);
        dead
    });
    drop(dropped);
}

/// The intermediate `op` left for `input`, if it is still here.
pub(crate) fn kept(op: &'static str, input: &MlxTensor) -> Option<Array> {
    ENTRIES.with_borrow(|list| {
        let key = Arc::as_ptr(&input.array);
        list.iter()
            .rev()
            .find(|e| e.op == op && std::ptr::eq(e.input.as_ptr(), key))
            .map(|e| e.array.clone())
    })
}

/// Forgets this thread's entries (a host read, `sync`).
pub(crate) fn clear() {
    let dropped = ENTRIES.with_borrow_mut(std::mem::take);
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

    fn held(key: *const Array) -> bool {
        ENTRIES.with_borrow(|list| list.iter().any(|e| std::ptr::eq(e.input.as_ptr(), key)))
    }

    #[test]
    fn an_intermediate_is_found_by_its_op_and_input() {
        let x = tensor(&[0.0, 1.0]);
        keep("gelu", &x, mlx::ops::erf(&x.array).unwrap());
        let found = kept("gelu", &x.clone()).expect("kept for x");
        assert_eq!(found.to_vec::<f32>().unwrap()[0], 0.0);
        // An equal but distinct input is another key, and ops do not mix.
        assert!(kept("gelu", &tensor(&[0.0, 1.0])).is_none());
        assert!(kept("other", &x).is_none());
    }

    #[test]
    fn exp_is_kept_only_for_an_input_held_elsewhere() {
        use burn_backend::ops::FloatTensorOps;
        type B = crate::Mlx;
        // Held elsewhere, as autodiff's checkpoint holds the input of `exp` for its backward.
        let x = tensor(&[0.0, 1.0]);
        let saved = x.clone();
        let y = B::float_exp(x);
        let kept_y = kept("exp", &saved).expect("exp of a saved input is kept");
        assert_eq!(
            kept_y.to_vec::<f32>().unwrap(),
            y.to_data().to_vec::<f32>().unwrap()
        );
        // An input nobody else holds: nothing kept, so MLX may reuse the result's buffer.
        let z = tensor(&[2.0]);
        let key = Arc::as_ptr(&z.array);
        let _ = B::float_exp(z);
        assert!(!held(key));
    }

    #[test]
    fn a_read_ends_every_entry() {
        let x = tensor(&[1.0]);
        keep("gelu", &x, mlx::ops::erf(&x.array).unwrap());
        let _ = x.to_data();
        assert!(kept("gelu", &x).is_none());
    }

    #[test]
    fn entries_go_when_their_input_dies() {
        let x = tensor(&[2.0]);
        keep("gelu", &x, mlx::ops::erf(&x.array).unwrap());
        let key = Arc::as_ptr(&x.array);
        assert!(held(key));
        drop(x);
        // Swept when the next entry is added: nothing stays for an input nobody can pass again.
        let y = tensor(&[3.0]);
        keep("gelu", &y, mlx::ops::erf(&y.array).unwrap());
        assert!(!held(key));
        assert!(kept("gelu", &y).is_some());
    }
}
