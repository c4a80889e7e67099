// The fp32 multiply-add peak of one core: independent FMA chains whose
// accumulators stay in registers (12 x 8 floats with AVX2+FMA, 24 x 16 floats
// with AVX-512), enough to cover the FMA latency on both FMA pipes. The result
// is the ceiling for the dense layers' GFLOP/s in bench_kernels and
// bench_models. With two threads each runs its own loop (threads:2).
//
// The same for the 8-bit dot product of the q8 and q4 kernels (vpdpbusd: in
// each 32-bit lane, 4 products of unsigned by signed bytes added to the
// lane), with VNNI on 256-bit (AVX-VNNI) and 512-bit (AVX-512 VNNI)
// registers; OPS counts each product as 2 operations, like FLOPS. The
// quantized GEMMs' OPS in bench_quant is measured against this ceiling
// (docs/kernels.md).
//
// Also the read bandwidth of one core from memory: a streaming sum over a
// buffer far larger than the last-level cache. Decoding one token of a large
// model reads every weight once, so weight bytes per token divided by this
// figure is decode's floor (docs/kernels.md, bench/RESULTS.md).
//
//   build-bench/bench/bench_peak

#if defined(__GNUC__) && !defined(__clang__)  // GCC bug 105593 (see runtime/src/kernels/f32_avx512.cc)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <benchmark/benchmark.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <cstdint>
#include <cstring>
#include <memory>

namespace {

#if defined(__x86_64__)

constexpr int64_t kInner = 1 << 16;

// Twelve (AVX2) or twenty-four (AVX-512) named accumulators: arrays would be
// kept in memory by the compiler, and a loop that spills measures loads.
#define ATTN_REP12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define ATTN_REP24(X) ATTN_REP12(X) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)

__attribute__((target("avx2,fma"))) float fma_avx2(int64_t iterations) {
#define DECL(i) __m256 acc##i = _mm256_set1_ps(float(i) * 1e-3f);
#define STEP(i) acc##i = _mm256_fmadd_ps(acc##i, a, b);
#define HIDE(i) __asm__ volatile("" : "+x"(acc##i));
#define SUM(i) s = _mm256_add_ps(s, acc##i);
  ATTN_REP12(DECL)
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iterations; ++it) {
    ATTN_REP12(STEP)
    ATTN_REP12(HIDE)  // keeps the chains opaque to the compiler without touching memory
  }
  __m256 s = _mm256_setzero_ps();
  ATTN_REP12(SUM)
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
#undef DECL
#undef STEP
#undef HIDE
#undef SUM
}

__attribute__((target("avx512f"))) float fma_avx512(int64_t iterations) {
#define DECL(i) __m512 acc##i = _mm512_set1_ps(float(i) * 1e-3f);
#define STEP(i) acc##i = _mm512_fmadd_ps(acc##i, a, b);
#define HIDE(i) __asm__ volatile("" : "+v"(acc##i));
#define SUM(i) s = _mm512_add_ps(s, acc##i);
  ATTN_REP24(DECL)
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iterations; ++it) {
    ATTN_REP24(STEP)
    ATTN_REP24(HIDE)
  }
  __m512 s = _mm512_setzero_ps();
  ATTN_REP24(SUM)
  float out[16];
  _mm512_storeu_ps(out, s);
  return out[0];
#undef DECL
#undef STEP
#undef HIDE
#undef SUM
}

void bm_fma_avx2(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
    return state.SkipWithError("no AVX2+FMA on this CPU");
  for (auto _ : state) benchmark::DoNotOptimize(fma_avx2(kInner));
  state.counters["FLOPS"] = benchmark::Counter(double(kInner) * 12 * 8 * 2 / state.threads(),
                                               benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::OneK::kIs1000);
}

void bm_fma_avx512(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx512f")) return state.SkipWithError("no AVX-512F on this CPU");
  for (auto _ : state) benchmark::DoNotOptimize(fma_avx512(kInner));
  state.counters["FLOPS"] = benchmark::Counter(double(kInner) * 24 * 16 * 2 / state.threads(),
                                               benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::OneK::kIs1000);
}

__attribute__((target("avxvnni"))) int32_t dot_i8_avxvnni(int64_t iterations) {
#define DECL(i) __m256i acc##i = _mm256_set1_epi32(i);
#define STEP(i) acc##i = _mm256_dpbusd_avx_epi32(acc##i, u, s);
#define HIDE(i) __asm__ volatile("" : "+x"(acc##i));
#define SUM(i) sum = _mm256_add_epi32(sum, acc##i);
  ATTN_REP12(DECL)
  const __m256i u = _mm256_set1_epi8(3), s = _mm256_set1_epi8(-5);
  for (int64_t it = 0; it < iterations; ++it) {
    ATTN_REP12(STEP)
    ATTN_REP12(HIDE)
  }
  __m256i sum = _mm256_setzero_si256();
  ATTN_REP12(SUM)
  return _mm256_extract_epi32(sum, 0);
#undef DECL
#undef STEP
#undef HIDE
#undef SUM
}

