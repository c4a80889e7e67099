// attn-convert --random-init: models of every family and variant with random
// weights, built through the same builder as a checkpoint, load and run, and
// agree with the float64 reference.

#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "attnmodel_generated.h"
#include "convert.h"
#include "random_init.h"
#include "sample_items.h"
#include "support.h"
#include "verify.h"

using namespace attn;

namespace {

// A fixture's config.json with another attention variant.
std::string config_with(const std::string& fixture, const std::string& attention) {
  nlohmann::json j = nlohmann::json::parse(test::read_text(test::fixture_dir(fixture) + "/config.json"));
  if (j.contains("attention")) j["attention"] = attention;
  return j.dump();
}

convert::SampleRequest first_items(const std::string& fixture, size_t count) {
  convert::SampleRequest r;
  r.inputs_name = "inputs.npy";
  r.inputs = convert::sample_items(npy::read(test::fixture_dir(fixture) + "/inputs.npy"), count, r.inputs_name);
  return r;
}

}  // namespace

TEST_CASE("random-init models of each family and variant load, run and match the reference") {
  // Fixture configs cover cls and mean pooling, padding, pre_logits, post-norm,
  // Conv1D layout and a Hugging Face GPT-2 config.
  for (const char* fixture : {"vit-standard-fused", "vit-standard-split-mean", "text-efficient-pad-prelogits",
                              "text-super-postnorm", "gpt-super", "gpt-standard-conv1d", "hf-gpt2-tiny"}) {
    for (const VariantTraits& traits : kVariants) {
      const char* variant = traits.name;
      const std::string name = std::string(fixture) + " " + variant;
      SUBCASE(name.c_str()) {
        const bool hf = std::string(fixture) == "hf-gpt2-tiny";
        if (hf && std::string(variant) != "standard") return;  // a GPT-2 config is standard attention
        const std::string config = config_with(fixture, variant);
        const convert::SampleRequest request = first_items(fixture, 2);
        const auto result = convert::convert_random(config, "config.json", 7, {}, &request);
        CHECK(result.config.attention == variant);
        CHECK(result.total_params > 0);
        test::Loaded loaded(result.file);
        const char* source = nullptr;
        REQUIRE(attn_model_metadata(loaded.model, "source_sha256", &source) == ATTN_OK);
        CHECK(std::string(source) == "random-init seed 7");
        const npy::Array input = npy::read(test::fixture_dir(fixture) + "/inputs.npy");
        const std::vector<float> out = loaded.run_item(input, 0);
        REQUIRE(!out.empty());
        for (float v : out) REQUIRE(std::isfinite(v));
        // The runtime agrees with the float64 reference on random weights too.
        const infer::VerifyReport report = infer::verify_model(loaded.model, 1);
        CHECK(report.samples == 2);
        CHECK(report.passed);
      }
    }
  }
}

TEST_CASE("random weights: the spec's names, a reasonable scale, lower-triangular W_A when causal") {
  const convert::ModelConfig gpt = convert::parse_config(config_with("gpt-super", "super"), "config.json");
  const convert::TensorMap t = convert::random_checkpoint(gpt, 3);
  REQUIRE(t.count("transformer.h.0.attn.c_align.weight"));
  const auto& align = t.at("transformer.h.0.attn.c_align.weight");
  const size_t L = size_t(gpt.context);
  REQUIRE(align.shape == std::vector<int64_t>{int64_t(L), int64_t(L)});
  size_t nonzero_below = 0;
  for (size_t r = 0; r < L; ++r)
    for (size_t c = 0; c < L; ++c) {
      if (c > r) REQUIRE(align.data[r * L + c] == 0.0f);
      else nonzero_below += align.data[r * L + c] != 0.0f;
    }
  CHECK(nonzero_below == L * (L + 1) / 2);
  for (float v : t.at("transformer.h.0.ln_1.weight").data) CHECK(v == 1.0f);
  for (float v : t.at("transformer.h.0.ln_1.bias").data) CHECK(v == 0.0f);
  const auto& wte = t.at("transformer.wte.weight").data;
  double sum = 0, sq = 0;
  for (float v : wte) sum += v, sq += double(v) * v;
  const double mean = sum / double(wte.size()), sd = std::sqrt(sq / double(wte.size()) - mean * mean);
  CHECK(std::fabs(mean) < 0.005);
  CHECK(sd == doctest::Approx(0.02).epsilon(0.15));
  CHECK(t.count("transformer.h.0.attn.c_k.weight") == 0);  // super has no K projection

  // A non-causal Super model's W_A is a full matrix.
  const convert::ModelConfig vit = convert::parse_config(config_with("vit-super-mean", "super"), "config.json");
  const convert::TensorMap vit_checkpoint = convert::random_checkpoint(vit, 3);  // outlives the reference below
  const auto& full = vit_checkpoint.at("blocks.0.attn.align.weight").data;
  CHECK(full[1] != 0.0f);
}

TEST_CASE("random-init is deterministic in the seed") {
  const std::string config = config_with("vit-standard-fused", "efficient");
  const auto a = convert::convert_random(config, "config.json", 11, {}).file;
  const auto b = convert::convert_random(config, "config.json", 11, {}).file;
  const auto c = convert::convert_random(config, "config.json", 12, {}).file;
  CHECK(a == b);
  CHECK(a != c);
}

TEST_CASE("random-init refuses a bad config by field") {
  nlohmann::json j = nlohmann::json::parse(config_with("vit-standard-fused", "standard"));
  j["heads"] = 5;
  CHECK_THROWS_WITH_AS(convert::convert_random(j.dump(), "config.json", 1, {}), doctest::Contains("heads"),
                       convert::InputError);
}

TEST_CASE("super attention matches the reference whether W_A mixes through the GEMM or the mixing kernel") {
  // The runtime mixes by GEMM when a row of x is a multiple of 1 KiB (d = 256)
  // and with the token-mixing kernel otherwise; the fixtures are all narrower.
  for (int d : {64, 256}) {
    SUBCASE(("d_model " + std::to_string(d)).c_str()) {
      nlohmann::json j = nlohmann::json::parse(config_with("vit-super-mean", "super"));
      j["d_model"] = d, j["heads"] = 4, j["mlp_dim"] = 32, j["layers"] = 1;
      const convert::SampleRequest request = first_items("vit-super-mean", 2);
      const auto result = convert::convert_random(j.dump(), "config.json", 11, {}, &request);
      test::Loaded loaded(result.file);
      const infer::VerifyReport report = infer::verify_model(loaded.model, 1);
      CHECK(report.samples == 2);
      CHECK(report.passed);
    }
  }
}
