// The small ops: token embedding, LayerNorm, Add and pooling. Each is a loop
// over rows around one kernel.
#include <algorithm>
#include <string>

#include "../error.h"
#include "../kernels/quant/quantize.h"
#include "../model_limits.h"
#include "../shared/shape_text.h"
#include "elementwise.h"

namespace attn {

// x[t] = table[id[t]] + pos[offset + t]; a quantized table's row is
// dequantized into x[t] first (a tied LM head shares the table).
void TokenEmbedOp::run(const Model& m, Executor& exec, const RunState& state, const OpBuffers& b) {
  exec.timed(ATTN_OP_CLASS_OTHER, [&] {
    const int32_t* ids = state.decoding ? state.decode_ids : reinterpret_cast<const int32_t*>(b.in[0]);
    const ConstTensor& table = m.tensors[size_t(op_.weight)];
    const float* pos = m.tensors[size_t(op_.pos_embed)].floats();
    const size_t d = size_t(table.shape[1]);
    const WeightTypeTraits& type = traits_of(table.type);
    for (size_t t = 0; t < state.n; ++t) {
      const size_t row = size_t(ids[t]);
      float* x = b.out + t * d;
      const float* from = x;
      if (table.type == WeightType::F32) {
        from = table.floats() + row * d;
      } else {
        const auto* data = static_cast<const uint8_t*>(table.data) + row * type.data_bytes(1, d);
        dequantize_weights(table.type, data, table.scales ? table.scales + row * type.scale_count(1, d) : nullptr, 1, d, x);
      }
      exec.kernels().add(from, pos + (state.offset + t) * d, x, d);
    }
  });
}

void LayerNormOp::run(const Model& m, Executor& exec, const RunState& state, const OpBuffers& b) {
  exec.timed(ATTN_OP_CLASS_NORM, [&] {
    const ConstTensor& gamma = m.tensors[size_t(op_.weight)];
    exec.kernels().layernorm(b.in[0], b.out, state.rows(m, op_.inputs[0]), gamma.count, gamma.floats(),
                             m.tensors[size_t(op_.bias)].floats(), op_.eps);
  });
}

void AddOp::run(const Model& m, Executor& exec, const RunState& state, const OpBuffers& b) {
  exec.timed(ATTN_OP_CLASS_OTHER, [&] {
    const size_t d = size_t(m.values[size_t(op_.inputs[0])].shape.back());
    exec.kernels().add(b.in[0], b.in[1], b.out, state.rows(m, op_.inputs[0]) * d);
  });
}

// The class token's row, or the mean of the rows that are not padding.
void PoolOp::run(const Model& m, Executor& exec, const RunState& state, const OpBuffers& b) {
  exec.timed(ATTN_OP_CLASS_OTHER, [&] {
    const size_t n = state.rows(m, op_.inputs[0]);
    const size_t d = size_t(m.values[size_t(op_.inputs[0])].shape.back());
    const float* x = b.in[0];
    if (op_.pool_cls) {
      std::copy(x, x + d, b.out);
      return;
    }
    const int32_t* ids = op_.pad_id >= 0 ? reinterpret_cast<const int32_t*>(b.in[1]) : nullptr;
    const size_t count = ids ? count_real_tokens(ids, n, op_.pad_id, "mean pooling") : n;
    std::fill(b.out, b.out + d, 0.0f);
    for (size_t t = 0; t < n; ++t)
      if (!ids || ids[t] != op_.pad_id) exec.kernels().add(b.out, x + t * d, b.out, d);
    const float inv = 1.0f / float(count);
    for (size_t c = 0; c < d; ++c) b.out[c] *= inv;
  });
}

size_t count_real_tokens(const int32_t* ids, size_t n, int pad_id, const char* what) {
  size_t real = 0;
  for (size_t t = 0; t < n; ++t) real += ids[t] != pad_id;
  if (!real)
    fail(ATTN_ERROR_OUT_OF_RANGE, std::string(what) + ": every token of the input is the padding id " + std::to_string(pad_id));
  return real;
}

}  // namespace attn

