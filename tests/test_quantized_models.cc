// Models with f16, q8, q4 and q8c weights (attn-convert --weights), end to end:
// written by the converter, checked by the loader, run on every kernel path
// this host has against the float64 reference of the same quantized math,
// and refused when their scales or formats are wrong.

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "attnmodel_generated.h"
#include "convert.h"
#include "error.h"
#include "model.h"
#include "sample_items.h"
#include "support.h"
#include "verify.h"

using namespace attn;

namespace {

convert::SampleRequest first_items(const std::string& fixture, size_t count) {
  convert::SampleRequest r;
  r.inputs_name = "inputs.npy";
  r.inputs = convert::sample_items(npy::read(test::fixture_dir(fixture) + "/inputs.npy"), count, r.inputs_name);
  return r;
}

std::vector<uint8_t> random_model(const std::string& fixture, WeightType weights, size_t samples = 2) {
  convert::BuildOptions options;
  options.weights = weights;
  const convert::SampleRequest request = first_items(fixture, samples);
  return convert::convert_random(test::read_text(test::fixture_dir(fixture) + "/config.json"), "config.json", 7,
                                 options, &request)
      .file;
}

std::vector<std::string> split(const char* comma_separated) {
  std::vector<std::string> names;
  std::stringstream list(comma_separated);
  for (std::string p; std::getline(list, p, ',');) names.push_back(p);
  return names;
}

// Every embedded sample on a session with kernel path `path` and the
// quantized kernel variant `quant` (null: the path's best), compared with
// the spec's tolerance plus the sample's rounding allowance (verify.cc).
void check_samples(attn_model* model, const char* path, const std::string& what, uint32_t threads = 1,
                   const char* quant = nullptr) {
  attn_session_options options;
  attn_session_options_init(&options);
  options.kernel_path = path;
  options.quant_kernels = quant;
  options.threads = threads;
  attn_session* session = nullptr;
  REQUIRE_MESSAGE(attn_session_create(model, &options, &session) == ATTN_OK, attn_last_error_message());
  size_t samples = 0;
  REQUIRE(attn_model_sample_count(model, &samples) == ATTN_OK);
  REQUIRE(samples > 0);
  for (size_t k = 0; k < samples; ++k) {
    attn_tensor_info info;
    const void* data = nullptr;
    REQUIRE(attn_model_sample_input(model, k, 0, &info, &data) == ATTN_OK);
    size_t count = 1;
    for (size_t d = 0; d < info.rank; ++d) count *= size_t(info.shape[d]);
    REQUIRE(attn_session_set_input(session, 0, data, count * 4, info.shape, info.rank) == ATTN_OK);
    REQUIRE_MESSAGE(attn_session_run(session) == ATTN_OK, attn_last_error_message());
    const void* want = nullptr;
    REQUIRE(attn_model_sample_output(model, k, 0, &info, &want) == ATTN_OK);
    float allowance = -1;
    REQUIRE(attn_model_sample_allowance(model, k, 0, &allowance) == ATTN_OK);
    const std::vector<float> got = test::read_output(session);
    const infer::OutputCheck c = infer::compare_output(got.data(), static_cast<const float*>(want), got.size(),
                                                       size_t(info.shape[info.rank - 1]), allowance);
    INFO(what << " on " << (path ? path : "the default path") << (quant ? ", quantized " + std::string(quant) : "")
              << ", sample " << k << ": max error " << c.max_error << ", tolerance " << c.tolerance << " (allowance "
              << allowance << ")");
    CHECK(c.passed);
  }
  attn_session_release(session);
}

}  // namespace

TEST_CASE("the quantized kernel variants this host runs are listed, the portable one first") {
  MESSAGE("quantized kernel variants run on whole models: " << std::string(attn_quant_kernel_variants()));
  CHECK(split(attn_quant_kernel_variants()).at(0) == "scalar");
}

