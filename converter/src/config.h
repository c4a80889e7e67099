// The model configuration: the spec's config.json, or a Hugging Face GPT-2
// config.json read as it is.
#pragma once

#include <cstdint>
#include <string>

namespace attn::convert {

struct ModelConfig {
  std::string family;     // vit | text | gpt
  std::string attention;  // standard | optimized | efficient | super
  int64_t d_model = 0, heads = 0, layers = 0, mlp_dim = 0, context = 0;
  std::string activation;  // gelu | gelu_tanh | relu
  bool norm_first = true;
  double layer_norm_eps = 1e-5;
  bool qkv_bias = true, align_bias = true;
  // vit
  int64_t image_h = 0, image_w = 0, channels = 0, patch_size = 0;
  std::string pool;  // cls | mean
  // vit, text
  int64_t num_classes = 0;
  // text, gpt
  int64_t vocab_size = 0;
  // text
  int64_t pre_logits = 0, pad_id = -1;
  // gpt
  std::string weight_layout = "linear";  // linear | conv1d
  bool from_hugging_face = false;
};

// Parses and checks config.json text; throws InputError naming the field.
ModelConfig parse_config(const std::string& json_text, const std::string& source);

}  // namespace attn::convert
