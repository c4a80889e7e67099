// The quantized weight formats, as they are stored in a file: byte sizes,
// f32 → f16/q8/q4/q8c quantization and the way back. Plain C++ (no instruction
// set code): the converter writes files with it, the tests build their
// references with it. docs/kernels.md, "Quantized weights", has the formats.
//
// A dense layer's weight W is [n, k] (n out features, k in features),
// row-major. Q8 and Q4 cut each row into B = ceil(k / 32) blocks of 32 along
// k (the last one zero-padded) with one float32 scale per block, w = q·scale:
//   F16  uint16_t [n, k], IEEE binary16.
//   Q8   int8_t [n, B·32], q in [-127, 127]; float scales [n, B].
//   Q4   uint8_t [n, B·16]: byte j of a block holds element j in its low
//        nibble and element j + 16 in its high nibble, each as q + 8 (0..15),
//        q in [-8, 7]; float scales [n, B].
//   Q8C  Q8's bytes with one scale per row: float scales [n], scale =
//        max|w_row| / 127 (ONNX Runtime's per-channel int8 layout).
#pragma once

#include <cstddef>
#include <cstdint>

#include "../../weight_type.h"  // WeightType and its table

namespace attn {

// The elements per block along k of the quantized types, and the blocks of a
// row of k.
constexpr size_t kQuantBlock = 32;
inline size_t quant_blocks(size_t k) { return (k + kQuantBlock - 1) / kQuantBlock; }

// W [n, k] float32 → data (traits_of(type).data_bytes(n, k) bytes) and
// scales (traits_of(type).scale_count(n, k) floats; null for F32 and F16). Q8: scale = max|w| / 127 over the block, q =
// w · (1/scale) rounded to nearest, ties away from zero (0 for a block of
// zeros, with scale 0); Q8C the same over the whole row. Q4: scale = m / -8 where m is the block's element of
// largest magnitude (the first such), so m maps to -8; q = w · (1/scale)
// rounded the same way and clamped to [-8, 7]. F16: round to nearest even.
// Throws attn::Error (ATTN_ERROR_INVALID_ARGUMENT) naming the row and column
// of the first non-finite element (and, for F16, of one beyond its range).
void quantize_weights(WeightType type, const float* w, size_t n, size_t k, void* data, float* scales);

// The way back: data and scales → W [n, k] float32 (exact: each value is
// q · scale rounded once, or the half's value).
void dequantize_weights(WeightType type, const void* data, const float* scales, size_t n, size_t k, float* w);

// IEEE binary16 ↔ binary32. To half: round to nearest even, infinity beyond
// the range; from half: exact.
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);

// One block of `count` ≤ 32 floats (finite) → q[0, count) in [-qmax, qmax]
// with the Q8 rule above; q[count, 32) are zeroed. Returns the scale. Shared
// by the weights and the activations (quant_kernels.h, quantize_rows).
float quantize_block_q8(const float* x, size_t count, int8_t* q);

// The same with the largest |x| given (that of a whole row, for Q8C and
// activations quantized per row): scale = amax / 127, q = x · (1/scale)
// rounded; amax ≥ max|x[i]|.
float quantize_block_q8(const float* x, size_t count, float amax, int8_t* q);

// max |x[i]| over count finite floats.
float max_abs(const float* x, size_t count);

// Rounds to nearest, ties away from zero, for |x| < 2^31.
inline int32_t round_half_away(float x) {
  int32_t t = int32_t(x);            // toward zero
  const float f = x - float(t);      // exact
  t += int32_t(f >= 0.5f) - int32_t(f <= -0.5f);
  return t;
}

}  // namespace attn
