// Argument and result checks for inputs on which MLX itself traps (SIGFPE), writes out of
// bounds, or builds arrays that cannot exist, before any C++ exception is thrown. Each helper
// either throws an exception with an "[op] ..." message, as MLX's own checks do, or builds a
// defined result (NumPy's, where NumPy defines one) from ops that are safe.
#pragma once

#include <sys/resource.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "evaluator.hpp"
#include "mlx/mlx.h"

namespace mx = mlx::core;

namespace mlxc::checks {

inline std::string shape_str(const mx::Shape& shape) {
  std::ostringstream os;
  os << '(';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? "," : "") << shape[i];
  os << ')';
  return os.str();
}

// The most bytes one array may take: MLX's memory limit (mlx::memory::set_memory_limit), and
// the process's address-space limit (ulimit -v) when one is set. MLX's CPU allocator does not
// report a failed allocation: it hands out a null buffer that kernels then write through.
// The address-space limit is read once (a system call per op would cost more than the rest of
// this check).
inline size_t byte_budget() {
  static const size_t address_space = [] {
    rlimit rl{};
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
      return static_cast<size_t>(rl.rlim_cur);
    }
    return SIZE_MAX;
  }();
  return std::min<size_t>(mx::get_memory_limit(), address_space);
}

// Throws unless `bytes` (`factor` times the array's size) fits the budget.
inline void check_bytes(const char* op, const mx::Shape& shape, mx::Dtype dtype, double factor) {
  // Element count, with every overflow caught: a size past 2^63 cannot exist anyway.
  int64_t n = 1;
  for (auto d : shape) {
    if (d < 0) {
      throw std::invalid_argument(std::string("[") + op +
                                  "] the result would have a negative dimension: shape " +
                                  shape_str(shape));
    }
    if (__builtin_mul_overflow(n, static_cast<int64_t>(d), &n)) {
      throw std::invalid_argument(std::string("[") + op + "] out of memory: the result of shape " +
                                  shape_str(shape) + " has more elements than fit in 64 bits");
    }
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(n), static_cast<uint64_t>(dtype.size()),
                             &bytes)) {
    bytes = UINT64_MAX;
  }
  double need = static_cast<double>(bytes) * factor;
  size_t budget = byte_budget();
  if (need > static_cast<double>(budget)) {
    std::ostringstream os;
    os << "[" << op << "] out of memory: the result of shape " << shape_str(shape) << " needs "
       << static_cast<uint64_t>(need) << " bytes, more than the memory limit of " << budget
       << " bytes (see mlx::memory::set_memory_limit)";
    throw std::runtime_error(os.str());
  }
}

// Every result handed out: no negative dimension, no size that overflows, no array larger than
// the memory budget (every array may be materialized by a later op, so a broadcast view that
// large is refused too).
inline const mx::array& check_result(const char* op, const mx::array& a) {
  check_bytes(op, a.shape(), a.dtype(), 1.0);
  return a;
}
inline mx::array check_result(const char* op, mx::array&& a) {
  check_bytes(op, a.shape(), a.dtype(), 1.0);
  return std::move(a);
}
inline std::vector<mx::array> check_result(const char* op, std::vector<mx::array>&& v) {
  for (const auto& a : v) check_result(op, a);
  return std::move(v);
}
inline std::pair<mx::array, mx::array> check_result(const char* op,
                                                    std::pair<mx::array, mx::array>&& p) {
  check_result(op, p.first);
  check_result(op, p.second);
  return std::move(p);
}
inline std::tuple<mx::array, mx::array, mx::array> check_result(
    const char* op, std::tuple<mx::array, mx::array, mx::array>&& t) {
  check_result(op, std::get<0>(t));
  check_result(op, std::get<1>(t));
  check_result(op, std::get<2>(t));
  return std::move(t);
}

// ---- integer division ----------------------------------------------------------------------

// floor_divide, remainder and divmod with the two integer cases that trap in MLX's kernels
// given defined results: x // 0 == 0 and x % 0 == x (what MLX's floor_divide and remainder
// already give for most types; its divmod trapped), and MIN // -1 == MIN, MIN % -1 == 0 (the
// two's-complement wrap NumPy gives). The divisor is replaced by 1 where it is 0 or -1, so no
// kernel ever sees those, and the results are patched with `where`.
struct IntDivision {
  mx::array quotient;
  mx::array remainder;
};

