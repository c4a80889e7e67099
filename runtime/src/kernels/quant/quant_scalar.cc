// The portable parts every variant shares (packing, activation quantization)
// and the scalar reference kernels: f16-gemm-4x4-scalar, q8-gemm-4x4-scalar
// (also q8c's), q4-gemm-4x4-scalar (4 rows × one panel of 4 columns per
// tile).

#include <cmath>
#include <string>

#include "../../error.h"
#include "quant_common.h"

namespace attn {

namespace quant {

namespace {

// A q8 weight as packed: XORed with q8_xor; -128 is refused by its place.
uint8_t packed_q8(uint8_t v, size_t row, size_t column, uint8_t q8_xor) {
  if (int8_t(v) == -128)
    fail(ATTN_ERROR_INVALID_ARGUMENT, "q8 weights: the value at row " + std::to_string(row) + ", column " +
                                          std::to_string(column) + " is -128, outside [-127, 127]");
  return v ^ q8_xor;
}

}  // namespace

size_t packed_bytes(WeightType type, size_t n, size_t k) {
  return (n + kPanel - 1) / kPanel * panel_bytes(type, k);
}

void pack(WeightType type, const void* data, const float* scales, size_t n, size_t k, void* packed, uint8_t q8_xor) {
  check(type != WeightType::F32, ATTN_ERROR_INVALID_ARGUMENT, "quantized kernels: f32 weights have no quantized packing");
  const size_t blocks = quant_blocks(k), bpb = block_data_bytes(type), rec = record_bytes(type);
  const size_t panels = (n + kPanel - 1) / kPanel;
  auto* out = static_cast<uint8_t*>(packed);
  std::memset(out, 0, packed_bytes(type, n, k));
  const auto* in = static_cast<const uint8_t*>(data);
  for (size_t p = 0; p < panels; ++p)
    for (size_t b = 0; b < blocks; ++b) {
      uint8_t* record = out + (p * blocks + b) * rec;
      for (size_t j = 0; j < kPanel && p * kPanel + j < n; ++j) {
        const size_t col = p * kPanel + j;
        uint8_t* dst = record + j * bpb;
        if (type == WeightType::F16) {
          const size_t count = std::min(kQuantBlock, k - b * kQuantBlock);
          std::memcpy(dst, in + (col * k + b * kQuantBlock) * 2, count * 2);  // the rest stays zero
          continue;
        }
        std::memcpy(dst, in + (col * blocks + b) * bpb, bpb);
        if (traits_of(type).int8)
          for (size_t i = 0; i < bpb; ++i) dst[i] = packed_q8(dst[i], col, b * kQuantBlock + i, q8_xor);
        std::memcpy(record + kPanel * bpb + j * 4, &scales[traits_of(type).scale_index(col, b, k)], 4);
      }
    }
}

size_t wide_packed_bytes(WeightType type, size_t n, size_t k) {
  return (n + kWidePanel - 1) / kWidePanel * wide_panel_bytes(type, k);
}

void pack_wide(WeightType type, const void* data, const float* scales, size_t n, size_t k, void* packed,
               uint8_t q8_xor) {
  check(type == WeightType::Q8 || type == WeightType::Q4 || type == WeightType::Q8C, ATTN_ERROR_INVALID_ARGUMENT,
        "quantized kernels: only q8, q4 and q8c weights have the wide packing");
  const WeightTypeTraits& t = traits_of(type);
  const size_t blocks = quant_blocks(k), bpb = t.block_bytes, rec = wide_record_bytes(type);
  const size_t panels = (n + kWidePanel - 1) / kWidePanel;
  const bool q8 = t.int8;
  // Four consecutive k of one column move as one word (every byte of the
  // record is written below, so nothing is cleared first: a GPT-2 q8 model
  // packs 136 MiB at start-up). Q4: the file's byte 4g + i already holds
  // elements 4g + i and 16 + 4g + i in its low and high nibbles. Zero
  // weights past n: q8 bytes 0 ^ q8_xor, q4 nibbles 8 (q = 0), scale 0.
  const uint32_t xor4 = q8 ? q8_xor * 0x01010101u : 0, zero4 = q8 ? xor4 : 0x88888888u;
  const float zero_scale = 0.0f;
  auto* out = static_cast<uint8_t*>(packed);
  const auto* in = static_cast<const uint8_t*>(data);
  for (size_t p = 0; p < panels; ++p)
    for (size_t b = 0; b < blocks; ++b) {
      uint8_t* record = out + (p * blocks + b) * rec;
      for (size_t c = 0; c < kWidePanel; ++c) {
        const size_t col = p * kWidePanel + c;
        const uint8_t* src = in + (col * blocks + b) * bpb;
        for (size_t g = 0; g < bpb / 4; ++g) {
          uint32_t word = zero4;
          if (col < n) {
            std::memcpy(&word, src + 4 * g, 4);
            const uint32_t t = word ^ 0x80808080u;  // a zero byte where the weight is -128
            if (q8 && ((t - 0x01010101u) & ~t & 0x80808080u))
              for (size_t i = 0; i < 4; ++i) packed_q8(src[4 * g + i], col, b * kQuantBlock + 4 * g + i, q8_xor);
            word ^= xor4;
          }
          std::memcpy(record + g * 64 + c * 4, &word, 4);
        }
        std::memcpy(record + bpb * kWidePanel + c * 4, col < n ? &scales[t.scale_index(col, b, k)] : &zero_scale, 4);
      }
    }
}

void quantize_rows(const float* a, size_t a_stride, size_t m, size_t k, Scales scales, void* qa) {
  const size_t blocks = quant_blocks(k), full = k / kQuantBlock;
  for (size_t r = 0; r < m; ++r) {
    auto* row = static_cast<uint8_t*>(qa) + r * act_row_bytes(k);
    const float* x = a + r * a_stride;
    const float amax = scales == Scales::PerRow ? max_abs(x, k) : 0.0f;  // every block's, with per-row scales
    for (size_t b = 0; b < full; ++b) {
      const float* block = x + b * kQuantBlock;
      quantize_row_block(block, kQuantBlock, scales == Scales::PerRow ? amax : max_abs(block, kQuantBlock), row, blocks, b);
    }
    finish_quantized_row(x, k, scales, amax, row);
  }
}

}  // namespace quant

size_t quantized_rows_bytes(size_t m, size_t k) { return m * quant::act_row_bytes(k); }

namespace {

using quant::act_row;
using quant::kPanel;
constexpr size_t kRows = 4;

// One weight of a block record, as a signed integer (q8 packed with no XOR).
inline int weight_q(WeightType type, const uint8_t* data, size_t i) {
  if (type == WeightType::Q8) return int8_t(data[i]);
  const uint8_t byte = data[i % 16];
  return int(i < 16 ? byte & 15 : byte >> 4) - 8;
}

template <WeightType T>
void gemm_q_scalar(const void* qa, size_t m, size_t k, const void* packed, const float* bias, Epilogue epilogue,
                   const float* residual, float* c, size_t c_stride, size_t n, size_t col_begin, size_t col_end) {
  const size_t blocks = quant_blocks(k), bpb = quant::block_data_bytes(T), rec = quant::record_bytes(T);
  quant::drive<kRows>(T, m, k, packed, bias, epilogue, residual, c, c_stride, n, col_begin, col_end,
                      scalar_kernels(), [&](size_t rows, size_t r0, const uint8_t* panel, float* acc) {
                        for (size_t r = 0; r < rows; ++r) {
                          const quant::ActRow a = act_row(qa, k, r0 + r);
                          for (size_t j = 0; j < kPanel; ++j) {
                            float sum = 0;
                            for (size_t b = 0; b < blocks; ++b) {
                              const uint8_t* record = panel + b * rec;
                              float w_scale;
                              std::memcpy(&w_scale, record + kPanel * bpb + j * 4, 4);
                              int32_t dot = 0;
                              for (size_t i = 0; i < kQuantBlock; ++i)
                                dot += int32_t(a.q[b * kQuantBlock + i]) * weight_q(T, record + j * bpb, i);
                              sum += float(dot) * (a.scales[b] * w_scale);
                            }
                            acc[r * kPanel + j] = sum;
                          }
                        }
                      });
}

void gemm_f16_scalar(const float* a, size_t a_stride, size_t m, size_t k, const void* packed, const float* bias,
                     Epilogue epilogue, const float* residual, float* c, size_t c_stride, size_t n, size_t col_begin,
                     size_t col_end) {
  const size_t blocks = quant_blocks(k), rec = quant::record_bytes(WeightType::F16);
  quant::drive<kRows>(WeightType::F16, m, k, packed, bias, epilogue, residual, c, c_stride, n, col_begin, col_end,
                      scalar_kernels(), [&](size_t rows, size_t r0, const uint8_t* panel, float* acc) {
                        for (size_t r = 0; r < rows; ++r)
                          for (size_t j = 0; j < kPanel; ++j) {
                            float sum = 0;
                            for (size_t b = 0; b < blocks; ++b) {
                              const uint8_t* w = panel + b * rec + j * 64;
                              for (size_t i = 0; i < kQuantBlock && b * kQuantBlock + i < k; ++i) {
                                uint16_t h;
                                std::memcpy(&h, w + 2 * i, 2);
                                sum += a[(r0 + r) * a_stride + b * kQuantBlock + i] * f16_to_f32(h);
                              }
                            }
                            acc[r * kPanel + j] = sum;
                          }
                      });
}

void pack_plain(WeightType type, const void* data, const float* scales, size_t n, size_t k, void* packed) {
  quant::pack(type, data, scales, n, k, packed, 0);
}

}  // namespace

const QuantKernels& scalar_quant_kernels() {
  static const QuantKernels table{
      .name = "scalar",
      .path = "scalar",
      .packed_bytes = quant::packed_bytes,
      .pack = pack_plain,
      .quantize_rows = quant::quantize_rows,
      .gemm_f16 = gemm_f16_scalar,
      .gemm_q8 = gemm_q_scalar<WeightType::Q8>,
      .gemm_q4 = gemm_q_scalar<WeightType::Q4>,
      // Q8C packs as Q8 with its row scales in every block record, and its
      // activations carry their row's scale in every block: the same sums.
      .gemm_q8c = gemm_q_scalar<WeightType::Q8>,
  };
  return table;
}

}  // namespace attn
