//! `mlx-bench peers`: runs the cases on every peer, prints the table, writes the chart.

use std::path::PathBuf;

use burn::backend::Autodiff;
use burn::tensor::backend::AutodiffBackend;
use burn_mlx::{Mlx, MlxDevice};
use burn_ndarray::{NdArray, NdArrayDevice};

use crate::burn_cases;
use crate::cases::{Case, Target, cases, tiny_cases};
use crate::machine::Machine;
use crate::python::{Line, MLX_SCRIPT, PythonSetup, TORCH_SCRIPT};
use crate::report::{Dump, Outcome, Results, title};

/// Peer names accepted by `--peers`. `mlx` is native MLX, eager and compiled; `burn-mlx-compiled`
/// is burn-mlx with its compiled execution on (`burn_mlx::compile`), `burn-mlx` with it off.
pub const PEER_NAMES: [&str; 6] = [
    "burn-mlx",
    "burn-mlx-compiled",
    "mlx",
    "burn-ndarray",
    "burn-cuda",
    "torch",
];

/// The options of a run.
#[derive(Clone, Debug)]
pub struct Options {
    /// CPU or GPU, which also picks the shapes.
    pub target: Target,
    /// Untimed steps before the timed ones.
    pub warmup: usize,
    /// Timed steps per round; the median is reported.
    pub steps: usize,
    /// How many times every peer runs every case, the peers taking turns (each round starts
    /// with the next peer). The median of a peer's round medians is reported, so a machine
    /// whose speed drifts over minutes (a shared GPU host) shifts every peer alike, instead of
    /// whichever ran during a slow spell.
    pub rounds: usize,
    /// `--only` filters (empty: every case).
    pub only: Vec<String>,
    /// Peers to run (from [`PEER_NAMES`]); `None`: the default for the target.
    pub peers: Option<Vec<String>>,
    /// Where the chart goes.
    pub png: PathBuf,
    /// Where the raw numbers go, if anywhere.
    pub json: Option<PathBuf>,
    /// The Python interpreter (`None`: `$MLX_BENCH_PYTHON` or `python3`).
    pub python: Option<PathBuf>,
    /// The folder of the Python scripts (`None`: see [`PythonSetup::find`]).
    pub scripts: Option<PathBuf>,
    /// The tiny shapes of [`tiny_cases`] instead of the target's: each step's compute is then
    /// negligible, so the table shows each framework's own cost per step (graph building,
    /// dispatch, evaluation), which bounds what small models and GPUs see.
    pub tiny: bool,
}

impl Options {
    /// The peers to run: those asked for, or by default every peer that fits the target
    /// (burn-ndarray only on the CPU, where the shapes are small enough for it; burn-cuda only
    /// on the GPU and only when built with it).
    pub fn peers(&self) -> Vec<String> {
        match &self.peers {
            Some(peers) => peers.clone(),
            None => PEER_NAMES
                .iter()
                .filter(|p| match **p {
                    "burn-ndarray" => self.target == Target::Cpu,
                    "burn-cuda" => self.target == Target::Gpu && cfg!(feature = "burn-cuda"),
                    _ => true,
                })
                .map(|p| p.to_string())
                .collect(),
        }
    }

    /// The cases selected by `--only`.
    pub fn cases(&self) -> Result<Vec<Case>, String> {
        let all = if self.tiny {
            tiny_cases()
        } else {
            cases(self.target)
        };
        if self.only.is_empty() {
            return Ok(all);
        }
        if let Some(unknown) = self.only.iter().find(|f| !all.iter().any(|c| c.matches(f))) {
            let ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
            return Err(format!(
                "--only: no case `{unknown}` (cases: {})",
                ids.join(", ")
            ));
        }
        Ok(all
            .into_iter()
            .filter(|c| self.only.iter().any(|f| c.matches(f)))
            .collect())
    }
}

