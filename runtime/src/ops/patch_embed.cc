// Patch embedding: the image cut into p×p patches, each projected to d, the
// class token prepended, position embeddings added.
#include "patch_embed.h"

#include <cstring>
#include <string>

#include "../model_limits.h"

namespace attn {

OpNeeds PatchEmbedOp::needs(const Model&, const Kernels&) const {
  const size_t patches = size_t(op_.height / op_.patch) * size_t(op_.width / op_.patch);
  OpNeeds needs;
  needs.scratch[0] = patches * size_t(op_.channels) * size_t(op_.patch) * size_t(op_.patch);  // the patch rows
  return needs;
}

void PatchEmbedOp::prepare(const PrepareContext& context) {
  layer_.prepare(context, op_.weight, op_.bias, Activation::None,
                 size_t(op_.height / op_.patch) * size_t(op_.width / op_.patch));
}

void PatchEmbedOp::run(const Model& m, Executor& exec, const RunState&, const OpBuffers& b) {
  const size_t C = size_t(op_.channels), H = size_t(op_.height), W = size_t(op_.width), p = size_t(op_.patch);
  const size_t gw = W / p, patches = (H / p) * gw, k = C * p * p;
  const size_t d = layer_.out_features();
  // Gather each patch as a row laid out like the weight: [C, p, p].
  const float* img = b.in[0];
  float* patch_rows = b.scratch[0];
  exec.timed(ATTN_OP_CLASS_OTHER, [&] {
    for (size_t i = 0; i < patches; ++i) {
      const size_t py = (i / gw) * p, px = (i % gw) * p;
      float* r = patch_rows + i * k;
      for (size_t c = 0; c < C; ++c)
        for (size_t y = 0; y < p; ++y) std::memcpy(r + (c * p + y) * p, img + (c * H + py + y) * W + px, p * 4);
    }
  });
  const bool cls = op_.cls_token >= 0;
  layer_.run(exec, patches, patch_rows, b.out + (cls ? d : 0));
  exec.timed(ATTN_OP_CLASS_OTHER, [&] {
    if (cls) std::memcpy(b.out, m.tensors[size_t(op_.cls_token)].floats(), d * 4);
    const size_t total = (patches + (cls ? 1 : 0)) * d;
    exec.kernels().add(b.out, m.tensors[size_t(op_.pos_embed)].floats(), b.out, total);
  });
}

}  // namespace attn

namespace attn {

void PatchEmbedOp::read(const fb::Op& o, OpReader& r) {
  using namespace limits;
  const auto* p = o.options_as_PatchEmbed();
  OpInfo& op = r.op();
  r.need_inputs(1, 1);
  op.channels = p->channels(), op.height = p->height(), op.width = p->width(), op.patch = p->patch();
  if (op.patch < 1 || op.channels < 1 || op.height < 1 || op.width < 1 || op.patch > op.height ||
      op.patch > op.width || op.height % op.patch || op.width % op.patch || op.channels > kMaxChannels ||
      op.height > kMaxImageSide || op.width > kMaxImageSide)
    r.invalid(r.name() + " (patch embedding): image " + std::to_string(op.channels) + "x" +
              std::to_string(op.height) + "x" + std::to_string(op.width) + " is not divisible into " +
              std::to_string(op.patch) + "-pixel patches");
  r.expect_value(r.input(0), ATTN_DTYPE_F32, {op.channels, op.height, op.width});
  const ValueInfo& out = r.output(0);
  if (out.shape.size() != 2) r.invalid(r.name() + ": output must be [tokens, d]");
  const int64_t d = out.shape[1];
  const int64_t patches = int64_t{op.height / op.patch} * (op.width / op.patch);
  op.weight = r.dense_weight(p->weight(), "weight", d, int64_t{op.channels} * op.patch * op.patch);
  op.bias = r.weight(p->bias(), "bias", {d}, false);
  op.cls_token = r.weight(p->cls_token(), "cls_token", {d}, false);
  const int64_t tokens = patches + (op.cls_token >= 0 ? 1 : 0);
  r.expect_value(out, ATTN_DTYPE_F32, {tokens, d});
  op.pos_embed = r.weight(p->pos_embed(), "pos_embed", {tokens, d}, true);
}

}  // namespace attn
