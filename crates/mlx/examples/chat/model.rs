//! A Llama-architecture decoder built from a GGUF file: hyperparameters from the metadata,
//! weights (quantized or dense) from the tensors, named as in the file so that the model's
//! parameter tree and the GGUF tensor names line up one to one.

use std::collections::HashMap;

use mlx::fast::{self, AttentionOptions};
use mlx::io::GgufMeta;
use mlx::nn::{Embedding, Linear, Module, Quantization, RMSNorm, RoPE};
use mlx::ops::{self, QuantizationMode};
use mlx::params::ModuleState;
use mlx::{Array, Dtype, Parameters};

/// An error while building or running the model, as text for the user.
pub type Result<T> = std::result::Result<T, String>;

fn mlx_err(context: &str) -> impl Fn(mlx::Error) -> String + '_ {
    move |e| format!("{context}: {e}")
}

/// The hyperparameters of a Llama model, read from GGUF metadata (`{arch}.*` keys).
#[derive(Debug, Clone)]
pub struct Config {
    /// Width of the residual stream.
    pub dim: i32,
    /// Number of decoder blocks.
    pub n_layers: usize,
    /// Query heads.
    pub n_heads: i32,
    /// Key/value heads (grouped-query attention when fewer than `n_heads`).
    pub n_kv_heads: i32,
    /// Width of one head.
    pub head_dim: i32,
    /// Hidden width of the gated MLP.
    pub ffn_dim: i32,
    /// Leading features of each head that RoPE rotates.
    pub rope_dims: i32,
    /// RoPE base frequency.
    pub rope_theta: f32,
    /// RMSNorm epsilon.
    pub norm_eps: f32,
    /// Longest context the model was trained for.
    pub context_length: i32,
}

/// A number from the metadata (stored as a 0-d array of any numeric dtype).
pub fn meta_number(meta: &HashMap<String, GgufMeta>, key: &str) -> Result<f64> {
    match meta.get(key) {
        // Read through f32 or i64, which every device converts to (a GPU has no float64);
        // GGUF's float fields are float32, so nothing is lost.
        Some(GgufMeta::Array(a)) if a.size() == 1 => if a.dtype().is_float() {
            a.astype(Dtype::Float32)
                .and_then(|a| a.item::<f32>())
                .map(f64::from)
        } else {
            a.astype(Dtype::Int64)
                .and_then(|a| a.item::<i64>())
                .map(|v| v as f64)
        }
        .map_err(mlx_err(key)),
        Some(other) => Err(format!("GGUF metadata '{key}' is not a number: {other:?}")),
        None => Err(format!("GGUF metadata '{key}' is missing")),
    }
}

/// A string from the metadata.
pub fn meta_string<'a>(meta: &'a HashMap<String, GgufMeta>, key: &str) -> Result<&'a str> {
    match meta.get(key) {
        Some(GgufMeta::String(s)) => Ok(s),
        Some(other) => Err(format!("GGUF metadata '{key}' is not a string: {other:?}")),
        None => Err(format!("GGUF metadata '{key}' is missing")),
    }
}

impl Config {
    /// Reads the hyperparameters of a `llama` GGUF.
    pub fn from_gguf(meta: &HashMap<String, GgufMeta>) -> Result<Config> {
        let arch = meta_string(meta, "general.architecture")?;
        if arch != "llama" {
            return Err(format!(
                "unsupported architecture '{arch}' (this example runs 'llama' models)"
            ));
        }
        let num = |key: &str| meta_number(meta, &format!("{arch}.{key}"));
        let int = |key: &str| num(key).map(|v| v as i32);
        let dim = int("embedding_length")?;
        let n_heads = int("attention.head_count")?;
        let n_kv_heads = match int("attention.head_count_kv") {
            Ok(n) => n,
            Err(_) => n_heads,
        };
        if n_heads <= 0 || dim % n_heads != 0 || n_kv_heads <= 0 || n_heads % n_kv_heads != 0 {
            return Err(format!(
                "inconsistent head counts: {n_heads} query heads, {n_kv_heads} key/value heads \
                 for width {dim}"
            ));
        }
        let head_dim = match int("attention.key_length") {
            Ok(n) => n,
            Err(_) => dim / n_heads,
        };
        Ok(Config {
            dim,
            n_layers: int("block_count")? as usize,
            n_heads,
            n_kv_heads,
            head_dim,
            ffn_dim: int("feed_forward_length")?,
            rope_dims: int("rope.dimension_count").unwrap_or(head_dim),
            rope_theta: num("rope.freq_base").unwrap_or(10000.0) as f32,
            norm_eps: num("attention.layer_norm_rms_epsilon")? as f32,
            context_length: int("context_length").unwrap_or(4096),
        })
    }
}

