//! Multi-head attention and Transformer encoder/decoder stacks.

use crate::Parameters;
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::fast::{self, AttentionOptions};
use crate::nn::{Dropout, LayerNorm, Linear, Module, relu};
use crate::params::ModuleState;

/// An activation function, as the Transformer layers take it.
pub type Activation = fn(&Array) -> Result<Array>;

/// Multi-head attention (MLX's `nn.MultiHeadAttention`): projections `query_proj`,
/// `key_proj`, `value_proj` and `out_proj` around `fast::scaled_dot_product_attention` with
/// scale `1/√(head dims)`.
#[derive(Parameters, Clone, Debug)]
pub struct MultiHeadAttention {
    /// `[dims, query_input_dims]`.
    pub query_proj: Linear,
    /// `[dims, key_input_dims]`.
    pub key_proj: Linear,
    /// `[value_dims, value_input_dims]`.
    pub value_proj: Linear,
    /// `[value_output_dims, value_dims]`.
    pub out_proj: Linear,
    #[param(skip)]
    num_heads: i32,
    #[param(state)]
    state: ModuleState,
}

impl MultiHeadAttention {
    /// Attention over `dims` features split into `num_heads` heads, every input of width
    /// `dims`, projections without biases (Python's defaults).
    pub fn new(dims: i32, num_heads: i32) -> Result<Self> {
        MultiHeadAttention::with_dims(dims, num_heads, [dims; 5], false)
    }

    /// Attention with explicit widths `[query_input, key_input, value_input, value,
    /// value_output]` (Python's `query_input_dims`, ... ; each defaults to `dims` there) and
    /// biases or not.
    pub fn with_dims(dims: i32, num_heads: i32, widths: [i32; 5], bias: bool) -> Result<Self> {
        if num_heads <= 0 || dims % num_heads != 0 {
            return Err(Error::InvalidArgument(format!(
                "[MultiHeadAttention] dims ({dims}) must be a multiple of num_heads \
                 ({num_heads})"
            )));
        }
        let [q_in, k_in, v_in, v_dims, v_out] = widths;
        Ok(MultiHeadAttention {
            query_proj: Linear::with_bias(q_in, dims, bias)?,
            key_proj: Linear::with_bias(k_in, dims, bias)?,
            value_proj: Linear::with_bias(v_in, v_dims, bias)?,
            out_proj: Linear::with_bias(v_dims, v_out, bias)?,
            num_heads,
            state: ModuleState::new(),
        })
    }

    /// Attends `queries` `[B, T_q, q_in]` to `keys` `[B, T_k, k_in]` / `values`
    /// `[B, T_k, v_in]`; `mask` is additive or boolean (true: attend), broadcastable to
    /// `[B, heads, T_q, T_k]`.
    pub fn forward(
        &self,
        queries: &Array,
        keys: &Array,
        values: &Array,
        mask: Option<&Array>,
    ) -> Result<Array> {
        let heads = |x: Array| -> Result<Array> {
            crate::ops::unflatten(&x, -1, &[self.num_heads, -1])?.transpose(Some(&[0, 2, 1, 3]))
        };
        let q = heads(self.query_proj.forward(queries)?)?;
        let k = heads(self.key_proj.forward(keys)?)?;
        let v = heads(self.value_proj.forward(values)?)?;
        let scale = 1.0 / (q.shape()[3] as f32).sqrt();
        let options = match mask {
            Some(m) => AttentionOptions::default().with_mask(m),
            None => AttentionOptions::default(),
        };
        let out = fast::scaled_dot_product_attention(&q, &k, &v, scale, &options)?;
        self.out_proj
            .forward(&out.transpose(Some(&[0, 2, 1, 3]))?.flatten(-2, -1)?)
    }

