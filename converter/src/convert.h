// The whole conversion: checkpoint + config -> .attnmodel bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "builder.h"
#include "config.h"

namespace attn::convert {

struct ConvertResult {
  std::vector<uint8_t> file;
  ModelConfig config;
  AttentionParams attention;
  int64_t total_params = 0;
};

// `checkpoint` is the safetensors bytes, `config_text` the config.json text;
// the names are used in error messages. Throws InputError.
ConvertResult convert(const std::vector<uint8_t>& checkpoint, const std::string& checkpoint_name,
                      const std::string& config_text, const std::string& config_name, const BuildOptions& options);

}  // namespace attn::convert
