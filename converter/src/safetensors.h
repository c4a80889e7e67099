// A bounded safetensors reader: every size and offset is checked against the
// file before it is used; tensors come out as float32.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "input_error.h"

namespace attn::convert {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  std::string dtype;  // as stored: "F32", "F16" or "BF16"
};

using TensorMap = std::map<std::string, Tensor>;

// Parses a whole safetensors file held in memory (or mapped). `source` names
// it in errors. The duplicate-key check and the overlap check are O(n log n)
// in the number of tensors.
TensorMap read_safetensors(const std::vector<uint8_t>& bytes, const std::string& source);
TensorMap read_safetensors(const uint8_t* bytes, size_t size, const std::string& source);

// A whole input file, which must be a regular file of at most max_bytes.
// The converter maps checkpoints instead (files::Mapping).
std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes = uint64_t{1} << 36);

}  // namespace attn::convert
