// Super attention's token mixing, y = W_A[:n, :n] · x + b_A, on the
// kernel path's token_mix kernel or, where that is faster, its GEMM.
#pragma once

#include "operator.h"

namespace attn {

class TokenMixing {
 public:
  // Over rows x[n, cols] of a layer whose inputs have at most `rows` rows.
  TokenMixing(const OpInfo& op, size_t cols) : op_(op), cols_(cols) {}
  // Whether the GEMM serves a full (non-cached) run on kernel path k.
  bool by_gemm(const Kernels& k) const;
  // Scratch floats the GEMM needs to pack x (0 when it does not serve).
  size_t scratch_floats(const Kernels& k, size_t rows) const;
  void prepare(const Model& m);
  // Rows [row_begin, row_end) of y; `packed` is scratch_floats() floats.
  void run(Executor& exec, const float* x, float* y, size_t n, size_t row_begin, size_t row_end, bool causal,
           float* packed) const;

 private:
  const OpInfo& op_;
  size_t cols_;
  const float* w_ = nullptr;
  size_t w_stride_ = 0;
  const float* bias_ = nullptr;
};

}  // namespace attn
