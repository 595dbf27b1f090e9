//! Everything that differs between platforms, in one place: which wheel to download, its pinned
//! sha256, how libmlx is named and linked, and how the final binary finds it at run time.
//!
//! | target                 | wheel (PyPI)                         | GPU    | BLAS for the CPU path        |
//! |------------------------|--------------------------------------|--------|------------------------------|
//! | Linux x86-64 / arm64   | `mlx-cpu`                            | none   | system OpenBLAS when present |
//! | Linux + feature `cuda` | `mlx-cuda-13`                        | CUDA   | system OpenBLAS when present |
//! | macOS arm64            | `mlx-metal` (macOS 14, 15 or 26 tag) | Metal  | Accelerate (inside libmlx)   |

/// The MLX release this crate is written against (the C++ API is versioned with the wheel).
pub const MLX_VERSION: &str = "0.32.4";

/// One downloadable wheel.
pub struct Wheel {
    /// PyPI project name.
    pub project: &'static str,
    /// Platform tag passed to `pip download --platform`.
    pub platform: &'static str,
    /// The exact file pip must produce.
    pub file: &'static str,
    /// Its sha256, checked before anything is unpacked.
    pub sha256: &'static str,
}

const WHEELS: &[Wheel] = &[
    Wheel {
        project: "mlx-cpu",
        platform: "manylinux_2_35_x86_64",
        file: "mlx_cpu-0.32.4-py3-none-manylinux_2_35_x86_64.whl",
        sha256: "0e0a24fa2ce8b6b94d2e6a90604e8813aa8e29fcb918bb2aa01cfb6d133d8cee",
    },
    Wheel {
        project: "mlx-cpu",
        platform: "manylinux_2_35_aarch64",
        file: "mlx_cpu-0.32.4-py3-none-manylinux_2_35_aarch64.whl",
        sha256: "1289e85e64af1fd16380bf331438bfe4afe875d27afc3e0bcf35f427c488fadd",
    },
    Wheel {
        project: "mlx-cuda-13",
        platform: "manylinux_2_35_x86_64",
        file: "mlx_cuda_13-0.32.4-py3-none-manylinux_2_35_x86_64.whl",
        sha256: "94cb48fba73e5ee39467e51c35c51c691123359ca17bafd1a24cf92ad6732bee",
    },
    Wheel {
        project: "mlx-cuda-13",
        platform: "manylinux_2_35_aarch64",
        file: "mlx_cuda_13-0.32.4-py3-none-manylinux_2_35_aarch64.whl",
        sha256: "cf8a67b49cebff85cd98b1d118c09f6c8ee966b899a914c50cc74d614b25616e",
    },
    Wheel {
        project: "mlx-metal",
        platform: "macosx_14_0_arm64",
        file: "mlx_metal-0.32.4-py3-none-macosx_14_0_arm64.whl",
        sha256: "8019b2db622599267d66cc168b2f0dbf5af929790a6c3b3913e00eabc42a7947",
    },
    Wheel {
        project: "mlx-metal",
        platform: "macosx_15_0_arm64",
        file: "mlx_metal-0.32.4-py3-none-macosx_15_0_arm64.whl",
        sha256: "9f0a3cc26d89724434d9684932fc6f3e4e83669d2a895d858ed2c8a55eb84e8b",
    },
    Wheel {
        project: "mlx-metal",
        platform: "macosx_26_0_arm64",
        file: "mlx_metal-0.32.4-py3-none-macosx_26_0_arm64.whl",
        sha256: "514df92d41a286895d2564b4b18f4da45096bd7a4a0c47e1042f345ad5a7f936",
    },
];

/// The build target, as far as provisioning and linking care.
pub struct Target {
    pub os: String,
    pub arch: String,
    pub cuda: bool,
}

impl Target {
    pub fn from_env() -> Self {
        Target {
            os: std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default(),
            arch: std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default(),
            cuda: std::env::var_os("CARGO_FEATURE_CUDA").is_some(),
        }
    }

    pub fn is_macos(&self) -> bool {
        self.os == "macos"
    }

    /// The wheel to download for this target, or why there is none.
    pub fn wheel(&self) -> Result<&'static Wheel, String> {
        let (project, platform) = match (self.os.as_str(), self.arch.as_str(), self.cuda) {
            ("linux", "x86_64", false) => ("mlx-cpu", "manylinux_2_35_x86_64".to_string()),
            ("linux", "aarch64", false) => ("mlx-cpu", "manylinux_2_35_aarch64".to_string()),
            ("linux", "x86_64", true) => ("mlx-cuda-13", "manylinux_2_35_x86_64".to_string()),
            ("linux", "aarch64", true) => ("mlx-cuda-13", "manylinux_2_35_aarch64".to_string()),
            ("macos", "aarch64", _) => ("mlx-metal", format!("macosx_{}_0_arm64", macos_tag())),
            (os, arch, cuda) => {
                return Err(format!(
                    "MLX publishes no wheel for {arch}-{os}{}",
                    if cuda { " with CUDA" } else { "" }
                ));
            }
        };
        WHEELS
            .iter()
            .find(|w| w.project == project && w.platform == platform)
            .ok_or_else(|| format!("no pinned {project} wheel for {platform}"))
    }

    /// File name of the shared library inside `<prefix>/lib`.
    pub fn libmlx_file(&self) -> &'static str {
        if self.is_macos() {
            "libmlx.dylib"
        } else {
            "libmlx.so"
        }
    }

    /// The C++ standard library that mlxc (a static archive) needs.
    pub fn cxx_stdlib(&self) -> &'static str {
        if self.is_macos() { "c++" } else { "stdc++" }
    }

    /// Linker argument that lets the final binary find libmlx at run time.
    pub fn rpath_arg(&self, lib_dir: &str) -> String {
        // Both GNU ld and Apple's ld64 accept `-rpath <dir>` through the compiler driver.
        format!("-Wl,-rpath,{lib_dir}")
    }

    /// Whether to look for the system OpenBLAS (Linux only: macOS uses Accelerate).
    pub fn wants_openblas(&self) -> bool {
        self.os == "linux"
    }
}

/// Which macOS wheel tag to use: the newest of 14, 15, 26 that the build machine runs (MLX ships
/// one metallib per macOS generation). Overridable with MLX_SYS_MACOS_TAG.
fn macos_tag() -> u32 {
    if let Some(v) = std::env::var("MLX_SYS_MACOS_TAG")
        .ok()
        .and_then(|t| t.parse().ok())
    {
        return v;
    }
    let major = std::process::Command::new("sw_vers")
        .arg("-productVersion")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| {
            v.split('.')
                .next()
                .and_then(|m| m.trim().parse::<u32>().ok())
        })
        .unwrap_or(14);
    [26, 15, 14].into_iter().find(|t| major >= *t).unwrap_or(14)
}

/// Directories searched for `libopenblas` (Debian/Ubuntu multiarch, Fedora, source installs).
pub const OPENBLAS_DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
    "/opt/OpenBLAS/lib",
];
