// The plain NEON variant (Armv8.0, e.g. Cortex-A53/A72): a block's 32
// products by vmull_s8 and vmlal_high_s8 (two products per int16 lane, at
// most 2·127·127 < 2^15) and vpadalq_s16 into int32 lanes.

#include <arm_neon.h>

#include <cstring>
#include <type_traits>

#include "quant_common.h"

namespace attn {

const Kernels& neon_kernels();  // f32_neon.cc

namespace {

struct D {
  static constexpr const char* kName = "neon";
  static constexpr size_t kRows = 4, kF16Rows = 4;
  static constexpr uint8_t kQ8Xor = 0;
  // A wide group would need a pairwise add more per 16 products here
  // (docs/kernels.md, "Quantized weights"), so the narrow layout stays.
  static constexpr bool kWide = false;
  using VWide = void;
  static const Kernels& f32() { return neon_kernels(); }
  static int32x4_t half(int32x4_t acc, int8x16_t w, int8x16_t a) {
    return vpadalq_s16(acc, vmlal_high_s8(vmull_s8(vget_low_s8(w), vget_low_s8(a)), w, a));
  }
  static int32x4_t dot(int32x4_t acc, int8x16_t w0, int8x16_t w1, int8x16_t a0, int8x16_t a1) {
    return half(half(acc, w0, a0), w1, a1);
  }
};

#include "quant_neon.inc"

}  // namespace

const QuantKernels& neon_quant_kernels() { return kTable; }

}  // namespace attn
