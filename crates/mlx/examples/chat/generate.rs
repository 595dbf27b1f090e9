//! The decoding loop: the prompt in one forward pass, then one token at a time through the
//! key/value cache. Step `n + 1` is queued (`async_eval`) before token `n` is read back, so
//! building the next graph overlaps with computing the current one (from the second token on:
//! the first is waited for, which times the prompt alone).

use std::time::Instant;

use mlx::{Array, async_eval};

use crate::model::{Llama, Result};
use crate::sample::Sampler;

/// What a generation produced.
pub struct Generation {
    /// The generated ids, the stop token included when one ended the answer.
    pub tokens: Vec<u32>,
    /// The logits of the first generated position (`[1, vocab]`, float32; tests/chat.rs
    /// compares them with Python's).
    #[allow(dead_code)]
    pub first_logits: Array,
    /// Seconds from the start to the first token (the prompt's forward pass).
    pub prompt_secs: f64,
    /// Seconds from the first token to the last.
    pub gen_secs: f64,
    /// Number of prompt tokens.
    pub prompt_len: usize,
}

impl Generation {
    /// Prompt tokens per second.
    pub fn prompt_tps(&self) -> f64 {
        self.prompt_len as f64 / self.prompt_secs
    }

    /// Generated tokens per second, after the first one.
    pub fn gen_tps(&self) -> f64 {
        if self.tokens.len() > 1 {
            (self.tokens.len() - 1) as f64 / self.gen_secs
        } else {
            0.0
        }
    }
}

/// Generates up to `max_tokens` tokens after `prompt`, stopping after any of `stop_ids`;
/// `on_token` sees each id as soon as it is known.
pub fn generate(
    model: &Llama,
    prompt: &[u32],
    max_tokens: usize,
    sampler: &mut Sampler,
    stop_ids: &[u32],
    mut on_token: impl FnMut(u32) -> Result<()>,
) -> Result<Generation> {
    let err = |e: mlx::Error| e.to_string();
    if prompt.is_empty() {
        return Err("the prompt has no tokens".into());
    }
    let start = Instant::now();
    let mut cache = model.new_cache();
    let ids = Array::from_slice(prompt, &[1, prompt.len() as i32]).map_err(err)?;
    let first_logits = model.forward(&ids, &mut cache).map_err(err)?;
    let mut next = sampler.sample(&first_logits).map_err(err)?;
    async_eval([&next]).map_err(err)?;

    let mut tokens = Vec::new();
    let mut prompt_secs = 0.0;
    let mut gen_start = start;
    while tokens.len() < max_tokens {
        let current = next;
        if tokens.is_empty() {
            // The first token is waited for before the next step is queued, so that the
            // prompt's time is the prompt's alone (the time to the first token, as Python MLX's
            // reference measures it), not the prompt plus the building of the next step.
            current.eval().map_err(err)?;
            prompt_secs = start.elapsed().as_secs_f64();
            gen_start = Instant::now();
        }
        // Queue the step after `current` while it is still being computed.
        if tokens.len() + 1 < max_tokens {
            let logits = model
                .forward(&current.reshape(&[1, 1]).map_err(err)?, &mut cache)
                .map_err(err)?;
            next = sampler.sample(&logits).map_err(err)?;
            async_eval([&next]).map_err(err)?;
        } else {
            next = current.clone();
        }
        let token = current.item::<u32>().map_err(err)?;
        tokens.push(token);
        on_token(token)?;
        if stop_ids.contains(&token) {
            break;
        }
    }
    Ok(Generation {
        tokens,
        first_logits,
        prompt_secs,
        gen_secs: gen_start.elapsed().as_secs_f64(),
        prompt_len: prompt.len(),
    })
}