TEST_CASE("f16, q8, q4 and q8c models match the float64 reference of their quantized math on every kernel path") {
  // ViT (patch projection), a padded text model, a causal Super GPT and a
  // Hugging Face GPT-2 whose LM head shares the (quantized) token table.
  for (const char* fixture : {"vit-standard-fused", "text-efficient-pad-prelogits", "gpt-super", "hf-gpt2-tiny"})
    for (WeightType weights : {WeightType::F16, WeightType::Q8, WeightType::Q4, WeightType::Q8C}) {
      const std::string what = std::string(fixture) + " " + traits_of(weights).name;
      SUBCASE(what.c_str()) {
        const std::vector<uint8_t> file = random_model(fixture, weights);
        attn_model* model = nullptr;
        REQUIRE_MESSAGE(attn_model_load_memory(file.data(), file.size(), &model) == ATTN_OK, attn_last_error_message());
        for (const std::string& path : split(attn_kernel_paths())) check_samples(model, path.c_str(), what);
        // Each variant, including those no path chooses on this CPU (AVX2
        // without VNNI where AVX-VNNI is there).
        for (const std::string& quant : split(attn_quant_kernel_variants()))
          check_samples(model, nullptr, what, 1, quant.c_str());
        // Two threads split each layer's columns among them.
        check_samples(model, attn_kernel_path(), what + " on 2 threads", 2);
        attn_model_release(model);
      }
    }
}

TEST_CASE("formats shrink the file: f16 about half, q8 about a quarter, q4 about an eighth of f32") {
  const size_t f32 = random_model("vit-standard-fused", WeightType::F32, 1).size();
  const size_t f16 = random_model("vit-standard-fused", WeightType::F16, 1).size();
  const size_t q8 = random_model("vit-standard-fused", WeightType::Q8, 1).size();
  const size_t q4 = random_model("vit-standard-fused", WeightType::Q4, 1).size();
  const size_t q8c = random_model("vit-standard-fused", WeightType::Q8C, 1).size();
  CAPTURE(f32);
  CAPTURE(f16);
  CAPTURE(q8);
  CAPTURE(q4);
  CAPTURE(q8c);
  CHECK(f16 < f32);
  CHECK(q8 < f16);
  CHECK(q4 < q8);
  CHECK(q8c < q8);  // one scale per row instead of per block
}

TEST_CASE("only the q8/q4/q8c models' samples carry a rounding allowance; f16's are exact to the spec") {
  for (WeightType weights : {WeightType::F32, WeightType::F16, WeightType::Q8, WeightType::Q8C}) {
    const std::vector<uint8_t> file = random_model("vit-standard-fused", weights, 1);
    attn_model* model = nullptr;
    REQUIRE(attn_model_load_memory(file.data(), file.size(), &model) == ATTN_OK);
    float allowance = -1;
    REQUIRE(attn_model_sample_allowance(model, 0, 0, &allowance) == ATTN_OK);
    if (traits_of(weights).scaled()) CHECK(allowance > 0);
    else CHECK(allowance == 0);
    attn_model_release(model);
  }
}

