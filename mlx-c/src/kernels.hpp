// This library's own CPU loops, for ops where MLX's CPU backend (as the PyPI wheels build it)
// is slow. Compiled on their own (src/kernels.cpp) with the flags that let the compiler
// vectorize them.
#pragma once

#include <cstddef>

namespace mlxc::kernels {

// `out[i] = e^in[i]` for `n` floats: within 2 ulp of the exact value (1.4 at most over every
// float from -103.9 to 88.7), +inf above 88.72, 0 below -103.97 (and subnormal results 0 where
// the thread flushes subnormals, as MLX's CPU threads do by default), NaN for NaN. `in` and
// `out` may be the same buffer.
void exp_f32(const float* in, float* out, size_t n);

}  // namespace mlxc::kernels
