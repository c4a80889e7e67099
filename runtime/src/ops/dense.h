#pragma once

#include "op_reader.h"

#include "dense_layer.h"

namespace attn {

class DenseOp final : public Operator {
 public:
  using Operator::Operator;
  static void read(const fb::Op& o, OpReader& r);
  bool folds_residual() const override { return true; }
  void prepare(const PrepareContext& context) override;
  void run(const Model& m, Executor& exec, const RunState& state, const OpBuffers& b) override;

 private:
  DenseLayer layer_;
};

}  // namespace attn