namespace {

// The file's first tensor of dtype (a dense weight), for the tests to damage.
const fb::Tensor* first_of(const std::vector<uint8_t>& file, fb::DType dtype = fb::DType::Q8) {
  const fb::Model* root = fb::GetSizePrefixedModel(file.data());
  for (const fb::Tensor* t : *root->tensors())
    if (t->dtype() == dtype) return t;
  return nullptr;
}

std::string load_error(const std::vector<uint8_t>& file) {
  try {
    load_model(ModelBytes::copy(file.data(), file.size()));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a q8 or q8c model whose scales are damaged is refused by tensor, or fails verification") {
  for (WeightType weights : {WeightType::Q8, WeightType::Q8C}) {
    CAPTURE(traits_of(weights).name);
    const std::vector<uint8_t> original = random_model("vit-standard-fused", weights, 1);
    const fb::Model* root = fb::GetSizePrefixedModel(original.data());
    const fb::Tensor* t = first_of(original, weights == WeightType::Q8 ? fb::DType::Q8 : fb::DType::Q8C);
    REQUIRE(t != nullptr);
    REQUIRE(t->scales_size() >= 8);
    const std::string name = t->name()->str();
    const size_t scales = size_t(root->data_offset() + t->scales_offset());
    {  // a scale that is not finite
      std::vector<uint8_t> file = original;
      const float nan = std::nanf("");
      std::memcpy(file.data() + scales + 4, &nan, 4);
      const std::string error = load_error(file);
      CHECK(error.find("'" + name + "'") != std::string::npos);
      CHECK(error.find("scale 1 ") != std::string::npos);
    }
    {  // a scale four times too large: the run no longer matches the samples
      std::vector<uint8_t> file = original;
      float s;
      std::memcpy(&s, file.data() + scales, 4);
      s *= 4;
      std::memcpy(file.data() + scales, &s, 4);
      test::Loaded loaded(file);
      CHECK_FALSE(infer::verify_model(loaded.model, 1).passed);
    }
  }
}

// A scalar field of a table in the file, to overwrite (the writer stores
// every field, defaults included).
template <typename T>
void set_field(const flatbuffers::Table* table, flatbuffers::voffset_t field, T value) {
  auto* at = const_cast<uint8_t*>(table->GetAddressOf(field));
  REQUIRE(at != nullptr);
  std::memcpy(at, &value, sizeof value);
}

template <typename T>
T get_field(const flatbuffers::Table* table, flatbuffers::voffset_t field) {
  T value;
  std::memcpy(&value, table->GetAddressOf(field), sizeof value);
  return value;
}

TEST_CASE("only dense weights and token tables may be quantized; scales must fit their tensor") {
  std::vector<uint8_t> file = random_model("vit-standard-fused", WeightType::Q8, 1);
  const fb::Model* root = fb::GetSizePrefixedModel(file.data());
  SUBCASE("a LayerNorm weight marked f16") {
    for (const fb::Op* op : *root->ops())
      if (op->options_type() == fb::OpOptions::LayerNorm) {
        const auto* t = reinterpret_cast<const flatbuffers::Table*>(
            root->tensors()->Get(flatbuffers::uoffset_t(op->options_as_LayerNorm()->weight())));
        // F16 of [d] needs half the bytes: halve the size too, so that only
        // the format is wrong.
        set_field(t, fb::Tensor::VT_DTYPE, fb::DType::F16);
        set_field(t, fb::Tensor::VT_SIZE, get_field<uint64_t>(t, fb::Tensor::VT_SIZE) / 2);
        CHECK(load_error(file).find("is f16; only dense layers' weights and token tables") != std::string::npos);
        break;
      }
  }
  SUBCASE("scales of the wrong size") {
    const auto* t = reinterpret_cast<const flatbuffers::Table*>(first_of(file));
    set_field(t, fb::Tensor::VT_SCALES_SIZE, get_field<uint64_t>(t, fb::Tensor::VT_SCALES_SIZE) - 4);
    CHECK(load_error(file).find("has scales of") != std::string::npos);
  }
  SUBCASE("a q8 weight of several blocks a row marked q8c: its block scales are not one per row") {
    bool found = false;
    for (const fb::Tensor* tensor : *root->tensors())
      if (tensor->dtype() == fb::DType::Q8 && tensor->scales_size() / 4 > uint64_t(tensor->shape()->Get(0))) {
        found = true;
        set_field(reinterpret_cast<const flatbuffers::Table*>(tensor), fb::Tensor::VT_DTYPE, fb::DType::Q8C);
        const std::string error = load_error(file);
        CHECK_MESSAGE(error.find("'" + tensor->name()->str() + "' ") != std::string::npos, error);
        CHECK_MESSAGE(error.find("but q8c of shape") != std::string::npos, error);
        break;
      }
    CHECK(found);
  }
  SUBCASE("an f32 tensor with scales") {
    for (const fb::Tensor* tensor : *root->tensors())
      if (tensor->dtype() == fb::DType::F32) {
        set_field(reinterpret_cast<const flatbuffers::Table*>(tensor), fb::Tensor::VT_SCALES_SIZE, uint64_t{4});
        CHECK(load_error(file).find("but has scales") != std::string::npos);
        break;
      }
  }
}
