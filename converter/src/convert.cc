#include "convert.h"

#include "safetensors.h"
#include "sha256.h"
#include "writer.h"

namespace attn::convert {

ConvertResult convert(const std::vector<uint8_t>& checkpoint, const std::string& checkpoint_name,
                      const std::string& config_text, const std::string& config_name, const BuildOptions& options) {
  ConvertResult result;
  result.config = parse_config(config_text, config_name);
  TensorMap tensors = read_safetensors(checkpoint, checkpoint_name);
  for (const auto& [name, t] : tensors) result.total_params += int64_t(t.data.size());
  Graph graph = build_graph(result.config, tensors, options);
  result.attention = attention_params(result.config, graph);
  ModelMetadata md{config_text, sha256_hex(checkpoint.data(), checkpoint.size())};
  result.file = serialize_model(result.config, graph, md);
  return result;
}

}  // namespace attn::convert
