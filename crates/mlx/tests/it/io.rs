//! File IO: fixtures written by NumPy and Python MLX are read back value by value
//! (tests/fixtures/make_fixtures.py), files written here are read back here and checked by
//! NumPy and Python MLX, and bad paths or corrupt files give errors.
//!
//! The Python checks need `python3` with `numpy` and `mlx`; without them they print a note and
//! pass, unless `MLX_TEST_REQUIRE_PYTHON=1`, where they fail.

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{assert_close, values};
use mlx::{Array, Dtype, Error, bf16, f16, io};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("mlx-io-test-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `offset + scale * [0, 1, ..., n-1]`, the fixtures' formula.
fn ramp(n: usize, scale: f64, offset: f64) -> Vec<f64> {
    (0..n).map(|i| offset + scale * i as f64).collect()
}

fn check(a: &Array, dtype: Dtype, shape: &[i32], want: &[f64]) {
    assert_eq!(a.dtype(), dtype);
    assert_eq!(a.shape(), shape);
    assert_close(a, want, 0.0, 0.0);
}

// ---- fixtures written by NumPy and Python MLX ------------------------------------------------------

#[test]
fn safetensors_fixture() {
    let (arrays, metadata) = io::load_safetensors(fixture("tensors.safetensors")).unwrap();
    let mut names: Vec<_> = arrays.keys().cloned().collect();
    names.sort();
    assert_eq!(
        names,
        ["bf16", "bool", "f16", "f32", "i32", "i64", "scalar", "u8"]
    );
    check(&arrays["f32"], Dtype::Float32, &[2, 3], &ramp(6, 0.5, -1.0));
    check(&arrays["bf16"], Dtype::Bfloat16, &[4], &ramp(4, 0.25, 1.0));
    check(&arrays["f16"], Dtype::Float16, &[2, 2], &ramp(4, -1.5, 2.0));
    check(&arrays["i32"], Dtype::Int32, &[3], &ramp(3, -7.0, 100.0));
    assert_eq!(arrays["i64"].dtype(), Dtype::Int64);
    assert_eq!(
        arrays["i64"].to_vec::<i64>().unwrap(),
        vec![-(1i64 << 40), (1 << 40) + 1]
    );
    check(&arrays["u8"], Dtype::Uint8, &[2, 2, 1], &ramp(4, 60.0, 0.0));
    assert_eq!(arrays["bool"].dtype(), Dtype::Bool);
    assert_eq!(
        arrays["bool"].to_vec::<bool>().unwrap(),
        vec![true, false, true]
    );
    check(&arrays["scalar"], Dtype::Float32, &[], &[3.25]);
    let want: HashMap<String, String> = [("format", "mlx"), ("note", "fixtures for io.rs")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(metadata, want);
}

#[test]
fn npy_fixtures() {
    let f = |name: &str| io::load_npy(fixture(name)).unwrap();
    check(
        &f("f32_2d.npy"),
        Dtype::Float32,
        &[2, 3],
        &ramp(6, 0.5, -1.0),
    );
    // Fortran order: the values in logical (row-major) order all the same.
    check(
        &f("f64_fortran.npy"),
        Dtype::Float64,
        &[2, 3],
        &ramp(6, 1.25, 0.5),
    );
    check(&f("i8.npy"), Dtype::Int8, &[5], &ramp(5, -3.0, 6.0));
    check(
        &f("u16_3d.npy"),
        Dtype::Uint16,
        &[2, 2, 2],
        &ramp(8, 1000.0, 0.0),
    );
    let b = f("bool.npy");
    assert_eq!((b.dtype(), b.shape()), (Dtype::Bool, &[2, 2][..]));
    assert_eq!(b.to_vec::<bool>().unwrap(), vec![true, false, false, true]);
    check(&f("scalar_f64.npy"), Dtype::Float64, &[], &[-2.5]);
    let be = f("i32_big_endian.npy");
    assert_eq!(be.dtype(), Dtype::Int32);
    assert_eq!(be.to_vec::<i32>().unwrap(), vec![-5, 99995, 199995, 299995]);
    check(&f("f16.npy"), Dtype::Float16, &[3], &ramp(3, 0.5, -0.5));
    let c = f("c64.npy");
    assert_eq!((c.dtype(), c.shape()), (Dtype::Complex64, &[2][..]));
    let cv = c.to_vec::<mlx::Complex32>().unwrap();
    assert_eq!(
        cv,
        vec![
            mlx::Complex32::new(0.0, 1.0),
            mlx::Complex32::new(1.0, -1.0)
        ]
    );
    let e = f("empty_f32.npy");
    assert_eq!((e.dtype(), e.shape()), (Dtype::Float32, &[0, 3][..]));
    check(
        &f("bf16_mlx.npy"),
        Dtype::Bfloat16,
        &[3],
        &ramp(3, 0.5, 1.0),
    );
}

#[test]
fn npz_fixtures() {
    // np.savez_compressed: deflate entries.
    let z = io::load_npz(fixture("compressed.npz")).unwrap();
    let mut names: Vec<_> = z.keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["ids", "mask", "weights"]);
    check(
        &z["weights"],
        Dtype::Float32,
        &[3, 2],
        &values(
            &Array::from_slice(
                &ramp(6, 0.1, -0.3)
                    .iter()
                    .map(|v| *v as f32)
                    .collect::<Vec<_>>(),
                &[6],
            )
            .unwrap(),
        ),
    );
    check(&z["ids"], Dtype::Int64, &[4], &ramp(4, 3.0, 1.0));
    assert_eq!(z["mask"].to_vec::<bool>().unwrap(), vec![true, true, false]);
    // np.savez: stored entries, a 0-d array among them.
    let z = io::load_npz(fixture("stored.npz")).unwrap();
    assert_eq!(z.len(), 2);
    check(&z["a"], Dtype::Float64, &[3], &ramp(3, 2.0, 0.0));
    check(&z["b"], Dtype::Uint8, &[], &[7.0]);
}

// ---- round trips in Rust -------------------------------------------------------------------------

fn sample_arrays() -> Vec<(&'static str, Array)> {
    vec![
        (
            "f32",
            Array::from_slice(&[1.5f32, -2.0, 0.25, 8.0, 3.0, -0.5], &[2, 3]).unwrap(),
        ),
        (
            "bf16",
            Array::from_slice(&[bf16::from_f32(1.5), bf16::from_f32(-3.0)], &[2]).unwrap(),
        ),
        (
            "f16",
            Array::from_slice(
                &[
                    f16::from_f32(0.5),
                    f16::from_f32(-4.0),
                    f16::from_f32(2.0),
                    f16::from_f32(1.0),
                ],
                &[2, 2],
            )
            .unwrap(),
        ),
        ("i32", Array::from_slice(&[7i32, -8, 9], &[3]).unwrap()),
        (
            "u8",
            Array::from_slice(&[0u8, 255, 17, 3], &[1, 4]).unwrap(),
        ),
        (
            "bool",
            Array::from_slice(&[true, false, false], &[3]).unwrap(),
        ),
        ("i64_scalar", Array::scalar(-123_456_789_012i64)),
        ("empty", Array::zeros::<f32>(&[0, 2]).unwrap()),
        // Transposed: written in logical order.
        (
            "t",
            Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])
                .unwrap()
                .t()
                .unwrap(),
        ),
    ]
}

