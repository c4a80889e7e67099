#include "builder.h"

#include <cmath>
#include <set>

#include "shape_text.h"

namespace attn::convert {

namespace {

const VariantTraits& variant_named_in(const ModelConfig& c) {
  const VariantTraits* v = variant_named(c.attention);
  if (!v) throw InputError("config.json: attention '" + c.attention + "' is not a known variant");
  return *v;
}

Activation activation_of(const std::string& name) {
  if (name == "gelu") return Activation::Gelu;
  if (name == "gelu_tanh") return Activation::GeluTanh;
  return Activation::Relu;
}

// The checkpoint names of one block, for either naming scheme.
struct BlockNames {
  std::string ln1, ln2, qkv, q, k, v, align, proj, fc1, fc2;
};

BlockNames timm_names(int64_t i) {
  const std::string b = "blocks." + std::to_string(i) + ".";
  return {b + "norm1", b + "norm2", b + "attn.qkv", b + "attn.q", b + "attn.k", b + "attn.v",
          b + "attn.align", b + "attn.proj", b + "mlp.fc1", b + "mlp.fc2"};
}

BlockNames gpt2_names(const std::string& prefix, int64_t i) {
  const std::string b = prefix + "h." + std::to_string(i) + ".";
  return {b + "ln_1", b + "ln_2", b + "attn.c_attn", b + "attn.c_q", b + "attn.c_k", b + "attn.c_v",
          b + "attn.c_align", b + "attn.c_proj", b + "mlp.c_fc", b + "mlp.c_proj"};
}

class Builder {
 public:
  Builder(const ModelConfig& c, TensorMap& ckpt, const BuildOptions& o) : c_(c), ckpt_(ckpt), options_(o) {}

  Graph build() {
    const int64_t d = c_.d_model;
    g_.max_tokens = c_.context;
    if (c_.family == "vit") build_vit(d);
    else if (c_.family == "text") build_text(d);
    else build_gpt(d);
    check_all_used();
    return std::move(g_);
  }

 private:
  bool has(const std::string& name) const { return ckpt_.count(name) != 0; }

  // Takes a tensor whose shape must be `shape`; `stored` is how the file
  // holds it when that differs (transposed Conv1D weights).
  int take(const std::string& name, std::vector<int64_t> shape, bool transposed = false) {
    auto it = ckpt_.find(name);
    if (it == ckpt_.end())
      throw InputError("tensor '" + name + "' is missing (a " + c_.attention + " " + c_.family + " model needs it)");
    Tensor& t = it->second;
    std::vector<int64_t> stored = shape;
    if (transposed) std::swap(stored[0], stored[1]);
    // Leading 1s are layout noise (timm's [1, L, d] position embedding).
    std::vector<int64_t> got = t.shape;
    while (got.size() > stored.size() && got.front() == 1) got.erase(got.begin());
    if (got != stored)
      throw InputError("tensor '" + name + "' has shape " + shape_text(t.shape) + ", expected " + shape_text(stored));
    for (float v : t.data)
      if (!std::isfinite(v)) throw InputError("tensor '" + name + "' holds a value that is not finite");
    GraphTensor out{name, shape, {}};
    if (transposed) {
      const size_t rows = size_t(shape[0]), cols = size_t(shape[1]);
      out.data.resize(t.data.size());
      for (size_t r = 0; r < rows; ++r)
        for (size_t col = 0; col < cols; ++col) out.data[r * cols + col] = t.data[col * rows + r];
    } else {
      out.data = std::move(t.data);
    }
    used_.insert(name);
    g_.tensors.push_back(std::move(out));
    return int(g_.tensors.size() - 1);
  }

  int take_optional(const std::string& name, std::vector<int64_t> shape, bool wanted) {
    return wanted ? take(name, std::move(shape)) : -1;
  }

  // A dense layer's weight [out, in] (stored [in, out] in Conv1D layout).
  int take_linear(const std::string& name, int64_t out, int64_t in) {
    return take(name + ".weight", {out, in}, c_.weight_layout == "conv1d");
  }

