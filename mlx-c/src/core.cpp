// The hand-written part of the C API: errors, arrays, vectors, devices, streams, memory.
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <sstream>
#include <unordered_map>

#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#endif

#include "mlx/graph_utils.h"
#include "mlx/scheduler.h"

#include "internal.hpp"

namespace {
// `MLXC_MALLOC_DEFAULTS=1`: leave the process's memory settings (glibc's malloc, MLX's CPU buffer
// cache) as they come.
bool memory_defaults_kept() {
  const char* keep = std::getenv("MLXC_MALLOC_DEFAULTS");
  return keep != nullptr && keep[0] == '1';
}
}  // namespace

#if defined(MLXC_WITH_OPENBLAS)
#include <dlfcn.h>
#include <strings.h>

extern "C" char* openblas_get_config(void);

namespace {
// A use of OpenBLAS from a section the linker always keeps (a static initializer): linkers
// record a library as needed only if kept code uses it (`--as-needed` with `--gc-sections`, the
// Rust default on Linux), and MLX's BLAS calls resolve to OpenBLAS only when the executable
// itself needs it ahead of libmlx.
[[maybe_unused]] const char* const openblas_config = openblas_get_config();

// OpenBLAS built for many CPUs (DYNAMIC_ARCH, as distributions ship it) picks its kernels when it
// loads, from the CPU's family and model, and falls back to its slowest, Prescott (SSE3), for a
// model it does not know: Debian 12's OpenBLAS 0.3.21 does that on Intel's Sapphire and Emerald
// Rapids, where a 1024x1024 f32 matmul then takes 35 ms on 2 cores instead of 8-11 ms with its
// AVX-512 kernels. When OpenBLAS fell back so and the CPU has AVX-512 (or AVX2 and FMA), the
// matching kernels are chosen again, through OpenBLAS's own selection by OPENBLAS_CORETYPE. The
// variable is left set, so that programs this process starts with the same OpenBLAS choose the
// same kernels. A core type the user set is left as it is, as is an OpenBLAS without the
// functions looked up here.
bool choose_openblas_kernels_for_this_cpu() {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return false;
  auto core_name = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "gotoblas_corename"));
  auto init = reinterpret_cast<void (*)()>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init"));
  auto quit = reinterpret_cast<void (*)()>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit"));
  if (core_name == nullptr || init == nullptr || quit == nullptr) return false;
  if (strcasecmp(core_name(), "Prescott") != 0) return false;
#if defined(__x86_64__)
  __builtin_cpu_init();
  const char* core = nullptr;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512cd")) {
    core = "SkylakeX";
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    core = "Haswell";
  }
  if (core == nullptr) return false;
  setenv("OPENBLAS_CORETYPE", core, 0);
  quit();  // forgets the kernels chosen, so that `init` chooses again
  init();
  return true;
#else
  return false;
#endif
}
[[maybe_unused]] const bool openblas_kernels_chosen = choose_openblas_kernels_for_this_cpu();

// OpenBLAS's worker threads spin (calling sched_yield) for 2^28 cycles after each parallel call
// before they sleep. A training step calls BLAS every millisecond or so, so they never sleep:
// on 2 cores they took a core from MLX's own threads (a Learner run on the digit CNN spent 6 of
// its 16 CPU seconds in the kernel, 330,000 sched_yield calls; 9.1 s in all, 7.0 s with the
// workers sleeping at once, and matmuls no slower). OpenBLAS reads its thread timeout from the
// environment when it loads, before this library, so the setting is read again and the
// threads restarted (OpenBLAS starts them again at its next parallel call). Both functions are
// looked up at run time: an OpenBLAS without them (an OpenMP build, say) is left as it is, as is
// one whose timeout the user set with OPENBLAS_THREAD_TIMEOUT.
bool shorten_openblas_spin() {
  if (std::getenv("OPENBLAS_THREAD_TIMEOUT") != nullptr) return false;
  auto read_env = reinterpret_cast<void (*)()>(dlsym(RTLD_DEFAULT, "openblas_read_env"));
  auto shutdown = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "blas_thread_shutdown_"));
  if (read_env == nullptr || shutdown == nullptr) return false;
  setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);  // 2^4 cycles: the shortest OpenBLAS accepts
  read_env();
  unsetenv("OPENBLAS_THREAD_TIMEOUT");
  shutdown();
  return true;
}
[[maybe_unused]] const bool openblas_spin_shortened = shorten_openblas_spin();
}  // namespace
#endif

