// The sampler against a float64 reference of its distribution, its generator
// against an independent implementation's values, and its argument checks.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "attn/attn.h"
#include "sampler.h"

namespace {

struct Sampler {
  attn_sampler* s = nullptr;
  Sampler(float temperature, uint32_t top_k, float top_p, float penalty, uint64_t seed, size_t vocab) {
    attn_sampler_options o;
    attn_sampler_options_init(&o);
    o.temperature = temperature, o.top_k = top_k, o.top_p = top_p, o.repetition_penalty = penalty, o.seed = seed;
    REQUIRE(attn_sampler_create(&o, vocab, &s) == ATTN_OK);
  }
  ~Sampler() { attn_sampler_release(s); }
  int32_t pick(const std::vector<float>& logits, const std::vector<int32_t>& history = {}) {
    int32_t id = -1;
    REQUIRE(attn_sampler_sample(s, logits.data(), logits.size(), history.data(), history.size(), &id) == ATTN_OK);
    return id;
  }
};

// The distribution the options define, in float64, written from the
// definitions (softmax of logits / T over the top k, then the smallest
// prefix reaching top_p), independently of the sampler's code.
std::vector<double> reference(const std::vector<float>& logits, double t, size_t k, double p) {
  std::vector<size_t> idx(logits.size());
  std::iota(idx.begin(), idx.end(), size_t(0));
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return logits[a] > logits[b]; });
  idx.resize(k ? std::min(k, idx.size()) : idx.size());
  double z = 0;
  for (size_t i : idx) z += std::exp(double(logits[i]) / t);
  std::vector<double> prob(logits.size(), 0.0);
  double mass = 0;
  for (size_t i : idx) {
    if (mass >= p) break;
    const double q = std::exp(double(logits[i]) / t) / z;
    prob[i] = q;
    mass += q;
  }
  for (double& q : prob) q /= mass;
  return prob;
}

}  // namespace

TEST_CASE("the generator gives xoshiro256** seeded by splitmix64, as an independent implementation does") {
  // Values from a Python implementation of both algorithms (Vigna's reference code).
  attn::Rng zero(0), seven(7);
  CHECK(zero.next() == 0x99ec5f36cb75f2b4ull);
  CHECK(zero.next() == 0xbf6e1f784956452aull);
  CHECK(zero.next() == 0x1a5f849d4933e6e0ull);
  CHECK(seven.next() == 0xb358faf74ef9765aull);
  attn::Rng u(7);
  CHECK(u.uniform() == 0.7005764821796896);  // exact: 53 bits times 2^-53
}

TEST_CASE("sampled frequencies match the float64 distribution of temperature, top-k and top-p") {
  const std::vector<float> logits = {1.0f, 2.5f, -0.5f, 2.0f, 0.3f, 2.5f, -3.0f, 1.7f};
  struct Case {
    float t;
    uint32_t k;
    float p;
  };
  for (const Case c : {Case{1.0f, 0, 1.0f}, Case{0.7f, 4, 1.0f}, Case{1.3f, 0, 0.8f}, Case{0.9f, 5, 0.6f}}) {
    CAPTURE(c.t);
    CAPTURE(c.k);
    CAPTURE(c.p);
    const std::vector<double> ref = reference(logits, c.t, c.k, c.p);
    Sampler s(c.t, c.k, c.p, 1.0f, 11, logits.size());
    const int n = 40000;
    std::vector<int> hits(logits.size(), 0);
    for (int i = 0; i < n; ++i) ++hits[size_t(s.pick(logits))];
    for (size_t i = 0; i < logits.size(); ++i) {
      CAPTURE(i);
      if (ref[i] == 0) {
        CHECK(hits[i] == 0);  // cut by top-k or top-p: never drawn
        continue;
      }
      // A binomial count: 5 standard deviations (a false failure about once
      // in 3 million checks with a fair generator).
      const double sd = std::sqrt(n * ref[i] * (1 - ref[i]));
      CHECK(std::abs(hits[i] - n * ref[i]) < 5 * sd + 1);
    }
  }
}

