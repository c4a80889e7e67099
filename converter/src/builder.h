// Builds the operator graph of a family from a checkpoint, checking every
// tensor's presence and shape against the config.
#pragma once

#include "config.h"
#include "graph.h"
#include "safetensors.h"

namespace attn::convert {

struct BuildOptions {
  // Causal Super Attention: zero W_A above the diagonal instead of refusing it.
  bool zero_upper_align = false;
  // Stored in the model file when set (attn-convert --tokenizer).
  const struct TokenizerData* tokenizer = nullptr;
};

// Consumes `checkpoint` (its tensors are moved into the graph). Throws
// InputError naming the tensor or field at fault.
Graph build_graph(const ModelConfig& config, TensorMap& checkpoint, const BuildOptions& options);

// Attention weights per layer (with biases) as built, and what standard
// attention of the same width would need.
struct AttentionParams {
  int64_t per_layer = 0, standard_per_layer = 0;
};
AttentionParams attention_params(const ModelConfig& config, const Graph& graph);

}  // namespace attn::convert
