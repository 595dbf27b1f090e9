//! Where the host's time goes during a Burn peer's timed steps: with the `profile` feature and
//! `MLX_BENCH_PROFILE=DIR`, each case's timed steps run under a sampling profiler (1 kHz, every
//! thread), and `DIR/<peer>-<case>.txt` lists the functions that held the most samples, by
//! inclusive and by self count, and the share of samples whose stack passes through each layer
//! (Burn's autodiff, burn-mlx, the `mlx` crate, the C layer, MLX itself, the allocator).
//!
//! For a step that is bound by the host (its issuing time, `MLX_BENCH_SPLIT=1`, close to the
//! whole step), this says which layer to make leaner. Needs no tool on the machine that runs
//! the binary (GPU hosts rarely have `perf`); keep the binary's symbol table (`strip -g`, not
//! `strip`) so that frames have names.

use std::sync::Mutex;

/// The peer and case whose steps are sampled next (set by the peer loop).
static LABEL: Mutex<Option<String>> = Mutex::new(None);

/// Names the samples taken from now on (`<peer>-<case>`).
pub fn label(peer: &str, case: &str) {
    *LABEL.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{peer}-{case}"));
}

/// A running sampler; [`Profile::finish`] writes its report.
pub struct Profile {
    #[cfg(feature = "profile")]
    guard: pprof::ProfilerGuard<'static>,
    dir: std::path::PathBuf,
}

/// Starts sampling when `MLX_BENCH_PROFILE` names a folder (and the binary has the feature).
pub fn start() -> Option<Profile> {
    let dir = std::env::var_os("MLX_BENCH_PROFILE")?;
    #[cfg(feature = "profile")]
    {
        match pprof::ProfilerGuard::new(1000) {
            Ok(guard) => Some(Profile {
                guard,
                dir: dir.into(),
            }),
            Err(e) => {
                eprintln!("MLX_BENCH_PROFILE: cannot start the sampler: {e}");
                None
            }
        }
    }
    #[cfg(not(feature = "profile"))]
    {
        let _ = dir;
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            eprintln!("MLX_BENCH_PROFILE: this binary was built without the `profile` feature")
        });
        None
    }
}

impl Profile {
    /// Stops sampling and writes the report (errors are printed, not fatal: a profile is a
    /// diagnostic).
    pub fn finish(self) {
        let label = LABEL
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| "steps".into());
        let path = self.dir.join(format!("{label}.txt"));
        let written = self.report().and_then(|text| {
            std::fs::create_dir_all(&self.dir).map_err(|e| e.to_string())?;
            std::fs::write(&path, text).map_err(|e| e.to_string())
        });
        if let Err(e) = written {
            eprintln!("MLX_BENCH_PROFILE: {}: {e}", path.display());
        }
    }

    #[cfg(feature = "profile")]
    fn report(&self) -> Result<String, String> {
        let report = self.guard.report().build().map_err(|e| e.to_string())?;
        // Each sample's stack as function names, innermost first.
        let stacks: Vec<(Vec<String>, usize)> = report
            .data
            .iter()
            .map(|(frames, count)| {
                let names = frames
                    .frames
                    .iter()
                    .flatten()
                    .map(|symbol| symbol.name())
                    .collect();
                (names, (*count).max(0) as usize)
            })
            .collect();
        Ok(summarize(&stacks))
    }

    #[cfg(not(feature = "profile"))]
    fn report(&self) -> Result<String, String> {
        Err("built without the `profile` feature".into())
    }
}

/// The layers a frame can belong to, by the start of its (demangled) name; the first match
/// wins, so the more specific prefixes come first.
const LAYERS: [(&str, &[&str]); 8] = [
    ("burn-autodiff", &["burn_autodiff::"]),
    ("burn-mlx", &["burn_mlx::"]),
    ("MLX (libmlx)", &["mlx::core::"]),
    ("mlx crate", &["mlx::"]),
    ("C layer (mlxc)", &["mlxc"]),
    ("Burn (other)", &["burn_", "burn::"]),
    (
        "allocator",
        &["malloc", "free", "_int_", "cfree", "__libc_"],
    ),
    ("locks", &["pthread_mutex", "__lll_lock", "std::sys::sync"]),
];

/// The text report for sampled stacks (`names` innermost first, with their sample counts).
pub fn summarize(stacks: &[(Vec<String>, usize)]) -> String {
    use std::collections::{BTreeSet, HashMap};
    let total: usize = stacks.iter().map(|(_, n)| n).sum();
    let mut inclusive: HashMap<&str, usize> = HashMap::new();
    let mut own: HashMap<&str, usize> = HashMap::new();
    let mut layers: HashMap<&str, usize> = HashMap::new();
    for (names, count) in stacks {
        if let Some(leaf) = names.first() {
            *own.entry(leaf).or_default() += count;
        }
        // A recursive function counts once per sample.
        let distinct: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        for name in &distinct {
            *inclusive.entry(name).or_default() += count;
        }
        let touched: BTreeSet<&str> = distinct.iter().filter_map(|n| layer_of(n)).collect();
        for layer in touched {
            *layers.entry(layer).or_default() += count;
        }
    }
    let share = |n: usize| 100.0 * n as f64 / total.max(1) as f64;
    let mut out = format!("{total} samples (1 kHz, all threads)\n\nstacks through each layer:\n");
    for (layer, _) in LAYERS {
        let n = layers.get(layer).copied().unwrap_or(0);
        out += &format!("  {:>5.1}%  {layer}\n", share(n));
    }
    for (title, table) in [("inclusive", &inclusive), ("self", &own)] {
        let mut rows: Vec<(&str, usize)> = table.iter().map(|(k, v)| (*k, *v)).collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        out += &format!("\ntop functions, {title}:\n");
        for (name, n) in rows.into_iter().take(60) {
            let name: String = name.chars().take(160).collect();
            out += &format!("  {:>5.1}%  {name}\n", share(n));
        }
    }
    out
}

/// The layer a function belongs to, if any.
fn layer_of(name: &str) -> Option<&'static str> {
    let name = name.trim_start_matches('<');
    LAYERS
        .iter()
        .find(|(_, prefixes)| prefixes.iter().any(|p| name.starts_with(p)))
        .map(|(layer, _)| *layer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_inclusive_self_and_layers() {
        let stacks = vec![
            (
                vec![
                    "mlx::core::add".to_string(),
                    "mlx::ops::add".to_string(),
                    "burn_mlx::ops::float_add".to_string(),
                ],
                3,
            ),
            (
                vec!["malloc".to_string(), "burn_mlx::ops::float_add".to_string()],
                1,
            ),
        ];
        let text = summarize(&stacks);
        assert!(text.starts_with("4 samples"), "{text}");
        assert!(text.contains("  100.0%  burn-mlx\n"), "{text}");
        assert!(text.contains("   75.0%  MLX (libmlx)\n"), "{text}");
        assert!(text.contains("   75.0%  mlx crate\n"), "{text}");
        assert!(text.contains("   25.0%  allocator\n"), "{text}");
        assert!(text.contains("   75.0%  mlx::core::add\n"), "{text}");
    }
}
