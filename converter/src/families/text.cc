// text: a sequence classifier (timm names): token and position embeddings,
// blocks that mask padding when the config has a pad_id, mean pooling over
// the tokens that are not padding, an optional ReLU pre-logits layer, a head.
#include "families/family.h"

namespace attn::convert {

namespace {

void build(GraphBuilder& b) {
  const ModelConfig& c = b.config();
  const int64_t d = c.d_model, L = c.context;
  Graph& g = b.graph();
  const int ids = b.value("ids", {L}, ATTN_DTYPE_I32);
  g.inputs = {ids};
  const int mask_ids = c.pad_id >= 0 ? ids : -1;
  int x = b.token_embed("embed.weight", "pos_embed", ids, {L, d});
  for (int64_t i = 0; i < c.layers; ++i) x = b.block(timm_block_names(i), x, mask_ids, i);
  x = b.pool(x, mask_ids, false);
  if (c.pre_logits > 0) x = b.dense("pre_logits.fc", x, c.pre_logits, Activation::Relu, "pre_logits");
  g.outputs = {b.dense("head", x, c.num_classes, Activation::None, "logits")};
}

void random_init(RandomCheckpoint& r) {
  const ModelConfig& c = r.config();
  const int64_t d = c.d_model;
  r.random("embed.weight", {c.vocab_size, d});
  r.random("pos_embed", {1, c.context, d});
  for (int64_t i = 0; i < c.layers; ++i) r.block(timm_block_names(i), false);
  int64_t width = d;
  if (c.pre_logits > 0) {
    r.linear("pre_logits.fc", c.pre_logits, d);
    width = c.pre_logits;
  }
  r.linear("head", c.num_classes, width);
}

}  // namespace

const Family kTextFamily{"text", false, build, random_init, nullptr};

}  // namespace attn::convert