/// The quantization of the GGUF tensor `prefix.weight` whose rows have `in_dims` elements,
/// read off the shapes MLX's loader gives (`None`: the tensor is dense).
fn quantization_of(
    arrays: &HashMap<String, Array>,
    prefix: &str,
    in_dims: i32,
) -> Result<Option<Quantization>> {
    let weight = arrays
        .get(&format!("{prefix}.weight"))
        .ok_or_else(|| format!("tensor '{prefix}.weight' is missing"))?;
    let Some(scales) = arrays.get(&format!("{prefix}.scales")) else {
        return Ok(None);
    };
    let (packed, groups) = (weight.shape()[1], scales.shape()[1]);
    if groups == 0 || in_dims % groups != 0 || (packed * 32) % in_dims != 0 {
        return Err(format!(
            "'{prefix}': cannot read a quantization from shapes {:?} and {:?} for {in_dims} inputs",
            weight.shape(),
            scales.shape()
        ));
    }
    Ok(Some(Quantization::new(
        Some(in_dims / groups),
        Some(packed * 32 / in_dims),
        QuantizationMode::Affine,
    )))
}

/// An affine layer shaped for the GGUF tensor `prefix` (its arrays are filled in later).
fn linear_for(
    arrays: &HashMap<String, Array>,
    prefix: &str,
    in_dims: i32,
    out_dims: i32,
) -> Result<Linear> {
    let err = mlx_err(prefix);
    match quantization_of(arrays, prefix, in_dims)? {
        Some(q) => Linear::new_quantized(in_dims, out_dims, false, q).map_err(err),
        None => Linear::from_weights(
            Array::zeros::<f32>(&[out_dims, in_dims]).map_err(&err)?,
            None,
        )
        .map_err(err),
    }
}

/// One decoder block; field names are GGUF's tensor names (`blk.N.attn_q.weight`, ...).
#[derive(Parameters, Clone)]
pub struct Block {
    attn_norm: RMSNorm,
    attn_q: Linear,
    attn_k: Linear,
    attn_v: Linear,
    attn_output: Linear,
    ffn_norm: RMSNorm,
    ffn_gate: Linear,
    ffn_up: Linear,
    ffn_down: Linear,
    #[param(state)]
    state: ModuleState,
}

/// The whole model. `output` is absent when the output projection is tied to `token_embd`.
#[derive(Parameters, Clone)]
pub struct Llama {
    token_embd: Embedding,
    #[param(rename = "blk")]
    blocks: Vec<Block>,
    output_norm: RMSNorm,
    output: Option<Linear>,
    #[param(skip)]
    rope: RoPE,
    #[param(skip)]
    config: Config,
    #[param(state)]
    state: ModuleState,
}

/// The keys and values of one block for the positions seen so far, in a buffer that grows in
/// steps of [`KvCache::STEP`] positions and is written in place as tokens arrive.
#[derive(Default)]
pub struct KvCache {
    keys: Option<Array>,
    values: Option<Array>,
    len: i32,
}

impl KvCache {
    /// Positions added each time the buffer grows.
    pub const STEP: i32 = 256;

    /// Number of positions held.
    pub fn len(&self) -> i32 {
        self.len
    }

