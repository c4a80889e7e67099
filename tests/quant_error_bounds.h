// The error bounds the quantized-kernel tests hold every variant to, derived
// from the float32 operations each performs (u = 2^-24, γ(n) as in
// kernel_error_bounds.h, first order in u). Like those, each bound takes the
// worst evaluation order of any variant, so it holds on the ones a host
// cannot run.
#pragma once

#include <cmath>
#include <cstddef>

#include "kernel_error_bounds.h"

namespace attn::test {

// Q8 quantization of a block (weights and activations alike): d =
// fl(amax/127), inv = fl(1/d), q = round(fl(x·inv)). Since |x| ≤ amax ≤
// 127·d·(1 + u), |x·inv − x/d| ≤ 127·(1 + u)·(2u + u²) < 255u, and rounding
// adds at most 1/2: |q − x/d| ≤ 1/2 + 255u, so
//   |x − q·d| ≤ |d|·(1/2 + 255u)   (q·d taken exactly).
// The rounding error of x·inv can only matter at a tie, where ties go away
// from zero; 255u = 1.5e-5 of a step covers that.
inline double q8_roundtrip_bound(double scale) { return std::fabs(scale) * (0.5 + 255 * kUnitRoundoff); }

// Q4 of a block: d = m/−8 is exact (a power-of-two division, for |m| ≥ 2^-122),
// |x/d| ≤ 8, so |fl(x·fl(1/d)) − x/d| ≤ 8·(2u + u²) < 17u. Values with x/d
// ≤ 7.5 round to within 1/2 + 17u steps, and ±8 is in range on the −8 side;
// x/d > 7.5 (only elements of the sign opposite to m, of magnitude above 15/16
// of |m|) clamp to 7, at most one step away:
//   |x − q·d| ≤ |d|·(1/2 + 17u), or |d| where x/d > 7.5.
// (The choice of m/−8 over max|x|/7 trades that one clamped step for a step an
// eighth smaller everywhere else: docs/kernels.md has the measured errors.)
inline double q4_roundtrip_bound(double x, double scale) {
  if (scale == 0) return 0;
  return x / scale > 7.5 ? std::fabs(scale) : std::fabs(scale) * (0.5 + 17 * kUnitRoundoff);
}

// A q8 or q4 GEMM column before its epilogue: y = bias + Σ_b sa_b·sw_b·D_b
// over B blocks, D_b the exact integer dot product of the block (|D_b| ≤
// 32·127·127 < 2^24: exact in int32 and in float). Every variant forms D_b in
// L ≤ 16 integer lanes d_bl (exact; Σ_l|d_bl| ≤ Σ_i|qa_i·qw_i|), rounds the
// scale product p_b = fl(sa_b·sw_b) once (≤ u relatively), and adds the B·L
// products d_bl·p_b (each fused or rounded once) and the bias in some order:
// with S = |bias| + Σ_b |sa_b·sw_b|·Σ_i |qa_i·qw_i|,
//   |got − y| ≤ u·S + γ(16B + 1)·(1 + u)·S ≤ (u + γ(16B + 2))·S.
inline double qgemm_bound(size_t blocks, double abs_sum) {
  return (kUnitRoundoff + gamma_n(16.0 * double(blocks) + 2)) * abs_sum;
}

// A q8c GEMM column: y = bias + sa·sw·Σ_b D_b (one scale per row on each
// side). The narrow variants run it as q8 on scales repeated per block
// (qgemm_bound). The wide ones sum up to 256 blocks per lane as one exact
// int32 d_cl (quant_wide.inc: no overflow), which may pass 2^24, so its
// conversion to float rounds (≤ u·|d_cl|); then as q8 with C ≤ B chunks in
// place of blocks. Adding that u to qgemm's terms:
//   |got − y| ≤ (2u + γ(16B + 2))·S.
inline double q8c_gemm_bound(size_t blocks, double abs_sum) {
  return (2 * kUnitRoundoff + gamma_n(16.0 * double(blocks) + 2)) * abs_sum;
}

// An f16 GEMM column: the weights convert to float exactly, so it is an f32
// dot product of k terms (the zero padding past k adds exactly) plus the bias:
// dot_bound(k, S) = γ(k + 1)·S, S = |bias| + Σ|a_i·w_i|.
inline double f16gemm_bound(size_t k, double abs_sum) { return dot_bound(double(k), abs_sum); }

}  // namespace attn::test
