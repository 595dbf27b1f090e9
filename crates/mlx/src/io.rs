//! Reading and writing arrays: safetensors, GGUF, NumPy's `.npy` and `.npz`, each with its
//! own functions, or by extension with [`load`] and [`save`].
//!
//! Paths are used exactly as given: unlike MLX's Python API, no `.npy`, `.safetensors` or
//! `.gguf` suffix is appended. Loading reads the whole file at once (on the CPU), so a missing,
//! truncated or corrupt file is reported by the load call, as `Err` with the reason, and the
//! file may be changed or removed afterwards.
//!
//! ```no_run
//! use std::collections::HashMap;
//!
//! let mut arrays = HashMap::new();
//! arrays.insert("w".to_string(), mlx::Array::ones::<f32>(&[2, 3])?);
//! let metadata = HashMap::from([("format".to_string(), "mlx".to_string())]);
//! mlx::io::save_safetensors("model.safetensors", &arrays, &metadata)?;
//! let (loaded, meta) = mlx::io::load_safetensors("model.safetensors")?;
//! assert_eq!(loaded["w"].shape(), &[2, 3]);
//! assert_eq!(meta["format"], "mlx");
//! # Ok::<(), mlx::Error>(())
//! ```

mod by_extension;
mod gguf;

pub use by_extension::{Loaded, load, save};
pub use gguf::{GgufMeta, load_gguf, save_gguf};

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::os::raw::c_char;
use std::path::Path;

use mlx_sys as sys;

use crate::array::Array;
use crate::error::{Error, Result, check};

fn c_string(s: &str, what: &str) -> Result<CString> {
    CString::new(s)
        .map_err(|_| Error::InvalidArgument(format!("{what} {s:?} contains a NUL character")))
}

pub(crate) fn c_path(path: &Path) -> Result<CString> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        CString::new(path.as_os_str().as_bytes())
            .map_err(|_| Error::InvalidArgument(format!("path {path:?} contains a NUL character")))
    }
    #[cfg(not(unix))]
    {
        let s = path
            .to_str()
            .ok_or_else(|| Error::InvalidArgument(format!("path {path:?} is not valid UTF-8")))?;
        c_string(s, "path")
    }
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io(format!("{}: {e}", path.display()))
}

/// Copies a string that mlxc returns as pointer and length.
fn borrowed_str(f: impl FnOnce(&mut usize) -> *const c_char) -> String {
    let mut len = 0usize;
    let ptr = f(&mut len);
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: mlxc returned `len` readable bytes that live as long as the map.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    String::from_utf8_lossy(bytes).into_owned()
}

// ---- .npy ----------------------------------------------------------------------------------------

/// Where the data of a `.npy` file starts and how long it is, after checking the header.
///
/// MLX's parser expects NumPy's own header layout (`{'descr': '<f4', 'fortran_order': False,
/// 'shape': (…), }`); checking it here turns anything else into an error message instead of
/// undefined reads.
struct NpyLayout {
    data_offset: usize,
    data_len: u128,
}

const NPY_MAGIC: &[u8] = b"\x93NUMPY";
const NPY_MAX_HEADER: usize = 1 << 20;

