// Incremental decoding through the cache reproduces the full-sequence logits
// at every position, for every variant and both GPT-2 layouts.

#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#if defined(__linux__)
#include <linux/perf_event.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "convert.h"
#include "support.h"

namespace {

std::vector<std::string> gpt_fixtures() {
  std::vector<std::string> names;
  for (const std::string& name : attn::test::fixture_names())
    if (name.rfind("gpt-", 0) == 0 || name.rfind("hf-gpt2", 0) == 0) names.push_back(name);
  return names;
}

std::vector<float> last_logits(attn_session* s, size_t vocab) {
  attn_tensor_info info;
  REQUIRE(attn_session_output_info(s, 0, &info) == ATTN_OK);
  REQUIRE(info.rank == 2);
  CHECK(info.shape[0] == 1);
  REQUIRE(size_t(info.shape[1]) == vocab);
  std::vector<float> out(vocab);
  REQUIRE(attn_session_get_output(s, 0, out.data(), vocab * 4) == ATTN_OK);
  return out;
}

void check_row(const std::vector<float>& got, const float* ref, const std::string& where) {
  const double tol = attn::test::spec_tolerance(ref, got.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(double(got[i]) - ref[i]));
  CHECK_MESSAGE(worst <= tol, where << ": max error " << worst << " > " << tol);
}

}  // namespace

TEST_CASE("token-by-token decoding matches the full-sequence reference at every position") {
  const auto names = gpt_fixtures();
  REQUIRE(names.size() >= 8);
  for (const std::string& name : names) {
    SUBCASE(name.c_str()) {
      const std::string dir = attn::test::fixture_dir(name);
      const attn::npy::Array input = attn::npy::read(dir + "/inputs.npy");
      const attn::npy::Array expected = attn::npy::read(dir + "/expected.npy");
      attn::test::Loaded m(attn::test::convert_fixture(name));
      const size_t items = size_t(input.shape[0]), n = size_t(input.shape[1]), vocab = size_t(expected.shape[2]);
      const int32_t* ids = reinterpret_cast<const int32_t*>(input.data.data());
      const float* ref = reinterpret_cast<const float*>(expected.data.data());
      for (size_t item = 0; item < items; ++item) {
        REQUIRE(attn_session_reset(m.session) == ATTN_OK);
        for (size_t t = 0; t < n; ++t) {
          REQUIRE_MESSAGE(attn_session_decode(m.session, ids + item * n + t, 1) == ATTN_OK, attn_last_error_message());
          size_t position = 0;
          REQUIRE(attn_session_position(m.session, &position) == ATTN_OK);
          CHECK(position == t + 1);
          check_row(last_logits(m.session, vocab), ref + (item * n + t) * vocab,
                    name + " item " + std::to_string(item) + " position " + std::to_string(t));
        }
        // A prefill of part of the sequence, then single tokens.
        REQUIRE(attn_session_reset(m.session) == ATTN_OK);
        const size_t prefix = n / 2 + 1;
        REQUIRE(attn_session_decode(m.session, ids + item * n, prefix) == ATTN_OK);
        check_row(last_logits(m.session, vocab), ref + (item * n + prefix - 1) * vocab, name + " prefill");
        for (size_t t = prefix; t < n; ++t) REQUIRE(attn_session_decode(m.session, ids + item * n + t, 1) == ATTN_OK);
        check_row(last_logits(m.session, vocab), ref + (item * n + n - 1) * vocab, name + " after prefill");
      }
      // A full run fills the cache too: decoding continues from it.
      int64_t len = int64_t(n - 1);
      REQUIRE(attn_session_set_input(m.session, 0, ids, size_t(len) * 4, &len, 1) == ATTN_OK);
      REQUIRE(attn_session_run(m.session) == ATTN_OK);
      size_t position = 0;
      REQUIRE(attn_session_position(m.session, &position) == ATTN_OK);
      CHECK(position == n - 1);
      REQUIRE(attn_session_decode(m.session, ids + n - 1, 1) == ATTN_OK);
      check_row(last_logits(m.session, vocab), ref + (n - 1) * vocab, name + " after a full run");
    }
  }
}

TEST_CASE("decoding runs to the last position of the context and refuses to pass it") {
  attn::test::Loaded m(attn::test::convert_fixture("gpt-super"));
  int64_t L = 0;
  REQUIRE(attn_model_max_tokens(m.model, &L) == ATTN_OK);
  std::vector<int32_t> ids(size_t(L) + 1, 3);
  REQUIRE(attn_session_decode(m.session, ids.data(), size_t(L) - 1) == ATTN_OK);
  REQUIRE(attn_session_decode(m.session, ids.data(), 1) == ATTN_OK);  // position L-1
  size_t position = 0;
  REQUIRE(attn_session_position(m.session, &position) == ATTN_OK);
  CHECK(position == size_t(L));
  CHECK(attn_session_decode(m.session, ids.data(), 1) == ATTN_ERROR_OUT_OF_RANGE);
  CHECK(std::string(attn_last_error_message()).find("context") != std::string::npos);
  REQUIRE(attn_session_reset(m.session) == ATTN_OK);
  CHECK(attn_session_decode(m.session, ids.data(), size_t(L) + 1) == ATTN_ERROR_OUT_OF_RANGE);
  CHECK(attn_session_decode(m.session, ids.data(), 0) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_decode(m.session, nullptr, 1) == ATTN_ERROR_INVALID_ARGUMENT);
  ids[0] = 1 << 20;
  CHECK(attn_session_decode(m.session, ids.data(), 1) == ATTN_ERROR_OUT_OF_RANGE);
  CHECK(std::string(attn_last_error_message()).find("vocabulary") != std::string::npos);
}

