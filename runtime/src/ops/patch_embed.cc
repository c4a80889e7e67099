// Patch embedding: the image cut into p×p patches, each projected to d, the
// class token prepended, position embeddings added.
#include "patch_embed.h"

#include <cstring>

namespace attn {

OpNeeds PatchEmbedOp::needs(const Model&, const Kernels&) const {
  const size_t patches = size_t(op_.height / op_.patch) * size_t(op_.width / op_.patch);
  OpNeeds needs;
  needs.scratch[0] = patches * size_t(op_.channels) * size_t(op_.patch) * size_t(op_.patch);  // the patch rows
  return needs;
}

void PatchEmbedOp::prepare(const PrepareContext& context) {
  layer_.prepare(context, op_.weight, op_.bias, Activation::None);
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