/// Reads the header from `prefix` (the first bytes of the file; at least the header is needed).
fn parse_npy_header(prefix: &[u8], what: &str) -> Result<NpyLayout> {
    let bad = |m: String| Err(Error::Io(format!("[load_npy] {what}: {m}")));
    if prefix.len() < 10 || &prefix[..6] != NPY_MAGIC {
        return bad("not a .npy file (no NUMPY magic string)".into());
    }
    let (header_start, header_len) = match prefix[6] {
        1 => (10, usize::from(u16::from_le_bytes([prefix[8], prefix[9]]))),
        2 if prefix.len() >= 12 => (
            12,
            u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]) as usize,
        ),
        v => return bad(format!("unsupported .npy format version {v}")),
    };
    if header_len > NPY_MAX_HEADER {
        return bad(format!("header of {header_len} bytes is too large"));
    }
    let Some(header) = prefix.get(header_start..header_start + header_len) else {
        return bad(format!(
            "truncated header ({header_len} bytes announced, {} present)",
            prefix.len().saturating_sub(header_start)
        ));
    };
    let Ok(header) = std::str::from_utf8(header) else {
        return bad("header is not text".into());
    };
    const LEAD: &str = "{'descr': '";
    const MIDDLE: &str = "', 'fortran_order': ";
    if header.len() < 35
        || !header.starts_with(LEAD)
        || header.get(14..34) != Some(MIDDLE)
        || !matches!(&header[34..35], "T" | "F")
    {
        return bad(format!("unsupported header layout {header:?}"));
    }
    let descr = &header[11..14];
    let itemsize: u128 = match &descr[1..] {
        "b1" | "i1" | "u1" => 1,
        "i2" | "u2" | "f2" | "V2" => 2,
        "i4" | "u4" | "f4" => 4,
        "i8" | "u8" | "f8" | "c8" => 8,
        _ => return bad(format!("unsupported dtype '{descr}'")),
    };
    if !matches!(&descr[..1], "<" | ">" | "|" | "=") {
        return bad(format!("unsupported byte order in dtype '{descr}'"));
    }
    let (Some(open), Some(close)) = (header.rfind('('), header.rfind(')')) else {
        return bad(format!("no shape in header {header:?}"));
    };
    if close < open {
        return bad(format!("malformed shape in header {header:?}"));
    }
    let mut count: u128 = 1;
    for dim in header[open + 1..close].split(',') {
        let dim = dim.trim();
        if dim.is_empty() {
            continue;
        }
        let Ok(d) = dim.parse::<i32>() else {
            return bad(format!("bad dimension '{dim}' in header {header:?}"));
        };
        if d < 0 {
            return bad(format!("negative dimension {d}"));
        }
        count *= d as u128;
    }
    Ok(NpyLayout {
        data_offset: header_start + header_len,
        data_len: count * itemsize,
    })
}

fn check_npy_bytes(bytes: &[u8], what: &str) -> Result<()> {
    let layout = parse_npy_header(bytes, what)?;
    let present = (bytes.len() - layout.data_offset) as u128;
    if present < layout.data_len {
        return Err(Error::Io(format!(
            "[load_npy] {what}: truncated data ({} bytes expected, {present} present)",
            layout.data_len
        )));
    }
    Ok(())
}

/// Writes `a` to `path` in NumPy's `.npy` format. bfloat16, which NumPy lacks, is written with
/// the `V2` type code, as MLX does.
pub fn save_npy(path: impl AsRef<Path>, a: &Array) -> Result<()> {
    let path = path.as_ref();
    let p = c_path(path)?;
    // SAFETY: valid C string and handle.
    without_partial_file(path, || {
        check(unsafe { sys::mlxc_save_npy(p.as_ptr(), a.as_raw()) })
    })
}

/// Runs a save; if it fails and `path` did not exist before, removes what it left behind.
fn without_partial_file(path: &Path, save: impl FnOnce() -> Result<()>) -> Result<()> {
    let existed = path.exists();
    let result = save();
    if result.is_err() && !existed {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// Reads a `.npy` file (any dtype MLX has, little- or big-endian, C or Fortran order, any
/// number of dimensions including 0).
pub fn load_npy(path: impl AsRef<Path>) -> Result<Array> {
    let path = path.as_ref();
    let mut file = File::open(path).map_err(|e| io_error(path, e))?;
    let total = file.metadata().map_err(|e| io_error(path, e))?.len();
    // The fixed part (magic, version, header length), then the header it announces.
    let mut prefix = Vec::new();
    (&mut file)
        .take(12)
        .read_to_end(&mut prefix)
        .map_err(|e| io_error(path, e))?;
    let announced = match prefix.get(6) {
        Some(1) if prefix.len() >= 10 => {
            10 + usize::from(u16::from_le_bytes([prefix[8], prefix[9]]))
        }
        Some(2) if prefix.len() >= 12 => {
            12 + u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]) as usize
        }
        _ => 0,
    };
    let rest = announced
        .min(NPY_MAX_HEADER + 12)
        .saturating_sub(prefix.len());
    (&mut file)
        .take(rest as u64)
        .read_to_end(&mut prefix)
        .map_err(|e| io_error(path, e))?;
    let what = path.display().to_string();
    let layout = parse_npy_header(&prefix, &what)?;
    let present = u128::from(total).saturating_sub(layout.data_offset as u128);
    if present < layout.data_len {
        return Err(Error::Io(format!(
            "[load_npy] {what}: truncated data ({} bytes expected, {present} present)",
            layout.data_len
        )));
    }
    drop(file);
    let p = c_path(path)?;
    let mut res = std::ptr::null_mut();
    // SAFETY: valid out-pointer and C string.
    check(unsafe { sys::mlxc_load_npy(&mut res, p.as_ptr()) })?;
    // SAFETY: success means a valid owned handle.
    Ok(unsafe { Array::from_raw(res) })
}

