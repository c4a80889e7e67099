// Incremental decoding through the cache reproduces the full-sequence logits
// at every position, for every variant and both GPT-2 layouts.

#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>

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
