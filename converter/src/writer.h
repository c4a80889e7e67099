// Serialises a graph as an .attnmodel file (see schema/README.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config.h"
#include "graph.h"
#include "sample.h"

namespace attn::convert {

struct ModelMetadata {
  std::string config_json, source_sha256;
  const struct TokenizerData* tokenizer = nullptr;  // Model.tokenizer when set
};

// The whole file in memory, with the samples (Model.samples) when given.
// Throws InputError when the samples are too large for one FlatBuffer.
std::vector<uint8_t> serialize_model(const ModelConfig& config, const Graph& graph, const ModelMetadata& metadata,
                                     const std::vector<SampleData>& samples = {});

// Writes to a temporary file beside `path` and renames it into place, so a
// failure never leaves a partial file. Throws InputError naming the path.
void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace attn::convert
