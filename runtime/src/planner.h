// A session's memory: one arena holding every value and every op's scratch,
// planned so that buffers whose lifetimes do not overlap share bytes
// (memory_plan.cc), and the decode cache of the causal layers. The planner
// also folds an Add into the op before it when that op's output has no
// other reader (the op stores its result plus the residual).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <vector>

#include "ops/operator.h"

namespace attn {

class SessionMemory {
 public:
  SessionMemory(const Model& m, const std::vector<std::unique_ptr<Operator>>& ops, const Kernels& k);
  SessionMemory(const SessionMemory&) = delete;
  SessionMemory& operator=(const SessionMemory&) = delete;

  float* value(int v) const { return values_[size_t(v)]; }
  const OpBuffers& buffers(size_t op) const { return buffers_[op]; }
  bool folded(size_t op) const { return folded_[op]; }  // an Add that the op before it computes
  size_t cache_floats() const { return cache_floats_; }
  // Makes the cache rows of positions below `positions` resident, in steps of
  // kCacheStep positions, one system call per region and step (Linux's
  // MADV_POPULATE_WRITE; elsewhere, or on kernels before 5.14, nothing: the
  // rows then fault in as they are first written). Each step faults in a
  // few MiB at once instead of a page or two per token and layer: on a
  // virtual machine whose page faults cost 18 µs, that was 18 faults and
  // 0.3 ms per GPT-2 124M token. Memory grows at most kCacheStep positions
  // ahead of use, rounded up to whole pages: a cache of 2 MiB or more is in
  // huge pages where the system allows them (large_alloc.h), so GPT-2 124M
  // has a 2 MiB page resident per layer's keys and values (48 MiB of its
  // 72 MiB at 1,024 tokens) from the first token.
  void reserve_cache(size_t positions);
  static constexpr size_t kCacheStep = 64;
  size_t arena_bytes() const { return arena_bytes_; }

 private:
  void bind_cache(const std::vector<OpNeeds>& needs, size_t max_tokens);

  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> arena_block_;  // what calloc gave; values_ point into it, 64-byte aligned
  size_t arena_bytes_ = 0;
  std::unique_ptr<float, Free> cache_;
  size_t cache_floats_ = 0;
  struct CacheRegion {
    float* rows;
    size_t row_floats;
  };
  std::vector<CacheRegion> cache_regions_;
  size_t max_tokens_ = 0;
  size_t cache_reserved_ = 0;  // positions made resident
  bool populate_works_ = true;
  std::vector<float*> values_;
  std::vector<OpBuffers> buffers_;
  std::vector<bool> folded_;
};

}  // namespace attn
