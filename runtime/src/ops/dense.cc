// Dense: y = act(x · Wᵀ + b), over [d] or [n, d].
#include "dense.h"

#include "../shared/shape_text.h"

namespace attn {

void DenseOp::prepare(const PrepareContext& context) {
  const ValueInfo& in = context.model.values[size_t(op_.inputs[0])];
  layer_.prepare(context, op_.weight, op_.bias, op_.activation, in.max_elements / size_t(in.max_shape.back()));
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

namespace attn {

void DenseOp::read(const fb::Op& o, OpReader& r) {
  const auto* p = o.options_as_Dense();
  OpInfo& op = r.op();
  r.need_inputs(1, 1);
  const ValueInfo& in = r.input(0);
  const ValueInfo& out = r.output(0);
  if (in.dtype != ATTN_DTYPE_F32 || in.shape.size() > 2 || out.shape.size() != in.shape.size())
    r.invalid(r.name() + ": dense input must be float [d] or [n, d] and its output of the same rank, got " +
              shape_text(in.shape) + " -> " + shape_text(out.shape));
  std::vector<int64_t> expected = in.shape;
  expected.back() = out.shape.back();
  r.expect_value(out, ATTN_DTYPE_F32, expected);
  op.weight = r.dense_weight(p->weight(), "weight", out.shape.back(), in.shape.back());
  op.bias = r.weight(p->bias(), "bias", {out.shape.back()}, false);
  switch (p->activation()) {
    case fb::Activation::None: op.activation = Activation::None; break;
    case fb::Activation::Gelu: op.activation = Activation::Gelu; break;
    case fb::Activation::GeluTanh: op.activation = Activation::GeluTanh; break;
    case fb::Activation::Relu: op.activation = Activation::Relu; break;
    default: r.invalid(r.name() + ": unknown activation " + std::to_string(int(p->activation())));
  }
}

}  // namespace attn
