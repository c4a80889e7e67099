#include "dense_layer.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "../error.h"
#include "../kernels/quant/quant_kernels.h"
#include "xnnpack_dense.h"

namespace attn {

namespace {

// options.dense, or when it is AUTO the ATTN_DENSE environment variable
// (xnnpack, gemm, packed or inplace), forces one backend for every layer.
attn_dense_backend dense_backend(attn_dense_backend dense) {
  static const attn_dense_backend forced = [] {
    const std::string v = std::getenv("ATTN_DENSE") ? std::getenv("ATTN_DENSE") : "";
    return v == "xnnpack" ? ATTN_DENSE_XNNPACK
           : v == "gemm"  ? ATTN_DENSE_GEMM
           : v == "packed" ? ATTN_DENSE_GEMM_PACKED
           : v == "inplace" ? ATTN_DENSE_GEMM_IN_PLACE
                            : ATTN_DENSE_AUTO;
  }();
  return dense == ATTN_DENSE_AUTO ? forced : dense;
}

// Layers use the kernel path's own GEMM where it has one and the layer is at
// least the size from which it measured faster than XNNPACK (the path's
// gemm_min_*). With several threads every layer does, so that all work goes
// through the same worker pool.
bool use_own_gemm(const Kernels& k, size_t in_features, size_t out_features, size_t threads,
                  attn_dense_backend dense) {
  if (!k.gemm || dense == ATTN_DENSE_XNNPACK) return false;
  return dense != ATTN_DENSE_AUTO || threads > 1 ||
         (in_features >= k.gemm_min_in_features && in_features * out_features >= k.gemm_min_weights);
}

// An f32 model whose weights total more than this reads them in place on the
// own GEMM; a smaller one has them packed. Measured on one Zen 5 core (avx512,
// bench_kernels dense/gemm vs dense/gemm_nt, medians of 3 interleaved,
// 2026-12-02, on a shared machine): the in-place GEMM took 1.2-1.75 times the
// packed one's time on GPT-2's 128-row layers and 1.25-1.7 on the ViT layers
// (whole models: GPT-2's 128-token prefill 1.3 times, the ImageNet ViT 1.56),
// up to 3.2 on the 32-wide text layers, where its horizontal sums weigh most;
// and about the same on one row (decoding: 0.7-1.2, both stream W). Packing
// costs start-up time (GPT-2 124M: 2.6-3.0 s elapsed there against 0.5 ms in
// place) and a second copy of the weights in memory. At 256 MiB every model
// of the paper's shapes (the ImageNet ViT: 220 MiB) stays packed, and GPT-2
// 124M (475 MiB) is used in place: its sessions start in milliseconds and add
// no copy (bench/RESULTS.md, "f32 weights in place").
constexpr size_t kPackedF32WeightsLimit = size_t(256) << 20;

// From this many rows, a layer whose weights are used in place packs them
// one panel at a time as it runs (StripTask); below, gemm_nt reads them.
// Packing is a pass over W that the GEMM does not hide: on GPT-2 124M
// (Zen 5, avx512, one thread) about 30 ms a run for its 498 MB, where
// gemm_nt's extra time is about a third of the GEMM's, which is ~1.25 ms
// per row. They meet near 80 rows; prefills alternated (a busy machine,
// medians of 4): 128 tokens 401 ms packing panels against 430 gemm_nt, 64
// tokens 261 against 267, 32 tokens slower (81-106 against 69-70).
constexpr size_t kStripMinRows = 64;

// Whether an f32 layer on the own GEMM reads its weights where the model
// holds them (the file mapping, or the loaded copy) rather than packed.
bool f32_in_place(const Kernels& k, const Model& m, attn_dense_backend dense) {
  if (!k.gemm_nt || dense == ATTN_DENSE_GEMM_PACKED) return false;
  return dense == ATTN_DENSE_GEMM_IN_PLACE || m.f32_weight_bytes > kPackedF32WeightsLimit;
}

enum class F32Backend { Xnnpack, Packed, InPlace };

// Where an f32 layer runs. A build without XNNPACK runs every layer on the
// own GEMM: packed where the path has a packed GEMM and the size asks for it,
// else in place (the scalar path has only the in-place one).
F32Backend f32_backend(const Kernels& k, const Model& m, size_t in_features, size_t out_features, size_t threads,
                       attn_dense_backend requested) {
  const attn_dense_backend dense = dense_backend(requested);
  if (!xnnpack_built()) {
    if (dense == ATTN_DENSE_XNNPACK)
      fail(ATTN_ERROR_INVALID_ARGUMENT, "the dense backend is XNNPACK, which this build leaves out (ATTN_WITH_XNNPACK=OFF)");
  } else if (!use_own_gemm(k, in_features, out_features, threads, dense)) {
    return F32Backend::Xnnpack;
  }
  if (!k.gemm) return F32Backend::InPlace;
  return f32_in_place(k, m, dense) ? F32Backend::InPlace : F32Backend::Packed;
}

struct GemmTask {
  const Kernels* kernels;
  GemmCall call;
  size_t panels_per_item, panels;
  static void run(void* context, size_t item) {
    auto* t = static_cast<GemmTask*>(context);
    const GemmCall& g = t->call;
    const size_t first = item * t->panels_per_item;
    t->kernels->gemm(g.a, g.a_stride, g.m, g.k, g.packed, g.bias, g.epilogue, g.residual, g.c, g.n, g.n, first,
                     std::min(t->panels, first + t->panels_per_item));
  }
};

}  // namespace

Epilogue epilogue_of(Activation activation) {
  switch (activation) {
    case Activation::None: return Epilogue::None;
    case Activation::Gelu: return Epilogue::Gelu;
    case Activation::GeluTanh: return Epilogue::GeluTanh;
    case Activation::Relu: return Epilogue::Relu;
  }
  return Epilogue::None;
}

namespace {

// Runs task(context, item) over the `panels` column panels of an [m, k] ·
// [k, n] product, on the workers when it is worth it, in small items so that
// a late worker leaves little for the others to wait on. *panels_per_item is
// set before the first item runs.
void for_each_panel_group(Executor& exec, size_t m, size_t k, size_t n, size_t panels, size_t* panels_per_item,
                          WorkerPool::Task task, void* context) {
  const bool split = exec.parallel(2.0 * double(m) * double(k) * double(n));
  *panels_per_item = split ? std::max<size_t>(1, panels / (4 * exec.threads())) : panels;
  exec.for_each(split, task, context, (panels + *panels_per_item - 1) / *panels_per_item);
}

}  // namespace

void run_gemm(Executor& exec, const GemmCall& call) {
  const Kernels& k = exec.kernels();
  GemmTask task{&k, call, 0, (call.n + k.gemm_panel - 1) / k.gemm_panel};
  for_each_panel_group(exec, call.m, call.k, call.n, task.panels, &task.panels_per_item, &GemmTask::run, &task);
}

namespace {

// The in-place GEMM's columns in groups of gemm_nt_columns, as run_gemm's panels.
struct GemmNtTask {
  const Kernels* kernels;
  GemmCall call;  // packed: W [n, k] as stored
  size_t groups_per_item;
  static void run(void* context, size_t item) {
    auto* t = static_cast<GemmNtTask*>(context);
    const GemmCall& g = t->call;
    const size_t width = t->groups_per_item * t->kernels->gemm_nt_columns, begin = item * width;
    t->kernels->gemm_nt(g.a, g.a_stride, g.m, g.k, g.packed, g.k, g.bias, g.epilogue, g.residual, g.c, g.n, begin,
                        std::min(g.n, begin + width));
  }
};

// With many rows the weights are packed as they are used instead: each
// panel of W (gemm_panel columns, from where the model holds them) is packed
// into its thread's part of the executor's scratch, then the packed GEMM
// runs on it. Packing a panel is one pass over its weights, against 2·rows
// FLOPs per weight, and the packed GEMM has no horizontal sums. A few rows
// (decoding) read each weight once either way: they take gemm_nt. See
// kStripMinRows for what it measured.
struct StripTask {
  const Kernels* kernels;
  GemmCall call;  // packed: W [n, k] as stored
  char* scratch;  // strip_bytes(k) per thread of the executor
  size_t strip_bytes, panels, panels_per_item;
  static void run(void* context, size_t item) {
    auto* t = static_cast<StripTask*>(context);
    const Kernels& k = *t->kernels;
    const GemmCall& g = t->call;
    auto* strip = reinterpret_cast<float*>(t->scratch + WorkerPool::thread_index() * t->strip_bytes);
    const size_t first = item * t->panels_per_item, last = std::min(t->panels, first + t->panels_per_item);
    for (size_t p = first; p < last; ++p) {
      const size_t begin = p * k.gemm_panel, width = std::min(k.gemm_panel, g.n - begin);
      k.gemm_pack(g.packed + begin * g.k, width, g.k, strip);
      k.gemm(g.a, g.a_stride, g.m, g.k, strip, g.bias ? g.bias + begin : nullptr, g.epilogue,
             g.residual ? g.residual + begin : nullptr, g.c + begin, g.n, width, 0, 1);
    }
  }
};

size_t strip_bytes(const Kernels& k, size_t in_features) {
  return (k.gemm_packed_floats(k.gemm_panel, in_features) * sizeof(float) + 63) / 64 * 64;
}

bool packs_strips(const Kernels& k, size_t rows) { return k.gemm && rows >= kStripMinRows; }

}  // namespace

void reserve_gemm_in_place(Executor& exec, size_t max_rows, size_t k) {
  if (packs_strips(exec.kernels(), max_rows)) exec.reserve_scratch(exec.threads() * strip_bytes(exec.kernels(), k));
}

void run_gemm_in_place(Executor& exec, const GemmCall& call) {
  const Kernels& k = exec.kernels();
  if (packs_strips(k, call.m)) {
    StripTask task{&k, call, static_cast<char*>(exec.scratch()), strip_bytes(k, call.k),
                   (call.n + k.gemm_panel - 1) / k.gemm_panel, 0};
    return for_each_panel_group(exec, call.m, call.k, call.n, task.panels, &task.panels_per_item, &StripTask::run,
                                &task);
  }
  GemmNtTask task{&k, call, 0};
  const size_t groups = (call.n + k.gemm_nt_columns - 1) / k.gemm_nt_columns;
  for_each_panel_group(exec, call.m, call.k, call.n, groups, &task.groups_per_item, &GemmNtTask::run, &task);
}

// Weights are packed here: by XNNPACK for this session, or for the own GEMM
// once per model, shared by its sessions; or the own GEMM reads them in place
// (f32_in_place).
void DenseLayer::prepare(const PrepareContext& context, int weight, int bias, Activation activation,
                         size_t max_rows) {
  const Model& m = context.model;
  const ConstTensor& w = m.tensors[size_t(weight)];
  out_features_ = size_t(w.shape[0]);
  in_features_ = size_t(w.shape[1]);
  activation_ = activation;
  bias_ = bias >= 0 ? m.tensors[size_t(bias)].floats() : nullptr;
  const Kernels& k = context.executor.kernels();
  type_ = w.type;
  if (type_ != WeightType::F32) return prepare_quantized(context, weight, max_rows);
  const F32Backend backend =
      f32_backend(k, m, in_features_, out_features_, context.executor.threads(), context.dense);
  if (backend == F32Backend::InPlace) {
    in_place_ = true;
    packed_ = w.floats();  // where the model holds it: the file mapping, or the loaded copy
    reserve_gemm_in_place(context.executor, max_rows, in_features_);
  } else if (backend == F32Backend::Packed) {
    const size_t n = out_features_, depth = in_features_;
    packed_ = m.packed_weights.get(&k, weight, w, k.gemm_packed_floats(n, depth) * sizeof(float),
                                   [&](void* packed) { k.gemm_pack(w.floats(), n, depth, static_cast<float*>(packed)); },
                                   m.bytes->mapped());
  } else {
    xnnpack_.create(w.floats(), bias_, in_features_, out_features_, activation == Activation::Relu, w.name);
  }
}

void DenseLayer::run(Executor& exec, size_t rows, const float* in, float* out, const float* residual) {
  const Kernels& k = exec.kernels();
  if (quant_) return run_quantized(exec, rows, in, out, residual);
  if (packed_) {
    // Activations and the residual are fused: their time counts as dense.
    exec.timed(ATTN_OP_CLASS_DENSE, [&] {
      (in_place_ ? run_gemm_in_place : run_gemm)(exec, {in, in_features_, rows, in_features_, static_cast<const float*>(packed_), bias_, epilogue_of(activation_), residual, out,
                      out_features_});
    });
    return;
  }
  exec.timed(ATTN_OP_CLASS_DENSE, [&] { xnnpack_.run(exec, rows, in, out); });
  const size_t count = rows * out_features_;
  if (activation_ == Activation::Gelu) exec.timed(ATTN_OP_CLASS_ACTIVATION, [&] { k.gelu(out, count); });
  if (activation_ == Activation::GeluTanh) exec.timed(ATTN_OP_CLASS_ACTIVATION, [&] { k.gelu_tanh(out, count); });
  // ReLU is XNNPACK's output clamp.
  if (residual) exec.timed(ATTN_OP_CLASS_OTHER, [&] { k.add(out, residual, out, count); });
}

}  // namespace attn

