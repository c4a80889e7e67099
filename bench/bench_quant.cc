// Dense layers with f32, f16, q8, q4 and q8c weights at GPT-2's shapes, one
// thread: the f32 path's own GEMM against every quantized-kernel variant this
// CPU has (attn::available_quant_kernels). q8, q4 and q8c include the activation
// quantization (quantize_rows) in the timed loop, as a layer would run it.
//
//   quant/DTYPE-VARIANT/SHAPE/rows:M         weights packed once, cache-warm
//                                            after the first iteration (the
//                                            small layers fit in L2 or L3);
//   quant-stream/DTYPE-VARIANT/SHAPE/rows:M  the same through enough copies of
//                                            the weights (≥ 96 MB) that each
//                                            call reads them from memory, as
//                                            decoding a whole model does.
//
// Counters: FLOPS (2 per multiply-add, 1 per bias add) and weights, the
// packed weight bytes read per second.
//
//   build/bench/bench_quant --benchmark_filter='rows:1/'

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/quant/quant_kernels.h"

namespace {

using attn::WeightType;

std::vector<float> random_vector(size_t count, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(count);
  for (float& x : v) x = dist(rng);
  return v;
}

struct Aligned {
  void* p = nullptr;
  explicit Aligned(size_t bytes) {
    p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    std::memset(p, 0, bytes);
  }
  ~Aligned() { std::free(p); }
  Aligned(const Aligned&) = delete;
  Aligned& operator=(const Aligned&) = delete;
  template <typename T>
  T* as() const { return static_cast<T*>(p); }
};

struct Shape {
  const char* name;
  size_t in, out;
};
const Shape kShapes[] = {{"gpt2-qkv", 768, 2304}, {"gpt2-proj", 768, 768}, {"gpt2-fc1", 768, 3072}, {"gpt2-fc2", 3072, 768}};

// One of the dtypes on one table: the f32 path's GEMM (quant null) or a
// quantized variant's.
struct Layer {
  WeightType type;
  const attn::Kernels* f32 = nullptr;
  const attn::QuantKernels* quant = nullptr;
  size_t copy_bytes = 0, copies = 1;
  std::unique_ptr<Aligned> weights;

  Layer(WeightType t, const attn::Kernels* f, const attn::QuantKernels* q, const Shape& s, bool stream)
      : type(t), f32(f), quant(q) {
    const std::vector<float> w = random_vector(s.in * s.out, 1.0f / std::sqrt(float(s.in)), 7);
    copy_bytes = t == WeightType::F32 ? f32->gemm_packed_floats(s.out, s.in) * sizeof(float)
                                      : quant->packed_bytes(t, s.out, s.in);
    copy_bytes = (copy_bytes + 63) / 64 * 64;
    if (stream) copies = (96u << 20) / copy_bytes + 1;
    weights = std::make_unique<Aligned>(copy_bytes * copies);
    std::vector<uint8_t> data(attn::traits_of(t).data_bytes(s.out, s.in));
    std::vector<float> scales(attn::traits_of(t).scale_count(s.out, s.in));
    if (t != WeightType::F32) attn::quantize_weights(t, w.data(), s.out, s.in, data.data(), scales.data());
    for (size_t i = 0; i < copies; ++i) {
      char* dst = weights->as<char>() + i * copy_bytes;
      if (t == WeightType::F32)
        f32->gemm_pack(w.data(), s.out, s.in, reinterpret_cast<float*>(dst));
      else
        quant->pack(t, data.data(), t == WeightType::F16 ? nullptr : scales.data(), s.out, s.in, dst);
    }
  }
  const void* copy(size_t i) const { return weights->as<char>() + (i % copies) * copy_bytes; }
};

void bm_layer(benchmark::State& state, WeightType type, const attn::Kernels* f32, const attn::QuantKernels* quant,
              Shape s, size_t rows, bool stream) {
  const Layer layer(type, f32, quant, s, stream);
  const std::vector<float> bias = random_vector(s.out, 0.02f, 8), x = random_vector(rows * s.in, 1.0f, 9);
  std::vector<float> y(rows * s.out);
  Aligned qa(attn::quantized_rows_bytes(rows, s.in));
  const attn::Epilogue epilogue = std::strstr(s.name, "fc1") ? attn::Epilogue::Gelu : attn::Epilogue::None;
  size_t i = 0;
  for (auto _ : state) {
    const void* w = layer.copy(i++);
    switch (type) {
      case WeightType::F32: {
        const size_t panels = (s.out + f32->gemm_panel - 1) / f32->gemm_panel;
        f32->gemm(x.data(), s.in, rows, s.in, static_cast<const float*>(w), bias.data(), epilogue, nullptr, y.data(),
                  s.out, s.out, 0, panels);
        break;
      }
      case WeightType::F16:
        quant->gemm_f16(x.data(), s.in, rows, s.in, w, bias.data(), epilogue, nullptr, y.data(), s.out, s.out, 0,
                        s.out);
        break;
      case WeightType::Q8:
      case WeightType::Q4:
      case WeightType::Q8C:
        quant->quantize_rows(x.data(), s.in, rows, s.in, attn::traits_of(type).scales, qa.p);
        attn::quant_gemm(*quant, type)(qa.p, rows, s.in, w, bias.data(), epilogue, nullptr, y.data(), s.out, s.out, 0,
                                       s.out);
        break;
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["FLOPS"] = benchmark::Counter(2.0 * double(rows * s.in * s.out) + double(rows * s.out),
                                               benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::OneK::kIs1000);
  state.counters["weights"] = benchmark::Counter(double(layer.copy_bytes), benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::OneK::kIs1024);
}

void register_all() {
  size_t path_count = 0, variant_count = 0;
  const attn::Kernels* const* paths = attn::available_kernel_paths(&path_count);
  const attn::QuantKernels* const* variants = attn::available_quant_kernels(&variant_count);
  for (bool stream : {false, true})
    for (const Shape& s : kShapes)
      for (size_t rows : {size_t(1), size_t(4), size_t(16), size_t(65), size_t(128), size_t(257)}) {
        if (stream && rows > 4) continue;  // compute-bound: the weights stay in cache across rows
        char buf[160];
        const char* kind = stream ? "quant-stream" : "quant";
        for (size_t p = 0; p < path_count; ++p)
          if (paths[p]->gemm) {
            std::snprintf(buf, sizeof buf, "%s/f32-%s/%s/rows:%zu", kind, paths[p]->path, s.name, rows);
            benchmark::RegisterBenchmark(buf, bm_layer, WeightType::F32, paths[p], nullptr, s, rows, stream);
          }
        for (size_t v = 0; v < variant_count; ++v)
          for (WeightType t : {WeightType::F16, WeightType::Q8, WeightType::Q4, WeightType::Q8C}) {
            std::snprintf(buf, sizeof buf, "%s/%s-%s/%s/rows:%zu", kind, attn::traits_of(t).name,
                          variants[v]->name, s.name, rows);
            benchmark::RegisterBenchmark(buf, bm_layer, t, nullptr, variants[v], s, rows, stream);
          }
      }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  size_t count = 0;
  const attn::QuantKernels* const* variants = attn::available_quant_kernels(&count);
  std::string names;
  for (size_t v = 0; v < count; ++v) names += std::string(v ? ", " : "") + variants[v]->name;
  benchmark::AddCustomContext("attn_quant_variants", names);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
