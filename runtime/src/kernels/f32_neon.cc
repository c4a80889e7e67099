// The NEON kernels, for aarch64 only: Advanced SIMD is part of the base
// AArch64 instruction set, so this file needs no extra compiler flags and
// uses nothing past Armv8.0-A (it runs on a Cortex-A53 as on an Apple M2).
//
// Every kernel takes and returns float32 and must stay within the error
// bounds every path is held to (tests/kernel_error_bounds.h, derived from
// float32 roundings), so all arithmetic here is float32 with fused
// multiply-adds. Half-precision arithmetic (FEAT_FP16, about 5e-4 relative
// per operation) cannot meet them, and the dot-product
// instructions (SDOT/UDOT) are for int8, which attn does not use: no variant
// of this path needs either, so there is nothing to detect beyond NEON itself.

#if !defined(__aarch64__)
#error "f32_neon.cc is compiled for aarch64 only"
#endif

#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels.h"

namespace attn {
namespace {

// e^x in each lane, within 2 ulp, for x in [-87, 88]; x is clamped to that
// range, so e^-inf gives about 1.6e-38 rather than 0 (callers that need an
// exact 0, as for masked keys, select it themselves). Cephes' expf: x = n ln2
// + r with |r| ≤ ln2/2, e^r = 1 + r + r²·P(r) with P of degree 5, 2^n through
// the exponent bits.
inline float32x4_t exp4(float32x4_t x) {
  x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-87.0f)), vdupq_n_f32(88.0f));
  const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));  // ln2, high part (exact in n·ln2_hi)
  r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));           // ln2, low part
  float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
  p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
  p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
  p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));  // 1 + r + r²·P(r)
  const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);  // 2^n, n in [-126, 127]
  return vmulq_f32(p, vreinterpretq_f32_s32(e));
}

// Exact GELU, x·Φ(x), with Φ from erfc(|x|/√2) = t·exp(-z² + P(t)),
// t = 1/(1 + z/2) (the Chebyshev fit in Numerical Recipes' erfcc: relative
// error below 1.2e-7 for every z ≥ 0). Computing the small tail Φ(-|x|)
// directly, instead of 1 + erf(x), keeps the relative accuracy for negative x.
inline float32x4_t gelu4(float32x4_t x) {
  const float32x4_t one = vdupq_n_f32(1.0f);
  const float32x4_t z = vmulq_n_f32(vabsq_f32(x), 0.70710678118654752f);
  const float32x4_t t = vdivq_f32(one, vfmaq_n_f32(one, z, 0.5f));
  float32x4_t p = vdupq_n_f32(0.17087277f);
  p = vfmaq_f32(vdupq_n_f32(-0.82215223f), p, t);
  p = vfmaq_f32(vdupq_n_f32(1.48851587f), p, t);
  p = vfmaq_f32(vdupq_n_f32(-1.13520398f), p, t);
  p = vfmaq_f32(vdupq_n_f32(0.27886807f), p, t);
  p = vfmaq_f32(vdupq_n_f32(-0.18628806f), p, t);
  p = vfmaq_f32(vdupq_n_f32(0.09678418f), p, t);
  p = vfmaq_f32(vdupq_n_f32(0.37409196f), p, t);
  p = vfmaq_f32(vdupq_n_f32(1.00002368f), p, t);
  p = vfmaq_f32(vdupq_n_f32(-1.26551223f), p, t);
  const float32x4_t half_erfc = vmulq_f32(vmulq_n_f32(t, 0.5f), exp4(vfmsq_f32(p, z, z)));  // Φ(-|x|)
  const float32x4_t phi = vbslq_f32(vcltq_f32(x, vdupq_n_f32(0.0f)), half_erfc, vsubq_f32(one, half_erfc));
  return vmulq_f32(x, phi);
}

// 0.5·x·(1 + tanh(u)) = x / (1 + e^(-2u)), u = √(2/π)·(x + 0.044715·x³):
// no cancellation for negative x, and e^(-2u) clamped at e^88 for large
// negative x gives x/1.7e38, a correct 0 to float precision.
inline float32x4_t gelu_tanh4(float32x4_t x) {
  const float32x4_t x2 = vmulq_f32(x, x);
  const float32x4_t inner = vfmaq_f32(vdupq_n_f32(1.0f), x2, vdupq_n_f32(0.044715f));  // 1 + 0.044715 x²
  const float32x4_t minus_2u = vmulq_f32(vmulq_n_f32(x, -2.0f * 0.79788456080286536f), inner);
  return vdivq_f32(x, vaddq_f32(vdupq_n_f32(1.0f), exp4(minus_2u)));
}

