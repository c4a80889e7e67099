#pragma once

#include "op_reader.h"

#include "operator.h"

namespace attn {

class TokenEmbedOp final : public Operator {
 public:
  using Operator::Operator;
  static void read(const fb::Op& o, OpReader& r);
  void run(const Model& m, Executor& exec, const RunState& state, const OpBuffers& b) override;
};

class LayerNormOp final : public Operator {
 public:
  using Operator::Operator;
  static void read(const fb::Op& o, OpReader& r);
  void run(const Model& m, Executor& exec, const RunState& state, const OpBuffers& b) override;
};

class AddOp final : public Operator {
 public:
  using Operator::Operator;
  static void read(const fb::Op& o, OpReader& r);
  void run(const Model& m, Executor& exec, const RunState& state, const OpBuffers& b) override;
};

class PoolOp final : public Operator {
 public:
  using Operator::Operator;
  static void read(const fb::Op& o, OpReader& r);
  void run(const Model& m, Executor& exec, const RunState& state, const OpBuffers& b) override;
};

}  // namespace attn