#if defined(__GLIBC__)
#include <malloc.h>

namespace {
// MLX's CPU buffers come from malloc, and glibc's defaults suit them badly in two ways:
// - Thresholds. glibc serves blocks above its mmap threshold with fresh mappings and returns the
//   free top of a heap to the system past its trim threshold; with MLX's mix of sizes and
//   threads its adaptive thresholds do not keep up, so a training step maps, faults in and
//   unmaps the same megabytes again and again (Transformer training on 2 cores took 1.7 times
//   the page faults, and seconds of system time). Fixed thresholds serve those blocks from the
//   heap, with the same peak RSS: 64 MiB for mapping (above glibc's adaptive maximum of 32 MiB,
//   which a buffer of 8M floats plus malloc's header just passes: `exp(x)*2+1` over 8M floats
//   took 118 ms with it, 100 ms without the faults), and 64 MiB kept at a heap's top.
// - Arenas. MLX allocates a result on the thread that evaluates it, and glibc gives each
//   allocating thread a heap of its own that keeps what is freed into it; a program that
//   evaluates on several threads (burn-train's Learner: its training thread, its validation
//   pass, its data-loading workers) holds the same freed megabytes once per thread. One heap
//   for the process took a Learner run from 280 to about 200 MB of peak RSS, and made it faster.
// `MLXC_MALLOC_DEFAULTS=1` leaves glibc's settings alone, as do a threshold or an arena count
// set through GLIBC_TUNABLES or MALLOC_ARENA_MAX (for that setting).
bool set_by_user(const char* tunable, const char* variable) {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return (tunables != nullptr && std::strstr(tunables, tunable) != nullptr) ||
         (variable != nullptr && std::getenv(variable) != nullptr);
}

bool tune_malloc() {
  if (memory_defaults_kept()) return false;
  bool tuned = true;
  if (!set_by_user("mmap_threshold", nullptr) && !set_by_user("trim_threshold", nullptr)) {
    tuned = mallopt(M_MMAP_THRESHOLD, 64 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 64 << 20) == 1;
  }
  if (!set_by_user("arena_max", "MALLOC_ARENA_MAX")) {
    tuned = mallopt(M_ARENA_MAX, 1) == 1 && tuned;
  }
  return tuned;
}
[[maybe_unused]] const bool malloc_tuned = tune_malloc();
}  // namespace
#endif

namespace mlxc {

namespace {
thread_local std::string last_error;
}

void set_error(const char* message) { last_error = message ? message : ""; }

std::recursive_mutex& graph_lock() {
  static std::recursive_mutex m;
  return m;
}

namespace {
// Subnormal floats (below 2^-126 in f32) cost x86 and Arm cores a slow path, often a hundred
// times an ordinary operation, and training produces them: Adam's moments of a parameter whose
// gradient has fallen to zero decay geometrically into that range and stay there for thousands
// of steps (0.999 a step for the second moment). An MLP trained for 5,000 steps on 2 CPU cores
// went from 3.2 to 18 ms a step, 50% of it in MLX's multiply and divide on such values. The CPU
// threads that evaluate this library's streams therefore flush subnormals to zero (FTZ and DAZ
// on x86, FZ on Arm), as XLA does on CPUs; GPUs are left as they are. `MLXC_KEEP_SUBNORMALS=1`
// or `mlxc_set_cpu_flush_subnormals` keeps them, for IEEE results down to the last bit.
std::atomic<bool> flush_subnormals{[] {
  const char* keep = std::getenv("MLXC_KEEP_SUBNORMALS");
  return keep == nullptr || keep[0] != '1';
}()};

// The CPU streams made here, whose threads follow the setting. Under the graph lock.
std::vector<mx::Stream>& cpu_streams() {
  static std::vector<mx::Stream> streams;
  return streams;
}

void set_calling_thread_flush(bool on) {
#if defined(__x86_64__) || defined(_M_X64)
  constexpr unsigned ftz_and_daz = (1u << 15) | (1u << 6);
  unsigned csr = _mm_getcsr();
  _mm_setcsr(on ? (csr | ftz_and_daz) : (csr & ~ftz_and_daz));
#elif defined(__aarch64__)
  constexpr uint64_t fz = uint64_t{1} << 24;
  uint64_t fpcr;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
  fpcr = on ? (fpcr | fz) : (fpcr & ~fz);
  __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr));
#else
  (void)on;
#endif
}

