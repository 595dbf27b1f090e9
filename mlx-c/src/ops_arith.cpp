// Definitions of the op table's arith family (include/mlxc/ops/arith.def), and the primitive
// behind `mlxc_exp_vectorized`.
#include "internal.hpp"
#include "kernels.hpp"
#include "mlx/backend/cpu/encoder.h"
#include "mlx/primitives.h"

namespace mlxc {

mx::array exp_vectorized(const mx::array& a, mx::StreamOrDevice s);

namespace {

// e^x of float32 arrays on the CPU through kernels::exp_f32. A primitive of its own, so that
// it joins lazy graphs, transforms (its derivative is itself) and compilation like MLX's `exp`.
class VectorizedExp : public mx::UnaryPrimitive {
 public:
  explicit VectorizedExp(mx::Stream s) : mx::UnaryPrimitive(s) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override {
    const mx::array& in = inputs[0];
    auto& encoder = mx::cpu::get_command_encoder(stream());
    encoder.set_input_array(in);
    encoder.set_output_array(out);
    if (in.flags().contiguous) {
      // Densely stored (in any axis order): one pass over the buffer, the result laid out the
      // same way, in the input's own buffer where nothing else holds it (as MLX's unary ops).
      if (in.is_donatable()) {
        out.copy_shared_buffer(in);
      } else {
        out.set_data(mx::allocator::malloc(in.data_size() * out.itemsize()), in.data_size(),
                     in.strides(), in.flags());
      }
      encoder.dispatch([src = in.data<float>(), dst = out.data<float>(), n = in.data_size()]() {
        kernels::exp_f32(src, dst, n);
      });
      return;
    }
    // A strided view: row by row of the last axis into a row-major result.
    out.set_data(mx::allocator::malloc(out.nbytes()));
    encoder.dispatch([src = in.data<float>(), dst = out.data<float>(), shape = in.shape(),
                      strides = in.strides()]() {
      const size_t ndim = shape.size();
      const int64_t row = shape[ndim - 1], step = strides[ndim - 1];
      std::vector<int64_t> index(ndim, 0);
      std::vector<float> buffer(static_cast<size_t>(row));
      int64_t rows = 1;
      for (size_t d = 0; d + 1 < ndim; ++d) rows *= shape[d];
      float* target = dst;
      for (int64_t r = 0; r < rows; ++r, target += row) {
        int64_t offset = 0;
        for (size_t d = 0; d + 1 < ndim; ++d) offset += index[d] * strides[d];
        for (int64_t j = 0; j < row; ++j) buffer[j] = src[offset + j * step];
        kernels::exp_f32(buffer.data(), target, buffer.size());
        for (size_t d = ndim - 1; d-- > 0;) {  // the next row's index, odometer-wise
          if (++index[d] < shape[d]) break;
          index[d] = 0;
        }
      }
    });
  }

  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[exp_vectorized] runs on the CPU only");
  }

  std::vector<mx::array> vjp(const std::vector<mx::array>&, const std::vector<mx::array>& cotangents,
                             const std::vector<int>&,
                             const std::vector<mx::array>& outputs) override {
    return {mx::multiply(cotangents[0], outputs[0], stream())};
  }

  std::vector<mx::array> jvp(const std::vector<mx::array>& primals,
                             const std::vector<mx::array>& tangents,
                             const std::vector<int>&) override {
    return {mx::multiply(tangents[0], exp_vectorized(primals[0], stream()), stream())};
  }

  std::pair<std::vector<mx::array>, std::vector<int>> vmap(const std::vector<mx::array>& inputs,
                                                           const std::vector<int>& axes) override {
    return {{exp_vectorized(inputs[0], stream())}, axes};
  }

  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override {
    return {inputs[0].shape()};
  }

  const char* name() const override { return "VectorizedExp"; }

  bool is_equivalent(const mx::Primitive&) const override { return true; }
};

}  // namespace

mx::array exp_vectorized(const mx::array& a, mx::StreamOrDevice s) {
  mx::Stream stream = mx::to_stream(s);
  if (a.dtype() != mx::float32 || stream.device != mx::Device::cpu) {
    return mx::exp(a, stream);
  }
  return mx::array(a.shape(), mx::float32, std::make_shared<VectorizedExp>(stream), {a});
}

}  // namespace mlxc

MLXC_DEFINE_OPS
#include "mlxc/ops/arith.def"
MLXC_END_OPS
