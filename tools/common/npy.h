// Reading and writing NumPy .npy files (format versions 1-3, C order,
// little-endian float32, int32 and int64).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace attn::npy {

enum class DType { F32, I32, I64 };

struct Array {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // raw little-endian elements
  size_t count() const;
};

// Throws std::runtime_error naming the file and the problem.
Array read(const std::string& path);
Array parse(const std::vector<uint8_t>& bytes, const std::string& source);

// Writes float32 data atomically (temporary file, then rename).
void write_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data);

}  // namespace attn::npy
