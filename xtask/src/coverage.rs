//! `cargo xtask coverage [--prefix DIR] [--missing]`: which public functions of MLX's C++ API
//! the `mlx` crate exposes.
//!
//! Reads the function names declared in `ops.h`, `linalg.h`, `fft.h`, `random.h`, `fast.h`,
//! `transforms.h`, `einsum.h` and `io.h` under `<prefix>/include/mlx/` of the MLX the build
//! uses (see [`find_include_dir`]), scans `crates/mlx/src/**/*.rs` for public functions and
//! methods, and prints per header which functions are exposed and which are not, each with a
//! reason, then a final `coverage: N/M public functions exposed (P%)` line.
//!
//! A C++ function counts once per header and namespace, whatever its overloads. It is exposed
//! when a public function or method of the same name (or of a name in [`RENAMES`], or the name
//! with a trailing `_` for Rust keywords) exists in the Rust modules its namespace maps to:
//!
//! | C++                                 | Rust modules searched                                |
//! |-------------------------------------|------------------------------------------------------|
//! | `mlx::core` (ops.h, einsum.h)       | `mlx::ops` (`src/ops/`), crate root (`lib.rs`, `array.rs`) |
//! | `mlx::core` (io.h)                  | `mlx::io`                                            |
//! | `mlx::core` (transforms.h)          | `mlx::transforms`, crate root                        |
//! | `mlx::core::{linalg,fft,random,fast}` | `mlx::linalg`, `mlx::fft`, `mlx::random`, `mlx::fast` |
//!
//! A function found in none of those but in another op module counts too, and the report says
//! where (`tensordot (as mlx::linalg::tensordot)`): except in a module named after a C++
//! namespace that declares the same name (`mlx::random::split` does not expose `split`).
//!
//! Functions left out on purpose are listed in [`OMISSIONS`] with the reason; every other
//! missing function is reported as "not yet exposed". The command always succeeds when it can
//! read the headers: the gaps are for reading, not for failing a build.
//!
//! A second report covers Python MLX's `mlx.nn` (layers, activations, `losses`, `init`) and
//! `mlx.optimizers` by name, when `python3` can import `mlx`: see `python_api`.

mod cpp;
mod python_api;
mod rust_api;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The headers examined, in report order.
const HEADERS: [&str; 8] = [
    "ops.h",
    "linalg.h",
    "fft.h",
    "random.h",
    "fast.h",
    "transforms.h",
    "einsum.h",
    "io.h",
];

/// C++ names exposed under another Rust name: (C++ namespace below `mlx::core`, C++ name,
/// Rust name). Rust keywords need no entry (`where` → `where_` is tried automatically).
pub const RENAMES: &[(&str, &str, &str)] = &[
    // The `.npy` functions say which format they use.
    ("", "save", "save_npy"),
    ("", "load", "load_npy"),
    // Custom kernels are values with a constructor per back-end.
    ("fast", "cuda_kernel", "cuda"),
    ("fast", "metal_kernel", "metal"),
];

/// Functions deliberately not exposed: (C++ namespace below `mlx::core`, name, reason).
pub const OMISSIONS: &[(&str, &str, &str)] = &[(
    "fast",
    "precompiled_cuda_kernel",
    "launches caller-compiled CUDA code: out of scope",
)];

/// Rust keywords (strict and reserved) that cannot be function names as they are.
const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "try", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield",
];

/// Runs the command.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut prefix = None;
    let mut missing_only = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--prefix" => {
                prefix = Some(PathBuf::from(
                    it.next().ok_or("--prefix needs a directory")?,
                ))
            }
            "--missing" => missing_only = true,
            other => return Err(format!("coverage: unknown argument `{other}`\n{USAGE}")),
        }
    }
    let (include, from) = match prefix {
        Some(p) => (p.join("include"), "--prefix".to_string()),
        None => find_include_dir()?,
    };
    let headers = include.join("mlx");
    println!("MLX headers: {} (found through {from})", headers.display());

    let exposed = rust_api::scan_dir(&crate::root().join("crates/mlx/src"))?;
    let mut parsed = Vec::new();
    for header in HEADERS {
        let path = headers.join(header);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        parsed.push((header, cpp::public_functions(&text)));
    }
    let declared = declared_names(parsed.iter().flat_map(|(_, f)| f));
    let reports: Vec<HeaderReport> = parsed
        .iter()
        .map(|(header, functions)| check_header(header, functions, &exposed, &declared))
        .collect();
    print!("{}", render(&reports, missing_only));
    print!(
        "{}",
        render_python(&crate::root().join("crates/mlx/src"), missing_only)?
    );
    Ok(())
}

