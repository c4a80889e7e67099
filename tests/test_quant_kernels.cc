// The quantized weight formats and every quantized-kernel variant this CPU
// runs, against references computed here in double precision of the same
// quantized math, within the bounds derived in quant_error_bounds.h. The log
// names the variants that ran and the ones this host lacks, and the worst
// error of each kernel per variant.

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "random_data.h"
#include "reference_math.h"
#include "error.h"
#include "kernels/quant/quant_common.h"  // the activation layout
#include "kernels/quant/quant_kernels.h"
#include "quant_error_bounds.h"

using attn::QuantKernels;
using attn::WeightType;
namespace bounds = attn::test;

namespace {

constexpr size_t kBlock = attn::kQuantBlock;

using attn::test::random_vector;

std::vector<const QuantKernels*> variants() {
  size_t count = 0;
  const QuantKernels* const* list = attn::available_quant_kernels(&count);
  return std::vector<const QuantKernels*>(list, list + count);
}

const QuantKernels& scalar() { return *variants().front(); }

// The weights in the file layout, quantized once, with their values as
// integers (q) and scales for the references.
struct Quantized {
  WeightType type;
  size_t n, k, blocks;
  std::vector<uint8_t> data;
  std::vector<float> scales;
  int q(size_t row, size_t col) const {  // q8, q4, q8c; 0 past k
    const size_t b = col / kBlock, j = col % kBlock;
    if (attn::traits_of(type).int8) return int8_t(data[(row * blocks + b) * kBlock + j]);
    const uint8_t byte = data[(row * blocks + b) * (kBlock / 2) + j % 16];
    return int(j < 16 ? byte & 15 : byte >> 4) - 8;
  }
  double scale(size_t row, size_t b) const { return scales[attn::traits_of(type).scale_index(row, b, k)]; }
};

Quantized quantize(WeightType type, const std::vector<float>& w, size_t n, size_t k) {
  Quantized q{type, n, k, attn::quant_blocks(k), {}, {}};
  q.data.resize(attn::traits_of(type).data_bytes(n, k));
  q.scales.resize(attn::traits_of(type).scale_count(n, k));
  attn::quantize_weights(type, w.data(), n, k, q.data.data(), q.scales.data());
  return q;
}

// The worst error seen per kernel and variant, printed when the program ends.
struct Worst {
  double relative = 0, of_bound = 0;
};
struct Tally {
  std::map<std::string, std::map<std::string, Worst>> by_kernel;
  ~Tally() {
    if (by_kernel.empty()) return;
    std::printf("\nworst error per quantized kernel and variant (relative to max(1, |reference|); share of the derived bound):\n");
    for (const auto& [kernel, by_variant] : by_kernel)
      for (const auto& [variant, w] : by_variant)
        std::printf("  %-10s %-13s %.3g  (%.0f%% of bound)\n", kernel.c_str(), variant.c_str(), w.relative,
                    100 * w.of_bound);
  }
};
Tally tally;

}  // namespace

TEST_CASE("quant kernel paths on this host") {
  std::string ran, missing;
  for (const char* name : {"scalar", "avx2", "avx2-vnni", "avx512-vnni", "neon", "neon-dotprod"}) {
    bool here = false;
    for (const QuantKernels* q : variants()) here |= std::string(q->name) == name;
    std::string& list = here ? ran : missing;
    list += (list.empty() ? "" : " ") + std::string(name);
  }
  std::printf("quant kernel paths tested: %s; not run on this host: %s\n", ran.c_str(),
              missing.empty() ? "none" : missing.c_str());
  REQUIRE(!variants().empty());
  CHECK(std::string(variants().front()->name) == "scalar");
  // Every f32 path this build has on this CPU has quantized kernels.
  size_t count = 0;
  const attn::Kernels* const* paths = attn::available_kernel_paths(&count);
  for (size_t i = 0; i < count; ++i) CHECK(attn::quant_kernels(paths[i]->path).path != nullptr);
  CHECK_THROWS_AS(attn::quant_kernels("no-such-path"), attn::Error);
}

