#include "token_mixing.h"

#include <algorithm>
#include <string>

#include "../error.h"
#include "dense_layer.h"

namespace attn {

namespace {

// x [k, cols] (rows `cols` apart) as a GEMM's right operand, in the panels of
// Kernels::gemm_pack: packed[p][kk][j] = x[kk][p·panel + j], zero past cols.
void pack_right_operand(const float* x, size_t k, size_t cols, size_t panel, float* packed) {
  for (size_t p0 = 0; p0 < cols; p0 += panel) {
    const size_t width = std::min(panel, cols - p0);
    for (size_t kk = 0; kk < k; ++kk, packed += panel) {
      std::copy(x + kk * cols + p0, x + kk * cols + p0 + width, packed);
      std::fill(packed + width, packed + panel, 0.0f);
    }
  }
}

struct TokenMixTask {
  const Kernels* kernels;
  const float* w;
  size_t w_stride;
  const float* bias;
  const float* x;
  float* y;
  size_t n, first_row, end_row, cols;
  bool causal;
  // A multiple of every path's row block (4, 6 or 8 rows): with 8, avx2
  // took each item as a block of 6 rows and a slower one of 2.
  static constexpr size_t kRowsPerItem = 24;
  static void run(void* context, size_t item) {
    auto* t = static_cast<TokenMixTask*>(context);
    const size_t row = t->first_row + item * kRowsPerItem;
    t->kernels->token_mix(t->w, t->w_stride, t->bias, t->x, t->y, t->n, row, std::min(t->end_row, row + kRowsPerItem),
                          t->cols, t->causal);
  }
};

// Causal Super Attention must not mix in later tokens; the kernels rely on it.
void check_lower_triangular(const ConstTensor& w) {
  const size_t L = size_t(w.shape[0]);
  const float* a = w.floats();
  for (size_t t = 0; t < L; ++t)
    for (size_t s = t + 1; s < L; ++s)
      if (a[t * L + s] != 0.0f)
        fail(ATTN_ERROR_INVALID_MODEL, "tensor '" + w.name + "': causal W_A has a non-zero entry at [" +
                                           std::to_string(t) + ", " + std::to_string(s) + "] above the diagonal");
}

}  // namespace

// The GEMM packs x at each run, so it serves when x's rows are a multiple of
// 1 KiB long: the token-mixing kernel reads x a column block at a time with
// rows d floats apart, and such rows land in a few L1 sets (61 GFLOP/s on
// CIFAR-100's 256×256 against the GEMM's 85-90 on a Zen 3 core). Other
// widths spread over the sets, and the kernel saves the packing: 0.6-1.6% of
// the whole run on the text models and MNIST. With a causal mask the kernel
// stays: it skips the zero upper triangle, half the work.
bool TokenMixing::by_gemm(const Kernels& k) const {
  return !op_.causal && k.gemm != nullptr && (cols_ * sizeof(float)) % 1024 == 0;
}

size_t TokenMixing::scratch_floats(const Kernels& k, size_t rows) const {
  return by_gemm(k) ? k.gemm_packed_floats(cols_, rows) : 0;
}

void TokenMixing::prepare(const Model& m) {
  const ConstTensor& w = m.tensors[size_t(op_.align_weight)];
  if (op_.causal) check_lower_triangular(w);
  w_ = w.floats();
  w_stride_ = size_t(w.shape[1]);
  bias_ = op_.align_bias >= 0 ? m.tensors[size_t(op_.align_bias)].floats() : nullptr;
}

void TokenMixing::run(Executor& exec, const float* x, float* y, size_t n, size_t row_begin, size_t row_end,
                      bool causal, float* packed) const {
  const Kernels& k = exec.kernels();
  if (packed && row_begin == 0 && row_end == n && !causal && by_gemm(k)) {
    pack_right_operand(x, n, cols_, k.gemm_panel, packed);
    run_gemm(exec, {w_, w_stride_, n, n, packed, nullptr, Epilogue::None, nullptr, y, cols_});
    if (bias_)
      for (size_t t = 0; t < n; ++t)
        for (size_t c = 0; c < cols_; ++c) y[t * cols_ + c] += bias_[t];
    return;
  }
  TokenMixTask task{&k, w_, w_stride_, bias_, x, y, n, row_begin, row_end, cols_, causal};
  const size_t rows = row_end - row_begin;
  exec.for_each(exec.parallel(2.0 * double(rows) * double(n) * double(cols_)), &TokenMixTask::run, &task,
                (rows + TokenMixTask::kRowsPerItem - 1) / TokenMixTask::kRowsPerItem);
}

}  // namespace attn
