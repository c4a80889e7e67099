// Static memory plan: buffers with known sizes and lifetimes (first and last
// step that uses them) share one arena wherever their lifetimes do not
// overlap.
#pragma once

#include <cstddef>
#include <vector>

namespace attn {

struct BufferRequest {
  size_t bytes;
  int first_step, last_step;  // inclusive
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // one per request, multiples of 64
  size_t arena_bytes = 0;
};

MemoryPlan plan_memory(const std::vector<BufferRequest>& requests);

}  // namespace attn
