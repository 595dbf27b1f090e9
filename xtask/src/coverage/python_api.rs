//! Coverage of Python MLX's `mlx.nn` (layers, activations, losses, initializers) and
//! `mlx.optimizers` by name: the public classes and functions Python lists, against the public
//! items of `crates/mlx/src/{nn,optimizers}`.
//!
//! The Python names come from the `python3` on PATH (or `$PYTHON`) with `mlx` installed; without
//! it this part of the report is skipped with a note.

use std::path::Path;
use std::process::Command;

use super::rust_api;

/// Python names exposed under another Rust name: (Python name, Rust item that provides it).
pub const NN_RENAMES: &[(&str, &str)] = &[
    ("Dropout2d", "new_2d"),
    ("Dropout3d", "new_3d"),
    ("QuantizedLinear", "new_quantized"),
    ("QuantizedEmbedding", "new_quantized"),
    // The sharded layers quantize in place, as `Linear` does.
    ("QuantizedAllToShardedLinear", "quantize"),
    ("QuantizedShardedToAllLinear", "quantize"),
    ("value_and_grad", "value_and_grad_params"),
];

/// Python names deliberately not provided, with the reason.
pub const NN_OMISSIONS: &[(&str, &str)] = &[
    (
        "tree_flatten",
        "the Parameters trait's flatten_params / rebuild_params / map_params / zip_params",
    ),
    ("tree_unflatten", "the Parameters trait's rebuild_params"),
    ("tree_map", "the Parameters trait's map_params"),
    ("tree_merge", "the Parameters trait's update_params_partial"),
    (
        "tree_reduce",
        "the Parameters trait's flatten_params and an iterator fold",
    ),
];

/// The Python script: prints `section name` lines.
const LIST_NAMES: &str = r#"
import inspect
import mlx.nn as nn, mlx.nn.losses as losses, mlx.nn.init as init, mlx.optimizers as optim
def public(mod, own=False):
    for n in sorted(dir(mod)):
        v = getattr(mod, n)
        if n.startswith('_') or not (inspect.isclass(v) or inspect.isfunction(v)):
            continue
        if own and getattr(v, '__module__', '') != mod.__name__:
            continue
        yield n
for section, mod, own in [('mlx.nn', nn, False), ('mlx.nn.losses', losses, True),
                          ('mlx.nn.init', init, True), ('mlx.optimizers', optim, False)]:
    for n in public(mod, own):
        print(section, n)
"#;

/// One section's result: (section, exposed names, missing names with reasons).
pub struct Section {
    pub name: String,
    pub exposed: Vec<String>,
    pub missing: Vec<(String, String)>,
}

/// The by-name report; the inner `Err` says why Python MLX could not be asked.
pub fn check(crate_src: &Path) -> Result<Result<Vec<Section>, String>, String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = match Command::new(&python).arg("-c").arg(LIST_NAMES).output() {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            return Ok(Err(format!(
                "{python} could not import mlx: {}",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            )));
        }
        Err(e) => return Ok(Err(format!("cannot run {python}: {e}"))),
    };
    let mut items = rust_api::scan_items(&crate_src.join("nn"))?;
    items.extend(rust_api::scan_items(&crate_src.join("optimizers"))?);
    items.extend(rust_api::scan_items(&crate_src.join("transforms.rs"))?);
    let mut sections: Vec<Section> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((section, name)) = line.split_once(' ') else {
            continue;
        };
        if sections.last().is_none_or(|s| s.name != section) {
            sections.push(Section {
                name: section.to_string(),
                exposed: Vec::new(),
                missing: Vec::new(),
            });
        }
        let s = sections.last_mut().expect("pushed above");
        let renamed = NN_RENAMES.iter().find(|(py, _)| *py == name);
        if items.contains(name) || renamed.is_some_and(|(_, rust)| items.contains(*rust)) {
            s.exposed.push(match renamed {
                Some((_, rust)) => format!("{name} (as {rust})"),
                None => name.to_string(),
            });
        } else {
            let reason = NN_OMISSIONS
                .iter()
                .find(|(py, _)| *py == name)
                .map(|(_, why)| format!("omitted: {why}"))
                .unwrap_or_else(|| "not yet exposed".to_string());
            s.missing.push((name.to_string(), reason));
        }
    }
    Ok(Ok(sections))
}
