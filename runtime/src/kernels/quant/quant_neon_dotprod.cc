// The NEON variant with the dot product extension (Armv8.2 dotprod:
// Cortex-A55/A76 and later, Apple M1): sdot sums 4 signed byte products into
// each int32 lane. The kernels below are compiled for Armv8.2 with dotprod
// (the target pragma after the includes, so that the shared inline code keeps
// the baseline target), and the table is chosen only when the CPU reports
// the extension (quant_dispatch.cc).

#include <arm_neon.h>

#include <cstring>
#include <type_traits>

#include "quant_common.h"

#pragma GCC target("arch=armv8.2-a+dotprod")

namespace attn {

const Kernels& neon_kernels();  // f32_neon.cc

namespace {

struct D {
  static constexpr const char* kName = "neon-dotprod";
  static constexpr size_t kRows = 4;
  static int32x4_t dot(int32x4_t acc, int8x16_t w0, int8x16_t w1, int8x16_t a0, int8x16_t a1) {
    return vdotq_s32(vdotq_s32(acc, w0, a0), w1, a1);
  }
};

#include "quant_neon.inc"

}  // namespace

const QuantKernels& neon_dotprod_quant_kernels() { return kTable; }

}  // namespace attn
