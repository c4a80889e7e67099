// Seeded normal data for the kernel tests.
#pragma once

#include <cstddef>
#include <random>
#include <vector>

namespace attn::test {

inline std::vector<float> random_vector(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

}  // namespace attn::test
