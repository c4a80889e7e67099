// An 8 × 8 float transpose in AVX registers, for both x86 paths' attention
// (Kᵀ): AVX-512 has no faster way for blocks this size. Include after
// <immintrin.h> in a file compiled with AVX enabled.
#pragma once

#include <cstddef>

namespace attn {
namespace {

// dst[i][j] = src[j][i] for i, j < 8; rows src_stride and dst_stride floats apart.
__attribute__((always_inline)) inline void transpose8x8_avx(const float* src, size_t src_stride, float* dst, size_t dst_stride) {
  __m256 row[8], pair[8], quad[8];
  for (size_t i = 0; i < 8; ++i) row[i] = _mm256_loadu_ps(src + i * src_stride);
  for (size_t i = 0; i < 8; i += 2) {
    pair[i] = _mm256_unpacklo_ps(row[i], row[i + 1]);
    pair[i + 1] = _mm256_unpackhi_ps(row[i], row[i + 1]);
  }
  for (size_t i = 0; i < 8; i += 4) {
    quad[i] = _mm256_shuffle_ps(pair[i], pair[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    quad[i + 1] = _mm256_shuffle_ps(pair[i], pair[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    quad[i + 2] = _mm256_shuffle_ps(pair[i + 1], pair[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    quad[i + 3] = _mm256_shuffle_ps(pair[i + 1], pair[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (size_t i = 0; i < 4; ++i) {
    _mm256_storeu_ps(dst + i * dst_stride, _mm256_permute2f128_ps(quad[i], quad[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * dst_stride, _mm256_permute2f128_ps(quad[i], quad[i + 4], 0x31));
  }
}

}  // namespace
}  // namespace attn