TEST_CASE("the cache holds what each variant's keys and values are made of, once") {
  struct Expect {
    const char* fixture;
    size_t vectors_per_layer;  // d-wide vectors cached per token per layer
  };
  for (const Expect& e : {Expect{"gpt-standard-fused", 2}, Expect{"gpt-optimized-lmhead", 2},
                          Expect{"gpt-efficient", 1}, Expect{"gpt-super", 2}}) {
    CAPTURE(std::string(e.fixture));
    const auto config = nlohmann::json::parse(attn::test::read_text(attn::test::fixture_dir(e.fixture) + "/config.json"));
    attn::test::Loaded m(attn::test::convert_fixture(e.fixture));
    size_t bytes = 0, per_token = 0;
    REQUIRE(attn_session_cache_info(m.session, &bytes, &per_token) == ATTN_OK);
    const size_t want = config["layers"].get<size_t>() * e.vectors_per_layer * config["d_model"].get<size_t>() * 4;
    CHECK(per_token == want);
    CHECK(bytes == want * config["context"].get<size_t>());
  }
  attn::test::Loaded vit(attn::test::convert_fixture("vit-super-mean"));
  size_t bytes = 1;
  REQUIRE(attn_session_cache_info(vit.session, &bytes, nullptr) == ATTN_OK);
  CHECK(bytes == 0);
  const int32_t id = 1;
  CHECK(attn_session_decode(vit.session, &id, 1) == ATTN_ERROR_BAD_STATE);
}

TEST_CASE("decoding leaves the input set with set_input as it was") {
  attn::test::Loaded m(attn::test::convert_fixture("gpt-efficient"));
  const int32_t ids[6] = {1, 2, 3, 4, 5, 6};
  int64_t n = 6;
  REQUIRE(attn_session_set_input(m.session, 0, ids, sizeof ids, &n, 1) == ATTN_OK);
  REQUIRE(attn_session_run(m.session) == ATTN_OK);
  std::vector<float> first(6 * 64), again(6 * 64);
  REQUIRE(attn_session_get_output(m.session, 0, first.data(), first.size() * 4) == ATTN_OK);
  const int32_t other[3] = {9, 9, 9};
  REQUIRE(attn_session_decode(m.session, other, 3) == ATTN_OK);
  REQUIRE(attn_session_run(m.session) == ATTN_OK);
  REQUIRE(attn_session_get_output(m.session, 0, again.data(), again.size() * 4) == ATTN_OK);
  CHECK(first == again);
}

// Sanitizers fault in shadow pages for every page the cache uses (one per 8),
// which this count would see.
#if defined(__linux__) && !defined(ATTN_SANITIZED)
namespace {

// The page faults this thread takes while it is open (the kernel's software
// event: exceptions only, not the pages a system call faults in for it),
// or -1 where perf events are not allowed.
class PageFaultCounter {
 public:
  PageFaultCounter() {
    perf_event_attr attr{};
    attr.type = PERF_TYPE_SOFTWARE;
    attr.size = sizeof attr;
    attr.config = PERF_COUNT_SW_PAGE_FAULTS;
    attr.exclude_kernel = 0;
    fd_ = int(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
  }
  ~PageFaultCounter() {
    if (fd_ >= 0) close(fd_);
  }
  long long count() const {
    long long n = -1;
    if (fd_ < 0 || read(fd_, &n, sizeof n) != sizeof n) return -1;
    return n;
  }

 private:
  int fd_ = -1;
};

// Whether this kernel has MADV_POPULATE_WRITE (Linux 5.14; 23 in its ABI)
// and it makes pages resident (an emulator may accept it and do nothing).
bool kernel_populates() {
  const size_t bytes = 1 << 16, pages = bytes / size_t(sysconf(_SC_PAGESIZE));
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  std::vector<unsigned char> resident(pages, 0);
  bool ok = madvise(p, bytes, 23) == 0 && mincore(p, bytes, resident.data()) == 0;
  for (unsigned char r : resident) ok = ok && (r & 1);
  munmap(p, bytes);
  return ok;
}

}  // namespace

TEST_CASE("decoding makes the cache resident ahead in steps, not a page per token and layer") {
  if (!kernel_populates()) {
    MESSAGE("this kernel has no MADV_POPULATE_WRITE: the cache faults in as written");
    return;
  }
  // d 1024: each position's keys, and its values, fill a 4 KiB page in each of the 2 layers.
  nlohmann::json config = nlohmann::json::parse(attn::test::read_text(attn::test::fixture_dir("gpt-super") + "/config.json"));
  config["attention"] = "standard";
  config["d_model"] = 1024, config["heads"] = 8, config["context"] = 512;
  const auto model = attn::convert::convert_random(config.dump(), "config.json", 3, {});
  attn::test::Loaded m(model.file);
  const int32_t id = 5;
  REQUIRE(attn_session_decode(m.session, &id, 1) == ATTN_OK);  // the arena's pages, the first step
  const PageFaultCounter counter;
  const long long before = counter.count();
  if (before < 0) {
    MESSAGE("perf events are not allowed here: page faults cannot be counted");
    return;
  }
  for (int t = 1; t < 257; ++t) REQUIRE(attn_session_decode(m.session, &id, 1) == ATTN_OK);
  const long long faults = counter.count() - before;
  // Faulted in as written, the 256 positions would take 256 × 2 layers ×
  // (keys + values) = 1024 faults; made resident 64 positions ahead, none
  // but the few pages a longer row of attention scores reaches.
  CHECK_MESSAGE(faults < 64, faults << " page faults in 256 decoding steps");
}
#endif
