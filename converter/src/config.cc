#include "config.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "model_limits.h"
#include "safetensors.h"
#include "strict_json.h"
#include "variants.h"

namespace attn::convert {

namespace {

// The attention values a config may name: the variant table's.
std::vector<const char*> variant_names() {
  std::vector<const char*> names;
  for (const VariantTraits& v : kVariants) names.push_back(v.name);
  return names;
}

using nlohmann::json;

// Widths stay well below the loader's dimension limit so that the widest
// weight, [3 d, d] or [mlp_dim, d], stays within its element limit.
constexpr int64_t kMaxDim = int64_t{1} << 20;
using limits::kMaxHeads;

class Reader {
 public:
  Reader(const json& j, const std::string& source) : j_(j), source_(source) {}

  InputError error(const std::string& field, const std::string& what) const {
    return InputError(source_ + ": field '" + field + "' " + what);
  }

  const json* find(const std::string& field) const {
    auto it = j_.find(field);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }

  int64_t integer(const std::string& field, int64_t lo, int64_t hi, const int64_t* fallback = nullptr) const {
    const json* v = find(field);
    if (!v) {
      if (fallback) return *fallback;
      throw error(field, "is missing");
    }
    if (!v->is_number_integer()) throw error(field, "must be an integer, got " + v->dump());
    // An unsigned number above 2^63 - 1 would read back negative.
    if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(hi))
      throw error(field, "is " + v->dump() + ", outside " + std::to_string(lo) + ".." + std::to_string(hi));
    const int64_t x = v->get<int64_t>();
    if (x < lo || x > hi)
      throw error(field, "is " + std::to_string(x) + ", outside " + std::to_string(lo) + ".." + std::to_string(hi));
    return x;
  }

  bool boolean(const std::string& field, bool fallback) const {
    const json* v = find(field);
    if (!v) return fallback;
    if (!v->is_boolean()) throw error(field, "must be true or false, got " + v->dump());
    return v->get<bool>();
  }

  double number(const std::string& field, double fallback) const {
    const json* v = find(field);
    if (!v) return fallback;
    if (!v->is_number()) throw error(field, "must be a number, got " + v->dump());
    return v->get<double>();
  }

  std::string choice(const std::string& field, const std::vector<const char*>& allowed, const char* fallback = nullptr) const {
    const json* v = find(field);
    if (!v) {
      if (fallback) return fallback;
      throw error(field, "is missing");
    }
    std::string list;
    for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
    if (!v->is_string()) throw error(field, "must be one of " + list + ", got " + v->dump());
    const std::string s = v->get<std::string>();
    for (const char* a : allowed)
      if (s == a) return s;
    throw error(field, "is \"" + s + "\", expected one of " + list);
  }

 private:
  const json& j_;
  std::string source_;
};

void read_hugging_face_gpt2(const Reader& r, ModelConfig& c) {
  c.family = "gpt";
  c.attention = "standard";
  c.weight_layout = "conv1d";
  c.from_hugging_face = true;
  c.d_model = r.integer("n_embd", 1, kMaxDim);
  c.heads = r.integer("n_head", 1, kMaxHeads);
  c.layers = r.integer("n_layer", 1, int64_t(limits::kMaxLayers));
  c.context = r.integer("n_positions", 1, limits::kMaxTokens);
  c.vocab_size = r.integer("vocab_size", 1, limits::kMaxVocab);
  const int64_t inner_default = 4 * c.d_model;
  c.mlp_dim = r.integer("n_inner", 1, kMaxDim, &inner_default);
  const std::string act = r.choice("activation_function", {"gelu_new", "gelu_pytorch_tanh", "gelu", "relu"}, "gelu_new");
  c.activation = act == "gelu" ? "gelu" : act == "relu" ? "relu" : "gelu_tanh";
  c.layer_norm_eps = r.number("layer_norm_epsilon", 1e-5);
  c.norm_first = true;
  if (r.boolean("scale_attn_by_inverse_layer_idx", false))
    throw r.error("scale_attn_by_inverse_layer_idx", "is true, which the spec's attention does not define");
  if (!r.boolean("scale_attn_weights", true))
    throw r.error("scale_attn_weights", "is false, which the spec's attention does not define");
  if (r.boolean("add_cross_attention", false))
    throw r.error("add_cross_attention", "is true: cross-attention is not part of the gpt family");
}

}  // namespace