inline std::optional<IntDivision> int_division(const mx::array& a, const mx::array& b,
                                               mx::StreamOrDevice s, bool want_q, bool want_r) {
  auto t = mx::promote_types(a.dtype(), b.dtype());
  if (!mx::issubdtype(t, mx::integer)) return std::nullopt;
  auto x = mx::astype(a, t, s);
  auto y = mx::astype(b, t, s);
  auto zero = mx::zeros({}, t, s);
  auto one = mx::ones({}, t, s);
  auto is_zero = mx::equal(y, zero, s);
  auto bad = is_zero;
  std::optional<mx::array> is_neg_one;
  if (mx::issubdtype(t, mx::signedinteger)) {
    is_neg_one = mx::equal(y, mx::full({}, -1, t, s), s);
    bad = mx::logical_or(is_zero, *is_neg_one, s);
  }
  auto safe_y = mx::where(bad, one, y, s);
  IntDivision out{zero, zero};
  if (want_q) {
    auto q = mx::floor_divide(x, safe_y, s);
    // x // -1 == -x, wrapping for MIN.
    if (is_neg_one) q = mx::where(*is_neg_one, mx::subtract(zero, x, s), q, s);
    out.quotient = mx::where(is_zero, zero, q, s);
  }
  if (want_r) {
    // remainder(x, 1) is 0, which is also x % -1.
    auto r = mx::remainder(x, safe_y, s);
    out.remainder = mx::where(is_zero, x, r, s);
  }
  return out;
}

inline mx::array floor_divide(const mx::array& a, const mx::array& b, mx::StreamOrDevice s) {
  if (auto d = int_division(a, b, s, true, false)) return d->quotient;
  return mx::floor_divide(a, b, s);
}

inline mx::array remainder(const mx::array& a, const mx::array& b, mx::StreamOrDevice s) {
  if (auto d = int_division(a, b, s, false, true)) return d->remainder;
  return mx::remainder(a, b, s);
}

inline std::vector<mx::array> divmod(const mx::array& a, const mx::array& b,
                                     mx::StreamOrDevice s) {
  if (auto d = int_division(a, b, s, true, true)) return {d->quotient, d->remainder};
  return mx::divmod(a, b, s);
}

// ---- empty operands ------------------------------------------------------------------------

// Some kernels divide by an extent of their operands (quantized matmuls, segmented_mm, the
// scatter family) and trap when one is 0, and not every GPU path of MLX's matmul is checked
// for empty operands. When the result or an operand is empty, every value
// of the result is an empty sum (0) or there is none: the result is zeros of the shape MLX
// inferred, and no kernel runs.
inline mx::array zeros_if_empty(mx::array out, std::initializer_list<const mx::array*> operands,
                                mx::StreamOrDevice s) {
  bool empty = out.size() == 0;
  for (const auto* a : operands) empty = empty || (a != nullptr && a->size() == 0);
  if (!empty) return out;
  return mx::zeros(out.shape(), out.dtype(), s);
}

// addmm with an empty inner dimension: `a @ b` is zeros, so the result is `beta * c` broadcast
// to the result's shape. MLX's CPU path computes that, but its CUDA path hands K = 0 to cuBLAS
// without a check (its matmul has one); the answer is spelled out here for every device.
inline mx::array addmm(const mx::array& c, const mx::array& a, const mx::array& b, float alpha,
                       float beta, mx::StreamOrDevice s) {
  auto out = mx::addmm(c, a, b, alpha, beta, s);  // MLX's own checks and result shape
  if (out.size() == 0) return mx::zeros(out.shape(), out.dtype(), s);
  if (a.size() != 0 && b.size() != 0) return out;
  auto scaled = mx::multiply(mx::astype(c, out.dtype(), s), mx::array(beta, out.dtype()), s);
  return mx::broadcast_to(scaled, out.shape(), s);
}

// The scatter family: an empty result is zeros (above); with no updates (or no indices)
// nothing is written and the result is `a` (the kernels divide by the update count).
// MLX's op is built first, so it still validates the arguments.
inline mx::array scatter_result(mx::array out, const mx::array& a,
                                const std::vector<mx::array>& indices, const mx::array& updates,
                                mx::StreamOrDevice s) {
  bool nothing = updates.size() == 0;
  for (const auto& i : indices) nothing = nothing || i.size() == 0;
  if (out.size() > 0 && nothing) return mx::astype(a, out.dtype(), s);
  return zeros_if_empty(std::move(out), {}, s);
}

