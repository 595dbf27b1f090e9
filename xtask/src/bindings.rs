//! `cargo xtask bindings`: regenerate or check the committed FFI bindings.

#[path = "../../crates/mlx-sys/build/bindings.rs"]
mod config;

use crate::root;

pub fn run(check: bool) -> Result<(), String> {
    ensure_libclang();
    let root = root();
    let committed = root.join("crates/mlx-sys/src/bindings.rs");
    let fresh = config::generate(&root.join("mlx-c"))?;
    let fresh = rustfmt(&fresh);
    let old = std::fs::read_to_string(&committed).unwrap_or_default();
    if check {
        if old == fresh {
            println!("bindings are up to date");
            Ok(())
        } else {
            Err(format!(
                "{} is stale: run `cargo xtask bindings` and commit the result",
                committed.display()
            ))
        }
    } else {
        std::fs::write(&committed, fresh).map_err(|e| e.to_string())?;
        println!("wrote {}", committed.display());
        Ok(())
    }
}

/// bindgen loads libclang at run time; point it at the PyPI `libclang` wheel when the system
/// has none.
fn ensure_libclang() {
    if std::env::var_os("LIBCLANG_PATH").is_some() {
        return;
    }
    let script = "import clang, os; print(os.path.join(os.path.dirname(clang.__file__), 'native'))";
    if let Ok(out) = std::process::Command::new("python3")
        .args(["-c", script])
        .output()
    {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && std::path::Path::new(&dir).join("libclang.so").exists() {
            // Single-threaded at this point.
            unsafe { std::env::set_var("LIBCLANG_PATH", dir) };
        }
    }
}

/// Formats with rustfmt so the committed file reads well and compares stably.
fn rustfmt(code: &str) -> String {
    use std::io::Write;
    let child = std::process::Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        return code.to_string();
    };
    child.stdin.take().unwrap().write_all(code.as_bytes()).ok();
    match child.wait_with_output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        _ => code.to_string(),
    }
}
