//! The `chat` example (crates/mlx/examples/chat) against its Python MLX reference
//! (`examples/chat/reference.py`, an independent implementation of the same Llama forward
//! pass): the same greedy tokens for three chat prompts, and the same logits at the first
//! generated position; and the tokenizer against hand-checked encodings.
//!
//! Gated, since the model is a 93 MB download: the tests run when the model is already in the
//! cache (`~/.cache/mlx-rust/smollm2/`, where `cargo run --example chat` puts it) or when
//! `MLX_TEST_CHAT=1` (which fetches it); otherwise they print a note and pass. The Python
//! comparison also needs `python3` with `mlx` (required when `MLX_TEST_REQUIRE_PYTHON=1`).

#[allow(dead_code)]
#[path = "../examples/common/pypi.rs"]
mod pypi;

#[path = "../examples/chat/fetch.rs"]
mod fetch;
#[allow(dead_code)]
#[path = "../examples/chat/generate.rs"]
mod generate;
#[allow(dead_code)]
#[path = "../examples/chat/model.rs"]
mod model;
#[allow(dead_code)]
#[path = "../examples/chat/sample.rs"]
mod sample;
#[allow(dead_code)]
#[path = "../examples/chat/tokenizer.rs"]
mod tokenizer;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use mlx::Array;
use model::Llama;
use sample::{Sampler, SamplerOptions};
use tokenizer::ChatTokenizer;

/// Tokens generated per prompt in the comparison.
const STEPS: usize = 24;

const PROMPTS: [&str; 3] = [
    "What is the capital of France?",
    "Write a short poem about the ocean.",
    "Explain in two sentences how a bicycle works.",
];

/// The model file, or `None` (with a note) when the tests are not enabled.
fn model_file() -> Option<PathBuf> {
    static PATH: OnceLock<Option<PathBuf>> = OnceLock::new();
    PATH.get_or_init(|| {
        let cached = fetch::cached_model_path();
        if cached.is_file() {
            return Some(cached);
        }
        if std::env::var("MLX_TEST_CHAT").as_deref() == Ok("1") {
            return Some(fetch::model_path().expect("fetching the chat model"));
        }
        eprintln!(
            "note: {} is not cached and MLX_TEST_CHAT is not 1; skipping the chat model tests \
             (run `cargo run --release -p mlx-array --example chat -- hi` or set MLX_TEST_CHAT=1)",
            cached.display()
        );
        None
    })
    .clone()
}

fn load(path: &Path) -> (Llama, ChatTokenizer) {
    let (arrays, meta) = mlx::io::load_gguf(path).expect("loading the GGUF");
    let tokenizer = ChatTokenizer::from_gguf(&meta).expect("building the tokenizer");
    let model = Llama::from_gguf(arrays, &meta).expect("building the model");
    (model, tokenizer)
}

fn greedy() -> Sampler {
    Sampler::new(SamplerOptions {
        temperature: 0.0,
        top_p: 1.0,
        top_k: 0,
        seed: 0,
    })
    .unwrap()
}

#[test]
fn tokenizer_matches_hand_checked_encodings() {
    let Some(path) = model_file() else { return };
    let (arrays, meta) = mlx::io::load_gguf(&path).unwrap();
    drop(arrays);
    let tok = ChatTokenizer::from_gguf(&meta).unwrap();

    // The template's default system message, ChatML turns, special tokens as single ids
    // (1 = <|im_start|>, 2 = <|im_end|>, 198 = "\n").
    let prompt = tok.chat_prompt(None, "What is the capital of France?");
    assert_eq!(
        prompt,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging \
         Face<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n\
         <|im_start|>assistant\n"
    );
    assert_eq!(
        tok.encode(&prompt).unwrap(),
        [
            1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411,
            407, 19712, 8182, 2, 198, 1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1,
            520, 9531, 198
        ]
    );
    let with_system = tok.chat_prompt(Some("Be brief."), "Hi");
    assert!(with_system.starts_with("<|im_start|>system\nBe brief.<|im_end|>\n"));
    assert_eq!(tok.stop_ids, [2]);

    // Digits one per token, spaces, multi-byte characters split across tokens.
    let text = "Hello  world 12345 héllo 😀 don't";
    let ids = tok.encode(text).unwrap();
    assert_eq!(
        ids,
        [
            19556, 216, 905, 216, 33, 34, 35, 36, 37, 294, 2756, 31394, 40303, 218, 1326, 982
        ]
    );
    assert_eq!(tok.decode(&ids).unwrap(), text);

    // Streaming never splits a character and adds up to the whole text.
    let mut stream = tok.stream();
    let mut streamed = String::new();
    for &id in &ids {
        streamed.push_str(&stream.push(id).unwrap());
    }
    assert_eq!(streamed, text);
}