namespace attn {

void TokenEmbedOp::read(const fb::Op& o, OpReader& r) {
  const auto* p = o.options_as_TokenEmbed();
  OpInfo& op = r.op();
  Model& m = r.model();
  r.need_inputs(1, 1);
  const ValueInfo& ids = r.input(0);
  if (ids.dtype != ATTN_DTYPE_I32 || ids.shape.size() != 1)
    r.invalid(r.name() + " (token embedding): input '" + ids.name + "' must be int32 [n]");
  const ValueInfo& out = r.output(0);
  if (out.shape.size() != 2) r.invalid(r.name() + ": output must be [n, d]");
  const int64_t d = out.shape[1];
  r.expect_value(out, ATTN_DTYPE_F32, {ids.shape[0], d});
  op.weight = r.any_weight(p->table(), "table", {OpReader::kAny, d}, true);
  op.pos_embed = r.weight(p->pos_embed(), "pos_embed", {OpReader::kAny, d}, true);
  if (m.tensors[size_t(op.pos_embed)].shape[0] < ids.max_shape[0])
    r.invalid(r.name() + ": pos_embed has fewer rows than the sequence length");
  // Ids are checked against the smallest table a model reads.
  const int64_t rows = m.tensors[size_t(op.weight)].shape[0];
  if (rows > limits::kMaxVocab)
    r.invalid(r.name() + ": vocabulary of " + std::to_string(rows) + " tokens is more than the limit of " +
              std::to_string(limits::kMaxVocab));
  if (m.vocab == 0 || rows < m.vocab) m.vocab = rows;
}

void LayerNormOp::read(const fb::Op& o, OpReader& r) {
  const auto* p = o.options_as_LayerNorm();
  OpInfo& op = r.op();
  r.need_inputs(1, 1);
  const ValueInfo& in = r.input(0);
  if (in.dtype != ATTN_DTYPE_F32 || in.shape.size() > 2)
    r.invalid(r.name() + ": LayerNorm needs a float input of shape [d] or [n, d], got " + shape_text(in.shape));
  r.expect_value(r.output(0), ATTN_DTYPE_F32, in.shape);
  const int64_t d = in.shape.back();
  op.weight = r.weight(p->weight(), "weight", {d}, true);
  op.bias = r.weight(p->bias(), "bias", {d}, true);
  op.eps = p->eps();
  if (!(op.eps > 0 && op.eps < 1))
    r.invalid(r.name() + ": LayerNorm eps " + std::to_string(op.eps) + " is not in (0, 1)");
}

void AddOp::read(const fb::Op&, OpReader& r) {
  r.need_inputs(2, 2);
  const ValueInfo& a = r.input(0);
  if (a.dtype != ATTN_DTYPE_F32 || a.shape.size() > 2)
    r.invalid(r.name() + ": add needs float inputs of shape [d] or [n, d], got " + shape_text(a.shape));
  r.expect_value(r.input(1), ATTN_DTYPE_F32, a.shape);
  r.expect_value(r.output(0), ATTN_DTYPE_F32, a.shape);
}

void PoolOp::read(const fb::Op& o, OpReader& r) {
  const auto* p = o.options_as_Pool();
  OpInfo& op = r.op();
  op.pool_cls = p->mode() == fb::PoolMode::Cls;
  if (!op.pool_cls && p->mode() != fb::PoolMode::Mean) r.invalid(r.name() + ": unknown pool mode");
  op.pad_id = p->pad_id();
  r.need_inputs(op.pad_id >= 0 ? 2 : 1, op.pad_id >= 0 ? 2 : 1);
  const ValueInfo& x = r.input(0);
  if (x.dtype != ATTN_DTYPE_F32 || x.shape.size() != 2) r.invalid(r.name() + ": pool input must be [n, d]");
  if (op.pad_id >= 0) {
    const ValueInfo& ids = r.input(1);
    if (ids.dtype != ATTN_DTYPE_I32 || ids.shape != std::vector<int64_t>{x.shape[0]})
      r.invalid(r.name() + ": the token-id input must be int32 [n]");
  }
  r.expect_value(r.output(0), ATTN_DTYPE_F32, {x.shape[1]});
}

}  // namespace attn
