// The AVX-512 variant (AVX-512 F/BW/VL/VNNI: Ice Lake, Zen 4 and later):
// q8 and q4 by vpdpbusd on 512-bit registers, 16 columns per vector, in
// tiles of up to 6 rows × 32 columns (two wide panels: 12 integer and 12
// float accumulators); f16 in tiles of 4 rows × 4 columns with two blocks
// of 32 per register (quant_x86.inc). Q8 weights are packed as q + 128 (see
// quant_avxvnni.cc). Compiled with -mavx512f -mavx512bw -mavx512vl
// -mavx512vnni -mavx2 -mfma -mf16c.

#if defined(__GNUC__) && !defined(__clang__)  // GCC bug 105593 (see f32_avx512.cc)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "quant_common.h"

namespace attn {
namespace {

struct D {
  static constexpr const char* kName = "avx512-vnni";
  static constexpr const char* kPath = "avx512";
  static constexpr size_t kRows = 6, kF16Rows = 4;
  static constexpr uint8_t kQ8Xor = 0x80;
  static __m256i dot_q8(__m256i init, __m256i w, __m256i a) { return _mm256_dpbusd_epi32(init, w, a); }
  static __m256i dot_u4(__m256i init, __m256i w, __m256i a) { return _mm256_dpbusd_epi32(init, w, a); }
  static const Kernels& f32() { return avx512_kernels(); }
};

#include "quant_x86.inc"

}  // namespace

const QuantKernels& avx512_quant_kernels() { return kTable; }

}  // namespace attn