  // Rows of several [rows_i, cols] tensors stacked into one new tensor.
  int stack(const std::string& name, const std::vector<int>& parts) {
    GraphTensor out{name, {0, g_.tensors[parts[0]].shape.size() > 1 ? g_.tensors[parts[0]].shape[1] : 0}, {}};
    for (int p : parts) {
      GraphTensor& t = g_.tensors[p];
      out.shape[0] += t.shape[0];
      out.data.insert(out.data.end(), t.data.begin(), t.data.end());
      t.data.clear();
      t.data.shrink_to_fit();
    }
    if (out.shape[1] == 0) out.shape.pop_back();
    g_.tensors.push_back(std::move(out));
    return int(g_.tensors.size() - 1);
  }

  int value(const std::string& name, std::vector<int64_t> shape, attn_dtype dtype = ATTN_DTYPE_F32) {
    g_.values.push_back({name, dtype, std::move(shape)});
    return int(g_.values.size() - 1);
  }

  int emit(OpInfo op, std::vector<int> inputs, const std::string& out_name, std::vector<int64_t> out_shape) {
    op.inputs = std::move(inputs);
    int out = value(out_name, std::move(out_shape));
    op.outputs = {out};
    g_.ops.push_back(std::move(op));
    return out;
  }

  int layer_norm(const std::string& name, int x, const std::string& out_name) {
    OpInfo op;
    op.kind = OpKind::LayerNorm;
    const int64_t d = c_.d_model;
    op.weight = take(name + ".weight", {d});
    op.bias = take(name + ".bias", {d});
    op.eps = float(c_.layer_norm_eps);
    return emit(op, {x}, out_name, g_.values[x].shape);
  }

  int dense(const std::string& name, int x, int64_t out, Activation act, const std::string& out_name,
            bool with_bias = true) {
    OpInfo op;
    op.kind = OpKind::Dense;
    const int64_t in = g_.values[x].shape.back();
    op.weight = take_linear(name, out, in);
    op.bias = with_bias ? take(name + ".bias", {out}) : -1;
    op.activation = act;
    std::vector<int64_t> shape = g_.values[x].shape;
    shape.back() = out;
    return emit(op, {x}, out_name, shape);
  }

  int add(int a, int b, const std::string& out_name) {
    OpInfo op;
    op.kind = OpKind::Add;
    return emit(op, {a, b}, out_name, g_.values[a].shape);
  }

  int attention(const BlockNames& n, int x, int ids, const std::string& out_name) {
    const int64_t d = c_.d_model, L = c_.context;
    OpInfo op;
    op.kind = OpKind::Attention;
    const VariantTraits& variant = variant_named_in(c_);
    op.variant = variant.variant;
    op.heads = int(c_.heads);
    op.head_dim = int(d / c_.heads);
    op.scale = float(1.0 / std::sqrt(double(op.head_dim)));
    op.causal = c_.family == "gpt";
    op.pad_id = ids >= 0 ? int(c_.pad_id) : -1;
    const bool fused = variant.projections() == 3 && has(n.qkv + ".weight");
    if (fused) {
      op.weight = take_linear(n.qkv, 3 * d, d);
      op.bias = take_optional(n.qkv + ".bias", {3 * d}, c_.qkv_bias);
    } else {
      std::vector<std::string> parts = {n.q};
      if (variant.keys == RowSource::KeyProjection) parts.push_back(n.k);
      if (variant.values == RowSource::ValueProjection) parts.push_back(n.v);
      std::vector<int> weights, biases;
      for (const auto& p : parts) weights.push_back(take_linear(p, d, d));
      if (c_.qkv_bias)
        for (const auto& p : parts) biases.push_back(take(p + ".bias", {d}));
      op.weight = parts.size() == 1 ? weights[0] : stack(n.qkv + ".weight", weights);
      op.bias = biases.empty() ? -1 : biases.size() == 1 ? biases[0] : stack(n.qkv + ".bias", biases);
    }
    op.out_weight = take_linear(n.proj, d, d);
    op.out_bias = take(n.proj + ".bias", {d});
    if (variant.token_mixing()) {
      op.align_weight = take(n.align + ".weight", {L, L});
      op.align_bias = take_optional(n.align + ".bias", {L}, c_.align_bias);
      if (op.causal) check_causal_align(n.align + ".weight", g_.tensors[op.align_weight]);
    }
    std::vector<int> inputs = {x};
    if (op.pad_id >= 0) inputs.push_back(ids);
    return emit(op, inputs, out_name, g_.values[x].shape);
  }

