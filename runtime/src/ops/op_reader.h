// What an operator module's reader gets from the loader: one op of the
// file, the model read so far (its tensors and values), and checks that
// fail with ATTN_ERROR_INVALID_MODEL naming the op and its file offset.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "../model.h"
#include "attnmodel_generated.h"

namespace attn {

class OpReader {
 public:
  // In a weight's expected shape: any size.
  static constexpr int64_t kAny = std::numeric_limits<int64_t>::min();

  OpReader(Model& model, OpInfo& op, std::string name) : m_(model), op_(op), name_(std::move(name)) {}

  Model& model() { return m_; }
  OpInfo& op() { return op_; }
  // "op K (Type, at file offset N)": the prefix of every message about the op.
  const std::string& name() const { return name_; }
  [[noreturn]] void invalid(const std::string& what) const;

  void need_inputs(size_t lo, size_t hi) const;
  const ValueInfo& input(size_t k) const { return m_.values[size_t(op_.inputs[k])]; }
  const ValueInfo& output(size_t k) const { return m_.values[size_t(op_.outputs[k])]; }
  // The value has this dtype and shape.
  void expect_value(const ValueInfo& v, attn_dtype dtype, const std::vector<int64_t>& shape) const;
  // A weight reference: -1 (absent, allowed unless required) or a tensor in
  // range, shaped `expected` (kAny = any size), F32. Returns the index.
  int weight(int32_t index, const char* field, const std::vector<int64_t>& expected, bool required) const;
  // A dense layer's weight [out, in]: required, and of any weight format.
  int dense_weight(int32_t index, const char* field, int64_t out, int64_t in) const;
  // As weight(), of any weight format.
  int any_weight(int32_t index, const char* field, const std::vector<int64_t>& expected, bool required) const;

 private:
  Model& m_;
  OpInfo& op_;
  std::string name_;
};

// Reads and checks one kind's fields of `o` into reader.op() (ops/*.cc).
using OpRead = void (*)(const fb::Op& o, OpReader& reader);

// The reader and the kind for a schema operator type; null when unknown.
struct OpSchema {
  fb::OpOptions type;
  OpKind kind;
  OpRead read;
};
const OpSchema* op_schema(fb::OpOptions type);

}  // namespace attn
