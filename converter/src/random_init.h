// Random weights for a config, with no checkpoint: the tensors a checkpoint of
// that family and variant would hold, under the spec's names (section 4), so
// that they go through the same builder and checks as a real checkpoint. The
// family (families/) says which tensors; RandomCheckpoint fills them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "builder.h"  // BlockNames
#include "config.h"
#include "safetensors.h"

namespace attn::convert {

// Linear weights, embeddings, biases and W_A ~ N(0, 0.02²); LayerNorm weights
// 1 and biases 0; W_A lower-triangular in causal (gpt) models. Weights are laid
// out as the config says (Conv1D [in, out] for weight_layout "conv1d").
// Deterministic for a given seed.
TensorMap random_checkpoint(const ModelConfig& config, uint64_t seed);

// splitmix64 and Box-Muller: the same numbers on every platform and standard
// library, unlike std::normal_distribution.
class Normal {
 public:
  explicit Normal(uint64_t seed);
  double operator()();

 private:
  uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

// The tensors of one random checkpoint, drawn in the order they are added
// (so a family's order fixes its weights for a seed).
class RandomCheckpoint {
 public:
  RandomCheckpoint(const ModelConfig& config, bool causal, uint64_t seed);

  const ModelConfig& config() const { return c_; }
  // N(0, 0.02²) values.
  void random(const std::string& name, std::vector<int64_t> shape);
  // A LayerNorm's weight (ones) and bias (zeros).
  void norm(const std::string& prefix);
  // A linear layer [out, in], or [in, out] in the Conv1D layout.
  void linear(const std::string& prefix, int64_t out, int64_t in, bool bias = true);
  // One block's tensors: q, k and v as the variant has them (fused into
  // names.qkv when `fused`), W_A when it mixes tokens, and the MLP.
  void block(const BlockNames& names, bool fused);

  TensorMap take() { return std::move(out_); }

 private:
  Tensor& fill(const std::string& name, std::vector<int64_t> shape, double value);
  void align(const std::string& prefix);

  const ModelConfig& c_;
  const bool causal_;
  Normal normal_;
  TensorMap out_;
};

}  // namespace attn::convert
