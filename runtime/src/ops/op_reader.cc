#include "op_reader.h"

#include "../error.h"
#include "../shared/shape_text.h"

namespace attn {

void OpReader::invalid(const std::string& what) const { fail(ATTN_ERROR_INVALID_MODEL, what); }

void OpReader::need_inputs(size_t lo, size_t hi) const {
  if (op_.inputs.size() < lo || op_.inputs.size() > hi)
    invalid(name_ + " has " + std::to_string(op_.inputs.size()) + " inputs");
}

void OpReader::expect_value(const ValueInfo& v, attn_dtype dtype, const std::vector<int64_t>& shape) const {
  if (v.dtype != dtype || v.shape != shape)
    invalid(name_ + ": value '" + v.name + "' has shape " + shape_text(v.shape) + ", expected " + shape_text(shape) +
            (v.dtype != dtype ? " with another dtype" : ""));
}

int OpReader::weight(int32_t index, const char* field, const std::vector<int64_t>& expected, bool required) const {
  const int i = any_weight(index, field, expected, required);
  if (i >= 0 && m_.tensors[size_t(i)].type != WeightType::F32)
    invalid(name_ + ": weight '" + field + "' (tensor '" + m_.tensors[size_t(i)].name + "') is " +
            traits_of(m_.tensors[size_t(i)].type).name + "; only dense layers' weights and token tables may be stored in another format than f32");
  return i;
}

int OpReader::dense_weight(int32_t index, const char* field, int64_t out, int64_t in) const {
  return any_weight(index, field, {out, in}, true);
}

int OpReader::any_weight(int32_t index, const char* field, const std::vector<int64_t>& expected, bool required) const {
  if (index == -1) {
    if (required) invalid(name_ + ": required weight '" + field + "' is missing");
    return -1;
  }
  if (index < 0 || static_cast<size_t>(index) >= m_.tensors.size())
    invalid(name_ + ": weight '" + field + "' index " + std::to_string(index) + " is out of range");
  const ConstTensor& t = m_.tensors[size_t(index)];
  bool ok = t.shape.size() == expected.size();
  for (size_t i = 0; ok && i < expected.size(); ++i) ok = expected[i] == kAny || expected[i] == t.shape[i];
  if (!ok)
    invalid(name_ + ": weight '" + field + "' (tensor '" + t.name + "') has shape " + shape_text(t.shape) +
            ", expected " + shape_text(expected));
  return index;
}

}  // namespace attn
