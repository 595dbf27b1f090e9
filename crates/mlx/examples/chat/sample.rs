//! Choosing the next token from the logits: greedy, or sampled with temperature, top-k and
//! top-p (nucleus) filtering, from a seeded MLX random key. Everything stays a lazy MLX graph,
//! so the choice is computed together with the forward pass that produced the logits.

use mlx::ops::{self, ScanOptions};
use mlx::{Array, random};

/// How tokens are chosen.
#[derive(Debug, Clone, Copy)]
pub struct SamplerOptions {
    /// Softmax temperature; 0 picks the most likely token (greedy).
    pub temperature: f32,
    /// Keep the smallest set of most likely tokens whose probabilities add up to at least
    /// `top_p` (1 keeps everything).
    pub top_p: f32,
    /// Keep only the `top_k` most likely tokens (0 keeps everything).
    pub top_k: i32,
    /// Seed of the random key.
    pub seed: u64,
}

/// Draws tokens, advancing its own random key at each draw (the global key is left alone).
pub struct Sampler {
    options: SamplerOptions,
    key: Array,
}

impl Sampler {
    /// A sampler for these options.
    pub fn new(options: SamplerOptions) -> mlx::Result<Sampler> {
        Ok(Sampler {
            options,
            key: random::key(options.seed)?,
        })
    }

    /// The next token for each row of `logits` (`[B, vocab]`), as `uint32` `[B]` (lazy).
    pub fn sample(&mut self, logits: &Array) -> mlx::Result<Array> {
        let o = self.options;
        if o.temperature <= 0.0 {
            return ops::argmax(logits, Some(-1), false)?.astype(mlx::Dtype::Uint32);
        }
        let vocab = logits.shape()[logits.ndim() - 1];
        let mut logits = logits * (1.0 / f64::from(o.temperature));
        let neg_inf = Array::scalar(f32::NEG_INFINITY);
        if o.top_k > 0 && o.top_k < vocab {
            // The k-th largest logit of each row; everything below it is dropped.
            let kth = ops::topk(&logits, o.top_k, Some(-1))?.min(Some(&[-1]), true)?;
            logits = ops::where_(&logits.less(&kth)?, &neg_inf, &logits)?;
        }
        if o.top_p < 1.0 {
            logits = top_p_filter(&logits, o.top_p, &neg_inf)?;
        }
        let (key, draw) = random::split(&self.key)?;
        self.key = key;
        random::categorical(&logits, -1, Some(&draw))
    }
}

/// Drops (sets to -inf) the tokens outside the nucleus of probability `p`: sorted from most to
/// least likely, a token stays when the probability of the tokens before it is below `p`.
fn top_p_filter(logits: &Array, p: f32, neg_inf: &Array) -> mlx::Result<Array> {
    let probs = logits.softmax(Some(&[-1]), true)?;
    // Indices from most to least likely.
    let order = ops::argsort(&(-&probs), Some(-1))?;
    let sorted = ops::take_along_axis(&probs, &order, Some(-1))?;
    let before = ops::cumsum(
        &sorted,
        Some(-1),
        ScanOptions {
            inclusive: false,
            ..Default::default()
        },
    )?;
    let keep_sorted = before.less(&Array::scalar(p))?;
    // Back to vocabulary order.
    let keep = ops::put_along_axis(&keep_sorted, &order, &keep_sorted, Some(-1))?;
    ops::where_(&keep, logits, neg_inf)
}
