/*
 * mlxc: a C API over MLX's C++ API.
 *
 * Conventions
 * - Handles (`mlxc_array`, `mlxc_vector_array`, `mlxc_closure`) own a heap C++ object and are
 *   released with their `*_free` function. A NULL handle means "none" where a parameter is optional.
 * - Every fallible function returns 0 on success and non-zero on failure, and writes its results
 *   through out-parameters. After a failure, `mlxc_last_error()` holds the message (per thread).
 * - No C++ exception ever leaves this library.
 * - Functions that build or evaluate graphs are serialized by one process-wide recursive lock, so
 *   handles may be used from several threads. Freeing, copying and reading metadata take no lock.
 * - Ops are declared from one table (ops/NAME.def) through the MLXC_OP X-macro: see mlxc_ops.h.
 */
#ifndef MLXC_H
#define MLXC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Types
 * ------------------------------------------------------------------------------------------- */

/** An MLX array (a node of the lazy graph). */
typedef struct mlxc_array_s* mlxc_array;
/** A growable list of arrays. */
typedef struct mlxc_vector_array_s* mlxc_vector_array;
/** A function from a list of arrays to a list of arrays (see "Closures"). */
typedef struct mlxc_closure_s* mlxc_closure;
/** A group of processes that communicate (see "Distributed"). */
typedef struct mlxc_group_s* mlxc_group;

/** Element types, in MLX's order. */
typedef enum mlxc_dtype {
  MLXC_BOOL = 0,
  MLXC_UINT8,
  MLXC_UINT16,
  MLXC_UINT32,
  MLXC_UINT64,
  MLXC_INT8,
  MLXC_INT16,
  MLXC_INT32,
  MLXC_INT64,
  MLXC_FLOAT16,
  MLXC_FLOAT32,
  MLXC_FLOAT64,
  MLXC_BFLOAT16,
  MLXC_COMPLEX64,
} mlxc_dtype;

typedef enum mlxc_device_type { MLXC_CPU = 0, MLXC_GPU = 1 } mlxc_device_type;

/** Which GPU backend this MLX was built with. */
typedef enum mlxc_gpu_backend {
  MLXC_GPU_NONE = 0,
  MLXC_GPU_METAL = 1,
  MLXC_GPU_CUDA = 2,
} mlxc_gpu_backend;

typedef struct mlxc_device {
  mlxc_device_type type;
  int32_t index;
} mlxc_device;

/** A stream of a device. Passed to ops: `index < 0` means MLX's default stream. */
typedef struct mlxc_stream {
  int32_t index;
  mlxc_device device;
} mlxc_stream;

/** Evaluation state of an array. */
typedef enum mlxc_status {
  MLXC_UNSCHEDULED = 0, /* nothing computed yet */
  MLXC_EVALUATED = 1,   /* scheduled, maybe not finished */
  MLXC_AVAILABLE = 2,   /* data is ready */
} mlxc_status;

/* Borrowed views passed by value: the callee copies what it keeps. */
typedef struct mlxc_ints {
  const int32_t* data;
  size_t len;
} mlxc_ints;
typedef struct mlxc_i64s {
  const int64_t* data;
  size_t len;
} mlxc_i64s;
typedef struct mlxc_floats {
  const float* data;
  size_t len;
} mlxc_floats;
typedef struct mlxc_strings {
  const char* const* data;
  size_t len;
} mlxc_strings;
typedef struct mlxc_arrays {
  const mlxc_array* data;
  size_t len;
} mlxc_arrays;
typedef struct mlxc_opt_int {
  bool has;
  int32_t value;
} mlxc_opt_int;
typedef struct mlxc_opt_float {
  bool has;
  float value;
} mlxc_opt_float;
typedef struct mlxc_opt_dtype {
  bool has;
  mlxc_dtype value;
} mlxc_opt_dtype;

/* ---------------------------------------------------------------------------------------------
 * Errors and library information
 * ------------------------------------------------------------------------------------------- */