fn assert_same(got: &Array, want: &Array, what: &str) {
    assert_eq!(got.dtype(), want.dtype(), "{what}");
    assert_eq!(got.shape(), want.shape(), "{what}");
    assert_eq!(values(got), values(want), "{what}");
}

#[test]
fn safetensors_round_trip() {
    let dir = TempDir::new("st");
    let path = dir.path("x.safetensors");
    let arrays: HashMap<String, Array> = sample_arrays()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        ("unicode ✓".to_string(), "värde".to_string()),
    ]);
    io::save_safetensors(&path, &arrays, &metadata).unwrap();
    let (loaded, meta) = io::load_safetensors(&path).unwrap();
    assert_eq!(meta, metadata);
    assert_eq!(loaded.len(), arrays.len());
    for (k, v) in &arrays {
        assert_same(&loaded[k], v, k);
    }
    // No metadata, no arrays.
    io::save_safetensors(&path, &HashMap::new(), &HashMap::new()).unwrap();
    let (loaded, meta) = io::load_safetensors(&path).unwrap();
    assert!(loaded.is_empty() && meta.is_empty());
}

#[test]
fn npy_round_trip() {
    let dir = TempDir::new("npy");
    for (name, a) in sample_arrays() {
        // No suffix is appended: the file is where it was asked to be.
        let path = dir.path(&format!("{name}.bin"));
        io::save_npy(&path, &a).unwrap();
        assert!(path.exists(), "{name}");
        assert_same(&io::load_npy(&path).unwrap(), &a, name);
        let bytes = io::npy_to_bytes(&a).unwrap();
        assert_eq!(bytes, std::fs::read(&path).unwrap(), "{name}");
        assert_same(&io::npy_from_bytes(&bytes).unwrap(), &a, name);
    }
    // float64 and complex, which safetensors lacks or MLX does not write there.
    let d = Array::from_slice(&[1e-300f64, -2.5], &[2]).unwrap();
    let path = dir.path("d.npy");
    io::save_npy(&path, &d).unwrap();
    assert_same(&io::load_npy(&path).unwrap(), &d, "f64");
    let c = Array::from_slice(&[mlx::Complex32::new(1.0, -2.0)], &[1]).unwrap();
    io::save_npy(&path, &c).unwrap();
    let back = io::load_npy(&path).unwrap();
    assert_eq!(
        back.to_vec::<mlx::Complex32>().unwrap(),
        vec![mlx::Complex32::new(1.0, -2.0)]
    );
}

#[test]
fn npz_round_trip() {
    let dir = TempDir::new("npz");
    let arrays = sample_arrays();
    let pairs: Vec<(&str, &Array)> = arrays.iter().map(|(k, v)| (*k, v)).collect();
    for compressed in [false, true] {
        let path = dir.path(&format!("x{compressed}.npz"));
        if compressed {
            io::save_npz_compressed(&path, pairs.iter().copied()).unwrap();
        } else {
            io::save_npz(&path, pairs.iter().copied()).unwrap();
        }
        let loaded = io::load_npz(&path).unwrap();
        assert_eq!(loaded.len(), arrays.len());
        for (k, v) in &arrays {
            assert_same(&loaded[*k], v, k);
        }
    }
    // A map works as input too.
    let map: HashMap<String, Array> = HashMap::from([(
        "only".to_string(),
        Array::from_slice(&[4i16, 5], &[2]).unwrap(),
    )]);
    let path = dir.path("map.npz");
    io::save_npz(&path, &map).unwrap();
    assert_eq!(
        io::load_npz(&path).unwrap()["only"]
            .to_vec::<i16>()
            .unwrap(),
        vec![4, 5]
    );
}

// ---- errors -----------------------------------------------------------------------------------

fn io_message<T: std::fmt::Debug>(r: mlx::Result<T>) -> String {
    match r {
        Err(e @ (Error::Io(_) | Error::Mlx(_))) => e.message().to_string(),
        other => panic!("expected an IO or MLX error, got {other:?}"),
    }
}

