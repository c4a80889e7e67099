// gpt: a causal language model (GPT-2 names, with or without the
// "transformer." prefix; Conv1D weights when weight_layout is "conv1d"):
// token and position embeddings, blocks, a final LayerNorm, and logits from
// lm_head or, when the checkpoint has none, the tied token embedding.
#include "families/family.h"

namespace attn::convert {

namespace {

BlockNames gpt2_block_names(const std::string& prefix, int64_t i) {
  const std::string b = prefix + "h." + std::to_string(i) + ".";
  return {b + "ln_1", b + "ln_2", b + "attn.c_attn", b + "attn.c_q", b + "attn.c_k", b + "attn.c_v",
          b + "attn.c_align", b + "attn.c_proj", b + "mlp.c_fc", b + "mlp.c_proj"};
}

void build(GraphBuilder& b) {
  const ModelConfig& c = b.config();
  const int64_t d = c.d_model;
  Graph& g = b.graph();
  const std::string prefix = b.has("transformer.wte.weight") || !b.has("wte.weight") ? "transformer." : "";
  const int ids = b.value("ids", {-1}, ATTN_DTYPE_I32);
  g.inputs = {ids};
  int x = b.token_embed(prefix + "wte.weight", prefix + "wpe.weight", ids, {-1, d});
  const TensorIndex wte = std::get<ops::TokenEmbed>(g.ops.back().op).table;
  for (int64_t i = 0; i < c.layers; ++i) x = b.block(gpt2_block_names(prefix, i), x, -1, i);
  x = b.layer_norm(prefix + "ln_f", x, "ln_f");
  ops::Dense head;
  // lm_head is [vocab, d] in both layouts (it is an nn.Linear in GPT-2 too).
  head.weight = b.has("lm_head.weight") ? b.take("lm_head.weight", {c.vocab_size, d}) : wte;
  g.outputs = {b.emit(head, {x}, "logits", {-1, c.vocab_size})};
}

// Fused c_attn for standard attention, c_q (and c_k) otherwise; the head
// tied to the token embedding.
void random_init(RandomCheckpoint& r) {
  const ModelConfig& c = r.config();
  const int64_t d = c.d_model;
  const std::string t = "transformer.";
  r.random(t + "wte.weight", {c.vocab_size, d});
  r.random(t + "wpe.weight", {c.context, d});
  const VariantTraits* variant = variant_named(c.attention);
  const bool fused = variant && variant->projections() == 3;
  for (int64_t i = 0; i < c.layers; ++i) r.block(gpt2_block_names(t, i), fused);
  r.norm(t + "ln_f");
}

// GPT-2 checkpoints keep the causal mask as a buffer.
bool is_buffer(const std::string& name) { return ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias"); }

}  // namespace

const Family kGptFamily{"gpt", true, build, random_init, is_buffer};

}  // namespace attn::convert
