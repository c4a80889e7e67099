#include "planner.h"


#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "error.h"
#include "large_alloc.h"
#include "memory_plan.h"
#include "ops/xnnpack_dense.h"

namespace attn {

namespace {

#if defined(__linux__)
// Linux 5.14's MADV_POPULATE_WRITE (its value in the kernel's ABI), for C
// libraries whose headers predate it.
#ifdef MADV_POPULATE_WRITE
constexpr int kPopulateWrite = MADV_POPULATE_WRITE;
#else
constexpr int kPopulateWrite = 23;
#endif
#endif

// The value that the Add right after op k adds to op k's output, when op k
// can fold a residual and that Add alone reads its output; -1 otherwise.
// readers[v] counts the op inputs and model outputs that are value v.
int foldable_residual(const Model& m, const std::vector<std::unique_ptr<Operator>>& ops,
                      const std::vector<int>& readers, size_t k) {
  if (k + 1 >= m.ops.size() || !ops[k]->folds_residual() || m.ops[k + 1].kind != OpKind::Add) return -1;
  const OpInfo& next = m.ops[k + 1];
  const int v = m.ops[k].outputs[0];
  if (readers[size_t(v)] != 1) return -1;
  if (next.inputs[0] == v) return next.inputs[1];
  return next.inputs[1] == v ? next.inputs[0] : -1;
}

}  // namespace

// Every value and every op's scratch becomes a buffer request; model inputs
// and outputs live through the whole run (inputs stay valid across runs).
SessionMemory::SessionMemory(const Model& m, const std::vector<std::unique_ptr<Operator>>& ops,
                             const Kernels& kernels) {
  const int end = static_cast<int>(m.ops.size());
  std::vector<BufferRequest> requests;
  requests.reserve(m.values.size() + kMaxScratch * m.ops.size());
  for (const ValueInfo& v : m.values) requests.push_back({v.max_elements * 4, end, -1});
  for (int v : m.inputs) requests[size_t(v)].first_step = 0, requests[size_t(v)].last_step = end;
  std::vector<int> readers(m.values.size(), 0);
  auto use = [&](int v, int step) {
    requests[size_t(v)].first_step = std::min(requests[size_t(v)].first_step, step);
    requests[size_t(v)].last_step = std::max(requests[size_t(v)].last_step, step);
  };
  for (int k = 0; k < end; ++k) {
    for (int v : m.ops[size_t(k)].inputs) ++readers[size_t(v)], use(v, k);
    for (int v : m.ops[size_t(k)].outputs) use(v, k);
  }
  for (int v : m.outputs) {
    requests[size_t(v)].last_step = end;
    ++readers[size_t(v)];
  }
  // A folded Add's sum is written at the step before it, and the output it
  // replaces is never written.
  std::vector<int> residual(m.ops.size(), -1);
  for (size_t k = 0; k < m.ops.size(); ++k) {
    residual[k] = foldable_residual(m, ops, readers, k);
    if (residual[k] < 0) continue;
    BufferRequest& sum = requests[size_t(m.ops[k + 1].outputs[0])];
    sum.first_step = std::min(sum.first_step, int(k));
    requests[size_t(m.ops[k].outputs[0])].bytes = 0;
  }
  std::vector<OpNeeds> needs(m.ops.size());
  for (size_t k = 0; k < m.ops.size(); ++k) {
    needs[k] = ops[k]->needs(m, kernels);
    for (size_t floats : needs[k].scratch)
      if (floats) requests.push_back({floats * 4, int(k), int(k)});
  }

  const MemoryPlan p = plan_memory(requests);
  // XNNPACK may read a little past the end of a dense layer's input.
  arena_bytes_ = std::max<size_t>(p.arena_bytes, 64) + (xnnpack_input_overread_bytes() + 63) / 64 * 64;
  // Zeroed by calloc, which gives a large arena as fresh pages of the kernel's:
  // they become resident when a run first writes them, not at creation, so a
  // session costs the memory of the lengths it runs.
  arena_block_.reset(std::calloc(arena_bytes_ + 64, 1));
  if (!arena_block_)
    fail(ATTN_ERROR_OUT_OF_MEMORY, "cannot allocate the activation arena of " + std::to_string(arena_bytes_) + " bytes");
  char* arena = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(arena_block_.get()) + 63) / 64 * 64);
  auto at = [&](size_t request) { return reinterpret_cast<float*>(arena + p.offsets[request]); };

  values_.resize(m.values.size());
  for (size_t v = 0; v < m.values.size(); ++v) values_[v] = at(v);
  size_t next = m.values.size();
  buffers_.resize(m.ops.size());
  folded_.assign(m.ops.size(), false);
  for (size_t k = 0; k < m.ops.size(); ++k) {
    const OpInfo& op = m.ops[k];
    OpBuffers& b = buffers_[k];
    for (int v : op.inputs) b.in.push_back(value(v));
    const bool folds_next = residual[k] >= 0;
    b.out = value((folds_next ? m.ops[k + 1] : op).outputs[0]);
    if (folds_next) b.residual = value(residual[k]);
    folded_[k] = k > 0 && residual[k - 1] >= 0;
    for (size_t j = 0; j < kMaxScratch; ++j)
      if (needs[k].scratch[j]) b.scratch[j] = at(next++);
    for (int v : m.outputs) b.model_output |= op.outputs[0] == v;
  }
  bind_cache(needs, size_t(m.max_tokens));
}

// One block for every causal layer's cache, kept across runs.
void SessionMemory::bind_cache(const std::vector<OpNeeds>& needs, size_t max_tokens) {
  for (const OpNeeds& n : needs) cache_floats_ += n.cache;
  if (!cache_floats_) return;
  // In huge pages from 2 MiB: decoding reads every cached row once per
  // token, so with 4 KiB pages it took a TLB miss every 4 KiB of the cache
  // and, on a virtual machine, a costly first touch of every page written.
  cache_.reset(static_cast<float*>(allocate_large(cache_floats_ * 4)));
  if (!cache_)
    fail(ATTN_ERROR_OUT_OF_MEMORY, "cannot allocate the decode cache of " + std::to_string(cache_floats_ * 4) + " bytes");
  max_tokens_ = max_tokens;
  float* next = cache_.get();
  for (size_t k = 0; k < needs.size(); ++k) {
    if (!needs[k].cache) continue;
    buffers_[k].cache = next;
    const size_t region = max_tokens * needs[k].cache_row;
    for (size_t r = 0; region && r < needs[k].cache / region; ++r)
      cache_regions_.push_back({next + r * region, needs[k].cache_row});
    next += needs[k].cache;
  }
}

void SessionMemory::reserve_cache(size_t positions) {
  if (positions <= cache_reserved_ || !populate_works_) return;
  const size_t target = std::min(max_tokens_, (positions + kCacheStep - 1) / kCacheStep * kCacheStep);
#if defined(__linux__)
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  for (const CacheRegion& region : cache_regions_) {
    // Every page holding a row of the step: the first and last pages also
    // hold bytes of this allocation, so they are mapped and writable, and
    // populating leaves their contents as they are.
    const auto from = reinterpret_cast<uintptr_t>(region.rows + cache_reserved_ * region.row_floats) & ~(page - 1);
    const auto to = (reinterpret_cast<uintptr_t>(region.rows + target * region.row_floats) + page - 1) & ~(page - 1);
    if (to > from && madvise(reinterpret_cast<void*>(from), to - from, kPopulateWrite) != 0) {
      populate_works_ = false;  // an older kernel (EINVAL): pages fault in as written
      return;
    }
  }
#endif
  cache_reserved_ = target;
}

}  // namespace attn
