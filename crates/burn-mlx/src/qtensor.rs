//! Quantized tensors: [`MlxQTensor`] and `QTensorOps`.

use burn_backend::quantization::QuantScheme;
use burn_backend::{DType, QTensorPrimitive, Shape, TensorData, TensorMetadata};
use mlx::Array;

use crate::tensor::MlxTensor;

/// A quantized tensor: integer values, their scales, and Burn's scheme.
#[derive(Clone, Debug)]
pub struct MlxQTensor {
    /// The quantized values (one integer per element, logical shape).
    pub(crate) values: MlxTensor,
    /// Scale per tensor (shape `[1]`) or per block.
    pub(crate) scales: MlxTensor,
    /// How the values were quantized.
    pub(crate) scheme: QuantScheme,
}

impl MlxQTensor {
    /// The arrays behind the tensor (for batched evaluation).
    pub(crate) fn arrays(&self) -> [&Array; 2] {
        [&self.values.array, &self.scales.array]
    }

    /// Burn's serialized form of the tensor.
    pub(crate) fn to_data(&self) -> TensorData {
        unimplemented!("quantized data export is being written")
    }
}

impl TensorMetadata for MlxQTensor {
    fn dtype(&self) -> DType {
        DType::QFloat(self.scheme)
    }

    fn shape(&self) -> Shape {
        self.values.shape()
    }
}

impl QTensorPrimitive for MlxQTensor {
    fn scheme(&self) -> &QuantScheme {
        &self.scheme
    }
}