// masked_scatter from an empty source: the kernel divides by the source's size. Nothing to
// write if the mask selects nothing; otherwise the source is too short, which MLX reports
// (at evaluation) for any other short source.
inline mx::array masked_scatter(const mx::array& a, const mx::array& mask, const mx::array& src,
                                mx::StreamOrDevice s) {
  auto out = mx::masked_scatter(a, mask, src, s);
  if (out.size() == 0) return mx::zeros(out.shape(), out.dtype(), s);
  if (src.size() > 0) return out;
  if (!mask.is_tracer()) {
    auto any = mx::any(mask, false, s);
    eval_array(any);
    if (any.item<bool>()) {
      throw std::invalid_argument(
          "[masked_scatter] the mask selects positions but the source is empty.");
    }
  }
  return mx::astype(a, out.dtype(), s);
}

// segmented_mm: the kernel reads a[..., start:end] and b[start:end, ...] for each row
// (start, end) of `segments` without checking them, nor that the last axis of `segments` is 2.
// Bounds are clamped into [0, K] (with end >= start), as the crate's other indices are made
// safe; an empty operand gives zeros.
inline mx::array segmented_mm(const mx::array& a, const mx::array& b, const mx::array& segments,
                              mx::StreamOrDevice s) {
  if (segments.ndim() == 0 || segments.shape(-1) != 2) {
    throw std::invalid_argument("[segmented_mm] segments must have shape (..., 2), got " +
                                shape_str(segments.shape()) + ".");
  }
  auto unchecked = mx::segmented_mm(a, b, segments, s);  // MLX's own argument checks
  if (!mx::issubdtype(segments.dtype(), mx::integer) || a.ndim() < 1) return unchecked;
  auto t = segments.dtype();
  auto k = mx::array(a.shape(-1), t);
  auto zero = mx::zeros({}, t, s);
  int last = static_cast<int>(segments.ndim()) - 1;
  auto parts = mx::split(segments, 2, last, s);
  auto lo = mx::clip(parts[0], zero, k, s);
  auto hi = mx::maximum(mx::clip(parts[1], zero, k, s), lo, s);
  auto safe = mx::concatenate({lo, hi}, last, s);
  return zeros_if_empty(mx::segmented_mm(a, b, safe, s), {&a, &b, &segments}, s);
}

inline const mx::array* opt_ptr(const std::optional<mx::array>& a) {
  return a ? &*a : nullptr;
}

// ---- argument checks -----------------------------------------------------------------------

inline void positive_group_size(const char* op, std::optional<int> group_size) {
  if (group_size && *group_size <= 0) {
    throw std::invalid_argument(std::string("[") + op + "] group_size must be positive, got " +
                                std::to_string(*group_size) + ".");
  }
}

// The group size of a quantization op, checked: MLX divides by it.
inline std::optional<int> group_size(const char* op, std::optional<int> g) {
  positive_group_size(op, g);
  return g;
}

// An LU factorization of an empty matrix that is not 0x0 (MLX divides by a zero extent; a
// 0x0 matrix is fine).
inline const mx::array& nonempty_matrix(const char* op, const mx::array& a) {
  bool zero_by_zero = a.ndim() >= 2 && a.shape(-1) == 0 && a.shape(-2) == 0;
  if (a.size() == 0 && !zero_by_zero) {
    throw std::invalid_argument(std::string("[") + op +
                                "] empty matrices are not supported, got shape " +
                                shape_str(a.shape()) + ".");
  }
  return a;
}

// The weight of a convolution, checked against its input: MLX divides by a zero channel count
// (SIGFPE) and hands zero kernel or output sizes to BLAS as illegal GEMM arguments. An empty
// batch or empty spatial input is fine and left to MLX.
inline const mx::array& conv_weight(const mx::array& input, const mx::array& weight) {
  if (input.ndim() == 0 || weight.ndim() == 0) return weight;
  bool empty_weight = weight.size() == 0;
  bool no_channels = input.shape(-1) == 0;
  if (empty_weight || no_channels) {
    throw std::invalid_argument(
        "[conv] channel counts and kernel sizes must be positive, got input " +
        shape_str(input.shape()) + " and weight " + shape_str(weight.shape()) + ".");
  }
  return weight;
}

