// The error bounds the kernel tests hold every path to, derived from the
// float32 operations each kernel performs. u = 2^-24 is float32's unit
// roundoff: one correctly rounded operation has a relative error of at most
// u, and a sum of m terms accumulated in any order (sequential, in SIMD lanes,
// in separate accumulators, then a horizontal sum) has an absolute error of at
// most γ(m)·Σ|terms| with γ(m) = m·u / (1 - m·u) (Higham, Accuracy and
// Stability of Numerical Algorithms, §3.1). Each bound is first order in u;
// the second-order terms are below 1e-12 for every size the tests use.
//
// The bounds take the worst of the paths' evaluation orders (scalar,
// AVX2, AVX-512 and NEON), so one bound holds on every path, including the
// ones a host cannot run. They are bounds, not estimates: the measured worst
// error of each path is well inside (docs/kernels.md has the table).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace attn::test {

constexpr double kUnitRoundoff = 0x1p-24;
inline double gamma_n(double m) { return m * kUnitRoundoff / (1 - m * kUnitRoundoff); }

// GELU(x) = x/2 · (1 + erf(x/√2)) at a float input x, with want = GELU(x)
// in double. Every path computes h = x/2 (exact) and then h + h·E or h·2Φ,
// so its absolute error is |h| times the absolute error of E = erf(x/√2)
// (or of 2Φ), plus one rounding of the result:
//   x86 (f32_simd.inc, vgelu): E = c·P(w)/Q(w), w = c², P and Q of degree 5
//     with positive coefficients evaluated by Horner with FMAs (w ≥ 0, so
//     each is relatively accurate to 5u), w's rounding moves each of P and Q
//     by at most 5u relatively (w·P'/P ≤ 5), c·P and the division one u each:
//     E's relative error ≤ 5u + 5u + 5u + u + u = 17u, as |E| ≤ 1 an absolute
//     17u. The rational with its float32 coefficients differs from erf by at
//     most 4.8e-8 in exact arithmetic (evaluated in double over [-4√2, 4√2]),
//     and the clamp at |x| = 4√2 adds 1 - erf(4) = 1.5e-8 beyond it: 5e-8.
//   scalar: erff (≤ 1 ulp, u absolute on [0.5, 1)), the argument's two
//     roundings (x·(1/√2) and the constant) moving erf by at most
//     2·max|z·erf'(z)|·u = 0.97u, and 1 + erf one u: 3u.
//   NEON: Φ(-|x|) = ½ erfc(|x|/√2) with relative error ≤ 1.2e-7 (the fit)
//     plus exp4's 2 ulp and 4 roundings, ≤ 10u relatively, so ≤ 10u
//     absolutely on 2Φ for x > 0 and far less for x < 0.
// Hence |got - want| ≤ |x|/2 · (17u + 5e-8) + u·|want|. The absolute term is
// what a flat relative tolerance misses: for x ≤ -2, GELU is near 0 while
// 1 + E cancels, so a float32 GELU's error there is about |x|/2 times E's.
inline double gelu_bound(double x, double want) {
  return 0.5 * std::fabs(x) * (17 * kUnitRoundoff + 5e-8) + kUnitRoundoff * std::fabs(want);
}

// GELU's tanh form, x/2 · (1 + tanh(k(x + 0.044715x³))), k = √(2/π).
//   x86 (vgelu_tanh): the argument a = k(x + 0.044715x³) has 5 roundings
//     (x³ two, the FMA, k·, and the float32 constant 0.044715), so
//     |δa| ≤ 5u|a|, which moves tanh by sech²(a)·5u|a| ≤ 0.449·5u = 2.24u; the
//     clamp at |a| = 9 adds 2e^-18 = 0.5u; e = e^{2a} has relative error ≤
//     2e-7 = 3.36u, which moves tanh = 1 - 2/(e + 1) by 2e/(e + 1)² ≤ ½ of it,
//     1.68u; e + 1 and 2/(e + 1) < 2 round to 2·2u absolute, 1 - q one u:
//     |δtanh| ≤ 2.24u + 0.5u + 1.68u + 4u + u < 10u.
//   scalar: tanhf (≤ 2 ulp) and the same argument: ≤ 2.24u + 2u + 2u.
//   NEON: x / (1 + e^{-2a}): relative, 2|a|·5u·e^{-2a}/(1 + e^{-2a}) plus
//     exp4's 2 ulp and 3 roundings, at most 5u·|x| over every a.
// Hence |got - want| ≤ |x|/2 · 10u + u·|want|.
inline double gelu_tanh_bound(double x, double want) {
  return 0.5 * std::fabs(x) * 10 * kUnitRoundoff + kUnitRoundoff * std::fabs(want);
}

