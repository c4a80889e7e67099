// A dense layer y = act(x · Wᵀ + b) (+ residual), the matrix product that
// Dense, PatchEmbed and Attention's projections share. Its weight's dtype
// and size choose how it runs: XNNPACK's fully connected operator, or the
// kernel path's own GEMM, on f32 weights where the model holds them or on
// weights packed once per model.
#pragma once

#include <cstddef>

#include "operator.h"
#include "xnnpack_dense.h"

namespace attn {

// One GEMM, c[m, n] = epilogue(a[m, k] · Wᵀ + bias) + residual, on the
// path's own kernel, split among threads by column panels.
struct GemmCall {
  const float* a;
  size_t a_stride, m, k;
  const float* packed;  // W packed by Kernels::gemm_pack (run_gemm_in_place: W [n, k] as stored)
  const float* bias;
  Epilogue epilogue;
  const float* residual;
  float* c;
  size_t n;
};
void run_gemm(Executor& exec, const GemmCall& call);
// call.packed is W [n, k] as stored. Runs of up to max_rows rows need
// reserve_gemm_in_place(exec, max_rows, k) at prepare: from kStripMinRows
// rows (dense_layer.cc) W is packed a panel at a time into exec's scratch.
void run_gemm_in_place(Executor& exec, const GemmCall& call);
void reserve_gemm_in_place(Executor& exec, size_t max_rows, size_t k);

struct QuantKernels;

class DenseLayer {
 public:
  DenseLayer() = default;
  DenseLayer(const DenseLayer&) = delete;
  DenseLayer& operator=(const DenseLayer&) = delete;

  // Packs tensor `weight` ([out, in]) and takes tensor `bias` (-1: none),
  // for runs of at most `max_rows` rows.
  void prepare(const PrepareContext& context, int weight, int bias, Activation activation, size_t max_rows);
  void run(Executor& exec, size_t rows, const float* in, float* out, const float* residual = nullptr);
  size_t in_features() const { return in_features_; }
  size_t out_features() const { return out_features_; }

 private:
  void prepare_quantized(const PrepareContext& context, int weight, size_t max_rows);
  void run_quantized(Executor& exec, size_t rows, const float* in, float* out, const float* residual);

  size_t in_features_ = 0, out_features_ = 0;
  WeightType type_ = WeightType::F32;
  const QuantKernels* quant_ = nullptr;  // F16, Q8, Q4: the path's kernels, on packed_
  Activation activation_ = Activation::None;
  const float* bias_ = nullptr;
  const void* packed_ = nullptr;   // own or quantized GEMM: the model's shared packing, or W itself
  bool in_place_ = false;          // packed_ is W [out, in] as the model holds it
  XnnpackDense xnnpack_;           // otherwise XNNPACK's operator
};

// The same epilogue as an activation (a fused GEMM's last step).
Epilogue epilogue_of(Activation activation);

}  // namespace attn
