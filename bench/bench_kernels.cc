// Kernel benchmarks: the attention core per variant, a whole attention layer
// per variant (XNNPACK projections + core), dense layers (XNNPACK fully
// connected), LayerNorm, softmax (inside attention), GELU and Super
// Attention's token mixing — one benchmark per kernel path this CPU supports
// (attn::available_kernel_paths), on the shapes of the paper's models.
//
// Every benchmark reports its FLOP count as a rate counter ("FLOPS", shown as
// e.g. 12.3G/s), with the conventions of bench/flops.py: 2 per multiply-add,
// 1 per bias add, LayerNorm 8 per element, softmax 6 per score, gelu 5 and
// gelu_tanh 9 per element.
//
//   build-bench/bench/bench_kernels --benchmark_filter=attention/
//   build-bench/bench/bench_kernels --benchmark_filter=attention_decode/
//   build-bench/bench/bench_kernels --benchmark_format=json > kernels.json

#include <benchmark/benchmark.h>
#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"

namespace {

using attn::AttentionHeadArgs;
using attn::Kernels;

const char* const kVariants[] = {"standard", "optimized", "efficient", "super"};

std::vector<float> random_vector(size_t count, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(count);
  for (float& x : v) x = dist(rng);
  return v;
}

void set_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["FLOPS"] = benchmark::Counter(flops_per_iteration, benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::OneK::kIs1000);
}

// --- Shapes ---------------------------------------------------------------

struct AttentionShape {
  const char* name;
  size_t n, d, h;
  bool causal;
};

// The paper's models (n = tokens of a run), then sweeps over L and d.
std::vector<AttentionShape> attention_shapes() {
  std::vector<AttentionShape> s = {
      {"imdb", 32, 32, 4, false},          {"amazon", 64, 64, 4, false},
      {"mnist", 64, 128, 4, false},        {"cifar100", 256, 256, 8, false},
      {"imagenet", 197, 768, 12, false},   {"gpt2-prefill128", 128, 768, 12, true},
      {"gpt2-full1024", 1024, 768, 12, true},
  };
  for (size_t L : {64, 128, 256, 512, 1024}) s.push_back({"sweepL", L, 256, 4, false});
  for (size_t d : {64, 128, 512, 768}) s.push_back({"sweepd", 128, d, d / 64, false});
  return s;
}

std::string shape_suffix(const AttentionShape& s) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s/n:%zu/d:%zu/h:%zu%s", s.name, s.n, s.d, s.h, s.causal ? "/causal" : "");
  return buf;
}

size_t pairs(size_t n, bool causal) { return causal ? n * (n + 1) / 2 : n * n; }

struct AlignedFloats {
  float* p = nullptr;
  explicit AlignedFloats(size_t count) {
    p = static_cast<float*>(std::aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64));
    std::memset(p, 0, count * sizeof(float));
  }
  ~AlignedFloats() { std::free(p); }
  AlignedFloats(const AlignedFloats&) = delete;
  AlignedFloats& operator=(const AlignedFloats&) = delete;
};

// --- Attention core -------------------------------------------------------

// The buffers one attention layer's core reads and writes, laid out as the
// runtime does: one projection buffer of `proj` columns per row ([Q | K | V]
// for standard, [Q | K] for optimized, [Q] for efficient and super), X, the
// mixed values W_A X (super) and the output.
struct AttentionBuffers {
  size_t n, d, h, proj;
  std::string variant;
  std::vector<float> x, qkv, mixed, out, w_a, b_a;
  AlignedFloats scratch;