TEST_CASE("weight type table and sizes") {
  CHECK(std::string(attn::traits_of(WeightType::Q4).name) == "q4");
  CHECK(attn::traits_of(WeightType::F32).data_bytes(3, 5) == 60);
  CHECK(attn::traits_of(WeightType::F16).data_bytes(3, 5) == 30);
  CHECK(attn::traits_of(WeightType::Q8).data_bytes(3, 33) == 3 * 64);
  CHECK(attn::traits_of(WeightType::Q4).data_bytes(3, 33) == 3 * 32);
  CHECK(attn::traits_of(WeightType::Q8).scale_count(3, 33) == 6);
  CHECK(attn::traits_of(WeightType::F16).scale_count(3, 33) == 0);
  CHECK(std::string(attn::traits_of(WeightType::Q8C).name) == "q8c");
  CHECK(attn::traits_of(WeightType::Q8C).data_bytes(3, 33) == 3 * 64);  // q8's blocks
  CHECK(attn::traits_of(WeightType::Q8C).scale_count(3, 33) == 3);      // one per row
  CHECK(attn::traits_of(WeightType::Q8C).scale_index(2, 1, 33) == 2);
  CHECK(attn::traits_of(WeightType::Q8).scale_index(2, 1, 33) == 5);
  for (const attn::WeightTypeTraits& t : attn::kWeightTypes) CHECK(attn::weight_type_named(t.name) == &t);
}

TEST_CASE("f16 conversion: exact back, nearest even there") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00) continue;  // inf, NaN
    const float f = attn::f16_to_f32(uint16_t(h));
    REQUIRE(attn::f32_to_f16(f) == uint16_t(h));
  }
  CHECK(attn::f32_to_f16(1.0f + 0x1p-11f) == 0x3c00);                    // a tie, to even (1.0)
  CHECK(attn::f32_to_f16(1.0f + 3 * 0x1p-11f) == 0x3c02);                // a tie, to even (1 + 2^-9)
  CHECK(attn::f32_to_f16(65519.0f) == 0x7bff);                           // below the tie: 65504
  CHECK(attn::f32_to_f16(65520.0f) == 0x7c00);                           // the tie rounds to infinity
  CHECK(attn::f32_to_f16(0x1p-25f) == 0);                                // half the smallest subnormal: to even
  CHECK(attn::f32_to_f16(0x1.8p-24f) == 2);                              // 1.5 subnormal steps: to even
  // Any float goes to a nearest half: neither neighbour is closer.
  std::mt19937 rng(3);
  for (int i = 0; i < 100000; ++i) {
    const float mantissa = std::uniform_real_distribution<float>(-1, 1)(rng);  // (one draw, then the other)
    const float f = std::ldexp(mantissa, int(rng() % 40) - 24);
    const uint16_t h = attn::f32_to_f16(f);
    const double err = std::fabs(double(attn::f16_to_f32(h)) - f);
    for (int step : {-1, 1}) {
      const uint16_t other = uint16_t(h + step);
      if ((other & 0x7fff) >= 0x7c00 || (other & 0x8000) != (h & 0x8000)) continue;
      REQUIRE(err <= std::fabs(double(attn::f16_to_f32(other)) - f));
    }
  }
}

