// Where evaluations run: with MLX's CUDA backend, on threads that live as long as the process.
#pragma once

#include <vector>

#include "mlx/array.h"

namespace mlxc {

namespace mx = mlx::core;

// Whether MLX runs on its CUDA backend (a GPU that is not Apple's).
bool on_cuda();

// MLX's CUDA backend keeps cuBLAS and cuDNN handles per host thread, made the first time the
// thread launches a matrix product or a convolution, and destroys them when the thread exits,
// outside any lock of ours: `cublasLtDestroy` synchronizes the whole device context, and a CUDA
// graph capture running on another thread at that moment fails ("operation failed due to a
// previous error during capture", then std::terminate) or the driver faults. Rust programs
// start and end threads freely (test harnesses, burn-train's workers, rayon), so with CUDA an
// evaluation that launches work runs on a thread that lives as long as the process: the
// process's main thread when it is the caller, else one evaluation thread of this library,
// while the caller holds the graph lock and waits. Graph building, and evaluations that only
// wait for work already launched, stay on the calling thread. Without CUDA everything runs on
// the calling thread (`MLXC_EVALUATION_THREAD`, in evaluator.cpp, overrides this).
//
// These are MLX's `eval`, `async_eval` and `array::eval` run that way; called under the graph
// lock. Errors are rethrown on the calling thread.
void eval_arrays(std::vector<mx::array> targets, bool async = false);
void eval_array(mx::array& target);

}  // namespace mlxc