  void check_causal_align(const std::string& name, GraphTensor& w) {
    const size_t L = size_t(w.shape[0]);
    for (size_t t = 0; t < L; ++t)
      for (size_t s = t + 1; s < L; ++s) {
        float& v = w.data[t * L + s];
        if (v == 0.0f) continue;
        if (!options_.zero_upper_align)
          throw InputError("tensor '" + name + "' has non-zero entry " + std::to_string(v) + " at [" +
                           std::to_string(t) + ", " + std::to_string(s) +
                           "] above the diagonal: causal Super Attention needs a lower-triangular W_A "
                           "(--zero-upper-align zeroes it)");
        v = 0.0f;
      }
  }

  int block(const BlockNames& n, int x, int ids, int64_t i) {
    const std::string b = "block" + std::to_string(i) + ".";
    const int64_t d = c_.d_model;
    const Activation act = activation_of(c_.activation);
    auto mlp = [&](int h) {
      int u = dense(n.fc1, h, c_.mlp_dim, act, b + "mlp_hidden");
      return dense(n.fc2, u, d, Activation::None, b + "mlp_out");
    };
    if (c_.norm_first) {
      int a = attention(n, layer_norm(n.ln1, x, b + "ln1"), ids, b + "attn");
      x = add(x, a, b + "resid1");
      int m = mlp(layer_norm(n.ln2, x, b + "ln2"));
      return add(x, m, b + "out");
    }
    int a = attention(n, x, ids, b + "attn");
    x = layer_norm(n.ln1, add(x, a, b + "resid1"), b + "ln1");
    int m = mlp(x);
    return layer_norm(n.ln2, add(x, m, b + "resid2"), b + "out");
  }

  int pool(int x, int ids, bool cls) {
    OpInfo op;
    op.kind = OpKind::Pool;
    op.pool_cls = cls;
    op.pad_id = ids >= 0 ? int(c_.pad_id) : -1;
    std::vector<int> inputs = {x};
    if (ids >= 0) inputs.push_back(ids);
    return emit(op, inputs, "pooled", {g_.values[x].shape.back()});
  }

  void build_vit(int64_t d) {
    const int64_t T = c_.context, p = c_.patch_size;
    int image = value("image", {c_.channels, c_.image_h, c_.image_w});
    g_.inputs = {image};
    OpInfo op;
    op.kind = OpKind::PatchEmbed;
    op.channels = int(c_.channels), op.height = int(c_.image_h), op.width = int(c_.image_w), op.patch = int(p);
    op.weight = take("patch_embed.proj.weight", {d, c_.channels, p, p});
    g_.tensors[op.weight].shape = {d, c_.channels * p * p};
    op.bias = take("patch_embed.proj.bias", {d});
    const bool cls = c_.pool == "cls";
    op.cls_token = cls ? take("cls_token", {d}) : -1;
    op.pos_embed = take("pos_embed", {T, d});
    int x = emit(op, {image}, "tokens", {T, d});
    for (int64_t i = 0; i < c_.layers; ++i) x = block(timm_names(i), x, -1, i);
    x = layer_norm("norm", x, "norm");
    x = pool(x, -1, cls);
    g_.outputs = {dense("head", x, c_.num_classes, Activation::None, "logits")};
  }

  void build_text(int64_t d) {
    const int64_t L = c_.context;
    int ids = value("ids", {L}, ATTN_DTYPE_I32);
    g_.inputs = {ids};
    const int mask_ids = c_.pad_id >= 0 ? ids : -1;
    int x = token_embed("embed.weight", "pos_embed", ids, {L, d});
    for (int64_t i = 0; i < c_.layers; ++i) x = block(timm_names(i), x, mask_ids, i);
    x = pool(x, mask_ids, false);
    if (c_.pre_logits > 0) x = dense("pre_logits.fc", x, c_.pre_logits, Activation::Relu, "pre_logits");
    g_.outputs = {dense("head", x, c_.num_classes, Activation::None, "logits")};
  }

