// Misuse of the C API gets a status and a message, never undefined behaviour.

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "support.h"

namespace {

std::string message() { return attn_last_error_message(); }

bool mentions(const char* part) { return message().find(part) != std::string::npos; }

}  // namespace

TEST_CASE("null arguments are refused") {
  attn_model* model = nullptr;
  attn_session* session = nullptr;
  size_t count;
  attn_tensor_info info;
  CHECK(attn_model_load_file(nullptr, &model) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(mentions("path"));
  CHECK(attn_model_load_memory(nullptr, 10, &model) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_model_load_file("x", nullptr) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_model_input_count(nullptr, &count) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_model_output_info(nullptr, 0, &info) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_create(nullptr, nullptr, &session) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_run(nullptr) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_set_input(nullptr, 0, nullptr, 0, nullptr, 0) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_get_output(nullptr, 0, nullptr, 0) == ATTN_ERROR_INVALID_ARGUMENT);
  attn_model_release(nullptr);
  attn_session_release(nullptr);
  attn_session_options_init(nullptr);
  CHECK(ATTN_STATUS_KIND(ATTN_ERROR_SHAPE_MISMATCH) == 1);
  CHECK(ATTN_STATUS_KIND(ATTN_ERROR_OUT_OF_MEMORY) == 3);
}

TEST_CASE("a classifier session refuses wrong inputs and use out of order") {
  attn::test::Loaded m(attn::test::convert_fixture("vit-standard-fused"));
  attn_tensor_info in;
  REQUIRE(attn_model_input_info(m.model, 0, &in) == ATTN_OK);
  CHECK(std::string(in.name) == "image");
  REQUIRE(in.rank == 3);
  const size_t count = size_t(in.shape[0] * in.shape[1] * in.shape[2]);
  std::vector<float> image(count, 0.5f);
  std::vector<float> logits(64);

  CHECK(attn_session_run(m.session) == ATTN_ERROR_BAD_STATE);
  CHECK(mentions("image"));
  CHECK(attn_session_get_output(m.session, 0, logits.data(), logits.size() * 4) == ATTN_ERROR_BAD_STATE);

  int64_t wrong_rank[] = {in.shape[0], in.shape[1] * in.shape[2]};
  CHECK(attn_session_set_input(m.session, 0, image.data(), count * 4, wrong_rank, 2) == ATTN_ERROR_SHAPE_MISMATCH);
  CHECK(mentions("expects shape"));
  int64_t wrong_dim[] = {in.shape[0], in.shape[1] + 1, in.shape[2]};
  CHECK(attn_session_set_input(m.session, 0, image.data(), count * 4, wrong_dim, 3) == ATTN_ERROR_SHAPE_MISMATCH);
  CHECK(attn_session_set_input(m.session, 0, image.data(), count * 4 - 4, in.shape, 3) == ATTN_ERROR_SHAPE_MISMATCH);
  CHECK(attn_session_set_input(m.session, 1, image.data(), count * 4, in.shape, 3) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_set_input(m.session, 0, nullptr, count * 4, in.shape, 3) == ATTN_ERROR_INVALID_ARGUMENT);
  image[7] = NAN;
  CHECK(attn_session_set_input(m.session, 0, image.data(), count * 4, in.shape, 3) == ATTN_ERROR_OUT_OF_RANGE);
  CHECK(mentions("element 7"));
  image[7] = 0.5f;

  REQUIRE(attn_session_set_input(m.session, 0, image.data(), count * 4, in.shape, 3) == ATTN_OK);
  REQUIRE(attn_session_run(m.session) == ATTN_OK);
  attn_tensor_info out;
  REQUIRE(attn_session_output_info(m.session, 0, &out) == ATTN_OK);
  const size_t classes = size_t(out.shape[0]);
  CHECK(attn_session_get_output(m.session, 0, logits.data(), classes * 4 - 1) == ATTN_ERROR_BUFFER_TOO_SMALL);
  CHECK(mentions("bytes"));
  CHECK(attn_session_get_output(m.session, 1, logits.data(), logits.size() * 4) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_get_output(m.session, 0, logits.data(), classes * 4) == ATTN_OK);
  // The input stays set: a second run gives the same result.
  std::vector<float> again(classes);
  REQUIRE(attn_session_run(m.session) == ATTN_OK);
  REQUIRE(attn_session_get_output(m.session, 0, again.data(), classes * 4) == ATTN_OK);
  CHECK(std::memcmp(again.data(), logits.data(), classes * 4) == 0);
}

TEST_CASE("token ids are checked against the vocabulary and the context") {
  attn::test::Loaded m(attn::test::convert_fixture("hf-gpt2-tiny"));
  attn_tensor_info in;
  REQUIRE(attn_model_input_info(m.model, 0, &in) == ATTN_OK);
  CHECK(in.dtype == ATTN_DTYPE_I32);
  CHECK(in.rank == 1);
  CHECK(in.shape[0] == -1);
  std::vector<int32_t> ids(40, 7);
  int64_t n = 5;
  ids[3] = 300;
  CHECK(attn_session_set_input(m.session, 0, ids.data(), 20, &n, 1) == ATTN_ERROR_OUT_OF_RANGE);
  CHECK(mentions("token id 300 at position 3"));
  ids[3] = -1;
  CHECK(attn_session_set_input(m.session, 0, ids.data(), 20, &n, 1) == ATTN_ERROR_OUT_OF_RANGE);
  ids[3] = 7;
  n = 33;
  CHECK(attn_session_set_input(m.session, 0, ids.data(), 33 * 4, &n, 1) == ATTN_ERROR_SHAPE_MISMATCH);
  CHECK(mentions("1..32"));
  n = 0;
  CHECK(attn_session_set_input(m.session, 0, ids.data(), 0, &n, 1) == ATTN_ERROR_SHAPE_MISMATCH);
  for (int64_t len : {int64_t(1), int64_t(32), int64_t(9)}) {
    REQUIRE(attn_session_set_input(m.session, 0, ids.data(), size_t(len) * 4, &len, 1) == ATTN_OK);
    REQUIRE(attn_session_run(m.session) == ATTN_OK);
    attn_tensor_info out;
    REQUIRE(attn_session_output_info(m.session, 0, &out) == ATTN_OK);
    CHECK(out.rank == 2);
    CHECK(out.shape[0] == len);
    CHECK(out.shape[1] == 300);
  }
}

TEST_CASE("an input made only of padding is refused at run") {
  attn::test::Loaded m(attn::test::convert_fixture("text-standard-fused-pad"));
  attn_tensor_info in;
  REQUIRE(attn_model_input_info(m.model, 0, &in) == ATTN_OK);
  const char* config;
  REQUIRE(attn_model_metadata(m.model, "config_json", &config) == ATTN_OK);
  const std::string cfg = config;
  const size_t at = cfg.find("\"pad_id\"");
  REQUIRE(at != std::string::npos);
  const int32_t pad = std::stoi(cfg.substr(cfg.find(':', at) + 1));
  std::vector<int32_t> ids(size_t(in.shape[0]), pad);
  REQUIRE(attn_session_set_input(m.session, 0, ids.data(), ids.size() * 4, in.shape, 1) == ATTN_OK);
  CHECK(attn_session_run(m.session) == ATTN_ERROR_OUT_OF_RANGE);
  CHECK(mentions("padding"));
  float logits[64];
  CHECK(attn_session_get_output(m.session, 0, logits, sizeof logits) == ATTN_ERROR_BAD_STATE);
}

TEST_CASE("a session keeps its model alive, whatever the release order") {
  const auto bytes = attn::test::convert_fixture("gpt-efficient");
  attn_model* model = nullptr;
  REQUIRE(attn_model_load_memory(bytes.data(), bytes.size(), &model) == ATTN_OK);
  attn_session* a = nullptr;
  attn_session* b = nullptr;
  REQUIRE(attn_session_create(model, nullptr, &a) == ATTN_OK);
  REQUIRE(attn_session_create(model, nullptr, &b) == ATTN_OK);
  attn_model_release(model);
  int32_t ids[4] = {1, 2, 3, 4};
  int64_t n = 4;
  REQUIRE(attn_session_set_input(a, 0, ids, sizeof ids, &n, 1) == ATTN_OK);
  CHECK(attn_session_run(a) == ATTN_OK);
  attn_session_release(a);
  REQUIRE(attn_session_set_input(b, 0, ids, sizeof ids, &n, 1) == ATTN_OK);
  CHECK(attn_session_run(b) == ATTN_OK);
  attn_session_release(b);
}

TEST_CASE("options are checked") {
  const auto bytes = attn::test::convert_fixture("vit-efficient-f16");
  attn_model* model = nullptr;
  REQUIRE(attn_model_load_memory(bytes.data(), bytes.size(), &model) == ATTN_OK);
  attn_session_options options;
  attn_session_options_init(&options);
  CHECK(options.struct_size == sizeof options);
  CHECK(options.threads == 1);
  attn_session* s = nullptr;
  options.struct_size = 3;
  CHECK(attn_session_create(model, &options, &s) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(mentions("struct_size"));
  CHECK(s == nullptr);
  attn_session_options_init(&options);
  options.threads = 100000;
  CHECK(attn_session_create(model, &options, &s) == ATTN_ERROR_INVALID_ARGUMENT);
  options.threads = 0;
  CHECK(attn_session_create(model, &options, &s) == ATTN_OK);
  attn_session_release(s);
  const char* value;
  CHECK(attn_model_metadata(model, "weights", &value) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_model_metadata(model, "converter_version", &value) == ATTN_OK);
  CHECK(std::string(value) == std::string("attn-convert ") + ATTN_PROJECT_VERSION);
  attn_model_release(model);
}

TEST_CASE("profiling splits run time by operator class") {
  const auto bytes = attn::test::convert_fixture("vit-super-mean");
  attn_model* model = nullptr;
  REQUIRE(attn_model_load_memory(bytes.data(), bytes.size(), &model) == ATTN_OK);
  attn_session* plain = nullptr;
  REQUIRE(attn_session_create(model, nullptr, &plain) == ATTN_OK);
  double seconds[ATTN_OP_CLASS_COUNT];
  uint64_t runs = 0;
  CHECK(attn_session_profile(plain, seconds, &runs) == ATTN_ERROR_BAD_STATE);
  attn_session_release(plain);

  attn_session_options options;
  attn_session_options_init(&options);
  options.profile = 1;
  attn_session* s = nullptr;
  REQUIRE(attn_session_create(model, &options, &s) == ATTN_OK);
  attn_tensor_info in;
  REQUIRE(attn_model_input_info(model, 0, &in) == ATTN_OK);
  std::vector<float> image(size_t(in.shape[0] * in.shape[1] * in.shape[2]), 0.25f);
  REQUIRE(attn_session_set_input(s, 0, image.data(), image.size() * 4, in.shape, 3) == ATTN_OK);
  for (int i = 0; i < 20; ++i) REQUIRE(attn_session_run(s) == ATTN_OK);
  REQUIRE(attn_session_profile(s, seconds, &runs) == ATTN_OK);
  CHECK(runs == 20);
  // This model has attention, dense layers, norms, GELU and embeddings: each class saw time,
  // except GELU where the kernel path's own GEMM applies it (then it counts as dense).
  for (int c = 0; c < ATTN_OP_CLASS_COUNT; ++c)
    if (c != ATTN_OP_CLASS_ACTIVATION) CHECK_MESSAGE(seconds[c] > 0, attn_op_class_name(attn_op_class(c)));
  CHECK(seconds[ATTN_OP_CLASS_ACTIVATION] >= 0);
  REQUIRE(attn_session_profile_reset(s) == ATTN_OK);
  REQUIRE(attn_session_profile(s, seconds, &runs) == ATTN_OK);
  CHECK(runs == 0);
  CHECK(seconds[ATTN_OP_CLASS_DENSE] == 0);
  CHECK(std::string(attn_op_class_name(ATTN_OP_CLASS_ATTENTION)) == "attention");
  attn_session_release(s);
  attn_model_release(model);
}

TEST_CASE("every entry point refuses null handles and pointers with a status") {
  size_t count = 0;
  int64_t tokens = 0;
  const char* text = nullptr;
  const void* data = nullptr;
  attn_tensor_info info;
  double seconds[ATTN_OP_CLASS_COUNT];
  uint64_t runs = 0;
  const int32_t ids[1] = {0};
  CHECK(attn_model_output_count(nullptr, &count) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_model_input_info(nullptr, 0, &info) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_model_max_tokens(nullptr, &tokens) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_model_metadata(nullptr, "family", &text) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_model_sample_count(nullptr, &count) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_model_sample_input(nullptr, 0, 0, &info, &data) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_model_sample_output(nullptr, 0, 0, &info, &data) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_output_info(nullptr, 0, &info) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_decode(nullptr, ids, 1) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_reset(nullptr) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_position(nullptr, &count) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_cache_info(nullptr, &count, &count) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_profile(nullptr, seconds, &runs) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_profile_reset(nullptr) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(std::strlen(attn_kernel_path()) > 0);

  attn::test::Loaded m(attn::test::convert_fixture("text-standard-fused-pad"));
  CHECK(attn_model_input_count(m.model, nullptr) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_model_input_info(m.model, 0, nullptr) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_model_max_tokens(m.model, nullptr) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_model_metadata(m.model, nullptr, &text) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_model_metadata(m.model, "family", nullptr) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_model_sample_input(m.model, 0, 0, nullptr, &data) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_model_sample_input(m.model, 1000, 0, &info, &data) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_output_info(m.session, 0, nullptr) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_position(m.session, nullptr) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_profile(m.session, nullptr, &runs) == ATTN_ERROR_INVALID_ARGUMENT);

  attn_tensor_info in;
  REQUIRE(attn_model_input_info(m.model, 0, &in) == ATTN_OK);
  std::vector<int32_t> tokens_in(size_t(in.shape[0]), 1);
  const size_t bytes = tokens_in.size() * 4;
  // A shape pointer that is null, or more dimensions than any input has.
  CHECK(attn_session_set_input(m.session, 0, tokens_in.data(), bytes, nullptr, 1) == ATTN_ERROR_INVALID_ARGUMENT);
  int64_t big[ATTN_MAX_RANK + 1] = {in.shape[0], 1, 1, 1, 1, 1, 1, 1, 1};
  CHECK(attn_session_set_input(m.session, 0, tokens_in.data(), bytes, big, ATTN_MAX_RANK + 1) == ATTN_ERROR_INVALID_ARGUMENT);
  // Bytes for a float tensor of another size: the dtype is the model's, so a wrong size is a wrong dtype too.
  CHECK(attn_session_set_input(m.session, 0, tokens_in.data(), bytes * 2, in.shape, 1) == ATTN_ERROR_SHAPE_MISMATCH);
  REQUIRE(attn_session_set_input(m.session, 0, tokens_in.data(), bytes, in.shape, 1) == ATTN_OK);
  REQUIRE(attn_session_run(m.session) == ATTN_OK);
  CHECK(attn_session_get_output(m.session, 0, nullptr, 1024) == ATTN_ERROR_INVALID_ARGUMENT);
  // A text classifier has no decode cache: decoding is refused, not attempted.
  CHECK(attn_session_decode(m.session, ids, 1) == ATTN_ERROR_BAD_STATE);
  CHECK(mentions("causal"));
}

TEST_CASE("decoding refuses bad token lists with a status") {
  attn::test::Loaded m(attn::test::convert_fixture("gpt-super"));
  int64_t L = 0;
  REQUIRE(attn_model_max_tokens(m.model, &L) == ATTN_OK);
  const int32_t ids[2] = {1, 2};
  CHECK(attn_session_decode(m.session, nullptr, 1) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_session_decode(m.session, ids, 0) == ATTN_ERROR_INVALID_ARGUMENT);
  const int32_t outside[1] = {1 << 30};
  CHECK(attn_session_decode(m.session, outside, 1) == ATTN_ERROR_OUT_OF_RANGE);
  std::vector<int32_t> many(size_t(L) + 1, 1);
  CHECK(attn_session_decode(m.session, many.data(), many.size()) == ATTN_ERROR_OUT_OF_RANGE);
  CHECK(attn_session_decode(m.session, ids, 2) == ATTN_OK);
  size_t position = 0;
  REQUIRE(attn_session_position(m.session, &position) == ATTN_OK);
  CHECK(position == 2);
}

TEST_CASE("the version is CMakeLists.txt's project() version everywhere") {
  CHECK(std::string(attn_version()) == ATTN_PROJECT_VERSION);
  CHECK(std::to_string(ATTN_VERSION_MAJOR) + "." + std::to_string(ATTN_VERSION_MINOR) + "." +
            std::to_string(ATTN_VERSION_PATCH) ==
        ATTN_PROJECT_VERSION);
}