// Work runs on a stream's thread in the order it was submitted, so the setting holds for
// everything evaluated after this.
void apply_flush_setting(const mx::Stream& s) {
  bool on = flush_subnormals.load();
  mx::scheduler::enqueue(s, [on] { set_calling_thread_flush(on); });
}

mx::Stream follow_flush_setting(mx::Stream s) {
  if (s.device.type == mx::Device::cpu) {
    cpu_streams().push_back(s);
    apply_flush_setting(s);
  }
  return s;
}
}  // namespace

mx::Stream shared_stream(const mx::Device& d) {
  // Called under the graph lock. Streams live as long as the process, as MLX's own do.
  static std::vector<std::pair<mx::Device, mx::Stream>> streams;
  for (const auto& [device, stream] : streams) {
    if (device == d) return stream;
  }
  auto stream = follow_flush_setting(mx::new_thread_unsafe_stream(d));
  streams.emplace_back(d, stream);
  return stream;
}

namespace {
// Without a GPU, MLX's buffers come from malloc, and MLX keeps freed ones in a cache of its own
// before malloc keeps them again: the same memory held twice (about 30 MB of a Learner run's
// peak). Its cache limit is set to 0 there, so freed buffers go straight back to malloc, which
// reuses them as quickly (same step times on 2 cores). With a GPU the cache stays: there it
// spares device allocations, which are slow. `MLXC_MALLOC_DEFAULTS=1` keeps it too, and
// `mlxc_memory_set_cache_limit` sets another limit.
bool has_gpu_else_uncache() {
  bool gpu = mx::is_available(mx::Device(mx::Device::gpu));
  if (!gpu && !memory_defaults_kept()) mx::set_cache_limit(0);
  return gpu;
}
}  // namespace

void pin_thread_streams_slow() {
  static const bool has_gpu = has_gpu_else_uncache();
  mx::set_default_stream(shared_stream(mx::Device(mx::Device::cpu)));
  if (has_gpu) mx::set_default_stream(shared_stream(mx::Device(mx::Device::gpu)));
}

mx::Dtype D(mlxc_dtype d) {
  switch (d) {
    case MLXC_BOOL: return mx::bool_;
    case MLXC_UINT8: return mx::uint8;
    case MLXC_UINT16: return mx::uint16;
    case MLXC_UINT32: return mx::uint32;
    case MLXC_UINT64: return mx::uint64;
    case MLXC_INT8: return mx::int8;
    case MLXC_INT16: return mx::int16;
    case MLXC_INT32: return mx::int32;
    case MLXC_INT64: return mx::int64;
    case MLXC_FLOAT16: return mx::float16;
    case MLXC_FLOAT32: return mx::float32;
    case MLXC_FLOAT64: return mx::float64;
    case MLXC_BFLOAT16: return mx::bfloat16;
    case MLXC_COMPLEX64: return mx::complex64;
  }
  throw std::invalid_argument("[mlxc] unknown dtype code " + std::to_string(static_cast<int>(d)));
}

mlxc_dtype to_c(mx::Dtype d) {
  // Both enums follow MLX's order (checked below).
  return static_cast<mlxc_dtype>(static_cast<int>(d.val()));
}
static_assert(static_cast<int>(mx::Dtype::Val::complex64) == MLXC_COMPLEX64);
static_assert(static_cast<int>(mx::Dtype::Val::bfloat16) == MLXC_BFLOAT16);
static_assert(static_cast<int>(mx::Dtype::Val::int64) == MLXC_INT64);