/// The `.npy` encoding of `a` (what [`save_npy`] writes).
pub fn npy_to_bytes(a: &Array) -> Result<Vec<u8>> {
    let mut data = std::ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: valid out-pointers and handle.
    check(unsafe { sys::mlxc_npy_to_bytes(&mut data, &mut len, a.as_raw()) })?;
    // SAFETY: mlxc allocated `len` bytes at `data`; copied, then freed once.
    let bytes = unsafe { std::slice::from_raw_parts(data, len) }.to_vec();
    // SAFETY: buffer returned by mlxc_npy_to_bytes.
    unsafe { sys::mlxc_bytes_free(data) };
    Ok(bytes)
}

/// Decodes `.npy` data held in memory.
pub fn npy_from_bytes(bytes: &[u8]) -> Result<Array> {
    check_npy_bytes(bytes, "buffer")?;
    let mut res = std::ptr::null_mut();
    // SAFETY: `bytes` is valid for `len` bytes; mlxc copies them.
    check(unsafe { sys::mlxc_npy_from_bytes(&mut res, bytes.as_ptr(), bytes.len()) })?;
    // SAFETY: success means a valid owned handle.
    Ok(unsafe { Array::from_raw(res) })
}

// ---- .npz ----------------------------------------------------------------------------------------

fn write_npz<'a, K: AsRef<str>>(
    path: &Path,
    arrays: impl IntoIterator<Item = (K, &'a Array)>,
    method: zip::CompressionMethod,
) -> Result<()> {
    // Encode everything first, so a failure leaves no partial file behind.
    let mut entries = Vec::new();
    for (name, a) in arrays {
        let name = name.as_ref();
        // NumPy cannot open an entry whose name holds a NUL (zip readers stop the name there).
        c_string(name, "[save_npz] array name")?;
        let bytes = npy_to_bytes(a)
            .map_err(|e| Error::Mlx(format!("[save_npz] array '{name}': {}", e.message())))?;
        entries.push((format!("{name}.npy"), bytes));
    }
    let file = File::create(path).map_err(|e| io_error(path, e))?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(file));
    for (name, bytes) in entries {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .large_file(bytes.len() as u64 >= u64::from(u32::MAX));
        zip.start_file(name.as_str(), options)
            .map_err(|e| io_error(path, e))?;
        zip.write_all(&bytes).map_err(|e| io_error(path, e))?;
    }
    let mut out = zip.finish().map_err(|e| io_error(path, e))?;
    out.flush().map_err(|e| io_error(path, e))
}

/// Writes named arrays to an uncompressed `.npz` archive (as `numpy.savez`): one `NAME.npy`
/// entry per array. Accepts a `&HashMap<String, Array>` or pairs such as
/// `[("a", &a), ("b", &b)]`.
pub fn save_npz<'a, K: AsRef<str>>(
    path: impl AsRef<Path>,
    arrays: impl IntoIterator<Item = (K, &'a Array)>,
) -> Result<()> {
    write_npz(path.as_ref(), arrays, zip::CompressionMethod::Stored)
}

/// Like [`save_npz`], with every entry deflate-compressed (as `numpy.savez_compressed`).
pub fn save_npz_compressed<'a, K: AsRef<str>>(
    path: impl AsRef<Path>,
    arrays: impl IntoIterator<Item = (K, &'a Array)>,
) -> Result<()> {
    write_npz(path.as_ref(), arrays, zip::CompressionMethod::Deflated)
}

/// Reads every array of an `.npz` archive (stored or deflate-compressed), keyed by entry name
/// without the `.npy` suffix.
pub fn load_npz(path: impl AsRef<Path>) -> Result<HashMap<String, Array>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    read_npz(BufReader::new(file), path)
}

