// The element types of a model's weights, as data: one row per type gives
// how its bytes are laid out. A dense layer's weight [rows, cols] may be any
// of them; every other weight is F32.
//
//  F32, F16  row-major elements, 4 and 2 bytes (IEEE binary32, binary16).
//  Q8        each row in blocks of 32 elements along cols (the last block
//            zero-padded): 32 int8 q per block, w = q · scale.
//  Q4        the same blocks of 32, 16 bytes each: byte j holds element j
//            in its low nibble and element j + 16 in its high nibble, each
//            as q + 8 (0..15), w = q · scale with q in [-8, 7].
//  Q8 and Q4 keep one float32 scale per block beside the data: [rows, blocks].
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace attn {

enum class WeightType : uint8_t { F32, F16, Q8, Q4 };

struct WeightTypeTraits {
  WeightType type;
  const char* name;
  size_t block;        // elements per block along a row (1: not blocked)
  size_t block_bytes;  // bytes of a block's data
  bool scaled;         // one float32 scale per block

  size_t blocks_per_row(size_t cols) const { return (cols + block - 1) / block; }
  size_t data_bytes(size_t rows, size_t cols) const { return rows * blocks_per_row(cols) * block_bytes; }
  size_t scale_count(size_t rows, size_t cols) const { return scaled ? rows * blocks_per_row(cols) : 0; }
};

inline constexpr WeightTypeTraits kWeightTypes[] = {
    {WeightType::F32, "f32", 1, 4, false},
    {WeightType::F16, "f16", 1, 2, false},
    {WeightType::Q8, "q8", 32, 32, true},
    {WeightType::Q4, "q4", 32, 16, true},
};

constexpr const WeightTypeTraits& traits_of(WeightType type) { return kWeightTypes[size_t(type)]; }

// The type called `name` ("f32", "f16", "q8", "q4"), or null.
inline const WeightTypeTraits* weight_type_named(const char* name) {
  for (const WeightTypeTraits& t : kWeightTypes)
    if (std::strcmp(t.name, name) == 0) return &t;
  return nullptr;
}

}  // namespace attn
