// Where a model's bytes come from and how its sessions share them: weights
// packed once per model; the caller's buffer used in place; a range of an
// open file. Outputs are checked against the fixtures' float64 references
// within the spec's tolerance (test::spec_tolerance).

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "convert.h"
#include "support.h"
#include "writer.h"

using namespace attn;

namespace {

struct Fixture {
  npy::Array input, expected;
  explicit Fixture(const std::string& name)
      : input(npy::read(test::fixture_dir(name) + "/inputs.npy")),
        expected(npy::read(test::fixture_dir(name) + "/expected.npy")) {}
};

// Every item of the fixture within the spec's tolerance of its reference.
void check_model(attn_model* model, const Fixture& f, uint32_t threads, const std::string& where) {
  attn_session_options options;
  attn_session_options_init(&options);
  options.threads = threads;
  attn_session* session = nullptr;
  REQUIRE_MESSAGE(attn_session_create(model, &options, &session) == ATTN_OK, attn_last_error_message());
  const size_t items = size_t(f.input.shape[0]);
  const size_t per_item = f.expected.count() / items;
  const float* ref = reinterpret_cast<const float*>(f.expected.data.data());
  for (size_t i = 0; i < items; ++i) {
    const std::vector<float> out = test::run_item(session, f.input, i);
    REQUIRE(out.size() == per_item);
    double worst = 0;
    for (size_t k = 0; k < per_item; ++k) worst = std::max(worst, std::fabs(double(out[k]) - ref[i * per_item + k]));
    CHECK_MESSAGE(worst <= test::spec_tolerance(ref + i * per_item, per_item), where << " item " << i << ": " << worst);
  }
  attn_session_release(session);
}

std::string write_model(const std::string& name, const std::vector<uint8_t>& bytes, size_t prefix = 0,
                        size_t suffix = 0) {
  const std::string path = std::string(ATTN_TEST_OUTPUT_DIR) + "/" + name;
  std::vector<uint8_t> file(prefix, 0x5a);
  file.insert(file.end(), bytes.begin(), bytes.end());
  file.insert(file.end(), suffix, 0xa5);
  convert::write_file_atomically(path, file);
  return path;
}

#if !defined(ATTN_SANITIZED)
// Resident memory of this process in bytes (sanitized builds' allocators
// keep memory of their own, so the test that reads it is left out there).
size_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6)) * 1024;
  return 0;
}
#endif

}  // namespace

TEST_CASE("sessions of one model share its packed weights and each meets the reference") {
  // Two threads make every dense layer use the own GEMM, whose packing is shared;
  // the tied lm_head is the token embedding, whose file pages are given back
  // after packing and read again by the embedding lookup.
  const Fixture f("hf-gpt2-tiny");
  const std::string path = write_model("shared.attnmodel", test::convert_fixture("hf-gpt2-tiny"));
  attn_model* model = nullptr;
  REQUIRE(attn_model_load_file(path.c_str(), &model) == ATTN_OK);
  for (uint32_t threads : {2u, 1u}) {
    check_model(model, f, threads, "first session, " + std::to_string(threads) + " threads");
    check_model(model, f, threads, "second session");
  }
  attn_session *a = nullptr, *b = nullptr;
  REQUIRE(attn_session_create(model, nullptr, &a) == ATTN_OK);
  REQUIRE(attn_session_create(model, nullptr, &b) == ATTN_OK);
  attn_model_release(model);  // the sessions keep it, and its packings, alive
  const std::vector<float> from_a = test::run_item(a, f.input, 1);
  attn_session_release(a);
  CHECK(test::run_item(b, f.input, 1) == from_a);
  attn_session_release(b);
}

#if !defined(ATTN_SANITIZED)
TEST_CASE("a second session costs its activations, not another copy of the weights") {
  const std::string config = R"({"family": "vit", "attention": "standard", "d_model": 256, "heads": 4,
    "layers": 4, "mlp_dim": 1024, "context": 64, "activation": "gelu", "norm_first": true,
    "layer_norm_eps": 1e-6, "image_size": [32, 32], "channels": 1, "patch_size": 4, "pool": "mean",
    "num_classes": 10})";
  const auto converted = convert::convert_random(config, "config.json", 1, {});
  const std::string path = write_model("second-session.attnmodel", converted.file);
  const size_t file_bytes = converted.file.size();  // ~12.6 MB of weights
  attn_model* model = nullptr;
  REQUIRE(attn_model_load_file(path.c_str(), &model) == ATTN_OK);
  attn_session_options options;
  attn_session_options_init(&options);
  options.threads = 2;  // every dense layer on the own GEMM
  std::vector<float> image(32 * 32, 0.25f);
  const int64_t shape[] = {1, 32, 32};
  attn_session *first = nullptr, *second = nullptr;
  REQUIRE(attn_session_create(model, &options, &first) == ATTN_OK);
  REQUIRE(attn_session_set_input(first, 0, image.data(), image.size() * 4, shape, 3) == ATTN_OK);
  REQUIRE(attn_session_run(first) == ATTN_OK);
  const size_t before = resident_bytes();
  REQUIRE(attn_session_create(model, &options, &second) == ATTN_OK);
  REQUIRE(attn_session_set_input(second, 0, image.data(), image.size() * 4, shape, 3) == ATTN_OK);
  REQUIRE(attn_session_run(second) == ATTN_OK);
  const size_t added = resident_bytes() - before;
  MESSAGE("file " << file_bytes << " bytes; the second session added " << added);
  // Its activations are well under 1 MB (64 tokens of 1024 floats); a second
  // packing would add the whole file.
  CHECK(added < file_bytes / 8);
  attn_session_release(second);
  attn_session_release(first);
  attn_model_release(model);
}
#endif