fn read_npz(reader: impl Read + Seek, path: &Path) -> Result<HashMap<String, Array>> {
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| io_error(path, e))?;
    let mut out = HashMap::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| io_error(path, e))?;
        if entry.is_dir() {
            continue;
        }
        let entry_name = entry.name().to_string();
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| io_error(path, format!("entry '{entry_name}': {e}")))?;
        let what = format!("{} entry '{entry_name}'", path.display());
        check_npy_bytes(&bytes, &what)?;
        let mut res = std::ptr::null_mut();
        // SAFETY: valid out-pointer; `bytes` is valid for its length and copied by mlxc.
        check(unsafe { sys::mlxc_npy_from_bytes(&mut res, bytes.as_ptr(), bytes.len()) })
            .map_err(|e| Error::Mlx(format!("{what}: {}", e.message())))?;
        // SAFETY: success means a valid owned handle.
        let array = unsafe { Array::from_raw(res) };
        let key = entry_name
            .strip_suffix(".npy")
            .unwrap_or(&entry_name)
            .to_string();
        out.insert(key, array);
    }
    Ok(out)
}

// ---- safetensors ---------------------------------------------------------------------------------

/// Writes named arrays and string metadata to `path` in the safetensors format (every dtype
/// except float64, which MLX's writer rejects).
pub fn save_safetensors(
    path: impl AsRef<Path>,
    arrays: &HashMap<String, Array>,
    metadata: &HashMap<String, String>,
) -> Result<()> {
    let p = c_path(path.as_ref())?;
    let mut names = Vec::with_capacity(arrays.len());
    let mut handles = Vec::with_capacity(arrays.len());
    for (name, a) in arrays {
        names.push(c_string(name, "array name")?);
        handles.push(a.as_raw());
    }
    let mut keys = Vec::with_capacity(metadata.len());
    let mut values = Vec::with_capacity(metadata.len());
    for (k, v) in metadata {
        keys.push(c_string(k, "metadata key")?);
        values.push(c_string(v, "metadata value")?);
    }
    let name_ptrs: Vec<*const c_char> = names.iter().map(|s| s.as_ptr()).collect();
    let key_ptrs: Vec<*const c_char> = keys.iter().map(|s| s.as_ptr()).collect();
    let value_ptrs: Vec<*const c_char> = values.iter().map(|s| s.as_ptr()).collect();
    // SAFETY: every pointer array has the length passed with it and points to live C strings
    // and handles; mlxc copies what it keeps.
    without_partial_file(path.as_ref(), || {
        check(unsafe {
            sys::mlxc_save_safetensors(
                p.as_ptr(),
                name_ptrs.as_ptr(),
                handles.as_ptr(),
                handles.len(),
                key_ptrs.as_ptr(),
                value_ptrs.as_ptr(),
                key_ptrs.len(),
            )
        })
    })
}

/// Reads a safetensors file: its arrays by name, and its metadata.
pub fn load_safetensors(
    path: impl AsRef<Path>,
) -> Result<(HashMap<String, Array>, HashMap<String, String>)> {
    let path = path.as_ref();
    // Check here that the file can be opened, for a clearer message than MLX's.
    File::open(path).map_err(|e| io_error(path, e))?;
    let p = c_path(path)?;
    let mut map = std::ptr::null_mut();
    // SAFETY: valid out-pointer and C string.
    check(unsafe { sys::mlxc_load_safetensors(&mut map, p.as_ptr()) })?;
    let guard = TensorMap(map);
    let m = guard.0;
    let mut arrays = HashMap::new();
    // SAFETY (all calls below): `m` is a live map, indices are below its sizes.
    let n = unsafe { sys::mlxc_tensor_map_size(m) };
    for i in 0..n {
        let name = borrowed_str(|len| unsafe { sys::mlxc_tensor_map_name(m, i, len) });
        let mut a = std::ptr::null_mut();
        check(unsafe { sys::mlxc_tensor_map_array(&mut a, m, i) })?;
        // SAFETY: success means a valid owned handle.
        arrays.insert(name, unsafe { Array::from_raw(a) });
    }
    let mut metadata = HashMap::new();
    let n_meta = unsafe { sys::mlxc_tensor_map_metadata_size(m) };
    for i in 0..n_meta {
        let k = borrowed_str(|len| unsafe { sys::mlxc_tensor_map_metadata_key(m, i, len) });
        let v = borrowed_str(|len| unsafe { sys::mlxc_tensor_map_metadata_value(m, i, len) });
        metadata.insert(k, v);
    }
    Ok((arrays, metadata))
}

/// Frees a tensor map on every path out of `load_safetensors`.
struct TensorMap(sys::mlxc_tensor_map);

impl Drop for TensorMap {
    fn drop(&mut self) {
        // SAFETY: owned map, freed once.
        unsafe { sys::mlxc_tensor_map_free(self.0) }
    }
}