ModelConfig parse_config(const std::string& text, const std::string& source) {
  const json j = parse_strict_json(text.data(), text.data() + text.size(), source);
  if (!j.is_object()) throw InputError(source + ": not a JSON object");
  Reader r(j, source);
  ModelConfig c;
  if (const json* type = r.find("model_type"); type && *type == "gpt2" && !r.find("family")) {
    read_hugging_face_gpt2(r, c);
  } else {
    c.family = r.choice("family", {"vit", "text", "gpt"});
    c.attention = r.choice("attention", variant_names());
    c.d_model = r.integer("d_model", 1, kMaxDim);
    c.heads = r.integer("heads", 1, kMaxHeads);
    c.layers = r.integer("layers", 1, int64_t(limits::kMaxLayers));
    c.mlp_dim = r.integer("mlp_dim", 1, kMaxDim);
    c.context = r.integer("context", 1, limits::kMaxTokens);
    c.activation = r.choice("activation", {"gelu", "gelu_tanh", "relu"});
    c.norm_first = r.boolean("norm_first", true);
    c.layer_norm_eps = r.number("layer_norm_eps", 1e-5);
    c.qkv_bias = r.boolean("qkv_bias", true);
    c.align_bias = r.boolean("align_bias", true);
    if (c.family == "vit") {
      const json* size = r.find("image_size");
      if (!size) throw r.error("image_size", "is missing");
      if (size->is_number_integer()) size = nullptr;  // a square image given as one number
      const int64_t side = size ? 0 : r.integer("image_size", 1, limits::kMaxImageSide);
      if (size && (!size->is_array() || size->size() != 2 || !(*size)[0].is_number_integer() ||
                   !(*size)[1].is_number_integer()))
        throw r.error("image_size", "must be [H, W]");
      c.image_h = size ? (*size)[0].get<int64_t>() : side;
      c.image_w = size ? (*size)[1].get<int64_t>() : side;
      if (c.image_h < 1 || c.image_w < 1 || c.image_h > limits::kMaxImageSide || c.image_w > limits::kMaxImageSide)
        throw r.error("image_size", "must hold two sizes in 1..16384");
      c.channels = r.integer("channels", 1, limits::kMaxChannels);
      c.patch_size = r.integer("patch_size", 1, limits::kMaxImageSide);
      c.pool = r.choice("pool", {"cls", "mean"});
      c.num_classes = r.integer("num_classes", 1, limits::kMaxClasses);
      if (c.image_h % c.patch_size || c.image_w % c.patch_size)
        throw r.error("patch_size", "(" + std::to_string(c.patch_size) + ") does not divide image_size [" +
                                        std::to_string(c.image_h) + ", " + std::to_string(c.image_w) + "]");
      const int64_t tokens = (c.image_h / c.patch_size) * (c.image_w / c.patch_size) + (c.pool == "cls" ? 1 : 0);
      if (c.context != tokens)
        throw r.error("context", "is " + std::to_string(c.context) + ", but the image gives " + std::to_string(tokens) +
                                     " tokens ((H/p)·(W/p)" + (c.pool == "cls" ? " + 1 class token)" : ")"));
    } else if (c.family == "text") {
      c.vocab_size = r.integer("vocab_size", 1, limits::kMaxVocab);
      c.num_classes = r.integer("num_classes", 1, limits::kMaxClasses);
      const int64_t zero = 0, none = -1;
      c.pre_logits = r.integer("pre_logits", 0, kMaxDim, &zero);
      c.pad_id = r.integer("pad_id", -1, c.vocab_size - 1, &none);
    } else {
      c.vocab_size = r.integer("vocab_size", 1, limits::kMaxVocab);
      c.weight_layout = r.choice("weight_layout", {"linear", "conv1d"}, "linear");
    }
  }
  if (c.d_model % c.heads)
    throw InputError(source + ": field 'heads' (" + std::to_string(c.heads) + ") does not divide d_model (" +
                     std::to_string(c.d_model) + ")");
  // As the model stores it: a float, which the loader checks to be in (0, 1).
  if (const float eps = float(c.layer_norm_eps); !(eps > 0 && eps < 1))
    throw InputError(source + ": field 'layer_norm_eps' must be in (0, 1)");
  return c;
}

}  // namespace attn::convert
