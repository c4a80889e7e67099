// A prepared model: activation arena, dense layers, a thread pool.
// Created once; run many times without allocating.
#pragma once

#include <cstddef>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/kernels.h"
#include "model.h"
#include "parallel.h"

struct xnn_operator;
struct pthreadpool;

namespace attn {

// How a session runs: the C API's attn_session_options, checked.
struct SessionConfig {
  uint32_t threads = 1;  // 0 = one per core
  bool profile = false;
  const Kernels* kernels = nullptr;  // null: the process's choice (kernels())
  attn_dense_backend dense = ATTN_DENSE_AUTO;
  attn_cancel_fn cancel = nullptr;
  void* cancel_data = nullptr;
  std::shared_ptr<WorkerPool> pool;  // the app's pool, shared; null: the session's own
  bool spin = true;                  // the session's own pool's workers spin before sleeping
};

class Session {
 public:
  Session(std::shared_ptr<const Model> model, const SessionConfig& config);
  ~Session();
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
  size_t cache_bytes() const { return cache_floats_ * 4; }
  size_t cache_bytes_per_token() const { return cache_floats_ * 4 / size_t(model_->max_tokens); }
  attn_tensor_info output_info(size_t index) const;
  void get_output(size_t index, void* buffer, size_t capacity) const;
  size_t arena_bytes() const { return arena_bytes_; }
  void profile(double* seconds, uint64_t* runs) const;
  void reset_profile();

 private:
  // A dense layer: XNNPACK's fully connected operator, or the kernel path's
  // own GEMM on large layers where it measured faster (bench/RESULTS.md).
  struct DenseLayer {
    size_t in_features = 0, out_features = 0;
    Activation activation = Activation::None;
    xnn_operator* op = nullptr;
    size_t set_rows = 0;              // what `op` is set up for
    const float* set_in = nullptr;
    pthreadpool* pool = nullptr;
    const float* packed = nullptr;    // own GEMM: the model's shared packing
    const float* bias = nullptr;
  };

  // One op, bound to its buffers in the arena.
  struct Step {
    const OpInfo* op = nullptr;
    std::vector<float*> in;  // input values (ids are reinterpreted as int32)
    float* out = nullptr;
    DenseLayer fc;      // Dense, patch projection, Q/K/V projection
    DenseLayer fc_out;  // attention output projection
    float* scratch[3] = {nullptr, nullptr, nullptr};
    // Causal attention: per-token keys and values kept across runs, [L, d]
    // each. Efficient attention's keys and values are both the layer input,
    // cached once (values == keys).
    float* cache_keys = nullptr;
    float* cache_values = nullptr;
    bool model_output = false;  // writes a model output: only the last row when decoding
    // A Dense or Attention op whose output only the next op, an Add, reads
    // writes that Add's sum itself: its last GEMM adds `residual` as it
    // stores, and the Add's step is `folded` (it does nothing).
    const float* residual = nullptr;
    bool folded = false;
  };
  struct AttentionTask;

  void release();
  size_t rows(int value) const;  // leading rows of a value at the current n
  void plan();
  void plan_cache();
  void create_operators();
  void create_dense(DenseLayer& layer, int weight, const ConstTensor* bias, Activation activation);
  void run_dense(DenseLayer& layer, size_t rows, const float* in, float* out, const float* residual = nullptr);
  // Whether work of this size goes to the workers.
  bool parallel(double flops) const;
  void for_each(bool in_parallel, WorkerPool::Task task, void* context, size_t count);
  void token_mix(const ConstTensor& w, const float* bias, const float* x, float* y, size_t n, size_t row_begin,
                 size_t row_end, size_t cols, bool causal);
  struct TokenMixTask;
  bool mixes_by_gemm(const OpInfo& op) const;
  void mix_by_gemm(const ConstTensor& w, const float* bias, const float* x, float* packed, float* y, size_t n,
                   size_t cols);
  struct GemmTask;
  void run_gemm(GemmTask& task);  // sets the task's panel split
  void run_steps();
  void run_cached_attention(Step& step, const float* x, float* proj, float* heads_out, size_t m);
  void run_step(Step& step);
  void run_patch_embed(Step& step);
  void run_attention(Step& step);
  void run_pool(Step& step);
  size_t count_real_tokens(const int32_t* ids, int pad_id, const char* op) const;

  // Runs `body`, adding its time to `op_class` when profiling.
  template <typename F>
  void timed(attn_op_class op_class, F&& body) {
    if (!profiling_) return body();
    const auto start = std::chrono::steady_clock::now();
    body();
    profile_seconds_[op_class] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  std::shared_ptr<const Model> model_;
  const Kernels& kernels_;
  size_t threads_ = 1;
  std::shared_ptr<WorkerPool> workers_;  // null with one thread; may be shared
  pthreadpool* pool_ = nullptr;          // XNNPACK's, with several threads and no own GEMM
  void* arena_block_ = nullptr;  // what calloc gave; arena_ is it aligned to 64 bytes
  void* arena_ = nullptr;
  size_t arena_bytes_ = 0;
  std::vector<void*> value_ptr_;
  std::vector<Step> steps_;
  float* cache_ = nullptr;
  size_t cache_floats_ = 0;
  std::vector<int32_t> decode_ids_;  // decode's ids, max_tokens of them
  size_t position_ = 0;      // tokens in the cache
  size_t run_offset_ = 0;    // position of the first token of the current run
  bool decoding_ = false;
  size_t out_rows_ = 0;      // sequence length of the outputs of the last run
  std::vector<bool> input_set_;
  std::vector<int64_t> input_n_;  // sequence length each input was given with, 0 if fixed
  size_t n_ = 0;                  // sequence length of the current run
  bool has_run_ = false;
  bool profiling_ = false;
  attn_dense_backend dense_ = ATTN_DENSE_AUTO;
  attn_cancel_fn cancel_ = nullptr;
  void* cancel_data_ = nullptr;
  double profile_seconds_[ATTN_OP_CLASS_COUNT] = {};
  uint64_t profile_runs_ = 0;
};

}  // namespace attn
