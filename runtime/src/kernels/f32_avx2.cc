// The AVX2 + FMA path (8 lanes). Compiled with -mavx2 -mfma; chosen only on
// CPUs that have both.

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <type_traits>
#include <utility>

#include "avx_transpose.h"
#include "kernels.h"

namespace attn {
namespace {

struct V {
  using R = __m256;
  using M = __m256;
  static constexpr size_t N = 8;
  static constexpr size_t kAttentionRows = 6;  // 12 accumulators of 16 registers
  static constexpr size_t kGemmRows = 6;  // 12 accumulators of 16 registers
  static constexpr size_t kGemmVectors = 2;
  // A row tile meets 8 panels of B per K block (8 · 512 · 64 bytes, in L2)
  // while it stays in L1: on a Zen 3 core 10-20% faster on the ViT and GPT-2
  // layers than one panel per pass with a 256-deep block.
  static constexpr size_t kGemmDepth = 512;
  static constexpr size_t kGemmPanelGroup = 8;
  // In place: 3 rows of A × 4 rows of W, 12 accumulators and 3 A vectors (W
  // comes from memory into the FMAs); a group of 16 rows of W × 512 floats
  // (32 KiB) and the row tile of A (6 KiB) stay in L1.
  static constexpr size_t kNtRows = 3;
  static constexpr size_t kNtDepth = 512;
  static constexpr size_t kTransposeBlock = 8;
  static void transpose_block(const float* src, size_t src_stride, float* dst, size_t dst_stride) {
    transpose8x8_avx(src, src_stride, dst, dst_stride);
  }
  static R zero() { return _mm256_setzero_ps(); }
  static R set1(float f) { return _mm256_set1_ps(f); }
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, R r) { _mm256_storeu_ps(p, r); }
  static __m256i lanes_below(size_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static M tail_mask(size_t n) { return _mm256_castsi256_ps(lanes_below(n)); }
  static R load_tail(const float* p, size_t n) { return _mm256_maskload_ps(p, lanes_below(n)); }
  static void store_tail(float* p, R r, size_t n) { _mm256_maskstore_ps(p, lanes_below(n), r); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static R div(R a, R b) { return _mm256_div_ps(a, b); }
  static R fmadd(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R max(R a, R b) { return _mm256_max_ps(a, b); }
  static R min(R a, R b) { return _mm256_min_ps(a, b); }
  static R abs(R a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static R copysign(R mag, R sign) {
    const R bit = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(bit, mag), _mm256_and_ps(bit, sign));
  }
  static M less(R a, R b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static R blend(M m, R if_true, R if_false) { return _mm256_blendv_ps(if_false, if_true, m); }
  static R round(R a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static R scale2(R p, R n) {  // 2^n through the exponent bits
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
  }
  // p·2^n, where the low 9 bits of t's representation hold n + 127 (t = n + 127 + 1.5·2^23).
  static R scale2_biased(R p, R t) {
    return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23)));
  }
  static float hsum(R a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // [a0+a1, a2+a3, b0+b1, b2+b3 | a4+a5, ...], twice more, then the halves.
  static R reduce4(R a, R b, R c, R d) {
    const __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    const __m128 sums = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    return _mm256_insertf128_ps(_mm256_setzero_ps(), sums, 0);
  }
  static float hmax(R a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

#include "f32_simd.inc"

}  // namespace

const Kernels& avx2_kernels() {
  // The GEMM takes every dense layer: about twice XNNPACK's 2022 kernels on every layer shape of bench/
  // on a Zen 3 core (XNNPACK reached about a third of the FMA peak).
  static const Kernels table = simd_kernels("avx2", 0, 0);
  return table;
}

}  // namespace attn