    /// The additive causal mask `[n, n]`: 0 where key `j <= i`, the most negative finite value
    /// of `dtype` elsewhere.
    pub fn create_additive_causal_mask(n: i32, dtype: Dtype) -> Result<Array> {
        let i = Array::arange::<i32>(n)?;
        let future = crate::ops::less(&i.expand_dims(&[1])?, &i.expand_dims(&[0])?)?;
        let lowest = match dtype {
            Dtype::Float16 => f64::from(crate::f16::MIN),
            Dtype::Bfloat16 => f64::from(crate::bf16::MIN),
            Dtype::Float64 => f64::MIN,
            _ => f64::from(f32::MIN),
        };
        Ok(&future.astype(dtype)? * lowest)
    }
}

/// One encoder block: self-attention and an MLP, each with a residual connection and a
/// layer norm (before the sublayer with `norm_first`, Python's default; after it otherwise).
#[derive(Parameters, Clone, Debug)]
pub struct TransformerEncoderLayer {
    /// Self-attention.
    pub attention: MultiHeadAttention,
    /// Norm of the attention sublayer.
    pub ln1: LayerNorm,
    /// Norm of the MLP sublayer.
    pub ln2: LayerNorm,
    /// MLP input projection.
    pub linear1: Linear,
    /// MLP output projection.
    pub linear2: Linear,
    /// Dropout after attention.
    pub dropout1: Dropout,
    /// Dropout inside the MLP.
    pub dropout2: Dropout,
    #[param(skip)]
    activation: Activation,
    #[param(skip)]
    norm_first: bool,
    #[param(state)]
    state: ModuleState,
}

/// Options shared by the Transformer stacks (Python's defaults: `mlp_dims = 4·dims`, no
/// dropout, ReLU, norm first).
#[derive(Clone, Copy, Debug)]
pub struct TransformerOptions {
    /// Width of the MLP; `None` means `4 · dims`.
    pub mlp_dims: Option<i32>,
    /// Dropout probability.
    pub dropout: f32,
    /// The MLP's activation.
    pub activation: Activation,
    /// Layer norm before each sublayer (true) or after the residual sum.
    pub norm_first: bool,
}

impl Default for TransformerOptions {
    fn default() -> Self {
        TransformerOptions {
            mlp_dims: None,
            dropout: 0.0,
            activation: relu,
            norm_first: true,
        }
    }
}

impl TransformerEncoderLayer {
    /// A block of width `dims` with `num_heads` heads.
    pub fn new(dims: i32, num_heads: i32, options: TransformerOptions) -> Result<Self> {
        let mlp = options.mlp_dims.unwrap_or(4 * dims);
        Ok(TransformerEncoderLayer {
            attention: MultiHeadAttention::new(dims, num_heads)?,
            ln1: LayerNorm::new(dims)?,
            ln2: LayerNorm::new(dims)?,
            linear1: Linear::new(dims, mlp)?,
            linear2: Linear::new(mlp, dims)?,
            dropout1: Dropout::new(options.dropout)?,
            dropout2: Dropout::new(options.dropout)?,
            activation: options.activation,
            norm_first: options.norm_first,
            state: ModuleState::new(),
        })
    }

    fn mlp(&self, x: &Array) -> Result<Array> {
        let h = (self.activation)(&self.linear1.forward(x)?)?;
        self.linear2.forward(&self.dropout2.forward(&h)?)
    }

    /// Applies the block to `x` `[B, T, dims]` with an attention mask.
    pub fn forward(&self, x: &Array, mask: Option<&Array>) -> Result<Array> {
        if self.norm_first {
            let y = self.ln1.forward(x)?;
            let y = self.attention.forward(&y, &y, &y, mask)?;
            let x = x + &self.dropout1.forward(&y)?;
            let y = self.mlp(&self.ln2.forward(&x)?)?;
            Ok(&x + &y)
        } else {
            let y = self.attention.forward(x, x, x, mask)?;
            let x = self.ln1.forward(&(x + &self.dropout1.forward(&y)?))?;
            let y = self.mlp(&x)?;
            self.ln2.forward(&(&x + &y))
        }
    }
}

