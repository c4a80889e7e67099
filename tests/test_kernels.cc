// Every kernel path this CPU runs, against references computed here in double
// precision, over awkward shapes. Each check holds the kernel to the error
// bound derived in kernel_error_bounds.h, element by element, and the worst
// error of each kernel on each path is printed at the end (docs/kernels.md
// keeps the table), with the paths that ran and the ones this host lacks.

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "random_data.h"
#include "reference_math.h"
#include "kernel_error_bounds.h"
#include "kernels/kernels.h"
#include "executor.h"
#include "memory_plan.h"
#include "ops/dense_layer.h"

using attn::Kernels;
namespace bounds = attn::test;

namespace {

using attn::test::random_vector;

std::vector<const Kernels*> paths() {
  size_t count = 0;
  const Kernels* const* list = attn::available_kernel_paths(&count);
  return std::vector<const Kernels*>(list, list + count);
}

// The worst error seen per kernel and path: relative to max(1, |reference|),
// and as a share of the derived bound. Printed when the program ends.
struct Worst {
  double relative = 0, of_bound = 0;
};
struct Tally {
  std::map<std::string, std::map<std::string, Worst>> by_kernel;  // kernel -> path -> worst
  ~Tally() {
    if (by_kernel.empty()) return;
    std::printf("\nworst error per kernel and path (relative to max(1, |reference|); share of the derived bound):\n");
    for (const auto& [kernel, by_path] : by_kernel)
      for (const auto& [path, w] : by_path)
        std::printf("  %-16s %-7s %.3g  (%.0f%% of bound)\n", kernel.c_str(), path.c_str(), w.relative, 100 * w.of_bound);
  }
};
Tally tally;

// Checks got[i] against want[i] within bound[i] for every i, and names the
// kernel, the path and the case (`where`) when one is outside.
void check_within(const char* kernel, const Kernels* k, const std::string& where, const std::vector<float>& got,
                  const std::vector<double>& want, const std::vector<double>& bound) {
  REQUIRE(got.size() == want.size());
  REQUIRE(bound.size() == want.size());
  Worst& w = tally.by_kernel[kernel][k->path];
  size_t worst_at = 0;
  double worst_share = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(double(got[i]) - want[i]);
    w.relative = std::max(w.relative, err / std::max(1.0, std::fabs(want[i])));
    const double share = bound[i] > 0 ? err / bound[i] : (err > 0 ? INFINITY : 0);
    if (share > worst_share || std::isnan(err)) worst_share = std::isnan(err) ? INFINITY : share, worst_at = i;
  }
  w.of_bound = std::max(w.of_bound, worst_share);
  CHECK_MESSAGE(worst_share <= 1.0, kernel << " on the " << k->path << " path, " << where << ": element " << worst_at
                                           << " is " << got[worst_at] << ", the reference " << want[worst_at]
                                           << ", outside the derived bound " << bound[worst_at]);
}

// One bound for every element: ±tol relative to max(1, |want|).
std::vector<double> uniform_bound(const std::vector<double>& want, double (*bound)(double)) {
  std::vector<double> b;
  for (double w : want) b.push_back(bound(w));
  return b;
}

std::string sizes(std::initializer_list<std::pair<const char*, size_t>> named) {
  std::string s;
  for (const auto& [name, value] : named) s += (s.empty() ? "" : ", ") + std::string(name) + " " + std::to_string(value);
  return s;
}

}  // namespace

// Which paths ran here, and which this host or build could not run: a CI log
// then shows when a path went untested.
TEST_CASE("kernel paths on this host") {
  std::string ran, missing;
  for (const char* name : {"scalar", "avx2", "avx512", "neon"}) {
    bool here = false;
    for (const Kernels* k : paths()) here |= std::string(k->path) == name;
    std::string& list = here ? ran : missing;
    list += (list.empty() ? "" : " ") + std::string(name);
  }
  std::printf("kernel paths tested: %s; not run on this host: %s\n", ran.c_str(), missing.empty() ? "none" : missing.c_str());
  CHECK(!ran.empty());
}