TEST_CASE("q8, q4 and q8c round trip, zero blocks, padding, extremes") {
  std::mt19937 rng(5);
  for (WeightType type : {WeightType::Q8, WeightType::Q4, WeightType::Q8C}) {
    const bool per_row = attn::traits_of(type).scales == attn::Scales::PerRow;
    for (size_t k : {1, 31, 32, 33, 48, 49, 64, 100}) {
      const size_t n = 5;
      auto w = random_vector(n * k, rng);
      for (size_t c = 0; c < k; ++c) w[1 * k + c] = 0;                  // a row of zero blocks
      for (size_t c = 0; c < k; ++c) w[2 * k + c] = c % 7 ? 0 : 1e-3f;  // sparse and small
      const Quantized q = quantize(type, w, n, k);
      std::vector<float> back(n * k);
      attn::dequantize_weights(type, q.data.data(), q.scales.data(), n, k, back.data());
      for (size_t r = 0; r < n; ++r)
        for (size_t b = 0; b < q.blocks; ++b) {
          const double d = q.scale(r, b);
          const size_t end = std::min(k, (b + 1) * kBlock);
          // The values one scale covers: the block's, or (q8c) the row's.
          const size_t first = per_row ? 0 : b * kBlock, last = per_row ? k : end;
          double amax = 0;
          size_t at = first;
          for (size_t c = first; c < last; ++c)
            if (std::fabs(w[r * k + c]) > amax) amax = std::fabs(w[r * k + c]), at = c;
          if (amax == 0) CHECK(d == 0);
          // The largest magnitude maps to the extreme: ±127, or −8 for q4.
          if (amax > 0) CHECK(q.q(r, at) == (type == WeightType::Q4 ? -8 : (w[r * k + at] > 0 ? 127 : -127)));
          for (size_t c = b * kBlock; c < end; ++c) {
            const double x = w[r * k + c], deq = q.q(r, c) * d;
            const double bound = type == WeightType::Q4 ? bounds::q4_roundtrip_bound(x, d) : bounds::q8_roundtrip_bound(d);
            CHECK_MESSAGE(std::fabs(x - deq) <= bound, "k " << k << " row " << r << " col " << c);
            CHECK(back[r * k + c] == float(q.q(r, c) * float(d)));  // one rounding
          }
          for (size_t c = end; c < (b + 1) * kBlock; ++c) CHECK(q.q(r, c) == 0);  // the padding is zero
        }
    }
    // Non-finite input: refused, naming the position.
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
      std::vector<float> w(3 * 40, 0.5f);
      w[2 * 40 + 17] = bad;
      std::string message;
      try {
        quantize(type, w, 3, 40);
      } catch (const attn::Error& e) {
        message = e.what();
      }
      CHECK_MESSAGE(message.find("row 2, column 17") != std::string::npos, message);
    }
  }
  std::vector<float> big(4, 1.0f);
  big[3] = 70000.0f;
  CHECK_THROWS_WITH_AS(quantize(WeightType::F16, big, 2, 2), doctest::Contains("row 1, column 1"), attn::Error);
}