/** Message of the last failed call on this thread (empty if none). Valid until the next call. */
const char* mlxc_last_error(void);
/** Sets this thread's error message (used by closures to report a failure). */
void mlxc_set_error(const char* message);
/** MLX's version string, e.g. "0.32.4". */
const char* mlxc_mlx_version(void);
/** Which BLAS the CPU path calls: a newly allocated string (free with mlxc_string_free). */
int mlxc_blas_info(char** res);
/** Frees a string returned by this library. */
void mlxc_string_free(char* s);

/* ---------------------------------------------------------------------------------------------
 * Arrays
 * ------------------------------------------------------------------------------------------- */

/** Copies `data` (row-major, `prod(shape)` elements of `dtype`) into a new array. */
int mlxc_array_from_data(mlxc_array* res, const void* data, mlxc_ints shape, mlxc_dtype dtype);
/** A new handle to the same array (cheap: shares the graph node). */
int mlxc_array_copy(mlxc_array* res, mlxc_array a);
void mlxc_array_free(mlxc_array a);

size_t mlxc_array_ndim(mlxc_array a);
/** Pointer to the shape, valid while `a` lives. */
const int32_t* mlxc_array_shape(mlxc_array a);
size_t mlxc_array_size(mlxc_array a);
size_t mlxc_array_itemsize(mlxc_array a);
size_t mlxc_array_nbytes(mlxc_array a);
mlxc_dtype mlxc_array_dtype(mlxc_array a);
/** The dtype MLX's type promotion gives two operands of dtypes `a` and `b`. */
int mlxc_promote_types(mlxc_dtype* res, mlxc_dtype a, mlxc_dtype b);
int mlxc_array_status(mlxc_status* res, mlxc_array a);
/** Identity of the graph node behind a handle (two handles of one array compare equal). */
uintptr_t mlxc_array_id(mlxc_array a);

/**
 * The longest chain of not-yet-evaluated ops ending at `a` (0 when `a` is computed or
 * scheduled), counted up to `cap`: a result of `cap` means "at least `cap`".
 */
int mlxc_array_pending_depth(uint32_t* res, mlxc_array a, uint32_t cap);
/** Evaluates the arrays and waits for them. */
int mlxc_eval(mlxc_arrays arrays);
/** Schedules evaluation of the arrays and returns at once. */
int mlxc_async_eval(mlxc_arrays arrays);
/**
 * The pending graph behind `arrays` in Graphviz DOT form (MLX's `export_to_dot`): one rectangle
 * per primitive, labelled with its name. Free with mlxc_string_free.
 */
int mlxc_export_to_dot(char** res, mlxc_arrays arrays);
/**
 * Evaluates `a` and returns a pointer to its data, which must be row-contiguous (see
 * mlxc_array_is_row_contiguous). Valid while `a` lives.
 */
int mlxc_array_data(const void** res, mlxc_array a);
/** Evaluates `a` and tells whether its data is laid out row-major without gaps. */
int mlxc_array_is_row_contiguous(bool* res, mlxc_array a);
/**
 * Evaluates `a` and tells whether the host can read its data in place at no more than its own
 * size: row-major without gaps, and, where MLX keeps arrays in CUDA device memory, not a view
 * into a larger buffer (reading there moves the whole buffer to unified memory). Otherwise read
 * a mlxc_contiguous copy, which MLX makes compact.
 */
int mlxc_array_reads_in_place(bool* res, mlxc_array a);
/** MLX's printed form of the array (evaluates it). Free with mlxc_string_free. */
int mlxc_array_tostring(char** res, mlxc_array a);

/* ---------------------------------------------------------------------------------------------
 * Vectors of arrays
 * ------------------------------------------------------------------------------------------- */