/// The by-name coverage of Python MLX's `mlx.nn` and `mlx.optimizers`.
fn render_python(src: &Path, missing_only: bool) -> Result<String, String> {
    let sections = match python_api::check(src)? {
        Ok(s) => s,
        Err(why) => return Ok(format!("\nmlx.nn / mlx.optimizers: skipped ({why})\n")),
    };
    let mut out = String::from("\nPython MLX's mlx.nn and mlx.optimizers, by name:\n");
    let (mut total, mut exposed) = (0, 0);
    for s in &sections {
        let n = s.exposed.len() + s.missing.len();
        total += n;
        exposed += s.exposed.len();
        out += &format!(
            "{}: {}/{} ({:.0}%)\n",
            s.name,
            s.exposed.len(),
            n,
            percent(s.exposed.len(), n)
        );
        if !missing_only && !s.exposed.is_empty() {
            out += &format!("  exposed: {}\n", wrap(&s.exposed, 11, 100).trim_start());
        }
        for (name, why) in &s.missing {
            out += &format!("  missing: {name} ({why})\n");
        }
    }
    out += &format!(
        "python coverage: {exposed}/{total} names exposed ({:.0}%)\n",
        percent(exposed, total)
    );
    Ok(out)
}

pub const USAGE: &str = "usage: cargo xtask coverage [--prefix MLX_PREFIX] [--missing]";

/// Where the MLX headers are: the `cargo:include=` line (or, failing that, `cargo:root=` +
/// `include`) that mlx-sys's build script wrote into the newest
/// `<target>/*/build/mlx-sys-*/output` (target: `CARGO_TARGET_DIR` or `<workspace>/target`);
/// when no build has run yet, the prefix printed by `cargo run -p mlx-array --example mlx_info --
/// --prefix` (which builds the crate). Returns the include folder and how it was found.
pub fn find_include_dir() -> Result<(PathBuf, String), String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::root().join("target"));
    if let Some(found) = from_build_outputs(&target) {
        return Ok(found);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "run",
            "--quiet",
            "-p",
            "mlx-array",
            "--example",
            "mlx_info",
            "--",
            "--prefix",
        ])
        .current_dir(crate::root())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cannot find MLX's prefix: no mlx-sys build output under {} and `cargo run --example \
             mlx_info -- --prefix` failed:\n{}",
            target.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let prefix = stdout.lines().last().unwrap_or("").trim();
    Ok((
        Path::new(prefix).join("include"),
        "the mlx_info example".into(),
    ))
}

fn from_build_outputs(target: &Path) -> Option<(PathBuf, String)> {
    let mut outputs = Vec::new();
    for profile in std::fs::read_dir(target).ok()?.flatten() {
        let Ok(builds) = std::fs::read_dir(profile.path().join("build")) else {
            continue;
        };
        for build in builds.flatten() {
            if !build.file_name().to_string_lossy().starts_with("mlx-sys-") {
                continue;
            }
            let output = build.path().join("output");
            if let Ok(modified) = output.metadata().and_then(|m| m.modified()) {
                outputs.push((modified, output));
            }
        }
    }
    outputs.sort();
    for (_, output) in outputs.iter().rev() {
        let Ok(text) = std::fs::read_to_string(output) else {
            continue;
        };
        if let Some(include) = include_from_build_output(&text) {
            return Some((include, output.display().to_string()));
        }
    }
    None
}