/// A stack of encoder blocks followed by a layer norm (MLX's `nn.TransformerEncoder`).
#[derive(Parameters, Clone, Debug)]
pub struct TransformerEncoder {
    /// The blocks.
    pub layers: Vec<TransformerEncoderLayer>,
    /// The final norm.
    pub ln: LayerNorm,
    #[param(state)]
    state: ModuleState,
}

impl TransformerEncoder {
    /// `num_layers` blocks of width `dims` with `num_heads` heads.
    pub fn new(
        num_layers: i32,
        dims: i32,
        num_heads: i32,
        options: TransformerOptions,
    ) -> Result<Self> {
        Ok(TransformerEncoder {
            layers: (0..num_layers)
                .map(|_| TransformerEncoderLayer::new(dims, num_heads, options))
                .collect::<Result<_>>()?,
            ln: LayerNorm::new(dims)?,
            state: ModuleState::new(),
        })
    }

    /// Applies the stack to `x` `[B, T, dims]` with an attention mask.
    pub fn forward(&self, x: &Array, mask: Option<&Array>) -> Result<Array> {
        let mut x = x.clone();
        for layer in &self.layers {
            x = layer.forward(&x, mask)?;
        }
        self.ln.forward(&x)
    }
}

/// One decoder block: self-attention, cross-attention to the encoder's output and an MLP,
/// each with a residual connection and a layer norm.
#[derive(Parameters, Clone, Debug)]
pub struct TransformerDecoderLayer {
    /// Self-attention.
    pub self_attention: MultiHeadAttention,
    /// Attention to the encoder's output.
    pub cross_attention: MultiHeadAttention,
    /// Norm of the self-attention sublayer.
    pub ln1: LayerNorm,
    /// Norm of the cross-attention sublayer.
    pub ln2: LayerNorm,
    /// Norm of the MLP sublayer.
    pub ln3: LayerNorm,
    /// MLP input projection.
    pub linear1: Linear,
    /// MLP output projection.
    pub linear2: Linear,
    /// Dropout after self-attention.
    pub dropout1: Dropout,
    /// Dropout after cross-attention.
    pub dropout2: Dropout,
    /// Dropout inside the MLP.
    pub dropout3: Dropout,
    #[param(skip)]
    activation: Activation,
    #[param(skip)]
    norm_first: bool,
    #[param(state)]
    state: ModuleState,
}

impl TransformerDecoderLayer {
    /// A block of width `dims` with `num_heads` heads.
    pub fn new(dims: i32, num_heads: i32, options: TransformerOptions) -> Result<Self> {
        let mlp = options.mlp_dims.unwrap_or(4 * dims);
        Ok(TransformerDecoderLayer {
            self_attention: MultiHeadAttention::new(dims, num_heads)?,
            cross_attention: MultiHeadAttention::new(dims, num_heads)?,
            ln1: LayerNorm::new(dims)?,
            ln2: LayerNorm::new(dims)?,
            ln3: LayerNorm::new(dims)?,
            linear1: Linear::new(dims, mlp)?,
            linear2: Linear::new(mlp, dims)?,
            dropout1: Dropout::new(options.dropout)?,
            dropout2: Dropout::new(options.dropout)?,
            dropout3: Dropout::new(options.dropout)?,
            activation: options.activation,
            norm_first: options.norm_first,
            state: ModuleState::new(),
        })
    }

    fn mlp(&self, x: &Array) -> Result<Array> {
        let h = (self.activation)(&self.linear1.forward(x)?)?;
        self.linear2.forward(&self.dropout3.forward(&h)?)
    }

