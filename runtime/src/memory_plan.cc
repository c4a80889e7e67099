#include "memory_plan.h"

#include <algorithm>
#include <numeric>

#include "error.h"

namespace attn {

MemoryPlan plan_memory(const std::vector<BufferRequest>& requests) {
  constexpr size_t kAlign = 64;
  MemoryPlan plan;
  plan.offsets.assign(requests.size(), 0);
  // Largest first, each at the lowest offset clear of every placed buffer
  // whose lifetime overlaps its own.
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return requests[a].bytes > requests[b].bytes; });
  std::vector<size_t> placed;
  for (size_t i : order) {
    const BufferRequest& r = requests[i];
    if (r.bytes > (size_t{1} << 46)) fail(ATTN_ERROR_OUT_OF_MEMORY, "a buffer of " + std::to_string(r.bytes) + " bytes is too large");
    const size_t bytes = (r.bytes + kAlign - 1) / kAlign * kAlign;
    std::vector<std::pair<size_t, size_t>> busy;  // [begin, end)
    for (size_t j : placed) {
      const BufferRequest& o = requests[j];
      if (o.first_step <= r.last_step && r.first_step <= o.last_step) {
        size_t ob = (o.bytes + kAlign - 1) / kAlign * kAlign;
        busy.emplace_back(plan.offsets[j], plan.offsets[j] + ob);
      }
    }
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    for (const auto& [begin, end] : busy) {
      if (offset + bytes <= begin) break;
      offset = std::max(offset, end);
    }
    plan.offsets[i] = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + bytes);
    placed.push_back(i);
  }
  return plan;
}

}  // namespace attn
