#pragma once

#include "op_reader.h"

#include <optional>

#include "dense_layer.h"
#include "token_mixing.h"

namespace attn {

// One attention layer in any variant (variants.h): the stacked projection,
// the variant's keys and values, the heads, the output projection. Causal
// layers keep their keys and values in the decode cache.
class AttentionOp final : public Operator {
 public:
  static void read(const fb::Op& o, OpReader& r);
  explicit AttentionOp(const OpInfo& op);
  OpNeeds needs(const Model& m, const Kernels& k) const override;
  bool folds_residual() const override { return true; }
  void prepare(const PrepareContext& context) override;
  void run(const Model& m, Executor& exec, const RunState& state, const OpBuffers& b) override;

 private:
  struct Heads;
  size_t longest(const Model& m) const;  // the most keys a head sees
  void run_heads(Executor& exec, const Heads& heads) const;
  void run_cached(const Model& m, Executor& exec, const RunState& state, const OpBuffers& b, const float* x,
                  const float* proj, float* heads_out) const;

  const VariantTraits& variant_;
  size_t d_;
  DenseLayer projection_, output_;
  std::optional<TokenMixing> mixing_;  // Super only
};

}  // namespace attn
