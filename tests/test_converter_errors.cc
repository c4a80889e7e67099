// The converter refuses wrong checkpoints and configs with an error that
// names the tensor or field at fault.

#include <doctest/doctest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "convert.h"
#include "support.h"

using namespace attn;
using convert::TensorMap;

namespace {

// Converts `tensors` with `config` and returns the error message ("" if it
// converted).
std::string convert_error(const TensorMap& tensors, const std::string& config, convert::BuildOptions options = {}) {
  try {
    convert::convert(test::to_safetensors(tensors), "model.safetensors", config, "config.json", options);
    return "";
  } catch (const convert::InputError& e) {
    return e.what();
  }
}

std::string config_of(const std::string& fixture) { return test::read_text(test::fixture_dir(fixture) + "/config.json"); }

std::string with(const std::string& config, const std::string& key, const nlohmann::json& value) {
  auto j = nlohmann::json::parse(config);
  if (value.is_null()) j.erase(key);
  else j[key] = value;
  return j.dump();
}

void expect_error(const std::string& message, std::initializer_list<const char*> parts) {
  REQUIRE_MESSAGE(!message.empty(), "the conversion succeeded");
  for (const char* part : parts) CHECK_MESSAGE(message.find(part) != std::string::npos, "'" << part << "' not in: " << message);
}

}  // namespace

TEST_CASE("the unaltered fixtures convert") {
  for (const char* name : {"vit-standard-split-mean", "text-efficient-pad-prelogits", "gpt-super", "hf-gpt2-tiny"})
    CHECK(convert_error(test::fixture_tensors(name), config_of(name)) == "");
}

TEST_CASE("tensors that do not belong to the variant are named") {
  SUBCASE("a K weight in an efficient model") {
    TensorMap t = test::fixture_tensors("text-efficient-pad-prelogits");
    t["blocks.1.attn.k.weight"] = t["blocks.1.attn.q.weight"];
    expect_error(convert_error(t, config_of("text-efficient-pad-prelogits")),
                 {"blocks.1.attn.k.weight", "efficient", "no K projection"});
  }
  SUBCASE("a V weight in an optimized model") {
    TensorMap t = test::fixture_tensors("gpt-optimized-lmhead");
    auto q = t.begin();
    while (q->first.find("h.0.attn.c_q.weight") == std::string::npos) ++q;
    std::string v = q->first;
    v.replace(v.find("c_q"), 3, "c_v");
    t[v] = q->second;
    expect_error(convert_error(t, config_of("gpt-optimized-lmhead")), {"c_v.weight", "no V projection"});
  }
  SUBCASE("an alignment kernel outside Super attention") {
    TensorMap t = test::fixture_tensors("vit-standard-split-mean");
    t["blocks.0.attn.align.weight"] = {{16, 16}, std::vector<float>(256, 0.0f), "F32"};
    expect_error(convert_error(t, config_of("vit-standard-split-mean")), {"blocks.0.attn.align.weight", "super"});
  }
  SUBCASE("a Q bias when qkv_bias is false") {
    TensorMap t = test::fixture_tensors("text-efficient-pad-prelogits");
    t["blocks.0.attn.q.bias"] = {{32}, std::vector<float>(32, 0.0f), "F32"};
    expect_error(convert_error(t, config_of("text-efficient-pad-prelogits")), {"blocks.0.attn.q.bias", "qkv_bias"});
  }
}

TEST_CASE("missing and misshapen tensors are named") {
  SUBCASE("a Super model without its alignment kernel") {
    TensorMap t = test::fixture_tensors("gpt-super");
    t.erase("transformer.h.1.attn.c_align.weight");
    expect_error(convert_error(t, config_of("gpt-super")), {"transformer.h.1.attn.c_align.weight", "missing"});
  }
  SUBCASE("a Super model without the alignment bias the config promises") {
    TensorMap t = test::fixture_tensors("gpt-super");
    t.erase("transformer.h.0.attn.c_align.bias");
    expect_error(convert_error(t, config_of("gpt-super")), {"transformer.h.0.attn.c_align.bias", "missing"});
  }
  SUBCASE("a weight of the wrong shape") {
    TensorMap t = test::fixture_tensors("vit-standard-split-mean");
    auto& w = t["blocks.0.mlp.fc1.weight"];
    w.shape = {w.shape[1], w.shape[0]};
    expect_error(convert_error(t, config_of("vit-standard-split-mean")), {"blocks.0.mlp.fc1.weight", "shape"});
  }
  SUBCASE("a missing final norm") {
    TensorMap t = test::fixture_tensors("vit-standard-split-mean");
    t.erase("norm.bias");
    expect_error(convert_error(t, config_of("vit-standard-split-mean")), {"'norm.bias'", "missing"});
  }
  SUBCASE("a weight holding NaN") {
    TensorMap t = test::fixture_tensors("vit-standard-split-mean");
    t["head.weight"].data[3] = NAN;
    expect_error(convert_error(t, config_of("vit-standard-split-mean")), {"head.weight", "not finite"});
  }
}

