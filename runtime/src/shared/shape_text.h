// Shapes in messages: "[2, 3, -1]", or "[n, 3]" with free_dim "n" (how the
// tools name the free sequence length, -1 in a model's shapes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace attn {

inline std::string shape_text(const int64_t* dims, size_t rank, const char* free_dim = nullptr) {
  std::string text = "[";
  for (size_t i = 0; i < rank; ++i)
    text += (i ? ", " : "") + (dims[i] == -1 && free_dim ? std::string(free_dim) : std::to_string(dims[i]));
  return text + "]";
}

inline std::string shape_text(const std::vector<int64_t>& dims) { return shape_text(dims.data(), dims.size()); }

}  // namespace attn
