// A bounded safetensors reader: every size and offset is checked against the
// file before it is used; tensors come out as float32.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace attn::convert {

// A refusal of the input (checkpoint or config), with a message that names
// the tensor, field or offset.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  std::string dtype;  // as stored: "F32", "F16" or "BF16"
};

using TensorMap = std::map<std::string, Tensor>;

// Parses a whole safetensors file held in memory. `source` names it in errors.
TensorMap read_safetensors(const std::vector<uint8_t>& bytes, const std::string& source);

std::vector<uint8_t> read_file(const std::string& path);

}  // namespace attn::convert
