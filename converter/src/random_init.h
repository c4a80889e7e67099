// Random weights for a config, with no checkpoint: the tensors a checkpoint of
// that family and variant would hold, under the spec's names (section 4), so
// that they go through the same builder and checks as a real checkpoint.
#pragma once

#include <cstdint>

#include "config.h"
#include "safetensors.h"

namespace attn::convert {

// Linear weights, embeddings, biases and W_A ~ N(0, 0.02²); LayerNorm weights
// 1 and biases 0; W_A lower-triangular in causal (gpt) models. Weights are laid
// out as the config says (Conv1D [in, out] for weight_layout "conv1d").
// Deterministic for a given seed.
TensorMap random_checkpoint(const ModelConfig& config, uint64_t seed);

}  // namespace attn::convert