TEST_CASE("the scalar path is always there, and one path is chosen") {
  auto list = paths();
  REQUIRE(!list.empty());
  CHECK(std::string(list.front()->path) == "scalar");
  CHECK(attn::kernels().path != nullptr);
}

// Heads side by side in every row, as the runtime lays them out: one head, and
// three (few query rows then read each key row across the heads at once).
TEST_CASE("attention heads") {
  std::mt19937 rng(7);
  for (const Kernels* k : paths()) {
    for (size_t heads : {1, 3}) {
      for (size_t n : {1, 2, 7, 17, 64, 129}) {
        for (size_t dim : {1, 3, 8, 16, 33}) {
          // V rows width·2 floats apart, and 1 KiB apart (crowding a few L1
          // sets: the x86 paths then read a packed copy of V).
          for (int mode = 0; mode < 8; ++mode) {  // mode % 4: plain, causal, padding mask, causal after a cache
            const bool causal = mode % 4 == 1 || mode % 4 == 3;
            const size_t queries = mode % 4 == 3 ? std::min<size_t>(n, 3) : n;
            const size_t q_offset = n - queries, width = heads * dim;
            const size_t qs = width * 3 + 1, ks = width + 2, vs = mode < 4 ? width * 2 : 256, os = width + 5;  // odd strides
            auto q = random_vector(queries * qs, rng), kk = random_vector(n * ks, rng), v = random_vector(n * vs, rng);
            std::vector<uint8_t> masked(n, 0);
            if (mode % 4 == 2)
              for (size_t s = 0; s < n; s += 3) masked[s] = s + 1 < n;  // never every key
            // The scratch is followed by guard floats that the kernel must leave alone.
            const size_t scratch_floats = heads * attn::attention_scratch_floats(n, dim), guard = 64;
            std::vector<float> out(queries * os, 0.0f), scratch(scratch_floats + guard, 12345.0f);
            const float scale = 1.0f / std::sqrt(float(dim));
            attn::AttentionHeadArgs a{q.data(), kk.data(), v.data(), out.data(), qs, ks, vs, os, n, 0, queries / 3,
                                      q_offset, dim, scale, causal, mode % 4 == 2 ? masked.data() : nullptr,
                                      scratch.data(), heads};
            k->attention_heads(a);  // in two row ranges, as threads would
            a.row_begin = queries / 3;
            a.row_end = queries;
            k->attention_heads(a);
            std::vector<float> got;
            std::vector<double> want, bound;
            for (size_t h = 0; h < heads; ++h) {
              for (size_t t = 0; t < queries; ++t) {
                const float* qt = q.data() + t * qs + h * dim;
                std::vector<double> w(n, 0.0), eta(n, 0.0);
                double max = -INFINITY, sum = 0;
                const size_t keys = causal ? t + q_offset + 1 : n;
                for (size_t s = 0; s < keys; ++s) {
                  if (masked[s]) continue;
                  double dot = 0, abs_dot = 0;
                  for (size_t c = 0; c < dim; ++c) {
                    dot += double(qt[c]) * kk[s * ks + h * dim + c];
                    abs_dot += std::fabs(double(qt[c]) * kk[s * ks + h * dim + c]);
                  }
                  w[s] = dot * scale;
                  eta[s] = scale * bounds::gamma_n(double(dim)) * abs_dot + bounds::kSoftmaxExpError;
                  max = std::max(max, w[s]);
                }
                for (size_t s = 0; s < keys; ++s) {
                  if (masked[s]) continue;
                  eta[s] += 2 * bounds::kUnitRoundoff * std::fabs(w[s] - max);
                  w[s] = std::exp(w[s] - max);
                  sum += w[s];
                }
                for (size_t c = 0; c < dim; ++c) {
                  const size_t col = h * dim + c;
                  double acc = 0;
                  for (size_t s = 0; s < keys; ++s)
                    if (!masked[s]) acc += w[s] * v[s * vs + col];
                  const double o = acc / sum;
                  bounds::AttentionOutputBound b;
                  for (size_t s = 0; s < keys; ++s) {
                    if (masked[s]) continue;
                    b.weighted_spread += w[s] / sum * eta[s] * std::fabs(v[s * vs + col] - o);
                    b.weighted_abs += w[s] / sum * std::fabs(v[s * vs + col]);
                  }
                  want.push_back(o);
                  bound.push_back(b.finish(keys, o));
                  got.push_back(out[t * os + col]);
                }
              }
            }
            check_within("attention_heads", k, sizes({{"heads", heads}, {"n", n}, {"dim", dim}, {"mode", mode}}), got,
                         want, bound);
            for (size_t i = scratch_floats; i < scratch.size(); ++i)
              REQUIRE_MESSAGE(scratch[i] == 12345.0f, "scratch overrun");
          }
        }
      }
    }
  }
}