  AttentionBuffers(const AttentionShape& s, const std::string& v)
      : n(s.n), d(s.d), h(s.h), variant(v), scratch(s.h * attn::attention_scratch_floats(s.n, s.d)) {
    proj = v == "standard" ? 3 : v == "optimized" ? 2 : 1;
    x = random_vector(n * d, 1.0f, 1);
    qkv = random_vector(n * d * proj, 1.0f, 2);
    mixed.assign(n * d, 0.0f);
    out.assign(n * d, 0.0f);
    if (v == "super") {
      w_a = random_vector(n * n, 0.02f, 3);
      for (size_t i = 0; i < n; ++i) w_a[i * n + i] += 1.0f;
      b_a = random_vector(n, 0.02f, 4);
    }
  }

  // K and V of this variant: pointers and row strides.
  void kv(const float** k, size_t* k_stride, const float** v, size_t* v_stride) const {
    const size_t ps = proj * d;
    if (variant == "standard") {
      *k = qkv.data() + d, *k_stride = ps, *v = qkv.data() + 2 * d, *v_stride = ps;
    } else if (variant == "optimized") {
      *k = qkv.data() + d, *k_stride = ps, *v = x.data(), *v_stride = d;
    } else if (variant == "efficient") {
      *k = x.data(), *k_stride = d, *v = x.data(), *v_stride = d;
    } else {
      *k = x.data(), *k_stride = d, *v = mixed.data(), *v_stride = d;
    }
  }

  // The core: token mixing (super), then every head over all rows.
  void run(const Kernels& kern, bool causal, size_t head_dim_override = 0) {
    if (variant == "super")
      kern.token_mix(w_a.data(), n, b_a.data(), x.data(), mixed.data(), n, 0, n, d, causal);
    const size_t dk = d / h;
    AttentionHeadArgs a{};
    kv(&a.k, &a.k_stride, &a.v, &a.v_stride);
    a.q = qkv.data();
    a.q_stride = proj * d;
    a.out = out.data();
    a.out_stride = d;
    a.n = n;
    a.row_begin = 0;
    a.row_end = n;
    a.dim = head_dim_override ? head_dim_override : dk;
    a.scale = 1.0f / std::sqrt(float(dk));
    a.causal = causal;
    a.key_masked = nullptr;
    a.scratch = scratch.p;
    a.heads = h;
    kern.attention_heads(a);
  }
};

double attention_core_flops(const AttentionShape& s, const std::string& variant, size_t dim) {
  const double p = double(pairs(s.n, s.causal));
  double f = 2.0 * p * double(dim * s.h) * 2.0 + 6.0 * p * double(s.h);
  if (variant == "super") f += 2.0 * p * double(s.d) + double(s.n * s.d);
  return f;
}

