// Samples embedded by attn-convert --embed-sample, and attn-infer --verify:
// it passes on a converted model and fails once a weight is altered.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "attnmodel_generated.h"
#include "convert.h"
#include "sample_items.h"
#include "support.h"
#include "util.h"
#include "verify.h"

using namespace attn;

namespace {

std::vector<std::vector<convert::SampleTensorData>> npy_items(const npy::Array& a, size_t count) {
  REQUIRE((a.dtype == npy::DType::F32 || a.dtype == npy::DType::I32));
  return convert::sample_items(a, count, "fixture");
}

convert::ConvertResult convert_with_samples(const std::string& name, const convert::SampleRequest& request) {
  const std::string dir = test::fixture_dir(name);
  return convert::convert(convert::read_file(dir + "/model.safetensors"), "model.safetensors",
                          test::read_text(dir + "/config.json"), "config.json", {}, &request);
}

convert::SampleRequest request_for(const std::string& name, size_t count) {
  convert::SampleRequest r;
  r.inputs = npy_items(npy::read(test::fixture_dir(name) + "/inputs.npy"), count);
  r.inputs_name = "inputs.npy";
  return r;
}

infer::VerifyReport verify_bytes(const std::vector<uint8_t>& bytes) {
  attn_model* model = nullptr;
  REQUIRE_MESSAGE(attn_model_load_memory(bytes.data(), bytes.size(), &model) == ATTN_OK, attn_last_error_message());
  infer::VerifyReport report;
  try {
    report = infer::verify_model(model, 1);
  } catch (const infer::Failure& f) {
    attn_model_release(model);
    FAIL(f.what());
  }
  attn_model_release(model);
  return report;
}

// Flips the sign bit (one byte of the data section) of the largest weight of
// the named tensor, as a corrupted copy or a wrong conversion would.
std::vector<uint8_t> flip_weight(std::vector<uint8_t> bytes, const std::string& tensor) {
  const fb::Model* m = fb::GetSizePrefixedModel(bytes.data());
  for (const fb::Tensor* t : *m->tensors()) {
    if (t->name()->str() != tensor) continue;
    const size_t begin = size_t(m->data_offset() + t->offset());
    const float* w = reinterpret_cast<const float*>(bytes.data() + begin);
    const size_t count = size_t(t->size()) / 4;
    size_t k = 0;
    for (size_t i = 1; i < count; ++i)
      if (std::fabs(w[i]) > std::fabs(w[k])) k = i;
    bytes[begin + 4 * k + 3] ^= 0x80;  // little-endian: byte 3 holds the sign
    return bytes;
  }
  FAIL("no tensor " << tensor);
  return bytes;
}

}  // namespace

TEST_CASE("embedded samples hold the inputs and the float64 reference's outputs") {
  for (const char* name : {"vit-standard-fused", "text-optimized-postnorm-pad", "gpt-super", "hf-gpt2-tiny"}) {
    SUBCASE(name) {
      const auto result = convert_with_samples(name, request_for(name, 2));
      CHECK(result.samples == 2);
      attn_model* model = nullptr;
      REQUIRE(attn_model_load_memory(result.file.data(), result.file.size(), &model) == ATTN_OK);
      size_t count = 0;
      REQUIRE(attn_model_sample_count(model, &count) == ATTN_OK);
      CHECK(count == 2);
      const std::string dir = test::fixture_dir(name);
      const npy::Array input = npy::read(dir + "/inputs.npy");
      const npy::Array expected = npy::read(dir + "/expected.npy");
      const size_t in_per_item = input.count() / size_t(input.shape[0]);
      const size_t out_per_item = expected.count() / size_t(expected.shape[0]);
      for (size_t k = 0; k < count; ++k) {
        attn_tensor_info info;
        const void* data = nullptr;
        REQUIRE(attn_model_sample_input(model, k, 0, &info, &data) == ATTN_OK);
        CHECK(std::memcmp(data, input.data.data() + k * in_per_item * 4, in_per_item * 4) == 0);
        REQUIRE(attn_model_sample_output(model, k, 0, &info, &data) == ATTN_OK);
        const float* got = static_cast<const float*>(data);
        const float* ref = reinterpret_cast<const float*>(expected.data.data()) + k * out_per_item;
        const double tol = 1e-6 * std::max(1.0, double(*std::max_element(ref, ref + out_per_item, [](float a, float b) {
          return std::fabs(a) < std::fabs(b);
        })));
        for (size_t i = 0; i < out_per_item; ++i) REQUIRE(std::fabs(double(got[i]) - ref[i]) <= std::fabs(tol));
      }
      attn_model_release(model);
      const infer::VerifyReport report = verify_bytes(result.file);
      CHECK(report.samples == 2);
      CHECK(report.passed);
    }
  }
}