TEST_CASE("token mixing") {
  std::mt19937 rng(11);
  for (const Kernels* k : paths()) {
    for (size_t n : {1, 5, 16, 33}) {
      for (size_t cols : {1, 7, 32}) {
        for (bool causal : {false, true}) {
          for (bool with_bias : {false, true}) {
            const size_t stride = n + 3;
            auto w = random_vector(n * stride, rng, 0.3f), x = random_vector(n * cols, rng), b = random_vector(n, rng);
            if (causal)  // causal W_A is lower-triangular
              for (size_t t = 0; t < n; ++t)
                for (size_t s = t + 1; s < n; ++s) w[t * stride + s] = 0.0f;
            std::vector<float> y(n * cols);
            // In two row ranges, as threads would.
            const size_t split = n / 2;
            k->token_mix(w.data(), stride, with_bias ? b.data() : nullptr, x.data(), y.data(), n, 0, split, cols, causal);
            k->token_mix(w.data(), stride, with_bias ? b.data() : nullptr, x.data(), y.data(), n, split, n, cols, causal);
            std::vector<double> want, bound;
            for (size_t t = 0; t < n; ++t)
              for (size_t c = 0; c < cols; ++c) {
                double acc = with_bias ? b[t] : 0.0, abs_sum = std::fabs(acc);
                const size_t sources = causal ? t + 1 : n;
                for (size_t s = 0; s < sources; ++s) {
                  acc += double(w[t * stride + s]) * x[s * cols + c];
                  abs_sum += std::fabs(double(w[t * stride + s]) * x[s * cols + c]);
                }
                want.push_back(acc);
                bound.push_back(bounds::dot_bound(double(n), abs_sum));  // n: paths may add the zeros above the diagonal
              }
            check_within("token_mix", k, sizes({{"n", n}, {"cols", cols}, {"causal", causal}, {"bias", with_bias}}), y,
                         want, bound);
          }
        }
      }
    }
  }
}

TEST_CASE("layer norm") {
  std::mt19937 rng(3);
  for (const Kernels* k : paths()) {
    for (size_t rows : {1, 3, 4, 9}) {  // the SIMD paths take 4 rows at a time
      for (size_t cols : {1, 2, 15, 16, 17, 64, 100}) {
        auto x = random_vector(rows * cols, rng, 3.0f), g = random_vector(cols, rng), b = random_vector(cols, rng);
        for (float& v : x) v += 10.0f;  // a large mean tests the centring
        std::vector<float> y(rows * cols);
        k->layernorm(x.data(), y.data(), rows, cols, g.data(), b.data(), 1e-5f);
        std::vector<double> want, bound;
        for (size_t r = 0; r < rows; ++r) {
          double mean = 0, var = 0, abs_sum = 0;
          for (size_t c = 0; c < cols; ++c) mean += x[r * cols + c], abs_sum += std::fabs(x[r * cols + c]);
          mean /= double(cols);
          for (size_t c = 0; c < cols; ++c) var += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
          var /= double(cols);
          const bounds::LayerNormRowBound row(cols, abs_sum, var, double(1e-5f));
          for (size_t c = 0; c < cols; ++c) {
            want.push_back((x[r * cols + c] - mean) / std::sqrt(var + double(1e-5f)) * g[c] + b[c]);
            bound.push_back(row.at(x[r * cols + c] - mean, g[c], want.back()));
          }
        }
        check_within("layernorm", k, sizes({{"rows", rows}, {"cols", cols}}), y, want, bound);
      }
    }
  }
}