template <float32x4_t (*F)(float32x4_t)>
void map_inplace(float* x, size_t count) {
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    vst1q_f32(x + i, F(vld1q_f32(x + i)));
    vst1q_f32(x + i + 4, F(vld1q_f32(x + i + 4)));
  }
  for (; i + 4 <= count; i += 4) vst1q_f32(x + i, F(vld1q_f32(x + i)));
  if (i < count) {  // the last 1-3 through a padded vector
    float tail[4] = {0, 0, 0, 0};
    std::copy(x + i, x + count, tail);
    vst1q_f32(tail, F(vld1q_f32(tail)));
    std::copy(tail, tail + (count - i), x + i);
  }
}

void gelu(float* x, size_t count) { map_inplace<gelu4>(x, count); }
void gelu_tanh(float* x, size_t count) { map_inplace<gelu_tanh4>(x, count); }

void add(const float* a, const float* b, float* y, size_t count) {
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const float32x4_t s0 = vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i));
    const float32x4_t s1 = vaddq_f32(vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    const float32x4_t s2 = vaddq_f32(vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
    const float32x4_t s3 = vaddq_f32(vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    vst1q_f32(y + i, s0);
    vst1q_f32(y + i + 4, s1);
    vst1q_f32(y + i + 8, s2);
    vst1q_f32(y + i + 12, s3);
  }
  for (; i + 4 <= count; i += 4) vst1q_f32(y + i, vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
  for (; i < count; ++i) y[i] = a[i] + b[i];
}

// Σ x[c] over a row, four vectors at a time.
inline float row_sum(const float* x, size_t cols) {
  float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
  size_t c = 0;
  for (; c + 16 <= cols; c += 16) {
    s0 = vaddq_f32(s0, vld1q_f32(x + c));
    s1 = vaddq_f32(s1, vld1q_f32(x + c + 4));
    s2 = vaddq_f32(s2, vld1q_f32(x + c + 8));
    s3 = vaddq_f32(s3, vld1q_f32(x + c + 12));
  }
  for (; c + 4 <= cols; c += 4) s0 = vaddq_f32(s0, vld1q_f32(x + c));
  float sum = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
  for (; c < cols; ++c) sum += x[c];
  return sum;
}

// Two passes: a first mean m0, then Σ(x - m0) and Σ(x - m0)² together. The
// first sum corrects both the mean and the variance for m0's rounding
// ("corrected two-pass"), which keeps float32 accurate for a large mean.
void layernorm(const float* x, float* y, size_t rows, size_t cols, const float* gamma, const float* beta,
               float eps) {
  const float inv_cols = 1.0f / static_cast<float>(cols);
  for (size_t r = 0; r < rows; ++r, x += cols, y += cols) {
    const float m0 = row_sum(x, cols) * inv_cols;
    const float32x4_t vm0 = vdupq_n_f32(m0);
    float32x4_t d0 = vdupq_n_f32(0.0f), d1 = d0, q0 = d0, q1 = d0;
    size_t c = 0;
    for (; c + 8 <= cols; c += 8) {
      const float32x4_t a = vsubq_f32(vld1q_f32(x + c), vm0);
      const float32x4_t b = vsubq_f32(vld1q_f32(x + c + 4), vm0);
      d0 = vaddq_f32(d0, a);
      d1 = vaddq_f32(d1, b);
      q0 = vfmaq_f32(q0, a, a);
      q1 = vfmaq_f32(q1, b, b);
    }
    for (; c + 4 <= cols; c += 4) {
      const float32x4_t a = vsubq_f32(vld1q_f32(x + c), vm0);
      d0 = vaddq_f32(d0, a);
      q0 = vfmaq_f32(q0, a, a);
    }
    float dsum = vaddvq_f32(vaddq_f32(d0, d1));
    float qsum = vaddvq_f32(vaddq_f32(q0, q1));
    for (; c < cols; ++c) {
      const float a = x[c] - m0;
      dsum += a;
      qsum += a * a;
    }
    // The mean is m0 + shift; x - m0 is exact when x is near m0, so
    // subtracting the two parts one after the other avoids rounding the mean.
    const float shift = dsum * inv_cols;
    const float var = std::max(qsum * inv_cols - shift * shift, 0.0f);
    const float inv = 1.0f / std::sqrt(var + eps);
    const float32x4_t vshift = vdupq_n_f32(shift);
    c = 0;
    for (; c + 4 <= cols; c += 4) {
      const float32x4_t d = vsubq_f32(vsubq_f32(vld1q_f32(x + c), vm0), vshift);
      vst1q_f32(y + c, vfmaq_f32(vld1q_f32(beta + c), vmulq_n_f32(d, inv), vld1q_f32(gamma + c)));
    }
    for (; c < cols; ++c) y[c] = ((x[c] - m0) - shift) * inv * gamma[c] + beta[c];
  }
}

// q·k over dim floats.
inline float dot(const float* q, const float* k, size_t dim) {
  float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0;
  size_t c = 0;
  for (; c + 8 <= dim; c += 8) {
    a0 = vfmaq_f32(a0, vld1q_f32(q + c), vld1q_f32(k + c));
    a1 = vfmaq_f32(a1, vld1q_f32(q + c + 4), vld1q_f32(k + c + 4));
  }
  for (; c + 4 <= dim; c += 4) a0 = vfmaq_f32(a0, vld1q_f32(q + c), vld1q_f32(k + c));
  float sum = vaddvq_f32(vaddq_f32(a0, a1));
  for (; c < dim; ++c) sum += q[c] * k[c];
  return sum;
}

// scale · q[i]·k[s] for R query rows and keys [0, keys), into scores + i·np.
// Four keys at a time: each k vector loaded serves the R rows, and the R×4
// dot products stay in registers until a pairwise reduction gives, per row,
// one vector of four scores.
template <int R>
inline void score_rows(const float* const* q, const float* k, size_t k_stride, size_t dim, size_t keys, float scale,
                       float* scores, size_t np) {
  size_t s = 0;
  for (; s + 4 <= keys; s += 4) {
    const float* kr[4] = {k + s * k_stride, k + (s + 1) * k_stride, k + (s + 2) * k_stride, k + (s + 3) * k_stride};
    float32x4_t acc[R][4];
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < 4; ++j) acc[i][j] = vdupq_n_f32(0.0f);
    size_t c = 0;
    for (; c + 4 <= dim; c += 4) {
      float32x4_t kv[4];
      for (int j = 0; j < 4; ++j) kv[j] = vld1q_f32(kr[j] + c);
      for (int i = 0; i < R; ++i) {
        const float32x4_t qv = vld1q_f32(q[i] + c);
        for (int j = 0; j < 4; ++j) acc[i][j] = vfmaq_f32(acc[i][j], qv, kv[j]);
      }
    }
    for (int i = 0; i < R; ++i) {
      float32x4_t d = vpaddq_f32(vpaddq_f32(acc[i][0], acc[i][1]), vpaddq_f32(acc[i][2], acc[i][3]));
      if (c < dim) {
        float tail[4] = {0, 0, 0, 0};
        for (size_t cc = c; cc < dim; ++cc)
          for (int j = 0; j < 4; ++j) tail[j] += q[i][cc] * kr[j][cc];
        d = vaddq_f32(d, vld1q_f32(tail));
      }
      vst1q_f32(scores + i * np + s, vmulq_n_f32(d, scale));
    }
  }
  for (; s < keys; ++s)
    for (int i = 0; i < R; ++i) scores[i * np + s] = dot(q[i], k + s * k_stride, dim) * scale;
}

// row[s] <- e^(row[s] - max) over s < keys, 0 for masked keys; returns the sum.
inline float softmax_numerators(float* row, size_t keys, const uint8_t* masked) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  if (masked)
    for (size_t s = 0; s < keys; ++s)
      if (masked[s]) row[s] = neg_inf;
  float32x4_t vmax = vdupq_n_f32(neg_inf);
  size_t s = 0;
  for (; s + 4 <= keys; s += 4) vmax = vmaxq_f32(vmax, vld1q_f32(row + s));
  float max = vmaxvq_f32(vmax);
  for (; s < keys; ++s) max = std::max(max, row[s]);
  const float32x4_t m = vdupq_n_f32(max);
  float32x4_t vsum = vdupq_n_f32(0.0f);
  for (s = 0; s + 4 <= keys; s += 4) {
    const float32x4_t sc = vld1q_f32(row + s);
    float32x4_t p = exp4(vsubq_f32(sc, m));
    if (masked) p = vbslq_f32(vceqq_f32(sc, vdupq_n_f32(neg_inf)), vdupq_n_f32(0.0f), p);
    vst1q_f32(row + s, p);
    vsum = vaddq_f32(vsum, p);
  }
  float sum = vaddvq_f32(vsum);
  if (s < keys) {
    float tail[4] = {neg_inf, neg_inf, neg_inf, neg_inf};
    std::copy(row + s, row + keys, tail);
    const float32x4_t sc = vld1q_f32(tail);
    vst1q_f32(tail, vbslq_f32(vceqq_f32(sc, vdupq_n_f32(neg_inf)), vdupq_n_f32(0.0f), exp4(vsubq_f32(sc, m))));
    for (size_t i = 0; s + i < keys; ++i) {
      row[s + i] = tail[i];
      sum += tail[i];
    }
  }
  return sum;
}

