//! Embedding tables.

use crate::Parameters;
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::nn::Module;
use crate::nn::linear::check_positive;
use crate::nn::quantized::{Quantization, pack};
use crate::ops;
use crate::params::ModuleState;
use crate::random;

/// A table of `num_embeddings` vectors of size `dims`, looked up by integer index (MLX's
/// `nn.Embedding`; `weight` starts as `normal(0, 1/√dims)`).
///
/// After [`Embedding::quantize`] (or [`crate::nn::quantize`]) the table is Python MLX's
/// `nn.QuantizedEmbedding`: `weight` packed, with `scales` and `biases`, and frozen; rows are
/// dequantized as they are looked up.
#[derive(Parameters, Clone, Debug)]
pub struct Embedding {
    /// `[num_embeddings, dims]`, or packed `uint32` when quantized.
    pub weight: Array,
    /// One scale per group of the quantized table.
    pub scales: Option<Array>,
    /// One offset per group of the quantized table (affine mode).
    pub biases: Option<Array>,
    #[param(skip)]
    quantization: Option<Quantization>,
    #[param(state)]
    state: ModuleState,
}

impl Embedding {
    /// A randomly initialized table.
    pub fn new(num_embeddings: i32, dims: i32) -> Result<Embedding> {
        check_positive(
            "Embedding",
            &[("num_embeddings", num_embeddings), ("dims", dims)],
        )?;
        let std = (1.0 / f64::from(dims)).sqrt();
        let weight = &random::normal(&[num_embeddings, dims], Dtype::Float32, None)? * std;
        Ok(Embedding::from_weight(weight))
    }

    /// A table from a given `[num_embeddings, dims]` array.
    pub fn from_weight(weight: Array) -> Embedding {
        Embedding {
            weight,
            scales: None,
            biases: None,
            quantization: None,
            state: ModuleState::new(),
        }
    }

    /// A quantized table (MLX's `nn.QuantizedEmbedding`): a random table quantized with
    /// `quantization`, meant to receive quantized weights.
    pub fn new_quantized(
        num_embeddings: i32,
        dims: i32,
        quantization: Quantization,
    ) -> Result<Embedding> {
        let mut table = Embedding::new(num_embeddings, dims)?;
        table.quantize(quantization)?;
        Ok(table)
    }

    /// Quantizes the table in place and freezes it; fails when it is already quantized.
    pub fn quantize(&mut self, quantization: Quantization) -> Result<()> {
        if self.quantization.is_some() {
            return Err(Error::InvalidArgument(
                "[Embedding::quantize] the table is already quantized".into(),
            ));
        }
        let packed = pack(&self.weight, &quantization, "Embedding::quantize")?;
        self.weight = packed.weight;
        self.scales = Some(packed.scales);
        self.biases = packed.biases;
        self.quantization = Some(quantization);
        self.freeze();
        Ok(())
    }

    /// The quantization of the table, when it is quantized.
    pub fn quantization(&self) -> Option<Quantization> {
        self.quantization
    }

    /// Whether the table is quantized.
    pub fn is_quantized(&self) -> bool {
        self.quantization.is_some()
    }

    /// `x @ weightᵀ`: uses the table as the output projection of a model whose input and
    /// output embeddings are tied.
    pub fn as_linear(&self, x: &Array) -> Result<Array> {
        match (&self.quantization, &self.scales) {
            (Some(q), Some(scales)) => super::quantized::quantized_project(
                x,
                &self.weight,
                scales,
                self.biases.as_ref(),
                q,
            ),
            _ => x.matmul(&self.weight.t()?),
        }
    }
}

impl Module for Embedding {
    /// The rows of the table at the indices `x` (any integer shape; the result has shape
    /// `[..x.shape, dims]`).
    fn forward(&self, x: &Array) -> Result<Array> {
        let rows = |a: &Array| ops::take(a, x, Some(0));
        match (&self.quantization, &self.scales) {
            (Some(q), Some(scales)) => ops::dequantize(
                &rows(&self.weight)?,
                &rows(scales)?,
                self.biases.as_ref().map(rows).transpose()?.as_ref(),
                &q.options(),
                None,
            ),
            _ => rows(&self.weight),
        }
    }
}
