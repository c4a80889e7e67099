#include "packed_weights.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "error.h"
#include "kernels/kernels.h"
#include "large_alloc.h"
#include "model.h"

namespace attn {

namespace {

// Drops the whole pages inside [data, data + bytes) from the process's
// resident set. Only for a read-only file mapping: there the pages are
// read again from the file if touched; anonymous memory would be zeroed.
void drop_pages(const void* data, size_t bytes) {
  const long page_size = sysconf(_SC_PAGESIZE);
  if (page_size <= 0) return;
  const uintptr_t page = uintptr_t(page_size);
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) / page * page;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);  // advice: failure is harmless
}

// The whole pages inside [data, data + bytes), or {0, 0}.
std::pair<uintptr_t, size_t> inner_pages(const void* data, size_t bytes) {
  const long page_size = sysconf(_SC_PAGESIZE);
  if (page_size <= 0) return {0, 0};
  const uintptr_t page = uintptr_t(page_size);
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) / page * page;
  return end > begin ? std::make_pair(begin, size_t(end - begin)) : std::make_pair(uintptr_t(0), size_t(0));
}

// Maps a file mapping's pages in one call instead of a fault per page:
// packing a large model otherwise spends as long in page faults as in
// copying. Advice only.
void populate(const void* data, size_t bytes) {
#ifdef MADV_POPULATE_READ
  const auto pages = inner_pages(data, bytes);
  if (pages.second) madvise(reinterpret_cast<void*>(pages.first), pages.second, MADV_POPULATE_READ);
#else
  (void)data, (void)bytes;
#endif
}

}  // namespace

PackedWeights::~PackedWeights() {
  for (auto& entry : packed_) std::free(entry.second);
}

const void* PackedWeights::get(const void* packer, int index, const ConstTensor& w, size_t bytes,
                               const std::function<void(void*)>& pack, bool drop_source) {
  std::lock_guard<std::mutex> lock(mutex_);
  float*& packed = packed_[{packer, index}];
  if (packed) return packed;
  bytes = (bytes + 63) / 64 * 64;
  packed = static_cast<float*>(allocate_large(bytes));
  if (!packed) {
    packed_.erase({packer, index});
    fail(ATTN_ERROR_OUT_OF_MEMORY, "cannot allocate packed weights for tensor '" + w.name + "'");
  }
  const WeightTypeTraits& type = traits_of(w.type);
  const size_t cols = size_t(w.shape.back()), rows = w.count / cols;
  const size_t data_bytes = type.data_bytes(rows, cols), scale_bytes = type.scale_count(rows, cols) * sizeof(float);
  if (drop_source) populate(w.data, data_bytes);
  pack(packed);
  bytes_ += bytes;
  if (drop_source) {
    drop_pages(w.data, data_bytes);
    if (scale_bytes) drop_pages(w.scales, scale_bytes);
  }
  return packed;
}

size_t PackedWeights::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bytes_;
}

}  // namespace attn
