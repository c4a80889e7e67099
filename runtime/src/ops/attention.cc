#include "attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "../model_limits.h"
#include "../shared/shape_text.h"

namespace attn {

namespace {

constexpr size_t kMaskAlign = 16;  // floats: the key mask bytes keep what follows 64-byte aligned

size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

// This run's rows of each source a variant reads keys and values from: the
// layer input X, the stacked projection (Q, then K and V where projected) and
// the mixed values.
struct AttentionRows {
  const float* x;
  const float* proj;
  const float* mixed;
  size_t d, projections;
  size_t proj_stride() const { return projections * d; }
  struct Rows {
    const float* data;
    size_t stride;
  };
  Rows of(RowSource source) const {
    switch (source) {
      case RowSource::KeyProjection:
      case RowSource::ValueProjection: return {proj + VariantTraits::block_of(source) * d, proj_stride()};
      case RowSource::Mixed: return {mixed, d};
      case RowSource::Input: break;
    }
    return {x, d};
  }
};

// Heads in `groups` equal ranges, one range per item: one range on a single
// thread, so that decoding reads each cached row across every head.
struct HeadTask {
  const Kernels* kernels;
  AttentionHeadArgs all;
  size_t groups;
  static void run(void* context, size_t group) {
    auto* task = static_cast<HeadTask*>(context);
    const size_t heads = task->all.heads, first = group * heads / task->groups;
    const size_t end = (group + 1) * heads / task->groups;
    task->kernels->attention_heads(head_range(task->all, first, end - first));
  }
};

}  // namespace

// What a full run and a cached run differ in: where keys and values are, how
// many, and which query rows at which positions.
struct AttentionOp::Heads {
  const float* q;
  size_t q_stride;
  AttentionRows::Rows keys, values;
  float* out;
  size_t keys_count, queries, q_offset;
  bool causal;
  const uint8_t* key_masked;
  float* scratch;  // heads × attention_scratch_floats(keys_count, head_dim) floats
};

AttentionOp::AttentionOp(const OpInfo& op)
    : Operator(op), variant_(traits_of(op.variant)), d_(size_t(op.heads) * size_t(op.head_dim)) {
  if (variant_.token_mixing()) mixing_.emplace(op_, d_);
}

size_t AttentionOp::longest(const Model& m) const {
  return std::max(size_t(m.values[size_t(op_.inputs[0])].max_shape[0]), size_t(m.max_tokens));
}

OpNeeds AttentionOp::needs(const Model& m, const Kernels& k) const {
  const size_t rows = size_t(m.values[size_t(op_.inputs[0])].max_shape[0]);
  OpNeeds needs;
  needs.scratch[0] = rows * d_ * size_t(variant_.projections());   // the stacked projection
  needs.scratch[1] = rows * d_ + (mixing_ ? rows * d_ : 0);         // the heads' outputs, the mixed values
  // Per head, the kernel's scratch; then the key mask bytes; then Super's x
  // packed for the GEMM.
  needs.scratch[2] = size_t(op_.heads) * attention_scratch_floats(longest(m), size_t(op_.head_dim)) +
                     round_up(rows, kMaskAlign) + (mixing_ ? mixing_->scratch_floats(k, rows) : 0);
  if (op_.causal) {
    needs.cache = size_t(m.max_tokens) * d_ * (variant_.values_are_keys() ? 1 : 2);
    needs.cache_row = d_;
  }
  return needs;
}

void AttentionOp::prepare(const PrepareContext& context) {
  if (mixing_) mixing_->prepare(context.model);
  const size_t rows = size_t(context.model.values[size_t(op_.inputs[0])].max_shape[0]);
  projection_.prepare(context, op_.weight, op_.bias, Activation::None, rows);
  output_.prepare(context, op_.out_weight, op_.out_bias, Activation::None, rows);
}

void AttentionOp::run_heads(Executor& exec, const Heads& h) const {
  AttentionHeadArgs a;
  a.q = h.q, a.q_stride = h.q_stride;
  a.k = h.keys.data, a.k_stride = h.keys.stride;
  a.v = h.values.data, a.v_stride = h.values.stride;
  a.out = h.out, a.out_stride = d_;
  a.n = h.keys_count;
  a.row_begin = 0, a.row_end = h.queries;
  a.q_offset = h.q_offset;
  a.dim = size_t(op_.head_dim);
  a.scale = op_.scale;
  a.causal = h.causal;
  a.key_masked = h.key_masked;
  a.scratch = h.scratch;
  a.heads = size_t(op_.heads);
  exec.timed(ATTN_OP_CLASS_ATTENTION, [&] {
    const double flops = 4.0 * double(h.keys_count) * double(h.queries) * double(d_);
    const bool parallel = exec.parallel(flops);
    HeadTask task{&exec.kernels(), a, parallel ? std::min(a.heads, exec.threads()) : 1};
    exec.for_each(parallel, &HeadTask::run, &task, task.groups);
  });
}

void AttentionOp::run(const Model& m, Executor& exec, const RunState& state, const OpBuffers& b) {
  const size_t n = state.rows(m, op_.inputs[0]);
  const float* x = b.in[0];
  float* proj = b.scratch[0];
  float* heads_out = b.scratch[1];
  float* mixed = b.scratch[1] + n * d_;
  const size_t scratch_per_head = attention_scratch_floats(longest(m), size_t(op_.head_dim));
  float* after_heads = b.scratch[2] + size_t(op_.heads) * scratch_per_head;
  uint8_t* key_masked = nullptr;
  if (op_.pad_id >= 0) {
    const int32_t* ids = reinterpret_cast<const int32_t*>(b.in[1]);
    count_real_tokens(ids, n, op_.pad_id, "attention");
    key_masked = reinterpret_cast<uint8_t*>(after_heads);
    for (size_t t = 0; t < n; ++t) key_masked[t] = ids[t] == op_.pad_id;
  }

  projection_.run(exec, n, x, proj);
  if (b.cache) {
    run_cached(m, exec, state, b, x, proj, heads_out);
  } else {
    if (mixing_) {
      float* packed = after_heads + round_up(n, kMaskAlign);
      exec.timed(ATTN_OP_CLASS_ATTENTION, [&] { mixing_->run(exec, x, mixed, n, 0, n, op_.causal, packed); });
    }
    const AttentionRows rows{x, proj, mixed, d_, size_t(variant_.projections())};
    run_heads(exec, {proj, rows.proj_stride(), rows.of(variant_.keys), rows.of(variant_.values), heads_out, n, n, 0,
                     op_.causal, key_masked, b.scratch[2]});
  }
  output_.run(exec, n, heads_out, b.out, b.residual);
}

// Causal attention over the cache, [L, d] of keys then (unless they are the
// keys) [L, d] of values: the new tokens' keys and values are appended at
// state.offset, then their queries attend to every cached token.
void AttentionOp::run_cached(const Model& model, Executor& exec, const RunState& state, const OpBuffers& b,
                             const float* x, const float* proj, float* heads_out) const {
  const size_t m = state.n, first = state.offset, total = first + m;
  const size_t L = size_t(model.max_tokens);
  float* cache_keys = b.cache;
  float* cache_values = variant_.values_are_keys() ? b.cache : b.cache + L * d_;
  const AttentionRows rows{x, proj, nullptr, d_, size_t(variant_.projections())};
  // The new tokens' key rows, and their value rows where those are neither
  // the keys themselves nor mixed (below).
  auto append = [&](RowSource source, float* cache) {
    const auto from = rows.of(source);
    for (size_t t = 0; t < m; ++t) std::memcpy(cache + (first + t) * d_, from.data + t * from.stride, d_ * 4);
  };
  exec.timed(ATTN_OP_CLASS_OTHER, [&] {
    append(variant_.keys, cache_keys);
    if (!variant_.values_are_keys() && !mixing_) append(variant_.values, cache_values);
  });
  // The mixed values of the new tokens, from every cached input row (the
  // keys: variants.h requires Mixed values to have the input as keys).
  if (mixing_)
    exec.timed(ATTN_OP_CLASS_ATTENTION,
               [&] { mixing_->run(exec, cache_keys, cache_values, total, first, total, true, nullptr); });
  run_heads(exec, {proj, rows.proj_stride(), {cache_keys, d_}, {cache_values, d_}, heads_out, total, m, first, true,
                   nullptr, b.scratch[2]});
}

}  // namespace attn