// unflatten: MLX divides by the product of the known sizes to infer a -1, and accepts other
// negative sizes, producing negative dimensions.
inline mx::array unflatten(const mx::array& a, int axis, mx::Shape shape, mx::StreamOrDevice s) {
  int inferred = 0;
  int64_t known = 1;
  for (auto d : shape) {
    if (d == -1) {
      ++inferred;
    } else if (d < 0) {
      throw std::invalid_argument("[unflatten] sizes must be non-negative or -1, got shape " +
                                  shape_str(shape) + ".");
    } else {
      known *= d;
    }
  }
  if (inferred > 1) {
    throw std::invalid_argument("[unflatten] at most one size may be -1, got shape " +
                                shape_str(shape) + ".");
  }
  if (inferred == 1 && known == 0) {
    throw std::invalid_argument("[unflatten] cannot infer the -1 in shape " + shape_str(shape) +
                                " next to a size 0.");
  }
  return mx::unflatten(a, axis, std::move(shape), s);
}

// depends with no inputs has no outputs (MLX dereferences the first input).
inline std::vector<mx::array> depends(const std::vector<mx::array>& inputs,
                                      const std::vector<mx::array>& deps) {
  if (inputs.empty()) return {};
  if (deps.empty()) return inputs;
  return mx::depends(inputs, deps);
}

// diff of an order at least the axis's length is empty (NumPy); MLX would build n graph nodes
// (n = 2^31 - 1 runs out of memory while unwinding, which terminates the process).
inline mx::array diff(const mx::array& a, int n, int axis, mx::StreamOrDevice s) {
  int nd = static_cast<int>(a.ndim());
  if (n <= 0 || nd == 0 || axis < -nd || axis >= nd) return mx::diff(a, n, axis, s);
  int ax = axis < 0 ? axis + nd : axis;
  if (n < a.shape(ax)) return mx::diff(a, n, axis, s);
  mx::Shape start(nd, 0), stop = a.shape();
  stop[ax] = 0;
  auto none = mx::slice(a, start, stop, s);
  // The dtype diff gives (bool diffs with not_equal, everything else subtracts).
  return a.dtype() == mx::bool_ ? mx::not_equal(none, none, s) : mx::subtract(none, none, s);
}

// eig/eigvals: MLX's LAPACK path corrupts the heap on infinite entries; SVD (svd, pinv, the
// matrix 2-norm and nuclear norm) never returns. NumPy refuses non-finite matrices; so does
// this, when the input can be read now. Inside a transform that forbids evaluation the
// non-finite entries become NaN instead, which LAPACK reports as an error.
inline mx::array finite_matrix(const char* op, const mx::array& a, mx::StreamOrDevice s) {
  if (!mx::issubdtype(a.dtype(), mx::floating)) return a;
  auto bad = mx::logical_not(mx::isfinite(a, s), s);
  if (!a.is_tracer()) {
    auto any = mx::any(bad, false, s);
    eval_array(any);
    if (any.item<bool>()) {
      throw std::invalid_argument(std::string("[") + op +
                                  "] the matrix holds infinite or NaN values.");
    }
    return a;
  }
  return mx::where(bad, mx::array(NAN, a.dtype()), a, s);
}

// Whether a norm of `a` over `axes` (all when none) is a matrix norm.
inline bool matrix_norm(const mx::array& a, bool has_axes, size_t n_axes) {
  return has_axes ? n_axes == 2 : a.ndim() == 2;
}

// split into `n` sections: each section is a graph node, and an empty axis splits into any
// number of them, so 2^30 sections would take the process's memory while building.
inline int sections(int n, const mx::array& a, int axis) {
  int nd = static_cast<int>(a.ndim());
  if (n > (1 << 16) && axis >= -nd && axis < nd) {
    int size = a.shape(axis < 0 ? axis + nd : axis);
    if (n > size) {
      throw std::invalid_argument("[split] cannot split an axis of size " +
                                  std::to_string(size) + " into " + std::to_string(n) +
                                  " sections.");
    }
  }
  return n;
}

