// A session reused for thousands of runs keeps stable memory: the bytes held
// by the allocator and the resident set do not grow, and the same input keeps
// giving the same bits.

#include <doctest/doctest.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "support.h"

#ifdef ATTN_SANITIZED
#include <sanitizer/allocator_interface.h>
#endif

namespace {

// Bytes the program holds from the allocator now.
size_t allocated_bytes() {
#ifdef ATTN_SANITIZED
  return __sanitizer_get_current_allocated_bytes();
#else
  return mallinfo2().uordblks;
#endif
}

size_t resident_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  const int got = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * size_t(sysconf(_SC_PAGESIZE)) : 0;
}

void reuse(const char* fixture, int runs) {
  const attn::npy::Array input = attn::npy::read(attn::test::fixture_dir(fixture) + "/inputs.npy");
  attn::test::Loaded m(attn::test::convert_fixture(fixture));
  const size_t items = size_t(input.shape[0]);
  const std::vector<float> first = m.run_item(input, 0);
  // Warm up: every item once, so lazily created state exists.
  for (size_t i = 0; i < items; ++i) m.run_item(input, i);

  const size_t per_item = input.count() / items;
  std::vector<int64_t> shape(input.shape.begin() + 1, input.shape.end());
  std::vector<int32_t> ids(per_item);
  std::vector<float> out(first.size());
  bool ok = true;
  auto run_many = [&](int count, int offset) {
    for (int r = offset; r < offset + count; ++r) {
      const size_t i = size_t(r) % items;
      const void* data = input.data.data() + i * per_item * 4;
      if (input.dtype == attn::npy::DType::I64) {
        const int64_t* src = reinterpret_cast<const int64_t*>(input.data.data()) + i * per_item;
        for (size_t k = 0; k < per_item; ++k) ids[k] = int32_t(src[k]);
        data = ids.data();
      }
      ok &= attn_session_set_input(m.session, 0, data, per_item * 4, shape.data(), shape.size()) == ATTN_OK;
      ok &= attn_session_run(m.session) == ATTN_OK;
      ok &= attn_session_get_output(m.session, 0, out.data(), out.size() * 4) == ATTN_OK;
    }
  };
  // Heap bytes over all the runs; resident memory over the second half, once
  // lazily mapped pages (a sanitizer's fake stacks, say) are in.
  // resident_bytes() opens a FILE: once before the first count, so that the
  // chunk its fclose leaves in glibc's per-thread cache (which mallinfo counts
  // as in use) is there in both counts.
  resident_bytes();
  const size_t heap_before = allocated_bytes();
  run_many(runs / 2, 0);
  const size_t rss_before = resident_bytes();
  run_many(runs - runs / 2, runs / 2);
  const size_t heap_after = allocated_bytes(), rss_after = resident_bytes();
  CHECK(ok);
  CHECK(m.run_item(input, 0) == first);
  INFO("heap " << heap_before << " -> " << heap_after << " bytes, resident " << rss_before << " -> " << rss_after);
  CHECK(heap_after <= heap_before);
  CHECK(rss_after <= rss_before + (256u << 10));
}

}  // namespace

TEST_CASE("a session reused for thousands of runs keeps stable memory") {
  for (const char* fixture : {"vit-super-mean", "text-standard-fused-pad", "gpt-super", "hf-gpt2-tiny"}) {
    CAPTURE(std::string(fixture));
    reuse(fixture, 5000);
  }
}