// The largest slope of either GELU form (at x ≈ 1.5: 1.129 and 1.13): an
// error δ in a GEMM's accumulator becomes at most 1.13·δ after the epilogue.
constexpr double kGeluMaxSlope = 1.13;

// a + b, one rounding.
inline double add_bound(double want) { return kUnitRoundoff * std::fabs(want); }

// y = bias + Σ_{s<m} w_s·x_s (token mixing, a GEMM column before its
// epilogue): m products and m + 1 additions in some order, every product
// fused or rounded once: ≤ γ(m + 1)·(|bias| + Σ|w_s·x_s|).
inline double dot_bound(double terms, double abs_sum) { return gamma_n(terms + 1) * abs_sum; }

// LayerNorm of one row of `cols` values, at column value x:
// y = (x - μ)/√(var + eps)·γ + β, with Σ|x| = abs_sum, var the population
// variance. Every path takes the mean first (μ̂: a sum and a division,
// |δμ| ≤ γ(cols + 1)·abs_sum/cols), then the centred variance (var̂ =
// (var + δμ²)(1 + θ), |θ| ≤ γ(cols + 4): the differences, the squares, the
// sum, /cols and + eps; Σ(x - μ) = 0 removes δμ's first-order term), then
// inv = 1/√(var̂ + eps) with two roundings, so inv's relative error is at most
// ρ = θ/2 + δμ²/(2(var + eps)) + 2u; the scalar path keeps the statistics in
// double, which only makes its error smaller. Then x - μ̂, ·inv, ·γ and + β
// (3 roundings, or 2 and an FMA) give
//   |δy| ≤ |γ|·inv·(|δμ| + |x - μ|·(ρ + 3u)) + u·|y|.
struct LayerNormRowBound {
  double delta_mean, inv, rho;
  LayerNormRowBound(size_t cols, double abs_sum, double var, double eps) {
    delta_mean = gamma_n(double(cols) + 1) * abs_sum / double(cols);
    inv = 1 / std::sqrt(var + eps);
    rho = gamma_n(double(cols) + 4) / 2 + delta_mean * delta_mean / (2 * (var + eps)) + 2 * kUnitRoundoff;
  }
  double at(double x_minus_mean, double gamma, double want) const {
    return std::fabs(gamma) * inv * (delta_mean + std::fabs(x_minus_mean) * (rho + 3 * kUnitRoundoff)) +
           kUnitRoundoff * std::fabs(want);
  }
};

// The relative error of the softmax numerators' exp: x86's
// vexp_nonpositive (3.2e-6, the fit with its float32 coefficients), NEON's
// exp4 and the scalar expf (2 ulp) are inside it, plus the product's one u.
constexpr double kSoftmaxExpError = 3.2e-6 + kUnitRoundoff;

// One attention output o_c = Σ_s p_s·v_sc / Σ_s p_s over the keys seen, with
// p_s = e^{scale·(d_s - max)}, d_s = q·k_s. Relative errors η_s in the
// numerators move o_c by Σ_s π_s·η_s·(v_sc - o_c) to first order (π_s =
// p_s/Σp, the softmax weights), where
//   η_s ≤ scale·γ(dim)·Σ_c|q_c·k_sc|   (the dot product)
//       + 2u·|scale·(d_s - max)|       (the exponent's FMA and the product
//                                       q·k ·scale; the rounding of
//                                       scale·max is the same for every s
//                                       and cancels in the ratio)
//       + kSoftmaxExpError.
// The sums Σ p·v and Σ p over n keys add γ(n)·Σπ_s|v_sc| and γ(n)·|o_c|, and
// the final 1/Σ and product 2u·|o_c|. The test accumulates these terms.
struct AttentionOutputBound {
  double weighted_spread = 0;  // Σ_s π_s·η_s·|v_sc - o_c|
  double weighted_abs = 0;     // Σ_s π_s·|v_sc|
  double finish(size_t keys, double want) const {
    return weighted_spread + gamma_n(double(keys)) * weighted_abs + (gamma_n(double(keys)) + 2 * kUnitRoundoff) * std::fabs(want);
  }
};

}  // namespace attn::test
