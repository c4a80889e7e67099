// Kernels for dense layers with quantized weights (f16, q8, q4, q8c; formats in
// quantize.h): one table per instruction-set variant, chosen once from the
// CPU's features. docs/kernels.md, "Quantized weights", has the layouts, the
// variants and their measured speed.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../kernels.h"
#include "quantize.h"

namespace attn {

// A GEMM on quantized activations (QuantKernels::gemm_q8, gemm_q4, gemm_q8c).
using QuantGemm = void (*)(const void* qa, size_t m, size_t k, const void* packed, const float* bias,
                           Epilogue epilogue, const float* residual, float* c, size_t c_stride, size_t n,
                           size_t col_begin, size_t col_end);

// The bytes quantize_rows writes for m rows of k: each row is k int8 values
// in blocks of 32 (the last zero-padded), then one float scale per block,
// then two int32 per block (its offset terms, quant_common.h) and one per
// chunk of 256 blocks, padded to 64 bytes.
size_t quantized_rows_bytes(size_t m, size_t k);

// Packed weights group the columns of W (its rows) in panels (4 columns, or
// 16 for q8 and q4 on x86); kQuantPanel is a multiple of every variant's
// panel. The GEMMs take any column range, and compute whole panels.
constexpr size_t kQuantPanel = 16;

struct QuantKernels {
  const char* name;  // the variant: "scalar", "avx2", "avx2-vnni", "avx512-vnni", "neon", "neon-dotprod"
  const char* path;  // the f32 kernel path it goes with: "scalar", "avx2", "avx512", "neon"

  // The bytes of W [n, k] of `type` (F16, Q8, Q4 or Q8C) repacked for this
  // variant's GEMM, and the repacking, once at prepare: data and scales are
  // in the file layout (quantize.h; scales null for F16). Q8 and Q8C values
  // must be in [-127, 127] (attn::Error otherwise).
  size_t (*packed_bytes)(WeightType type, size_t n, size_t k);
  void (*pack)(WeightType type, const void* data, const float* scales, size_t n, size_t k, void* packed);

  // Rows of a (a_stride floats apart, finite) → int8 blocks of 32 with one
  // scale each, as Q8 weights are quantized (quantize_block_q8), into qa
  // (quantized_rows_bytes(m, k) bytes, caller's scratch): the activations of
  // gemm_q8 and gemm_q4. With scales PerRow every block of a row takes the
  // row's scale, max|row| / 127, as Q8C weights do: those of gemm_q8c.
  void (*quantize_rows)(const float* a, size_t a_stride, size_t m, size_t k, Scales scales, void* qa);

  // c[m, n] = epilogue(a · Wᵀ + bias) + residual for the output columns
  // [col_begin, col_end): c and residual rows c_stride apart; bias and
  // residual may be null; residual must not overlap c. W was packed by this
  // table's pack. Threads split a layer by column ranges; ranges that are
  // multiples of kQuantPanel do no repeated work. Nothing is allocated.
  void (*gemm_f16)(const float* a, size_t a_stride, size_t m, size_t k, const void* packed, const float* bias,
                   Epilogue epilogue, const float* residual, float* c, size_t c_stride, size_t n, size_t col_begin,
                   size_t col_end);
  // The same with quantized activations qa (quantize_rows of a [m, k]).
  QuantGemm gemm_q8;
  QuantGemm gemm_q4;
  // Q8C on activations quantized per row: every scale is a row's, so the
  // wide tiles sum a row's blocks as integers and do the float step once
  // (the narrow ones are gemm_q8 on scales repeated per block).
  QuantGemm gemm_q8c;
};

// The GEMM of table q for Q8, Q4 or Q8C weights (null for F32 and F16).
inline QuantGemm quant_gemm(const QuantKernels& q, WeightType type) {
  switch (type) {
    case WeightType::Q8: return q.gemm_q8;
    case WeightType::Q4: return q.gemm_q4;
    case WeightType::Q8C: return q.gemm_q8c;
    case WeightType::F32:
    case WeightType::F16: break;
  }
  return nullptr;
}

// The best variant this CPU has for the f32 kernel path `path` ("scalar",
// "avx2", "avx512", "neon"); throws attn::Error when it has none.
const QuantKernels& quant_kernels(const char* path);

// The variant named `name` ("avx2-vnni"; see QuantKernels::name); throws
// attn::Error (ATTN_ERROR_UNSUPPORTED_HARDWARE) when this build or CPU lacks it.
const QuantKernels& quant_kernels_by_name(const char* name);

// Every variant compiled in and supported by this CPU, scalar first (the
// tests run each; on x86 there can be several per path, e.g. avx2 with and
// without AVX-VNNI).
const QuantKernels* const* available_quant_kernels(size_t* count);

}  // namespace attn
