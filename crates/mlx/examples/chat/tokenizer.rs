//! The model's tokenizer and chat format, both from the GGUF metadata: a GPT-2 style byte-level
//! BPE (`tokenizer.ggml.tokens` / `merges` / `token_type`) built with the `tokenizers` crate,
//! and ChatML prompts as laid out by `tokenizer.chat_template`.

use std::collections::HashMap;

use mlx::io::GgufMeta;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, Tokenizer};

use crate::model::{Result, meta_number, meta_string};

/// GGUF's `token_type` of control tokens (`<|im_start|>`, `<|endoftext|>`, ...).
const CONTROL: i32 = 3;

/// A byte-level BPE tokenizer with the model's special tokens.
pub struct ChatTokenizer {
    inner: Tokenizer,
    /// Token ids that end the assistant's turn (end of turn, end of text).
    pub stop_ids: Vec<u32>,
    template: ChatTemplate,
}

/// The parts of a ChatML prompt.
struct ChatTemplate {
    /// The system message used when none is given (from the template), if any.
    default_system: Option<String>,
}

fn strings<'a>(meta: &'a HashMap<String, GgufMeta>, key: &str) -> Result<&'a [String]> {
    match meta.get(key) {
        Some(GgufMeta::Strings(v)) => Ok(v),
        Some(other) => Err(format!(
            "GGUF metadata '{key}' is not a list of strings: {other:?}"
        )),
        None => Err(format!("GGUF metadata '{key}' is missing")),
    }
}

impl ChatTokenizer {
    /// Builds the tokenizer from a GGUF's metadata (`tokenizer.ggml.model` must be `gpt2`).
    pub fn from_gguf(meta: &HashMap<String, GgufMeta>) -> Result<ChatTokenizer> {
        let kind = meta_string(meta, "tokenizer.ggml.model")?;
        if kind != "gpt2" {
            return Err(format!(
                "unsupported tokenizer '{kind}' (this example reads byte-level BPE, 'gpt2')"
            ));
        }
        let tokens = strings(meta, "tokenizer.ggml.tokens")?;
        let merges = strings(meta, "tokenizer.ggml.merges")?;
        let vocab: Vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let merges = merges
            .iter()
            .map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| format!("malformed merge '{m}'"))
            })
            .collect::<Result<Vec<_>>>()?;
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| format!("building the BPE model: {e}"))?;
        let mut inner = Tokenizer::new(bpe);

        // How text is split before BPE (llama.cpp's `tokenizer.ggml.pre`): the GPT-2 pattern,
        // preceded for the StarCoder family (SmolLM's included) by one piece per digit.
        let pre = meta_string(meta, "tokenizer.ggml.pre").unwrap_or("default");
        let byte_level = PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, true));
        let pre_tokenizer = match pre {
            "smollm" | "starcoder" | "refact" | "codeshell" => Sequence::new(vec![
                PreTokenizerWrapper::Digits(Digits::new(true)),
                byte_level,
            ]),
            "gpt2" | "default" => Sequence::new(vec![byte_level]),
            other => {
                eprintln!(
                    "warning: pre-tokenizer '{other}' is not known here; splitting text as GPT-2"
                );
                Sequence::new(vec![byte_level])
            }
        };
        inner.with_pre_tokenizer(Some(pre_tokenizer));
        inner.with_decoder(Some(ByteLevelDecoder::default()));

        // Control tokens match as a whole wherever they appear in the text.
        let types = match meta.get("tokenizer.ggml.token_type") {
            Some(GgufMeta::Array(a)) => a
                .astype(mlx::Dtype::Int32)
                .and_then(|a| a.to_vec::<i32>())
                .map_err(|e| format!("tokenizer.ggml.token_type: {e}"))?,
            _ => vec![],
        };
        let special: Vec<AddedToken> = tokens
            .iter()
            .zip(&types)
            .filter(|(_, t)| **t == CONTROL)
            .map(|(tok, _)| AddedToken::from(tok.clone(), true).normalized(false))
            .collect();
        inner.add_special_tokens(&special);

        let id = |key: &str| meta_number(meta, key).ok().map(|v| v as u32);
        let mut stop_ids = Vec::new();
        // The end of an assistant turn in ChatML, then the file's end-of-sequence token.
        if let Some(end) = inner.token_to_id("<|im_end|>") {
            stop_ids.push(end);
        }
        if let Some(eos) = id("tokenizer.ggml.eos_token_id")
            && !stop_ids.contains(&eos)
        {
            stop_ids.push(eos);
        }
        let template = ChatTemplate::from_gguf(meta)?;
        Ok(ChatTokenizer {
            inner,
            stop_ids,
            template,
        })
    }

    /// The token ids of `text`, special tokens recognized.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode(text, false)
            .map_err(|e| format!("tokenizing: {e}"))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The text of `ids` (special tokens left out).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, true)
            .map_err(|e| format!("decoding: {e}"))
    }

    /// The ChatML prompt for one user message, ending where the assistant's answer starts.
    /// Without `system`, the template's default system message is used (if it has one).
    pub fn chat_prompt(&self, system: Option<&str>, user: &str) -> String {
        let mut prompt = String::new();
        let system = system.or(self.template.default_system.as_deref());
        if let Some(system) = system {
            prompt.push_str(&format!("<|im_start|>system\n{system}<|im_end|>\n"));
        }
        prompt.push_str(&format!("<|im_start|>user\n{user}<|im_end|>\n"));
        prompt.push_str("<|im_start|>assistant\n");
        prompt
    }

    /// A decoder that turns ids into text as they arrive, holding back bytes until they form
    /// whole UTF-8 characters.
    pub fn stream(&self) -> TextStream<'_> {
        TextStream {
            tokenizer: self,
            pending: Vec::new(),
            printed: 0,
        }
    }
}

