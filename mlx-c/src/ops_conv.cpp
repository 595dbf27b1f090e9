// Definitions of the op table's conv family (include/mlxc/ops/conv.def), and this library's
// CPU kernels for max pooling and for channel-major convolution.
#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>

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

// The indices `z` in [0, count) for which `z * stride + offset` lies in [0, size), as a range:
// the windows whose tap at `offset` (the tap's position in a window whose start is
// `z * stride - padding`) falls inside an input of `size`, or the taps of a window (offset its
// start, stride the dilation) that do.
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
  // Only taps that can fall inside the input are visited, and nothing when there are no
  // windows, so the work is bounded by the output and the input, never by the parameters alone
  // (a window count of 2^31 - 1 beside a 0 is an empty result, not 2^31 loop turns).
  if (oh == 0 || ow == 0) return;
  // Along the width, tap kx reaches the input from some window iff kx * dilation lies in
  // [padding - (ow - 1) * stride, padding + W).
  const auto [kx0, kx1] = windows_inside(-g.padding[1] + (ow - 1) * g.stride[1], g.dilation[1],
                                         w + (ow - 1) * g.stride[1], g.kernel[1]);
  for (int64_t p = 0; p < planes; ++p) {
    const T* plane = x + (p / shape[1]) * strides[0] + (p % shape[1]) * strides[1];
    for (int64_t y = 0; y < oh; ++y) {
      T* best = best_out + (p * oh + y) * ow;
      int32_t* at = at_out != nullptr ? at_out + (p * oh + y) * ow : nullptr;
      std::fill(best, best + ow, lowest);
      if (at != nullptr) std::fill(at, at + ow, 0);
      // The taps of this row of windows whose input row lies inside the input.
      const auto [ky0, ky1] =
          windows_inside(y * g.stride[0] - g.padding[0], g.dilation[0], h, g.kernel[0]);
      for (int64_t ky = ky0; ky < ky1; ++ky) {
        const int64_t row = y * g.stride[0] - g.padding[0] + ky * g.dilation[0];
        for (int64_t kx = kx0; kx < kx1; ++kx) {
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

// ---- channel-major convolution ------------------------------------------------------------

// The CBLAS `sgemm` of the BLAS that MLX itself links (a system OpenBLAS loaded ahead of it, the
// reference BLAS its wheel bundles, or Accelerate), found at run time so that this library needs
// no BLAS of its own to link.
using Sgemm = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                       const float* a, int lda, const float* b, int ldb, float beta, float* c,
                       int ldc);
constexpr int kRowMajor = 101, kNoTrans = 111;

Sgemm find_sgemm() {
  static const Sgemm sgemm = reinterpret_cast<Sgemm>(dlsym(RTLD_DEFAULT, "cblas_sgemm"));
  return sgemm;
}

// The unfolded input of one product holds at most this many floats (1 MiB), unless a single
// image needs more: one scratch buffer, reused for every block of images. On the digit CNN of
// the `learner` example, blocks of 1, 2 and 4 MiB gave peaks of 120, 120-121 and 123-127 MB at
// the same step times (the benchmark CNN's too, within its noise).
constexpr int64_t kColumnsBlock = int64_t{1} << 18;

// Where the windows of a channel-major convolution lie: per spatial axis the kernel's size, the
// step between windows, the step between a window's taps, the zeros before the input, and the
// number of windows (which fixes the zeros after it).
struct Unfold {
  std::vector<int> kernel, stride, dilation, lo, out;

  bool operator==(const Unfold& o) const {
    return kernel == o.kernel && stride == o.stride && dilation == o.dilation && lo == o.lo &&
           out == o.out;
  }
};

// How a batch is cut for the products: the sizes of one image's columns and the images per
// block.
struct Blocks {
  int64_t taps, positions, rows, images;

  Blocks(const mx::Shape& shape, const Unfold& g) {
    auto product = [](const std::vector<int>& v) {
      return std::accumulate(v.begin(), v.end(), int64_t{1}, std::multiplies<int64_t>());
    };
    taps = product(g.kernel);
    positions = product(g.out);
    rows = shape[1] * taps;
    images = std::clamp<int64_t>(kColumnsBlock / std::max<int64_t>(rows * positions, 1), 1,
                                 std::max<int64_t>(shape[0], 1));
  }

  // Floats of the scratch buffer that holds one block's columns.
  int64_t scratch() const { return images * rows * positions; }
};

// y [O, N, *out] (row-major) = w [O, C * K] times the unfolded x, plus bias [O]. x [N, C, *S] is
// read through its strides. The batch goes a block of images at a time: the block's columns
// [C * K, images * P] are gathered into `columns` (Blocks::scratch() floats) and multiplied
// straight into the block's slice of y (leading dimension N * P).
void conv_channel_major_cpu(const float* x, const mx::Shape& shape, const mx::Strides& strides,
                            const float* w, const float* bias, const Unfold& g,
                            const Blocks& blocks, int64_t outputs, float* columns, float* y) {
  const size_t dims = g.kernel.size();
  const int64_t batch = shape[0], channels = shape[1];
  const int64_t taps = blocks.taps, positions = blocks.positions, rows = blocks.rows;
  const int64_t images = blocks.images;
  if (batch == 0 || positions == 0 || outputs == 0) return;
  const int64_t last = static_cast<int64_t>(dims) - 1;
  const int64_t inner = g.out[last];
  const int64_t inner_step = static_cast<int64_t>(g.stride[last]) * strides[2 + last];
  const int64_t outer = positions / inner;
  const Sgemm sgemm = find_sgemm();

  for (int64_t first = 0; first < batch; first += images) {
    const int64_t count = std::min(images, batch - first);
    const int64_t width = count * positions;  // columns of this block
    // Row c * K + tap of the columns: for each image, the input at every output position's
    // window tap, 0 where the tap falls in the padding.
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t tap = 0; tap < taps; ++tap) {
        std::array<int64_t, 3> k{};  // the tap's position in the kernel, per axis
        for (int64_t j = last, rest = tap; j >= 0; --j) {
          k[j] = rest % g.kernel[j];
          rest /= g.kernel[j];
        }
        // Along the last axis, output z reads input z * stride + tap_start, inside the input
        // for z in [z0, z1).
        const int64_t tap_start = k[last] * g.dilation[last] - g.lo[last];
        const auto [z0, z1] =
            windows_inside(tap_start, g.stride[last], shape[2 + last], g.out[last]);
        float* dst = columns + (c * taps + tap) * width;
        for (int64_t image = 0; image < count; ++image) {
          const float* src = x + (first + image) * strides[0] + c * strides[1];
          for (int64_t o = 0; o < outer; ++o, dst += inner) {
            // The input row of output row `o` (all axes but the last), if inside the input.
            int64_t offset = 0;
            bool inside = true;
            for (int64_t j = last - 1, rest = o; j >= 0; --j) {
              const int64_t at = (rest % g.out[j]) * g.stride[j] + k[j] * g.dilation[j] - g.lo[j];
              inside = inside && at >= 0 && at < shape[2 + j];
              offset += at * strides[2 + j];
              rest /= g.out[j];
            }
            if (!inside || z0 >= z1) {
              std::fill_n(dst, inner, 0.0f);
              continue;
            }
            std::fill_n(dst, z0, 0.0f);
            const float* row = src + offset + (z0 * g.stride[last] + tap_start) * strides[2 + last];
            if (inner_step == 1) {
              std::copy_n(row, z1 - z0, dst + z0);
            } else {
              for (int64_t z = z0; z < z1; ++z) dst[z] = row[(z - z0) * inner_step];
            }
            std::fill_n(dst + z1, inner - z1, 0.0f);
          }
        }
      }
    }
    float* block = y + first * positions;
    const int64_t ldc = batch * positions;
    for (int64_t o = 0; o < outputs; ++o) {
      std::fill_n(block + o * ldc, width, bias != nullptr ? bias[o] : 0.0f);
    }
    // No input channels: the bias (or zeros) is the result; BLAS would reject a leading
    // dimension of 0 (the reference BLAS by ending the process).
    if (rows == 0) continue;
    sgemm(kRowMajor, kNoTrans, kNoTrans, static_cast<int>(outputs), static_cast<int>(width),
          static_cast<int>(rows), 1.0f, w, static_cast<int>(rows), columns,
          static_cast<int>(width), 1.0f, block, static_cast<int>(ldc));
  }
}

// The kernel as an MLX primitive (see WindowMax): inputs x, w [O, C * K] row-contiguous and
// optionally bias [O] contiguous; no gradient in MLX's transforms.
class ConvChannelMajor : public mx::Primitive {
 public:
  ConvChannelMajor(mx::Stream s, Unfold g) : mx::Primitive(s), g_(std::move(g)) {}

  void eval_cpu(const std::vector<mx::array>& inputs, std::vector<mx::array>& outputs) override {
    const mx::array& x = inputs[0];
    const mx::array& w = inputs[1];
    mx::array& y = outputs[0];
    y.set_data(mx::allocator::malloc(y.nbytes()));
    auto& encoder = mx::cpu::get_command_encoder(stream());
    for (const auto& in : inputs) encoder.set_input_array(in);
    encoder.set_output_array(y);
    const float* bias = inputs.size() > 2 ? inputs[2].data<float>() : nullptr;
    // The scratch buffer is allocated here, when MLX schedules the op, so that a failure is an
    // error of the evaluation (a throw inside the task would end the process); the encoder
    // keeps it until the task has run.
    const Blocks blocks(x.shape(), g_);
    const int64_t scratch = blocks.scratch();
    auto data = mx::allocator::malloc(static_cast<size_t>(scratch) * sizeof(float));
    if (scratch > 0 && data.buffer().ptr() == nullptr) {
      throw std::runtime_error("[conv_channel_major] cannot allocate " +
                               std::to_string(scratch * 4) + " bytes of scratch memory");
    }
    mx::array columns(std::move(data),
                      mx::Shape{static_cast<int>(std::min<int64_t>(scratch, INT32_MAX))},
                      mx::float32);
    float* scratch_data = columns.data<float>();
    encoder.add_temporary(std::move(columns));
    encoder.dispatch([src = x.data<float>(), shape = x.shape(), strides = x.strides(),
                      w = w.data<float>(), bias, g = g_, blocks, outputs = int64_t{w.shape(0)},
                      scratch_data, dst = y.data<float>()]() {
      conv_channel_major_cpu(src, shape, strides, w, bias, g, blocks, outputs, scratch_data, dst);
    });
  }

  void eval_gpu(const std::vector<mx::array>&, std::vector<mx::array>&) override {
    throw std::runtime_error("[conv_channel_major] runs on the CPU only");
  }

  const char* name() const override { return "ConvChannelMajor"; }

  bool is_equivalent(const mx::Primitive& other) const override {
    return g_ == static_cast<const ConvChannelMajor&>(other).g_;
  }

 private:
  Unfold g_;
};

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

mx::array conv_channel_major(const mx::array& x, const mx::array& w,
                             const std::optional<mx::array>& bias,
                             const std::vector<int>& stride, const std::vector<int>& padding_lo,
                             const std::vector<int>& padding_hi,
                             const std::vector<int>& dilation, mx::StreamOrDevice s) {
  const char* op = "[conv_channel_major] ";
  const int dims = x.ndim() - 2;
  if (dims < 1 || dims > 3) {
    throw std::invalid_argument(std::string(op) +
                                "expects an input [N, C, *spatial] of 1 to 3 spatial axes, got "
                                "shape " + checks::shape_str(x.shape()));
  }
  if (w.ndim() != x.ndim() || w.shape(1) != x.shape(1)) {
    throw std::invalid_argument(std::string(op) + "a weight of shape " +
                                checks::shape_str(w.shape()) + " does not fit an input of shape " +
                                checks::shape_str(x.shape()) + " (expected [O, C, *kernel])");
  }
  if (x.dtype() != mx::float32 || w.dtype() != mx::float32 ||
      (bias && bias->dtype() != mx::float32)) {
    throw std::invalid_argument(std::string(op) + "takes float32 input, weight and bias");
  }
  if (bias && (bias->ndim() != 1 || bias->shape(0) != w.shape(0))) {
    throw std::invalid_argument(std::string(op) + "a bias of shape " +
                                checks::shape_str(bias->shape()) + " does not fit " +
                                std::to_string(w.shape(0)) + " output channels");
  }
  auto per_axis = [&](const std::vector<int>& v, const char* what, int least) {
    if (v.size() != static_cast<size_t>(dims) ||
        std::any_of(v.begin(), v.end(), [&](int e) { return e < least; })) {
      throw std::invalid_argument(std::string(op) + what + " needs " + std::to_string(dims) +
                                  " values of at least " + std::to_string(least));
    }
  };
  per_axis(stride, "the stride", 1);
  per_axis(dilation, "the dilation", 1);
  per_axis(padding_lo, "the padding before", 0);
  per_axis(padding_hi, "the padding after", 0);
  Unfold g{std::vector<int>(w.shape().begin() + 2, w.shape().end()), stride, dilation,
           padding_lo, {}};
  for (int j = 0; j < dims; ++j) {
    const int64_t span = static_cast<int64_t>(g.kernel[j] - 1) * dilation[j] + 1;
    const int64_t size = static_cast<int64_t>(x.shape(2 + j)) + padding_lo[j] + padding_hi[j];
    if (g.kernel[j] < 1 || span > size) {
      throw std::invalid_argument(std::string(op) + "a kernel spanning " + std::to_string(span) +
                                  " positions does not fit spatial axis " + std::to_string(j) +
                                  " of size " + std::to_string(size) + " (padding included)");
    }
    const int64_t out = (size - span) / stride[j] + 1;
    if (out > INT32_MAX) {
      throw std::invalid_argument(std::string(op) + "axis " + std::to_string(j) + " would have " +
                                  std::to_string(out) + " windows, more than 2^31 - 1");
    }
    g.out.push_back(static_cast<int>(out));
  }
  mx::Stream stream = mx::to_stream(s);
  if (stream.device != mx::Device::cpu) {
    throw std::invalid_argument(std::string(op) + "runs on the CPU only");
  }
  if (find_sgemm() == nullptr) {
    throw std::runtime_error(std::string(op) + "no CBLAS sgemm in the process (MLX links one)");
  }
  mx::Shape shape{w.shape(0), x.shape(0)};
  shape.insert(shape.end(), g.out.begin(), g.out.end());
  checks::check_bytes("conv_channel_major", shape, mx::float32, 1.0);
  // BLAS takes int sizes: a weight row (C * K), an image's positions (P) and the result's row
  // (N * P) must fit. Each factor is below 2^31, so a product checked at every step cannot
  // overflow (an empty product is 0 whatever its other factors).
  auto too_large = [&]() {
    return std::invalid_argument(std::string(op) + "the product's sides exceed 2^31 - 1");
  };
  auto int_sized_product = [&](auto first, auto last) {
    if (std::find(first, last, 0) != last) return int64_t{0};
    int64_t product = 1;
    for (; first != last; ++first) {
      product *= *first;
      if (product > INT32_MAX) throw too_large();
    }
    return product;
  };
  const int64_t rows = int_sized_product(w.shape().begin() + 1, w.shape().end());
  const int64_t positions = int_sized_product(g.out.begin(), g.out.end());
  if (x.shape(0) * positions > INT32_MAX) throw too_large();
  // The scratch buffer of one block of images, allocated when the op is scheduled.
  const Blocks blocks(x.shape(), g);
  checks::check_bytes("conv_channel_major",
                      mx::Shape{static_cast<int>(blocks.images), static_cast<int>(rows),
                                static_cast<int>(positions)},
                      mx::float32, 1.0);
  std::vector<mx::array> inputs{
      x, mx::contiguous(mx::reshape(w, {w.shape(0), static_cast<int>(rows)}, stream), false,
                        stream)};
  if (bias) inputs.push_back(mx::contiguous(*bias, false, stream));
  return mx::array(std::move(shape), mx::float32,
                   std::make_shared<ConvChannelMajor>(stream, std::move(g)), std::move(inputs));
}

}  // namespace mlxc

MLXC_DEFINE_OPS
#include "mlxc/ops/conv.def"
MLXC_END_OPS
