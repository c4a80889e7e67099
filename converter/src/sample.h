// Worked examples stored in an .attnmodel (Model.samples): inputs and the
// expected outputs, one tensor per model input and output.
#pragma once

#include <cstdint>
#include <vector>

namespace attn::convert {

struct SampleTensorData {
  std::vector<int64_t> shape;  // the item's own shape: no -1
  std::vector<float> f32;      // the values of an F32 tensor
  std::vector<int32_t> i32;    // the values of an I32 tensor (token ids)
  float rounding_allowance = 0;  // expected outputs of q8/q4/q8c models (convert.cc)
};

struct SampleData {
  std::vector<SampleTensorData> inputs, outputs;
};

}  // namespace attn::convert