/// The MLX include folder named by a build script output: `cargo:include=`, or the last
/// `cargo:root=` holding `include/mlx/ops.h` (CMake also prints a `cargo:root=` line).
fn include_from_build_output(text: &str) -> Option<PathBuf> {
    let has_headers = |dir: &Path| dir.join("mlx/ops.h").is_file();
    if let Some(dir) = text
        .lines()
        .filter_map(|l| l.strip_prefix("cargo:include="))
        .map(PathBuf::from)
        .rfind(|d| has_headers(d))
    {
        return Some(dir);
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("cargo:root="))
        .map(|p| Path::new(p).join("include"))
        .rfind(|d| has_headers(d))
}

/// One header's result.
#[derive(Debug)]
struct HeaderReport {
    header: &'static str,
    /// Where the functions are looked for, for the heading.
    modules: String,
    exposed: Vec<String>,
    /// Name and reason.
    missing: Vec<(String, String)>,
}

/// The Rust modules (as named by [`rust_api::Exposed`]) searched for a C++ namespace.
fn modules_for(header: &str, namespace: &str) -> Vec<&'static str> {
    match namespace {
        "linalg" => vec!["linalg"],
        "fft" => vec!["fft"],
        "random" => vec!["random"],
        "fast" => vec!["fast"],
        "" if header == "io.h" => vec!["io"],
        "" if header == "transforms.h" => vec!["transforms", "lib", "array"],
        "" => vec!["ops", "lib", "array"],
        _ => vec![],
    }
}

fn rust_path(module: &str) -> &str {
    match module {
        "lib" | "array" => "crate root",
        "ops" => "mlx::ops",
        "linalg" => "mlx::linalg",
        "fft" => "mlx::fft",
        "random" => "mlx::random",
        "fast" => "mlx::fast",
        "io" => "mlx::io",
        "transforms" => "mlx::transforms",
        other => other,
    }
}

/// The modules (as named by [`rust_api::Exposed`]) that make up the crate's op API; functions
/// elsewhere (parameter trees, memory statistics, ...) never count.
const API_MODULES: &[&str] = &[
    "ops",
    "lib",
    "array",
    "linalg",
    "fft",
    "random",
    "fast",
    "io",
    "transforms",
];

/// The C++ namespace whose functions a Rust module holds, for modules named after one.
fn namespace_of_module(module: &str) -> Option<&'static str> {
    match module {
        "linalg" => Some("linalg"),
        "fft" => Some("fft"),
        "random" => Some("random"),
        "fast" => Some("fast"),
        _ => None,
    }
}

/// Every (namespace, name) declared in the headers.
fn declared_names<'a>(
    functions: impl Iterator<Item = &'a cpp::Function>,
) -> BTreeSet<(String, String)> {
    functions
        .map(|f| (f.namespace.clone(), f.name.clone()))
        .collect()
}

/// The Rust names that would expose a C++ function.
fn rust_candidates(namespace: &str, name: &str) -> Vec<String> {
    let mut out = vec![name.to_string()];
    if RUST_KEYWORDS.contains(&name) {
        out.push(format!("{name}_"));
    }
    out.extend(
        RENAMES
            .iter()
            .filter(|(ns, cpp, _)| *ns == namespace && *cpp == name)
            .map(|(_, _, rust)| rust.to_string()),
    );
    out
}