// Quantized weights run on the path's quantized kernels (kernels/quant/):
// F16 with float activations, Q8, Q4 and Q8C on activations quantized into
// the executor's scratch first, with scales where the weights have theirs
// (per block of 32, or per row for Q8C).
namespace attn {

namespace {

struct QuantGemmTask {
  const QuantKernels* q;
  WeightType type;
  const float* a;  // F16
  const void* qa;  // Q8, Q4, Q8C
  size_t m, k;
  const void* packed;
  const float* bias;
  Epilogue epilogue;
  const float* residual;
  float* c;
  size_t n, panels_per_item;
  static void run(void* context, size_t item) {
    auto* t = static_cast<QuantGemmTask*>(context);
    const size_t begin = item * t->panels_per_item * kQuantPanel;
    const size_t end = std::min(t->n, begin + t->panels_per_item * kQuantPanel);
    if (t->type == WeightType::F16)
      return t->q->gemm_f16(t->a, t->k, t->m, t->k, t->packed, t->bias, t->epilogue, t->residual, t->c, t->n, t->n,
                            begin, end);
    quant_gemm(*t->q, t->type)(t->qa, t->m, t->k, t->packed, t->bias, t->epilogue, t->residual, t->c, t->n, t->n,
                               begin, end);
  }
};

}  // namespace

void DenseLayer::prepare_quantized(const PrepareContext& context, int weight, size_t max_rows) {
  const Model& m = context.model;
  const ConstTensor& w = m.tensors[size_t(weight)];
  const QuantKernels& q = context.executor.quant_kernels();
  quant_ = &q;
  const size_t n = out_features_, k = in_features_;
  const WeightType type = type_;
  packed_ = m.packed_weights.get(&q, weight, w, q.packed_bytes(type, n, k),
                                 [&](void* packed) { q.pack(type, w.data, w.scales, n, k, packed); }, m.bytes->mapped());
  if (type_ != WeightType::F16) context.executor.reserve_scratch(quantized_rows_bytes(max_rows, k));
}

void DenseLayer::run_quantized(Executor& exec, size_t rows, const float* in, float* out, const float* residual) {
  QuantGemmTask task{quant_, type_, in, exec.scratch(), rows, in_features_, packed_, bias_, epilogue_of(activation_),
                     residual, out, out_features_, 0};
  exec.timed(ATTN_OP_CLASS_DENSE, [&] {
    if (type_ != WeightType::F16)
      quant_->quantize_rows(in, in_features_, rows, in_features_, traits_of(type_).scales, exec.scratch());
    const size_t panels = (out_features_ + kQuantPanel - 1) / kQuantPanel;
    for_each_panel_group(exec, rows, in_features_, out_features_, panels, &task.panels_per_item, &QuantGemmTask::run,
                         &task);
  });
}

}  // namespace attn
