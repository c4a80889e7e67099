// What every quantized-kernel variant shares, free of instruction-set code:
// the packed weight layout, the quantized activation layout and the
// epilogue pass.
//
// Packed weights, narrow (every variant's F16; Q8 and Q4 on scalar and
// plain NEON): panels of kPanel (4) columns of the output (rows of W; past n, zero
// rows with scale 0). A panel is B = ceil(k/32) block records in k order; a
// record holds the 4 columns' data for the block, one after the other (F16:
// 32 halves, 64 bytes; Q8: 32 bytes; Q4: 16 bytes in the file's nibble
// order), then for Q8 and Q4 their 4 float scales. Decoding one block
// streams one contiguous record; k past its end is zero.
//
// Packed weights, wide (Q8 and Q4 on x86 and NEON with dotprod): panels of kWidePanel (16)
// columns, B block records each, a record being the block's data in groups
// of 4 consecutive k, then the 16 columns' float scales (64 bytes):
//   Q8: 8 groups (k 4g..4g+3) of 64 bytes: column c's 4 values at 4c;
//   Q4: 4 groups of 64 bytes: byte 4c + i of group g holds column c's
//       element 4g + i in its low nibble, 16 + 4g + i in its high one (q + 8).
// One 512-bit vpdpbusd (two 256-bit ones, four sdot) multiplies a group by
// an activation's 4 bytes broadcast, for 16 columns; records are 576 (Q8) and
// 320 (Q4) bytes, multiples of 64.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../kernels.h"
#include "quant_kernels.h"
#include "quantize.h"

