//! Embedding tables.

use crate::Parameters;
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::Result;
use crate::nn::Module;
use crate::nn::linear::check_positive;
use crate::params::ModuleState;
use crate::random;

/// A table of `num_embeddings` vectors of size `dims`, looked up by integer index (MLX's
/// `nn.Embedding`; `weight` starts as `normal(0, 1/√dims)`).
#[derive(Parameters, Clone, Debug)]
pub struct Embedding {
    /// `[num_embeddings, dims]`.
    pub weight: Array,
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
        Ok(Embedding {
            weight,
            state: ModuleState::new(),
        })
    }

    /// A table from a given `[num_embeddings, dims]` array.
    pub fn from_weight(weight: Array) -> Embedding {
        Embedding {
            weight,
            state: ModuleState::new(),
        }
    }

    /// `x @ weightᵀ`: uses the table as the output projection of a model whose input and
    /// output embeddings are tied.
    pub fn as_linear(&self, x: &Array) -> Result<Array> {
        x.matmul(&self.weight.t()?)
    }
}

impl Module for Embedding {
    /// The rows of the table at the indices `x` (any integer shape; the result has shape
    /// `[..x.shape, dims]`).
    fn forward(&self, x: &Array) -> Result<Array> {
        crate::ops::take(&self.weight, x, Some(0))
    }
}
