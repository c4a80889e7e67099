// The AVX2 variant with AVX-VNNI (Zen 5, Alder Lake and later): vpdpbusd on
// 256-bit registers, unsigned weights × signed activations accumulated into
// int32 in one instruction. Q8 weights are packed as q + 128 and the block's
// 128·Σa is taken back through the accumulator's initial value. Compiled with
// -mavx2 -mfma -mf16c -mavxvnni.

#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "quant_common.h"

namespace attn {
namespace {

struct D {
  static constexpr const char* kName = "avx2-vnni";
  static constexpr const char* kPath = "avx2";
  static constexpr size_t kRows = 3, kF16Rows = 2;  // q8/q4: 12 accumulators, 2 weight vectors
  static constexpr uint8_t kQ8Xor = 0x80;
  static __m256i dot_q8(__m256i init, __m256i w, __m256i a) { return _mm256_dpbusd_avx_epi32(init, w, a); }
  static __m256i dot_u4(__m256i init, __m256i w, __m256i a) { return _mm256_dpbusd_avx_epi32(init, w, a); }
  static const Kernels& f32() { return avx2_kernels(); }
};

#include "quant_x86.inc"

}  // namespace

const QuantKernels& avxvnni_quant_kernels() { return kTable; }

}  // namespace attn
