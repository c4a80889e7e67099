// The NEON kernels, for aarch64 only: Advanced SIMD is part of the base
// AArch64 instruction set, so this file needs no extra compiler flags and
// uses nothing past Armv8.0-A (it runs on a Cortex-A53 as on an Apple M2).
//
// Every kernel takes and returns float32 and must stay within the scalar
// reference's numerical contract (tests/test_kernels.cc: 1e-6 relative for
// the activations, 2e-5 for attention), so all arithmetic here is float32
// with fused multiply-adds; see dispatch.cc for why no fp16 or dot-product
// variant is selected.

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
// + r with |r| ≤ ln2/2, e^r by a degree-6 polynomial, 2^n through the exponent
// bits.
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

inline float32x4_t relu4(float32x4_t x) {
  // x > 0 ? x : 0, as the reference (so a NaN gives 0, -0 gives +0).
  return vbslq_f32(vcgtq_f32(x, vdupq_n_f32(0.0f)), x, vdupq_n_f32(0.0f));
}
void relu(float* x, size_t count) { map_inplace<relu4>(x, count); }

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

// q·k[s] for four keys at once, as one vector.
inline float32x4_t dot4(const float* q, const float* k0, const float* k1, const float* k2, const float* k3,
                        size_t dim) {
  float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
  size_t c = 0;
  for (; c + 4 <= dim; c += 4) {
    const float32x4_t qv = vld1q_f32(q + c);
    a0 = vfmaq_f32(a0, qv, vld1q_f32(k0 + c));
    a1 = vfmaq_f32(a1, qv, vld1q_f32(k1 + c));
    a2 = vfmaq_f32(a2, qv, vld1q_f32(k2 + c));
    a3 = vfmaq_f32(a3, qv, vld1q_f32(k3 + c));
  }
  float32x4_t dots = vpaddq_f32(vpaddq_f32(a0, a1), vpaddq_f32(a2, a3));
  if (c < dim) {
    float tail[4] = {0, 0, 0, 0};
    for (; c < dim; ++c) {
      tail[0] += q[c] * k0[c];
      tail[1] += q[c] * k1[c];
      tail[2] += q[c] * k2[c];
      tail[3] += q[c] * k3[c];
    }
    dots = vaddq_f32(dots, vld1q_f32(tail));
  }
  return dots;
}

// out[c .. c + 4V) = inv · Σ_s p[s] v[s][c .. c + 4V), skipping masked keys.
template <int V>
inline void weighted_sum(const float* p, const float* v, size_t v_stride, size_t keys, const uint8_t* masked,
                         float inv, float* out) {
  float32x4_t acc[V];
  for (int j = 0; j < V; ++j) acc[j] = vdupq_n_f32(0.0f);
  for (size_t s = 0; s < keys; ++s, v += v_stride) {
    if (masked && masked[s]) continue;
    const float ps = p[s];
    for (int j = 0; j < V; ++j) acc[j] = vfmaq_n_f32(acc[j], vld1q_f32(v + 4 * j), ps);
  }
  for (int j = 0; j < V; ++j) vst1q_f32(out + 4 * j, vmulq_n_f32(acc[j], inv));
}

void attention_head(const AttentionHeadArgs& a) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const size_t dim = a.dim;
  const uint8_t* masked = a.key_masked;
  float* scores = a.scratch;  // n floats of the scratch are enough here
  for (size_t t = a.row_begin; t < a.row_end; ++t) {
    const float* q = a.q + t * a.q_stride;
    const size_t keys = a.causal ? t + a.q_offset + 1 : a.n;

    // Scores, four keys at a time, and their maximum.
    float32x4_t vmax = vdupq_n_f32(neg_inf);
    size_t s = 0;
    for (; s + 4 <= keys; s += 4) {
      const float* k = a.k + s * a.k_stride;
      float32x4_t d = vmulq_n_f32(dot4(q, k, k + a.k_stride, k + 2 * a.k_stride, k + 3 * a.k_stride, dim), a.scale);
      if (masked) {
        const uint32_t m[4] = {masked[s], masked[s + 1], masked[s + 2], masked[s + 3]};
        d = vbslq_f32(vtstq_u32(vld1q_u32(m), vld1q_u32(m)), vdupq_n_f32(neg_inf), d);
      }
      vst1q_f32(scores + s, d);
      vmax = vmaxq_f32(vmax, d);
    }
    float max = vmaxvq_f32(vmax);
    for (; s < keys; ++s) {
      scores[s] = masked && masked[s] ? neg_inf : dot(q, a.k + s * a.k_stride, dim) * a.scale;
      max = std::max(max, scores[s]);
    }

    // p = e^(score - max), 0 for masked keys; their sum.
    const float32x4_t vmax_all = vdupq_n_f32(max);
    float32x4_t vsum = vdupq_n_f32(0.0f);
    s = 0;
    for (; s + 4 <= keys; s += 4) {
      const float32x4_t sc = vld1q_f32(scores + s);
      float32x4_t p = exp4(vsubq_f32(sc, vmax_all));
      if (masked) p = vbslq_f32(vceqq_f32(sc, vdupq_n_f32(neg_inf)), vdupq_n_f32(0.0f), p);
      vst1q_f32(scores + s, p);
      vsum = vaddq_f32(vsum, p);
    }
    float sum = vaddvq_f32(vsum);
    if (s < keys) {
      float tail[4] = {neg_inf, neg_inf, neg_inf, neg_inf};
      std::copy(scores + s, scores + keys, tail);
      const float32x4_t sc = vld1q_f32(tail);
      const float32x4_t p =
          vbslq_f32(vceqq_f32(sc, vdupq_n_f32(neg_inf)), vdupq_n_f32(0.0f), exp4(vsubq_f32(sc, vmax_all)));
      vst1q_f32(tail, p);
      for (size_t i = 0; s + i < keys; ++i) {
        scores[s + i] = tail[i];
        sum += tail[i];
      }
    }
    const float inv = 1.0f / sum;

    // out = Σ p[s] v[s] / sum, in column blocks held in registers.
    float* out = a.out + t * a.out_stride;
    size_t c = 0;
    for (; c + 32 <= dim; c += 32) weighted_sum<8>(scores, a.v + c, a.v_stride, keys, masked, inv, out + c);
    for (; c + 16 <= dim; c += 16) weighted_sum<4>(scores, a.v + c, a.v_stride, keys, masked, inv, out + c);
    for (; c + 4 <= dim; c += 4) weighted_sum<1>(scores, a.v + c, a.v_stride, keys, masked, inv, out + c);
    if (c < dim) {
      float acc[3] = {0, 0, 0};
      const float* v = a.v + c;
      for (size_t s2 = 0; s2 < keys; ++s2, v += a.v_stride) {
        if (masked && masked[s2]) continue;
        for (size_t j = 0; c + j < dim; ++j) acc[j] += scores[s2] * v[j];
      }
      for (size_t j = 0; c + j < dim; ++j) out[c + j] = acc[j] * inv;
    }
  }
}