namespace attn::quant {

constexpr size_t kPanel = 4, kWidePanel = 16;
static_assert(kQuantPanel % kPanel == 0 && kQuantPanel % kWidePanel == 0, "kQuantPanel is a multiple of both panels");

inline size_t block_data_bytes(WeightType type) {
  return type == WeightType::F16 ? kQuantBlock * 2 : traits_of(type).block_bytes;
}
inline size_t record_bytes(WeightType type) {
  return kPanel * (block_data_bytes(type) + (traits_of(type).scaled() ? 4 : 0));
}
inline size_t panel_bytes(WeightType type, size_t k) { return quant_blocks(k) * record_bytes(type); }

size_t packed_bytes(WeightType type, size_t n, size_t k);

// Repacks into the layout above; Q8 (and Q8C) bytes are XORed with q8_xor
// (0x80 turns them into q + 128, unsigned, for the VNNI unsigned × signed
// dot product). Q8C's row scales are repeated in every block record, so
// that its packed layout is Q8's.
void pack(WeightType type, const void* data, const float* scales, size_t n, size_t k, void* packed, uint8_t q8_xor);

// The wide layout (Q8, Q4, Q8C only).
inline size_t wide_record_bytes(WeightType type) {
  return kWidePanel * (traits_of(type).block_bytes + 4);
}
inline size_t wide_panel_bytes(WeightType type, size_t k) { return quant_blocks(k) * wide_record_bytes(type); }
size_t wide_packed_bytes(WeightType type, size_t n, size_t k);
void pack_wide(WeightType type, const void* data, const float* scales, size_t n, size_t k, void* packed,
               uint8_t q8_xor);

// Quantized activations (quantize_rows): a row of k is B·32 int8, then B
// float scales, then the B blocks' offset terms −128·Σa and −8·Σa (int32),
// then the −128 terms summed per chunk of kSumChunk blocks (int32), padded
// to 64 bytes. A wide tile whose weights are stored with an offset (q8 as
// q + 128, q4 as q + 8) starts each block's integer sums at the matching
// term, broadcast straight from memory: computing it per row and block and
// moving it from a general register cost 1–3% of the q8 and q4 tiles at 128
// rows (Zen 5, bench_quant). Q8C's wide tiles sum a chunk's blocks as
// integers and start from the chunk's term: adding those up per tile cost
// 6% of the tile at GPT-2's qkv shape.
constexpr size_t kActBlockBytes = kQuantBlock + 12;
constexpr size_t kSumChunk = 256;
inline size_t sum_chunks(size_t k) { return (quant_blocks(k) + kSumChunk - 1) / kSumChunk; }
inline size_t act_row_bytes(size_t k) {
  return (quant_blocks(k) * kActBlockBytes + sum_chunks(k) * 4 + 63) / 64 * 64;
}
struct ActRow {
  const int8_t* q;
  const float* scales;
  const int32_t* minus_128_sums;
  const int32_t* minus_8_sums;
  const int32_t* minus_128_chunk_sums;
  // The term for weights stored as q + offset: 128, 8 (or 0: none).
  const int32_t* offset_terms(int32_t offset) const { return offset == 128 ? minus_128_sums : minus_8_sums; }
};
inline ActRow act_row(const void* qa, size_t k, size_t r) {
  const auto* row = static_cast<const uint8_t*>(qa) + r * act_row_bytes(k);
  const size_t blocks = quant_blocks(k);
  return {reinterpret_cast<const int8_t*>(row), reinterpret_cast<const float*>(row + blocks * 32),
          reinterpret_cast<const int32_t*>(row + blocks * 36), reinterpret_cast<const int32_t*>(row + blocks * 40),
          reinterpret_cast<const int32_t*>(row + blocks * kActBlockBytes)};
}

// The portable activation quantization, the same on every variant: it runs
// once per row against n·k multiply-adds of the GEMM.
void quantize_rows(const float* a, size_t a_stride, size_t m, size_t k, Scales scales, void* qa);

// One block of a quantized row (count ≤ 32 values from x, largest |x| of
// its scale amax: the block's, or the row's) with its scale and offset
// terms, the portable way; and a block's scale and offset terms stored, from
// the sum of its values (|Σa| ≤ 32 · 127: no overflow).
inline void store_block_totals(uint8_t* row, size_t blocks, size_t b, float scale, int32_t sum) {
  const int32_t minus_128 = -128 * sum, minus_8 = -8 * sum;
  std::memcpy(row + blocks * 32 + b * 4, &scale, 4);
  std::memcpy(row + blocks * 36 + b * 4, &minus_128, 4);
  std::memcpy(row + blocks * 40 + b * 4, &minus_8, 4);
}
inline void quantize_row_block(const float* x, size_t count, float amax, uint8_t* row, size_t blocks, size_t b) {
  auto* q = reinterpret_cast<int8_t*>(row + b * kQuantBlock);
  const float scale = quantize_block_q8(x, count, amax, q);
  int32_t sum = 0;
  for (size_t i = 0; i < kQuantBlock; ++i) sum += q[i];
  store_block_totals(row, blocks, b, scale, sum);
}

// What a vector quantize_rows leaves to the portable code after a row's
// whole blocks: the partial last block, the chunk sums, and the row's
// padding.
inline void finish_quantized_row(const float* x, size_t k, Scales scales, float amax_of_row, uint8_t* row) {
  const size_t blocks = quant_blocks(k), full = k / kQuantBlock;
  const float* tail = x + full * kQuantBlock;
  const size_t count = k - full * kQuantBlock;
  if (full < blocks)
    quantize_row_block(tail, count, scales == Scales::PerRow ? amax_of_row : max_abs(tail, count), row, blocks, full);
  const size_t chunks = sum_chunks(k);
  for (size_t c = 0; c < chunks; ++c) {
    int32_t sum = 0;  // |sum| ≤ 128·127·32·kSumChunk < 1.4·10^8: no overflow
    for (size_t b = c * kSumChunk; b < std::min(blocks, (c + 1) * kSumChunk); ++b) {
      int32_t term;
      std::memcpy(&term, row + blocks * 36 + b * 4, 4);
      sum += term;
    }
    std::memcpy(row + blocks * kActBlockBytes + c * 4, &sum, 4);
  }
  const size_t used = blocks * kActBlockBytes + chunks * 4;
  std::memset(row + used, 0, act_row_bytes(k) - used);
}

// Stores one panel's results for rows [r0, r0 + rows) (acc[r][j] for the
// panel's column 4p + j, bias added) into c, columns [jb, je) only.
inline void store_panel(const float* acc, size_t rows, size_t r0, size_t p, size_t jb, size_t je,
                        const float* bias, float* c, size_t c_stride) {
  for (size_t r = 0; r < rows; ++r)
    for (size_t j = jb; j < je; ++j)
      c[(r0 + r) * c_stride + j] = acc[r * kPanel + (j - p * kPanel)] + (bias ? bias[j] : 0.0f);
}

// The epilogue of columns [col_begin, col_end) of every row, after the sums
// and bias are stored: the f32 path's own activation kernels (so the result
// is what the f32 GEMM's epilogue gives), then the residual.
inline void finish(const Kernels& f32, size_t m, Epilogue epilogue, const float* residual, float* c,
                   size_t c_stride, size_t col_begin, size_t col_end) {
  if (col_end <= col_begin) return;
  for (size_t r = 0; r < m; ++r) {
    float* row = c + r * c_stride + col_begin;
    const size_t count = col_end - col_begin;
    if (epilogue == Epilogue::Gelu) f32.gelu(row, count);
    if (epilogue == Epilogue::GeluTanh) f32.gelu_tanh(row, count);
    if (epilogue == Epilogue::Relu)
      for (size_t j = 0; j < count; ++j) row[j] = std::max(row[j], 0.0f);
    if (residual) {
      const float* res = residual + r * c_stride + col_begin;
      for (size_t j = 0; j < count; ++j) row[j] += res[j];
    }
  }
}

// Calls f(std::integral_constant<size_t, R>) for R = rows (1 ≤ rows ≤ MAX),
// so that a tile's arrays have a size fixed at compile time.
template <size_t MAX, typename F>
__attribute__((always_inline)) inline void with_rows(size_t rows, F&& f) {
  if constexpr (MAX > 1) {
    if (rows < MAX) return with_rows<MAX - 1>(rows, f);
  }
  f(std::integral_constant<size_t, MAX>{});
}

// The GEMM driver: for each panel overlapping [col_begin, col_end), row
// tiles of up to ROWS rows; tile(rows, r0, panel_data, acc) fills
// acc[rows][4]. Then the epilogue.
template <size_t ROWS, typename Tile>
inline void drive(WeightType type, size_t m, size_t k, const void* packed, const float* bias, Epilogue epilogue,
                  const float* residual, float* c, size_t c_stride, size_t n, size_t col_begin, size_t col_end,
                  const Kernels& f32, Tile&& tile) {
  col_end = std::min(col_end, n);
  const size_t pbytes = panel_bytes(type, k);
  for (size_t p = col_begin / kPanel; p * kPanel < col_end; ++p) {
    const uint8_t* panel = static_cast<const uint8_t*>(packed) + p * pbytes;
    const size_t jb = std::max(col_begin, p * kPanel), je = std::min(col_end, (p + 1) * kPanel);
    for (size_t r0 = 0; r0 < m; r0 += ROWS) {
      const size_t rows = std::min(ROWS, m - r0);
      alignas(64) float acc[ROWS * kPanel];
      tile(rows, r0, panel, acc);
      store_panel(acc, rows, r0, p, jb, je, bias, c, c_stride);
    }
  }
  finish(f32, m, epilogue, residual, c, c_stride, col_begin, col_end);
}

}  // namespace attn::quant
