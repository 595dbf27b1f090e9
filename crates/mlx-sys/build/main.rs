//! Build script of mlx-sys: find or provision MLX, build mlxc (our C API, `mlx-c/`) with CMake,
//! link both, and (with feature `bindgen`) regenerate the FFI bindings.
//!
//! Environment variables (all optional):
//! - `MLX_DIR`               an MLX install prefix to use as is
//! - `MLX_USE_PYTHON=1`      use the active Python's `mlx` package
//! - `MLX_SYS_CACHE_DIR`     where downloaded wheels (and a PyPI cmake) are kept
//! - `MLX_SYS_PYTHON`        the Python used for pip (default: python3)
//! - `MLX_SYS_NO_OPENBLAS=1` do not link the system OpenBLAS (binaries for machines without it)
//! - `OPENBLAS_LIB_DIR`      folder holding libopenblas, if not a standard one
//! - `CMAKE`                 the cmake executable (default: PATH, else the PyPI package)
//! - `MLX_SYS_STATIC_MLXC=1` link mlxc statically (binaries then find libmlx through their rpath
//!   or LD_LIBRARY_PATH; for binaries carried to another machine)

#[cfg(feature = "bindgen")]
mod bindings;
mod platform;
mod provision;

use std::path::{Path, PathBuf};

use platform::Target;

const ENV_VARS: &[&str] = &[
    "MLX_DIR",
    "MLX_USE_PYTHON",
    "MLX_SYS_CACHE_DIR",
    "MLX_SYS_PYTHON",
    "MLX_SYS_NO_OPENBLAS",
    "MLX_SYS_MACOS_TAG",
    "OPENBLAS_LIB_DIR",
    "CMAKE",
    "PYTHON",
    "MLX_SYS_STATIC_MLXC",
];

