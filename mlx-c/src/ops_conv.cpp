// Definitions of the op table's conv family (include/mlxc/ops/conv.def), and this library's
// CPU kernel for max pooling.
#include <array>
#include <cmath>
#include <limits>

#include "internal.hpp"
#include "mlx/backend/cpu/encoder.h"
#include "mlx/primitives.h"

namespace mlxc {
namespace {

// Where the windows of a 2-d max pooling lie: per spatial axis the window size, the step
// between windows, the padding before the input (read as -inf), the step between a window's
// taps, and the number of windows.
struct Windows {
  std::array<int, 2> kernel, stride, padding, dilation, out;

  bool operator==(const Windows& o) const {
    return kernel == o.kernel && stride == o.stride && padding == o.padding &&
           dilation == o.dilation && out == o.out;
  }
};

// The first window index `z` whose tap at `offset` (the tap's position in a window whose start
// is `z * stride - padding`) lies at or after position 0, and the first past position `size`.
inline std::pair<int64_t, int64_t> windows_inside(int64_t offset, int64_t stride, int64_t size,
                                                   int64_t windows) {
  auto first_at_least = [&](int64_t position) {  // smallest z with z * stride + offset >= position
    int64_t d = position - offset;
    return d <= 0 ? 0 : (d + stride - 1) / stride;
  };
  return {std::min(first_at_least(0), windows), std::min(first_at_least(size), windows)};
}

// One pass over the input: for every window the largest value and, when `at` is given, its flat
// position `h * W + w` in the unpadded input. A value replaces the maximum only when strictly
// greater, so the first maximum wins and NaN (never greater) is passed over; a window with
// nothing above -inf yields -inf at position 0. Reads `x` through its strides; writes
// row-major `[N, C, OH, OW]`.
//
// Taps go in window order (row by row), each over a whole row of windows at once: the inner
// loop is a branch-free select over consecutive outputs (a comparison per element would be
// mispredicted about half the time on real data).
template <typename T>
void window_max(const T* x, mx::Shape shape, mx::Strides strides, const Windows& g, T* best_out,
                int32_t* at_out) {
  const int64_t planes = static_cast<int64_t>(shape[0]) * shape[1];
  const int64_t h = shape[2], w = shape[3], oh = g.out[0], ow = g.out[1];
  const int64_t row_step = strides[2], col_step = strides[3];
  const T lowest = static_cast<T>(-std::numeric_limits<float>::infinity());
  for (int64_t p = 0; p < planes; ++p) {
    const T* plane = x + (p / shape[1]) * strides[0] + (p % shape[1]) * strides[1];
    for (int64_t y = 0; y < oh; ++y) {
      T* best = best_out + (p * oh + y) * ow;
      int32_t* at = at_out != nullptr ? at_out + (p * oh + y) * ow : nullptr;
      std::fill(best, best + ow, lowest);
      if (at != nullptr) std::fill(at, at + ow, 0);
      for (int64_t ky = 0; ky < g.kernel[0]; ++ky) {
        const int64_t row = y * g.stride[0] - g.padding[0] + ky * g.dilation[0];
        if (row < 0 || row >= h) continue;
        for (int64_t kx = 0; kx < g.kernel[1]; ++kx) {
          const int64_t offset = kx * g.dilation[1] - g.padding[1];
          auto [z0, z1] = windows_inside(offset, g.stride[1], w, ow);
          const T* src = plane + row * row_step + (z0 * g.stride[1] + offset) * col_step;
          const int64_t src_step = g.stride[1] * col_step;
          if (at == nullptr) {
            for (int64_t z = z0; z < z1; ++z, src += src_step) {
              const T v = *src;
              best[z] = v > best[z] ? v : best[z];
            }
          } else {
            int32_t position = static_cast<int32_t>(row * w + z0 * g.stride[1] + offset);
            const int32_t position_step = g.stride[1];
            for (int64_t z = z0; z < z1; ++z, src += src_step, position += position_step) {
              const T v = *src;
              const T b = best[z];
              const int32_t take = -static_cast<int32_t>(v > b);  // all ones where greater
              best[z] = v > b ? v : b;
              at[z] ^= (at[z] ^ position) & take;
            }
          }
        }
      }
    }
  }
}

// The kernel as an MLX primitive, so that it takes part in lazy graphs and evaluation like any
// op: outputs are allocated when MLX schedules it, the work runs on the CPU stream's thread.
// It has no gradient (MLX's transforms report that); Burn's autodiff, its user, computes its
// own backward pass from the positions.
class WindowMax : public mx::Primitive {
 public:
  WindowMax(mx::Stream s, Windows g) : mx::Primitive(s), g_(g) {}

