// Every kernel path this CPU runs, against references computed here in double
// precision, over awkward shapes.

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/kernels.h"
#include "memory_plan.h"

using attn::Kernels;

namespace {

std::vector<float> random_vector(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<const Kernels*> paths() {
  size_t count = 0;
  const Kernels* const* list = attn::available_kernel_paths(&count);
  return std::vector<const Kernels*>(list, list + count);
}

void check_near(const std::vector<float>& got, const std::vector<double>& want, double tol, const char* what) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]) / std::max(1.0, std::fabs(want[i])));
  CHECK_MESSAGE(worst <= tol, what << ": relative error " << worst);
}

}  // namespace

TEST_CASE("the scalar path is always there, and one path is chosen") {
  auto list = paths();
  REQUIRE(!list.empty());
  CHECK(std::string(list.front()->path) == "scalar");
  CHECK(attn::kernels().path != nullptr);
}

TEST_CASE("attention head") {
  std::mt19937 rng(7);
  for (const Kernels* k : paths()) {
    for (size_t n : {1, 2, 7, 17, 64, 129}) {
      for (size_t dim : {1, 3, 8, 16, 33}) {
        // V rows dim·2 floats apart, and 1 KiB apart (crowding a few L1 sets:
        // the x86 paths then read a packed copy of V).
        for (int mode = 0; mode < 8; ++mode) {  // mode % 4: plain, causal, padding mask, causal after a cache
          CAPTURE(k->path);
          CAPTURE(n);
          CAPTURE(dim);
          CAPTURE(mode);
          const bool causal = mode % 4 == 1 || mode % 4 == 3;
          const size_t queries = mode % 4 == 3 ? std::min<size_t>(n, 3) : n;
          const size_t q_offset = n - queries;
          const size_t qs = dim * 3 + 1, ks = dim + 2, vs = mode < 4 ? dim * 2 : 256, os = dim + 5;  // q, k, out: odd strides
          auto q = random_vector(queries * qs, rng), kk = random_vector(n * ks, rng), v = random_vector(n * vs, rng);
          std::vector<uint8_t> masked(n, 0);
          if (mode % 4 == 2)
            for (size_t s = 0; s < n; s += 3) masked[s] = s + 1 < n;  // never every key
          // The scratch is followed by guard floats that the kernel must leave alone.
          const size_t scratch_floats = attn::attention_scratch_floats(n, dim), guard = 64;
          std::vector<float> out(queries * os, 0.0f), scratch(scratch_floats + guard, 12345.0f);
          const float scale = 1.0f / std::sqrt(float(dim));
          attn::AttentionHeadArgs a{q.data(), kk.data(), v.data(), out.data(), qs, ks, vs, os, n, 0, queries / 3,
                                    q_offset, dim, scale, causal, mode % 4 == 2 ? masked.data() : nullptr, scratch.data()};
          k->attention_head(a);  // in two row ranges, as threads would
          a.row_begin = queries / 3;
          a.row_end = queries;
          k->attention_head(a);
          std::vector<float> got;
          std::vector<double> want;
          for (size_t t = 0; t < queries; ++t) {
            std::vector<double> w(n, 0.0);
            double max = -INFINITY, sum = 0;
            const size_t keys = causal ? t + q_offset + 1 : n;
            for (size_t s = 0; s < keys; ++s) {
              if (masked[s]) continue;
              double dot = 0;
              for (size_t c = 0; c < dim; ++c) dot += double(q[t * qs + c]) * kk[s * ks + c];
              w[s] = dot * scale;
              max = std::max(max, w[s]);
            }
            for (size_t s = 0; s < keys; ++s) {
              if (masked[s]) continue;
              w[s] = std::exp(w[s] - max);
              sum += w[s];
            }
            for (size_t c = 0; c < dim; ++c) {
              double acc = 0;
              for (size_t s = 0; s < keys; ++s)
                if (!masked[s]) acc += w[s] * v[s * vs + c];
              want.push_back(acc / sum);
              got.push_back(out[t * os + c]);
            }
          }
          check_near(got, want, 2e-5, "attention_head");
          for (size_t i = scratch_floats; i < scratch.size(); ++i) REQUIRE_MESSAGE(scratch[i] == 12345.0f, "scratch overrun");
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
            std::vector<double> want;
            for (size_t t = 0; t < n; ++t)
              for (size_t c = 0; c < cols; ++c) {
                double acc = with_bias ? b[t] : 0.0;
                for (size_t s = 0; s < (causal ? t + 1 : n); ++s) acc += double(w[t * stride + s]) * x[s * cols + c];
                want.push_back(acc);
              }
            CAPTURE(k->path);
            CAPTURE(n);
            CAPTURE(cols);
            check_near(y, want, 1e-5, "token_mix");
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
        std::vector<double> want;
        for (size_t r = 0; r < rows; ++r) {
          double mean = 0, var = 0;
          for (size_t c = 0; c < cols; ++c) mean += x[r * cols + c];
          mean /= double(cols);
          for (size_t c = 0; c < cols; ++c) var += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
          var /= double(cols);
          for (size_t c = 0; c < cols; ++c) want.push_back((x[r * cols + c] - mean) / std::sqrt(var + 1e-5) * g[c] + b[c]);
        }
        CAPTURE(k->path);
        CAPTURE(rows);
        CAPTURE(cols);
        check_near(y, want, 1e-5, "layernorm");
      }
    }
  }
}

// Every approximation's whole range, including where erf and tanh saturate.
TEST_CASE("gelu over a dense grid") {
  std::vector<float> x;
  for (int i = -12000; i <= 12000; ++i) x.push_back(float(i) / 1000.0f);
  std::vector<double> erf_want, tanh_want;
  for (float v : x) {
    erf_want.push_back(0.5 * v * (1 + std::erf(v / std::sqrt(2.0))));
    tanh_want.push_back(0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * double(v) * v * v))));
  }
  for (const Kernels* k : paths()) {
    CAPTURE(std::string(k->path));
    auto y = x;
    k->gelu(y.data(), y.size());
    check_near(y, erf_want, 1e-6, "gelu");
    y = x;
    k->gelu_tanh(y.data(), y.size());
    check_near(y, tanh_want, 1e-6, "gelu_tanh");
  }
}

