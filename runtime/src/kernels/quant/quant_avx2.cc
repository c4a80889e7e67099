// The AVX2 variant without VNNI (Zen 3, Haswell to Skylake): 32 products per
// block by vpmaddubsw (unsigned × signed bytes, pairs summed to int16) and
// vpmaddwd (pairs to int32). Q8 weights stay signed and take the sign trick,
// |w| × (a with w's sign), so that a pair sum stays within int16 (2·127·127 <
// 2^15; q + 128 would reach 2·255·127 and saturate). Q4's 0..15 need none.
// Compiled with -mavx2 -mfma -mf16c.

#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "quant_common.h"

namespace attn {
namespace {

struct D {
  static constexpr const char* kName = "avx2";
  static constexpr const char* kPath = "avx2";
  static constexpr size_t kRows = 2, kF16Rows = 2;
  static constexpr uint8_t kQ8Xor = 0;
  static __m256i pairs(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
  }
  static __m256i dot_q8(__m256i acc, __m256i w, __m256i a) {
    return _mm256_add_epi32(acc, pairs(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w)));
  }
  static __m256i dot_u4(__m256i init, __m256i w, __m256i a) { return _mm256_add_epi32(init, pairs(w, a)); }
  static const Kernels& f32() { return avx2_kernels(); }
};

#include "quant_x86.inc"

}  // namespace

const QuantKernels& avx2_quant_kernels() { return kTable; }

}  // namespace attn
