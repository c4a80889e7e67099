#include "executor.h"

#include <algorithm>
#include <string>
#include <thread>

#include "error.h"
#include "kernels/quant/quant_kernels.h"
#include "ops/xnnpack_dense.h"

namespace attn {

Executor::Executor(const ExecutorConfig& config)
    : kernels_(config.kernels ? *config.kernels : attn::kernels()), quant_(config.quant), profiling_(config.profile) {
  const uint32_t threads = config.pool ? uint32_t(config.pool->threads()) : config.threads;
  if (threads > 1024) fail(ATTN_ERROR_INVALID_ARGUMENT, "threads " + std::to_string(threads) + " is more than 1024");
  threads_ = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  if (threads_ == 1) return;
  // attn's own kernels run on the workers, XNNPACK on its own pool.
  workers_ = config.pool ? config.pool : std::make_shared<WorkerPool>(threads_, config.spin);
  // Layers run on XNNPACK with several threads only on a path without an own
  // GEMM, or when the options ask for it (dense_layer.cc).
  if (xnnpack_built() && (!kernels_.gemm || config.dense == ATTN_DENSE_XNNPACK))
    xnnpack_pool_ = create_xnnpack_pool(threads_);
}

Executor::~Executor() { destroy_xnnpack_pool(xnnpack_pool_); }

const QuantKernels& Executor::quant_kernels() const { return quant_ ? *quant_ : attn::quant_kernels(kernels_.path); }

void Executor::for_each(bool in_parallel, WorkerPool::Task task, void* context, size_t count) {
  if (in_parallel) return workers_->run(task, context, count);
  for (size_t i = 0; i < count; ++i) task(context, i);
}

void Executor::reserve_scratch(size_t bytes) {
  if (bytes <= scratch_bytes_) return;
  bytes = (bytes + 63) / 64 * 64;
  scratch_bytes_ = 0;
  scratch_.reset(std::aligned_alloc(64, bytes));
  if (!scratch_) fail(ATTN_ERROR_OUT_OF_MEMORY, "cannot allocate " + std::to_string(bytes) + " bytes of scratch");
  scratch_bytes_ = bytes;
}

void Executor::profile(double* seconds, uint64_t* runs) const {
  if (!profiling_) fail(ATTN_ERROR_BAD_STATE, "the session was created without options.profile");
  std::copy(seconds_, seconds_ + ATTN_OP_CLASS_COUNT, seconds);
  if (runs) *runs = runs_;
}

void Executor::reset_profile() {
  std::fill(seconds_, seconds_ + ATTN_OP_CLASS_COUNT, 0.0);
  runs_ = 0;
}

}  // namespace attn