// R rows of y = init + Σ_s w[i][s] x[s], columns c .. c+4V, then × mul[i].
// Rows are w_stride (w), x_stride (x) and y_stride (y) floats apart; init and
// mul (per row) may be null (0 and 1). Sources below `common` are shared by
// all R rows; from `common` to `last`, row i takes source s only when
// s ≤ diag + i (causal).
template <int R, int V>
inline void mix_block(const float* w, size_t w_stride, const float* x, size_t x_stride, float* y, size_t y_stride,
                      const float* init, const float* mul, size_t c, size_t common, size_t last, size_t diag) {
  float32x4_t acc[R][V];
  for (int i = 0; i < R; ++i) {
    const float32x4_t b = vdupq_n_f32(init ? init[i] : 0.0f);
    for (int j = 0; j < V; ++j) acc[i][j] = b;
  }
  const float* xs = x + c;
  for (size_t s = 0; s < common; ++s, xs += x_stride) {
    float32x4_t xv[V];
    for (int j = 0; j < V; ++j) xv[j] = vld1q_f32(xs + 4 * j);
    for (int i = 0; i < R; ++i) {
      const float ws = w[i * w_stride + s];
      for (int j = 0; j < V; ++j) acc[i][j] = vfmaq_n_f32(acc[i][j], xv[j], ws);
    }
  }
  for (size_t s = common; s < last; ++s, xs += x_stride) {
    for (int i = 0; i < R; ++i) {
      if (s > diag + i) continue;
      const float ws = w[i * w_stride + s];
      for (int j = 0; j < V; ++j) acc[i][j] = vfmaq_n_f32(acc[i][j], vld1q_f32(xs + 4 * j), ws);
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < V; ++j)
      vst1q_f32(y + i * y_stride + c + 4 * j, mul ? vmulq_n_f32(acc[i][j], mul[i]) : acc[i][j]);
}

// mix_block over all `cols` columns: blocks of 16 (or 32 for one row), of 4,
// then the last cols % 4 in scalar code.
template <int R>
inline void mix_rows(const float* w, size_t w_stride, const float* x, size_t x_stride, float* y, size_t y_stride,
                     size_t cols, const float* init, const float* mul, size_t common, size_t last, size_t diag) {
  size_t c = 0;
  if constexpr (R == 1)
    for (; c + 32 <= cols; c += 32)
      mix_block<R, 8>(w, w_stride, x, x_stride, y, y_stride, init, mul, c, common, last, diag);
  for (; c + 16 <= cols; c += 16) mix_block<R, 4>(w, w_stride, x, x_stride, y, y_stride, init, mul, c, common, last, diag);
  for (; c + 4 <= cols; c += 4) mix_block<R, 1>(w, w_stride, x, x_stride, y, y_stride, init, mul, c, common, last, diag);
  for (int i = 0; i < R && c < cols; ++i) {
    const size_t sources = std::max(common, std::min(last, diag + i + 1));
    for (size_t j = c; j < cols; ++j) {
      float acc = init ? init[i] : 0.0f;
      for (size_t s = 0; s < sources; ++s) acc += w[i * w_stride + s] * x[s * x_stride + j];
      y[i * y_stride + j] = mul ? acc * mul[i] : acc;
    }
  }
}

// Query rows in blocks of four: the four rows' scores come from one pass over
// K, and their weighted sums from one pass over V. The scratch holds four
// rows of n scores (attention_scratch_floats(n, dim) ≥ 4·⌈n/16⌉·16).
void attention_head(const AttentionHeadArgs& a) {
  const size_t np = (a.n + 15) / 16 * 16;
  float* scores = a.scratch;
  size_t t = a.row_begin;
  for (; t + 4 <= a.row_end; t += 4) {
    const float* q[4] = {a.q + t * a.q_stride, a.q + (t + 1) * a.q_stride, a.q + (t + 2) * a.q_stride,
                         a.q + (t + 3) * a.q_stride};
    const size_t first_keys = a.causal ? t + a.q_offset + 1 : a.n;  // row t's keys; row t+i has i more when causal
    const size_t all_keys = a.causal ? first_keys + 3 : a.n;
    score_rows<4>(q, a.k, a.k_stride, a.dim, all_keys, a.scale, scores, np);
    float inv[4];
    for (size_t i = 0; i < 4; ++i)
      inv[i] = 1.0f / softmax_numerators(scores + i * np, a.causal ? first_keys + i : a.n, a.key_masked);
    mix_rows<4>(scores, np, a.v, a.v_stride, a.out + t * a.out_stride, a.out_stride, a.dim, nullptr, inv, first_keys,
                all_keys, t + a.q_offset);
  }
  for (; t < a.row_end; ++t) {
    const float* q = a.q + t * a.q_stride;
    const size_t keys = a.causal ? t + a.q_offset + 1 : a.n;
    score_rows<1>(&q, a.k, a.k_stride, a.dim, keys, a.scale, scores, np);
    const float inv = 1.0f / softmax_numerators(scores, keys, a.key_masked);
    mix_rows<1>(scores, np, a.v, a.v_stride, a.out + t * a.out_stride, a.out_stride, a.dim, nullptr, &inv, keys, keys,
                t + a.q_offset);
  }
}

// Four rows at a time: each x[s] vector loaded serves all four.
void token_mix(const float* w, size_t w_stride, const float* bias, const float* x, float* y, size_t n,
               size_t row_begin, size_t row_end, size_t cols, bool causal) {
  size_t t = row_begin;
  for (; t + 4 <= row_end; t += 4)
    mix_rows<4>(w + t * w_stride, w_stride, x, cols, y + t * cols, cols, cols, bias ? bias + t : nullptr, nullptr,
                causal ? t + 1 : n, causal ? t + 4 : n, t);
  for (; t < row_end; ++t) {
    const size_t sources = causal ? t + 1 : n;
    mix_rows<1>(w + t * w_stride, w_stride, x, cols, y + t * cols, cols, cols, bias ? bias + t : nullptr, nullptr,
                sources, sources, t);
  }
}

// --- Dense layers: GEMM on weights packed once into panels of kNR = 16
// columns, [panel][k][16], zero-padded past n. A tile is kMR = 6 rows × 16
// columns: 24 accumulators, four B vectors and one broadcast A value, 29 of
// the 32 vector registers. The depth is blocked by kKC so that a panel's
// block of W (16 KiB) stays in L1 while every row tile passes over it.
constexpr size_t kNR = 16;
constexpr size_t kMR = 6;
constexpr size_t kKC = 256;

size_t gemm_packed_floats(size_t n, size_t k) { return (n + kNR - 1) / kNR * k * kNR; }

void gemm_pack(const float* w, size_t n, size_t k, float* packed) {
  for (size_t p = 0; p < (n + kNR - 1) / kNR; ++p)
    for (size_t kk = 0; kk < k; ++kk)
      for (size_t j = 0; j < kNR; ++j) {
        const size_t col = p * kNR + j;
        *packed++ = col < n ? w[col * k + kk] : 0.0f;
      }
}

inline float32x4_t epilogue4(Epilogue e, float32x4_t v) {
  switch (e) {
    case Epilogue::Gelu: return gelu4(v);
    case Epilogue::GeluTanh: return gelu_tanh4(v);
    case Epilogue::Relu: return relu4(v);
    default: return v;
  }
}

// c[ROWS, cols] (+)= a[ROWS, kc] · b[kc, 16] for one depth block: starting
// from c (later blocks), the bias or 0 (the first); the epilogue, then the
// residual (may be null), after the last. cols < 16 on the last panel, whose
// padding columns are computed but not stored.
template <int ROWS>
inline void gemm_tile(const float* a, size_t a_stride, const float* b, size_t kc, float* c, size_t c_stride,
                      size_t cols, const float* bias, const float* residual, bool first, bool last, Epilogue e) {
  float32x4_t acc[ROWS][4];
  for (int r = 0; r < ROWS; ++r) {
    const float* init = !first ? c + r * c_stride : bias;
    if (!init) {
      for (int j = 0; j < 4; ++j) acc[r][j] = vdupq_n_f32(0.0f);
    } else if (cols == kNR) {
      for (int j = 0; j < 4; ++j) acc[r][j] = vld1q_f32(init + 4 * j);
    } else {
      float buf[kNR] = {};
      std::copy(init, init + cols, buf);
      for (int j = 0; j < 4; ++j) acc[r][j] = vld1q_f32(buf + 4 * j);
    }
  }
  for (size_t kk = 0; kk < kc; ++kk, b += kNR) {
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8), b3 = vld1q_f32(b + 12);
    for (int r = 0; r < ROWS; ++r) {
      const float x = a[r * a_stride + kk];
      acc[r][0] = vfmaq_n_f32(acc[r][0], b0, x);
      acc[r][1] = vfmaq_n_f32(acc[r][1], b1, x);
      acc[r][2] = vfmaq_n_f32(acc[r][2], b2, x);
      acc[r][3] = vfmaq_n_f32(acc[r][3], b3, x);
    }
  }
  for (int r = 0; r < ROWS; ++r) {
    if (last && e != Epilogue::None)
      for (int j = 0; j < 4; ++j) acc[r][j] = epilogue4(e, acc[r][j]);
    float* row = c + r * c_stride;
    const float* add = last && residual ? residual + r * c_stride : nullptr;
    if (cols == kNR) {
      if (add)
        for (int j = 0; j < 4; ++j) acc[r][j] = vaddq_f32(acc[r][j], vld1q_f32(add + 4 * j));
      for (int j = 0; j < 4; ++j) vst1q_f32(row + 4 * j, acc[r][j]);
    } else {
      float buf[kNR];
      for (int j = 0; j < 4; ++j) vst1q_f32(buf + 4 * j, acc[r][j]);
      for (size_t j = 0; add && j < cols; ++j) buf[j] += add[j];
      std::copy(buf, buf + cols, row);
    }
  }
}