// Rows t .. t+R of y, columns c .. c+4V: bias + Σ_s w[t+i, s] x[s]. Sources
// below `common` are shared by all R rows; from `common` to `last`, row t+i
// takes source s only when s ≤ t+i (causal).
template <int R, int V>
inline void mix_block(const float* w, size_t w_stride, const float* bias, const float* x, float* y, size_t cols,
                      size_t t, size_t c, size_t common, size_t last) {
  float32x4_t acc[R][V];
  for (int i = 0; i < R; ++i) {
    const float32x4_t b = vdupq_n_f32(bias ? bias[t + i] : 0.0f);
    for (int j = 0; j < V; ++j) acc[i][j] = b;
  }
  const float* xs = x + c;
  for (size_t s = 0; s < common; ++s, xs += cols) {
    float32x4_t xv[V];
    for (int j = 0; j < V; ++j) xv[j] = vld1q_f32(xs + 4 * j);
    for (int i = 0; i < R; ++i) {
      const float ws = w[(t + i) * w_stride + s];
      for (int j = 0; j < V; ++j) acc[i][j] = vfmaq_n_f32(acc[i][j], xv[j], ws);
    }
  }
  for (size_t s = common; s < last; ++s, xs += cols) {
    for (int i = 0; i < R; ++i) {
      if (s > t + i) continue;
      const float ws = w[(t + i) * w_stride + s];
      for (int j = 0; j < V; ++j) acc[i][j] = vfmaq_n_f32(acc[i][j], vld1q_f32(xs + 4 * j), ws);
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < V; ++j) vst1q_f32(y + (t + i) * cols + c + 4 * j, acc[i][j]);
}

// The last cols % 4 columns of one row, in scalar code.
inline void mix_tail(const float* w, size_t w_stride, const float* bias, const float* x, float* y, size_t cols,
                     size_t t, size_t c, size_t sources) {
  for (size_t j = c; j < cols; ++j) {
    float acc = bias ? bias[t] : 0.0f;
    for (size_t s = 0; s < sources; ++s) acc += w[t * w_stride + s] * x[s * cols + j];
    y[t * cols + j] = acc;
  }
}

void token_mix(const float* w, size_t w_stride, const float* bias, const float* x, float* y, size_t n,
               size_t row_begin, size_t row_end, size_t cols, bool causal) {
  size_t t = row_begin;
  // Four rows at a time: each x[s] vector loaded once serves all four.
  for (; t + 4 <= row_end; t += 4) {
    const size_t common = causal ? t + 1 : n, last = causal ? t + 4 : n;
    size_t c = 0;
    for (; c + 16 <= cols; c += 16) mix_block<4, 4>(w, w_stride, bias, x, y, cols, t, c, common, last);
    for (; c + 4 <= cols; c += 4) mix_block<4, 1>(w, w_stride, bias, x, y, cols, t, c, common, last);
    for (size_t i = 0; i < 4; ++i) mix_tail(w, w_stride, bias, x, y, cols, t + i, c, causal ? t + i + 1 : n);
  }
  for (; t < row_end; ++t) {
    const size_t sources = causal ? t + 1 : n;
    size_t c = 0;
    for (; c + 32 <= cols; c += 32) mix_block<1, 8>(w, w_stride, bias, x, y, cols, t, c, sources, sources);
    for (; c + 4 <= cols; c += 4) mix_block<1, 1>(w, w_stride, bias, x, y, cols, t, c, sources, sources);
    mix_tail(w, w_stride, bias, x, y, cols, t, c, sources);
  }
}

}  // namespace

const Kernels& neon_kernels() {
  static const Kernels table = {"neon", layernorm, gelu, gelu_tanh, relu, add, attention_head, token_mix};
  return table;
}

}  // namespace attn