namespace {

using attn::test::gelu_reference;
using attn::test::gelu_tanh_reference;

// Both GELU forms over x, each element against its derived bound.
void check_gelus(const Kernels* k, const std::vector<float>& x, const std::string& where) {
  std::vector<double> erf_want, erf_bound, tanh_want, tanh_bound;
  for (float v : x) {
    erf_want.push_back(gelu_reference(v));
    erf_bound.push_back(bounds::gelu_bound(v, erf_want.back()));
    tanh_want.push_back(gelu_tanh_reference(v));
    tanh_bound.push_back(bounds::gelu_tanh_bound(v, tanh_want.back()));
  }
  auto y = x;
  k->gelu(y.data(), y.size());
  check_within("gelu", k, where, y, erf_want, erf_bound);
  y = x;
  k->gelu_tanh(y.data(), y.size());
  check_within("gelu_tanh", k, where, y, tanh_want, tanh_bound);
}

}  // namespace

// Every approximation's whole range, including where erf and tanh saturate,
// and the float32 values around the erf form's clamp at ±4√2.
TEST_CASE("gelu over a dense grid") {
  std::vector<float> x;
  for (int i = -12000; i <= 12000; ++i) x.push_back(float(i) / 1000.0f);
  for (float edge : {-5.656854249f, 5.656854249f}) {
    float v = edge;
    for (int i = 0; i < 64; ++i) v = std::nextafter(v, -INFINITY);
    for (int i = 0; i < 128; ++i, v = std::nextafter(v, INFINITY)) x.push_back(v);
  }
  for (const Kernels* k : paths()) check_gelus(k, x, "the grid over [-12, 12]");
}

TEST_CASE("activations and add") {
  std::mt19937 rng(5);
  for (const Kernels* k : paths()) {
    for (size_t n : {1, 7, 8, 31, 64, 1000}) {
      const std::string where = sizes({{"n", n}});
      auto x = random_vector(n, rng, 4.0f);
      check_gelus(k, x, where);
      auto other = random_vector(n, rng);
      std::vector<double> sum;
      for (size_t i = 0; i < n; ++i) sum.push_back(double(x[i]) + other[i]);  // exact in double
      std::vector<float> y(n);
      k->add(x.data(), other.data(), y.data(), n);
      check_within("add", k, where, y, sum, uniform_bound(sum, bounds::add_bound));
    }
  }
}

TEST_CASE("the memory plan never overlaps buffers that live at the same time") {
  std::mt19937 rng(9);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<attn::BufferRequest> req;
    const int steps = 1 + int(rng() % 20);
    for (int i = 0, count = 1 + int(rng() % 30); i < count; ++i) {
      int a = int(rng() % steps), b = int(rng() % steps);
      req.push_back({1 + rng() % 5000, std::min(a, b), std::max(a, b)});
    }
    const attn::MemoryPlan plan = attn::plan_memory(req);
    size_t total = 0;
    for (size_t i = 0; i < req.size(); ++i) {
      CHECK(plan.offsets[i] % 64 == 0);
      CHECK(plan.offsets[i] + req[i].bytes <= plan.arena_bytes);
      total += (req[i].bytes + 63) / 64 * 64;
      for (size_t j = 0; j < i; ++j) {
        const bool live_together = req[i].first_step <= req[j].last_step && req[j].first_step <= req[i].last_step;
        const bool apart = plan.offsets[i] + req[i].bytes <= plan.offsets[j] || plan.offsets[j] + req[j].bytes <= plan.offsets[i];
        if (live_together) CHECK(apart);
      }
    }
    CHECK(plan.arena_bytes <= total);
  }
}

