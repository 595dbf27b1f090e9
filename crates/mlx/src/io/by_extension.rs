//! Loading and saving with the format chosen from the file's extension (MLX's `mx.load`).

use std::collections::HashMap;
use std::path::Path;

use crate::array::Array;
use crate::error::{Error, Result};

/// What [`load`] read: one array (`.npy`) or named arrays (the other formats).
#[derive(Debug, Clone)]
pub enum Loaded {
    /// The array of a `.npy` file.
    Array(Array),
    /// The arrays of a `.npz`, `.safetensors` or `.gguf` file, by name (metadata is dropped:
    /// use the format's own loader to read it).
    Arrays(HashMap<String, Array>),
}

impl Loaded {
    /// The single array, or an error naming what the file held instead.
    pub fn into_array(self) -> Result<Array> {
        match self {
            Loaded::Array(a) => Ok(a),
            Loaded::Arrays(m) => Err(Error::InvalidArgument(format!(
                "[load] the file holds {} named arrays, not one array",
                m.len()
            ))),
        }
    }

    /// The named arrays; a `.npy` file's array is named `"arr_0"` (NumPy's name for unnamed
    /// arrays in an archive).
    pub fn into_arrays(self) -> HashMap<String, Array> {
        match self {
            Loaded::Array(a) => HashMap::from([("arr_0".to_string(), a)]),
            Loaded::Arrays(m) => m,
        }
    }
}

/// The file format an extension names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Npy,
    Npz,
    Safetensors,
    Gguf,
}

fn format_of(path: &Path, what: &str) -> Result<Format> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("npy") => Ok(Format::Npy),
        Some("npz") => Ok(Format::Npz),
        Some("safetensors") => Ok(Format::Safetensors),
        Some("gguf") => Ok(Format::Gguf),
        _ => Err(Error::InvalidArgument(format!(
            "[{what}] cannot tell the format of {}: the extension must be .npy, .npz, \
             .safetensors or .gguf",
            path.display()
        ))),
    }
}

/// Reads `path` in the format its extension names: `.npy`, `.npz`, `.safetensors` or `.gguf`
/// (Python MLX's `mx.load`, without its `format` argument: rename the file or call the
/// format's loader instead).
pub fn load(path: impl AsRef<Path>) -> Result<Loaded> {
    let path = path.as_ref();
    Ok(match format_of(path, "load")? {
        Format::Npy => Loaded::Array(super::load_npy(path)?),
        Format::Npz => Loaded::Arrays(super::load_npz(path)?),
        Format::Safetensors => Loaded::Arrays(super::load_safetensors(path)?.0),
        Format::Gguf => Loaded::Arrays(super::load_gguf(path)?.0),
    })
}

/// Writes named arrays to `path` in the format its extension names: `.npz` (uncompressed),
/// `.safetensors` or `.gguf` (no metadata), or `.npy` when there is exactly one array.
pub fn save(path: impl AsRef<Path>, arrays: &HashMap<String, Array>) -> Result<()> {
    let path = path.as_ref();
    match format_of(path, "save")? {
        Format::Npy => match arrays.values().next() {
            Some(a) if arrays.len() == 1 => super::save_npy(path, a),
            _ => Err(Error::InvalidArgument(format!(
                "[save] a .npy file holds exactly one array, {} given",
                arrays.len()
            ))),
        },
        Format::Npz => super::save_npz(path, arrays.iter().map(|(k, v)| (k.as_str(), v))),
        Format::Safetensors => super::save_safetensors(path, arrays, &HashMap::new()),
        Format::Gguf => super::save_gguf(path, arrays, &HashMap::new()),
    }
}
