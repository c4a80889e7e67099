// The NEON path (4 lanes), for aarch64 only: Advanced SIMD is part of the
// base AArch64 instruction set, so this file needs no extra compiler flags
// and uses nothing past Armv8.0-A (it runs on a Cortex-A53 as on an Apple M2).
// The kernels are the shared template's (f32_simd.inc), as on x86; this file
// supplies the vector type and the tile sizes.
//
// All arithmetic is float32 with fused multiply-adds, as the error bounds every
// path is held to require (tests/kernel_error_bounds.h). Half-precision
// arithmetic (FEAT_FP16, about 5e-4 relative per operation) cannot meet them,
// and the dot-product instructions (SDOT/UDOT) are for int8: no float32 kernel
// needs either, so there is nothing to detect beyond NEON itself.

#if !defined(__aarch64__)
#error "f32_neon.cc is compiled for aarch64 only"
#endif

#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>
#include <utility>

#include "kernels.h"

namespace attn {
namespace {

struct V {
  using R = float32x4_t;
  using M = uint32x4_t;
  static constexpr size_t N = 4;
  // 32 vector registers, as AVX-512: 16 score accumulators for 8 rows.
  static constexpr size_t kAttentionRows = 8;
  // A GEMM tile of 6 rows × 4 vectors: 24 accumulators, four B vectors and
  // one broadcast A value, 29 of the 32 registers. Depth blocks of 256 keep a
  // panel's block of W (16 KiB) in L1 while every row tile passes over it.
  static constexpr size_t kGemmRows = 6;
  static constexpr size_t kGemmVectors = 4;
  static constexpr size_t kGemmDepth = 256;
  static constexpr size_t kGemmPanelGroup = 1;
  // In place: 6 rows of A × 4 rows of W, 24 accumulators, 6 A vectors and
  // one of W (31 registers); a group of 16 rows of W × 256 floats (16 KiB)
  // and the row tile of A (6 KiB) stay in L1.
  static constexpr size_t kNtRows = 6;
  static constexpr size_t kNtDepth = 256;
  static constexpr size_t kTransposeBlock = 4;
  // dst[i][j] = src[j][i] for i, j < 4: pairs of rows interleaved by 32, then
  // by 64 bits.
  static void transpose_block(const float* src, size_t src_stride, float* dst, size_t dst_stride) {
    const R r0 = vld1q_f32(src), r1 = vld1q_f32(src + src_stride), r2 = vld1q_f32(src + 2 * src_stride),
            r3 = vld1q_f32(src + 3 * src_stride);
    const float64x2_t t0 = vreinterpretq_f64_f32(vtrn1q_f32(r0, r1)), t1 = vreinterpretq_f64_f32(vtrn2q_f32(r0, r1)),
                      t2 = vreinterpretq_f64_f32(vtrn1q_f32(r2, r3)), t3 = vreinterpretq_f64_f32(vtrn2q_f32(r2, r3));
    vst1q_f32(dst, vreinterpretq_f32_f64(vtrn1q_f64(t0, t2)));
    vst1q_f32(dst + dst_stride, vreinterpretq_f32_f64(vtrn1q_f64(t1, t3)));
    vst1q_f32(dst + 2 * dst_stride, vreinterpretq_f32_f64(vtrn2q_f64(t0, t2)));
    vst1q_f32(dst + 3 * dst_stride, vreinterpretq_f32_f64(vtrn2q_f64(t1, t3)));
  }
  static R zero() { return vdupq_n_f32(0.0f); }
  static R set1(float f) { return vdupq_n_f32(f); }
  static R load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, R r) { vst1q_f32(p, r); }
  static M tail_mask(size_t n) {
    static const uint32_t kLane[4] = {0, 1, 2, 3};
    return vcltq_u32(vld1q_u32(kLane), vdupq_n_u32(uint32_t(n)));
  }
  // NEON has no masked loads: the first n lanes go through a zeroed buffer.
  static R load_tail(const float* p, size_t n) {
    float lanes[4] = {0, 0, 0, 0};
    std::memcpy(lanes, p, n * sizeof(float));
    return vld1q_f32(lanes);
  }
  static void store_tail(float* p, R r, size_t n) {
    float lanes[4];
    vst1q_f32(lanes, r);
    std::memcpy(p, lanes, n * sizeof(float));
  }
  static R add(R a, R b) { return vaddq_f32(a, b); }
  static R sub(R a, R b) { return vsubq_f32(a, b); }
  static R mul(R a, R b) { return vmulq_f32(a, b); }
  static R div(R a, R b) { return vdivq_f32(a, b); }
  static R fmadd(R a, R b, R c) { return vfmaq_f32(c, a, b); }
  static R max(R a, R b) { return vmaxq_f32(a, b); }
  static R min(R a, R b) { return vminq_f32(a, b); }
  static R abs(R a) { return vabsq_f32(a); }
  static R copysign(R mag, R sign) { return vbslq_f32(vdupq_n_u32(0x80000000u), sign, mag); }
  static M less(R a, R b) { return vcltq_f32(a, b); }
  static R blend(M m, R if_true, R if_false) { return vbslq_f32(m, if_true, if_false); }
  static R round(R a) { return vrndnq_f32(a); }
  static R scale2(R p, R n) {  // 2^n through the exponent bits
    return vmulq_f32(p, vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23)));
  }
  // p·2^n, where the low 9 bits of t's representation hold n + 127 (t = n + 127 + 1.5·2^23).
  static R scale2_biased(R p, R t) {
    return vmulq_f32(p, vreinterpretq_f32_s32(vshlq_n_s32(vreinterpretq_s32_f32(t), 23)));
  }
  static float hsum(R a) { return vaddvq_f32(a); }
  static float hmax(R a) { return vmaxvq_f32(a); }
  // Pairwise adds: [a0+a1, a2+a3, b0+b1, b2+b3], then the same of two such.
  static R reduce4(R a, R b, R c, R d) { return vpaddq_f32(vpaddq_f32(a, b), vpaddq_f32(c, d)); }
};

#include "f32_simd.inc"

}  // namespace

const Kernels& neon_kernels() {
  // The GEMM takes layers with K >= 512 and K·N >= 2^18; XNNPACK's NEON
  // kernels serve the small ones.
  static const Kernels table = simd_kernels("neon", 512, size_t{1} << 18);
  return table;
}

}  // namespace attn