namespace {

// The double reference of c = epilogue(a · Wᵀ + bias) + residual for both
// GEMMs (W [n, depth], rows w_stride apart), with each element's error bound:
// the accumulator's, then the epilogue's slope on it plus its own error, then
// the residual's add. Appends c's elements to got.
void dense_reference(const float* a, size_t a_stride, const float* w, size_t w_stride, size_t m, size_t n,
                     size_t depth, const float* b, attn::Epilogue epilogue, const float* residual, const float* c,
                     size_t c_stride, std::vector<float>& got, std::vector<double>& want, std::vector<double>& bound) {
  for (size_t r = 0; r < m; ++r)
    for (size_t j = 0; j < n; ++j) {
      double acc = b ? b[j] : 0.0, abs_sum = std::fabs(acc);
      for (size_t i = 0; i < depth; ++i) {
        const double p = double(a[r * a_stride + i]) * w[j * w_stride + i];
        acc += p;
        abs_sum += std::fabs(p);
      }
      double err = bounds::dot_bound(double(depth), abs_sum);
      bounds::apply_epilogue(epilogue, acc, err);
      if (residual) acc += residual[r * c_stride + j];
      want.push_back(acc);
      bound.push_back(err + (residual ? bounds::add_bound(acc) : 0.0));
      got.push_back(c[r * c_stride + j]);
    }
}

}  // namespace

TEST_CASE("gemm with packed weights, bias, fused activation and residual") {
  std::mt19937 rng(13);
  for (const Kernels* k : paths()) {
    if (!k->gemm) continue;
    for (size_t m : {1, 3, 8, 9, 17}) {
      for (size_t n : {1, 15, 32, 33, 70, 300}) {  // 300: several panel groups
        for (size_t depth : {1, 7, 300, 800}) {
          for (int e = 0; e < 4; ++e) {
            const size_t a_stride = depth + 3, c_stride = n + 5;
            auto a = random_vector(m * a_stride, rng), w = random_vector(n * depth, rng, 0.1f), bias = random_vector(n, rng);
            std::vector<float> packed(k->gemm_packed_floats(n, depth)), c(m * c_stride, -7.0f);
            k->gemm_pack(w.data(), n, depth, packed.data());
            const auto epilogue = attn::Epilogue(e);
            const float* b = e % 2 ? bias.data() : nullptr;
            const auto residual_rows = random_vector(m * c_stride, rng);
            const float* residual = (m + e) % 2 ? residual_rows.data() : nullptr;
            const size_t panels = (n + k->gemm_panel - 1) / k->gemm_panel;
            // In two panel ranges, as threads would.
            k->gemm(a.data(), a_stride, m, depth, packed.data(), b, epilogue, residual, c.data(), c_stride, n, 0,
                    panels / 2);
            k->gemm(a.data(), a_stride, m, depth, packed.data(), b, epilogue, residual, c.data(), c_stride, n,
                    panels / 2, panels);
            std::vector<float> got;
            std::vector<double> want, bound;
            dense_reference(a.data(), a_stride, w.data(), depth, m, n, depth, b, epilogue, residual, c.data(),
                            c_stride, got, want, bound);
            check_within("gemm", k,
                         sizes({{"m", m}, {"n", n}, {"depth", depth}, {"epilogue", e}, {"residual", residual != nullptr}}),
                         got, want, bound);
            // Padding between rows is untouched.
            bool untouched = true;
            for (size_t r = 0; r < m; ++r)
              for (size_t j = n; j < c_stride; ++j) untouched &= c[r * c_stride + j] == -7.0f;
            CHECK_MESSAGE(untouched, "gemm on the " << k->path << " path wrote between rows");
          }
        }
      }
    }
  }
}

