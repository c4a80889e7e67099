// Picks the next token from logits: greedy, or sampled with temperature,
// top-k, top-p and a repetition penalty. Its random numbers come from its own
// generator (xoshiro256** seeded by splitmix64) and its own uniform, so a seed
// gives the same draws with every compiler and standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "attn/attn.h"

namespace attn {

class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  // Uniform in [0, 1): the top 53 bits of a draw, times 2⁻⁵³.
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t s_[4];
};

class Sampler {
 public:
  // Checks the options (throws attn::Error naming the field) and allocates
  // its scratch for `vocab` logits, so that sample() allocates nothing.
  Sampler(const attn_sampler_options& options, size_t vocab);
  int32_t sample(const float* logits, size_t count, const int32_t* history, size_t history_count);

 private:
  attn_sampler_options options_;
  Rng rng_;
  std::vector<double> scores_, probs_;
  std::vector<int32_t> order_;
  std::vector<uint8_t> seen_;
};

}  // namespace attn