TEST_CASE("activation quantization: within half a step, the same on every variant") {
  std::mt19937 rng(11);
  for (attn::Scales scales : {attn::Scales::PerBlock, attn::Scales::PerRow})
  for (size_t k : {1, 31, 32, 33, 48, 49, 96, 770, 256 * 32 + 40}) {
    CAPTURE(int(scales));
    const size_t m = 3, stride = k + 5;
    auto a = random_vector(m * stride, rng, 3.0f);
    for (size_t c = 0; c < std::min<size_t>(k, 32); ++c) a[1 * stride + c] = 0;  // a zero block
    a[2 * stride] = 0.5f * (a[2 * stride + std::min<size_t>(k - 1, 1)]);
    // Ties: a block (and row) whose largest |x| is 127 has scale 1, so x.5
    // rounds half away from zero (2.5 → 3, −0.5 → −1, 126.5 → 127).
    const float ties[] = {127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 126.5f, -126.5f, 1.5f};
    for (size_t c = 0; c < std::min<size_t>(k, 8); ++c) a[c] = ties[c];
    std::vector<uint8_t> want(attn::quantized_rows_bytes(m, k), 0xcd);
    scalar().quantize_rows(a.data(), stride, m, k, scales, want.data());
    const size_t blocks = attn::quant_blocks(k), row_bytes = want.size() / m;
    for (size_t r = 0; r < m; ++r) {
      const uint8_t* row = want.data() + r * row_bytes;
      std::vector<int32_t> chunk_sums(attn::quant::sum_chunks(k), 0);  // of the −128 terms, per 256 blocks
      for (size_t b = 0; b < blocks; ++b) {
        float scale;
        int32_t minus_128_sum, minus_8_sum, expect_sum = 0;  // the offset terms −128·Σq and −8·Σq
        std::memcpy(&scale, row + blocks * 32 + b * 4, 4);
        std::memcpy(&minus_128_sum, row + blocks * 36 + b * 4, 4);
        std::memcpy(&minus_8_sum, row + blocks * 40 + b * 4, 4);
        // The scale's values: the block's, or with per-row scales the row's.
        const bool per_row = scales == attn::Scales::PerRow;
        float amax = 0;
        for (size_t c = per_row ? 0 : b * kBlock; c < (per_row ? k : std::min(k, (b + 1) * kBlock)); ++c)
          amax = std::max(amax, std::fabs(a[r * stride + c]));
        CHECK(scale == amax / 127.0f);
        for (size_t j = 0; j < kBlock; ++j) {
          const int q = int8_t(row[b * kBlock + j]);
          expect_sum += q;
          const size_t c = b * kBlock + j;
          if (c >= k) {
            CHECK(q == 0);
            continue;
          }
          CHECK(std::fabs(double(a[r * stride + c]) - q * double(scale)) <= bounds::q8_roundtrip_bound(scale));
        }
        CHECK(minus_128_sum == -128 * expect_sum);
        CHECK(minus_8_sum == -8 * expect_sum);
        chunk_sums[b / attn::quant::kSumChunk] += -128 * expect_sum;
      }
      for (size_t c = 0; c < chunk_sums.size(); ++c) {
        int32_t stored;
        std::memcpy(&stored, row + blocks * attn::quant::kActBlockBytes + c * 4, 4);
        CHECK(stored == chunk_sums[c]);
      }
    }
    // Every variant's table gives the same bytes: the quantization is one
    // portable function (exact float operations and one rounding rule), so
    // any difference would be a fault, not rounding.
    for (const QuantKernels* v : variants()) {
      std::vector<uint8_t> got(want.size(), 0x5a);
      v->quantize_rows(a.data(), stride, m, k, scales, got.data());
      CHECK_MESSAGE(got == want, v->name << ", k " << k);
    }
  }
}

TEST_CASE("q8 and q8c packing refuse -128") {
  std::vector<int8_t> data(32, 1);
  data[9] = -128;
  std::vector<float> scales{1.0f};
  for (const QuantKernels* v : variants())
    for (WeightType type : {WeightType::Q8, WeightType::Q8C}) {
      std::vector<uint8_t> packed(v->packed_bytes(type, 1, 32));
      CHECK_THROWS_WITH_AS(v->pack(type, data.data(), scales.data(), 1, 32, packed.data()),
                           doctest::Contains("row 0, column 9"), attn::Error);
    }
}