#[test]
fn missing_and_unwritable_paths() {
    let dir = TempDir::new("missing");
    let missing = dir.path("nope.npy");
    let m = io_message(io::load_npy(&missing));
    assert!(m.contains("nope.npy"), "{m}");
    assert!(io_message(io::load_npz(dir.path("nope.npz"))).contains("nope.npz"));
    assert!(io_message(io::load_safetensors(dir.path("nope.st"))).contains("nope.st"));
    // A directory is no file.
    assert!(matches!(
        io::load_npy(&dir.0),
        Err(Error::Io(_) | Error::Mlx(_))
    ));
    assert!(matches!(
        io::load_safetensors(&dir.0),
        Err(Error::Io(_) | Error::Mlx(_))
    ));
    assert!(matches!(
        io::load_npz(&dir.0),
        Err(Error::Io(_) | Error::Mlx(_))
    ));
    // Writing into a directory that does not exist.
    let a = Array::ones::<f32>(&[2]).unwrap();
    let bad = dir.path("no/such/dir/x.npy");
    let m = io_message(io::save_npy(&bad, &a));
    assert!(m.contains("[save] Failed to open"), "{m}");
    let m = io_message(io::save_safetensors(
        dir.path("no/such/x.safetensors"),
        &HashMap::from([("a".to_string(), a.clone())]),
        &HashMap::new(),
    ));
    assert!(m.contains("Failed to open"), "{m}");
    assert!(io_message(io::save_npz(dir.path("no/such/x.npz"), [("a", &a)])).contains("x.npz"));
    // NUL characters cannot reach C.
    let e = io::save_npy("bad\0name.npy", &a).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    let e = io::save_safetensors(
        dir.path("n.safetensors"),
        &HashMap::from([("a\0b".to_string(), a.clone())]),
        &HashMap::new(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
}

#[test]
fn unsupported_arrays_leave_no_file() {
    let dir = TempDir::new("unsupported");
    // MLX's safetensors writer rejects float64.
    let path = dir.path("f64.safetensors");
    let arrays = HashMap::from([("d".to_string(), Array::ones::<f64>(&[2]).unwrap())]);
    let m = io_message(io::save_safetensors(&path, &arrays, &HashMap::new()));
    assert!(
        m.contains("[save_safetensors] received invalid dtype"),
        "{m}"
    );
    assert!(!path.exists());
    // A file that existed stays.
    std::fs::write(&path, b"old").unwrap();
    assert!(io::save_safetensors(&path, &arrays, &HashMap::new()).is_err());
    assert!(path.exists());
}

/// NumPy's header for `descr` and `shape`, padded as NumPy pads it, then `data`.
fn npy_file(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn corrupt_npy_files() {
    let dir = TempDir::new("corrupt-npy");
    let good = npy_file("<f4", "(2,)", &[0, 0, 128, 63, 0, 0, 0, 64]);
    assert_eq!(
        io::npy_from_bytes(&good).unwrap().to_vec::<f32>().unwrap(),
        vec![1.0, 2.0]
    );
    let mut truncated_header = good[..20].to_vec();
    truncated_header.truncate(20);
    let mut bad_version = good.clone();
    bad_version[6] = 9;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty file", vec![], "not a .npy file"),
        (
            "garbage",
            b"hello world, not numpy".to_vec(),
            "not a .npy file",
        ),
        ("truncated header", truncated_header, "truncated header"),
        ("version", bad_version, "unsupported .npy format version 9"),
        (
            "truncated data",
            good[..good.len() - 3].to_vec(),
            "truncated data (8 bytes expected, 5 present)",
        ),
        (
            "string dtype",
            npy_file("<U3", "(1,)", &[0; 12]),
            "unsupported dtype '<U3'",
        ),
        (
            "object dtype",
            npy_file("|O8", "(1,)", &[0; 8]),
            "unsupported dtype",
        ),
        (
            "bad shape",
            npy_file("<f4", "(x,)", &[0; 4]),
            "bad dimension 'x'",
        ),
        (
            "negative",
            npy_file("<f4", "(-1,)", &[0; 4]),
            "negative dimension",
        ),
        (
            "huge",
            npy_file("<f4", "(100000, 100000)", &[0; 4]),
            "truncated data",
        ),
        (
            "key order",
            {
                let mut v = b"\x93NUMPY\x01\x00".to_vec();
                let h = "{'shape': (1,), 'fortran_order': False, 'descr': '<f4', }\n";
                v.extend_from_slice(&(h.len() as u16).to_le_bytes());
                v.extend_from_slice(h.as_bytes());
                v.extend_from_slice(&[0; 4]);
                v
            },
            "unsupported header layout",
        ),
    ];
    for (what, bytes, message) in cases {
        let path = dir.path("bad.npy");
        std::fs::write(&path, &bytes).unwrap();
        let m = io_message(io::load_npy(&path));
        assert!(m.contains(message), "{what}: {m}");
        let m = io_message(io::npy_from_bytes(&bytes));
        assert!(m.contains(message), "{what} (bytes): {m}");
    }
}

#[test]
fn corrupt_npz_and_safetensors_files() {
    let dir = TempDir::new("corrupt");
    // Not a zip archive.
    let path = dir.path("bad.npz");
    std::fs::write(&path, b"PK\x03\x04 but not really").unwrap();
    let m = io_message(io::load_npz(&path));
    assert!(m.contains("bad.npz"), "{m}");
    // A zip whose entry is not .npy data.
    let a = Array::from_slice(&[1i32, 2], &[2]).unwrap();
    io::save_npz(&path, [("a", &a)]).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(6).position(|w| w == b"\x93NUMPY").unwrap();
    bytes[at + 1] = b'X';
    std::fs::write(&path, &bytes).unwrap();
    let m = io_message(io::load_npz(&path));
    assert!(m.contains("entry 'a.npy'"), "{m}");
    // A truncated archive.
    io::save_npz_compressed(&path, [("a", &a)]).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert!(matches!(io::load_npz(&path), Err(Error::Io(_))));

    // safetensors: garbage, a header longer than the file, data offsets past the end.
    let path = dir.path("bad.safetensors");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"\x10\x00\x00\x00\x00\x00\x00\x00{garbage".to_vec(),
            "[load_safetensors]",
        ),
        (b"\x05\x00".to_vec(), "Unable to read"),
        (
            {
                let h = br#"{"a":{"dtype":"F32","shape":[100],"data_offsets":[0,400]}}"#;
                let mut v = (h.len() as u64).to_le_bytes().to_vec();
                v.extend_from_slice(h);
                v.extend_from_slice(&[0; 8]);
                v
            },
            "exceeding the size of the file",
        ),
        (
            {
                let h = br#"{"a":{"dtype":"X9","shape":[1],"data_offsets":[0,4]}}"#;
                let mut v = (h.len() as u64).to_le_bytes().to_vec();
                v.extend_from_slice(h);
                v.extend_from_slice(&[0; 4]);
                v
            },
            "unsupported dtype X9",
        ),
    ];
    for (bytes, message) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let m = io_message(io::load_safetensors(&path));
        assert!(m.contains(message), "{m}");
    }
}

// ---- checked by NumPy and Python MLX -----------------------------------------------------------

fn run_python(script: &str, dir: &Path) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir)
        .output()
        .expect("running python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python check failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("python check ok"),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
}