// pad in "reflect" or "symmetric" mode: MLX mirrors once per step, so a width far past the
// axis length builds one node per reflection (2^20 / 5 of them for a width of 2^20 on a
// length-5 axis). A width that needs more than one reflection is built instead as one take
// of periodic indices, which gives NumPy's result.
inline mx::array pad(const mx::array& a, const std::vector<std::pair<int, int>>& widths,
                     const mx::array& value, const std::string& mode, mx::StreamOrDevice s) {
  bool reflect = mode == "reflect", symmetric = mode == "symmetric";
  if (!(reflect || symmetric) || widths.size() != a.ndim()) {
    return mx::pad(a, widths, value, mode, s);
  }
  bool far = false;
  for (size_t i = 0; i < widths.size(); ++i) {
    int n = a.shape(static_cast<int>(i));
    auto [lo, hi] = widths[i];
    if (lo < 0 || hi < 0) return mx::pad(a, widths, value, mode, s);
    if (n == 0 && (lo > 0 || hi > 0)) {
      // MLX's message, which it only reaches after mirroring the earlier axes.
      throw std::invalid_argument("[pad] Cannot pad empty axis " + std::to_string(i) +
                                  " using mode '" + mode + "'.");
    }
    int reach = reflect ? n - 1 : n;
    far = far || lo > reach || hi > reach;
  }
  if (!far) return mx::pad(a, widths, value, mode, s);
  mx::Shape out_shape = a.shape();
  for (size_t i = 0; i < widths.size(); ++i) {
    int64_t len = int64_t(out_shape[i]) + widths[i].first + widths[i].second;
    if (len > INT32_MAX) {
      throw std::invalid_argument("[pad] the padded axis would be longer than 2^31 - 1.");
    }
    out_shape[i] = static_cast<int>(len);
  }
  check_bytes("pad", out_shape, a.dtype(), 1.0);
  // An empty result needs no indices (which could be far larger than the result).
  if (a.size() == 0) return mx::zeros(out_shape, a.dtype(), s);
  mx::array out = a;
  for (size_t i = 0; i < widths.size(); ++i) {
    auto [lo, hi] = widths[i];
    if (lo == 0 && hi == 0) continue;
    int n = a.shape(static_cast<int>(i));
    int64_t period = reflect ? 2 * int64_t(n) - 2 : 2 * int64_t(n);
    check_bytes("pad", mx::Shape{out_shape[i]}, mx::int64, 1.0);
    auto pos = mx::arange(-double(lo), double(n) + hi, 1.0, mx::int64, s);
    mx::array idx = mx::zeros_like(pos, s);
    if (period > 0) {
      auto j = mx::remainder(pos, mx::array(period, mx::int64), s);
      auto mirrored = mx::subtract(mx::array(reflect ? period : period - 1, mx::int64), j, s);
      idx = mx::where(mx::less(j, mx::array(int64_t(n), mx::int64), s), j, mirrored, s);
    }
    out = mx::take(out, idx, static_cast<int>(i), s);
  }
  return out;
}

// Reads through indices from an axis of length 0 (take_along_axis, gather): every index is out
// of range, and MLX's gather kernels do not check, so they read outside the (empty) data (take
// checks this itself). `axis` may be negative;
// invalid axes are left for MLX to report.
inline const mx::array& readable(const char* op, const mx::array& a, int axis,
                                 const mx::array& indices) {
  int nd = static_cast<int>(a.ndim());
  if (axis < -nd || axis >= nd || indices.size() == 0) return a;
  if (a.shape(axis < 0 ? axis + nd : axis) == 0) {
    throw std::invalid_argument(std::string("[") + op +
                                "] cannot take indices from an axis of length 0.");
  }
  return a;
}

inline const mx::array& readable_axes(const char* op, const mx::array& a,
                                      const std::vector<mx::array>& indices,
                                      const std::vector<int>& axes) {
  for (size_t i = 0; i < axes.size() && i < indices.size(); ++i) {
    readable(op, a, axes[i], indices[i]);
  }
  return a;
}

// tri builds arange(n) and arange(m) whatever the result's size (0 rows of 2^31 - 1 columns
// made an 8 GiB column index).
inline mx::array tri(int n, int m, int k, mx::Dtype dtype, mx::StreamOrDevice s) {
  if ((n == 0 && m >= 0) || (m == 0 && n >= 0)) return mx::zeros({n, m}, dtype, s);
  if (n > 0) check_bytes("tri", mx::Shape{n}, mx::int32, 1.0);
  if (m > 0) check_bytes("tri", mx::Shape{m}, mx::int32, 1.0);
  return mx::tri(n, m, k, dtype, s);
}

// The working set of an FFT: MLX pads (or crops) the input to the transform's size and makes
// complex copies, about twice the result.
inline mx::array fft_result(const char* op, mx::array out) {
  check_bytes(op, out.shape(), out.dtype(), 2.0);
  return out;
}

}  // namespace mlxc::checks