TEST_CASE("ATTN_LOAD_NO_COPY uses the caller's aligned buffer in place") {
  const Fixture f("text-super-postnorm");
  const std::vector<uint8_t> bytes = test::convert_fixture("text-super-postnorm");
  const size_t rounded = (bytes.size() + 64) / 64 * 64;
  uint8_t* buffer = static_cast<uint8_t*>(std::aligned_alloc(64, rounded + 64));
  REQUIRE(buffer);
  std::memcpy(buffer, bytes.data(), bytes.size());
  attn_model* model = nullptr;
  REQUIRE_MESSAGE(attn_model_load_memory_flags(buffer, bytes.size(), ATTN_LOAD_NO_COPY, &model) == ATTN_OK,
                  attn_last_error_message());
  check_model(model, f, 1, "in place");
  attn_model_release(model);

  // The same bytes one byte further on: refused, with the way out named.
  std::memmove(buffer + 1, buffer, bytes.size());
  CHECK(attn_model_load_memory_flags(buffer + 1, bytes.size(), ATTN_LOAD_NO_COPY, &model) ==
        ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(model == nullptr);
  CHECK(std::string(attn_last_error_message()).find("aligned") != std::string::npos);
  // Without the flag it is copied, and works.
  REQUIRE(attn_model_load_memory_flags(buffer + 1, bytes.size(), 0, &model) == ATTN_OK);
  std::free(buffer);  // the copy does not need it
  check_model(model, f, 1, "copied");
  attn_model_release(model);

  CHECK(attn_model_load_memory_flags(bytes.data(), bytes.size(), 6, &model) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(attn_last_error_message()).find("unknown bits") != std::string::npos);
  CHECK(attn_model_load_memory_flags(nullptr, 10, ATTN_LOAD_NO_COPY, &model) == ATTN_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("a model loads from a range of an open file") {
  const Fixture f("vit-super-cls-postnorm");
  const std::vector<uint8_t> bytes = test::convert_fixture("vit-super-cls-postnorm");
  // 192 bytes in: 64-aligned but not page-aligned, with other data after it.
  const std::string path = write_model("embedded.bin", bytes, 192, 1000);
  int fd = open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  attn_model* model = nullptr;
  REQUIRE_MESSAGE(attn_model_load_fd(fd, 192, bytes.size(), &model) == ATTN_OK, attn_last_error_message());
  close(fd);  // the mapping stays
  check_model(model, f, 1, "fd range");
  attn_model_release(model);

  fd = open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  CHECK(attn_model_load_fd(fd, 100, bytes.size(), &model) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(attn_last_error_message()).find("multiple of 64") != std::string::npos);
  CHECK(attn_model_load_fd(fd, 192, bytes.size() + 2000, &model) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(attn_last_error_message()).find("past the end") != std::string::npos);
  CHECK(attn_model_load_fd(fd, 192, 0, &model) == ATTN_ERROR_INVALID_MODEL);
  CHECK(attn_model_load_fd(fd, UINT64_MAX - 63, 64, &model) == ATTN_ERROR_INVALID_ARGUMENT);
  // The range must hold a whole model: one cut short is refused by the loader.
  CHECK(attn_model_load_fd(fd, 192, bytes.size() / 2, &model) == ATTN_ERROR_INVALID_MODEL);
  CHECK(std::string(attn_last_error_message()).find("fd ") == 0);
  CHECK(model == nullptr);
  close(fd);
  CHECK(attn_model_load_fd(-1, 0, 64, &model) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_model_load_fd(fd, 0, 64, &model) != ATTN_OK);  // closed
  CHECK(attn_model_load_fd(0, 0, 64, nullptr) == ATTN_ERROR_INVALID_ARGUMENT);
}
