// The interface every operator module implements. A session creates one
// Operator per op of the model; the planner asks each for its scratch and
// cache needs and binds its buffers; prepare packs its weights; run computes
// it for the current run without allocating.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "../executor.h"
#include "../model.h"

namespace attn {

// Scratch buffers an op may ask for; each is its own arena region.
constexpr size_t kMaxScratch = 3;

// What an op needs besides its input and output values, in floats.
struct OpNeeds {
  std::array<size_t, kMaxScratch> scratch{};
  size_t cache = 0;  // kept across runs: the decode cache of a causal layer
  // The cache's layout: regions of max_tokens rows of cache_row floats each
  // (position t at row t of every region), so that the session can fault in
  // the rows a run is about to write ahead of it (SessionMemory::reserve_cache).
  size_t cache_row = 0;
};

// An op's buffers in the session's arena, set by the planner.
struct OpBuffers {
  std::vector<float*> in;  // input values (token ids are reinterpreted as int32)
  float* out = nullptr;
  // Set when the Add right after this op was folded into it: the op stores
  // out = its result + residual (the Add's other input).
  const float* residual = nullptr;
  bool model_output = false;  // a model output: only its last row is needed when decoding
  std::array<float*, kMaxScratch> scratch{};
  float* cache = nullptr;
};

// The run in progress.
struct RunState {
  size_t n = 0;           // tokens in this run (the sequence length, or the decoded count)
  size_t offset = 0;      // position of its first token: the tokens already cached
  bool decoding = false;  // a decode call: the token ids come from `decode_ids`
  const int32_t* decode_ids = nullptr;
  // Leading rows of value `v` at this run's n: the product of all but its
  // last dimension.
  size_t rows(const Model& m, int v) const {
    const auto& shape = m.values[size_t(v)].shape;
    size_t r = 1;
    for (size_t i = 0; i + 1 < shape.size(); ++i) r *= shape[i] == -1 ? n : size_t(shape[i]);
    return r;
  }
};

// What prepare may use: the model's weights and the session's executor and options.
struct PrepareContext {
  const Model& model;
  Executor& executor;
  attn_dense_backend dense;
};

class Operator {
 public:
  explicit Operator(const OpInfo& op) : op_(op) {}
  virtual ~Operator() = default;
  Operator(const Operator&) = delete;
  Operator& operator=(const Operator&) = delete;

  const OpInfo& info() const { return op_; }
  virtual OpNeeds needs(const Model&, const Kernels&) const { return {}; }
  // Whether the op can store its output plus a residual in one pass, so
  // that an Add right after it, its output's only reader, can be folded in.
  virtual bool folds_residual() const { return false; }
  virtual void prepare(const PrepareContext&) {}
  virtual void run(const Model& m, Executor& exec, const RunState& state, const OpBuffers& buffers) = 0;

 protected:
  const OpInfo& op_;
};

// The module for op.kind (ops/registry.cc).
std::unique_ptr<Operator> make_operator(const OpInfo& op);

// Tokens of ids[0..n) that are not `pad_id`; fails naming `what` when every
// one is padding (a masked softmax or mean over nothing).
size_t count_real_tokens(const int32_t* ids, size_t n, int pad_id, const char* what);

}  // namespace attn