int mlxc_vector_array_new(mlxc_vector_array* res);
void mlxc_vector_array_free(mlxc_vector_array v);
size_t mlxc_vector_array_size(mlxc_vector_array v);
/** A new handle to element `i`. */
int mlxc_vector_array_get(mlxc_array* res, mlxc_vector_array v, size_t i);
/** Appends (a new handle to) `a`. */
int mlxc_vector_array_push(mlxc_vector_array v, mlxc_array a);

/* ---------------------------------------------------------------------------------------------
 * Devices and streams
 * ------------------------------------------------------------------------------------------- */

int mlxc_default_device(mlxc_device* res);
int mlxc_set_default_device(mlxc_device d);
int mlxc_device_is_available(bool* res, mlxc_device d);
int mlxc_device_count(int32_t* res, mlxc_device_type type);
mlxc_gpu_backend mlxc_gpu_backend_kind(void);
/** "key=value" lines describing the device. Free with mlxc_string_free. */
int mlxc_device_info(char** res, mlxc_device d);
/**
 * The process-wide default stream of `d`, usable from every thread. Every thread that calls into
 * this library has it as MLX's default stream for `d`, so ops MLX builds implicitly (random key
 * splits, transform internals) land on it too, and arrays can be evaluated on any thread.
 */
int mlxc_default_stream(mlxc_stream* res, mlxc_device d);
/** Makes `s` MLX's default stream for its device on the calling thread only. */
int mlxc_set_default_stream(mlxc_stream s);
/**
 * A new stream of `d`. With `any_thread`, the stream may be used from every thread (calls are
 * serialized by this library's lock); otherwise it belongs to the calling thread.
 */
int mlxc_new_stream(mlxc_stream* res, mlxc_device d, bool any_thread);
/** Waits for the stream's work (the default stream when `s.index < 0`). */
int mlxc_synchronize(mlxc_stream s);
/**
 * Whether the threads that evaluate this library's CPU streams flush subnormal floats to zero
 * (inputs and results; FTZ and DAZ on x86, FZ on Arm). On unless `MLXC_KEEP_SUBNORMALS=1` was set
 * at start: training makes subnormals (decaying optimizer moments), and CPUs take a slow path on
 * each. GPU streams are not affected.
 */
int mlxc_cpu_flush_subnormals(bool* res);
/**
 * Turns flushing on or off for the CPU work evaluated from now on, and writes the previous
 * setting to `prev`.
 */
int mlxc_set_cpu_flush_subnormals(bool* prev, bool on);

/* ---------------------------------------------------------------------------------------------
 * Memory
 * ------------------------------------------------------------------------------------------- */

int mlxc_memory_active(size_t* res);
int mlxc_memory_peak(size_t* res);
int mlxc_memory_reset_peak(void);
int mlxc_memory_cache(size_t* res);
int mlxc_memory_clear_cache(void);
int mlxc_memory_limit(size_t* res);
/** Sets the limit and writes the previous one to `prev`. */
int mlxc_memory_set_limit(size_t* prev, size_t limit);
int mlxc_memory_set_cache_limit(size_t* prev, size_t limit);
int mlxc_memory_set_wired_limit(size_t* prev, size_t limit);

/* ---------------------------------------------------------------------------------------------
 * Closures
 *
 * A closure is a function pointer, an opaque payload and the payload's destructor. The function
 * reads `inputs` (borrowed for the call), pushes its results onto `outputs` and returns 0, or
 * calls mlxc_set_error and returns non-zero. The destructor runs once, when the last C++ copy of
 * the closure is gone, possibly on another thread.
 * ------------------------------------------------------------------------------------------- */

typedef int (*mlxc_closure_fn)(void* payload, mlxc_vector_array inputs, mlxc_vector_array outputs);
typedef void (*mlxc_payload_dtor)(void* payload);

int mlxc_closure_new(mlxc_closure* res, mlxc_closure_fn fn, void* payload, mlxc_payload_dtor dtor);
void mlxc_closure_free(mlxc_closure c);
/** Calls the closure. */
int mlxc_closure_apply(mlxc_vector_array* res, mlxc_closure c, mlxc_arrays inputs);

