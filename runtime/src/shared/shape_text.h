// Shapes in error messages: "[2, 3, -1]".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace attn {

inline std::string shape_text(const int64_t* dims, size_t rank) {
  std::string text = "[";
  for (size_t i = 0; i < rank; ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + "]";
}

inline std::string shape_text(const std::vector<int64_t>& dims) { return shape_text(dims.data(), dims.size()); }

}  // namespace attn
