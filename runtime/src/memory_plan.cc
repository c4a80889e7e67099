#include "memory_plan.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <queue>
#include <set>

#include "error.h"

namespace attn {

namespace {

constexpr size_t kAlign = 64;
constexpr size_t kMaxBuffer = size_t{1} << 46;

// Free space of the arena below its high-water mark, as blocks indexed both
// by offset (to merge neighbours) and by size (to find the best fit). Every
// operation is O(log blocks).
class FreeSpace {
 public:
  // The offset of `bytes` taken from the smallest free block that holds
  // them, or from the top of the arena.
  size_t take(size_t bytes) {
    auto fit = by_size_.lower_bound({bytes, 0});
    if (fit != by_size_.end()) {
      const auto [size, offset] = *fit;
      erase(offset, size);
      if (size > bytes) insert(offset + bytes, size - bytes);
      return offset;
    }
    // A free block that ends at the top grows upward instead of wasting it.
    if (!by_offset_.empty()) {
      const auto last = std::prev(by_offset_.end());
      if (last->first + last->second == top_) {
        const size_t offset = last->first;
        erase(offset, last->second);
        top_ = offset + bytes;
        return offset;
      }
    }
    const size_t offset = top_;
    top_ += bytes;
    return offset;
  }

  // Returns [offset, offset + bytes) to the free space, merged with its neighbours.
  void give(size_t offset, size_t bytes) {
    auto next = by_offset_.lower_bound(offset);
    if (next != by_offset_.end() && next->first == offset + bytes) {
      bytes += next->second;
      erase(next->first, next->second);
    }
    next = by_offset_.lower_bound(offset);
    if (next != by_offset_.begin()) {
      const auto prev = std::prev(next);
      if (prev->first + prev->second == offset) {
        offset = prev->first;
        bytes += prev->second;
        erase(prev->first, prev->second);
      }
    }
    insert(offset, bytes);
  }

  size_t top() const { return top_; }

 private:
  void insert(size_t offset, size_t bytes) {
    by_offset_.emplace(offset, bytes);
    by_size_.emplace(bytes, offset);
  }
  void erase(size_t offset, size_t bytes) {
    by_offset_.erase(offset);
    by_size_.erase({bytes, offset});
  }

  std::map<size_t, size_t> by_offset_;
  std::set<std::pair<size_t, size_t>> by_size_;
  size_t top_ = 0;
};

}  // namespace

// One sweep over the steps: buffers are placed in the order they become live
// (larger first among those born at the same step), each in the best-fitting
// free block, and their space is freed after their last step. R requests
// cost O(R log R): a sort, and O(log R) heap and free-space operations each.
MemoryPlan plan_memory(const std::vector<BufferRequest>& requests) {
  MemoryPlan plan;
  plan.offsets.assign(requests.size(), 0);
  std::vector<size_t> aligned(requests.size());
  std::vector<size_t> order;
  order.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const BufferRequest& r = requests[i];
    if (r.bytes > kMaxBuffer) fail(ATTN_ERROR_OUT_OF_MEMORY, "a buffer of " + std::to_string(r.bytes) + " bytes is too large");
    aligned[i] = (r.bytes + kAlign - 1) / kAlign * kAlign;
    // A buffer never live (or empty) takes no space while others live, but
    // the arena still holds it should it be addressed.
    if (r.first_step > r.last_step || aligned[i] == 0) {
      plan.arena_bytes = std::max(plan.arena_bytes, aligned[i]);
      continue;
    }
    order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (requests[a].first_step != requests[b].first_step) return requests[a].first_step < requests[b].first_step;
    if (aligned[a] != aligned[b]) return aligned[a] > aligned[b];
    return a < b;
  });
  FreeSpace space;
  using Live = std::pair<int, size_t>;  // last step, request
  std::priority_queue<Live, std::vector<Live>, std::greater<Live>> live;
  for (size_t i : order) {
    while (!live.empty() && live.top().first < requests[i].first_step) {
      const size_t done = live.top().second;
      live.pop();
      space.give(plan.offsets[done], aligned[done]);
    }
    plan.offsets[i] = space.take(aligned[i]);
    live.emplace(requests[i].last_step, i);
  }
  plan.arena_bytes = std::max(plan.arena_bytes, space.top());
  return plan;
}

}  // namespace attn