std::optional<mx::Dtype> OD(mlxc_opt_dtype d) {
  return d.has ? std::optional<mx::Dtype>(D(d.value)) : std::nullopt;
}

mx::Device to_device(mlxc_device d) {
  switch (d.type) {
    case MLXC_CPU: return mx::Device(mx::Device::cpu, d.index);
    case MLXC_GPU: return mx::Device(mx::Device::gpu, d.index);
  }
  throw std::invalid_argument("[mlxc] unknown device type");
}

mlxc_device to_c(const mx::Device& d) {
  return mlxc_device{d.type == mx::Device::cpu ? MLXC_CPU : MLXC_GPU, d.index};
}

mx::Stream to_stream(mlxc_stream s) {
  if (s.index < 0) return shared_stream(mx::default_device());
  return mx::Stream(s.index, to_device(s.device));
}

mlxc_stream to_c(const mx::Stream& s) { return mlxc_stream{s.index, to_c(s.device)}; }

mx::StreamOrDevice stream_or_default(mlxc_stream s) {
  if (s.index < 0) return {};
  return to_stream(s);
}

char* copy_string(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out == nullptr) throw std::bad_alloc();
  std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

}  // namespace mlxc

using namespace mlxc;

namespace {
// The pending depths found by earlier walks, valid until the next evaluation: a program that
// asks for the depth of each new result (burn-mlx does, near its depth bound) would otherwise
// walk the same pending graph again for every op, quadratic in the graph's size. Entries hold
// weak references, so that they neither keep nodes alive nor count as holders of them (the
// region tracer counts holders), and an address reused by a new node is not mistaken for the
// old one.
struct DepthMemo {
  std::mutex mutex;
  uint64_t epoch = 0;
  std::unordered_map<uintptr_t, std::pair<std::weak_ptr<void>, uint32_t>> depth;
};
DepthMemo& depth_memo() {
  static DepthMemo m;
  return m;
}
std::atomic<uint64_t> evaluations{1};

std::weak_ptr<void> weak_node(const mx::array& a) {
  // An mx::array is exactly one shared pointer to its node (see regions.cpp).
  static_assert(sizeof(mx::array) == sizeof(std::shared_ptr<void>));
  return reinterpret_cast<const std::shared_ptr<void>&>(a);
}
}  // namespace

namespace mlxc {
void note_evaluation() {
  evaluations.fetch_add(1, std::memory_order_relaxed);
  // Dropped now rather than at the next walk: the weak references keep the memory of dead
  // nodes (allocated with their control blocks) until then.
  DepthMemo& memo = depth_memo();
  std::lock_guard<std::mutex> lock(memo.mutex);
  memo.depth.clear();
}

mx::array array_from_bytes(const void* data, mx::Shape shape, mx::Dtype dtype) {
  size_t bytes = dtype.size();
  for (auto d : shape) bytes *= static_cast<size_t>(d);
  // An MLX buffer of the array's own: it owns its data from here on.
  auto storage = mx::allocator::malloc(bytes);
  if (bytes > 0) {
    auto buffer = storage.buffer();
    std::memcpy(buffer.raw_ptr(), data, bytes);
  }
  return mx::array(std::move(storage), std::move(shape), dtype);
}
}  // namespace mlxc

