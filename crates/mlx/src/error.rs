//! The crate's error type.

use std::ffi::CStr;

use mlx_sys as sys;

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// MLX rejected the call; the message is MLX's own (e.g. `[reshape] Cannot reshape array of
    /// size 6 into shape (4).`).
    #[error("{0}")]
    Mlx(String),
    /// An argument was rejected on the Rust side before reaching MLX.
    #[error("{0}")]
    InvalidArgument(String),
    /// A closure passed to a transform failed or panicked.
    #[error("closure failed: {0}")]
    Closure(String),
    /// Reading or writing a file failed.
    #[error("{0}")]
    Io(String),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The error message without the variant's decoration.
    pub fn message(&self) -> &str {
        match self {
            Error::Mlx(m) | Error::InvalidArgument(m) | Error::Closure(m) | Error::Io(m) => m,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

/// The message of the last failed mlxc call on this thread.
pub(crate) fn last_error() -> Error {
    // SAFETY: mlxc_last_error returns a valid NUL-terminated string owned by the library.
    let message = unsafe { CStr::from_ptr(sys::mlxc_last_error()) };
    Error::Mlx(message.to_string_lossy().into_owned())
}

/// Turns an mlxc status code into a `Result`.
pub(crate) fn check(status: std::os::raw::c_int) -> Result<()> {
    if status == 0 {
        Ok(())
    } else {
        Err(last_error())
    }
}

/// Shorthand for argument errors.
pub(crate) fn invalid<T>(message: impl Into<String>) -> Result<T> {
    Err(Error::InvalidArgument(message.into()))
}