    /// Appends `k` and `v` (`[B, H, T, D]`) and returns every key and value so far.
    fn update(&mut self, k: &Array, v: &Array) -> mlx::Result<(Array, Array)> {
        let (b, h, t, d) = (k.shape()[0], k.shape()[1], k.shape()[2], k.shape()[3]);
        let capacity = self.keys.as_ref().map_or(0, |a| a.shape()[2]);
        let end = self.len + t;
        if end > capacity {
            let grow = (end - capacity + Self::STEP - 1) / Self::STEP * Self::STEP;
            let grown = |old: Option<&Array>, like: &Array| -> mlx::Result<Array> {
                let fresh = ops::zeros(&[b, h, grow, d], like.dtype())?;
                match old {
                    // Only the filled part of the old buffer is kept.
                    Some(old) => {
                        let filled = ops::slice(old, &[0, 0, 0, 0], &[b, h, self.len, d], &[])?;
                        ops::concatenate(&[filled, fresh], Some(2))
                    }
                    None => Ok(fresh),
                }
            };
            self.keys = Some(grown(self.keys.as_ref(), k)?);
            self.values = Some(grown(self.values.as_ref(), v)?);
        }
        let (start, stop) = ([0, 0, self.len, 0], [b, h, end, d]);
        let keys = ops::slice_update(
            self.keys.as_ref().expect("allocated"),
            k,
            &start,
            &stop,
            &[],
        )?;
        let values = ops::slice_update(
            self.values.as_ref().expect("allocated"),
            v,
            &start,
            &stop,
            &[],
        )?;
        self.len = end;
        let visible = |a: &Array| ops::slice(a, &[0, 0, 0, 0], &[b, h, end, d], &[]);
        let out = (visible(&keys)?, visible(&values)?);
        self.keys = Some(keys);
        self.values = Some(values);
        Ok(out)
    }
}

impl Block {
    fn attention(
        &self,
        x: &Array,
        cache: &mut KvCache,
        rope: &RoPE,
        c: &Config,
    ) -> mlx::Result<Array> {
        let (b, t) = (x.shape()[0], x.shape()[1]);
        let heads = |y: Array, n: i32| {
            y.reshape(&[b, t, n, c.head_dim])?
                .transpose(Some(&[0, 2, 1, 3]))
        };
        let offset = cache.len();
        let q = rope.forward_at(&heads(self.attn_q.forward(x)?, c.n_heads)?, offset)?;
        let k = rope.forward_at(&heads(self.attn_k.forward(x)?, c.n_kv_heads)?, offset)?;
        let v = heads(self.attn_v.forward(x)?, c.n_kv_heads)?;
        let (k, v) = cache.update(&k, &v)?;
        let options = if t > 1 {
            AttentionOptions::causal()
        } else {
            AttentionOptions::default()
        };
        let scale = 1.0 / (c.head_dim as f32).sqrt();
        let o = fast::scaled_dot_product_attention(&q, &k, &v, scale, &options)?;
        let o = o
            .transpose(Some(&[0, 2, 1, 3]))?
            .reshape(&[b, t, c.n_heads * c.head_dim])?;
        self.attn_output.forward(&o)
    }

    fn forward(
        &self,
        h: &Array,
        cache: &mut KvCache,
        rope: &RoPE,
        c: &Config,
    ) -> mlx::Result<Array> {
        let h = h + &self.attention(&self.attn_norm.forward(h)?, cache, rope, c)?;
        let x = self.ffn_norm.forward(&h)?;
        let gate = self.ffn_gate.forward(&x)?;
        let hidden = &(&gate * &gate.sigmoid()?) * &self.ffn_up.forward(&x)?;
        Ok(&h + &self.ffn_down.forward(&hidden)?)
    }
}

impl Llama {
    /// Builds the model from `load_gguf`'s arrays and metadata, taking every tensor (an
    /// unexpected or missing tensor, or a shape mismatch, is an error).
    pub fn from_gguf(
        arrays: HashMap<String, Array>,
        meta: &HashMap<String, GgufMeta>,
    ) -> Result<Llama> {
        let c = Config::from_gguf(meta)?;
        let vocab = arrays
            .get("token_embd.weight")
            .ok_or("tensor 'token_embd.weight' is missing")?
            .shape()[0];
        let token_embd = match quantization_of(&arrays, "token_embd", c.dim)? {
            Some(q) => Embedding::new_quantized(vocab, c.dim, q).map_err(mlx_err("token_embd"))?,
            None => Embedding::from_weight(
                Array::zeros::<f32>(&[vocab, c.dim]).map_err(mlx_err("token_embd"))?,
            ),
        };
        let norm = |what: &str| RMSNorm::with_eps(c.dim, c.norm_eps).map_err(mlx_err(what));
        let (q_dim, kv_dim) = (c.n_heads * c.head_dim, c.n_kv_heads * c.head_dim);
        let mut blocks = Vec::with_capacity(c.n_layers);
        for i in 0..c.n_layers {
            let lin = |name: &str, i_dims, o_dims| {
                linear_for(&arrays, &format!("blk.{i}.{name}"), i_dims, o_dims)
            };
            blocks.push(Block {
                attn_norm: norm("attn_norm")?,
                attn_q: lin("attn_q", c.dim, q_dim)?,
                attn_k: lin("attn_k", c.dim, kv_dim)?,
                attn_v: lin("attn_v", c.dim, kv_dim)?,
                attn_output: lin("attn_output", q_dim, c.dim)?,
                ffn_norm: norm("ffn_norm")?,
                ffn_gate: lin("ffn_gate", c.dim, c.ffn_dim)?,
                ffn_up: lin("ffn_up", c.dim, c.ffn_dim)?,
                ffn_down: lin("ffn_down", c.ffn_dim, c.dim)?,
                state: ModuleState::new(),
            });
        }
        let output = if arrays.contains_key("output.weight") {
            Some(linear_for(&arrays, "output", c.dim, vocab)?)
        } else {
            None
        };
        // llama.cpp's converter reorders the rows of Q and K so that RoPE rotates consecutive
        // pairs of features (the "traditional" layout), not the two halves of each head.
        let rope = RoPE::with_options(c.rope_dims, true, c.rope_theta, 1.0);
        let mut model = Llama {
            token_embd,
            blocks,
            output_norm: norm("output_norm")?,
            output,
            rope,
            config: c,
            state: ModuleState::new(),
        };
        model
            .update_params(arrays)
            .map_err(mlx_err("loading the GGUF tensors"))?;
        model.eval_params().map_err(mlx_err("loading weights"))?;
        Ok(model)
    }

