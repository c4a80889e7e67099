// Builds the operator graph of a family from a checkpoint, checking every
// tensor's presence and shape against the config. The family (families/)
// says which tensors, under which names, in which order; GraphBuilder holds
// what the families share: taking checkpoint tensors and emitting the ops and
// the transformer block.
#pragma once

#include <set>
#include <string>

#include "config.h"
#include "graph.h"
#include "safetensors.h"

namespace attn::convert {

struct Family;

struct BuildOptions {
  // Causal Super Attention: zero W_A above the diagonal instead of refusing it.
  bool zero_upper_align = false;
  // Stored in the model file when set (attn-convert --tokenizer).
  const struct TokenizerData* tokenizer = nullptr;
  // The format of the dense layers' weights and the token tables (attn-convert --weights).
  WeightType weights = WeightType::F32;
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

// The checkpoint names of one transformer block (the weight of a layer is
// NAME.weight, its bias NAME.bias).
struct BlockNames {
  std::string ln1, ln2, qkv, q, k, v, align, proj, fc1, fc2;
};

// For checks of checkpoint names.
bool ends_with(const std::string& s, const std::string& tail);

class GraphBuilder {
 public:
  GraphBuilder(const ModelConfig& config, const Family& family, TensorMap& checkpoint, const BuildOptions& options);

  const ModelConfig& config() const { return c_; }
  Graph& graph() { return g_; }
  bool has(const std::string& name) const { return ckpt_.count(name) != 0; }

  // Takes a checkpoint tensor whose shape must be `shape` (stored [in, out]
  // when `transposed`: Conv1D weights, read back as [out, in]).
  TensorIndex take(const std::string& name, std::vector<int64_t> shape, bool transposed = false);
  // A dense layer's weight [out, in] (stored [in, out] in Conv1D layout).
  TensorIndex take_linear(const std::string& name, int64_t out, int64_t in);

  int value(const std::string& name, std::vector<int64_t> shape, attn_dtype dtype = ATTN_DTYPE_F32);
  // Appends `op` and its output value; returns the value.
  int emit(Operator op, std::vector<int> inputs, const std::string& out_name, std::vector<int64_t> out_shape);

  int layer_norm(const std::string& name, int x, const std::string& out_name);
  int dense(const std::string& name, int x, int64_t out, Activation act, const std::string& out_name);
  int token_embed(const std::string& table, const std::string& pos, int ids, std::vector<int64_t> shape);
  // Block i, pre- or post-norm as the config says; `ids` (or -1) masks padding.
  int block(const BlockNames& names, int x, int ids, int64_t i);
  int pool(int x, int ids, bool cls);

  // Every checkpoint tensor must have been taken, but for the family's buffers.
  Graph finish();

 private:
  int add(int a, int b, const std::string& out_name);
  int attention(const BlockNames& names, int x, int ids, const std::string& out_name);
  TensorIndex stack(const std::string& name, const std::vector<TensorIndex>& parts);
  void check_causal_align(const std::string& name, GraphTensor& w);
  void check_all_used() const;

  const ModelConfig& c_;
  const Family& family_;
  TensorMap& ckpt_;
  const BuildOptions& options_;
  std::set<std::string> used_;
  Graph g_;
};

}  // namespace attn::convert