// c[m, n] = epilogue(a · Wᵀ + bias) + residual over the columns of panels
// [panel_begin, panel_end).
void gemm(const float* a, size_t a_stride, size_t m, size_t k, const float* packed, const float* bias, Epilogue e,
          const float* residual, float* c, size_t c_stride, size_t n, size_t panel_begin, size_t panel_end) {
  for (size_t k0 = 0; k0 < k; k0 += kKC) {
    const size_t kc = std::min(kKC, k - k0);
    const bool first = k0 == 0, last = k0 + kc == k;
    for (size_t p = panel_begin; p < panel_end; ++p) {
      const float* b = packed + p * k * kNR + k0 * kNR;
      const size_t cols = std::min(kNR, n - p * kNR);
      const float* panel_bias = bias ? bias + p * kNR : nullptr;
      for (size_t m0 = 0; m0 < m; m0 += kMR) {
        const float* at = a + m0 * a_stride + k0;
        float* ct = c + m0 * c_stride + p * kNR;
        const float* rt = residual ? residual + m0 * c_stride + p * kNR : nullptr;
        switch (std::min(kMR, m - m0)) {
          case 6: gemm_tile<6>(at, a_stride, b, kc, ct, c_stride, cols, panel_bias, rt, first, last, e); break;
          case 5: gemm_tile<5>(at, a_stride, b, kc, ct, c_stride, cols, panel_bias, rt, first, last, e); break;
          case 4: gemm_tile<4>(at, a_stride, b, kc, ct, c_stride, cols, panel_bias, rt, first, last, e); break;
          case 3: gemm_tile<3>(at, a_stride, b, kc, ct, c_stride, cols, panel_bias, rt, first, last, e); break;
          case 2: gemm_tile<2>(at, a_stride, b, kc, ct, c_stride, cols, panel_bias, rt, first, last, e); break;
          default: gemm_tile<1>(at, a_stride, b, kc, ct, c_stride, cols, panel_bias, rt, first, last, e); break;
        }
      }
    }
  }
}

}  // namespace

const Kernels& neon_kernels() {
  static const Kernels table = {"neon",      layernorm, gelu,     gelu_tanh,          add,
                                attention_head, token_mix, kNR, gemm_packed_floats, gemm_pack, gemm,
                                512,       size_t{1} << 18};
  return table;
}

}  // namespace attn