TEST_CASE("--verify fails on a model whose weights were altered") {
  for (const auto& [name, tensor] : {std::pair<std::string, std::string>{"vit-standard-fused", "head.weight"},
                                     {"text-super-postnorm", "blocks.0.attn.align.weight"},
                                     {"gpt-efficient", "transformer.h.0.attn.c_q.weight"}}) {
    SUBCASE(name.c_str()) {
      const auto good = convert_with_samples(name, request_for(name, 4)).file;
      CHECK(verify_bytes(good).passed);
      const auto bad = flip_weight(good, tensor);
      const infer::VerifyReport report = verify_bytes(bad);  // still a valid model
      CHECK(report.samples > 0);
      CHECK_FALSE(report.passed);
      double worst = 0;
      for (const auto& c : report.checks) worst = std::max(worst, c.max_error / c.tolerance);
      CHECK(worst > 1.0);
    }
  }
}

TEST_CASE("expected outputs can be given instead of computed") {
  const std::string name = "vit-super-mean";
  const npy::Array expected = npy::read(test::fixture_dir(name) + "/expected.npy");
  convert::SampleRequest r = request_for(name, 3);
  r.expected = npy_items(expected, 3);
  r.expected_name = "expected.npy";
  const auto result = convert_with_samples(name, r);
  CHECK(result.samples == 3);
  CHECK(verify_bytes(result.file).passed);

  SUBCASE("wrong values fail --verify") {
    for (auto& item : r.expected)
      for (float& v : item[0].f32) v += 0.01f;
    CHECK_FALSE(verify_bytes(convert_with_samples(name, r).file).passed);
  }
  SUBCASE("a wrong shape is refused by name") {
    r.expected[1][0].shape = {1, 2};
    CHECK_THROWS_WITH_AS(convert_with_samples(name, r), doctest::Contains("expected.npy: item 1"),
                         convert::InputError);
  }
  SUBCASE("fewer expected items than inputs are refused") {
    r.expected.pop_back();
    CHECK_THROWS_AS(convert_with_samples(name, r), convert::InputError);
  }
}

TEST_CASE("sample inputs that do not fit the model are refused by item") {
  convert::SampleRequest r = request_for("vit-super-mean", 2);
  r.inputs[1][0].shape = {3, 4};
  CHECK_THROWS_WITH_AS(convert_with_samples("vit-super-mean", r), doctest::Contains("inputs.npy: item 1"),
                       convert::InputError);
  convert::SampleRequest ids = request_for("gpt-super", 1);
  ids.inputs[0][0].i32[0] = 1 << 20;
  CHECK_THROWS_WITH_AS(convert_with_samples("gpt-super", ids), doctest::Contains("outside the vocabulary"),
                       convert::InputError);
}

TEST_CASE("a model without samples has nothing to verify") {
  const infer::VerifyReport report = verify_bytes(test::convert_fixture("vit-super-mean"));
  CHECK(report.samples == 0);
  CHECK_FALSE(report.passed);
}

TEST_CASE("the comparison follows the spec's contract") {
  const float ref[] = {1.0f, 0.0f, -1.0f, 0.5f};
  SUBCASE("within tolerance") {
    const float got[] = {1.00005f, 0.0f, -1.0f, 0.5f};
    CHECK(infer::compare_output(got, ref, 4, 4).passed);
  }
  SUBCASE("beyond it") {
    const float got[] = {1.0f, 0.0f, -1.0f, 0.5002f};
    CHECK_FALSE(infer::compare_output(got, ref, 4, 4).passed);
  }
  SUBCASE("not finite") {
    const float got[] = {NAN, 0.0f, -1.0f, 0.5f};
    CHECK_FALSE(infer::compare_output(got, ref, 4, 4).passed);
  }
  SUBCASE("a tie within the margin does not need the same arg-max") {
    const float tie[] = {1.0f, 1.00005f};
    const float got[] = {1.00004f, 1.00001f};
    const infer::OutputCheck c = infer::compare_output(got, tie, 2, 2);
    CHECK(c.argmax_checked == 0);
    CHECK(c.passed);
  }
  SUBCASE("the tolerance scales with the largest reference value") {
    const float big[] = {100.0f, 0.0f};
    const float got[] = {100.009f, 0.0f};
    CHECK(infer::compare_output(got, big, 2, 2).tolerance == doctest::Approx(0.01));
    CHECK(infer::compare_output(got, big, 2, 2).passed);
  }
}