void bm_attention_core(benchmark::State& state, const Kernels* kern, AttentionShape s, std::string variant) {
  AttentionBuffers b(s, variant);
  for (auto _ : state) {
    b.run(*kern, s.causal);
    benchmark::DoNotOptimize(b.out.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, attention_core_flops(s, variant, s.d / s.h));
}

// Softmax lives inside attention_heads; with a head width of 1 the two products
// are one multiply-add per score, so the time is that of the scale, max, exp,
// sum and normalise passes over the n x n scores.
void bm_softmax(benchmark::State& state, const Kernels* kern, AttentionShape s) {
  AttentionBuffers b(s, "efficient");
  for (auto _ : state) {
    b.run(*kern, s.causal, 1);
    benchmark::DoNotOptimize(b.out.data());
    benchmark::ClobberMemory();
  }
  const double p = double(pairs(s.n, s.causal)) * double(s.h);
  set_flops(state, 6.0 * p + 4.0 * p);
}

void bm_token_mix(benchmark::State& state, const Kernels* kern, AttentionShape s) {
  AttentionBuffers b(s, "super");
  for (auto _ : state) {
    kern->token_mix(b.w_a.data(), s.n, b.b_a.data(), b.x.data(), b.mixed.data(), s.n, 0, s.n, s.d, s.causal);
    benchmark::DoNotOptimize(b.mixed.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * double(pairs(s.n, s.causal)) * double(s.d) + double(s.n * s.d));
}

// One decoding step's attention at GPT-2's shape (12 heads × 64) against a
// cache of `positions` rows, over 24 layers' caches in turn ([1024, 768] keys
// then values each, 144 MiB in all) so that each call reads its cache from
// memory, as decoding a whole model does. Counter: cache bytes read per
// second (keys and values of the positions seen), against bench_peak's
// read bandwidth.
void bm_attention_decode(benchmark::State& state, const Kernels* kern, size_t positions) {
  constexpr size_t kLayers = 24, kMaxTokens = 1024, kHeads = 12, kDim = 64, kWidth = kHeads * kDim;
  const std::vector<float> cache = random_vector(kLayers * 2 * kMaxTokens * kWidth, 1.0f, 5);
  const std::vector<float> q = random_vector(kWidth, 1.0f, 6);
  std::vector<float> out(kWidth);
  AlignedFloats scratch(kHeads * attn::attention_scratch_floats(kMaxTokens, kDim));
  AttentionHeadArgs a{};
  a.q = q.data(), a.out = out.data();
  a.q_stride = a.k_stride = a.v_stride = a.out_stride = kWidth;
  a.n = positions, a.row_begin = 0, a.row_end = 1, a.q_offset = positions - 1;
  a.dim = kDim, a.scale = 0.125f, a.causal = true, a.key_masked = nullptr;
  a.scratch = scratch.p, a.heads = kHeads;
  size_t layer = 0;
  for (auto _ : state) {
    a.k = cache.data() + layer * 2 * kMaxTokens * kWidth;
    a.v = a.k + kMaxTokens * kWidth;
    kern->attention_heads(a);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    layer = (layer + 1) % kLayers;
  }
  state.counters["cache"] = benchmark::Counter(double(2 * positions * kWidth * sizeof(float)),
                                               benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::OneK::kIs1024);
}

// --- XNNPACK --------------------------------------------------------------

bool xnn_ready() {
  static const bool ok = xnn_initialize(nullptr) == xnn_status_success;
  return ok;
}

struct ThreadPool {
  pthreadpool_t pool = nullptr;
  explicit ThreadPool(size_t threads) {
    if (threads > 1) pool = pthreadpool_create(threads);
  }
  ~ThreadPool() {
    if (pool) pthreadpool_destroy(pool);
  }
};

struct Dense {
  xnn_operator_t op = nullptr;
  size_t in, out;
  std::vector<float> w, b;
  Dense(size_t in_ch, size_t out_ch, uint32_t seed) : in(in_ch), out(out_ch) {
    w = random_vector(in * out, 1.0f / std::sqrt(float(in)), seed);
    b = random_vector(out, 0.02f, seed + 1);
    const float inf = std::numeric_limits<float>::infinity();
    if (xnn_create_fully_connected_nc_f32(in, out, in, out, w.data(), b.data(), -inf, inf, 0, &op) !=
        xnn_status_success)
      op = nullptr;
  }
  ~Dense() {
    if (op) xnn_delete_operator(op);
  }
  bool run(size_t rows, const float* x, float* y, pthreadpool_t pool) {
    return xnn_setup_fully_connected_nc_f32(op, rows, x, y, pool) == xnn_status_success &&
           xnn_run_operator(op, pool) == xnn_status_success;
  }
};

struct DenseShape {
  const char* name;
  size_t rows, in, out;
};

std::vector<DenseShape> dense_shapes() {
  return {
      {"imdb-qkv", 32, 32, 96},          {"imdb-fc1", 32, 32, 128},         {"imdb-fc2", 32, 128, 32},
      {"amazon-qkv", 64, 64, 192},       {"amazon-fc1", 64, 64, 256},       {"amazon-fc2", 64, 256, 64},
      {"mnist-qkv", 64, 128, 384},       {"mnist-fc1", 64, 128, 512},       {"mnist-fc2", 64, 512, 128},
      {"cifar100-qkv", 256, 256, 768},   {"cifar100-fc1", 256, 256, 1024},  {"cifar100-fc2", 256, 1024, 256},
      {"imagenet-proj", 197, 768, 768},  {"imagenet-qkv", 197, 768, 2304},  {"imagenet-fc1", 197, 768, 3072},
      {"imagenet-fc2", 197, 3072, 768},  {"gpt2-qkv", 128, 768, 2304},      {"gpt2-fc1", 128, 768, 3072},
      {"gpt2-fc2", 128, 3072, 768},      {"gpt2-lm-head", 128, 768, 50257},
      // Decoding: one row.
      {"gpt2-qkv-decode", 1, 768, 2304}, {"gpt2-fc1-decode", 1, 768, 3072}, {"gpt2-fc2-decode", 1, 3072, 768},
      {"gpt2-lm-head-decode", 1, 768, 50257},
  };
}

void bm_dense(benchmark::State& state, DenseShape s, size_t threads) {
  if (!xnn_ready()) return state.SkipWithError("xnn_initialize failed");
  Dense fc(s.in, s.out, 7);
  if (!fc.op) return state.SkipWithError("xnn_create_fully_connected_nc_f32 failed");
  ThreadPool tp(threads);
  std::vector<float> x = random_vector(s.rows * s.in, 1.0f, 8), y(s.rows * s.out);
  for (auto _ : state) {
    if (!fc.run(s.rows, x.data(), y.data(), tp.pool)) return state.SkipWithError("XNNPACK run failed");
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * double(s.rows * s.in * s.out) + double(s.rows * s.out));
}

// The kernel path's own GEMM on the same shapes (one thread; weights packed
// outside the timed loop, as at prepare), so the choice between it and
// XNNPACK per layer is measured, not guessed. fc1 layers apply GELU in the
// epilogue, as the models do; its operations are not counted as FLOPs.
void bm_gemm(benchmark::State& state, const Kernels* kern, DenseShape s) {
  const std::vector<float> w = random_vector(s.in * s.out, 1.0f / std::sqrt(float(s.in)), 7);
  const std::vector<float> bias = random_vector(s.out, 0.02f, 8);
  AlignedFloats packed(kern->gemm_packed_floats(s.out, s.in));
  kern->gemm_pack(w.data(), s.out, s.in, packed.p);
  std::vector<float> x = random_vector(s.rows * s.in, 1.0f, 8), y(s.rows * s.out);
  const size_t panels = (s.out + kern->gemm_panel - 1) / kern->gemm_panel;
  const attn::Epilogue epilogue = std::strstr(s.name, "fc1") ? attn::Epilogue::Gelu : attn::Epilogue::None;
  for (auto _ : state) {
    kern->gemm(x.data(), s.in, s.rows, s.in, packed.p, bias.data(), epilogue, nullptr, y.data(), s.out, s.out, 0,
               panels);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * double(s.rows * s.in * s.out) + double(s.rows * s.out));
}

// The GEMM on the weights in place ([out, in] as a model stores them, no
// packing), on the same shapes and epilogues: the policy between it and the
// packed GEMM above is measured here.
void bm_gemm_nt(benchmark::State& state, const Kernels* kern, DenseShape s) {
  const std::vector<float> w = random_vector(s.in * s.out, 1.0f / std::sqrt(float(s.in)), 7);
  const std::vector<float> bias = random_vector(s.out, 0.02f, 8);
  std::vector<float> x = random_vector(s.rows * s.in, 1.0f, 8), y(s.rows * s.out);
  const attn::Epilogue epilogue = std::strstr(s.name, "fc1") ? attn::Epilogue::Gelu : attn::Epilogue::None;
  for (auto _ : state) {
    kern->gemm_nt(x.data(), s.in, s.rows, s.in, w.data(), s.in, bias.data(), epilogue, nullptr, y.data(), s.out, 0,
                  s.out);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * double(s.rows * s.in * s.out) + double(s.rows * s.out));
}

// One whole attention layer as the runtime runs it: the fused projection
// (XNNPACK, [Q|K|V] / [Q|K] / [Q]), the core (token mixing for super), and the
// output projection. The variants differ here by the matrix products they drop.
void bm_attention_layer(benchmark::State& state, const Kernels* kern, AttentionShape s, std::string variant) {
  if (!xnn_ready()) return state.SkipWithError("xnn_initialize failed");
  AttentionBuffers b(s, variant);
  Dense proj(s.d, b.proj * s.d, 11), out_proj(s.d, s.d, 13);
  if (!proj.op || !out_proj.op) return state.SkipWithError("xnn_create_fully_connected_nc_f32 failed");
  std::vector<float> y(s.n * s.d);
  for (auto _ : state) {
    if (!proj.run(s.n, b.x.data(), b.qkv.data(), nullptr)) return state.SkipWithError("XNNPACK run failed");
    b.run(*kern, s.causal);
    if (!out_proj.run(s.n, b.out.data(), y.data(), nullptr)) return state.SkipWithError("XNNPACK run failed");
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double nd = double(s.n * s.d);
  set_flops(state, double(b.proj + 1) * (2.0 * nd * double(s.d) + nd) + attention_core_flops(s, variant, s.d / s.h));
}

// --- Elementwise ----------------------------------------------------------

struct RowsCols {
  const char* name;
  size_t rows, cols;
};

void bm_layernorm(benchmark::State& state, const Kernels* kern, RowsCols s) {
  std::vector<float> x = random_vector(s.rows * s.cols, 1.0f, 21), y(s.rows * s.cols);
  std::vector<float> g = random_vector(s.cols, 1.0f, 22), b = random_vector(s.cols, 0.1f, 23);
  for (auto _ : state) {
    kern->layernorm(x.data(), y.data(), s.rows, s.cols, g.data(), b.data(), 1e-6f);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, 8.0 * double(s.rows * s.cols));
}

// The activation kernels work in place; each iteration first copies fresh
// inputs (a memcpy of the same size is included in the time), so repeated
// application does not drift into denormals. The copy's destination sits half
// a page past a page multiple from its source: glibc's memcpy (rep movsb) on
// AMD Zen 3 runs about 20 times slower when the two are within 64 bytes of a
// multiple of 4 KiB, which once made the copy most of the measured time.
void bm_activation(benchmark::State& state, const Kernels* kern, RowsCols s, std::string which) {
  const size_t count = s.rows * s.cols;
  constexpr size_t kPageFloats = 1024;
  const size_t gap = (count + kPageFloats - 1) / kPageFloats * kPageFloats + kPageFloats / 2;
  AlignedFloats buffer(gap + count);
  const std::vector<float> init = random_vector(count, 1.0f, 31);
  float* src = buffer.p;
  float* x = buffer.p + gap;
  std::copy(init.begin(), init.end(), src);
  auto fn = which == "gelu" ? kern->gelu : kern->gelu_tanh;
  for (auto _ : state) {
    std::memcpy(x, src, count * sizeof(float));
    fn(x, count);
    benchmark::DoNotOptimize(x);
    benchmark::ClobberMemory();
  }
  set_flops(state, (which == "gelu" ? 5.0 : 9.0) * double(count));
  state.counters["elements"] = benchmark::Counter(double(count), benchmark::Counter::kIsIterationInvariantRate,
                                                  benchmark::Counter::OneK::kIs1000);
}

void register_all() {
  size_t path_count = 0;
  const Kernels* const* paths = attn::available_kernel_paths(&path_count);
  const auto shapes = attention_shapes();
  const std::vector<RowsCols> ln_shapes = {{"imdb", 32, 32},       {"amazon", 64, 64},      {"mnist", 64, 128},
                                           {"cifar100", 256, 256}, {"imagenet", 197, 768},  {"gpt2-prefill128", 128, 768}};
  const std::vector<RowsCols> act_shapes = {{"imdb", 32, 128},         {"amazon", 64, 256},       {"mnist", 64, 512},
                                            {"cifar100", 256, 1024},   {"imagenet", 197, 3072},   {"gpt2-prefill128", 128, 3072}};
  for (size_t p = 0; p < path_count; ++p) {
    const Kernels* k = paths[p];
    const std::string path = k->path;
    for (const auto& s : shapes)
      for (const char* v : kVariants)
        benchmark::RegisterBenchmark(("attention/" + path + "/" + v + "/" + shape_suffix(s)).c_str(),
                                     bm_attention_core, k, s, std::string(v));
    for (const auto& s : shapes)
      if (std::string(s.name) != "sweepL" && std::string(s.name) != "sweepd")
        benchmark::RegisterBenchmark(("softmax/" + path + "/" + shape_suffix(s)).c_str(), bm_softmax, k, s);
    for (const auto& s : shapes)
      benchmark::RegisterBenchmark(("token_mix/" + path + "/" + shape_suffix(s)).c_str(), bm_token_mix, k, s);
    for (size_t positions : {128, 512, 1024})
      benchmark::RegisterBenchmark(("attention_decode/" + path + "/gpt2/positions:" + std::to_string(positions)).c_str(),
                                   bm_attention_decode, k, positions);
    for (const auto& s : shapes)
      if (std::string(s.name) != "sweepL" && std::string(s.name) != "sweepd")
        for (const char* v : kVariants)
          benchmark::RegisterBenchmark(("attention_layer/" + path + "/" + v + "/" + shape_suffix(s)).c_str(),
                                       bm_attention_layer, k, s, std::string(v));
    for (const auto& s : ln_shapes) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "/%s/rows:%zu/cols:%zu", s.name, s.rows, s.cols);
      benchmark::RegisterBenchmark(("layernorm/" + path + buf).c_str(), bm_layernorm, k, s);
    }
    for (const auto& s : act_shapes)
      for (const char* which : {"gelu", "gelu_tanh"}) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "/%s/rows:%zu/cols:%zu", s.name, s.rows, s.cols);
        benchmark::RegisterBenchmark((std::string(which) + "/" + path + buf).c_str(), bm_activation, k, s,
                                     std::string(which));
      }
  }
  for (size_t p = 0; p < path_count; ++p)
    if (paths[p]->gemm)
      for (const auto& s : dense_shapes()) {
        char buf[128];
        std::snprintf(buf, sizeof buf, "dense/gemm-%s/%s/rows:%zu/in:%zu/out:%zu", paths[p]->path, s.name, s.rows,
                      s.in, s.out);
        benchmark::RegisterBenchmark(buf, bm_gemm, paths[p], s);
        std::snprintf(buf, sizeof buf, "dense/gemm_nt-%s/%s/rows:%zu/in:%zu/out:%zu", paths[p]->path, s.name,
                      s.rows, s.in, s.out);
        benchmark::RegisterBenchmark(buf, bm_gemm_nt, paths[p], s);
      }
  for (const auto& s : dense_shapes())
    for (size_t threads : {1, 2}) {
      char buf[128];
      std::snprintf(buf, sizeof buf, "dense/xnnpack/%s/rows:%zu/in:%zu/out:%zu/threads:%zu", s.name, s.rows, s.in,
                    s.out, threads);
      auto* b = benchmark::RegisterBenchmark(buf, bm_dense, s, threads);
      b->UseRealTime();
    }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  size_t path_count = 0;
  const Kernels* const* paths = attn::available_kernel_paths(&path_count);
  std::string names;
  for (size_t p = 0; p < path_count; ++p) names += std::string(p ? ", " : "") + paths[p]->path;
  benchmark::AddCustomContext("attn_kernel_paths", names);
  benchmark::AddCustomContext("attn_default_kernel_path", attn::kernels().path);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
