// splitmix64 (Steele, Lea and Flood 2014): a tiny seeded generator with the
// same stream on every platform and standard library. The sampler seeds
// xoshiro256** with it, the converter's random init and attn-infer's
// synthetic inputs draw from it; tests/test_sampler.cc pins its stream.
#pragma once

#include <cstdint>

namespace attn {

// Advances `state` and returns the next value.
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace attn
