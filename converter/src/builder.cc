#include "builder.h"

#include <cmath>

#include "families/family.h"
#include "shape_text.h"

namespace attn::convert {

namespace {

const VariantTraits& variant_named_in(const ModelConfig& c) {
  const VariantTraits* v = variant_named(c.attention);
  if (!v) throw InputError("config.json: attention '" + c.attention + "' is not a known variant");
  return *v;
}

// The config reader admits only these names (config.cc).
Activation activation_named(const std::string& name) {
  if (name == "gelu") return Activation::Gelu;
  if (name == "gelu_tanh") return Activation::GeluTanh;
  if (name == "relu") return Activation::Relu;
  throw InputError("config.json: activation '" + name + "' is not known");
}

}  // namespace

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

GraphBuilder::GraphBuilder(const ModelConfig& config, const Family& family, TensorMap& checkpoint,
                           const BuildOptions& options)
    : c_(config), family_(family), ckpt_(checkpoint), options_(options) {
  g_.max_tokens = c_.context;
}

TensorIndex GraphBuilder::take(const std::string& name, std::vector<int64_t> shape, bool transposed) {
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
  return TensorIndex(g_.tensors.size() - 1);
}

TensorIndex GraphBuilder::take_linear(const std::string& name, int64_t out, int64_t in) {
  return take(name + ".weight", {out, in}, c_.weight_layout == "conv1d");
}

// Rows of several [rows_i, cols] tensors stacked into one new tensor.
TensorIndex GraphBuilder::stack(const std::string& name, const std::vector<TensorIndex>& parts) {
  GraphTensor out{name, {0, g_.tensors[parts[0]].shape.size() > 1 ? g_.tensors[parts[0]].shape[1] : 0}, {}};
  for (TensorIndex p : parts) {
    GraphTensor& t = g_.tensors[p];
    out.shape[0] += t.shape[0];
    out.data.insert(out.data.end(), t.data.begin(), t.data.end());
    t.data.clear();
    t.data.shrink_to_fit();
  }
  if (out.shape[1] == 0) out.shape.pop_back();
  g_.tensors.push_back(std::move(out));
  return TensorIndex(g_.tensors.size() - 1);
}

int GraphBuilder::value(const std::string& name, std::vector<int64_t> shape, attn_dtype dtype) {
  g_.values.push_back({name, dtype, std::move(shape)});
  return int(g_.values.size() - 1);
}

int GraphBuilder::emit(Operator op, std::vector<int> inputs, const std::string& out_name,
                       std::vector<int64_t> out_shape) {
  const int out = value(out_name, std::move(out_shape));
  g_.ops.push_back({std::move(op), std::move(inputs), {out}});
  return out;
}

int GraphBuilder::layer_norm(const std::string& name, int x, const std::string& out_name) {
  ops::LayerNorm op;
  op.weight = take(name + ".weight", {c_.d_model});
  op.bias = take(name + ".bias", {c_.d_model});
  op.eps = float(c_.layer_norm_eps);
  return emit(op, {x}, out_name, g_.values[x].shape);
}

int GraphBuilder::dense(const std::string& name, int x, int64_t out, Activation act, const std::string& out_name) {
  ops::Dense op;
  op.weight = take_linear(name, out, g_.values[x].shape.back());
  op.bias = take(name + ".bias", {out});
  op.activation = act;
  std::vector<int64_t> shape = g_.values[x].shape;
  shape.back() = out;
  return emit(op, {x}, out_name, shape);
}

int GraphBuilder::add(int a, int b, const std::string& out_name) {
  return emit(ops::Add{}, {a, b}, out_name, g_.values[a].shape);
}

int GraphBuilder::token_embed(const std::string& table, const std::string& pos, int ids, std::vector<int64_t> shape) {
  ops::TokenEmbed op;
  op.table = take(table, {c_.vocab_size, c_.d_model});
  op.pos_embed = take(pos, {c_.context, c_.d_model});
  return emit(op, {ids}, "embedded", std::move(shape));
}

int GraphBuilder::attention(const BlockNames& n, int x, int ids, const std::string& out_name) {
  const int64_t d = c_.d_model, L = c_.context;
  const VariantTraits& variant = variant_named_in(c_);
  ops::Attention op;
  op.variant = variant.variant;
  op.heads = int(c_.heads);
  op.head_dim = int(d / c_.heads);
  op.scale = float(1.0 / std::sqrt(double(op.head_dim)));
  op.causal = family_.causal;
  op.pad_id = ids >= 0 ? int(c_.pad_id) : -1;
  const bool fused = variant.projections() == 3 && has(n.qkv + ".weight");
  if (fused) {
    op.qkv_weight = take_linear(n.qkv, 3 * d, d);
    op.qkv_bias = c_.qkv_bias ? take(n.qkv + ".bias", {3 * d}) : kNoTensor;
  } else {
    std::vector<std::string> parts = {n.q};
    if (variant.keys == RowSource::KeyProjection) parts.push_back(n.k);
    if (variant.values == RowSource::ValueProjection) parts.push_back(n.v);
    std::vector<TensorIndex> weights, biases;
    for (const auto& p : parts) weights.push_back(take_linear(p, d, d));
    if (c_.qkv_bias)
      for (const auto& p : parts) biases.push_back(take(p + ".bias", {d}));
    op.qkv_weight = parts.size() == 1 ? weights[0] : stack(n.qkv + ".weight", weights);
    op.qkv_bias = biases.empty() ? kNoTensor : biases.size() == 1 ? biases[0] : stack(n.qkv + ".bias", biases);
  }
  op.out_weight = take_linear(n.proj, d, d);
  op.out_bias = take(n.proj + ".bias", {d});
  if (variant.token_mixing()) {
    op.align_weight = take(n.align + ".weight", {L, L});
    op.align_bias = c_.align_bias ? take(n.align + ".bias", {L}) : kNoTensor;
    if (op.causal) check_causal_align(n.align + ".weight", g_.tensors[op.align_weight]);
  }
  std::vector<int> inputs = {x};
  if (op.pad_id >= 0) inputs.push_back(ids);
  return emit(op, inputs, out_name, g_.values[x].shape);
}

void GraphBuilder::check_causal_align(const std::string& name, GraphTensor& w) {
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

int GraphBuilder::block(const BlockNames& n, int x, int ids, int64_t i) {
  const std::string b = "block" + std::to_string(i) + ".";
  const Activation act = activation_named(c_.activation);
  auto mlp = [&](int h) {
    int u = dense(n.fc1, h, c_.mlp_dim, act, b + "mlp_hidden");
    return dense(n.fc2, u, c_.d_model, Activation::None, b + "mlp_out");
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

int GraphBuilder::pool(int x, int ids, bool cls) {
  ops::Pool op;
  op.cls = cls;
  op.pad_id = ids >= 0 ? int(c_.pad_id) : -1;
  std::vector<int> inputs = {x};
  if (ids >= 0) inputs.push_back(ids);
  return emit(op, inputs, "pooled", {g_.values[x].shape.back()});
}

Graph GraphBuilder::finish() {
  check_all_used();
  return std::move(g_);
}

void GraphBuilder::check_all_used() const {
  for (const auto& [name, t] : ckpt_) {
    if (used_.count(name)) continue;
    if (family_.is_buffer && family_.is_buffer(name)) continue;
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

Graph build_graph(const ModelConfig& config, TensorMap& checkpoint, const BuildOptions& options) {
  const Family& family = family_named_in(config);
  GraphBuilder builder(config, family, checkpoint, options);
  family.build(builder);
  return builder.finish();
}

AttentionParams attention_params(const ModelConfig& config, const Graph& graph) {
  AttentionParams p;
  const int64_t d = config.d_model;
  for (const GraphOp& node : graph.ops) {
    if (!std::holds_alternative<ops::Attention>(node.op)) continue;
    for (TensorIndex t : weights_of(node.op)) {
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
