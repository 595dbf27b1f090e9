// Shared machinery of the C API: handle casts, the error guard, the process-wide lock, and the
// short converters that op-table lines use (A, AV, SH, VI, D, ...).
#pragma once

#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "checks.hpp"
#include "evaluator.hpp"
#include "mlx/mlx.h"
#include "mlxc/mlxc.h"

namespace mx = mlx::core;

struct mlxc_closure_s {
  std::function<std::vector<mx::array>(const std::vector<mx::array>&)> fn;
};

namespace mlxc {

// ---- errors and locking -------------------------------------------------------------------------

void set_error(const char* message);

// One lock for everything that builds or evaluates graphs. MLX does not promise that graph
// construction and evaluation are thread-safe; serializing them makes handles usable from any
// thread. Recursive, because closures run by transforms call back into this library.
std::recursive_mutex& graph_lock();

// Called when an evaluation starts: what was learned about pending graphs (the depth memo of
// `mlxc_array_pending_depth`) may no longer hold.
void note_evaluation();

// A new, computed array holding a copy of `data`, row-major in `shape`.
mx::array array_from_bytes(const void* data, mx::Shape shape, mx::Dtype dtype);

// MLX 0.32 keeps a default stream per thread, and a stream made by `new_stream` can only be
// evaluated on the thread that made it ("There is no Stream(cpu, 1) in current thread"). Ops MLX
// builds on its own (the key split behind a random op without a key, cotangents inside a
// transform) use the calling thread's default stream, so an array made on one thread could not be
// evaluated on another. Every thread that calls into this library therefore gets the same
// process-wide streams, one per device, that any thread may use, as its MLX defaults.
mx::Stream shared_stream(const mx::Device& d);
void pin_thread_streams_slow();
inline void pin_thread_streams() {
  thread_local bool pinned = false;
  if (!pinned) {
    pin_thread_streams_slow();
    pinned = true;
  }
}

// Runs `f` under the graph lock; turns any exception into a status code and a message.
template <class F>
int guard(F&& f) noexcept {
  try {
    std::lock_guard<std::recursive_mutex> lock(graph_lock());
    pin_thread_streams();
    f();
    return 0;
  } catch (const std::exception& e) {
    set_error(e.what());
  } catch (...) {
    set_error("unknown C++ exception");
  }
  return 1;
}

// Same, without the lock: for calls that touch no shared graph state.
template <class F>
int guard_unlocked(F&& f) noexcept {
  try {
    f();
    return 0;
  } catch (const std::exception& e) {
    set_error(e.what());
  } catch (...) {
    set_error("unknown C++ exception");
  }
  return 1;
}

inline void check_out(const void* res) {
  if (res == nullptr) throw std::invalid_argument("[mlxc] null output pointer");
}

// ---- handles ------------------------------------------------------------------------------------

inline mx::array& A(mlxc_array a) {
  if (a == nullptr) throw std::invalid_argument("[mlxc] null array handle");
  return *reinterpret_cast<mx::array*>(a);
}
inline mlxc_array to_handle(mx::array a) {
  return reinterpret_cast<mlxc_array>(new mx::array(std::move(a)));
}
inline std::vector<mx::array>& VA(mlxc_vector_array v) {
  if (v == nullptr) throw std::invalid_argument("[mlxc] null vector handle");
  return *reinterpret_cast<std::vector<mx::array>*>(v);
}
inline mlxc_vector_array to_handle(std::vector<mx::array> v) {
  return reinterpret_cast<mlxc_vector_array>(new std::vector<mx::array>(std::move(v)));
}
inline mlxc_closure_s& C(mlxc_closure c) {
  if (c == nullptr) throw std::invalid_argument("[mlxc] null closure handle");
  return *c;
}

// ---- parameter converters used by the op table --------------------------------------------------

// An optional array: NULL means none.
inline std::optional<mx::array> OA(mlxc_array a) {
  if (a == nullptr) return std::nullopt;
  return A(a);
}
inline std::vector<mx::array> AV(mlxc_arrays v) {
  std::vector<mx::array> out;
  out.reserve(v.len);
  for (size_t i = 0; i < v.len; ++i) out.push_back(A(v.data[i]));
  return out;
}
inline mx::Shape SH(mlxc_ints v) { return mx::Shape(v.data, v.data + v.len); }
inline std::vector<int> VI(mlxc_ints v) { return std::vector<int>(v.data, v.data + v.len); }
inline mx::Strides ST(mlxc_i64s v) { return mx::Strides(v.data, v.data + v.len); }
inline std::vector<float> VF(mlxc_floats v) { return std::vector<float>(v.data, v.data + v.len); }
inline std::optional<int> OI(mlxc_opt_int v) {
  return v.has ? std::optional<int>(v.value) : std::nullopt;
}
inline std::optional<float> OF(mlxc_opt_float v) {
  return v.has ? std::optional<float>(v.value) : std::nullopt;
}

mx::Dtype D(mlxc_dtype d);
mlxc_dtype to_c(mx::Dtype d);
std::optional<mx::Dtype> OD(mlxc_opt_dtype d);
mx::Device to_device(mlxc_device d);
mlxc_device to_c(const mx::Device& d);
mx::Stream to_stream(mlxc_stream s);
mlxc_stream to_c(const mx::Stream& s);
// The stream argument of an op: MLX's default when `s.index < 0`.
mx::StreamOrDevice stream_or_default(mlxc_stream s);

// The input of a reduction. MLX 0.32's CPU reductions of an empty array with non-row-major
// strides (an empty matrix after a transpose, say) can loop without end; an empty array is
// copied to row-major order first, which costs nothing.
inline mx::array RA(mlxc_array a, mx::StreamOrDevice s) {
  return A(a).size() == 0 ? mx::contiguous(A(a), false, s) : A(a);
}

// ---- results ------------------------------------------------------------------------------------

inline void put(mlxc_array* res, mx::array a) { *res = to_handle(std::move(a)); }
inline void put(mlxc_vector_array* res, std::vector<mx::array> v) { *res = to_handle(std::move(v)); }
inline void put(mlxc_vector_array* res, std::pair<mx::array, mx::array> p) {
  put(res, std::vector<mx::array>{std::move(p.first), std::move(p.second)});
}
inline void put(mlxc_vector_array* res, std::tuple<mx::array, mx::array, mx::array> t) {
  put(res, std::vector<mx::array>{std::get<0>(t), std::get<1>(t), std::get<2>(t)});
}

char* copy_string(const std::string& s);

// Wraps a C closure as a C++ function (the payload is freed with the last copy).
std::function<std::vector<mx::array>(const std::vector<mx::array>&)> make_function(
    mlxc_closure_fn fn, void* payload, mlxc_payload_dtor dtor);

}  // namespace mlxc

// Expands the op table into definitions. Used by the src/ops_<family>.cpp files only.
#define MLXC_DEFINE_OPS                                                                     \
  using namespace mlxc;                                                                     \
  extern "C" {
#define MLXC_OP(R, name, params, ...)                                                       \
  int mlxc_##name(mlxc_##R* res, MLXC_PARAMS params, mlxc_stream s) {                       \
    return ::mlxc::guard([&] {                                                              \
      ::mlxc::check_out(res);                                                               \
      [[maybe_unused]] auto S = ::mlxc::stream_or_default(s);                               \
      ::mlxc::put(res, ::mlxc::checks::check_result(#name, __VA_ARGS__));                 \
    });                                                                                     \
  }
#define MLXC_END_OPS }