namespace attn {

void AttentionOp::read(const fb::Op& o, OpReader& r) {
  using namespace limits;
  const auto* p = o.options_as_Attention();
  OpInfo& op = r.op();
  const std::string& name = r.name();
  const VariantTraits* variant = variant_with_value(int64_t(p->variant()));
  if (!variant) r.invalid(name + ": unknown attention variant " + std::to_string(int(p->variant())));
  op.variant = variant->variant;
  op.heads = p->heads(), op.head_dim = p->head_dim(), op.scale = p->scale();
  op.causal = p->causal(), op.pad_id = p->pad_id();
  r.need_inputs(op.pad_id >= 0 ? 2 : 1, op.pad_id >= 0 ? 2 : 1);
  const ValueInfo& x = r.input(0);
  if (x.dtype != ATTN_DTYPE_F32 || x.shape.size() != 2) r.invalid(name + ": attention input must be [n, d]");
  const int64_t n = x.shape[0], d = x.shape[1];
  if (op.heads < 1 || op.heads > kMaxHeads || op.head_dim < 1 || int64_t{op.heads} * op.head_dim != d)
    r.invalid(name + ": heads " + std::to_string(op.heads) + " × head_dim " + std::to_string(op.head_dim) +
              " does not equal d = " + std::to_string(d));
  if (!(op.scale > 0) || !std::isfinite(op.scale)) r.invalid(name + ": attention scale must be positive");
  // A causal layer's keys and values are cached by position for decoding,
  // so its rows must be the run's sequence length.
  if (op.causal && n != -1)
    r.invalid(name + ": causal attention input '" + x.name + "' has shape " + shape_text(x.shape) +
              ", expected [-1, d] (causal layers run over the free sequence length)");
  // Padding is masked on the full path only; the decode cache has no mask,
  // so a causal layer with a pad_id would decode something else.
  if (op.causal && op.pad_id >= 0)
    r.invalid(name + ": causal attention with pad_id " + std::to_string(op.pad_id) +
              " is not supported (padding is masked only in non-causal attention)");
  if (op.pad_id >= 0) {
    const ValueInfo& ids = r.input(1);
    if (ids.dtype != ATTN_DTYPE_I32 || ids.shape != std::vector<int64_t>{n})
      r.invalid(name + ": the token-id input must be int32 [n]");
  }
  r.expect_value(r.output(0), ATTN_DTYPE_F32, {n, d});
  const int64_t pd = variant->projections() * d;
  op.weight = r.dense_weight(p->qkv_weight(), "qkv_weight", pd, d);
  op.bias = r.weight(p->qkv_bias(), "qkv_bias", {pd}, false);
  op.out_weight = r.dense_weight(p->out_weight(), "out_weight", d, d);
  op.out_bias = r.weight(p->out_bias(), "out_bias", {d}, true);
  const int64_t L = x.max_shape[0];
  if (variant->token_mixing()) {
    op.align_weight = r.weight(p->align_weight(), "align_weight", {OpReader::kAny, OpReader::kAny}, true);
    const auto& as = r.model().tensors[size_t(op.align_weight)].shape;
    if (as[0] != as[1] || as[0] < L)
      r.invalid(name + ": align_weight has shape " + shape_text(as) + ", expected [L, L] with L >= " + std::to_string(L));
    op.align_bias = r.weight(p->align_bias(), "align_bias", {as[0]}, false);
  } else if (p->align_weight() != -1 || p->align_bias() != -1) {
    r.invalid(name + ": only Super attention has align weights");
  }
}

}  // namespace attn
