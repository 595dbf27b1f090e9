//! A process-wide on/off setting that an environment variable can set, and code can override.

use std::sync::atomic::{AtomicU8, Ordering};

const UNSET: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

/// A setting read once from `var` (`1`: on, `0`: off, unset or anything else: `default`),
/// unless [`Switch::set`] decided first.
pub(crate) struct Switch {
    state: AtomicU8,
    var: &'static str,
    default: bool,
}

impl Switch {
    pub(crate) const fn new(var: &'static str, default: bool) -> Self {
        Switch {
            state: AtomicU8::new(UNSET),
            var,
            default,
        }
    }

    /// Whether the setting is on.
    pub(crate) fn get(&self) -> bool {
        match self.state.load(Ordering::Relaxed) {
            ON => true,
            OFF => false,
            _ => {
                let on = match std::env::var(self.var).as_deref().map(str::trim) {
                    Ok("1") => true,
                    Ok("0") => false,
                    _ => self.default,
                };
                // Another thread may have decided meanwhile; the first decision stands.
                let _ = self.state.compare_exchange(
                    UNSET,
                    if on { ON } else { OFF },
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                self.state.load(Ordering::Relaxed) == ON
            }
        }
    }

    /// Sets the setting for the whole process (overrides the environment variable).
    pub(crate) fn set(&self, on: bool) {
        self.state
            .store(if on { ON } else { OFF }, Ordering::Relaxed);
    }
}
