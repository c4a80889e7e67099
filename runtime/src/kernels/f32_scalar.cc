// The portable kernels: the reference every SIMD path is tested against, and
// the fallback on CPUs without one.

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels.h"

namespace attn {
namespace {

void layernorm(const float* x, float* y, size_t rows, size_t cols, const float* gamma, const float* beta,
               float eps) {
  for (size_t r = 0; r < rows; ++r, x += cols, y += cols) {
    // Two passes in double: the mean first, then the centred variance.
    double mean = 0;
    for (size_t c = 0; c < cols; ++c) mean += x[c];
    mean /= static_cast<double>(cols);
    double var = 0;
    for (size_t c = 0; c < cols; ++c) var += (x[c] - mean) * (x[c] - mean);
    var /= static_cast<double>(cols);
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float m = static_cast<float>(mean);
    for (size_t c = 0; c < cols; ++c) y[c] = (x[c] - m) * inv * gamma[c] + beta[c];
  }
}

void gelu(float* x, size_t count) {
  for (size_t i = 0; i < count; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

void gelu_tanh(float* x, size_t count) {
  const float k = 0.79788456080286536f;  // sqrt(2/pi)
  for (size_t i = 0; i < count; ++i) {
    float v = x[i];
    x[i] = 0.5f * v * (1.0f + std::tanh(k * (v + 0.044715f * v * v * v)));
  }
}

void add(const float* a, const float* b, float* y, size_t count) {
  for (size_t i = 0; i < count; ++i) y[i] = a[i] + b[i];
}

void attention_head(const AttentionHeadArgs& a) {
  float* scores = a.scratch;
  for (size_t t = a.row_begin; t < a.row_end; ++t) {
    const float* q = a.q + t * a.q_stride;
    const size_t keys = a.causal ? t + a.q_offset + 1 : a.n;
    float max = -std::numeric_limits<float>::infinity();
    for (size_t s = 0; s < keys; ++s) {
      if (a.key_masked && a.key_masked[s]) {
        scores[s] = -std::numeric_limits<float>::infinity();
        continue;
      }
      const float* k = a.k + s * a.k_stride;
      float dot = 0;
      for (size_t c = 0; c < a.dim; ++c) dot += q[c] * k[c];
      scores[s] = dot * a.scale;
      max = std::max(max, scores[s]);
    }
    float* out = a.out + t * a.out_stride;
    std::fill(out, out + a.dim, 0.0f);
    float sum = 0;
    for (size_t s = 0; s < keys; ++s) {
      if (a.key_masked && a.key_masked[s]) continue;
      const float p = std::exp(scores[s] - max);
      sum += p;
      const float* v = a.v + s * a.v_stride;
      for (size_t c = 0; c < a.dim; ++c) out[c] += p * v[c];
    }
    const float inv = 1.0f / sum;
    for (size_t c = 0; c < a.dim; ++c) out[c] *= inv;
  }
}

void attention_heads(const AttentionHeadArgs& heads) {
  for (size_t h = 0; h < heads.heads; ++h) attention_head(head_range(heads, h, 1));
}

void token_mix(const float* w, size_t w_stride, const float* bias, const float* x, float* y, size_t n,
               size_t row_begin, size_t row_end, size_t cols, bool causal) {
  for (size_t t = row_begin; t < row_end; ++t) {
    float* row = y + t * cols;
    std::fill(row, row + cols, bias ? bias[t] : 0.0f);
    const size_t sources = causal ? t + 1 : n;
    for (size_t s = 0; s < sources; ++s) {
      const float ws = w[t * w_stride + s];
      const float* xs = x + s * cols;
      for (size_t c = 0; c < cols; ++c) row[c] += ws * xs[c];
    }
  }
}

// The in-place GEMM's reference form: one float accumulator per output, the
// bias first. Not used for dense layers on this path (XNNPACK serves them).
void gemm_nt(const float* a, size_t a_stride, size_t m, size_t k, const float* w, size_t w_stride, const float* bias,
             Epilogue e, const float* residual, float* c, size_t c_stride, size_t col_begin, size_t col_end) {
  for (size_t i = 0; i < m; ++i)
    for (size_t j = col_begin; j < col_end; ++j) {
      const float* x = a + i * a_stride;
      const float* wj = w + j * w_stride;
      float acc = bias ? bias[j] : 0.0f;
      for (size_t kk = 0; kk < k; ++kk) acc = std::fma(x[kk], wj[kk], acc);
      if (e == Epilogue::Gelu) gelu(&acc, 1);
      if (e == Epilogue::GeluTanh) gelu_tanh(&acc, 1);
      if (e == Epilogue::Relu) acc = std::max(acc, 0.0f);
      c[i * c_stride + j] = residual ? acc + residual[i * c_stride + j] : acc;
    }
}

}  // namespace

const Kernels& scalar_kernels() {
  static const Kernels table = [] {
    Kernels k{};  // no GEMM: XNNPACK serves every dense layer
    k.path = "scalar";
    k.layernorm = layernorm;
    k.gelu = gelu;
    k.gelu_tanh = gelu_tanh;
    k.add = add;
    k.attention_heads = attention_heads;
    k.token_mix = token_mix;
    k.gemm_nt_columns = 1;
    k.gemm_nt = gemm_nt;
    return k;
  }();
  return table;
}

}  // namespace attn
