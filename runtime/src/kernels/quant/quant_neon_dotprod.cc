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

// quant_wide.inc's vector operations on 128 bits: a vector is 4 columns of
// a wide group (16 bytes), and sdot takes a broadcast activation word.
struct V128 {
  using I = int32x4_t;
  using F = float32x4_t;
  static constexpr size_t kLanes = 4;
  static I load(const uint8_t* p) { return vreinterpretq_s32_u8(vld1q_u8(p)); }
  static I bcast(const int8_t* p) {
    int32_t x;
    std::memcpy(&x, p, 4);
    return vdupq_n_s32(x);
  }
  static I set1(int32_t x) { return vdupq_n_s32(x); }
  static I and_(I x, I y) { return vandq_s32(x, y); }
  static I add_i(I x, I y) { return vaddq_s32(x, y); }
  static I srl4(I x) { return vreinterpretq_s32_u8(vshrq_n_u8(vreinterpretq_u8_s32(x), 4)); }
  static I dot_q8(I acc, I w, I x) { return vdotq_s32(acc, vreinterpretq_s8_s32(w), vreinterpretq_s8_s32(x)); }
  static I dot_u4(I acc, I w, I x) { return dot_q8(acc, w, x); }  // nibbles 0..15 are non-negative bytes
  static F zero() { return vdupq_n_f32(0.0f); }
  static F set1f(float x) { return vdupq_n_f32(x); }
  static F loadf(const float* p) { return vld1q_f32(p); }
  static void storef(float* p, F x) { vst1q_f32(p, x); }
  static F cvt(I x) { return vcvtq_f32_s32(x); }
  static F mul(F x, F y) { return vmulq_f32(x, y); }
  static F add(F x, F y) { return vaddq_f32(x, y); }
  static F fmadd(F x, F y, F z) { return vfmaq_f32(z, x, y); }
};

// q8 and q4 on the wide layout: per row and block, 8 sdot per 4 columns
// and one broadcast per group shared by the panel's 4 vectors, where the
// narrow tile takes 2 sdot, a convert and an FMA per column (about 0.1
// against 0.125 instructions per multiply-add). 3 rows: 12 float and 12
// integer accumulators and 4 weight vectors fit the 32 registers for q8.
struct D {
  static constexpr const char* kName = "neon-dotprod";
  static constexpr size_t kRows = 3, kF16Rows = 4;
  static constexpr uint8_t kQ8Xor = 0;
  static constexpr bool kWide = true;
  using VWide = V128;
  static const Kernels& f32() { return neon_kernels(); }
  static int32x4_t dot(int32x4_t acc, int8x16_t w0, int8x16_t w1, int8x16_t a0, int8x16_t a1) {
    return vdotq_s32(vdotq_s32(acc, w0, a0), w1, a1);
  }
};

#include "quant_neon.inc"

}  // namespace

const QuantKernels& neon_dotprod_quant_kernels() { return kTable; }

}  // namespace attn