__attribute__((target("avx512f,avx512vnni"))) int32_t dot_i8_avx512vnni(int64_t iterations) {
#define DECL(i) __m512i acc##i = _mm512_set1_epi32(i);
#define STEP(i) acc##i = _mm512_dpbusd_epi32(acc##i, u, s);
#define HIDE(i) __asm__ volatile("" : "+v"(acc##i));
#define SUM(i) sum = _mm512_add_epi32(sum, acc##i);
  ATTN_REP24(DECL)
  const __m512i u = _mm512_set1_epi8(3), s = _mm512_set1_epi8(-5);
  for (int64_t it = 0; it < iterations; ++it) {
    ATTN_REP24(STEP)
    ATTN_REP24(HIDE)
  }
  __m512i sum = _mm512_setzero_si512();
  ATTN_REP24(SUM)
  return _mm512_reduce_add_epi32(sum);
#undef DECL
#undef STEP
#undef HIDE
#undef SUM
}

// Products per call: chains × lanes × 4.
void bm_dot_i8_avxvnni(benchmark::State& state) {
  if (!__builtin_cpu_supports("avxvnni")) return state.SkipWithError("no AVX-VNNI on this CPU");
  for (auto _ : state) benchmark::DoNotOptimize(dot_i8_avxvnni(kInner));
  state.counters["OPS"] = benchmark::Counter(double(kInner) * 12 * 8 * 4 * 2 / state.threads(),
                                             benchmark::Counter::kIsIterationInvariantRate,
                                             benchmark::Counter::OneK::kIs1000);
}

void bm_dot_i8_avx512vnni(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx512vnni")) return state.SkipWithError("no AVX-512 VNNI on this CPU");
  for (auto _ : state) benchmark::DoNotOptimize(dot_i8_avx512vnni(kInner));
  state.counters["OPS"] = benchmark::Counter(double(kInner) * 24 * 16 * 4 * 2 / state.threads(),
                                             benchmark::Counter::kIsIterationInvariantRate,
                                             benchmark::Counter::OneK::kIs1000);
}

// One thread by CPU time (steady on a shared machine: it leaves out time the
// core was taken by others), then one and two threads by real time.
BENCHMARK(bm_fma_avx2)->Name("peak/fma/avx2");
BENCHMARK(bm_fma_avx2)->Name("peak/fma/avx2")->ThreadRange(1, 2)->UseRealTime();
BENCHMARK(bm_fma_avx512)->Name("peak/fma/avx512");
BENCHMARK(bm_fma_avx512)->Name("peak/fma/avx512")->ThreadRange(1, 2)->UseRealTime();
BENCHMARK(bm_dot_i8_avxvnni)->Name("peak/dot-i8/avx-vnni");
BENCHMARK(bm_dot_i8_avx512vnni)->Name("peak/dot-i8/avx512-vnni");

#endif

// 1 GiB: 30 times a 32 MiB L3, so nearly every line comes from memory.
constexpr size_t kStreamBytes = size_t(1) << 30;

// Four independent sums of 64-byte vectors (one AVX-512 register, or four
// SSE/NEON registers where the target has no wider ones): loads outrun one
// core's memory bandwidth several times over, so the loop measures memory.
typedef uint64_t Words64 __attribute__((vector_size(64)));

#define ATTN_STREAM_SUM_BODY                                                            \
  Words64 s0 = {}, s1 = {}, s2 = {}, s3 = {};                                           \
  for (size_t i = 0; i + 4 <= count; i += 4) {                                          \
    s0 += lines[i];                                                                     \
    s1 += lines[i + 1];                                                                 \
    s2 += lines[i + 2];                                                                 \
    s3 += lines[i + 3];                                                                 \
  }                                                                                     \
  const Words64 s = (s0 + s1) + (s2 + s3);                                              \
  return s[0] ^ s[1] ^ s[2] ^ s[3] ^ s[4] ^ s[5] ^ s[6] ^ s[7];

uint64_t stream_sum(const Words64* lines, size_t count) { ATTN_STREAM_SUM_BODY }

#if defined(__x86_64__)
__attribute__((target("avx512f"))) uint64_t stream_sum_avx512(const Words64* lines,
                                                              size_t count) {
  ATTN_STREAM_SUM_BODY
}
#endif

void bm_read_bandwidth(benchmark::State& state) {
  const size_t count = kStreamBytes / sizeof(Words64);
  std::unique_ptr<Words64[]> lines(new Words64[count]);
  std::memset(lines.get(), 1, kStreamBytes);  // touch every page before timing
  auto sum = stream_sum;
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) sum = stream_sum_avx512;
#endif
  for (auto _ : state) benchmark::DoNotOptimize(sum(lines.get(), count));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(kStreamBytes));
}

BENCHMARK(bm_read_bandwidth)->Name("peak/read_bandwidth")->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