/// Runs the benchmark and prints its table; writes the chart and, if asked, the JSON.
pub fn run(options: &Options) -> Result<(), String> {
    let cases = options.cases()?;
    let peers = options.peers();
    let mut machine = Machine::detect();
    println!("{}", machine.describe());
    println!(
        "device: {}; {} warm-up + {} timed steps per case and peer{}, median reported\n",
        options.target.name(),
        options.warmup,
        options.steps,
        rounds_text(options.rounds),
    );

    let mut results = Results {
        cases: cases.clone(),
        ..Results::default()
    };
    for round in 0..options.rounds {
        if options.rounds > 1 {
            println!("round {} of {}", round + 1, options.rounds);
        }
        let mut order = peers.clone();
        order.rotate_left(round % peers.len().max(1));
        for peer in &order {
            run_peer(peer, options, &mut machine, &mut results)?;
        }
    }

    println!("\n{}", machine.describe());
    println!(
        "device: {}; median of {} timed steps after {} warm-up steps{}; ratios: burn-mlx time / \
         native MLX time (below 1: burn-mlx is faster)\n",
        options.target.name(),
        options.steps,
        options.warmup,
        rounds_text(options.rounds),
    );
    print!("{}", results.table());

    let place = match (&machine.gpu, options.target) {
        (Some(gpu), Target::Gpu) => gpu.clone(),
        _ => format!("{}, {} cores", machine.cpu, machine.cores),
    };
    let heading = format!(
        "mlx-bench peers on the {}: {place}",
        options.target.name().to_uppercase()
    );
    crate::chart::write_png(&options.png, &heading, &results)?;
    println!("\nchart: {}", options.png.display());
    if let Some(path) = &options.json {
        let dump = Dump {
            machine: &machine,
            device: options.target.name(),
            warmup: options.warmup,
            steps: options.steps,
            rounds: options.rounds,
            cases: &results.cases,
            results: results.entries(),
            skipped: &results.skipped,
        };
        let text = serde_json::to_string_pretty(&dump).map_err(|e| e.to_string())?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("raw numbers: {}", path.display());
    }
    Ok(())
}

/// How a run's rounds read in its headings ("" for one round).
fn rounds_text(rounds: usize) -> String {
    if rounds > 1 {
        format!(" in each of {rounds} rounds (the peers taking turns; the middle round's median)")
    } else {
        String::new()
    }
}

/// Runs every case on one peer (for a Python peer: every case in one process).
fn run_peer(
    peer: &str,
    options: &Options,
    machine: &mut Machine,
    results: &mut Results,
) -> Result<(), String> {
    match peer {
        "burn-mlx" | "burn-mlx-compiled" => {
            let device = match options.target {
                Target::Cpu => MlxDevice::Cpu,
                Target::Gpu => MlxDevice::Gpu,
            };
            burn_mlx::compile::set_enabled(peer == "burn-mlx-compiled");
            run_burn::<Autodiff<Mlx>>(peer, &device, options, results);
        }
        "burn-ndarray" => {
            let device = NdArrayDevice::Cpu;
            run_burn::<Autodiff<NdArray>>("burn-ndarray", &device, options, results);
        }
        "burn-cuda" => run_burn_cuda(options, results),
        "mlx" | "torch" => {
            let info = run_python(peer, options, results);
            match (peer, info) {
                ("mlx", Some(v)) => machine.python_mlx = Some(v),
                ("torch", Some(v)) => machine.torch = Some(v),
                _ => {}
            }
        }
        other => return Err(format!("unknown peer `{other}`")),
    }
    Ok(())
}

/// One progress line.
fn progress(peer: &str, case: &Case, outcome: &Outcome) {
    let text = match outcome {
        Outcome::Timed(t) => match crate::report::median(&t.times) {
            Some(m) => format!("{} {}", crate::report::number(case.figure(m)), case.unit()),
            None => "no timed steps".into(),
        },
        Outcome::Failed(e) => format!("failed: {}", e.lines().next().unwrap_or("")),
    };
    println!("  {:<18} {:<18} {text}", title(peer), case.id);
}

