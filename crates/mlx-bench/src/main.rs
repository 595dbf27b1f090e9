//! `mlx-bench peers [OPTIONS]`: burn-mlx beside native MLX, burn-ndarray, burn-cuda and
//! PyTorch; `mlx-bench census [OPTIONS]`: the MLX primitives of one training step, burn-mlx
//! beside native MLX. See `--help`.

use std::path::PathBuf;
use std::process::ExitCode;

use mlx_bench::cases::Target;
use mlx_bench::peers::{self, Options, PEER_NAMES};

const USAGE: &str = "\
Usage: mlx-bench peers [OPTIONS]
       mlx-bench census [OPTIONS]

Times the same training steps and computations on burn-mlx, native MLX through Python (eager
and mx.compile'd), burn-ndarray (CPU runs), burn-cuda (GPU runs of a binary built with the
`burn-cuda` or `cuda` feature) and PyTorch (where `import torch` works); prints a Markdown table
of medians with burn-mlx's ratio to native MLX, and writes a bar chart.

`census` times nothing: for each training case (mlp, cnn, transformer) it counts the MLX
primitives of one step's pending graph on burn-mlx and in native MLX (eager), side by side: what
Burn's ops became in MLX, and where burn-mlx builds more work than mlx.nn. It takes --device,
--only, --shapes, --warmup, --python and --scripts.

Options:
  --device cpu|gpu    where to run; also picks the shapes (the CPU's are smaller)
                      [default: gpu if MLX has one here, else cpu]
  --steps N           timed steps per case and peer (the median is reported)  [default: 20]
  --warmup N          untimed steps before them                               [default: 5]
  --rounds N          run every peer N times, taking turns, and report each peer's middle
                      round (the median of the rounds' medians), so that a host whose
                      speed drifts shifts every peer alike
                      [default: 3 on the GPU, 1 on the CPU]
  --only CASE,...     only these cases: an id (mlp, cnn, transformer, chain, exp,
                      matmul-f32-1024, ...), a kind (matmul) or an id prefix (matmul-f32)
  --peers PEER,...    only these peers: burn-mlx, burn-mlx-compiled, mlx, burn-ndarray,
                      burn-cuda, torch (burn-mlx-compiled: with burn_mlx::compile on)
  --shapes full|tiny  tiny: every case at a few elements, so that each step costs only the
                      framework's own work (graph building, dispatch)        [default: full]
  --png PATH          the bar chart                         [default: target/bench-peers.png]
  --json PATH         also write every raw timing as JSON
  --python PATH       the Python interpreter [default: $MLX_BENCH_PYTHON, else python3]
  --scripts DIR       folder of mlx_cases.py and torch_cases.py [default: $MLX_BENCH_SCRIPTS,
                      else `python/` beside this binary, else the crate's source folder]
  -h, --help          this help";

/// What to run.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Command {
    Peers,
    Census,
}

fn parse(args: &[String]) -> Result<Option<(Command, Options)>, String> {
    let mut it = args.iter();
    let command = match it.next().map(String::as_str) {
        Some("peers") => Command::Peers,
        Some("census") => Command::Census,
        Some("-h" | "--help") | None => return Ok(None),
        Some(other) => return Err(format!("unknown command `{other}` (try `peers`)")),
    };
    let mut options = Options {
        target: if mlx::Device::gpu().is_available() {
            Target::Gpu
        } else {
            Target::Cpu
        },
        warmup: 5,
        steps: 20,
        rounds: 0,
        only: Vec::new(),
        peers: None,
        png: PathBuf::from("target/bench-peers.png"),
        json: None,
        python: None,
        scripts: None,
        tiny: false,
    };
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        if matches!(flag, "-h" | "--help") {
            return Ok(None);
        }
        let value = inline
            .or_else(|| it.next().cloned())
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let count = |v: &str| {
            v.parse::<usize>()
                .map_err(|_| format!("{flag}: `{v}` is not a count"))
        };
        let list = |v: &str| -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        match flag {
            "--device" => {
                options.target = match value.as_str() {
                    "cpu" => Target::Cpu,
                    "gpu" => Target::Gpu,
                    _ => return Err(format!("--device: `{value}` is not cpu or gpu")),
                }
            }
            "--steps" => options.steps = count(&value)?,
            "--warmup" => options.warmup = count(&value)?,
            "--rounds" => options.rounds = count(&value)?.max(1),
            "--only" => options.only = list(&value),
            "--peers" => {
                let peers = list(&value);
                if let Some(p) = peers.iter().find(|p| !PEER_NAMES.contains(&p.as_str())) {
                    return Err(format!(
                        "--peers: unknown peer `{p}` (peers: {})",
                        PEER_NAMES.join(", ")
                    ));
                }
                options.peers = Some(peers);
            }
            "--shapes" => {
                options.tiny = match value.as_str() {
                    "full" => false,
                    "tiny" => true,
                    _ => return Err(format!("--shapes: `{value}` is not full or tiny")),
                }
            }
            "--png" => options.png = PathBuf::from(value),
            "--json" => options.json = Some(PathBuf::from(value)),
            "--python" => options.python = Some(PathBuf::from(value)),
            "--scripts" => options.scripts = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown option `{flag}`")),
        }
    }
    if options.rounds == 0 {
        // A GPU host's speed drifts between blocks of minutes; the CPU table of 2 cores takes
        // minutes per round already.
        options.rounds = if options.target == Target::Gpu { 3 } else { 1 };
    }
    if options.steps == 0 {
        return Err("--steps must be at least 1".into());
    }
    if options.target == Target::Gpu && !mlx::Device::gpu().is_available() {
        return Err(
            "--device gpu: this MLX has no GPU here (on Linux: MLX's CUDA build, see the README)"
                .into(),
        );
    }
    Ok(Some((command, options)))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse(&args).and_then(|options| match options {
        Some((Command::Peers, options)) => peers::run(&options),
        Some((Command::Census, options)) => mlx_bench::census::run(&options),
        None => {
            println!("{USAGE}");
            Ok(())
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mlx-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
