//! Quantization: quantize, dequantize, quantized matmuls.
