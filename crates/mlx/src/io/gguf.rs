//! GGUF files: [`save_gguf`] and [`load_gguf`], with their metadata ([`GgufMeta`]).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::os::raw::c_char;
use std::path::Path;

use mlx_sys as sys;

use super::{c_path, io_error};
use crate::array::Array;
use crate::error::{Error, Result, check};

/// A GGUF metadata value, as MLX reads and writes it.
#[derive(Debug, Clone)]
pub enum GgufMeta {
    /// No value. MLX's writer rejects it; MLX's reader never returns it.
    None,
    /// Numbers: a 0-d array for one number, a 1-d array for a list, of bool, (u)int8 to
    /// (u)int64 or float32 (written: non-empty, at most 1-d). float64 values are an `Err` both
    /// ways: MLX's writer rejects them, and its reader misreads them (see [`load_gguf`]).
    Array(Array),
    /// A string.
    String(String),
    /// A list of strings.
    Strings(Vec<String>),
}

impl From<Array> for GgufMeta {
    fn from(a: Array) -> Self {
        GgufMeta::Array(a)
    }
}

impl From<String> for GgufMeta {
    fn from(s: String) -> Self {
        GgufMeta::String(s)
    }
}

impl From<&str> for GgufMeta {
    fn from(s: &str) -> Self {
        GgufMeta::String(s.to_string())
    }
}

impl From<Vec<String>> for GgufMeta {
    fn from(v: Vec<String>) -> Self {
        GgufMeta::Strings(v)
    }
}

/// Owns an `mlxc_gguf_map`.
struct GgufMap(sys::mlxc_gguf_map);

impl Drop for GgufMap {
    fn drop(&mut self) {
        // SAFETY: owned map, freed once.
        unsafe { sys::mlxc_gguf_map_free(self.0) }
    }
}

/// Writes named arrays and metadata to `path` in the GGUF format.
///
/// MLX's GGUF writer takes arrays of float32, float16, int8, int16 and int32 (any other dtype is
/// an `Err` with MLX's message) with at most 8 dimensions; see [`GgufMeta`] for metadata. The
/// file is written under a temporary name next to `path` and then renamed, so a failed save
/// leaves `path` as it was.
pub fn save_gguf(
    path: impl AsRef<Path>,
    arrays: &HashMap<String, Array>,
    metadata: &HashMap<String, GgufMeta>,
) -> Result<()> {
    let p = c_path(path.as_ref())?;
    let mut raw = std::ptr::null_mut();
    // SAFETY: valid out-pointer.
    check(unsafe { sys::mlxc_gguf_map_new(&mut raw) })?;
    let map = GgufMap(raw);
    let m = map.0;
    // SAFETY (all calls below): `m` is a live map; every pointer is valid for the length passed
    // with it, and mlxc copies what it keeps.
    for (name, a) in arrays {
        check(unsafe {
            sys::mlxc_gguf_map_add_array(m, name.as_ptr().cast(), name.len(), a.as_raw())
        })?;
    }
    for (key, value) in metadata {
        let (k, klen) = (key.as_ptr().cast::<c_char>(), key.len());
        check(match value {
            GgufMeta::None => unsafe { sys::mlxc_gguf_map_add_metadata_none(m, k, klen) },
            GgufMeta::Array(a) => unsafe {
                sys::mlxc_gguf_map_add_metadata_array(m, k, klen, a.as_raw())
            },
            GgufMeta::String(s) => unsafe {
                sys::mlxc_gguf_map_add_metadata_string(m, k, klen, s.as_ptr().cast(), s.len())
            },
            GgufMeta::Strings(list) => {
                let ptrs: Vec<*const c_char> = list.iter().map(|s| s.as_ptr().cast()).collect();
                let lens: Vec<usize> = list.iter().map(String::len).collect();
                unsafe {
                    sys::mlxc_gguf_map_add_metadata_strings(
                        m,
                        k,
                        klen,
                        ptrs.as_ptr(),
                        lens.as_ptr(),
                        list.len(),
                    )
                }
            }
        })?;
    }
    // SAFETY: valid C string and map.
    check(unsafe { sys::mlxc_save_gguf(p.as_ptr(), m) })
}