fn rust_files(dir: &TempDir) {
    let f32_2d = Array::from_slice(
        &ramp(6, 0.5, -1.0)
            .iter()
            .map(|v| *v as f32)
            .collect::<Vec<_>>(),
        &[2, 3],
    )
    .unwrap();
    // A transposed float64 array: MLX writes it in Fortran order.
    let f64_t = Array::from_slice(&ramp(6, 1.25, 0.5), &[3, 2])
        .unwrap()
        .t()
        .unwrap();
    let i64_0d = Array::scalar(-(1i64 << 40));
    let bools = Array::from_slice(&[true, false, true, true], &[2, 2]).unwrap();
    let u16s = Array::from_slice(&[1u16, 65535, 300], &[3]).unwrap();
    let halfs = Array::from_slice(&[f16::from_f32(0.5), f16::from_f32(-1.25)], &[2]).unwrap();
    let bfs = Array::from_slice(
        &[
            bf16::from_f32(1.5),
            bf16::from_f32(-8.0),
            bf16::from_f32(0.125),
        ],
        &[3],
    )
    .unwrap();
    for (name, a) in [
        ("f32_2d", &f32_2d),
        ("f64_t", &f64_t),
        ("i64_0d", &i64_0d),
        ("bool", &bools),
        ("u16", &u16s),
        ("f16", &halfs),
    ] {
        io::save_npy(dir.path(&format!("{name}.npy")), a).unwrap();
    }
    let pairs = [
        ("f32_2d", &f32_2d),
        ("f64_t", &f64_t),
        ("bool", &bools),
        ("u16", &u16s),
    ];
    io::save_npz(dir.path("stored.npz"), pairs).unwrap();
    io::save_npz_compressed(dir.path("compressed.npz"), pairs).unwrap();
    let arrays: HashMap<String, Array> = [
        ("f32_2d", f32_2d.clone()),
        ("bf16", bfs),
        ("f16", halfs),
        ("i64_0d", i64_0d),
        ("bool", bools),
        ("u16", u16s),
        (
            "t",
            Array::from_slice(&[1i32, 2, 3, 4, 5, 6], &[2, 3])
                .unwrap()
                .t()
                .unwrap(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let metadata = HashMap::from([
        ("format".to_string(), "mlx".to_string()),
        ("written_by".to_string(), "rust".to_string()),
    ]);
    io::save_safetensors(dir.path("t.safetensors"), &arrays, &metadata).unwrap();
}

const PYTHON_CHECK: &str = r#"
import json, os, struct, sys, zipfile
import numpy as np
import mlx.core as mx

d = sys.argv[1]
p = lambda name: os.path.join(d, name)

def ramp(n, scale, offset):
    return offset + scale * np.arange(n)

f32_2d = ramp(6, 0.5, -1.0).reshape(2, 3).astype(np.float32)
f64_t = ramp(6, 1.25, 0.5).reshape(3, 2).T
bools = np.array([[True, False], [True, True]])
u16 = np.array([1, 65535, 300], dtype=np.uint16)
f16 = np.array([0.5, -1.25], dtype=np.float16)

def same(got, want):
    got = np.asarray(got)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert np.array_equal(got, want), (got, want)

# .npy with NumPy.
same(np.load(p("f32_2d.npy")), f32_2d)
same(np.load(p("f64_t.npy")), f64_t)
assert np.load(p("f64_t.npy")).flags.f_contiguous
same(np.load(p("i64_0d.npy")), np.array(-(2**40), dtype=np.int64))
same(np.load(p("bool.npy")), bools)
same(np.load(p("u16.npy")), u16)
same(np.load(p("f16.npy")), f16)
# .npy with MLX.
same(np.array(mx.load(p("f64_t.npy"))), f64_t)
same(np.array(mx.load(p("u16.npy"))), u16)

# .npz with NumPy, and the compression of the entries.
for name, method in [("stored.npz", zipfile.ZIP_STORED), ("compressed.npz", zipfile.ZIP_DEFLATED)]:
    with zipfile.ZipFile(p(name)) as z:
        assert sorted(z.namelist()) == ["bool.npy", "f32_2d.npy", "f64_t.npy", "u16.npy"], z.namelist()
        assert all(i.compress_type == method for i in z.infolist()), name
    z = np.load(p(name))
    same(z["f32_2d"], f32_2d)
    same(z["f64_t"], f64_t)
    same(z["bool"], bools)
    same(z["u16"], u16)
    m = mx.load(p(name))
    same(np.array(m["u16"]), u16)

# safetensors: the header read by hand, then the values with MLX.
raw = open(p("t.safetensors"), "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
assert header["__metadata__"] == {"format": "mlx", "written_by": "rust"}, header["__metadata__"]
dtypes = {k: v["dtype"] for k, v in header.items() if k != "__metadata__"}
assert dtypes == {"f32_2d": "F32", "bf16": "BF16", "f16": "F16", "i64_0d": "I64", "bool": "BOOL", "u16": "U16", "t": "I32"}, dtypes
assert header["i64_0d"]["shape"] == [] and header["t"]["shape"] == [3, 2], header
start, end = header["f32_2d"]["data_offsets"]
same(np.frombuffer(raw[8 + n + start:8 + n + end], dtype="<f4").reshape(2, 3), f32_2d)
arrays, meta = mx.load(p("t.safetensors"), return_metadata=True)
assert meta == {"format": "mlx", "written_by": "rust"}, meta
same(np.array(arrays["f32_2d"]), f32_2d)
bf = arrays["bf16"]
assert bf.dtype == mx.bfloat16
same(np.array(bf.astype(mx.float32)), np.array([1.5, -8.0, 0.125], dtype=np.float32))
same(np.array(arrays["f16"]), f16)
same(np.array(arrays["i64_0d"]), np.array(-(2**40), dtype=np.int64))
same(np.array(arrays["bool"]), bools)
same(np.array(arrays["u16"]), u16)
same(np.array(arrays["t"]), np.array([[1, 4], [2, 5], [3, 6]], dtype=np.int32))
print("python check ok")
"#;

#[test]
fn files_written_here_read_by_numpy_and_python_mlx() {
    let dir = TempDir::new("python");
    rust_files(&dir);
    if !common::python_mlx_available() {
        return;
    }
    run_python(PYTHON_CHECK, &dir.0);
}

// ---- GGUF -------------------------------------------------------------------------------------

use mlx::io::GgufMeta;

fn meta_array(m: &GgufMeta) -> &Array {
    match m {
        GgufMeta::Array(a) => a,
        other => panic!("expected an array, got {other:?}"),
    }
}

fn meta_string(m: &GgufMeta) -> &str {
    match m {
        GgufMeta::String(s) => s,
        other => panic!("expected a string, got {other:?}"),
    }
}

fn meta_strings(m: &GgufMeta) -> &[String] {
    match m {
        GgufMeta::Strings(v) => v,
        other => panic!("expected strings, got {other:?}"),
    }
}

fn sorted_keys<V>(m: &HashMap<String, V>) -> Vec<String> {
    let mut k: Vec<_> = m.keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn gguf_fixture() {
    // Written by Python MLX's mx.save_gguf (make_fixtures.py).
    let (arrays, meta) = io::load_gguf(fixture("tensors.gguf")).unwrap();
    assert_eq!(
        sorted_keys(&arrays),
        ["f16", "f32", "i16", "i32", "i8", "scalar"]
    );
    check(&arrays["f32"], Dtype::Float32, &[2, 3], &ramp(6, 0.5, -1.0));
    check(&arrays["f16"], Dtype::Float16, &[2, 2], &ramp(4, -1.5, 2.0));
    check(&arrays["i8"], Dtype::Int8, &[5], &ramp(5, -3.0, 6.0));
    check(
        &arrays["i16"],
        Dtype::Int16,
        &[3],
        &ramp(3, 1000.0, -1000.0),
    );
    check(
        &arrays["i32"],
        Dtype::Int32,
        &[2, 2, 2],
        &ramp(8, -7.0, 100.0),
    );
    check(&arrays["scalar"], Dtype::Float32, &[], &[3.25]);
    assert_eq!(
        sorted_keys(&meta),
        ["count", "flags", "general.name", "ids", "scale", "tokens"]
    );
    assert_eq!(meta_string(&meta["general.name"]), "fixtures for io.rs");
    assert_eq!(meta_strings(&meta["tokens"]), ["a", "bc", "déf", ""]);
    check(meta_array(&meta["count"]), Dtype::Uint32, &[], &[7.0]);
    check(meta_array(&meta["scale"]), Dtype::Float32, &[], &[0.5]);
    let ids = meta_array(&meta["ids"]);
    assert_eq!((ids.dtype(), ids.shape()), (Dtype::Int64, &[2][..]));
    assert_eq!(ids.to_vec::<i64>().unwrap(), vec![-(1i64 << 40), 5]);
    let flags = meta_array(&meta["flags"]);
    assert_eq!(flags.dtype(), Dtype::Bool);
    assert_eq!(flags.to_vec::<bool>().unwrap(), vec![true, false, true]);
}

/// Arrays of every dtype MLX's GGUF writer takes, in several layouts.
fn gguf_arrays() -> HashMap<String, Array> {
    let f32s = Array::from_slice(&[1.5f32, -2.0, 0.25, 8.0, 3.0, -0.5], &[2, 3]).unwrap();
    [
        ("f32", f32s.clone()),
        (
            "f16",
            Array::from_slice(
                &[
                    f16::from_f32(0.5),
                    f16::from_f32(-4.0),
                    f16::from_f32(65504.0),
                ],
                &[3],
            )
            .unwrap(),
        ),
        (
            "i8",
            Array::from_slice(&[-128i8, 127, 0, 5], &[2, 2]).unwrap(),
        ),
        (
            "i16",
            Array::from_slice(&[-32768i16, 32767, 9], &[3, 1]).unwrap(),
        ),
        (
            "i32",
            Array::from_slice(&[i32::MIN, i32::MAX, -1, 0], &[1, 2, 2]).unwrap(),
        ),
        ("scalar", Array::scalar(-7i32)),
        ("empty", Array::zeros::<f32>(&[0, 3]).unwrap()),
        (
            "eight_dims",
            Array::ones::<f16>(&[1, 2, 1, 1, 1, 1, 1, 2]).unwrap(),
        ),
        // Not row-contiguous: written in logical order.
        ("transposed", f32s.t().unwrap()),
        (
            "strided",
            Array::from_slice(&[0i16, 1, 2, 3, 4, 5, 6, 7], &[8])
                .unwrap()
                .index(mlx::Idx::slice(1, 8, 3))
                .unwrap(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Metadata of each kind and each dtype MLX's writer takes.
fn gguf_metadata() -> HashMap<String, GgufMeta> {
    let scalars = [
        ("bool", Array::scalar(true)),
        ("u8", Array::scalar(255u8)),
        ("u16", Array::scalar(65535u16)),
        ("u32", Array::scalar(u32::MAX)),
        ("u64", Array::scalar(u64::MAX)),
        ("i8", Array::scalar(-128i8)),
        ("i16", Array::scalar(-300i16)),
        ("i32", Array::scalar(-70000i32)),
        ("i64", Array::scalar(-(1i64 << 50))),
        ("f32", Array::scalar(0.125f32)),
    ];
    let lists = [
        ("bools", Array::from_slice(&[true, false], &[2]).unwrap()),
        ("u8s", Array::from_slice(&[1u8, 2, 3], &[3]).unwrap()),
        ("u64s", Array::from_slice(&[0u64, 1 << 63], &[2]).unwrap()),
        ("i64s", Array::from_slice(&[-1i64], &[1]).unwrap()),
        (
            "f32s_strided",
            Array::from_slice(&[0.5f32, 9.0, 1.5, 9.0, 2.5], &[5])
                .unwrap()
                .index(mlx::Idx::slice(0, 5, 2))
                .unwrap(),
        ),
    ];
    let mut m: HashMap<String, GgufMeta> = scalars
        .into_iter()
        .chain(lists)
        .map(|(k, v)| (k.to_string(), GgufMeta::Array(v)))
        .collect();
    m.insert("name".into(), "värde ✓".into());
    m.insert("empty".into(), "".into());
    m.insert("nul\0key".into(), "a\0b".into());
    m.insert(
        "tokens".into(),
        vec!["<s>".to_string(), String::new(), "ü".to_string()].into(),
    );
    m.insert("no_tokens".into(), GgufMeta::Strings(vec![]));
    m
}

fn assert_same_meta(got: &GgufMeta, want: &GgufMeta, what: &str) {
    match (got, want) {
        (GgufMeta::Array(g), GgufMeta::Array(w)) => {
            assert_eq!(g.dtype(), w.dtype(), "{what}");
            assert_eq!(g.shape(), w.shape(), "{what}");
            // u64 values above 2^53 do not survive f64: compare as u64 there.
            if w.dtype() == Dtype::Uint64 {
                assert_eq!(g.to_vec::<u64>().unwrap(), w.to_vec::<u64>().unwrap());
            } else {
                assert_eq!(values(g), values(w), "{what}");
            }
        }
        (GgufMeta::String(g), GgufMeta::String(w)) => assert_eq!(g, w, "{what}"),
        (GgufMeta::Strings(g), GgufMeta::Strings(w)) => assert_eq!(g, w, "{what}"),
        _ => panic!("{what}: got {got:?}, want {want:?}"),
    }
}

fn dir_entries(dir: &TempDir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn gguf_round_trip() {
    let dir = TempDir::new("gguf");
    let arrays = gguf_arrays();
    let meta = gguf_metadata();
    // No ".gguf" suffix: the file is where it was asked to be, and nothing else is left.
    let path = dir.path("model.bin");
    io::save_gguf(&path, &arrays, &meta).unwrap();
    assert_eq!(dir_entries(&dir), ["model.bin"]);
    let (loaded, loaded_meta) = io::load_gguf(&path).unwrap();
    assert_eq!(sorted_keys(&loaded), sorted_keys(&arrays));
    for (k, v) in &arrays {
        assert_same(&loaded[k], v, k);
    }
    assert_eq!(sorted_keys(&loaded_meta), sorted_keys(&meta));
    for (k, v) in &meta {
        assert_same_meta(&loaded_meta[k], v, k);
    }
    // The 2-d transposed array comes back in logical order.
    assert_eq!(
        loaded["transposed"].to_vec::<f32>().unwrap(),
        vec![1.5, 8.0, -2.0, 3.0, 0.25, -0.5]
    );
    assert_eq!(loaded["strided"].to_vec::<i16>().unwrap(), vec![1, 4, 7]);

    // Overwriting, and a path that ends in .gguf; no arrays and no metadata.
    let path2 = dir.path("b.gguf");
    io::save_gguf(&path2, &HashMap::new(), &HashMap::new()).unwrap();
    let (a, m) = io::load_gguf(&path2).unwrap();
    assert!(a.is_empty() && m.is_empty());
    io::save_gguf(
        &path,
        &HashMap::new(),
        &HashMap::from([("k".into(), "v".into())]),
    )
    .unwrap();
    let (a, m) = io::load_gguf(&path).unwrap();
    assert!(a.is_empty());
    assert_eq!(meta_string(&m["k"]), "v");
    assert_eq!(dir_entries(&dir), ["b.gguf", "model.bin"]);
}

#[test]
fn gguf_unsupported_dtypes_and_metadata() {
    let dir = TempDir::new("gguf-unsupported");
    let path = dir.path("x.gguf");
    let save = |arrays: HashMap<String, Array>, meta: HashMap<String, GgufMeta>| {
        io_message(io::save_gguf(&path, &arrays, &meta))
    };
    let one = |a: Array| HashMap::from([("a".to_string(), a)]);
    let meta1 = |m: GgufMeta| HashMap::from([("k".to_string(), m)]);
    // Tensors: MLX's writer takes float32, float16, int8, int16 and int32 only.
    let cases = [
        (Array::from_slice(&[true], &[1]).unwrap(), "bool"),
        (Array::from_slice(&[1u8], &[1]).unwrap(), "uint8"),
        (Array::from_slice(&[1u16], &[1]).unwrap(), "uint16"),
        (Array::from_slice(&[1u32], &[1]).unwrap(), "uint32"),
        (Array::from_slice(&[1u64], &[1]).unwrap(), "uint64"),
        (Array::from_slice(&[1i64], &[1]).unwrap(), "int64"),
        (Array::from_slice(&[1.0f64], &[1]).unwrap(), "float64"),
        (
            Array::from_slice(&[bf16::from_f32(1.0)], &[1]).unwrap(),
            "bfloat16",
        ),
        (
            Array::from_slice(&[mlx::Complex32::new(1.0, 0.0)], &[1]).unwrap(),
            "complex64",
        ),
    ];
    for (a, name) in cases {
        let m = save(one(a), HashMap::new());
        assert!(
            m.contains(&format!("[save_gguf] dtype {name} is not supported")),
            "{name}: {m}"
        );
        // Nothing is left behind.
        assert_eq!(dir_entries(&dir), Vec::<String>::new(), "{name}");
    }
    // More than 8 dimensions: MLX would write them and then fail to read the file.
    let m = save(one(Array::ones::<f32>(&[1; 9]).unwrap()), HashMap::new());
    assert!(m.contains("array 'a' has 9 dimensions"), "{m}");
    // Metadata.
    let cases: Vec<(GgufMeta, &str)> = vec![
        (
            GgufMeta::Array(Array::scalar(1.0f64)),
            "[save_gguf] array type float64 not support for metadata.",
        ),
        (
            GgufMeta::Array(Array::scalar(f16::from_f32(1.0))),
            "[save_gguf] array type float16 not support for metadata.",
        ),
        (
            GgufMeta::Array(Array::from_slice(&[bf16::from_f32(1.0)], &[1]).unwrap()),
            "[save_gguf] array type bfloat16 not support for metadata.",
        ),
        (
            GgufMeta::Array(Array::zeros::<i32>(&[2, 2]).unwrap()),
            "[save_gguf] Cannot save arrays with more than one dimension.",
        ),
        (
            GgufMeta::Array(Array::zeros::<i32>(&[0]).unwrap()),
            "[save_gguf] Cannot save empty arrays.",
        ),
        (
            GgufMeta::None,
            "[save_gguf] Received unexpected type in metadata",
        ),
    ];
    for (value, message) in cases {
        let m = save(HashMap::new(), meta1(value));
        assert!(m.contains(message), "{m}");
        assert_eq!(dir_entries(&dir), Vec::<String>::new(), "{message}");
    }
    // A file that existed stays as it was.
    std::fs::write(&path, b"old").unwrap();
    let m = save(
        one(Array::from_slice(&[1.0f64], &[1]).unwrap()),
        HashMap::new(),
    );
    assert!(m.contains("float64 is not supported"), "{m}");
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
    assert_eq!(dir_entries(&dir), ["x.gguf"]);
}

#[test]
fn gguf_missing_and_unwritable_paths() {
    let dir = TempDir::new("gguf-missing");
    let m = io_message(io::load_gguf(dir.path("nope.gguf")));
    assert!(m.contains("nope.gguf"), "{m}");
    assert!(matches!(
        io::load_gguf(&dir.0),
        Err(Error::Io(_) | Error::Mlx(_))
    ));
    let a = HashMap::from([("a".to_string(), Array::ones::<f32>(&[2]).unwrap())]);
    let bad = dir.path("no/such/dir/x.gguf");
    let m = io_message(io::save_gguf(&bad, &a, &HashMap::new()));
    assert!(m.contains("[save_gguf] gguf_create failed"), "{m}");
    assert!(m.contains("no/such/dir/x.gguf"), "{m}");
    let e = io::save_gguf("bad\0name.gguf", &a, &HashMap::new()).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
}

/// Builds GGUF files by hand (version 3, little-endian, alignment 32), for corrupt-file tests.
#[derive(Clone)]
struct Gguf {
    version: u32,
    n_kv: u64,
    kv: Vec<u8>,
    n_tensors: u64,
    tensors: Vec<u8>,
    data: Vec<u8>,
}

fn gguf_str(s: &[u8]) -> Vec<u8> {
    let mut v = (s.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(s);
    v
}

impl Gguf {
    fn new() -> Gguf {
        Gguf {
            version: 3,
            n_kv: 0,
            kv: vec![],
            n_tensors: 0,
            tensors: vec![],
            data: vec![],
        }
    }

    /// A metadata entry: key, value type and the value's bytes.
    fn kv(mut self, key: &str, t: u32, value: &[u8]) -> Gguf {
        self.kv.extend(gguf_str(key.as_bytes()));
        self.kv.extend(t.to_le_bytes());
        self.kv.extend_from_slice(value);
        self.n_kv += 1;
        self
    }

    /// A tensor description; `dims` in GGUF order (fastest-varying first).
    fn tensor(mut self, name: &str, dims: &[u64], t: u32, offset: u64) -> Gguf {
        self.tensors.extend(gguf_str(name.as_bytes()));
        self.tensors.extend((dims.len() as u32).to_le_bytes());
        for d in dims {
            self.tensors.extend(d.to_le_bytes());
        }
        self.tensors.extend(t.to_le_bytes());
        self.tensors.extend(offset.to_le_bytes());
        self.n_tensors += 1;
        self
    }

    fn data(mut self, bytes: &[u8]) -> Gguf {
        self.data.extend_from_slice(bytes);
        self
    }

    fn bytes(&self) -> Vec<u8> {
        let mut v = b"GGUF".to_vec();
        v.extend(self.version.to_le_bytes());
        v.extend(self.n_tensors.to_le_bytes());
        v.extend(self.n_kv.to_le_bytes());
        v.extend_from_slice(&self.kv);
        v.extend_from_slice(&self.tensors);
        while !v.len().is_multiple_of(32) {
            v.push(0);
        }
        v.extend_from_slice(&self.data);
        v
    }
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn array_value(elem: u32, count: u64, items: &[u8]) -> Vec<u8> {
    let mut v = elem.to_le_bytes().to_vec();
    v.extend(count.to_le_bytes());
    v.extend_from_slice(items);
    v
}

#[test]
fn gguf_hand_written_files() {
    let dir = TempDir::new("gguf-hand");
    let path = dir.path("h.gguf");
    let load = |g: &Gguf| {
        std::fs::write(&path, g.bytes()).unwrap();
        io::load_gguf(&path)
    };
    // A plain file, read as MLX reads it: GGUF dims are reversed into MLX's shape.
    let g = Gguf::new()
        .kv("s", 8, &gguf_str(b"hi"))
        .kv("general.alignment", 4, &32u32.to_le_bytes())
        .kv(
            "n",
            9,
            &array_value(5, 2, &[1, 0, 0, 0, 254, 255, 255, 255]),
        )
        .tensor("w", &[3, 2], 0, 0)
        .data(&f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
    let (a, m) = load(&g).unwrap();
    check(
        &a["w"],
        Dtype::Float32,
        &[2, 3],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    );
    assert_eq!(meta_string(&m["s"]), "hi");
    check(meta_array(&m["n"]), Dtype::Int32, &[2], &[1.0, -2.0]);
    check(
        meta_array(&m["general.alignment"]),
        Dtype::Uint32,
        &[],
        &[32.0],
    );
    // Version 2 has the same layout.
    let mut v2 = g.clone();
    v2.version = 2;
    check(
        &load(&v2).unwrap().0["w"],
        Dtype::Float32,
        &[2, 3],
        &ramp(6, 1.0, 1.0),
    );

    // bfloat16 tensors (type 30) arrive as float16: 1.5 and -2.0 are 0x3FC0 and 0xC000.
    let g = Gguf::new()
        .tensor("b", &[2], 30, 0)
        .data(&[0xC0, 0x3F, 0x00, 0xC0]);
    check(
        &load(&g).unwrap().0["b"],
        Dtype::Float16,
        &[2],
        &[1.5, -2.0],
    );

    // Q8_0 (type 8): one block of a float16 scale (0.5 = 0x3800) and 32 int8 values q; MLX
    // loads it as its own 8-bit affine triple with weights q + 128, scale 0.5, bias -64.
    let q: Vec<i8> = (0..32).map(|j| j as i8 - 16).collect();
    let mut block = vec![0x00, 0x38];
    block.extend(q.iter().map(|x| *x as u8));
    let g = Gguf::new()
        .tensor("blk.weight", &[32, 1], 8, 0)
        .data(&block);
    let (a, _) = load(&g).unwrap();
    assert_eq!(sorted_keys(&a), ["blk.biases", "blk.scales", "blk.weight"]);
    let w = &a["blk.weight"];
    assert_eq!((w.dtype(), w.shape()), (Dtype::Uint32, &[1, 8][..]));
    let want_words: Vec<u32> = (0..8)
        .map(|i| u32::from_le_bytes(std::array::from_fn(|b| (q[4 * i + b] as i16 + 128) as u8)))
        .collect();
    assert_eq!(w.to_vec::<u32>().unwrap(), want_words);
    check(&a["blk.scales"], Dtype::Float16, &[1, 1], &[0.5]);
    check(&a["blk.biases"], Dtype::Float16, &[1, 1], &[-64.0]);
    let deq = mlx::ops::dequantize(
        w,
        &a["blk.scales"],
        Some(&a["blk.biases"]),
        &mlx::ops::QuantizeOptions::default()
            .with_group_size(32)
            .with_bits(8),
        Some(Dtype::Float32),
    )
    .unwrap();
    let want: Vec<f64> = q.iter().map(|x| 0.5 * *x as f64).collect();
    check(&deq, Dtype::Float32, &[1, 32], &want);
}

#[test]
fn gguf_corrupt_files() {
    let dir = TempDir::new("gguf-corrupt");
    let path = dir.path("bad.gguf");
    let good = Gguf::new()
        .kv("s", 8, &gguf_str(b"hello"))
        .tensor("w", &[4], 0, 0)
        .data(&f32_bytes(&[1.0, 2.0, 3.0, 4.0]));
    let good_bytes = good.bytes();
    let with_kv = |key: &str, t: u32, v: &[u8]| {
        Gguf::new()
            .kv(key, t, v)
            .tensor("w", &[4], 0, 0)
            .data(&f32_bytes(&[1.0, 2.0, 3.0, 4.0]))
            .bytes()
    };
    let with_tensor = |dims: &[u64], t: u32, offset: u64, data: &[u8]| {
        Gguf::new().tensor("w", dims, t, offset).data(data).bytes()
    };
    let mut huge_kv_count = Gguf::new().kv("s", 8, &gguf_str(b"hello")).bytes();
    huge_kv_count[16..24].copy_from_slice(&(1u64 << 40).to_le_bytes());
    // A tensor description (8 + 1 + 4 + 8 + 4 + 8 bytes) right after the header, then nothing.
    let mut huge_tensor_count = Gguf::new().tensor("w", &[4], 0, 0).bytes()[..24 + 33].to_vec();
    huge_tensor_count[8..16].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let mut huge_key = good_bytes.clone();
    huge_key[24..32].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let mut version1 = good_bytes.clone();
    version1[4] = 1;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty file", vec![], "not a GGUF file"),
        ("garbage", b"hello, not gguf".to_vec(), "not a GGUF file"),
        (
            "magic only",
            b"GGUF".to_vec(),
            "the header extends past the end",
        ),
        ("version 1", version1, "unsupported GGUF version 1"),
        (
            "header only",
            good_bytes[..24].to_vec(),
            "metadata entry 0 of 1 extends past the end",
        ),
        (
            "huge entry count",
            huge_kv_count,
            "of 1099511627776 extends past the end",
        ),
        (
            "huge tensor count",
            huge_tensor_count,
            "tensor description 1 of 1099511627776 extends past the end",
        ),
        (
            "huge key",
            huge_key,
            "metadata entry 0 of 1 extends past the end",
        ),
        (
            "huge string",
            with_kv("s", 8, &(1u64 << 40).to_le_bytes()),
            "metadata 's' extends past the end",
        ),
        (
            "huge number list",
            with_kv("s", 9, &array_value(6, 1 << 62, &[0; 8])),
            "metadata 's' has too many elements",
        ),
        (
            "huge string list",
            with_kv("s", 9, &array_value(8, 1 << 40, &gguf_str(b"x"))),
            "metadata 's' extends past the end",
        ),
        (
            "float64 value",
            with_kv("f", 12, &2.5f64.to_le_bytes()),
            "metadata 'f' holds float64 values",
        ),
        (
            "float64 list",
            with_kv("f", 9, &array_value(12, 1, &2.5f64.to_le_bytes())),
            "metadata 'f' holds float64 values",
        ),
        (
            "alignment 0",
            with_kv("general.alignment", 4, &0u32.to_le_bytes()),
            "metadata 'general.alignment' is 0",
        ),
        (
            "nine dimensions",
            with_tensor(&[1; 9], 0, 0, &[0; 4]),
            "tensor 'w' has 9 dimensions (at most 8 are read)",
        ),
        (
            "removed type",
            with_tensor(&[32], 4, 0, &[0; 64]),
            "tensor 'w' has type 4, a format removed from GGUF",
        ),
        (
            "unknown type",
            with_tensor(&[4], 31, 0, &[0; 64]),
            "tensor 'w' has unknown type 31",
        ),
        (
            "truncated tensor description",
            good_bytes[..good_bytes.len() - 16 - 20].to_vec(),
            "tensor description 0 of 1 extends past the end",
        ),
        // What MLX checks itself, with its own messages.
        (
            "truncated data",
            good_bytes[..good_bytes.len() - 4].to_vec(),
            "[load_gguf] Tensor 'w' extends past the end of the file",
        ),
        (
            "data offset past the end",
            with_tensor(&[4], 0, 1 << 40, &[0; 16]),
            "[load_gguf] Tensor 'w' has a data offset past the end of the file",
        ),
        (
            "dimensions too large",
            with_tensor(&[1 << 40, 1 << 40], 0, 0, &[0; 16]),
            "[load_gguf] Tensor 'w' has a dimension that is too large",
        ),
        (
            "nested list",
            with_kv("n", 9, &array_value(9, 1, &array_value(0, 1, &[0]))),
            "[load_gguf] Only supports loading 1-layer of nested arrays.",
        ),
        (
            "unknown value type",
            with_kv("n", 13, &[0; 8]),
            "[load_gguf] Received unexpected type.",
        ),
        (
            "unsupported tensor type",
            with_tensor(&[32], 6, 0, &[0; 22]),
            "[load_gguf] gguf_tensor_to_f16 failed",
        ),
        (
            "quantized without dimensions",
            with_tensor(&[], 2, 0, &[0; 18]),
            "[load_gguf] quantized tensor w has no dimensions",
        ),
        (
            "duplicate tensor names",
            Gguf::new()
                .tensor("w", &[1], 0, 0)
                .tensor("w", &[1], 0, 0)
                .data(&[0; 4])
                .bytes(),
            "[load_gguf] Duplicate parameter name",
        ),
        (
            "non-UTF-8 string",
            with_kv("s", 8, &gguf_str(&[0xff, 0xfe])),
            "the value of metadata 's' is not valid UTF-8",
        ),
    ];
    for (what, bytes, message) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let m = io_message(io::load_gguf(&path));
        assert!(m.contains(message), "{what}: {m}");
    }
}

#[test]
fn gguf_damaged_files_never_crash() {
    // Every truncation and many one-byte and several-byte changes of a file with each kind of
    // metadata and two tensors: each load returns, Ok or Err (a crash would end the test run).
    let dir = TempDir::new("gguf-fuzz");
    let path = dir.path("f.gguf");
    let src = dir.path("src.gguf");
    let arrays: HashMap<String, Array> = [
        (
            "w",
            Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap(),
        ),
        ("v", Array::from_slice(&[1i16, -2, 3], &[3]).unwrap()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let meta = HashMap::from([
        (
            "general.alignment".to_string(),
            GgufMeta::Array(Array::scalar(32u32)),
        ),
        ("s".to_string(), "text".into()),
        (
            "l".to_string(),
            vec!["a".to_string(), "bc".to_string()].into(),
        ),
        (
            "n".to_string(),
            GgufMeta::Array(Array::from_slice(&[1i64, 2], &[2]).unwrap()),
        ),
        ("f".to_string(), GgufMeta::Array(Array::scalar(0.5f32))),
    ]);
    io::save_gguf(&src, &arrays, &meta).unwrap();
    let bytes = std::fs::read(&src).unwrap();
    let (mut ok, mut err) = (0, 0);
    let mut try_load = |b: &[u8]| {
        std::fs::write(&path, b).unwrap();
        match io::load_gguf(&path) {
            Ok(_) => ok += 1,
            Err(Error::Io(_) | Error::Mlx(_)) => err += 1,
            Err(e) => panic!("unexpected error kind {e:?}"),
        }
    };
    for n in 0..bytes.len() {
        try_load(&bytes[..n]);
    }
    // The header, metadata and tensor descriptions come before the (aligned) data.
    let data_len = 32 + 16;
    for i in 0..bytes.len() - data_len {
        for v in [0x00, 0xff, 0x80, bytes[i].wrapping_add(1), bytes[i] ^ 0x08] {
            let mut b = bytes.clone();
            b[i] = v;
            try_load(&b);
        }
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..500 {
        let mut b = bytes.clone();
        for _ in 0..1 + next() % 4 {
            let i = (next() % b.len() as u64) as usize;
            b[i] = next() as u8;
        }
        try_load(&b);
    }
    // The unchanged file loads; many damaged ones fail.
    try_load(&bytes);
    assert!(ok > 0 && err > bytes.len(), "ok {ok}, err {err}");
}

const PYTHON_GGUF_CHECK: &str = r#"
import os, sys
import numpy as np
import mlx.core as mx

d = sys.argv[1]
arrays, meta = mx.load(os.path.join(d, "t.gguf"), return_metadata=True)

def same(got, want):
    got = np.array(got)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert np.array_equal(got, want), (got, want)

assert sorted(arrays) == ["f16", "f32_t", "i16", "i32_0d", "i8"], sorted(arrays)
same(arrays["f32_t"], np.array([[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]], dtype=np.float32))
same(arrays["f16"], np.array([0.5, -1.25], dtype=np.float16))
same(arrays["i8"], np.array([[-128, 127]], dtype=np.int8))
same(arrays["i16"], np.array([-300, 0, 300], dtype=np.int16))
same(arrays["i32_0d"], np.array(-(2**31), dtype=np.int32))

assert sorted(meta) == ["count", "flags", "general.name", "ids", "tokens"], sorted(meta)
assert meta["general.name"] == "written by rust \u2713", meta["general.name"]
assert meta["tokens"] == ["<s>", "", "\u00fc"], meta["tokens"]
same(meta["count"], np.array(7, dtype=np.uint32))
same(meta["ids"], np.array([-(2**40), 5], dtype=np.int64))
same(meta["flags"], np.array([True, False]))
print("python check ok")
"#;

#[test]
fn gguf_written_here_read_by_python_mlx() {
    let dir = TempDir::new("gguf-python");
    let arrays: HashMap<String, Array> = [
        (
            "f32_t",
            Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])
                .unwrap()
                .t()
                .unwrap(),
        ),
        (
            "f16",
            Array::from_slice(&[f16::from_f32(0.5), f16::from_f32(-1.25)], &[2]).unwrap(),
        ),
        ("i8", Array::from_slice(&[-128i8, 127], &[1, 2]).unwrap()),
        ("i16", Array::from_slice(&[-300i16, 0, 300], &[3]).unwrap()),
        ("i32_0d", Array::scalar(i32::MIN)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let meta = HashMap::from([
        ("general.name".to_string(), "written by rust ✓".into()),
        (
            "tokens".to_string(),
            vec!["<s>".to_string(), String::new(), "ü".to_string()].into(),
        ),
        ("count".to_string(), GgufMeta::Array(Array::scalar(7u32))),
        (
            "ids".to_string(),
            GgufMeta::Array(Array::from_slice(&[-(1i64 << 40), 5], &[2]).unwrap()),
        ),
        (
            "flags".to_string(),
            GgufMeta::Array(Array::from_slice(&[true, false], &[2]).unwrap()),
        ),
    ]);
    io::save_gguf(dir.path("t.gguf"), &arrays, &meta).unwrap();
    // Read back here first, so the file is checked even without Python.
    let (a, m) = io::load_gguf(dir.path("t.gguf")).unwrap();
    for (k, v) in &arrays {
        assert_same(&a[k], v, k);
    }
    for (k, v) in &meta {
        assert_same_meta(&m[k], v, k);
    }
    if !common::python_mlx_available() {
        return;
    }
    run_python(PYTHON_GGUF_CHECK, &dir.0);
}
