//! Arithmetic and math: binary ops, every unary function, bitwise and logical ops.
