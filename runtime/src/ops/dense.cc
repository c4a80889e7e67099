// Dense: y = act(x · Wᵀ + b), over [d] or [n, d].
#include "dense.h"

namespace attn {

void DenseOp::prepare(const PrepareContext& context) {
  layer_.prepare(context, op_.weight, op_.bias, op_.activation);
}

void DenseOp::run(const Model& m, Executor& exec, const RunState& state, const OpBuffers& b) {
  size_t rows = state.rows(m, op_.inputs[0]);
  const float* in = b.in[0];
  if (state.decoding && b.model_output) {  // the logits of the last position only
    in += (rows - 1) * layer_.in_features();
    rows = 1;
  }
  layer_.run(exec, rows, in, b.out, b.residual);
}

}  // namespace attn