namespace {

// One GEMM case on one variant, against the float64 reference of the same
// quantized math, each element within its derived bound; columns computed in
// ranges that start and stop inside panels, as threads may split them.
void check_gemm(const QuantKernels& v, WeightType type, size_t m, size_t k, size_t n, int variant_case,
                std::mt19937& rng) {
  const attn::Epilogue epilogue = attn::Epilogue(variant_case % 4);
  const bool with_bias = (variant_case / 4) % 2, with_residual = (variant_case / 8) % 2 || variant_case % 3 == 0;
  const size_t a_stride = k + 3, c_stride = n + 3;
  auto a = random_vector(m * a_stride, rng);
  if (m > 2)
    for (size_t c = 0; c < k; ++c) a[1 * a_stride + c] = 0;  // a zero row: scale 0
  auto w = random_vector(n * k, rng, 0.2f);
  const auto bias = random_vector(n, rng), residual = random_vector(m * c_stride, rng);
  const Quantized q = quantize(type, w, n, k);
  std::vector<uint8_t> packed(v.packed_bytes(type, n, k));
  v.pack(type, q.data.data(), type == WeightType::F16 ? nullptr : q.scales.data(), n, k, packed.data());
  const attn::Scales scales = attn::traits_of(type).scales;
  std::vector<uint8_t> qa(attn::quantized_rows_bytes(m, k));
  scalar().quantize_rows(a.data(), a_stride, m, k, scales, qa.data());  // the reference's activations
  std::vector<uint8_t> qa_variant(qa.size());
  v.quantize_rows(a.data(), a_stride, m, k, scales, qa_variant.data());

  std::vector<float> c(m * c_stride, -7.0f);
  const float* b = with_bias ? bias.data() : nullptr;
  const float* res = with_residual ? residual.data() : nullptr;
  auto run = [&](size_t begin, size_t end) {
    if (type == WeightType::F16)
      v.gemm_f16(a.data(), a_stride, m, k, packed.data(), b, epilogue, res, c.data(), c_stride, n, begin, end);
    else
      attn::quant_gemm(v, type)(qa_variant.data(), m, k, packed.data(), b, epilogue, res, c.data(), c_stride, n, begin,
                                end);
  };
  // A split inside a panel (odd, past its first column), then the rest in two.
  const size_t split = std::min(n, n / 2 + 1), split2 = split + (n - split) / 3;
  run(split, split2);
  for (size_t r = 0; r < m; ++r)
    for (size_t j = 0; j < n; ++j)
      if (j < split || j >= split2) REQUIRE_MESSAGE(c[r * c_stride + j] == -7.0f, "wrote outside its columns");
  run(0, split);
  run(split2, n);

  const size_t blocks = attn::quant_blocks(k);
  const std::string kernel = std::string(attn::traits_of(type).name) + "-gemm";
  Worst& worst = tally.by_kernel[kernel][v.name];
  for (size_t r = 0; r < m; ++r) {
    for (size_t j = 0; j < n; ++j) {
      double acc = b ? b[j] : 0.0, abs_sum = std::fabs(acc), err;
      if (type == WeightType::F16) {
        for (size_t i = 0; i < k; ++i) {
          const double wi = attn::f16_to_f32(reinterpret_cast<const uint16_t*>(q.data.data())[j * k + i]);
          acc += a[r * a_stride + i] * wi;
          abs_sum += std::fabs(a[r * a_stride + i] * wi);
        }
        err = bounds::f16gemm_bound(k, abs_sum);
      } else {
        const uint8_t* row = qa.data() + r * (qa.size() / m);
        for (size_t bl = 0; bl < blocks; ++bl) {
          float sa;
          std::memcpy(&sa, row + blocks * 32 + bl * 4, 4);
          long dot = 0, abs_dot = 0;
          for (size_t i = 0; i < kBlock; ++i) {
            const long p = long(int8_t(row[bl * kBlock + i])) * q.q(j, bl * kBlock + i);
            dot += p;
            abs_dot += std::labs(p);
          }
          acc += double(sa) * q.scale(j, bl) * double(dot);
          abs_sum += std::fabs(double(sa) * q.scale(j, bl)) * double(abs_dot);
        }
        err = type == WeightType::Q8C ? bounds::q8c_gemm_bound(blocks, abs_sum) : bounds::qgemm_bound(blocks, abs_sum);
      }
      // The epilogue's slope on the accumulator's error plus its own error,
      // then the residual's add (as in test_kernels' f32 GEMM).
      bounds::apply_epilogue(epilogue, acc, err);
      if (res) {
        acc += res[r * c_stride + j];
        err += bounds::add_bound(acc);
      }
      const double got = c[r * c_stride + j], diff = std::fabs(got - acc);
      worst.relative = std::max(worst.relative, diff / std::max(1.0, std::fabs(acc)));
      worst.of_bound = std::max(worst.of_bound, err > 0 ? diff / err : (diff > 0 ? INFINITY : 0.0));
      if (!(diff <= err))
        FAIL_CHECK(kernel << " on " << std::string(v.name) << ", m " << m << " k " << k << " n " << n << " epilogue "
                          << int(epilogue) << " bias " << with_bias << " residual " << with_residual << ": element ("
                          << r << ", " << j << ") is " << got << ", the reference " << acc << ", outside the bound "
                          << err);
    }
    for (size_t j = n; j < c_stride; ++j) REQUIRE_MESSAGE(c[r * c_stride + j] == -7.0f, "wrote between rows");
  }
}

}  // namespace