/// Sorts one header's functions into exposed and missing. A function is looked for in the
/// modules its namespace maps to, then in any other module (the crate may place a function of
/// `mlx::core` in, say, `mlx::linalg`), unless that module is named after a namespace that
/// declares the same name itself (`random::split` does not expose `split`).
fn check_header(
    header: &'static str,
    functions: &[cpp::Function],
    exposed: &rust_api::Exposed,
    declared: &BTreeSet<(String, String)>,
) -> HeaderReport {
    let mut seen_modules = Vec::new();
    let mut report = HeaderReport {
        header,
        modules: String::new(),
        exposed: Vec::new(),
        missing: Vec::new(),
    };
    for f in functions {
        let modules = modules_for(header, &f.namespace);
        for m in &modules {
            let p = rust_path(m);
            if !seen_modules.contains(&p) {
                seen_modules.push(p);
            }
        }
        let names: BTreeSet<&String> = modules
            .iter()
            .filter_map(|m| exposed.get(*m))
            .flatten()
            .collect();
        let display = if f.namespace.is_empty() {
            f.name.clone()
        } else {
            format!("{}::{}", f.namespace, f.name)
        };
        let candidates = rust_candidates(&f.namespace, &f.name);
        let found = candidates
            .iter()
            .find(|c| names.contains(c))
            .map(|c| (c.clone(), None))
            .or_else(|| {
                exposed
                    .iter()
                    .filter(|(m, _)| {
                        API_MODULES.contains(&m.as_str()) && !modules.contains(&m.as_str())
                    })
                    .filter(|(m, _)| {
                        namespace_of_module(m).is_none_or(|ns| {
                            ns == f.namespace
                                || !declared.contains(&(ns.to_string(), f.name.clone()))
                        })
                    })
                    .find_map(|(m, names)| {
                        candidates
                            .iter()
                            .find(|c| names.contains(*c))
                            .map(|c| (c.clone(), Some(rust_path(m).to_string())))
                    })
            });
        match found {
            Some((rust, None)) if rust == f.name => report.exposed.push(display),
            Some((rust, None)) => report.exposed.push(format!("{display} (as {rust})")),
            Some((rust, Some(module))) => report
                .exposed
                .push(format!("{display} (as {module}::{rust})")),
            None => {
                let reason = OMISSIONS
                    .iter()
                    .find(|(ns, n, _)| *ns == f.namespace && *n == f.name)
                    .map(|(_, _, r)| r.to_string())
                    .unwrap_or_else(|| "not yet exposed".to_string());
                report.missing.push((display, reason));
            }
        }
    }
    report.modules = seen_modules.join(", ");
    report
}

fn percent(n: usize, total: usize) -> f64 {
    if total == 0 {
        100.0
    } else {
        100.0 * n as f64 / total as f64
    }
}

fn render(reports: &[HeaderReport], missing_only: bool) -> String {
    let mut out = String::new();
    let (mut exposed, mut total, mut omitted) = (0, 0, 0);
    for r in reports {
        let n = r.exposed.len() + r.missing.len();
        exposed += r.exposed.len();
        total += n;
        omitted += r
            .missing
            .iter()
            .filter(|(_, why)| why != "not yet exposed")
            .count();
        out.push_str(&format!(
            "\n{} → {}: {}/{} exposed ({:.1}%)\n",
            r.header,
            r.modules,
            r.exposed.len(),
            n,
            percent(r.exposed.len(), n)
        ));
        if !missing_only && !r.exposed.is_empty() {
            out.push_str("  exposed:\n");
            out.push_str(&wrap(&r.exposed, 4, 96));
        }
        if !r.missing.is_empty() {
            out.push_str("  not exposed:\n");
            let width = r.missing.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
            for (name, why) in &r.missing {
                out.push_str(&format!("    {name:<width$}  {why}\n"));
            }
        }
    }
    out.push_str(&format!(
        "\ncoverage: {exposed}/{total} public functions exposed ({:.1}%); {omitted} left out \
         on purpose, {} not yet exposed\n",
        percent(exposed, total),
        total - exposed - omitted
    ));
    out
}