TEST_CASE("temperature 0 is the arg-max, ties to the lower id; the repetition penalty applies first") {
  Sampler greedy(0, 0, 1, 1, 0, 4);
  CHECK(greedy.pick({0.5f, 3.0f, 3.0f, -1.0f}) == 1);
  Sampler penalised(0, 0, 1, 1.25f, 0, 3);
  CHECK(penalised.pick({2.0f, 1.7f, -1.0f}) == 0);
  CHECK(penalised.pick({2.0f, 1.7f, -1.0f}, {0}) == 1);          // 2 / 1.25 = 1.6 < 1.7
  CHECK(penalised.pick({2.0f, 1.7f, -1.0f}, {0, 0, 0}) == 1);    // once per token, however often seen
  CHECK(penalised.pick({-1.0f, -1.2f, -5.0f}, {0}) == 1);        // -1 · 1.25 = -1.25 < -1.2
  Sampler top1(1.0f, 1, 1, 1, 5, 4);
  for (int i = 0; i < 50; ++i) CHECK(top1.pick({0.1f, 0.2f, 0.3f, 0.25f}) == 2);
}

TEST_CASE("the same seed gives the same draws; another seed others") {
  std::vector<float> logits(1000);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = float(std::sin(double(i))) * 3;
  const auto run = [&](uint64_t seed) {
    Sampler s(0.9f, 50, 0.95f, 1.1f, seed, logits.size());
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.pick(logits, out));
    return out;
  };
  CHECK(run(42) == run(42));
  CHECK(run(42) != run(43));
}

TEST_CASE("bad sampler arguments are refused by name") {
  attn_sampler_options o;
  attn_sampler_options_init(&o);
  attn_sampler* s = nullptr;
  o.temperature = -1;
  CHECK(attn_sampler_create(&o, 10, &s) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(attn_last_error_message()).find("temperature") != std::string::npos);
  attn_sampler_options_init(&o);
  o.top_p = std::nanf("");
  CHECK(attn_sampler_create(&o, 10, &s) == ATTN_ERROR_INVALID_ARGUMENT);
  attn_sampler_options_init(&o);
  o.repetition_penalty = 0.5f;
  CHECK(attn_sampler_create(&o, 10, &s) == ATTN_ERROR_INVALID_ARGUMENT);
  attn_sampler_options_init(&o);
  CHECK(attn_sampler_create(&o, 0, &s) == ATTN_ERROR_INVALID_ARGUMENT);
  o.struct_size = 3;
  CHECK(attn_sampler_create(&o, 10, &s) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(s == nullptr);
  Sampler ok(1, 0, 1, 1.5f, 0, 3);
  int32_t id = 0;
  const float nan_logits[3] = {0, std::nanf(""), 1};
  CHECK(attn_sampler_sample(ok.s, nan_logits, 3, nullptr, 0, &id) == ATTN_ERROR_INVALID_ARGUMENT);
  const float logits[3] = {0, 1, 2};
  CHECK(attn_sampler_sample(ok.s, logits, 2, nullptr, 0, &id) == ATTN_ERROR_SHAPE_MISMATCH);
  const int32_t history[2] = {1, 7};
  CHECK(attn_sampler_sample(ok.s, logits, 3, history, 2, &id) == ATTN_ERROR_OUT_OF_RANGE);
  Sampler greedy(0, 0, 1, 1.5f, 0, 3);
  const float close[3] = {0, 2, 1.5f};
  CHECK(attn_sampler_sample(greedy.s, close, 3, history, 2, &id) == ATTN_ERROR_OUT_OF_RANGE);
  CHECK(greedy.pick({0, 2, 1.5f}, {1}) == 2);  // 2 / 1.5 < 1.5: the refused call left no mark
  CHECK(attn_sampler_sample(ok.s, logits, 3, nullptr, 2, &id) == ATTN_ERROR_INVALID_ARGUMENT);
}
