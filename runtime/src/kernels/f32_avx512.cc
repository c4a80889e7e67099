// The AVX-512F path (16 lanes). Compiled with -mavx512f -mfma; chosen only on
// CPUs with AVX-512F.

// GCC 12's AVX-512 intrinsics start from an _mm512_undefined_ps() that GCC
// itself then reports as uninitialized once they are inlined deep enough
// (GCC bug 105593, fixed in GCC 13). Clang has neither the bug nor the
// second warning's name.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

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
  using R = __m512;
  using M = __mmask16;
  static constexpr size_t N = 16;
  static constexpr size_t kAttentionRows = 8;  // 16 accumulators of 32 registers
  static constexpr size_t kGemmRows = 8;  // 16 accumulators of 32 registers
  static constexpr size_t kGemmVectors = 2;
  static constexpr size_t kGemmDepth = 1024;
  static constexpr size_t kGemmPanelGroup = 1;  // the panel's block of B stays in L1 for every row tile
  // In place: 6 rows of A × 4 rows of W, 24 accumulators, 6 A vectors and
  // one of W (31 of 32 registers). K blocks of up to 1024 take GPT-2's
  // k = 768 layers whole, each output summed once: 10-20% faster on a Zen 5
  // core than 512-deep blocks (measured with 16 columns per pass).
  static constexpr size_t kNtRows = 6;
  static constexpr size_t kNtDepth = 1024;
  static constexpr size_t kTransposeBlock = 8;
  static void transpose_block(const float* src, size_t src_stride, float* dst, size_t dst_stride) {
    transpose8x8_avx(src, src_stride, dst, dst_stride);
  }
  static R zero() { return _mm512_setzero_ps(); }
  static R set1(float f) { return _mm512_set1_ps(f); }
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, R r) { _mm512_storeu_ps(p, r); }
  static M tail_mask(size_t n) { return __mmask16((1u << n) - 1u); }
  static R load_tail(const float* p, size_t n) { return _mm512_maskz_loadu_ps(tail_mask(n), p); }
  static void store_tail(float* p, R r, size_t n) { _mm512_mask_storeu_ps(p, tail_mask(n), r); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R div(R a, R b) { return _mm512_div_ps(a, b); }
  static R fmadd(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R max(R a, R b) { return _mm512_max_ps(a, b); }
  static R min(R a, R b) { return _mm512_min_ps(a, b); }
  static R abs(R a) { return _mm512_abs_ps(a); }
  static R copysign(R mag, R sign) {
    const __m512i bit = _mm512_set1_epi32(int(0x80000000u));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_andnot_si512(bit, _mm512_castps_si512(mag)),
                                               _mm512_and_si512(bit, _mm512_castps_si512(sign))));
  }
  static M less(R a, R b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static R blend(M m, R if_true, R if_false) { return _mm512_mask_blend_ps(m, if_false, if_true); }
  static R round(R a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static R scale2(R p, R n) { return _mm512_scalef_ps(p, n); }  // one instruction
  static R scale2_biased(R p, R t) {
    return _mm512_mul_ps(p, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(t), 23)));
  }
  static float hsum(R a) { return _mm512_reduce_add_ps(a); }
  // The halves of each vector added, then AVX's pairwise adds on the four.
  static R reduce4(R a, R b, R c, R d) {
    auto half = [](R x) {
      return _mm256_add_ps(_mm512_castps512_ps256(x),
                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
    };
    const __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(half(a), half(b)), _mm256_hadd_ps(half(c), half(d)));
    const __m128 sums = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    return _mm512_insertf32x4(_mm512_setzero_ps(), sums, 0);
  }
  static float hmax(R a) { return _mm512_reduce_max_ps(a); }
};

#include "f32_simd.inc"

}  // namespace

const Kernels& avx512_kernels() {
  // The GEMM takes every dense layer: faster on every layer shape of bench/ with full-width 512-bit FMAs,
  // about even with XNNPACK where they are split in two.
  static const Kernels table = simd_kernels("avx512", 0, 0);
  return table;
}

}  // namespace attn
