// The loader refuses empty, truncated and corrupted model files with a
// status of the right kind and a message; nothing it accepts can crash.

#include <doctest/doctest.h>

#include <cstring>
#include <random>

#include "attnmodel_generated.h"
#include "support.h"

using namespace attn;

namespace {

attn_status load(const std::vector<uint8_t>& bytes, attn_model** model) {
  return attn_model_load_memory(bytes.data(), bytes.size(), model);
}

attn_status load_status(const std::vector<uint8_t>& bytes) {
  attn_model* model = nullptr;
  attn_status s = load(bytes, &model);
  attn_model_release(model);
  return s;
}

// Loads, prepares and runs once with a valid input; returns the first
// failing status. The point is that it returns at all.
attn_status load_and_run(const std::vector<uint8_t>& bytes, const npy::Array& input) {
  attn_model* model = nullptr;
  attn_status s = load(bytes, &model);
  if (s != ATTN_OK) return s;
  attn_session* session = nullptr;
  s = attn_session_create(model, nullptr, &session);
  if (s == ATTN_OK) {
    const size_t per_item = input.count() / size_t(input.shape[0]);
    std::vector<int64_t> shape(input.shape.begin() + 1, input.shape.end());
    s = attn_session_set_input(session, 0, input.data.data(), per_item * 4, shape.data(), shape.size());
    if (s == ATTN_OK) s = attn_session_run(session);
  }
  attn_session_release(session);
  attn_model_release(model);
  return s;
}

}  // namespace

TEST_CASE("empty, truncated and foreign files are refused") {
  const auto good = test::convert_fixture("vit-super-mean");
  REQUIRE(load_status(good) == ATTN_OK);

  attn_model* model = reinterpret_cast<attn_model*>(1);
  CHECK(attn_model_load_memory(good.data(), 0, &model) == ATTN_ERROR_INVALID_MODEL);
  CHECK(model == nullptr);
  CHECK(std::string(attn_last_error_message()).find("empty") != std::string::npos);

  for (size_t len : {size_t(1), size_t(11), size_t(64), good.size() / 2, good.size() - 1}) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + std::ptrdiff_t(len));
    CAPTURE(len);
    CHECK(load_status(cut) == ATTN_ERROR_INVALID_MODEL);
    CHECK(std::strlen(attn_last_error_message()) > 0);
  }

  std::vector<uint8_t> foreign = good;
  std::memcpy(foreign.data() + 8, "ONNX", 4);
  CHECK(load_status(foreign) == ATTN_ERROR_INVALID_MODEL);
  CHECK(std::string(attn_last_error_message()).find("ATNM") != std::string::npos);

  const std::string text = "{\"family\": \"vit\"}";
  CHECK(load_status(std::vector<uint8_t>(text.begin(), text.end())) == ATTN_ERROR_INVALID_MODEL);

  attn_model* missing = nullptr;
  CHECK(attn_model_load_file("/nonexistent/model.attnmodel", &missing) == ATTN_ERROR_IO);
  CHECK(std::string(attn_last_error_message()).find("/nonexistent/model.attnmodel") != std::string::npos);
  CHECK(attn_model_load_file(ATTN_TEST_DATA_DIR, &missing) == ATTN_ERROR_IO);
}

TEST_CASE("a newer format version is refused as unsupported") {
  std::vector<uint8_t> bytes = test::convert_fixture("vit-super-mean");
  const fb::Model* root = fb::GetSizePrefixedModel(bytes.data());
  const uint8_t* field = reinterpret_cast<const flatbuffers::Table*>(root)->GetAddressOf(fb::Model::VT_FORMAT_VERSION);
  REQUIRE(field != nullptr);
  const uint32_t next = 2;
  std::memcpy(bytes.data() + (field - bytes.data()), &next, 4);
  CHECK(load_status(bytes) == ATTN_ERROR_UNSUPPORTED_VERSION);
  CHECK(ATTN_STATUS_KIND(ATTN_ERROR_UNSUPPORTED_VERSION) == ATTN_STATUS_KIND(ATTN_ERROR_INVALID_MODEL));
  CHECK(std::string(attn_last_error_message()).find("version 2") != std::string::npos);
}

TEST_CASE("a tensor pointing outside the data section is named") {
  std::vector<uint8_t> bytes = test::convert_fixture("vit-super-mean");
  const fb::Model* root = fb::GetSizePrefixedModel(bytes.data());
  const fb::Tensor* t = root->tensors()->Get(1);
  const uint8_t* field = reinterpret_cast<const flatbuffers::Table*>(t)->GetAddressOf(fb::Tensor::VT_OFFSET);
  REQUIRE(field != nullptr);
  const uint64_t far = uint64_t(1) << 40;
  std::memcpy(bytes.data() + (field - bytes.data()), &far, 8);
  CHECK(load_status(bytes) == ATTN_ERROR_INVALID_MODEL);
  const std::string message = attn_last_error_message();
  CHECK(message.find(t->name()->str()) != std::string::npos);
  CHECK(message.find("outside the data section") != std::string::npos);
}

TEST_CASE("random corruption of the header never crashes") {
  for (const char* name : {"vit-super-cls-postnorm", "text-standard-fused-pad", "gpt-super"}) {
    const auto good = test::convert_fixture(name);
    const npy::Array input = npy::read(test::fixture_dir(name) + "/inputs.npy");
    uint32_t header_size;
    std::memcpy(&header_size, good.data(), 4);
    std::mt19937 rng(1234);
    int refused = 0, accepted = 0;
    for (int trial = 0; trial < 300; ++trial) {
      std::vector<uint8_t> bad = good;
      const int flips = 1 + int(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        const size_t at = rng() % (header_size + 4);
        switch (rng() % 3) {
          case 0: bad[at] ^= uint8_t(1u << (rng() % 8)); break;
          case 1: bad[at] = 0xff; break;
          default: bad[at] = 0x00; break;
        }
      }
      const attn_status s = load_and_run(bad, input);
      if (s == ATTN_OK) ++accepted;
      else ++refused;
      CHECK_MESSAGE((s == ATTN_OK || std::strlen(attn_last_error_message()) > 0), "status " << s << " without a message");
      CHECK_MESSAGE(s != ATTN_ERROR_INTERNAL, attn_last_error_message());
    }
    MESSAGE(std::string(name) << ": " << refused << " refused, " << accepted << " harmless");
    CHECK(refused > 0);
  }
}
