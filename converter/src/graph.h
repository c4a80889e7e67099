// The converter's model graph, before it is written as an .attnmodel.
// Operators use the runtime's OpInfo so both sides share one description.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model.h"  // attn::OpInfo

namespace attn::convert {

struct GraphTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

struct GraphValue {
  std::string name;
  attn_dtype dtype = ATTN_DTYPE_F32;
  std::vector<int64_t> shape;  // -1 = sequence length
};

struct Graph {
  std::vector<GraphTensor> tensors;
  std::vector<GraphValue> values;
  std::vector<OpInfo> ops;
  std::vector<int> inputs, outputs;
  int64_t max_tokens = 0;
};

}  // namespace attn::convert