    /// Applies the block to `x` `[B, T, dims]` given the encoder's output `memory`.
    pub fn forward(
        &self,
        x: &Array,
        memory: &Array,
        x_mask: Option<&Array>,
        memory_mask: Option<&Array>,
    ) -> Result<Array> {
        if self.norm_first {
            let y = self.ln1.forward(x)?;
            let y = self.self_attention.forward(&y, &y, &y, x_mask)?;
            let x = x + &self.dropout1.forward(&y)?;
            let y = self.ln2.forward(&x)?;
            let y = self
                .cross_attention
                .forward(&y, memory, memory, memory_mask)?;
            let x = &x + &self.dropout2.forward(&y)?;
            let y = self.mlp(&self.ln3.forward(&x)?)?;
            Ok(&x + &y)
        } else {
            let y = self.self_attention.forward(x, x, x, x_mask)?;
            let x = self.ln1.forward(&(x + &self.dropout1.forward(&y)?))?;
            let y = self
                .cross_attention
                .forward(&x, memory, memory, memory_mask)?;
            let x = self.ln2.forward(&(&x + &self.dropout2.forward(&y)?))?;
            let y = self.mlp(&x)?;
            self.ln3.forward(&(&x + &y))
        }
    }
}

/// A stack of decoder blocks followed by a layer norm (MLX's `nn.TransformerDecoder`).
#[derive(Parameters, Clone, Debug)]
pub struct TransformerDecoder {
    /// The blocks.
    pub layers: Vec<TransformerDecoderLayer>,
    /// The final norm.
    pub ln: LayerNorm,
    #[param(state)]
    state: ModuleState,
}

impl TransformerDecoder {
    /// `num_layers` blocks of width `dims` with `num_heads` heads.
    pub fn new(
        num_layers: i32,
        dims: i32,
        num_heads: i32,
        options: TransformerOptions,
    ) -> Result<Self> {
        Ok(TransformerDecoder {
            layers: (0..num_layers)
                .map(|_| TransformerDecoderLayer::new(dims, num_heads, options))
                .collect::<Result<_>>()?,
            ln: LayerNorm::new(dims)?,
            state: ModuleState::new(),
        })
    }

    /// Applies the stack to `x` given the encoder's output `memory`.
    pub fn forward(
        &self,
        x: &Array,
        memory: &Array,
        x_mask: Option<&Array>,
        memory_mask: Option<&Array>,
    ) -> Result<Array> {
        let mut x = x.clone();
        for layer in &self.layers {
            x = layer.forward(&x, memory, x_mask, memory_mask)?;
        }
        self.ln.forward(&x)
    }
}

/// An encoder–decoder Transformer (MLX's `nn.Transformer`): `encoder` over the source, then
/// `decoder` over the target attending to the encoder's output.
#[derive(Parameters, Clone, Debug)]
pub struct Transformer {
    /// The encoder stack.
    pub encoder: TransformerEncoder,
    /// The decoder stack.
    pub decoder: TransformerDecoder,
    #[param(state)]
    state: ModuleState,
}

impl Transformer {
    /// Stacks of `encoder_layers` and `decoder_layers` blocks of width `dims` with `num_heads`
    /// heads (Python's defaults: 512 wide, 8 heads, 6 + 6 layers).
    pub fn new(
        dims: i32,
        num_heads: i32,
        encoder_layers: i32,
        decoder_layers: i32,
        options: TransformerOptions,
    ) -> Result<Self> {
        Ok(Transformer {
            encoder: TransformerEncoder::new(encoder_layers, dims, num_heads, options)?,
            decoder: TransformerDecoder::new(decoder_layers, dims, num_heads, options)?,
            state: ModuleState::new(),
        })
    }

    /// The decoder's output for target `tgt` given source `src`, with the source's, target's
    /// and cross-attention masks.
    pub fn forward(
        &self,
        src: &Array,
        tgt: &Array,
        src_mask: Option<&Array>,
        tgt_mask: Option<&Array>,
        memory_mask: Option<&Array>,
    ) -> Result<Array> {
        let memory = self.encoder.forward(src, src_mask)?;
        self.decoder.forward(tgt, &memory, tgt_mask, memory_mask)
    }
}