/* ---------------------------------------------------------------------------------------------
 * Transforms
 * ------------------------------------------------------------------------------------------- */

/** Outputs of `f(primals)` and the vector-Jacobian products with `cotangents`. */
int mlxc_vjp(mlxc_vector_array* outputs, mlxc_vector_array* vjps, mlxc_closure f,
             mlxc_arrays primals, mlxc_arrays cotangents);
/** Outputs of `f(primals)` and the Jacobian-vector products with `tangents`. */
int mlxc_jvp(mlxc_vector_array* outputs, mlxc_vector_array* jvps, mlxc_closure f,
             mlxc_arrays primals, mlxc_arrays tangents);
/** Outputs of `f(inputs)` and the gradients of the first (scalar) output w.r.t. `argnums`. */
int mlxc_value_and_grad(mlxc_vector_array* values, mlxc_vector_array* grads, mlxc_closure f,
                        mlxc_ints argnums, mlxc_arrays inputs);
/** `f` vectorized over `in_axes` of its inputs (-1: not mapped), stacking on `out_axes`. */
int mlxc_vmap(mlxc_closure* res, mlxc_closure f, mlxc_ints in_axes, mlxc_ints out_axes);
/** A compiled version of `f` (traced once per input signature, then fused and cached). */
int mlxc_compile(mlxc_closure* res, mlxc_closure f, bool shapeless);
/** `f` whose intermediate values are recomputed in the backward pass instead of kept. */
int mlxc_checkpoint(mlxc_closure* res, mlxc_closure f);
/**
 * Traces `f` on `args` and writes the graph to `file` (MLX's `.mlxfn` format, which Python's
 * `mx.import_function` reads). With `shapeless`, the stored function accepts inputs of other
 * shapes (same ranks and dtypes).
 */
int mlxc_export_function(const char* file, mlxc_closure f, mlxc_arrays args, bool shapeless);
/** A closure running the function stored in `file` (from mlxc_export_function or Python). */
int mlxc_import_function(mlxc_closure* res, const char* file);
/**
 * `f` with a custom vector-Jacobian product. `vjp` is called with a 1-d int32 array of the
 * counts [primals, cotangents, outputs] followed by those arrays, and returns one cotangent per
 * primal.
 */
int mlxc_custom_vjp(mlxc_closure* res, mlxc_closure f, mlxc_closure vjp);
/**
 * `f` with custom transformation rules; a NULL rule keeps the one MLX derives from `f`. The extra
 * integer arguments reach the closures as 1-d int32 arrays in front of the arrays:
 * - `vjp`: counts [primals, cotangents, outputs], then those arrays; returns one cotangent per
 *   primal;
 * - `jvp`: counts [primals, tangents], the argnums (the index of the primal of each tangent),
 *   then primals and tangents; returns one tangent per output of `f`;
 * - `vmap`: the axis of each input (-1: not mapped), then the inputs; returns the outputs of the
 *   vectorized function followed by a 1-d int32 array of their axes.
 * Counts returned by the rules are checked: a wrong count is an error, not undefined behavior.
 */
int mlxc_custom_function(mlxc_closure* res, mlxc_closure f, mlxc_closure vjp, mlxc_closure jvp,
                         mlxc_closure vmap);
/** Turns compilation on or off globally (off: compiled functions run uncompiled). */
int mlxc_set_compile_enabled(bool enabled);
/** How much MLX's compiler does (MLX's CompileMode). */
typedef enum mlxc_compile_mode {
  MLXC_COMPILE_DISABLED = 0,    /* compiled functions run uncompiled */
  MLXC_COMPILE_NO_SIMPLIFY = 1, /* traced and fused, no common-subexpression merging */
  MLXC_COMPILE_NO_FUSE = 2,     /* traced and simplified, no fused kernels */
  MLXC_COMPILE_ENABLED = 3,     /* everything (the default) */
} mlxc_compile_mode;
int mlxc_set_compile_mode(mlxc_compile_mode mode);