TEST_CASE("quantized GEMMs on every variant, over edge shapes") {
  std::mt19937 rng(17);
  for (const QuantKernels* v : variants())
    for (WeightType type : {WeightType::F16, WeightType::Q8, WeightType::Q4, WeightType::Q8C}) {
      int count = 0;
      for (size_t m : {1, 2, 3, 4, 5, 7, 8, 16, 33})
        for (size_t k : {32, 48, 64, 96})
          for (size_t n = 1; n <= 40; ++n) check_gemm(*v, type, m, k, n, count++, rng);
      for (size_t m : {1, 5, 33})  // k under one block: the block's padding
        for (size_t n = 1; n <= 40; ++n) check_gemm(*v, type, m, 16, n, count++, rng);
      for (size_t m : {1, 4, 5, 33})
        for (size_t k : {96, 768}) check_gemm(*v, type, m, k, 768, count++, rng);
    }
}

// The q8 and q4 tiles of many rows: row counts across every variant's tile
// height (4 scalar and NEON; 2 on AVX2, 3 with AVX-VNNI; 6 with AVX-512: each of
// MR − 1, MR, MR + 1) and beyond, with column counts around the 16-column
// wide panels and their pairs, and long k.
TEST_CASE("quantized GEMMs of many rows on every variant") {
  std::mt19937 rng(23);
  for (const QuantKernels* v : variants())
    for (WeightType type : {WeightType::Q8, WeightType::Q4, WeightType::Q8C}) {
      int count = 0;
      for (size_t m : {1, 2, 3, 4, 5, 6, 7, 9, 13, 17, 65}) {
        for (size_t k : {32, 64, 96})
          for (size_t n : {1, 15, 16, 17, 31, 32, 33, 47, 48, 49, 64, 65}) check_gemm(*v, type, m, k, n, count++, rng);
        for (size_t n : {17, 48, 49}) check_gemm(*v, type, m, 3072, n, count++, rng);
      }
      // q8c: rows longer than the wide tiles' integer chunk (256 blocks).
      if (type == WeightType::Q8C)
        for (size_t m : {1, 7}) check_gemm(*v, type, m, 256 * kBlock + 96, 33, count++, rng);
    }
}

// q8c's integer sums at their extremes: every activation and weight at ±127
// steps over three chunks of 256 blocks and a partial one, so that each
// lane's int32 sum takes its largest values (quant_wide.inc). Column j's
// weights are all +1 or all −1, the activations all 1: y = ±k (exact in
// float), within the derived bound.
TEST_CASE("q8c GEMM: integer sums of the longest chunks at the extremes") {
  const size_t m = 2, n = 32, k = 3 * 256 * kBlock + 40;
  std::vector<float> a(m * k, 1.0f), w(n * k);
  for (size_t j = 0; j < n; ++j)
    for (size_t i = 0; i < k; ++i) w[j * k + i] = j % 2 ? -1.0f : 1.0f;
  const Quantized q = quantize(WeightType::Q8C, w, n, k);
  for (const QuantKernels* v : variants()) {
    std::vector<uint8_t> packed(v->packed_bytes(WeightType::Q8C, n, k)), qa(attn::quantized_rows_bytes(m, k));
    v->pack(WeightType::Q8C, q.data.data(), q.scales.data(), n, k, packed.data());
    v->quantize_rows(a.data(), k, m, k, attn::Scales::PerRow, qa.data());
    std::vector<float> c(m * n);
    v->gemm_q8c(qa.data(), m, k, packed.data(), nullptr, attn::Epilogue::None, nullptr, c.data(), n, n, 0, n);
    const double bound = bounds::q8c_gemm_bound(attn::quant_blocks(k), double(k) * (1 + 1e-6));
    for (size_t r = 0; r < m; ++r)
      for (size_t j = 0; j < n; ++j) {
        const double want = j % 2 ? -double(k) : double(k);
        CHECK_MESSAGE(std::fabs(c[r * n + j] - want) <= bound, v->name << " (" << r << ", " << j << "): " << c[r * n + j]);
      }
  }
}
