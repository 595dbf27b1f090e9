// Where evaluations run when MLX's CUDA backend is in use (see evaluator.hpp).
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <thread>

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "internal.hpp"

namespace mlxc {

namespace {

// `MLXC_EVALUATION_THREAD=1` moves evaluations on every backend (how the tests exercise this
// path without a GPU), `=0` on none; unset, on CUDA only.
bool moves_evaluations() {
  static const bool moves = [] {
    const char* setting = std::getenv("MLXC_EVALUATION_THREAD");
    if (setting == nullptr || setting[0] == '\0') return on_cuda();
    return setting[0] == '1';
  }();
  return moves;
}

bool is_process_main_thread() {
#if defined(__linux__)
  return static_cast<pid_t>(syscall(SYS_gettid)) == getpid();
#else
  return false;
#endif
}

thread_local const bool thread_is_main = is_process_main_thread();
thread_local bool thread_is_evaluator = false;

// One thread, started on first use and never stopped, that runs the evaluations handed to it.
// Callers hold the graph lock, so there is at most one request at a time: a single slot and one
// atomic word (idle → posted → done → idle) are all the hand-over needs.
class Evaluator {
 public:
  Evaluator() { std::thread([this] { serve(); }).detach(); }

  void run(const std::function<void()>& work) {
    work_ = &work;
    error_ = nullptr;
    state_.store(kPosted, std::memory_order_release);
    state_.notify_all();
    for (auto s = state_.load(std::memory_order_acquire); s != kDone;
         s = state_.load(std::memory_order_acquire)) {
      state_.wait(s, std::memory_order_acquire);
    }
    state_.store(kIdle, std::memory_order_relaxed);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static constexpr uint32_t kIdle = 0, kPosted = 1, kDone = 2;

  void serve() {
    thread_is_evaluator = true;
    for (;;) {
      for (auto s = state_.load(std::memory_order_acquire); s != kPosted;
           s = state_.load(std::memory_order_acquire)) {
        state_.wait(s, std::memory_order_acquire);
      }
      try {
        // The caller holds the graph lock, which guards the streams this pins.
        pin_thread_streams();
        (*work_)();
      } catch (...) {
        error_ = std::current_exception();
      }
      state_.store(kDone, std::memory_order_release);
      state_.notify_all();
    }
  }

  std::atomic<uint32_t> state_{kIdle};
  const std::function<void()>* work_ = nullptr;
  std::exception_ptr error_;
};

bool evaluates_here() { return !moves_evaluations() || thread_is_main || thread_is_evaluator; }

bool launches_work(const std::vector<mx::array>& targets) {
  for (const auto& a : targets) {
    if (a.status() == mx::array::Status::unscheduled) return true;
  }
  return false;
}

void run_on_evaluator(const std::function<void()>& work) {
  // Never destroyed: its thread may be waiting on it while the process exits.
  static Evaluator* evaluator = new Evaluator();
  evaluator->run(work);
}

}  // namespace

bool on_cuda() {
  static const bool cuda =
      mx::is_available(mx::Device(mx::Device::gpu)) && !mx::metal::is_available();
  return cuda;
}

void eval_arrays(std::vector<mx::array> targets, bool async) {
  auto run = [&] {
    if (async) {
      mx::async_eval(targets);
    } else {
      mx::eval(targets);
    }
  };
  if (evaluates_here() || !launches_work(targets)) {
    run();
  } else {
    run_on_evaluator(run);
  }
}

void eval_array(mx::array& target) {
  if (evaluates_here() || target.status() != mx::array::Status::unscheduled) {
    target.eval();
  } else {
    run_on_evaluator([&] { target.eval(); });
  }
}

}  // namespace mlxc