/* ---------------------------------------------------------------------------------------------
 * Compiled evaluation of lazy graphs ("regions")
 * ------------------------------------------------------------------------------------------- */

/** Counters of mlxc_region_eval since the process started. */
typedef struct mlxc_region_stats {
  /** Calls of mlxc_region_eval. */
  uint64_t regions;
  /** Regions evaluated as usual: not seen often enough yet, or not compilable. */
  uint64_t eager;
  /** Of those, regions holding a primitive MLX's compiler cannot compare (evaluated as usual). */
  uint64_t uncompilable;
  /** Regions evaluated through a compiled function. */
  uint64_t replays;
  /** Compiled functions traced and fused (once per region structure and thread). */
  uint64_t compiles;
  /** Seconds spent tracing and fusing (kernels are built when first evaluated). */
  double compile_seconds;
  /** Cache entries dropped because the cache was full. */
  uint64_t evictions;
  /** Region structures in the cache now. */
  size_t cached;
  /** Host seconds walking pending graphs into regions and looking them up. */
  double trace_seconds;
  /** Host seconds calling compiled functions and pointing the results at them (first calls on a
   * thread, which trace and fuse, count in compile_seconds instead). */
  double replay_seconds;
  /** Host seconds in MLX's eval or async_eval of the regions (for async_eval, scheduling only). */
  double eval_seconds;
  /** Nodes (primitive applications) of every region traced. */
  uint64_t nodes;
} mlxc_region_stats;

/**
 * Evaluates `arrays` (as mlxc_eval, or mlxc_async_eval with `async`) through MLX's compiler: the
 * pending graph behind them is a region whose structure (primitives, their attributes, shapes,
 * dtypes, wiring) is looked up in a cache. From its `threshold`-th sighting on, a region is
 * evaluated by a compiled function that replays it (fused kernels, common subexpressions
 * merged), taking the region's computed arrays as inputs. Intermediates that other arrays still
 * hold are computed too, as by an ordinary evaluation. Regions with a primitive that MLX's
 * compiler cannot compare are evaluated as usual.
 */
int mlxc_region_eval(mlxc_arrays arrays, bool async);
int mlxc_region_stats_get(mlxc_region_stats* res);
/** Drops every cached region (and its compiled function). */
int mlxc_region_clear_cache(void);
/**
 * Cache capacity in region structures (default 64) and in their total nodes (default 2^18; the
 * most recent structure is always kept), and the sighting that compiles (default 2).
 */
int mlxc_region_set_options(size_t capacity, size_t max_nodes, uint32_t threshold);

/* ---------------------------------------------------------------------------------------------
 * Distributed
 *
 * A group is made by mlxc_distributed_init (all processes of the job) or mlxc_group_split. The
 * collectives are ops of the table (ops/distributed.def); their `group` may be NULL for the
 * group of the last init.
 * ------------------------------------------------------------------------------------------- */

/** Whether a communication backend is available: `backend` "ring", "mpi", "nccl", "jaccl" or
 * NULL / "any". */
int mlxc_distributed_is_available(bool* res, const char* backend);
/**
 * The group of every process of the job, through `backend` (NULL or "any": the first that
 * works). With `strict`, failing to set up a backend is an error; otherwise the result is a
 * group of size 1 whose collectives do nothing.
 */
int mlxc_distributed_init(mlxc_group* res, bool strict, const char* backend);
void mlxc_group_free(mlxc_group g);
int mlxc_group_rank(int* res, mlxc_group g);
int mlxc_group_size(int* res, mlxc_group g);
/** The subgroup of the processes that pass the same `color`, ordered by `key` (-1: by rank). */
int mlxc_group_split(mlxc_group* res, mlxc_group g, int color, int key);

#ifdef __cplusplus
}
#endif

#include "mlxc/mlxc_io.h"
#include "mlxc/mlxc_ops.h"

#endif /* MLXC_H */