/// `items` as comma-separated lines of at most `width` characters, indented.
fn wrap(items: &[String], indent: usize, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for (i, item) in items.iter().enumerate() {
        let piece = if i + 1 < items.len() {
            format!("{item}, ")
        } else {
            item.clone()
        };
        if !line.is_empty() && indent + line.len() + piece.trim_end().len() > width {
            out.push_str(&format!("{}{}\n", " ".repeat(indent), line.trim_end()));
            line.clear();
        }
        line.push_str(&piece);
    }
    if !line.is_empty() {
        out.push_str(&format!("{}{}\n", " ".repeat(indent), line.trim_end()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposed(modules: &[(&str, &[&str])]) -> rust_api::Exposed {
        modules
            .iter()
            .map(|(m, names)| (m.to_string(), names.iter().map(|n| n.to_string()).collect()))
            .collect()
    }

    #[test]
    fn namespaces_map_to_modules_with_renames_and_omissions() {
        let ops = cpp::public_functions(
            "namespace mlx::core {
             MLX_API array add(const array& a, const array& b);
             MLX_API array where(const array& c, const array& x, const array& y);
             MLX_API array abs(const array& a);
             MLX_API void eval(std::vector<array> outputs);
             MLX_API array tensordot(const array& a, const array& b, int axis);
             MLX_API std::vector<array> split(const array& a, int n);
             }
             namespace mlx::core::random {
             MLX_API std::pair<array, array> split(const array& key);
             }",
        );
        let api = exposed(&[
            ("ops", &["add", "where_"]),
            ("memory", &["abs"]),
            ("lib", &["eval"]),
            ("linalg", &["tensordot"]),
            ("random", &["split"]),
        ]);
        let core: Vec<cpp::Function> = ops
            .iter()
            .filter(|f| f.namespace.is_empty())
            .cloned()
            .collect();
        let r = check_header("ops.h", &core, &api, &declared_names(ops.iter()));
        assert_eq!(
            r.exposed,
            [
                "add",
                "where (as where_)",
                "eval",
                "tensordot (as mlx::linalg::tensordot)"
            ]
        );
        let missing: Vec<&str> = r.missing.iter().map(|(n, _)| n.as_str()).collect();
        // `abs` is not in an op module; `random::split` is another function than `split`.
        assert_eq!(missing, ["abs", "split"]);
        assert!(r.missing.iter().all(|(_, why)| why == "not yet exposed"));
        assert_eq!(r.modules, "mlx::ops, crate root");

        let io = cpp::public_functions(
            "namespace mlx::core {
             MLX_API void save(std::string file, array a);
             MLX_API array load(std::string file, StreamOrDevice s = {});
             MLX_API void save_gguf(std::string file);
             }",
        );
        let api = exposed(&[
            ("io", &["save_npy", "load_npy"]),
            ("params", &["save_gguf"]),
        ]);
        let r = check_header("io.h", &io, &api, &declared_names(io.iter()));
        assert_eq!(r.exposed, ["save (as save_npy)", "load (as load_npy)"]);
        assert_eq!(r.missing[0].0, "save_gguf");

        let fast = cpp::public_functions(
            "namespace mlx::core::fast {
             MLX_API array rms_norm(const array& x, float eps, StreamOrDevice s = {});
             MLX_API std::vector<array> precompiled_cuda_kernel(const std::string& name);
             }",
        );
        let api = exposed(&[("fast", &["rms_norm"])]);
        let r = check_header("fast.h", &fast, &api, &declared_names(fast.iter()));
        assert_eq!(r.exposed, ["fast::rms_norm"]);
        assert_eq!(r.missing[0].0, "fast::precompiled_cuda_kernel");
        assert!(r.missing[0].1.contains("out of scope"));

        let text = render(&[r], false);
        assert!(
            text.contains("fast.h → mlx::fast: 1/2 exposed (50.0%)"),
            "{text}"
        );
        assert!(
            text.contains(
                "coverage: 1/2 public functions exposed (50.0%); 1 left out on purpose, 0 not \
                 yet exposed"
            ),
            "{text}"
        );
    }

    #[test]
    fn include_dir_from_build_output() {
        let dir = std::env::temp_dir().join(format!("xtask-coverage-{}", std::process::id()));
        let include = dir.join("prefix/include");
        std::fs::create_dir_all(include.join("mlx")).unwrap();
        std::fs::write(include.join("mlx/ops.h"), "").unwrap();
        let text = format!(
            "cargo:root={}\ncargo:root={}\n",
            dir.join("cmake-out").display(),
            dir.join("prefix").display()
        );
        assert_eq!(include_from_build_output(&text), Some(include.clone()));
        let text = format!("cargo:include={}\n", include.display());
        assert_eq!(include_from_build_output(&text), Some(include));
        assert_eq!(include_from_build_output("cargo:root=/nonexistent\n"), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn wraps_lists() {
        let items: Vec<String> = ["alpha", "beta", "gamma", "delta"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(wrap(&items, 2, 16), "  alpha, beta,\n  gamma, delta\n");
    }
}