TEST_CASE("activations and add") {
  std::mt19937 rng(5);
  for (const Kernels* k : paths()) {
    for (size_t n : {1, 7, 8, 31, 64, 1000}) {
      auto x = random_vector(n, rng, 4.0f);
      std::vector<double> erf_want, tanh_want, relu_want;
      for (float v : x) {
        erf_want.push_back(0.5 * v * (1 + std::erf(v / std::sqrt(2.0))));
        tanh_want.push_back(0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * double(v) * v * v))));
        relu_want.push_back(v > 0 ? v : 0);
      }
      auto y = x;
      k->gelu(y.data(), n);
      check_near(y, erf_want, 1e-6, "gelu");
      y = x;
      k->gelu_tanh(y.data(), n);
      check_near(y, tanh_want, 1e-6, "gelu_tanh");
      y = x;
      k->relu(y.data(), n);
      check_near(y, relu_want, 0, "relu");
      auto other = random_vector(n, rng);
      std::vector<double> sum;
      for (size_t i = 0; i < n; ++i) sum.push_back(double(x[i]) + other[i]);
      k->add(x.data(), other.data(), y.data(), n);
      check_near(y, sum, 1e-7, "add");
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

TEST_CASE("gemm with packed weights, bias, fused activation and residual") {
  std::mt19937 rng(13);
  for (const Kernels* k : paths()) {
    if (!k->gemm) continue;
    for (size_t m : {1, 3, 8, 9, 17}) {
      for (size_t n : {1, 15, 32, 33, 70, 300}) {  // 300: several panel groups
        for (size_t depth : {1, 7, 300, 800}) {
          for (int e = 0; e < 4; ++e) {
            CAPTURE(k->path);
            CAPTURE(m);
            CAPTURE(n);
            CAPTURE(depth);
            CAPTURE(e);
            const size_t a_stride = depth + 3, c_stride = n + 5;
            auto a = random_vector(m * a_stride, rng), w = random_vector(n * depth, rng, 0.1f), bias = random_vector(n, rng);
            std::vector<float> packed(k->gemm_packed_floats(n, depth)), c(m * c_stride, -7.0f);
            k->gemm_pack(w.data(), n, depth, packed.data());
            const auto epilogue = attn::Epilogue(e);
            const float* b = e % 2 ? bias.data() : nullptr;
            const auto residual_rows = random_vector(m * c_stride, rng);
            const float* residual = (m + e) % 2 ? residual_rows.data() : nullptr;
            CAPTURE(residual != nullptr);
            const size_t panels = (n + k->gemm_panel - 1) / k->gemm_panel;
            // In two panel ranges, as threads would.
            k->gemm(a.data(), a_stride, m, depth, packed.data(), b, epilogue, residual, c.data(), c_stride, n, 0,
                    panels / 2);
            k->gemm(a.data(), a_stride, m, depth, packed.data(), b, epilogue, residual, c.data(), c_stride, n,
                    panels / 2, panels);
            std::vector<float> got;
            std::vector<double> want;
            for (size_t r = 0; r < m; ++r)
              for (size_t j = 0; j < n; ++j) {
                double acc = b ? b[j] : 0.0;
                for (size_t i = 0; i < depth; ++i) acc += double(a[r * a_stride + i]) * w[j * depth + i];
                if (epilogue == attn::Epilogue::Gelu) acc = 0.5 * acc * (1 + std::erf(acc / std::sqrt(2.0)));
                if (epilogue == attn::Epilogue::GeluTanh)
                  acc = 0.5 * acc * (1 + std::tanh(std::sqrt(2 / M_PI) * (acc + 0.044715 * acc * acc * acc)));
                if (epilogue == attn::Epilogue::Relu) acc = std::max(acc, 0.0);
                if (residual) acc += residual[r * c_stride + j];
                want.push_back(acc);
                got.push_back(c[r * c_stride + j]);
              }
            check_near(got, want, 2e-5, "gemm");
            // Padding between rows is untouched.
            bool untouched = true;
            for (size_t r = 0; r < m; ++r)
              for (size_t j = n; j < c_stride; ++j) untouched &= c[r * c_stride + j] == -7.0f;
            CHECK(untouched);
          }
        }
      }
    }
  }
}
