// vit: an image classifier (timm names): patch embedding, pre- or post-norm
// blocks, a final LayerNorm, class-token or mean pooling, a linear head.
#include "families/family.h"

namespace attn::convert {

namespace {

void build(GraphBuilder& b) {
  const ModelConfig& c = b.config();
  const int64_t d = c.d_model, T = c.context, p = c.patch_size;
  Graph& g = b.graph();
  const int image = b.value("image", {c.channels, c.image_h, c.image_w});
  g.inputs = {image};
  ops::PatchEmbed embed;
  embed.channels = int(c.channels), embed.height = int(c.image_h), embed.width = int(c.image_w), embed.patch = int(p);
  embed.weight = b.take("patch_embed.proj.weight", {d, c.channels, p, p});
  g.tensors[embed.weight].shape = {d, c.channels * p * p};  // the convolution as a dense layer over patches
  embed.bias = b.take("patch_embed.proj.bias", {d});
  const bool cls = c.pool == "cls";
  embed.cls_token = cls ? b.take("cls_token", {d}) : kNoTensor;
  embed.pos_embed = b.take("pos_embed", {T, d});
  int x = b.emit(embed, {image}, "tokens", {T, d});
  for (int64_t i = 0; i < c.layers; ++i) x = b.block(timm_block_names(i), x, -1, i);
  x = b.layer_norm("norm", x, "norm");
  x = b.pool(x, -1, cls);
  g.outputs = {b.dense("head", x, c.num_classes, Activation::None, "logits")};
}

void random_init(RandomCheckpoint& r) {
  const ModelConfig& c = r.config();
  const int64_t d = c.d_model, p = c.patch_size;
  r.random("patch_embed.proj.weight", {d, c.channels, p, p});
  r.random("patch_embed.proj.bias", {d});
  if (c.pool == "cls") r.random("cls_token", {1, 1, d});
  r.random("pos_embed", {1, c.context, d});
  for (int64_t i = 0; i < c.layers; ++i) r.block(timm_block_names(i), false);
  r.norm("norm");
  r.linear("head", c.num_classes, d);
}

}  // namespace

const Family kVitFamily{"vit", false, build, random_init, nullptr};

}  // namespace attn::convert
