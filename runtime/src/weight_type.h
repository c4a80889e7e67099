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
//  Q8C       Q8's bytes, with one scale per row (per output channel) instead
//            of per block: w = q · scale[row], scale = max|row| / 127.
//  Q8 and Q4 keep one float32 scale per block beside the data: [rows, blocks];
//  Q8C one per row: [rows]. A dense layer's activations are quantized the same
//  way as its weights: per block of 32 (Q8, Q4) or per row (Q8C).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace attn {

enum class WeightType : uint8_t { F32, F16, Q8, Q4, Q8C };

// Where a format's float32 scales apply.
enum class Scales : uint8_t { None, PerBlock, PerRow };

struct WeightTypeTraits {
  WeightType type;
  const char* name;
  size_t block;        // elements per block along a row (1: not blocked)
  size_t block_bytes;  // bytes of a block's data
  Scales scales;
  bool int8;           // blocks of 32 int8 q (Q8, Q8C)

  bool scaled() const { return scales != Scales::None; }
  size_t blocks_per_row(size_t cols) const { return (cols + block - 1) / block; }
  size_t data_bytes(size_t rows, size_t cols) const { return rows * blocks_per_row(cols) * block_bytes; }
  size_t scales_per_row(size_t cols) const {
    return scales == Scales::PerBlock ? blocks_per_row(cols) : scales == Scales::PerRow ? 1 : 0;
  }
  size_t scale_count(size_t rows, size_t cols) const { return rows * scales_per_row(cols); }
  // The index of the scale of row `row`'s block b, for a row of `cols`.
  size_t scale_index(size_t row, size_t b, size_t cols) const {
    return scales == Scales::PerRow ? row : row * blocks_per_row(cols) + b;
  }
};

inline constexpr WeightTypeTraits kWeightTypes[] = {
    {WeightType::F32, "f32", 1, 4, Scales::None, false},
    {WeightType::F16, "f16", 1, 2, Scales::None, false},
    {WeightType::Q8, "q8", 32, 32, Scales::PerBlock, true},
    {WeightType::Q4, "q4", 32, 16, Scales::PerBlock, false},
    {WeightType::Q8C, "q8c", 32, 32, Scales::PerRow, true},
};

constexpr const WeightTypeTraits& traits_of(WeightType type) { return kWeightTypes[size_t(type)]; }
static_assert(traits_of(WeightType::Q8C).type == WeightType::Q8C, "kWeightTypes is in WeightType's order");

// The type called `name` ("f32", "f16", "q8", "q4", "q8c"), or null.
inline const WeightTypeTraits* weight_type_named(const char* name) {
  for (const WeightTypeTraits& t : kWeightTypes)
    if (std::strcmp(t.name, name) == 0) return &t;
  return nullptr;
}

}  // namespace attn