  int token_embed(const std::string& table, const std::string& pos, int ids, std::vector<int64_t> shape) {
    OpInfo op;
    op.kind = OpKind::TokenEmbed;
    op.weight = take(table, {c_.vocab_size, c_.d_model});
    op.pos_embed = take(pos, {c_.context, c_.d_model});
    return emit(op, {ids}, "embedded", std::move(shape));
  }

  void build_gpt(int64_t d) {
    prefix_ = has("transformer.wte.weight") || !has("wte.weight") ? "transformer." : "";
    int ids = value("ids", {-1}, ATTN_DTYPE_I32);
    g_.inputs = {ids};
    int x = token_embed(prefix_ + "wte.weight", prefix_ + "wpe.weight", ids, {-1, d});
    const int wte = g_.ops.back().weight;
    for (int64_t i = 0; i < c_.layers; ++i) x = block(gpt2_names(prefix_, i), x, -1, i);
    x = layer_norm(prefix_ + "ln_f", x, "ln_f");
    OpInfo head;
    head.kind = OpKind::Dense;
    // lm_head is [vocab, d] in both layouts (it is an nn.Linear in GPT-2 too).
    head.weight = has("lm_head.weight") ? take("lm_head.weight", {c_.vocab_size, d}) : wte;
    g_.outputs = {emit(head, {x}, "logits", {-1, c_.vocab_size})};
  }

  // Every checkpoint tensor must be used, but for known buffers.
  void check_all_used() const {
    for (const auto& [name, t] : ckpt_) {
      if (used_.count(name)) continue;
      if (c_.family == "gpt" && (ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias"))) continue;
      std::string why;
      if (ends_with(name, "attn.k.weight") || ends_with(name, "attn.c_k.weight"))
        why = ": " + c_.attention + " attention has no K projection";
      else if (ends_with(name, "attn.v.weight") || ends_with(name, "attn.c_v.weight"))
        why = ": " + c_.attention + " attention has no V projection";
      else if (ends_with(name, "align.weight") || ends_with(name, "align.bias"))
        why = c_.attention == "super" ? ": align_bias is false in the config"
                                      : ": only super attention has an alignment kernel W_A";
      else if (ends_with(name, "attn.qkv.weight") || ends_with(name, "attn.c_attn.weight"))
        why = ": a fused q|k|v projection belongs to standard attention";
      else if (ends_with(name, ".bias") && name.find(".attn.") != std::string::npos)
        why = ": qkv_bias is false in the config, or the weight it belongs to is not used";
      throw InputError("tensor '" + name + "' is not used by a " + c_.attention + " " + c_.family + " model" + why);
    }
  }

  static bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  }

  const ModelConfig& c_;
  TensorMap& ckpt_;
  const BuildOptions& options_;
  std::set<std::string> used_;
  std::string prefix_;
  Graph g_;
};

}  // namespace

Graph build_graph(const ModelConfig& config, TensorMap& checkpoint, const BuildOptions& options) {
  return Builder(config, checkpoint, options).build();
}

AttentionParams attention_params(const ModelConfig& config, const Graph& graph) {
  AttentionParams p;
  const int64_t d = config.d_model;
  for (const OpInfo& op : graph.ops) {
    if (op.kind != OpKind::Attention) continue;
    for (int t : {op.weight, op.bias, op.out_weight, op.out_bias, op.align_weight, op.align_bias}) {
      if (t < 0) continue;
      int64_t count = 1;
      for (int64_t dim : graph.tensors[t].shape) count *= dim;
      p.per_layer += count;
    }
    break;
  }
  p.standard_per_layer = 4 * d * d + (config.qkv_bias ? 3 * d : 0) + d;
  return p;
}

}  // namespace attn::convert
