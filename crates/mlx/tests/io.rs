//! File IO: fixtures written by NumPy and Python MLX are read back value by value
//! (tests/fixtures/make_fixtures.py), files written here are read back here and checked by
//! NumPy and Python MLX, and bad paths or corrupt files give errors.
//!
//! The Python checks need `python3` with `numpy` and `mlx`; without them they print a note and
//! pass, unless `MLX_TEST_REQUIRE_PYTHON=1`, where they fail.

mod common;

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

/// Whether python3 can import numpy and mlx; panics when it cannot and MLX_TEST_REQUIRE_PYTHON=1.
fn python_ready() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import numpy, mlx.core"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var("MLX_TEST_REQUIRE_PYTHON").as_deref() == Ok("1") {
            panic!("MLX_TEST_REQUIRE_PYTHON=1 but python3 cannot import numpy and mlx");
        }
        eprintln!("note: python3 with numpy and mlx is not available; skipping the Python check");
    }
    ok
}

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
    if !python_ready() {
        return;
    }
    run_python(PYTHON_CHECK, &dir.0);
}
