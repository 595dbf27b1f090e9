//! The benchmark cases and their shapes, for the GPU and for a small CPU.
//!
//! This list is the single source of the shapes: the Rust side runs it and the Python scripts
//! receive it as JSON (one object per case: `id`, `kind` and the kind's fields), so every peer
//! in a run computes the same thing.

use serde::{Deserialize, Serialize};

/// Where the cases run, which also picks their shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The CPU: smaller shapes, so the whole run takes minutes on two cores.
    Cpu,
    /// The GPU (MLX's CUDA or Metal backend): the full shapes.
    Gpu,
}

impl Target {
    /// `"cpu"` or `"gpu"`, as the Python scripts take it.
    pub fn name(self) -> &'static str {
        match self {
            Target::Cpu => "cpu",
            Target::Gpu => "gpu",
        }
    }
}

/// Element type of a matmul case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// float32 (TF32 on NVIDIA GPUs unless `MLX_ENABLE_TF32=0`).
    F32,
    /// bfloat16.
    Bf16,
}

/// What a case computes. Training cases take Adam steps (learning rate 1e-3) on one fixed
/// random batch; the others time one computation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Workload {
    /// Linear layers of widths `dims` (ReLU between), cross-entropy over the last width.
    Mlp { batch: usize, dims: Vec<usize> },
    /// conv3×3(1→c₀) - ReLU - conv3×3(c₀→c₁) - ReLU - maxpool 2 - linear(→hidden) - ReLU -
    /// linear(→classes) on `side`×`side` one-channel images, cross-entropy.
    Cnn {
        batch: usize,
        side: usize,
        channels: [usize; 2],
        hidden: usize,
        classes: usize,
    },
    /// A pre-norm Transformer encoder (GELU, dropout 0, final LayerNorm) on random
    /// `[batch, seq, d_model]` inputs, MSE loss against random targets.
    Transformer {
        batch: usize,
        seq: usize,
        d_model: usize,
        heads: usize,
        d_ff: usize,
        layers: usize,
    },
    /// `ops` chained `x + 1.0` on `len` floats: the per-op overhead (reported per op).
    Chain { len: usize, ops: usize },
    /// An `n`×`n` matrix product.
    Matmul { n: usize, dtype: Precision },
    /// `exp(x) * 2 + 1` over `len` float32s.
    Exp { len: usize },
}

/// One row of the results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Short name, unique within a run (`mlp`, `matmul-f32-1024`, …).
    pub id: String,
    /// What it computes, with its shapes.
    #[serde(flatten)]
    pub workload: Workload,
}

impl Case {
    fn new(id: impl Into<String>, workload: Workload) -> Self {
        Case {
            id: id.into(),
            workload,
        }
    }

    /// The kind's name (`mlp`, `matmul`, …), as `--only` also accepts it.
    pub fn kind(&self) -> &'static str {
        match self.workload {
            Workload::Mlp { .. } => "mlp",
            Workload::Cnn { .. } => "cnn",
            Workload::Transformer { .. } => "transformer",
            Workload::Chain { .. } => "chain",
            Workload::Matmul { .. } => "matmul",
            Workload::Exp { .. } => "exp",
        }
    }

    /// Whether the case is a training step (forward, backward, optimizer update).
    pub fn trains(&self) -> bool {
        matches!(
            self.workload,
            Workload::Mlp { .. } | Workload::Cnn { .. } | Workload::Transformer { .. }
        )
    }

    /// How many ops one timed step holds when the result is reported per op (the chain).
    pub fn ops_per_step(&self) -> Option<usize> {
        match self.workload {
            Workload::Chain { ops, .. } => Some(ops),
            _ => None,
        }
    }

    /// The unit of the reported figure: `ms` per step, or `µs/op` for the chain.
    pub fn unit(&self) -> &'static str {
        if self.ops_per_step().is_some() {
            "µs/op"
        } else {
            "ms"
        }
    }

    /// Converts a step's duration in seconds into the reported figure (see [`Case::unit`]).
    pub fn figure(&self, seconds: f64) -> f64 {
        match self.ops_per_step() {
            Some(ops) => seconds * 1e6 / ops as f64,
            None => seconds * 1e3,
        }
    }

    /// A human description with the shapes, for the table.
    pub fn label(&self) -> String {
        match &self.workload {
            Workload::Mlp { batch, dims } => {
                let widths: Vec<String> = dims.iter().map(usize::to_string).collect();
                format!("MLP {}, batch {batch}", widths.join("-"))
            }
            Workload::Cnn {
                batch,
                side,
                channels,
                ..
            } => format!(
                "CNN conv {}-{}, batch {batch} ({side}x{side})",
                channels[0], channels[1]
            ),
            Workload::Transformer {
                batch,
                seq,
                d_model,
                layers,
                ..
            } => format!("Transformer {layers}x{d_model}, {batch}x{seq} tokens"),
            Workload::Chain { len, ops } => format!("{ops} chained x+1, {} floats", count(*len)),
            Workload::Matmul { n, dtype } => {
                let name = match dtype {
                    Precision::F32 => "f32",
                    Precision::Bf16 => "bf16",
                };
                format!("matmul {name} {n}")
            }
            Workload::Exp { len } => format!("exp(x)*2+1, {} f32", count(*len)),
        }
    }

    /// Whether `--only` item `filter` selects this case: its id, its kind, or a prefix of the id
    /// up to a dash (`matmul-f32` selects `matmul-f32-1024` and `matmul-f32-4096`).
    pub fn matches(&self, filter: &str) -> bool {
        self.id == filter
            || self.kind() == filter
            || self
                .id
                .strip_prefix(filter)
                .is_some_and(|rest| rest.starts_with('-'))
    }
}

