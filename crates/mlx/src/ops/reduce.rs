//! Reductions over axes (with keepdims) and cumulative ops.
