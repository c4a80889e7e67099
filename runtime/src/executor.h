// How a session's work runs: its kernel table, its threads and its profile.
// Operators call it to split work and to time it; they own no threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "attn/attn.h"
#include "kernels/kernels.h"
#include "parallel.h"

struct pthreadpool;

namespace attn {

struct QuantKernels;

struct ExecutorConfig {
  const Kernels* kernels = nullptr;     // null: the process's choice (kernels())
  const QuantKernels* quant = nullptr;  // null: the best variant of the kernel path
  uint32_t threads = 1;                 // 0 = one per core
  std::shared_ptr<WorkerPool> pool;     // the app's pool, shared; null: the executor's own
  bool spin = true;                     // the own pool's workers spin before sleeping
  attn_dense_backend dense = ATTN_DENSE_AUTO;  // whether XNNPACK may need a pool of its own
  bool profile = false;
};

class Executor {
 public:
  explicit Executor(const ExecutorConfig& config);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  const Kernels& kernels() const { return kernels_; }
  // The kernels of quantized weights: the configured variant, else the
  // kernel path's best (attn::Error when this CPU has none for the path).
  const QuantKernels& quant_kernels() const;
  size_t threads() const { return threads_; }
  // XNNPACK's pool: null with one thread, or when every layer has an own GEMM.
  pthreadpool* xnnpack_pool() const { return xnnpack_pool_; }

  // Whether work of this many FLOPs goes to the workers: below
  // kParallelMinFlops, handing it over costs more than it saves.
  static constexpr double kParallelMinFlops = 4e6;
  bool parallel(double flops) const { return workers_ && flops >= kParallelMinFlops; }
  // Runs task(context, i) for i in [0, count), on the workers when in_parallel.
  void for_each(bool in_parallel, WorkerPool::Task task, void* context, size_t count);

  // Runs `body`, adding its time to `op_class` when profiling.
  template <typename F>
  void timed(attn_op_class op_class, F&& body) {
    if (!profiling_) return body();
    const auto start = std::chrono::steady_clock::now();
    body();
    seconds_[op_class] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  void count_run() { ++runs_; }

  // Scratch that one op at a time uses during its run and no plan sees (a
  // quantized layer's activations): reserved at prepare, as large as the
  // largest request, so that a run allocates nothing.
  void reserve_scratch(size_t bytes);
  void* scratch() const { return scratch_.get(); }
  void profile(double* seconds, uint64_t* runs) const;
  void reset_profile();

 private:
  const Kernels& kernels_;
  const QuantKernels* quant_;
  size_t threads_ = 1;
  std::shared_ptr<WorkerPool> workers_;  // null with one thread; may be shared
  pthreadpool* xnnpack_pool_ = nullptr;
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> scratch_;
  size_t scratch_bytes_ = 0;
  bool profiling_ = false;
  double seconds_[ATTN_OP_CLASS_COUNT] = {};
  uint64_t runs_ = 0;
};

}  // namespace attn