  void eval_cpu(const std::vector<mx::array>& inputs, std::vector<mx::array>& outputs) override {
    const mx::array& x = inputs[0];
    for (auto& out : outputs) out.set_data(mx::allocator::malloc(out.nbytes()));
    auto& encoder = mx::cpu::get_command_encoder(stream());
    encoder.set_input_array(x);
    for (auto& out : outputs) encoder.set_output_array(out);
    int32_t* at = outputs.size() > 1 ? outputs[1].data<int32_t>() : nullptr;
    switch (x.dtype()) {
      case mx::float32: return run<float>(encoder, x, outputs[0], at);
      case mx::float64: return run<double>(encoder, x, outputs[0], at);
      case mx::float16: return run<mx::float16_t>(encoder, x, outputs[0], at);
      case mx::bfloat16: return run<mx::bfloat16_t>(encoder, x, outputs[0], at);
      default: throw std::invalid_argument("[window_max_2d] expects a floating-point array");
    }
  }

  void eval_gpu(const std::vector<mx::array>&, std::vector<mx::array>&) override {
    throw std::runtime_error("[window_max_2d] runs on the CPU only");
  }

  const char* name() const override { return "WindowMax2d"; }

  bool is_equivalent(const mx::Primitive& other) const override {
    return g_ == static_cast<const WindowMax&>(other).g_;
  }

 private:
  template <typename T>
  void run(mx::cpu::CommandEncoder& encoder, const mx::array& x, mx::array& best, int32_t* at) {
    encoder.dispatch([src = x.data<T>(), shape = x.shape(), strides = x.strides(), g = g_,
                      dst = best.data<T>(), at]() {
      window_max<T>(src, shape, strides, g, dst, at);
    });
  }

  Windows g_;
};

std::array<int, 2> two(const std::vector<int>& v, const char* what, int least) {
  if (v.size() != 2 || v[0] < least || v[1] < least) {
    throw std::invalid_argument(std::string("[window_max_2d] ") + what + " needs two values of at least " +
                                std::to_string(least));
  }
  return {v[0], v[1]};
}

}  // namespace

std::vector<mx::array> window_max_2d(const mx::array& x, const std::vector<int>& kernel,
                                     const std::vector<int>& stride,
                                     const std::vector<int>& padding,
                                     const std::vector<int>& dilation,
                                     const std::vector<int>& out, bool positions,
                                     mx::StreamOrDevice s) {
  Windows g{two(kernel, "the window size", 1), two(stride, "the stride", 1),
            two(padding, "the padding", 0), two(dilation, "the dilation", 1),
            two(out, "the output size", 0)};
  if (x.ndim() != 4) {
    throw std::invalid_argument("[window_max_2d] expects an [N, C, H, W] array, got shape " +
                                checks::shape_str(x.shape()));
  }
  if (!mx::issubdtype(x.dtype(), mx::floating)) {
    throw std::invalid_argument("[window_max_2d] expects a floating-point array");
  }
  if (positions && static_cast<int64_t>(x.shape(2)) * x.shape(3) > INT32_MAX) {
    throw std::invalid_argument("[window_max_2d] positions of an input plane of " +
                                std::to_string(static_cast<int64_t>(x.shape(2)) * x.shape(3)) +
                                " elements do not fit int32");
  }
  mx::Stream stream = mx::to_stream(s);
  if (stream.device != mx::Device::cpu) {
    throw std::invalid_argument("[window_max_2d] runs on the CPU only");
  }
  mx::Shape shape{x.shape(0), x.shape(1), g.out[0], g.out[1]};
  checks::check_bytes("window_max_2d", shape, x.dtype(), positions ? 2.0 : 1.0);
  std::vector<mx::Shape> shapes{shape};
  std::vector<mx::Dtype> dtypes{x.dtype()};
  if (positions) {
    shapes.push_back(shape);
    dtypes.push_back(mx::int32);
  }
  return mx::array::make_arrays(std::move(shapes), dtypes,
                                std::make_shared<WindowMax>(stream, g), {x});
}

}  // namespace mlxc

MLXC_DEFINE_OPS
#include "mlxc/ops/conv.def"
MLXC_END_OPS
