// The small ops: token embedding, LayerNorm, Add and pooling. Each is a loop
// over rows around one kernel.
#include <algorithm>
#include <string>

#include "../error.h"
#include "elementwise.h"

namespace attn {

// x[t] = table[id[t]] + pos[offset + t]
void TokenEmbedOp::run(const Model& m, Executor& exec, const RunState& state, const OpBuffers& b) {
  exec.timed(ATTN_OP_CLASS_OTHER, [&] {
    const int32_t* ids = state.decoding ? state.decode_ids : reinterpret_cast<const int32_t*>(b.in[0]);
    const ConstTensor& table = m.tensors[size_t(op_.weight)];
    const float* pos = m.tensors[size_t(op_.pos_embed)].floats();
    const size_t d = size_t(table.shape[1]);
    for (size_t t = 0; t < state.n; ++t)
      exec.kernels().add(table.floats() + size_t(ids[t]) * d, pos + (state.offset + t) * d, b.out + t * d, d);
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