extern "C" {

// ---- errors and library information -------------------------------------------------------------

const char* mlxc_last_error(void) { return last_error.c_str(); }
void mlxc_set_error(const char* message) { set_error(message); }
const char* mlxc_mlx_version(void) { return mx::version(); }
void mlxc_string_free(char* s) { std::free(s); }

int mlxc_blas_info(char** res) {
  return guard_unlocked([&] {
    check_out(res);
#if defined(MLXC_WITH_OPENBLAS)
    *res = copy_string(std::string("OpenBLAS (system, linked ahead of libmlx): ") +
                       openblas_get_config());
#elif defined(__APPLE__)
    *res = copy_string("Accelerate (macOS)");
#else
    *res = copy_string("the reference BLAS bundled with libmlx (slow; install OpenBLAS)");
#endif
  });
}

// ---- arrays -------------------------------------------------------------------------------------

int mlxc_array_from_data(mlxc_array* res, const void* data, mlxc_ints shape, mlxc_dtype dtype) {
  return guard([&] {
    check_out(res);
    mx::Shape sh = SH(shape);
    mx::Dtype dt = D(dtype);
    size_t n = 1;
    for (auto d : sh) {
      if (d < 0) throw std::invalid_argument("[array] negative dimension in shape");
      n *= static_cast<size_t>(d);
    }
    if (data == nullptr && n > 0) throw std::invalid_argument("[array] null data pointer");
    put(res, array_from_bytes(data, std::move(sh), dt));
  });
}

// Copying and freeing handles take the graph lock: MLX's array destructor reads use_count()
// and edits the descriptors of sibling outputs and of inputs, so a handle freed (or copied,
// which changes that count) on one thread while another builds or evaluates a graph sharing
// those nodes would race.
int mlxc_array_copy(mlxc_array* res, mlxc_array a) {
  return guard([&] {
    check_out(res);
    *res = to_handle(A(a));
  });
}

void mlxc_array_free(mlxc_array a) {
  if (a == nullptr) return;
  std::lock_guard<std::recursive_mutex> lock(graph_lock());
  delete reinterpret_cast<mx::array*>(a);
}

size_t mlxc_array_ndim(mlxc_array a) { return a ? A(a).ndim() : 0; }
const int32_t* mlxc_array_shape(mlxc_array a) { return a ? A(a).shape().data() : nullptr; }
size_t mlxc_array_size(mlxc_array a) { return a ? A(a).size() : 0; }
size_t mlxc_array_itemsize(mlxc_array a) { return a ? A(a).itemsize() : 0; }
size_t mlxc_array_nbytes(mlxc_array a) { return a ? A(a).nbytes() : 0; }
mlxc_dtype mlxc_array_dtype(mlxc_array a) { return a ? to_c(A(a).dtype()) : MLXC_BOOL; }
uintptr_t mlxc_array_id(mlxc_array a) { return a ? A(a).id() : 0; }

int mlxc_promote_types(mlxc_dtype* res, mlxc_dtype a, mlxc_dtype b) {
  return guard([&] {
    check_out(res);
    *res = to_c(mx::promote_types(D(a), D(b)));
  });
}

int mlxc_array_status(mlxc_status* res, mlxc_array a) {
  return guard([&] {
    check_out(res);
    auto& arr = A(a);
    if (arr.status() == mx::array::Status::unscheduled) {
      *res = MLXC_UNSCHEDULED;
    } else {
      *res = arr.is_available() ? MLXC_AVAILABLE : MLXC_EVALUATED;
    }
  });
}

int mlxc_array_pending_depth(uint32_t* res, mlxc_array a, uint32_t cap) {
  return guard([&] {
    check_out(res);
    // Longest chain of not-yet-scheduled nodes ending at `a`, by an iterative depth-first walk
    // with each node's depth remembered (across calls until the next evaluation); a chain
    // reaching `cap` ends the walk.
    DepthMemo& memo = depth_memo();
    std::lock_guard<std::mutex> lock(memo.mutex);
    uint64_t now = evaluations.load(std::memory_order_relaxed);
    if (memo.epoch != now) {
      memo.depth.clear();
      memo.epoch = now;
    }
    auto known = [&](const mx::array& x) -> const uint32_t* {
      auto it = memo.depth.find(x.id());
      if (it == memo.depth.end()) return nullptr;
      if (it->second.first.expired()) {
        memo.depth.erase(it);
        return nullptr;
      }
      return &it->second.second;
    };
    auto pending = [](const mx::array& x) {
      return x.status() == mx::array::Status::unscheduled;
    };
    std::vector<std::pair<mx::array, size_t>> stack;
    uint32_t result = 0;
    if (pending(A(a))) {
      if (const uint32_t* d = known(A(a))) {
        *res = std::min(*d, cap);
        return;
      }
      stack.emplace_back(A(a), 0);
    }
    while (!stack.empty() && result < cap) {
      auto& [x, next] = stack.back();
      if (next < x.inputs().size()) {
        const mx::array& in = x.inputs()[next++];
        if (pending(in) && !known(in)) stack.emplace_back(in, 0);
        continue;
      }
      uint32_t d = 1;
      for (const auto& in : x.inputs()) {
        if (const uint32_t* k = pending(in) ? known(in) : nullptr) d = std::max(d, *k + 1);
      }
      memo.depth[x.id()] = {weak_node(x), d};
      result = std::max(result, d + static_cast<uint32_t>(stack.size()) - 1);
      stack.pop_back();
    }
    *res = std::min(result, cap);
  });
}

int mlxc_eval(mlxc_arrays arrays) {
  return guard([&] {
    note_evaluation();
    eval_arrays(AV(arrays));
  });
}
int mlxc_async_eval(mlxc_arrays arrays) {
  return guard([&] {
    note_evaluation();
    eval_arrays(AV(arrays), /*async=*/true);
  });
}

int mlxc_export_to_dot(char** res, mlxc_arrays arrays) {
  return guard([&] {
    check_out(res);
    std::ostringstream os;
    mx::export_to_dot(os, AV(arrays));
    *res = copy_string(os.str());
  });
}

namespace {
// Row-major without gaps: the host can read `size()` elements from `data()`.
bool row_major_without_gaps(const mx::array& arr) {
  return arr.flags().row_contiguous && arr.data_size() == arr.size();
}

// MLX's CUDA backend allocates results in device memory and, the first time the host reads a
// buffer, moves all of it to unified memory: reading a one-element slice of a 256 MB result
// moved 256 MB, a copy and an allocation the size of the parent on every such read. A view much
// smaller than its buffer is read through a compact copy instead (MLX's contiguous copies a
// view smaller than its buffer). On the CPU and on Apple silicon the host reads the buffer where
// it is, so nothing is gained there.
bool device_memory_is_separate() { return on_cuda(); }

// The slack MLX itself allows before its contiguous copies a row-contiguous view.
constexpr size_t view_slack_bytes = 16384;
}  // namespace

int mlxc_array_is_row_contiguous(bool* res, mlxc_array a) {
  return guard([&] {
    check_out(res);
    auto& arr = A(a);
    eval_array(arr);
    *res = row_major_without_gaps(arr);
  });
}

int mlxc_array_reads_in_place(bool* res, mlxc_array a) {
  return guard([&] {
    check_out(res);
    auto& arr = A(a);
    eval_array(arr);
    *res = row_major_without_gaps(arr) &&
           (!device_memory_is_separate() || arr.buffer_size() <= arr.nbytes() + view_slack_bytes);
  });
}

int mlxc_array_data(const void** res, mlxc_array a) {
  return guard([&] {
    check_out(res);
    auto& arr = A(a);
    eval_array(arr);
    if (!row_major_without_gaps(arr)) {
      throw std::invalid_argument(
          "[array] data is not row-contiguous; make a contiguous copy first");
    }
    *res = arr.data<void>();
  });
}

int mlxc_array_tostring(char** res, mlxc_array a) {
  return guard([&] {
    check_out(res);
    std::ostringstream os;
    auto& arr = A(a);
    eval_array(arr);
    os << arr;
    *res = copy_string(os.str());
  });
}

// ---- vectors ------------------------------------------------------------------------------------

int mlxc_vector_array_new(mlxc_vector_array* res) {
  return guard_unlocked([&] {
    check_out(res);
    *res = to_handle(std::vector<mx::array>{});
  });
}
void mlxc_vector_array_free(mlxc_vector_array v) {
  if (v == nullptr) return;
  std::lock_guard<std::recursive_mutex> lock(graph_lock());
  delete reinterpret_cast<std::vector<mx::array>*>(v);
}
size_t mlxc_vector_array_size(mlxc_vector_array v) { return v ? VA(v).size() : 0; }
int mlxc_vector_array_get(mlxc_array* res, mlxc_vector_array v, size_t i) {
  return guard([&] {
    check_out(res);
    *res = to_handle(VA(v).at(i));
  });
}
int mlxc_vector_array_push(mlxc_vector_array v, mlxc_array a) {
  return guard([&] { VA(v).push_back(A(a)); });
}

// ---- devices and streams ------------------------------------------------------------------------

int mlxc_default_device(mlxc_device* res) {
  return guard([&] {
    check_out(res);
    *res = to_c(mx::default_device());
  });
}
int mlxc_set_default_device(mlxc_device d) {
  return guard([&] { mx::set_default_device(to_device(d)); });
}
int mlxc_device_is_available(bool* res, mlxc_device d) {
  return guard([&] {
    check_out(res);
    *res = mx::is_available(to_device(d));
  });
}
int mlxc_device_count(int32_t* res, mlxc_device_type type) {
  return guard([&] {
    check_out(res);
    *res = mx::device_count(type == MLXC_CPU ? mx::Device::cpu : mx::Device::gpu);
  });
}
mlxc_gpu_backend mlxc_gpu_backend_kind(void) {
  try {
    if (mx::metal::is_available()) return MLXC_GPU_METAL;
    if (mx::cu::is_available()) return MLXC_GPU_CUDA;
  } catch (...) {
  }
  return MLXC_GPU_NONE;
}
int mlxc_device_info(char** res, mlxc_device d) {
  return guard([&] {
    check_out(res);
    std::ostringstream os;
    for (const auto& [key, value] : mx::device_info(to_device(d))) {
      os << key << '=';
      std::visit([&](const auto& v) { os << v; }, value);
      os << '\n';
    }
    *res = copy_string(os.str());
  });
}
int mlxc_default_stream(mlxc_stream* res, mlxc_device d) {
  return guard([&] {
    check_out(res);
    *res = to_c(shared_stream(to_device(d)));
  });
}
int mlxc_set_default_stream(mlxc_stream s) {
  return guard([&] { mx::set_default_stream(to_stream(s)); });
}
int mlxc_new_stream(mlxc_stream* res, mlxc_device d, bool any_thread) {
  return guard([&] {
    check_out(res);
    auto device = to_device(d);
    *res = to_c(follow_flush_setting(any_thread ? mx::new_thread_unsafe_stream(device)
                                                : mx::new_stream(device)));
  });
}
int mlxc_cpu_flush_subnormals(bool* res) {
  return guard([&] { check_out(res); *res = flush_subnormals.load(); });
}
int mlxc_set_cpu_flush_subnormals(bool* prev, bool on) {
  return guard([&] {
    check_out(prev);
    *prev = flush_subnormals.exchange(on);
    for (const auto& s : cpu_streams()) apply_flush_setting(s);
  });
}
int mlxc_synchronize(mlxc_stream s) {
  return guard([&] {
    if (s.index < 0) {
      mx::synchronize();
    } else {
      mx::synchronize(to_stream(s));
    }
  });
}

// ---- memory -------------------------------------------------------------------------------------

int mlxc_memory_active(size_t* res) {
  return guard([&] { check_out(res); *res = mx::get_active_memory(); });
}
int mlxc_memory_peak(size_t* res) {
  return guard([&] { check_out(res); *res = mx::get_peak_memory(); });
}
int mlxc_memory_reset_peak(void) { return guard([&] { mx::reset_peak_memory(); }); }
int mlxc_memory_cache(size_t* res) {
  return guard([&] { check_out(res); *res = mx::get_cache_memory(); });
}
int mlxc_memory_clear_cache(void) { return guard([&] { mx::clear_cache(); }); }
int mlxc_memory_limit(size_t* res) {
  return guard([&] { check_out(res); *res = mx::get_memory_limit(); });
}
int mlxc_memory_set_limit(size_t* prev, size_t limit) {
  return guard([&] { check_out(prev); *prev = mx::set_memory_limit(limit); });
}
int mlxc_memory_set_cache_limit(size_t* prev, size_t limit) {
  return guard([&] { check_out(prev); *prev = mx::set_cache_limit(limit); });
}
int mlxc_memory_set_wired_limit(size_t* prev, size_t limit) {
  return guard([&] { check_out(prev); *prev = mx::set_wired_limit(limit); });
}

}  // extern "C"