    /// Replaces every quantized projection by its float32 dequantization (the embedding
    /// lookup stays quantized; a tied output projection gets a dense copy of the table). Four
    /// times the memory of 4-bit weights, but on a CPU with a fast BLAS, dense matmuls outrun
    /// MLX's quantized CPU kernels.
    pub fn dequantize(&mut self) -> mlx::Result<()> {
        fn dense(l: &Linear) -> mlx::Result<Option<Linear>> {
            let (Some(q), Some(scales)) = (l.quantization(), &l.scales) else {
                return Ok(None);
            };
            let w = ops::dequantize(
                &l.weight,
                scales,
                l.biases.as_ref(),
                &q.options(),
                Some(Dtype::Float32),
            )?;
            Linear::from_weights(w, l.bias.clone()).map(Some)
        }
        for b in &mut self.blocks {
            for l in [
                &mut b.attn_q,
                &mut b.attn_k,
                &mut b.attn_v,
                &mut b.attn_output,
                &mut b.ffn_gate,
                &mut b.ffn_up,
                &mut b.ffn_down,
            ] {
                if let Some(d) = dense(l)? {
                    *l = d;
                }
            }
        }
        match &mut self.output {
            Some(out) => {
                if let Some(d) = dense(out)? {
                    *out = d;
                }
            }
            None => {
                let e = &self.token_embd;
                if let (Some(q), Some(scales)) = (e.quantization(), &e.scales) {
                    let w = ops::dequantize(
                        &e.weight,
                        scales,
                        e.biases.as_ref(),
                        &q.options(),
                        Some(Dtype::Float32),
                    )?;
                    self.output = Some(Linear::from_weights(w, None)?);
                }
            }
        }
        self.eval_params()
    }

    /// The hyperparameters.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// One empty cache per block.
    pub fn new_cache(&self) -> Vec<KvCache> {
        (0..self.blocks.len()).map(|_| KvCache::default()).collect()
    }

    /// Runs the tokens `ids` (`[B, T]` integers) after the positions already in `cache`, adds
    /// their keys and values to it, and returns the float32 logits of the last position,
    /// `[B, vocab]` (lazy).
    pub fn forward(&self, ids: &Array, cache: &mut [KvCache]) -> mlx::Result<Array> {
        let c = &self.config;
        let mut h = self.token_embd.forward(ids)?.astype(Dtype::Float32)?;
        for (block, kv) in self.blocks.iter().zip(cache.iter_mut()) {
            h = block.forward(&h, kv, &self.rope, c)?;
        }
        let t = h.shape()[1];
        let last = ops::slice(&h, &[0, t - 1, 0], &[h.shape()[0], t, c.dim], &[])?;
        let last = self.output_norm.forward(&last)?.squeeze(Some(&[1]))?;
        let logits = match &self.output {
            Some(out) => out.forward(&last)?,
            None => self.token_embd.as_linear(&last)?,
        };
        logits.astype(Dtype::Float32)
    }
}
