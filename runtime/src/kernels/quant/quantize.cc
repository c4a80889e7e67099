// The quantized weight formats (quantize.h): sizes, quantization and back.

#include "quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "../../error.h"

namespace attn {

namespace {

static_assert(traits_of(WeightType::Q8).block == kQuantBlock && traits_of(WeightType::Q4).block == kQuantBlock &&
                  traits_of(WeightType::Q8C).block == kQuantBlock,
              "the quantized formats' blocks are the kernels' blocks");

[[noreturn]] void reject(WeightType type, size_t row, size_t col, float value, const char* why) {
  fail(ATTN_ERROR_INVALID_ARGUMENT, std::string("cannot quantize to ") + traits_of(type).name +
                                        ": the weight at row " + std::to_string(row) + ", column " +
                                        std::to_string(col) + " is " + std::to_string(value) + " (" + why + ")");
}

void check_finite(WeightType type, const float* w, size_t n, size_t k) {
  for (size_t r = 0; r < n; ++r)
    for (size_t c = 0; c < k; ++c)
      if (!std::isfinite(w[r * k + c])) reject(type, r, c, w[r * k + c], "not finite");
}

// Q4 of one block: scale = m / -8 for m the first element of largest
// magnitude; q = round(w / scale) clamped to [-8, 7], stored as q + 8.
float quantize_block_q4(const float* x, size_t count, uint8_t* packed) {
  float m = 0, amax = 0;
  for (size_t i = 0; i < count; ++i)
    if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), m = x[i];
  const float scale = m / -8.0f;
  const float inv = scale != 0 ? 1.0f / scale : 0.0f;
  uint8_t q[kQuantBlock];
  for (size_t i = 0; i < kQuantBlock; ++i) {
    int32_t v = i < count ? round_half_away(x[i] * inv) : 0;
    v = v < -8 ? -8 : v > 7 ? 7 : v;
    q[i] = uint8_t(v + 8);
  }
  for (size_t j = 0; j < kQuantBlock / 2; ++j) packed[j] = uint8_t(q[j] | (q[j + 16] << 4));
  return scale;
}

}  // namespace

float max_abs(const float* x, size_t count) {
  // A comparison, not std::fmax: it calls nothing (x is finite, so the two
  // agree). The vector forms of quantize_rows (kernels/quant) take their
  // maxima on vectors; this is the reference they match.
  float amax = 0;
  for (size_t i = 0; i < count; ++i) {
    const float a = std::fabs(x[i]);
    amax = a > amax ? a : amax;
  }
  return amax;
}

float quantize_block_q8(const float* x, size_t count, int8_t* q) {
  return quantize_block_q8(x, count, max_abs(x, count), q);
}

float quantize_block_q8(const float* x, size_t count, float amax, int8_t* q) {
  const float scale = amax / 127.0f;
  const float inv = scale != 0 ? 1.0f / scale : 0.0f;
  // |x·inv| ≤ 127·(1 + 2u) < 127.5: never beyond ±127.
  for (size_t i = 0; i < count; ++i) q[i] = int8_t(round_half_away(x[i] * inv));
  for (size_t i = count; i < kQuantBlock; ++i) q[i] = 0;
  return scale;
}