fn main() {
    for var in ENV_VARS {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let mlx_c = manifest.join("mlx-c");
    println!("cargo:rerun-if-changed={}", mlx_c.display());
    println!("cargo:rerun-if-changed=build");

    // docs.rs builds have no network: document from the committed bindings, without provisioning
    // MLX, building mlxc or linking anything (documentation never links).
    println!("cargo:rerun-if-env-changed=DOCS_RS");
    if std::env::var_os("DOCS_RS").is_some() {
        println!("cargo:rustc-env=MLX_SYS_PREFIX=");
        println!("cargo:rustc-env=MLX_SYS_SOURCE=none (documentation build)");
        println!("cargo:rustc-env=MLX_SYS_VERSION={}", platform::MLX_VERSION);
        println!("cargo:rustc-env=MLX_SYS_OPENBLAS_DIR=");
        return;
    }

    let target = Target::from_env();
    let mlx = provision::find(&target).unwrap_or_else(|e| fail(&provision::explain(&e)));
    let openblas = find_openblas(&target);

    let cmake_exe = provision::cmake().unwrap_or_else(|e| fail(&e));
    // The cmake crate runs whatever $CMAKE names. Build scripts are single-threaded here.
    unsafe { std::env::set_var("CMAKE", &cmake_exe) };
    let shared = !env_flag("MLX_SYS_STATIC_MLXC");
    let on_off = |b: bool| if b { "ON" } else { "OFF" };
    let mut config = cmake::Config::new(&mlx_c);
    config
        .define("CMAKE_PREFIX_PATH", &mlx.prefix)
        .define("MLXC_WITH_OPENBLAS", on_off(openblas.is_some()))
        .define("MLXC_SHARED", on_off(shared))
        .define("MLXC_RPATH", mlx.lib_dir())
        .profile("Release");
    if let Some(dir) = &openblas {
        config.define("MLXC_OPENBLAS_LIB", dir.join("libopenblas.so"));
    }
    let built = config.build();

    if shared {
        link_shared(&built);
    } else {
        link(&target, &mlx, &built, openblas.as_deref());
    }
    export_metadata(&mlx, openblas.as_deref(), &mlx_c);

    #[cfg(feature = "bindgen")]
    {
        let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("bindings.rs");
        let code = bindings::generate(&mlx_c).unwrap_or_else(|e| fail(&e));
        std::fs::write(out, code).unwrap();
    }
}

/// Whether the environment variable is set to something other than empty or `0`.
fn env_flag(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Links the shared libmlxc. Its install name is its absolute path and its run path leads to
/// libmlx (with OpenBLAS linked ahead of it), so a binary of any crate depending on this one
/// starts without LD_LIBRARY_PATH or an rpath: cargo passes link arguments only to the package
/// that prints them, so an rpath could not reach other people's binaries.
fn link_shared(built: &Path) {
    println!(
        "cargo:rustc-link-search=native={}",
        built.join("lib").display()
    );
    println!("cargo:rustc-link-lib=dylib=mlxc");
}

/// Links the static libmlxc, then OpenBLAS, libmlx and the C++ runtime, with an rpath for this
/// package's own binaries.
fn link(target: &Target, mlx: &provision::Mlx, built: &Path, openblas: Option<&Path>) {
    println!(
        "cargo:rustc-link-search=native={}",
        built.join("lib").display()
    );
    println!("cargo:rustc-link-lib=static=mlxc");
    // OpenBLAS goes before libmlx: the loader then resolves libmlx's BLAS/LAPACK calls to it
    // rather than to the reference BLAS bundled in the Linux wheels (about 60x slower matmul).
    if let Some(dir) = openblas {
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-lib=dylib=openblas");
    }
    // Cargo puts link-search folders that lie inside the target folder on the loader path of
    // `cargo run` and `cargo test`, for every crate depending on this one: link through a link
    // to MLX's lib folder placed in OUT_DIR.
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let lib_link = out_dir.join("mlx-lib");
    let _ = std::fs::remove_file(&lib_link);
    let lib_dir = mlx.lib_dir();
    let search = if symlink_dir(&lib_dir, &lib_link).is_ok() {
        lib_link
    } else {
        lib_dir.clone()
    };
    println!("cargo:rustc-link-search=native={}", search.display());
    println!("cargo:rustc-link-lib=dylib=mlx");
    println!("cargo:rustc-link-lib=dylib={}", target.cxx_stdlib());
    // And an rpath, so binaries also start outside cargo. Cargo applies link arguments only to
    // this package's own targets; dependents read DEP_MLX_RPATH (see the `mlx` crate's build.rs).
    println!(
        "cargo:rustc-link-arg={}",
        target.rpath_arg(&lib_dir.to_string_lossy())
    );
}

fn export_metadata(mlx: &provision::Mlx, openblas: Option<&Path>, mlx_c: &Path) {
    let lib_dir = mlx.lib_dir();
    // DEP_MLX_* for crates that depend on mlx-sys directly.
    println!("cargo:root={}", mlx.prefix.display());
    println!("cargo:include={}", mlx.include_dir().display());
    println!("cargo:lib_dir={}", lib_dir.display());
    println!("cargo:rpath={}", lib_dir.display());
    println!("cargo:mlxc_include={}", mlx_c.join("include").display());
    // Compile-time constants of this crate (see src/lib.rs).
    println!("cargo:rustc-env=MLX_SYS_PREFIX={}", mlx.prefix.display());
    println!("cargo:rustc-env=MLX_SYS_SOURCE={}", mlx.source);
    println!("cargo:rustc-env=MLX_SYS_VERSION={}", platform::MLX_VERSION);
    let blas = openblas
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=MLX_SYS_OPENBLAS_DIR={blas}");
}

/// The system OpenBLAS to link ahead of libmlx, if wanted and present; warns when absent.
fn find_openblas(target: &Target) -> Option<PathBuf> {
    if !target.wants_openblas() {
        return None;
    }
    if env_flag("MLX_SYS_NO_OPENBLAS") {
        return None;
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("OPENBLAS_LIB_DIR")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    dirs.extend(platform::OPENBLAS_DIRS.iter().map(PathBuf::from));
    let found = dirs.into_iter().find(|d| d.join("libopenblas.so").exists());
    if found.is_none() {
        println!(
            "cargo:warning=OpenBLAS not found: MLX's CPU matmul will use the reference BLAS bundled \
             in the wheel (about 60x slower). Install it (Debian/Ubuntu: apt-get install \
             libopenblas-dev; Fedora: dnf install openblas-devel) or set OPENBLAS_LIB_DIR, then \
             rebuild. Set MLX_SYS_NO_OPENBLAS=1 to silence this."
        );
    }
    found
}

#[cfg(unix)]
fn symlink_dir(src: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(src, link)
}

#[cfg(not(unix))]
fn symlink_dir(_src: &Path, _link: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("no symlinks"))
}

fn fail(message: &str) -> ! {
    eprintln!("\nerror: {message}\n");
    panic!(
        "mlx-sys build failed: {}",
        message.lines().next().unwrap_or(message)
    );
}