impl ChatTemplate {
    fn from_gguf(meta: &HashMap<String, GgufMeta>) -> Result<ChatTemplate> {
        let Ok(template) = meta_string(meta, "tokenizer.chat_template") else {
            // No template: plain ChatML without a default system message.
            return Ok(ChatTemplate {
                default_system: None,
            });
        };
        if !template.contains("<|im_start|>") {
            return Err(
                "the GGUF's chat template is not ChatML (<|im_start|>role ... <|im_end|>); \
                 this example only lays out ChatML prompts"
                    .into(),
            );
        }
        // The template writes a literal system turn when the conversation has none: take its
        // text (between "<|im_start|>system\n" and the next "<|im_end|>").
        let opening = "<|im_start|>system\n";
        let default_system = template.find(opening).and_then(|at| {
            let rest = &template[at + opening.len()..];
            rest.find("<|im_end|>").map(|end| rest[..end].to_string())
        });
        Ok(ChatTemplate { default_system })
    }
}

/// Incremental detokenization (see [`ChatTokenizer::stream`]).
pub struct TextStream<'a> {
    tokenizer: &'a ChatTokenizer,
    /// Ids not yet fully printed (the tail of the answer that may end mid-character).
    pending: Vec<u32>,
    /// Bytes of `decode(pending)` already printed.
    printed: usize,
}

impl TextStream<'_> {
    /// Adds one token; returns the text that became complete, if any.
    pub fn push(&mut self, id: u32) -> Result<String> {
        self.pending.push(id);
        let text = self.tokenizer.decode(&self.pending)?;
        // An incomplete UTF-8 sequence decodes to U+FFFD at the end: wait for more bytes.
        if text.ends_with('\u{FFFD}') {
            return Ok(String::new());
        }
        let new = text.get(self.printed..).unwrap_or_default().to_string();
        // Keep only the last token as context once everything is out, so the work per token
        // stays constant.
        if let Some(&last) = self.pending.last() {
            let tail = self.tokenizer.decode(&[last])?;
            if !tail.ends_with('\u{FFFD}') && text.ends_with(&tail) {
                self.pending = vec![last];
                self.printed = tail.len();
                return Ok(new);
            }
        }
        self.printed = text.len();
        Ok(new)
    }
}
