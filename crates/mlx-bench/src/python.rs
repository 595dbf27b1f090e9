//! The Python peers: native MLX (`python/mlx_cases.py`, eager and `mx.compile`d) and PyTorch
//! (`python/torch_cases.py`), run as child processes of this binary.
//!
//! The scripts are looked up, in order, in `--scripts DIR`, `$MLX_BENCH_SCRIPTS`, a `python/`
//! folder beside the binary (the layout to carry to another machine), and this crate's source
//! folder (a binary built in this checkout). The interpreter is `--python`, `$MLX_BENCH_PYTHON`
//! or `python3`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::cases::{Case, Target};

/// The MLX script.
pub const MLX_SCRIPT: &str = "mlx_cases.py";
/// The PyTorch script.
pub const TORCH_SCRIPT: &str = "torch_cases.py";

/// What a script reports about itself (its first line).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Info {
    /// `mlx` or `torch`.
    pub framework: String,
    /// The framework's version.
    pub version: String,
    /// `cpu` or `gpu`.
    pub device: String,
    /// The device's name as the framework sees it (may be empty).
    #[serde(default)]
    pub device_name: String,
}

/// One line of a script's output.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Line {
    /// About the framework.
    Info {
        /// The details.
        info: Info,
    },
    /// Nothing ran, and why (e.g. PyTorch is not installed).
    Skip {
        /// The reason.
        skip: String,
    },
    /// A case that failed on a peer.
    Failed {
        /// Peer name (`mlx-eager`, `mlx-compiled`, `torch`).
        peer: String,
        /// Case id.
        case: String,
        /// The exception.
        error: String,
    },
    /// The primitives one pending training step holds (`--census`).
    Census {
        /// Peer name.
        peer: String,
        /// Case id.
        case: String,
        /// How many of each MLX primitive, by name.
        census: BTreeMap<String, usize>,
    },
    /// A case that ran.
    Timed {
        /// Peer name.
        peer: String,
        /// Case id.
        case: String,
        /// Seconds per timed step.
        times: Vec<f64>,
        /// The scalar read back on the last step.
        value: f64,
    },
}

/// One line of a script's output, parsed; `None` for other lines (warnings, say).
pub fn parse_line(line: &str) -> Option<Line> {
    let line = line.trim();
    if line.starts_with('{') {
        serde_json::from_str(line).ok()
    } else {
        None
    }
}

/// How to start the scripts.
#[derive(Clone, Debug)]
pub struct PythonSetup {
    /// The interpreter.
    pub python: PathBuf,
    /// The folder holding the scripts.
    pub scripts: PathBuf,
    /// A BLAS library to preload into the MLX script: the OpenBLAS this binary uses, so that
    /// MLX's CPU matrix products run on the same BLAS on both sides instead of the reference
    /// BLAS in MLX's Linux wheel.
    pub preload: Option<PathBuf>,
}

impl PythonSetup {
    /// Resolves the interpreter and the scripts' folder from the flags (`None`: not given),
    /// the environment and the binary's location.
    pub fn find(python: Option<PathBuf>, scripts: Option<PathBuf>) -> Result<Self, String> {
        let python = python
            .or_else(|| std::env::var_os("MLX_BENCH_PYTHON").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("python3"));
        let scripts =
            match scripts.or_else(|| std::env::var_os("MLX_BENCH_SCRIPTS").map(PathBuf::from)) {
                Some(dir) if dir.join(MLX_SCRIPT).is_file() => dir,
                Some(dir) => {
                    return Err(format!("{} holds no {MLX_SCRIPT}", dir.display()));
                }
                None => default_scripts_dir().ok_or_else(|| {
                    format!(
                        "cannot find the Python scripts ({MLX_SCRIPT}): put the `python` folder \
                     beside the binary, or pass --scripts DIR (or set MLX_BENCH_SCRIPTS)"
                    )
                })?,
            };
        Ok(PythonSetup {
            python,
            scripts,
            preload: loaded_openblas(),
        })
    }

    /// Runs `script` on `cases` (`warmup` untimed and `steps` timed steps each, and `extra`
    /// arguments such as `--census`), handing every result line to `on_line` as it arrives (the
    /// script's stderr, with tracebacks of failed cases, goes to ours). A script that cannot
    /// start or exits with an error gives `Err`.
    pub fn run(
        &self,
        script: &str,
        cases: &[Case],
        target: Target,
        (warmup, steps): (usize, usize),
        extra: &[&str],
        mut on_line: impl FnMut(Line),
    ) -> Result<(), String> {
        let cases = serde_json::to_string(cases).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(&self.python);
        cmd.arg(self.scripts.join(script))
            .args(["--device", target.name()])
            .args(["--steps", &steps.to_string()])
            .args(["--warmup", &warmup.to_string()])
            .args(["--cases", &cases])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .env("PYTHONUNBUFFERED", "1")
            // Leave no __pycache__ in the scripts' folder (a checkout, or a carried copy).
            .env("PYTHONDONTWRITEBYTECODE", "1");
        if script == MLX_SCRIPT
            && let Some(lib) = &self.preload
        {
            cmd.env("LD_PRELOAD", lib);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.python.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading {script}'s output: {e}"))?;
            if let Some(parsed) = parse_line(&line) {
                on_line(parsed);
            }
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "{script} failed ({status}); its messages are above"
            ))
        }
    }
}

/// `python/` beside the executable, else this crate's own `python/` (when the binary runs in
/// the checkout it was built from).
fn default_scripts_dir() -> Option<PathBuf> {
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("python")));
    let in_source = Path::new(env!("CARGO_MANIFEST_DIR")).join("python");
    [beside_exe, Some(in_source)]
        .into_iter()
        .flatten()
        .find(|dir| dir.join(MLX_SCRIPT).is_file())
}

/// The OpenBLAS library mapped into this process, if any (Linux: from /proc/self/maps).
fn loaded_openblas() -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|path| {
            Path::new(path)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("libopenblas"))
        })
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_of_line_and_ignores_the_rest() {
        let out = r#"
{"info": {"framework": "mlx", "version": "0.32.4", "device": "cpu", "device_name": "AMD EPYC"}}
a warning
{"peer": "mlx-eager", "case": "mlp", "times": [0.5, 0.25], "value": 2.3}
{"peer": "mlx-compiled", "case": "cnn", "error": "ValueError: no"}
{"skip": "PyTorch is not installed"}
"#;
        let lines: Vec<Line> = out.lines().filter_map(parse_line).collect();
        assert_eq!(lines.len(), 4);
        assert!(matches!(&lines[0], Line::Info { info } if info.device_name == "AMD EPYC"));
        assert_eq!(
            lines[1],
            Line::Timed {
                peer: "mlx-eager".into(),
                case: "mlp".into(),
                times: vec![0.5, 0.25],
                value: 2.3
            }
        );
        assert!(matches!(&lines[2], Line::Failed { error, .. } if error == "ValueError: no"));
        assert!(matches!(&lines[3], Line::Skip { .. }));
    }

    #[test]
    fn the_scripts_are_found_in_the_source_tree() {
        let setup = PythonSetup::find(None, None).unwrap();
        assert!(setup.scripts.join(TORCH_SCRIPT).is_file());
    }
}