/// `1k`, `8M`, … for element counts that are multiples of 1024 or 1024².
fn count(n: usize) -> String {
    const MI: usize = 1 << 20;
    if n >= MI && n.is_multiple_of(MI) {
        format!("{}M", n / MI)
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{}k", n / 1024)
    } else {
        n.to_string()
    }
}

/// The cases for `target`.
///
/// GPU shapes are those of the speed issue. CPU shapes keep every model's layers and widths but
/// take fewer samples, and smaller matrices and vectors, so that the whole CPU run, every peer
/// included, takes a few minutes on two cores:
///
/// | case | GPU | CPU |
/// |---|---|---|
/// | MLP 784-1024-1024-10 | batch 256 | batch 256 |
/// | CNN (28×28 images) | batch 64 | batch 16 (burn-ndarray takes 2 s per step at 32) |
/// | Transformer 4 × d512 | batch 32 × seq 128 | batch 8 × seq 64 |
/// | chain of 200 `x + 1` | 1000 floats | 1000 floats |
/// | matmul f32 | 1024, 4096 | 1024, 2048 |
/// | matmul bf16 | 8192 | 1024 (MLX's CPU has no bf16 BLAS: 2048 takes seconds) |
/// | `exp(x)*2+1` | 64M floats | 8M floats |
pub fn cases(target: Target) -> Vec<Case> {
    let gpu = target == Target::Gpu;
    let pick = |gpu_value: usize, cpu_value: usize| if gpu { gpu_value } else { cpu_value };
    let mut cases = vec![
        Case::new(
            "mlp",
            Workload::Mlp {
                batch: 256,
                dims: vec![784, 1024, 1024, 10],
            },
        ),
        Case::new(
            "cnn",
            Workload::Cnn {
                batch: pick(64, 16),
                side: 28,
                channels: [32, 64],
                hidden: 128,
                classes: 10,
            },
        ),
        Case::new(
            "transformer",
            Workload::Transformer {
                batch: pick(32, 8),
                seq: pick(128, 64),
                d_model: 512,
                heads: 8,
                d_ff: 2048,
                layers: 4,
            },
        ),
        Case::new(
            "chain",
            Workload::Chain {
                len: 1000,
                ops: 200,
            },
        ),
    ];
    for n in [1024, pick(4096, 2048)] {
        let workload = Workload::Matmul {
            n,
            dtype: Precision::F32,
        };
        cases.push(Case::new(format!("matmul-f32-{n}"), workload));
    }
    let n = pick(8192, 1024);
    let workload = Workload::Matmul {
        n,
        dtype: Precision::Bf16,
    };
    cases.push(Case::new(format!("matmul-bf16-{n}"), workload));
    cases.push(Case::new(
        "exp",
        Workload::Exp {
            len: pick(64, 8) << 20,
        },
    ));
    cases
}

/// Tiny versions of every case, for tests: one step of each takes milliseconds.
pub fn tiny_cases() -> Vec<Case> {
    vec![
        Case::new(
            "mlp",
            Workload::Mlp {
                batch: 4,
                dims: vec![12, 16, 16, 10],
            },
        ),
        Case::new(
            "cnn",
            Workload::Cnn {
                batch: 2,
                side: 8,
                channels: [2, 4],
                hidden: 8,
                classes: 10,
            },
        ),
        Case::new(
            "transformer",
            Workload::Transformer {
                batch: 2,
                seq: 4,
                d_model: 16,
                heads: 2,
                d_ff: 32,
                layers: 2,
            },
        ),
        Case::new("chain", Workload::Chain { len: 16, ops: 10 }),
        Case::new(
            "matmul-f32-8",
            Workload::Matmul {
                n: 8,
                dtype: Precision::F32,
            },
        ),
        Case::new(
            "matmul-bf16-8",
            Workload::Matmul {
                n: 8,
                dtype: Precision::Bf16,
            },
        ),
        Case::new("exp", Workload::Exp { len: 64 }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_serialize_flat_for_the_python_scripts() {
        let case = Case::new(
            "matmul-bf16-8",
            Workload::Matmul {
                n: 8,
                dtype: Precision::Bf16,
            },
        );
        let json = serde_json::to_string(&case).unwrap();
        assert_eq!(
            json,
            r#"{"id":"matmul-bf16-8","kind":"matmul","n":8,"dtype":"bf16"}"#
        );
        assert_eq!(serde_json::from_str::<Case>(&json).unwrap(), case);
    }

    #[test]
    fn ids_are_unique_and_filters_select_by_id_kind_or_prefix() {
        for target in [Target::Cpu, Target::Gpu] {
            let all = cases(target);
            let mut ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), all.len());
        }
        let gpu = cases(Target::Gpu);
        let select = |f: &str| -> Vec<&str> {
            gpu.iter()
                .filter(|c| c.matches(f))
                .map(|c| c.id.as_str())
                .collect()
        };
        assert_eq!(select("matmul-f32"), ["matmul-f32-1024", "matmul-f32-4096"]);
        assert_eq!(select("matmul").len(), 3);
        assert_eq!(select("exp"), ["exp"]);
        assert!(select("mat").is_empty());
    }

    #[test]
    fn labels_and_units() {
        let gpu = cases(Target::Gpu);
        let labels: Vec<String> = gpu.iter().map(Case::label).collect();
        assert_eq!(labels[0], "MLP 784-1024-1024-10, batch 256");
        assert_eq!(labels[3], "200 chained x+1, 1000 floats");
        assert_eq!(labels[7], "exp(x)*2+1, 64M f32");
        assert_eq!(gpu[3].unit(), "µs/op");
        assert!((gpu[3].figure(0.002) - 10.0).abs() < 1e-9);
        assert!((gpu[0].figure(0.002) - 2.0).abs() < 1e-9);
    }
}
