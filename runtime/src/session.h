// A prepared model: its operators, its memory, its threads. Created once;
// run many times without allocating. The session keeps the life cycle and
// the step loop; the math is in the operator modules (ops/), the memory in
// the planner, the threads in the executor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "executor.h"
#include "model.h"
#include "ops/operator.h"
#include "planner.h"

namespace attn {

// How a session runs: the C API's attn_session_options, checked.
struct SessionConfig {
  uint32_t threads = 1;  // 0 = one per core
  bool profile = false;
  const Kernels* kernels = nullptr;     // null: the process's choice (kernels())
  const QuantKernels* quant = nullptr;  // null: the best variant of the kernel path
  attn_dense_backend dense = ATTN_DENSE_AUTO;
  attn_cancel_fn cancel = nullptr;
  void* cancel_data = nullptr;
  std::shared_ptr<WorkerPool> pool;  // the app's pool, shared; null: the session's own
  bool spin = true;                  // the session's own pool's workers spin before sleeping
};

class Session {
 public:
  Session(std::shared_ptr<const Model> model, const SessionConfig& config);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const Model& model() const { return *model_; }
  void set_input(size_t index, const void* data, size_t bytes, const int64_t* shape, size_t rank);
  // A whole input; for causal models it also fills the cache from position 0.
  void run();
  // Causal models: appends `count` tokens after the cached ones and computes
  // the logits of the last (output rows become 1).
  void decode(const int32_t* ids, size_t count);
  void reset_cache() { position_ = 0; }
  size_t position() const { return position_; }
  size_t cache_bytes() const { return memory_->cache_floats() * 4; }
  size_t cache_bytes_per_token() const { return cache_bytes() / size_t(model_->max_tokens); }
  attn_tensor_info output_info(size_t index) const;
  void get_output(size_t index, void* buffer, size_t capacity) const;
  void profile(double* seconds, uint64_t* runs) const { executor_->profile(seconds, runs); }
  void reset_profile() { executor_->reset_profile(); }

 private:
  void run_steps(const RunState& state);

  std::shared_ptr<const Model> model_;
  std::unique_ptr<Executor> executor_;
  std::vector<std::unique_ptr<Operator>> ops_;
  std::unique_ptr<SessionMemory> memory_;
  attn_cancel_fn cancel_ = nullptr;
  void* cancel_data_ = nullptr;
  std::vector<int32_t> decode_ids_;  // decode's ids, max_tokens of them
  size_t position_ = 0;              // tokens in the cache
  size_t out_rows_ = 0;              // sequence length of the outputs of the last run
  bool has_run_ = false;
  std::vector<bool> input_set_;
  std::vector<int64_t> input_n_;  // sequence length each input was given with, 0 if fixed
};

}  // namespace attn