void quantize_weights(WeightType type, const float* w, size_t n, size_t k, void* data, float* scales) {
  check_finite(type, w, n, k);
  const size_t blocks = quant_blocks(k);
  switch (type) {
    case WeightType::F32:
      std::memcpy(data, w, n * k * sizeof(float));
      return;
    case WeightType::F16: {
      auto* h = static_cast<uint16_t*>(data);
      for (size_t i = 0; i < n * k; ++i) {
        h[i] = f32_to_f16(w[i]);
        if ((h[i] & 0x7c00) == 0x7c00) reject(type, i / k, i % k, w[i], "beyond the half range, ±65504");
      }
      return;
    }
    case WeightType::Q8:
    case WeightType::Q4:
    case WeightType::Q8C: {
      const size_t bytes = traits_of(type).block_bytes;
      auto* out = static_cast<uint8_t*>(data);
      for (size_t r = 0; r < n; ++r) {
        if (type == WeightType::Q8C) {
          const float amax = max_abs(w + r * k, k);
          for (size_t b = 0; b < blocks; ++b)
            scales[r] = quantize_block_q8(w + r * k + b * kQuantBlock, std::min(kQuantBlock, k - b * kQuantBlock), amax,
                                          reinterpret_cast<int8_t*>(out + (r * blocks + b) * bytes));
          continue;
        }
        for (size_t b = 0; b < blocks; ++b) {
          const float* x = w + r * k + b * kQuantBlock;
          const size_t count = std::min(kQuantBlock, k - b * kQuantBlock);
          uint8_t* q = out + (r * blocks + b) * bytes;
          scales[r * blocks + b] = type == WeightType::Q8 ? quantize_block_q8(x, count, reinterpret_cast<int8_t*>(q))
                                                          : quantize_block_q4(x, count, q);
        }
      }
      return;
    }
  }
}

void dequantize_weights(WeightType type, const void* data, const float* scales, size_t n, size_t k, float* w) {
  const size_t blocks = quant_blocks(k);
  switch (type) {
    case WeightType::F32:
      std::memcpy(w, data, n * k * sizeof(float));
      return;
    case WeightType::F16:
      for (size_t i = 0; i < n * k; ++i) w[i] = f16_to_f32(static_cast<const uint16_t*>(data)[i]);
      return;
    case WeightType::Q8:
    case WeightType::Q4:
    case WeightType::Q8C: {
      const WeightTypeTraits& t = traits_of(type);
      const auto* in = static_cast<const uint8_t*>(data);
      for (size_t r = 0; r < n; ++r)
        for (size_t c = 0; c < k; ++c) {
          const size_t b = c / kQuantBlock, j = c % kQuantBlock;
          int q;
          if (t.int8) {
            q = int8_t(in[(r * blocks + b) * kQuantBlock + j]);
          } else {
            const uint8_t byte = in[(r * blocks + b) * (kQuantBlock / 2) + j % 16];
            q = int(j < 16 ? byte & 15 : byte >> 4) - 8;
          }
          w[r * k + c] = float(q) * scales[t.scale_index(r, b, k)];
        }
      return;
    }
  }
}

uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000);
  const uint32_t ax = x & 0x7fffffff;
  if (ax >= 0x7f800000) return uint16_t(sign | 0x7c00 | (ax > 0x7f800000 ? 0x200 : 0));  // inf, NaN
  if (ax >= 0x477ff000) return uint16_t(sign | 0x7c00);  // rounds beyond 65504: infinity
  if (ax < 0x38800000) {
    // Below the smallest normal half (2^-14): a subnormal multiple of 2^-24,
    // rounded to nearest even in float arithmetic (exact: 2^-24 · integer).
    float a;
    std::memcpy(&a, &ax, 4);
    const float scaled = a * 16777216.0f;  // a / 2^-24, exact
    float r = std::nearbyint(scaled);      // default mode: to nearest even
    return uint16_t(sign | uint16_t(r));
  }
  // Normal: rebias the exponent, round the 13 dropped mantissa bits to
  // nearest even (a carry into the exponent is the right result).
  const uint32_t rebased = ax - ((127 - 15) << 23);
  const uint32_t lsb = (rebased >> 13) & 1;
  return uint16_t(sign | ((rebased + 0xfff + lsb) >> 13));
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t x;
  if (exp == 0) {
    const float v = float(mant) * 5.9604644775390625e-8f;  // 2^-24: exact
    std::memcpy(&x, &v, 4);
    x |= sign;
  } else if (exp == 31) {
    x = sign | 0x7f800000 | (mant << 13);
  } else {
    x = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

}  // namespace attn
