// The whole conversion: checkpoint (or random weights) + config -> .attnmodel
// bytes, with optional embedded samples.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "builder.h"
#include "config.h"
#include "sample.h"

namespace attn::convert {

// Items to embed in the model (attn-convert --embed-sample): the inputs of
// each item, one tensor per model input, and optionally the outputs they
// should give. Without `expected`, the converter computes the outputs with its
// float64 reference (reference.h).
struct SampleRequest {
  std::vector<std::vector<SampleTensorData>> inputs;
  std::vector<std::vector<SampleTensorData>> expected;  // empty, or one per item
  std::string inputs_name, expected_name;                // for error messages
};

struct ConvertResult {
  std::vector<uint8_t> file;
  ModelConfig config;
  AttentionParams attention;
  int64_t total_params = 0;
  size_t samples = 0;  // embedded samples
};

// `checkpoint` is the safetensors bytes, `config_text` the config.json text;
// the names are used in error messages. Throws InputError.
ConvertResult convert(const std::vector<uint8_t>& checkpoint, const std::string& checkpoint_name,
                      const std::string& config_text, const std::string& config_name, const BuildOptions& options,
                      const SampleRequest* samples = nullptr);
// The same from a checkpoint held anywhere, e.g. mapped (files::Mapping).
ConvertResult convert(const uint8_t* checkpoint, size_t checkpoint_size, const std::string& checkpoint_name,
                      const std::string& config_text, const std::string& config_name, const BuildOptions& options,
                      const SampleRequest* samples = nullptr);

// A model with random weights for the config (random_init.h), built and
// checked like a checkpoint. Its source_sha256 is "random-init seed S".
ConvertResult convert_random(const std::string& config_text, const std::string& config_name, uint64_t seed,
                             const BuildOptions& options, const SampleRequest* samples = nullptr);

// The samples of `request` with their expected outputs: checked against the
// graph, and computed by the float64 reference where not given.
std::vector<SampleData> make_samples(const Graph& graph, const SampleRequest& request);

}  // namespace attn::convert