/// Reads a GGUF file: its arrays by name, and its metadata.
///
/// Tensors of float32, float16, int8, int16 and int32 keep their dtype; bfloat16 and the
/// quantized formats MLX can convert become float16, except Q4_0, Q4_1 and Q8_0, which MLX
/// loads as its own quantized triple (`NAME` as packed uint32 weights, plus `PREFIX.scales` and
/// `PREFIX.biases` in float16, where `PREFIX` is `NAME` without its `.weight` suffix). Other
/// formats are an `Err` with MLX's message.
///
/// MLX's reader trusts the file's structure, so the structure (header, metadata entries and
/// tensor descriptions) is checked here first: a truncated or corrupt file is an `Err`, never a
/// crash. For the same reason a file with float64 metadata is an `Err`: MLX 0.32.4's reader
/// steps over 4 of the 8 bytes of each float64 value and then reads the rest of the file from
/// the wrong place. MLX maps the file writable, so a file without write permission cannot be
/// read.
pub fn load_gguf(
    path: impl AsRef<Path>,
) -> Result<(HashMap<String, Array>, HashMap<String, GgufMeta>)> {
    let path = path.as_ref();
    let what = path.display().to_string();
    {
        let file = File::open(path).map_err(|e| io_error(path, e))?;
        let size = file.metadata().map_err(|e| io_error(path, e))?.len();
        GgufScan {
            r: BufReader::new(file),
            pos: 0,
            size,
            what: &what,
        }
        .check()?;
    }
    // MLX opens the file for reading and appending; say so when that is what fails.
    if let Err(e) = std::fs::OpenOptions::new().append(true).open(path) {
        return Err(Error::Io(format!(
            "[load_gguf] {what}: MLX's GGUF reader needs write access to the file: {e}"
        )));
    }
    let p = c_path(path)?;
    let mut raw = std::ptr::null_mut();
    // SAFETY: valid out-pointer and C string.
    check(unsafe { sys::mlxc_load_gguf(&mut raw, p.as_ptr()) })?;
    let map = GgufMap(raw);
    let m = map.0;
    let text = |bytes: Vec<u8>, part: &str| {
        String::from_utf8(bytes)
            .map_err(|_| Error::Io(format!("[load_gguf] {what}: {part} is not valid UTF-8")))
    };
    let mut arrays = HashMap::new();
    // SAFETY (all calls below): `m` is a live map; indices are below its sizes.
    let n = unsafe { sys::mlxc_gguf_map_size(m) };
    for i in 0..n {
        let name = borrowed_bytes(|len| unsafe { sys::mlxc_gguf_map_name(m, i, len) });
        let name = text(name, "a tensor name")?;
        let mut a = std::ptr::null_mut();
        check(unsafe { sys::mlxc_gguf_map_array(&mut a, m, i) })?;
        // SAFETY: success means a valid owned handle.
        arrays.insert(name, unsafe { Array::from_raw(a) });
    }
    let mut metadata = HashMap::new();
    let n_meta = unsafe { sys::mlxc_gguf_map_metadata_size(m) };
    for i in 0..n_meta {
        let key = borrowed_bytes(|len| unsafe { sys::mlxc_gguf_map_metadata_key(m, i, len) });
        let key = text(key, "a metadata key")?;
        let of_key = format!("the value of metadata '{key}'");
        let value = match unsafe { sys::mlxc_gguf_map_metadata_kind(m, i) } {
            sys::mlxc_gguf_kind::MLXC_GGUF_ARRAY => {
                let mut a = std::ptr::null_mut();
                check(unsafe { sys::mlxc_gguf_map_metadata_array(&mut a, m, i) })?;
                // SAFETY: success means a valid owned handle.
                GgufMeta::Array(unsafe { Array::from_raw(a) })
            }
            sys::mlxc_gguf_kind::MLXC_GGUF_STRING => GgufMeta::String(text(
                borrowed_bytes(|len| unsafe { sys::mlxc_gguf_map_metadata_string(m, i, len) }),
                &of_key,
            )?),
            sys::mlxc_gguf_kind::MLXC_GGUF_STRINGS => {
                let count = unsafe { sys::mlxc_gguf_map_metadata_strings_size(m, i) };
                let mut list = Vec::with_capacity(count);
                for j in 0..count {
                    list.push(text(
                        borrowed_bytes(|len| unsafe {
                            sys::mlxc_gguf_map_metadata_strings_get(m, i, j, len)
                        }),
                        &of_key,
                    )?);
                }
                GgufMeta::Strings(list)
            }
            _ => GgufMeta::None,
        };
        metadata.insert(key, value);
    }
    Ok((arrays, metadata))
}