/// Runs every case on Burn backend `B`.
fn run_burn<B: AutodiffBackend>(
    peer: &str,
    device: &B::Device,
    options: &Options,
    results: &mut Results,
) {
    let compiled = peer == "burn-mlx-compiled";
    for case in results.cases.clone() {
        let before = compiled.then(burn_mlx::compile::stats);
        crate::profile::label(peer, &case.id);
        let outcome = match burn_cases::run::<B>(&case, device, options.warmup, options.steps) {
            Ok(timing) => Outcome::Timed(timing),
            Err(e) => Outcome::Failed(e),
        };
        progress(peer, &case, &outcome);
        if let Some(before) = before {
            // Whether the steps replayed compiled regions: a case that never does is no faster.
            let after = burn_mlx::compile::stats();
            println!(
                "  {:<18} {:<18} regions {}, replayed {}, uncompilable {}, compiles {} ({:.2} s)",
                "",
                "",
                after.regions - before.regions,
                after.replays - before.replays,
                after.uncompilable - before.uncompilable,
                after.compiles - before.compiles,
                after.compile_seconds - before.compile_seconds,
            );
            // Host time per region of the timed steps: where a compiled step's time goes
            // besides issuing ops (the warm-up, which builds the fused kernels, left out).
            if let Some(timed) = burn_cases::regions_at_timing() {
                let regions = (after.regions - timed.regions).max(1);
                let per_region = |s: f64| 1e6 * s / regions as f64;
                println!(
                    "  {:<18} {:<18} timed regions: {} nodes each; trace {:.0} µs, replay {:.0} \
                     µs, eval {:.0} µs",
                    "",
                    "",
                    (after.nodes - timed.nodes) / regions,
                    per_region(after.trace_seconds - timed.trace_seconds),
                    per_region(after.replay_seconds - timed.replay_seconds),
                    per_region(after.eval_seconds - timed.eval_seconds),
                );
            }
        }
        results.insert(&case.id, peer, outcome);
        // Hand cached buffers back before the next case (and before the next peer's process).
        B::memory_cleanup(device);
    }
}

#[cfg(feature = "burn-cuda")]
fn run_burn_cuda(options: &Options, results: &mut Results) {
    if options.target == Target::Cpu {
        results.skip("burn-cuda", "a GPU peer; this run is on the CPU".into());
        return;
    }
    let device = burn_cuda::CudaDevice::default();
    run_burn::<Autodiff<burn_cuda::Cuda>>("burn-cuda", &device, options, results);
}

#[cfg(not(feature = "burn-cuda"))]
fn run_burn_cuda(_options: &Options, results: &mut Results) {
    results.skip(
        "burn-cuda",
        "this binary was built without the `burn-cuda` (or `cuda`) feature".into(),
    );
}

/// Runs a Python peer (`mlx` or `torch`); returns the framework's version if it ran.
fn run_python(peer: &str, options: &Options, results: &mut Results) -> Option<String> {
    let key = if peer == "mlx" { "mlx-eager" } else { "torch" };
    let script = if peer == "mlx" {
        MLX_SCRIPT
    } else {
        TORCH_SCRIPT
    };
    let setup = match PythonSetup::find(options.python.clone(), options.scripts.clone()) {
        Ok(setup) => setup,
        Err(e) => {
            results.skip(key, e);
            return None;
        }
    };
    let mut version = None;
    let cases = results.cases.clone();
    let outcome = setup.run(
        script,
        &cases,
        options.target,
        (options.warmup, options.steps),
        &[],
        |line| match line {
            Line::Info { info } => {
                let device = if info.device_name.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", info.device_name)
                };
                version = Some(format!("{}{device}", info.version));
            }
            Line::Skip { skip } => results.skip(key, skip),
            Line::Timed {
                peer,
                case,
                times,
                value,
            } => record(results, &cases, &peer, &case, {
                Outcome::Timed(burn_cases::Timing { times, value })
            }),
            Line::Failed { peer, case, error } => {
                record(results, &cases, &peer, &case, Outcome::Failed(error))
            }
            Line::Census { .. } => {}
        },
    );
    if let Err(e) = outcome {
        results.skip(key, e);
    }
    version
}

fn record(results: &mut Results, cases: &[Case], peer: &str, case: &str, outcome: Outcome) {
    if let Some(c) = cases.iter().find(|c| c.id == case) {
        progress(peer, c, &outcome);
    }
    results.insert(case, peer, outcome);
}