// The GEMM on weights in place (W [n, k] row-major, rows w_stride apart, at
// no particular alignment) on every path, the scalar one included, against
// the same double reference and bound as the packed GEMM. The sizes cover one
// row (decoding) to past a row tile, n around the column tiles, and k around
// whole vectors and the K blocks (1025, 3072).
TEST_CASE("gemm on weights in place, bias, fused activation and residual") {
  std::mt19937 rng(17);
  for (const Kernels* k : paths()) {
    REQUIRE_MESSAGE(bool(k->gemm_nt), "the " << k->path << " path has no in-place GEMM");
    for (size_t m : {1, 2, 3, 4, 5, 6, 7, 9, 17}) {
      for (size_t n : {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 50, 257}) {
        for (size_t depth : {1, 7, 16, 17, 64, 1025, 3072}) {
          if (m * n * depth > 3000000) continue;  // the reference's time; 17 × 50 × 3072 still runs
          for (int e = 0; e < 4; ++e) {
            const bool with_bias = (n + e) % 2, with_residual = (m + n + e / 2) % 2;
            const size_t a_stride = depth + 3, w_stride = depth + 5, c_stride = n + 2;
            // W starts one float into its buffer: rows are not vector aligned.
            auto a = random_vector(m * a_stride, rng), w_buffer = random_vector(1 + n * w_stride, rng, 0.1f),
                 bias = random_vector(n, rng), residual_rows = random_vector(m * c_stride, rng);
            const float* w = w_buffer.data() + 1;
            std::vector<float> c(m * c_stride, -7.0f);
            const auto epilogue = attn::Epilogue(e);
            const float* b = with_bias ? bias.data() : nullptr;
            const float* residual = with_residual ? residual_rows.data() : nullptr;
            // In two column ranges on a multiple of the granularity, as threads would.
            const size_t split = std::min(n, (n / 2 + k->gemm_nt_columns - 1) / k->gemm_nt_columns * k->gemm_nt_columns);
            k->gemm_nt(a.data(), a_stride, m, depth, w, w_stride, b, epilogue, residual, c.data(), c_stride, 0, split);
            k->gemm_nt(a.data(), a_stride, m, depth, w, w_stride, b, epilogue, residual, c.data(), c_stride, split, n);
            std::vector<float> got;
            std::vector<double> want, bound;
            dense_reference(a.data(), a_stride, w, w_stride, m, n, depth, b, epilogue, residual, c.data(), c_stride,
                            got, want, bound);
            check_within("gemm_nt", k,
                         sizes({{"m", m}, {"n", n}, {"depth", depth}, {"epilogue", e}, {"bias", b != nullptr},
                                {"residual", residual != nullptr}}),
                         got, want, bound);
            bool untouched = true;
            for (size_t r = 0; r < m; ++r)
              for (size_t j = n; j < c_stride; ++j) untouched &= c[r * c_stride + j] == -7.0f;
            CHECK_MESSAGE(untouched, "gemm_nt on the " << k->path << " path wrote between rows");
          }
        }
      }
    }
  }
}

// A layer on weights in place with many rows (from 64, run_gemm_in_place
// packs W a panel at a time into each thread's scratch, then runs the packed GEMM), on
// one and two threads, against the same double reference and bound: n past
// several panels and a partial last one, so that every panel's bias,
// residual and output columns are its own.
TEST_CASE("a layer on weights in place with many rows, packing a panel at a time") {
  std::mt19937 rng(19);
  for (const Kernels* k : paths()) {
    if (!k->gemm) continue;
    for (uint32_t threads : {1u, 2u}) {
      attn::ExecutorConfig config;
      config.kernels = k;
      config.threads = threads;
      attn::Executor exec(config);
      for (size_t m : {64, 70}) {  // from kStripMinRows (64)
        for (size_t n : {1, 33, 100, 300}) {
          for (size_t depth : {7, 300, 1025}) {
            const int e = int((m + n + depth) % 4);
            const bool with_bias = (n + depth) % 2, with_residual = (m + n) % 2;
            const size_t a_stride = depth + 3, c_stride = n;
            auto a = random_vector(m * a_stride, rng), w_buffer = random_vector(1 + n * depth, rng, 0.1f),
                 bias = random_vector(n, rng), residual_rows = random_vector(m * c_stride, rng);
            const float* w = w_buffer.data() + 1;  // not vector aligned
            std::vector<float> c(m * c_stride, -7.0f);
            const float* b = with_bias ? bias.data() : nullptr;
            const float* residual = with_residual ? residual_rows.data() : nullptr;
            attn::reserve_gemm_in_place(exec, m, depth);
            attn::run_gemm_in_place(exec, {a.data(), a_stride, m, depth, w, b, attn::Epilogue(e), residual, c.data(), n});
            std::vector<float> got;
            std::vector<double> want, bound;
            dense_reference(a.data(), a_stride, w, depth, m, n, depth, b, attn::Epilogue(e), residual, c.data(),
                            c_stride, got, want, bound);
            check_within("gemm_in_place", k,
                         sizes({{"threads", threads}, {"m", m}, {"n", n}, {"depth", depth}, {"epilogue", e},
                                {"bias", b != nullptr}, {"residual", residual != nullptr}}),
                         got, want, bound);
          }
        }
      }
    }
  }
}