TEST_CASE("causal Super Attention needs a lower-triangular W_A") {
  TensorMap t = test::fixture_tensors("gpt-super");
  auto& w = t["transformer.h.1.attn.c_align.weight"];
  const int64_t L = w.shape[0];
  w.data[size_t(2 * L + 5)] = 0.25f;  // row 2, column 5
  expect_error(convert_error(t, config_of("gpt-super")),
               {"transformer.h.1.attn.c_align.weight", "above the diagonal", "[2, 5]", "--zero-upper-align"});
  convert::BuildOptions zero;
  zero.zero_upper_align = true;
  CHECK(convert_error(t, config_of("gpt-super"), zero) == "");
}

TEST_CASE("bad config values are named") {
  const TensorMap vit = test::fixture_tensors("vit-standard-split-mean");
  const std::string cfg = config_of("vit-standard-split-mean");
  struct Case {
    const char* key;
    nlohmann::json value;
    std::initializer_list<const char*> parts;
  };
  const Case cases[] = {
      {"heads", 5, {"heads", "does not divide d_model"}},
      {"family", "rnn", {"family", "rnn"}},
      {"attention", "linear", {"attention", "linear"}},
      {"d_model", nullptr, {"d_model", "missing"}},
      {"d_model", "32", {"d_model", "integer"}},
      {"layers", 0, {"layers", "outside"}},
      {"patch_size", 5, {"patch_size", "does not divide"}},
      {"context", 99, {"context", "99"}},
      {"activation", "swish", {"activation", "swish"}},
      {"norm_first", "yes", {"norm_first"}},
      {"layer_norm_eps", -1, {"layer_norm_eps"}},
      {"layers", 5, {"blocks.", "missing"}},
      {"pool", "max", {"pool", "max"}},
      {"image_size", nlohmann::json::array({16}), {"image_size"}},
  };
  for (const Case& c : cases) {
    INFO("config field ", std::string(c.key), " = ", c.value.dump());
    expect_error(convert_error(vit, with(cfg, c.key, c.value)), c.parts);
  }
  expect_error(convert_error(vit, "{\"family\": \"vit\""), {"config.json", "not valid JSON"});
  expect_error(convert_error(vit, "[1, 2]"), {"config.json", "not a JSON object"});
  const TensorMap text = test::fixture_tensors("text-efficient-pad-prelogits");
  expect_error(convert_error(text, with(config_of("text-efficient-pad-prelogits"), "pad_id", 32)), {"pad_id", "32"});
  const TensorMap hf = test::fixture_tensors("hf-gpt2-tiny");
  expect_error(convert_error(hf, with(config_of("hf-gpt2-tiny"), "n_head", 5)), {"heads", "does not divide"});
}

namespace {

// A checkpoint with one tensor, whose header the test writes by hand.
std::string raw_error(const std::string& header, size_t data_bytes, long long claimed_len = -1) {
  std::vector<uint8_t> file(8);
  const uint64_t len = claimed_len < 0 ? header.size() : uint64_t(claimed_len);
  for (int i = 0; i < 8; ++i) file[size_t(i)] = uint8_t(len >> (8 * i));
  file.insert(file.end(), header.begin(), header.end());
  file.resize(file.size() + data_bytes, 0);
  try {
    convert::read_safetensors(file, "bad.safetensors");
    return "";
  } catch (const convert::InputError& e) {
    return e.what();
  }
}

}  // namespace

TEST_CASE("malformed safetensors files are refused with the reason") {
  CHECK(raw_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8) == "");
  expect_error(raw_error("{}", 0, 1 << 20), {"header length", "past the end"});
  expect_error(raw_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4), {"'a'", "outside the data section"});
  expect_error(raw_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
               {"overlap"});
  expect_error(raw_error(R"({"a":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}})", 2), {"'a'", "I8", "not supported"});
  expect_error(raw_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8),
               {"the key 'a' appears twice"});
  expect_error(raw_error(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", 8), {"'a'", "overflow"});
  expect_error(raw_error(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), {"'a'", "need"});
  expect_error(raw_error(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), {"'a'", "dimension"});
  expect_error(raw_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8), {"'a'", "data_offsets"});
  expect_error(raw_error("{\"a\":", 0), {"not valid JSON"});
  expect_error(raw_error("{\"\xff\xfe\":1}", 0), {"not valid JSON"});
  expect_error(raw_error("", 0, -1), {});
}

TEST_CASE("F16 and BF16 tensors are widened exactly") {
  // 1.0, -2.0, 65504 (largest half), 2^-24 (smallest subnormal half)
  const uint16_t half[] = {0x3c00, 0xc000, 0x7bff, 0x0001};
  const uint16_t bf16[] = {0x3f80, 0xc000, 0x4049, 0x0001};
  std::string header = R"({"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[8,16]}})";
  std::vector<uint8_t> file(8);
  for (int i = 0; i < 8; ++i) file[size_t(i)] = uint8_t(uint64_t(header.size()) >> (8 * i));
  file.insert(file.end(), header.begin(), header.end());
  const size_t at = file.size();
  file.resize(at + 16);
  std::memcpy(file.data() + at, half, 8);
  std::memcpy(file.data() + at + 8, bf16, 8);
  const TensorMap t = convert::read_safetensors(file, "mixed.safetensors");
  CHECK(t.at("h").data == std::vector<float>{1.0f, -2.0f, 65504.0f, 5.9604644775390625e-8f});
  const float tiny_bf16 = 9.18354961579912115600575419704879435795832466228193376178712270530013483949005603790283203125e-41f;
  CHECK(t.at("b").data == std::vector<float>{1.0f, -2.0f, 3.140625f, tiny_bf16});
}
