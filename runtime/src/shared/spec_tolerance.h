// The numerical contract (docs/spec.md): an output y passes against its
// float64 reference when max |y - ref| <= 1e-4 * max(1, max |ref|). attn-infer
// --verify and the tests apply it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace attn {

inline double spec_tolerance(const float* ref, size_t count) {
  double scale = 1.0;
  for (size_t i = 0; i < count; ++i) scale = std::max(scale, std::fabs(double(ref[i])));
  return 1e-4 * scale;
}

}  // namespace attn
