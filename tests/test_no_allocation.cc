// attn_session_run allocates nothing: every heap call in this process is
// counted while runs are in flight.

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>

#include "executor.h"
#include "ops/dense_layer.h"
#include "support.h"

#ifdef ATTN_SANITIZED
#include <pthread.h>
#include <sanitizer/allocator_interface.h>
#else
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
}
#endif

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
void note() {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

#ifdef ATTN_SANITIZED
// Under a sanitizer its runtime owns malloc: count through its hooks. Only
// the test's own thread is counted there: the sanitizer allocates for itself
// when a worker thread starts, whenever that is. (The plain build counts
// every thread.)
namespace {
const pthread_t test_thread = pthread_self();
void on_malloc(const volatile void*, size_t) {
  if (pthread_equal(pthread_self(), test_thread)) note();
}
void on_free(const volatile void*) {}
[[maybe_unused]] const int hooks_installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}  // namespace
#else
// Interposed for the whole process (operator new calls malloc).
extern "C" {
void* malloc(size_t size) {
  note();
  return __libc_malloc(size);
}
void* calloc(size_t n, size_t size) {
  note();
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t size) {
  note();
  return __libc_realloc(p, size);
}
void* aligned_alloc(size_t alignment, size_t size) {
  note();
  return __libc_memalign(alignment, size);
}
void* memalign(size_t alignment, size_t size) {
  note();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, size_t alignment, size_t size) {
  note();
  *out = __libc_memalign(alignment, size);
  return *out ? 0 : 12;
}
}
#endif

namespace {

long allocations_during_runs(const char* fixture, uint32_t threads, int runs,
                             attn::WeightType weights = attn::WeightType::F32, uint32_t dense = ATTN_DENSE_AUTO) {
  const attn::npy::Array input = attn::npy::read(attn::test::fixture_dir(fixture) + "/inputs.npy");
  attn::test::Loaded m(attn::test::convert_fixture(fixture, weights), threads, dense);
  const size_t items = size_t(input.shape[0]);
  const size_t per_item = input.count() / items;
  std::vector<int64_t> shape(input.shape.begin() + 1, input.shape.end());
  std::vector<float> out(1 << 16);
  REQUIRE(attn_session_set_input(m.session, 0, input.data.data(), per_item * 4, shape.data(), shape.size()) == ATTN_OK);
  REQUIRE(attn_session_run(m.session) == ATTN_OK);  // a first run, outside the count
  allocations = 0;
  counting = true;
  bool ok = true;
  attn_tensor_info info;
  for (int r = 0; r < runs; ++r) {
    const size_t item = size_t(r) % items;
    // gpt: vary the sequence length too.
    if (attn_model_input_info(m.model, 0, &info) == ATTN_OK && info.shape[0] == -1) shape[0] = 1 + r % input.shape[1];
    size_t bytes = 4;
    for (int64_t d : shape) bytes *= size_t(d);
    ok &= attn_session_set_input(m.session, 0, input.data.data() + item * per_item * 4, bytes, shape.data(),
                                 shape.size()) == ATTN_OK;
    ok &= attn_session_run(m.session) == ATTN_OK;
    ok &= attn_session_get_output(m.session, 0, out.data(), out.size() * 4) == ATTN_OK;
  }
  counting = false;
  CHECK(ok);
  return allocations.load();
}

}  // namespace

TEST_CASE("set_input, run and get_output allocate nothing") {
  for (const char* fixture : {"vit-super-cls-postnorm", "text-efficient-pad-prelogits", "gpt-super", "hf-gpt2-tiny"}) {
    for (uint32_t threads : {1u, 2u}) {
      CAPTURE(std::string(fixture));
      CAPTURE(threads);
      // Fewer runs with a worker thread: on a loaded machine each hand-off waits for a core.
      CHECK(allocations_during_runs(fixture, threads, threads == 1 ? 3000 : 300) == 0);
    }
  }
}

// The fixtures have at most 17 rows; a layer in place packs its panels as it
// runs from 64 rows (dense_layer.cc), into scratch reserved beforehand.
TEST_CASE("a layer in place with many rows, packing its panels as it runs, allocates nothing") {
  for (uint32_t threads : {1u, 2u}) {
    CAPTURE(threads);
    attn::ExecutorConfig config;
    config.threads = threads;
    attn::Executor exec(config);
    const size_t m = 64, n = 100, k = 300;
    // 0.5 · 0.25 summed 300 times is 37.5 in every order: exact in float.
    std::vector<float> a(m * k, 0.5f), w(n * k, 0.25f), c(m * n, 0.0f);
    attn::reserve_gemm_in_place(exec, m, k);
    const attn::GemmCall call{a.data(), k, m, k, w.data(), nullptr, attn::Epilogue::None, nullptr, c.data(), n};
    attn::run_gemm_in_place(exec, call);  // a first run, outside the count
    allocations = 0;
    counting = true;
    for (int r = 0; r < 100; ++r) attn::run_gemm_in_place(exec, call);
    counting = false;
    CHECK(allocations.load() == 0);
    CHECK(c.front() == 37.5f);
    CHECK(c.back() == 37.5f);
  }
}

TEST_CASE("runs of f16, q8, q4 and q8c models allocate nothing either") {
  for (const char* fixture : {"vit-super-cls-postnorm", "gpt-super"})
    for (attn::WeightType weights :
         {attn::WeightType::F16, attn::WeightType::Q8, attn::WeightType::Q4, attn::WeightType::Q8C})
      for (uint32_t threads : {1u, 2u}) {
        CAPTURE(std::string(fixture));
        CAPTURE(int(weights));
        CAPTURE(threads);
        CHECK(allocations_during_runs(fixture, threads, threads == 1 ? 300 : 100, weights) == 0);
      }
}

TEST_CASE("f32 weights packed, in place and on XNNPACK allocate nothing either") {
  std::vector<uint32_t> backends = {ATTN_DENSE_GEMM_PACKED, ATTN_DENSE_GEMM_IN_PLACE};
  // (On x86 AUTO runs every layer on the own GEMM: XNNPACK is forced here.)
  if (ATTN_TEST_WITH_XNNPACK) backends.push_back(ATTN_DENSE_XNNPACK);
  for (const char* fixture : {"vit-super-cls-postnorm", "gpt-super"})
    for (uint32_t dense : backends)
      for (uint32_t threads : {1u, 2u}) {
        CAPTURE(std::string(fixture));
        CAPTURE(dense);
        CAPTURE(threads);
        CHECK(allocations_during_runs(fixture, threads, threads == 1 ? 300 : 100, attn::WeightType::F32, dense) == 0);
      }
}

TEST_CASE("the counter sees allocations") {
  counting = true;
  allocations = 0;
  void* volatile p = std::malloc(16);
  std::free(p);
  counting = false;
  CHECK(allocations.load() == 1);
}

TEST_CASE("decoding through the cache allocates nothing") {
  std::vector<uint32_t> backends = {ATTN_DENSE_AUTO, ATTN_DENSE_GEMM_PACKED, ATTN_DENSE_GEMM_IN_PLACE};
  if (ATTN_TEST_WITH_XNNPACK) backends.push_back(ATTN_DENSE_XNNPACK);
  for (uint32_t dense : backends) {
    for (uint32_t threads : {1u, 2u}) {
      CAPTURE(dense);
      attn::test::Loaded m(attn::test::convert_fixture("gpt-super"), threads, dense);
      int64_t L = 0;
      REQUIRE(attn_model_max_tokens(m.model, &L) == ATTN_OK);
      std::vector<int32_t> ids(size_t(L), 5);
      std::vector<float> logits(1 << 12);
      REQUIRE(attn_session_decode(m.session, ids.data(), 3) == ATTN_OK);  // a first decode, outside the count
      allocations = 0;
      counting = true;
      bool ok = true;
      for (int round = 0; round < (threads == 1 ? 100 : 10); ++round) {
        ok &= attn_session_reset(m.session) == ATTN_OK;
        ok &= attn_session_decode(m.session, ids.data(), 4) == ATTN_OK;
        for (int64_t t = 4; t < L; ++t) ok &= attn_session_decode(m.session, ids.data() + t, 1) == ATTN_OK;
        ok &= attn_session_get_output(m.session, 0, logits.data(), logits.size() * 4) == ATTN_OK;
      }
      counting = false;
      CHECK(ok);
      CAPTURE(threads);
      CHECK(allocations.load() == 0);
    }
  }
}