/// Copies bytes that mlxc returns as pointer and length.
fn borrowed_bytes(f: impl FnOnce(&mut usize) -> *const c_char) -> Vec<u8> {
    let mut len = 0usize;
    let ptr = f(&mut len);
    if ptr.is_null() || len == 0 {
        return Vec::new();
    }
    // SAFETY: mlxc returned `len` readable bytes that live as long as the map.
    unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) }.to_vec()
}

/// The most dimensions MLX's GGUF reader takes (more stops the process in an assertion).
const GGUF_MAX_DIMS: u32 = 8;

/// GGUF metadata value types (the GGUF specification's numbering).
const GGUF_UINT32: u32 = 4;
const GGUF_STRING: u32 = 8;
const GGUF_ARRAY: u32 = 9;
const GGUF_FLOAT64: u32 = 12;

/// Checks the structure of a GGUF file the way MLX's reader walks it: everything it reads
/// without checking (key and name lengths, value sizes, entry and tensor counts, dimension
/// counts, tensor types, the alignment) must lie inside the file and be usable. What MLX checks
/// itself (tensor data ranges, value types it does not support) is left to it, for its messages.
struct GgufScan<'a, R> {
    r: R,
    pos: u64,
    size: u64,
    what: &'a str,
}

impl<R: Read + Seek> GgufScan<'_, R> {
    fn fail<T>(&self, m: impl std::fmt::Display) -> Result<T> {
        Err(Error::Io(format!("[load_gguf] {}: {m}", self.what)))
    }

    /// Fails unless `n` more bytes are in the file.
    fn need(&self, n: u64, part: &dyn Fn() -> String) -> Result<()> {
        if n > self.size - self.pos {
            return self.fail(format!(
                "{} extends past the end of the file (truncated or corrupt)",
                part()
            ));
        }
        Ok(())
    }

    fn read<const N: usize>(&mut self, part: &dyn Fn() -> String) -> Result<[u8; N]> {
        self.need(N as u64, part)?;
        let mut buf = [0u8; N];
        self.r
            .read_exact(&mut buf)
            .map_err(|e| Error::Io(format!("[load_gguf] {}: {e}", self.what)))?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn u32(&mut self, part: &dyn Fn() -> String) -> Result<u32> {
        Ok(u32::from_le_bytes(self.read::<4>(part)?))
    }

    fn u64(&mut self, part: &dyn Fn() -> String) -> Result<u64> {
        Ok(u64::from_le_bytes(self.read::<8>(part)?))
    }

    fn skip(&mut self, n: u64, part: &dyn Fn() -> String) -> Result<()> {
        self.need(n, part)?;
        let step = i64::try_from(n).map_err(|_| Error::Io("offset overflow".into()))?;
        self.r
            .seek_relative(step)
            .map_err(|e| Error::Io(format!("[load_gguf] {}: {e}", self.what)))?;
        self.pos += n;
        Ok(())
    }

    /// A length-prefixed string: its bytes when `keep`, else skipped.
    fn string(&mut self, keep: bool, part: &dyn Fn() -> String) -> Result<Vec<u8>> {
        let len = self.u64(part)?;
        if !keep {
            self.skip(len, part)?;
            return Ok(Vec::new());
        }
        self.need(len, part)?;
        let mut buf = vec![0u8; len as usize];
        self.r
            .read_exact(&mut buf)
            .map_err(|e| Error::Io(format!("[load_gguf] {}: {e}", self.what)))?;
        self.pos += len;
        Ok(buf)
    }

    /// Bytes of one value of a fixed-size type; `None` for strings, arrays and unknown types.
    fn fixed_size(t: u32) -> Option<u64> {
        match t {
            0 | 1 | 7 => Some(1),
            2 | 3 => Some(2),
            4..=6 => Some(4),
            10..=12 => Some(8),
            _ => None,
        }
    }

    /// Steps over one metadata value of type `t`. Returns false where MLX stops reading with an
    /// error of its own (unknown types, nested arrays).
    fn value(&mut self, t: u32, part: &dyn Fn() -> String) -> Result<bool> {
        let float64 = |this: &Self| {
            this.fail(format!(
                "{} holds float64 values, which MLX's GGUF reader misreads (it steps over 4 of \
                 their 8 bytes and loses its place in the file)",
                part()
            ))
        };
        if t == GGUF_FLOAT64 {
            return float64(self);
        }
        if let Some(n) = Self::fixed_size(t) {
            self.skip(n, part)?;
            return Ok(true);
        }
        match t {
            GGUF_STRING => {
                self.string(false, part)?;
                Ok(true)
            }
            GGUF_ARRAY => {
                let elem = self.u32(part)?;
                let count = self.u64(part)?;
                if elem == GGUF_FLOAT64 {
                    return float64(self);
                }
                if let Some(n) = Self::fixed_size(elem) {
                    let Some(total) = count.checked_mul(n) else {
                        return self.fail(format!("{} has too many elements ({count})", part()));
                    };
                    self.skip(total, part)?;
                    Ok(true)
                } else if elem == GGUF_STRING {
                    for _ in 0..count {
                        // Each string takes at least its 8-byte length.
                        self.string(false, part)?;
                    }
                    Ok(true)
                } else {
                    Ok(false)
                }
            }
            _ => Ok(false),
        }
    }

    fn check(mut self) -> Result<()> {
        let header = || "the header".to_string();
        let magic = if self.size >= 4 {
            self.read::<4>(&header)?
        } else {
            [0; 4]
        };
        if &magic != b"GGUF" {
            return self.fail("not a GGUF file (no GGUF magic)");
        }
        let version = self.u32(&header)?;
        if !(2..=3).contains(&version) {
            return self.fail(format!(
                "unsupported GGUF version {version} (versions 2 and 3 are read)"
            ));
        }
        let n_tensors = self.u64(&header)?;
        let n_kv = self.u64(&header)?;
        for i in 0..n_kv {
            let entry = || format!("metadata entry {i} of {n_kv}");
            let key = self.string(true, &entry)?;
            let key_text = String::from_utf8_lossy(&key).into_owned();
            let of_key = || format!("metadata '{key_text}'");
            let t = self.u32(&of_key)?;
            if key == b"general.alignment" && t == GGUF_UINT32 {
                let alignment = self.u32(&of_key)?;
                if alignment == 0 {
                    return self.fail("metadata 'general.alignment' is 0");
                }
            } else if !self.value(t, &of_key)? {
                return Ok(());
            }
        }
        for i in 0..n_tensors {
            let info = || format!("tensor description {i} of {n_tensors}");
            let name = self.string(true, &info)?;
            let name = String::from_utf8_lossy(&name).into_owned();
            let ndim = self.u32(&info)?;
            if ndim > GGUF_MAX_DIMS {
                return self.fail(format!(
                    "tensor '{name}' has {ndim} dimensions (at most {GGUF_MAX_DIMS} are read)"
                ));
            }
            self.skip(8 * u64::from(ndim), &info)?;
            let t = self.u32(&info)?;
            match t {
                4 | 5 => {
                    return self.fail(format!(
                        "tensor '{name}' has type {t}, a format removed from GGUF"
                    ));
                }
                31.. => return self.fail(format!("tensor '{name}' has unknown type {t}")),
                _ => {}
            }
            self.u64(&info)?;
        }
        Ok(())
    }
}
