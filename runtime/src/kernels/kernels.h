// Kernels for what XNNPACK does not do: attention core, token mixing,
// LayerNorm, activations, adds. One table of function pointers per
// instruction-set path; the path is chosen once, at first use.
#pragma once

#include <cstddef>
#include <cstdint>

namespace attn {

// Attention heads side by side: for each head h, out[t] = softmax(scale ·
// q[t]·k[s] + mask) · v[s] on the h-th `dim` floats of every row of q, k, v
// and out. When causal, query row t sees keys s ≤ t + q_offset (decoding after
// a cache). Rows are `*_stride` floats apart.
struct AttentionHeadArgs {
  const float* q;
  const float* k;
  const float* v;
  float* out;
  size_t q_stride, k_stride, v_stride, out_stride;
  size_t n;                     // keys
  size_t row_begin, row_end;    // the query rows to compute
  size_t q_offset;              // query row t is at position t + q_offset (t + q_offset < n)
  size_t dim;                   // head width
  float scale;
  bool causal;
  const uint8_t* key_masked;  // n flags (1 = padding key), or null
  float* scratch;             // heads · attention_scratch_floats(n, dim) floats, 64-byte aligned
  size_t heads = 1;
};

// The most query rows a path's attention_heads scores at a time.
constexpr size_t kMaxAttentionRows = 8;

// The scratch attention_heads needs per head: room for Kᵀ, the rows of
// scores, a row of key-mask terms and a packed copy of V, each padded to 32
// floats (two vectors of the widest path).
inline size_t attention_scratch_floats(size_t n, size_t dim) {
  return (n + 31) / 32 * 32 * (2 * dim + kMaxAttentionRows + 1);
}

// Heads [first, first + count) of a, as a call of their own: their columns
// and their part of the scratch.
inline AttentionHeadArgs head_range(const AttentionHeadArgs& a, size_t first, size_t count) {
  AttentionHeadArgs r = a;
  const size_t offset = first * a.dim;
  r.q += offset, r.k += offset, r.v += offset, r.out += offset;
  r.scratch += first * attention_scratch_floats(a.n, a.dim);
  r.heads = count;
  return r;
}

enum class Epilogue { None, Gelu, GeluTanh, Relu };

struct Kernels {
  const char* path;  // "scalar", "avx2", "avx512"
  // y[r] = (x[r] - mean) / sqrt(var + eps) · gamma + beta, rows of `cols`.
  void (*layernorm)(const float* x, float* y, size_t rows, size_t cols, const float* gamma, const float* beta,
                    float eps);
  void (*gelu)(float* x, size_t count);       // exact (erf)
  void (*gelu_tanh)(float* x, size_t count);  // tanh approximation
  void (*add)(const float* a, const float* b, float* y, size_t count);
  // Many query rows take the heads one at a time (keys transposed, blocks of
  // rows); a few (decoding) read each key and value row once, across all the
  // heads, in memory order: the cache then streams from memory instead of
  // being fetched a head's few lines at a time.
  void (*attention_heads)(const AttentionHeadArgs& args);
  // Super attention's token mixing, rows [row_begin, row_end) of
  // y[t] = Σ_s w[t, s] x[s] + bias[t] over s < n; w rows are w_stride apart,
  // x and y rows `cols` apart, bias may be null. When causal, w must be zero
  // above the diagonal (sessions check it at prepare) and sources s > t are
  // skipped where that saves work.
  void (*token_mix)(const float* w, size_t w_stride, const float* bias, const float* x, float* y, size_t n,
                    size_t row_begin, size_t row_end, size_t cols, bool causal);

  // Dense layers, where the path has its own GEMM (null otherwise: XNNPACK
  // serves). Weights W [n, k] (a dense layer's [out, in]) are packed once
  // into column panels of gemm_panel columns: gemm_packed_floats(n, k)
  // floats, 64-byte aligned.
  size_t gemm_panel;
  size_t (*gemm_packed_floats)(size_t n, size_t k);
  void (*gemm_pack)(const float* w, size_t n, size_t k, float* packed);
  // c[m, n] = epilogue(a[m, k] · Wᵀ + bias) + residual for the columns of
  // panels [panel_begin, panel_end); rows of a and c are a_stride and
  // c_stride apart, and so are residual's; bias and residual may be null.
  // residual must not overlap c: c holds partial sums between depth blocks.
  void (*gemm)(const float* a, size_t a_stride, size_t m, size_t k, const float* packed, const float* bias,
               Epilogue epilogue, const float* residual, float* c, size_t c_stride, size_t n, size_t panel_begin,
               size_t panel_end);
  // The same product on W where it is stored, [n, k] row-major with rows
  // w_stride floats apart (unaligned; a mapped model file), for the columns
  // [col_begin, col_end): no packing, no copy. Callers split the columns in
  // multiples of gemm_nt_columns. The same rules for a, c, bias and residual.
  size_t gemm_nt_columns;
  void (*gemm_nt)(const float* a, size_t a_stride, size_t m, size_t k, const float* w, size_t w_stride,
                  const float* bias, Epilogue epilogue, const float* residual, float* c, size_t c_stride,
                  size_t col_begin, size_t col_end);
  // The smallest layer (in_features, and in_features · out_features) on which
  // this GEMM measured faster than XNNPACK on one thread (bench_kernels
  // dense/): smaller layers go to XNNPACK.
  size_t gemm_min_in_features;
  size_t gemm_min_weights;
};

// The table for the best path this CPU supports, or the one named by the
// ATTN_KERNEL_PATH environment variable ("scalar", "avx2", "avx512") when it
// is supported.
const Kernels& kernels();

// The available path called `name` (a session's options.kernel_path), or
// kernels() when name is null. Throws attn::Error naming the paths there are.
const Kernels& kernels_by_name(const char* name);

// Every path compiled into this build and supported by this CPU (scalar
// first). Tests run each against the scalar reference.
const Kernels* const* available_kernel_paths(size_t* count);

const Kernels& scalar_kernels();
#if defined(__x86_64__)
const Kernels& avx2_kernels();
const Kernels& avx512_kernels();
#endif

}  // namespace attn
