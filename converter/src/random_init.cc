#include "random_init.h"

#include <cmath>
#include <string>
#include <vector>

namespace attn::convert {

namespace {

constexpr double kStd = 0.02;

// splitmix64 and Box-Muller: the same numbers on every platform and standard
// library, unlike std::normal_distribution.
class Normal {
 public:
  explicit Normal(uint64_t seed) : state_(seed ^ 0x6a09e667f3bcc909ull) {}

  double operator()() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform(), u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1)), a = 2.0 * M_PI * u2;
    spare_ = r * std::sin(a);
    has_spare_ = true;
    return r * std::cos(a);
  }

 private:
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return (double(next() >> 11) + 0.5) * 0x1.0p-53; }  // in (0, 1)

  uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

class Generator {
 public:
  Generator(const ModelConfig& c, uint64_t seed) : c_(c), normal_(seed) {}

  TensorMap make() {
    if (c_.family == "vit") vit();
    else if (c_.family == "text") text();
    else gpt();
    return std::move(out_);
  }

 private:
  void put(const std::string& name, std::vector<int64_t> shape, double fill_or_nan) {
    size_t count = 1;
    for (int64_t d : shape) count *= size_t(d);
    Tensor t;
    t.shape = std::move(shape);
    t.dtype = "F32";
    t.data.resize(count);
    for (float& v : t.data) v = std::isnan(fill_or_nan) ? float(kStd * normal_()) : float(fill_or_nan);
    out_[name] = std::move(t);
  }
  void random(const std::string& name, std::vector<int64_t> shape) { put(name, std::move(shape), NAN); }
  void norm(const std::string& prefix) {
    put(prefix + ".weight", {c_.d_model}, 1.0);
    put(prefix + ".bias", {c_.d_model}, 0.0);
  }
  // A linear layer [out, in], or [in, out] in the Conv1D layout.
  void linear(const std::string& prefix, int64_t out, int64_t in, bool bias = true) {
    if (c_.weight_layout == "conv1d") random(prefix + ".weight", {in, out});
    else random(prefix + ".weight", {out, in});
    if (bias) random(prefix + ".bias", {out});
  }
  void align(const std::string& prefix, bool causal) {
    const int64_t L = c_.context;
    random(prefix + ".weight", {L, L});
    if (causal) {
      std::vector<float>& w = out_[prefix + ".weight"].data;
      for (int64_t t = 0; t < L; ++t)
        for (int64_t s = t + 1; s < L; ++s) w[size_t(t * L + s)] = 0.0f;
    }
    if (c_.align_bias) random(prefix + ".bias", {L});
  }

  bool has_k() const { return c_.attention == "standard" || c_.attention == "optimized"; }

  // timm names (vit, text): split q/k/v projections, as many as the variant has.
  void timm_block(int64_t i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    const int64_t d = c_.d_model;
    norm(b + "norm1");
    norm(b + "norm2");
    linear(b + "attn.q", d, d, c_.qkv_bias);
    if (has_k()) linear(b + "attn.k", d, d, c_.qkv_bias);
    if (c_.attention == "standard") linear(b + "attn.v", d, d, c_.qkv_bias);
    if (c_.attention == "super") align(b + "attn.align", false);
    linear(b + "attn.proj", d, d);
    linear(b + "mlp.fc1", c_.mlp_dim, d);
    linear(b + "mlp.fc2", d, c_.mlp_dim);
  }

  void vit() {
    const int64_t d = c_.d_model, p = c_.patch_size;
    random("patch_embed.proj.weight", {d, c_.channels, p, p});
    random("patch_embed.proj.bias", {d});
    if (c_.pool == "cls") random("cls_token", {1, 1, d});
    random("pos_embed", {1, c_.context, d});
    for (int64_t i = 0; i < c_.layers; ++i) timm_block(i);
    norm("norm");
    random("head.weight", {c_.num_classes, d});
    random("head.bias", {c_.num_classes});
  }

  void text() {
    const int64_t d = c_.d_model;
    random("embed.weight", {c_.vocab_size, d});
    random("pos_embed", {1, c_.context, d});
    for (int64_t i = 0; i < c_.layers; ++i) timm_block(i);
    int64_t width = d;
    if (c_.pre_logits > 0) {
      random("pre_logits.fc.weight", {c_.pre_logits, d});
      random("pre_logits.fc.bias", {c_.pre_logits});
      width = c_.pre_logits;
    }
    random("head.weight", {c_.num_classes, width});
    random("head.bias", {c_.num_classes});
  }

  // GPT-2 names: fused c_attn for standard attention, c_q (and c_k) otherwise;
  // the head tied to the token embedding.
  void gpt() {
    const int64_t d = c_.d_model;
    const std::string t = "transformer.";
    random(t + "wte.weight", {c_.vocab_size, d});
    random(t + "wpe.weight", {c_.context, d});
    for (int64_t i = 0; i < c_.layers; ++i) {
      const std::string b = t + "h." + std::to_string(i) + ".";
      norm(b + "ln_1");
      norm(b + "ln_2");
      if (c_.attention == "standard") {
        linear(b + "attn.c_attn", 3 * d, d, c_.qkv_bias);
      } else {
        linear(b + "attn.c_q", d, d, c_.qkv_bias);
        if (has_k()) linear(b + "attn.c_k", d, d, c_.qkv_bias);
      }
      if (c_.attention == "super") align(b + "attn.c_align", true);
      linear(b + "attn.c_proj", d, d);
      linear(b + "mlp.c_fc", c_.mlp_dim, d);
      linear(b + "mlp.c_proj", d, c_.mlp_dim);
    }
    norm(t + "ln_f");
  }

  const ModelConfig& c_;
  Normal normal_;
  TensorMap out_;
};

}  // namespace

TensorMap random_checkpoint(const ModelConfig& config, uint64_t seed) { return Generator(config, seed).make(); }

}  // namespace attn::convert