/// The Python reference's tokens for each prompt, with its first-step logits.
fn python_reference(path: &Path, prompts: &[Vec<u32>], dir: &Path) -> Option<Vec<Vec<u32>>> {
    let ready = Command::new("python3")
        .args(["-c", "import mlx.core"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        if std::env::var("MLX_TEST_REQUIRE_PYTHON").as_deref() == Ok("1") {
            panic!("MLX_TEST_REQUIRE_PYTHON=1 but python3 cannot import mlx");
        }
        eprintln!("note: python3 with mlx is not available; skipping the Python comparison");
        return None;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/chat/reference.py");
    let mut cmd = Command::new("python3");
    cmd.arg(&script).arg(path);
    for p in prompts {
        let ids: Vec<String> = p.iter().map(u32::to_string).collect();
        cmd.arg("--prompt").arg(ids.join(","));
    }
    cmd.args(["--max-tokens", &STEPS.to_string(), "--stop", "2"])
        .arg("--logits-out")
        .arg(dir.join("logits"));
    let out = cmd.output().expect("running reference.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "reference.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One JSON object per line: {"tokens": [..], ...}.
    let tokens = stdout
        .lines()
        .map(|line| {
            let list = line
                .split_once("\"tokens\": [")
                .and_then(|(_, rest)| rest.split_once(']'))
                .unwrap_or_else(|| panic!("unexpected reference output: {line}"))
                .0;
            list.split(',').map(|t| t.trim().parse().unwrap()).collect()
        })
        .collect::<Vec<Vec<u32>>>();
    assert_eq!(tokens.len(), prompts.len());
    Some(tokens)
}

#[test]
fn greedy_decoding_matches_python_mlx() {
    let Some(path) = model_file() else { return };
    let (model, tok) = load(&path);
    let prompts: Vec<Vec<u32>> = PROMPTS
        .iter()
        .map(|p| tok.encode(&tok.chat_prompt(None, p)).unwrap())
        .collect();
    let mut ours = Vec::new();
    for prompt in &prompts {
        let g = generate::generate(&model, prompt, STEPS, &mut greedy(), &[2], |_| Ok(())).unwrap();
        ours.push(g);
    }
    // The answers make sense (the first one has a well-known answer).
    let first = tok.decode(&ours[0].tokens).unwrap();
    assert!(first.contains("Paris"), "answer: {first:?}");
    for g in &ours {
        assert!(g.tokens.len() >= 8, "a too-short answer: {:?}", g.tokens);
    }

    let dir = std::env::temp_dir().join(format!("mlx-chat-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let reference = python_reference(&path, &prompts, &dir);
    if let Some(reference) = reference {
        for (i, (g, want)) in ours.iter().zip(&reference).enumerate() {
            assert_eq!(
                &g.tokens,
                want,
                "prompt {i} ({:?}): ours {:?} / Python {:?}",
                PROMPTS[i],
                tok.decode(&g.tokens).unwrap(),
                tok.decode(want).unwrap()
            );
            let theirs = mlx::io::load_npy(dir.join(format!("logits{i}.npy"))).unwrap();
            let mine = g.first_logits.reshape(&[-1]).unwrap();
            assert_logits_close(&mine, &theirs, i, 1e-3);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn assert_logits_close(mine: &Array, theirs: &Array, prompt: usize, rtol: f32) {
    let a = mine.to_vec::<f32>().unwrap();
    let b = theirs.to_vec::<f32>().unwrap();
    assert_eq!(a.len(), b.len());
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    let scale = b.iter().map(|y| y.abs()).fold(0.0f32, f32::max);
    assert!(
        worst <= rtol * scale.max(1.0),
        "prompt {prompt}: first-step logits differ by up to {worst} (largest logit {scale})"
    );
}

#[test]
fn sampling_is_seeded_and_filters() {
    let Some(path) = model_file() else { return };
    let (model, tok) = load(&path);
    let prompt = tok.encode(&tok.chat_prompt(None, "Name a color.")).unwrap();
    let run = |seed, top_k, top_p| {
        let mut sampler = Sampler::new(SamplerOptions {
            temperature: 0.8,
            top_p,
            top_k,
            seed,
        })
        .unwrap();
        generate::generate(&model, &prompt, 12, &mut sampler, &[2], |_| Ok(()))
            .unwrap()
            .tokens
    };
    assert_eq!(run(7, 0, 0.9), run(7, 0, 0.9), "same seed, same tokens");
    // top-k 1 and a tiny top-p both leave only the most likely token: greedy decoding.
    let greedy_tokens = generate::generate(&model, &prompt, 12, &mut greedy(), &[2], |_| Ok(()))
        .unwrap()
        .tokens;
    assert_eq!(run(3, 1, 1.0), greedy_tokens);
    assert_eq!(run(4, 0, 1e-6), greedy_tokens);
}

#[test]
fn dense_weights_agree_with_quantized() {
    let Some(path) = model_file() else { return };
    let (quantized, tok) = load(&path);
    let mut dense = quantized.clone();
    dense.dequantize().unwrap();
    let prompt = tok.encode(&tok.chat_prompt(None, PROMPTS[0])).unwrap();
    let run = |m: &Llama| generate::generate(m, &prompt, STEPS, &mut greedy(), &[2], |_| Ok(()));
    let (q, d) = (run(&quantized).unwrap(), run(&dense).unwrap());
    assert_eq!(q.tokens, d.tokens);
    let (a, b) = (q.first_logits.reshape(&[-1]).unwrap(), d.first_logits);
    // Dequantize-then-matmul rounds differently from the fused quantized kernel (about 3e-3
    // of the largest logit after 30 layers here).
    assert_logits_close(&b.reshape(&[-1]).unwrap(), &a, 0, 1e-2);
}
