// The exact FLOP count of one run of a model, by the runtime's operator
// classes. The same count, with the same conventions, as bench/flops.py
// (whose docstring explains them); `flops.py --check-cpp` compares the two.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "variants.h"

namespace attn_bench {

struct Flops {
  int64_t dense = 0, attention = 0, norm = 0, activation = 0, other = 0;
  int64_t total() const { return dense + attention + norm + activation + other; }
};

constexpr int64_t kLayerNorm = 8;  // per element
constexpr int64_t kSoftmax = 6;    // per score

inline int64_t activation_flops(const std::string& name) {
  if (name == "gelu") return 5;
  if (name == "gelu_tanh") return 9;
  return 1;  // relu
}

// The variant named in a config (variants.h's table).
inline const attn::VariantTraits& variant_of(const nlohmann::json& c) {
  const std::string name = c.at("attention").get<std::string>();
  const attn::VariantTraits* v = attn::variant_named(name);
  if (!v) throw std::invalid_argument("unknown attention variant '" + name + "'");
  return *v;
}

// Tokens of a run: the context, except gpt (a prefill of up to 128 tokens).
inline int64_t default_tokens(const nlohmann::json& c) {
  const int64_t L = c.at("context").get<int64_t>();
  return c.at("family") == "gpt" ? (L < 128 ? L : 128) : L;
}

// The paper-style count of the attention layers (see flops.py).
inline int64_t paper_flops(const nlohmann::json& c, int64_t n) {
  const int64_t d = c.at("d_model").get<int64_t>();
  const attn::VariantTraits& v = variant_of(c);
  const int64_t nproj = v.projections() + 1;  // and the output projection
  int64_t mults = nproj * n * d * d + 2 * n * n * d;
  if (v.token_mixing()) mults += n * n * d;
  return 2 * mults * c.at("layers").get<int64_t>();
}

inline Flops exact_flops(const nlohmann::json& c, int64_t n) {
  const std::string family = c.at("family").get<std::string>();
  const attn::VariantTraits& variant = variant_of(c);
  const int64_t d = c.at("d_model").get<int64_t>(), m = c.at("mlp_dim").get<int64_t>();
  const int64_t heads = c.at("heads").get<int64_t>(), layers = c.at("layers").get<int64_t>();
  const bool qkv_bias = c.value("qkv_bias", true), align_bias = c.value("align_bias", true);
  Flops f;
  if (family == "vit") {
    const int64_t H = c.at("image_size")[0].get<int64_t>(), W = c.at("image_size")[1].get<int64_t>();
    const int64_t p = c.at("patch_size").get<int64_t>(), C = c.at("channels").get<int64_t>();
    const int64_t patches = (H / p) * (W / p);
    n = c.at("context").get<int64_t>();
    f.dense += 2 * patches * C * p * p * d + patches * d;
  }
  f.other += n * d;  // position embedding
  const bool causal = family == "gpt";
  const int64_t pairs = causal ? n * (n + 1) / 2 : n * n;
  Flops b;
  b.dense += variant.projections() * (2 * n * d * d + (qkv_bias ? n * d : 0));
  b.dense += 2 * n * d * d + n * d;
  b.attention += 2 * pairs * d * 2 + kSoftmax * pairs * heads;
  if (variant.token_mixing()) b.attention += 2 * pairs * d + (align_bias ? n * d : 0);
  b.dense += 2 * n * d * m + n * m + 2 * n * m * d + n * d;
  b.activation += activation_flops(c.at("activation").get<std::string>()) * n * m;
  b.norm += 2 * kLayerNorm * n * d;
  b.other += 2 * n * d;
  f.dense += layers * b.dense;
  f.attention += layers * b.attention;
  f.norm += layers * b.norm;
  f.activation += layers * b.activation;
  f.other += layers * b.other;
  if (family == "vit") {
    const int64_t classes = c.at("num_classes").get<int64_t>();
    f.norm += kLayerNorm * n * d;
    if (c.at("pool") == "mean") f.other += n * d + d;
    f.dense += 2 * d * classes + classes;
  } else if (family == "text") {
    const int64_t classes = c.at("num_classes").get<int64_t>();
    f.other += n * d + d;
    int64_t width = d;
    const int64_t hid = c.value("pre_logits", int64_t{0});
    if (hid > 0) {
      f.dense += 2 * d * hid + 2 * hid;
      width = hid;
    }
    f.dense += 2 * width * classes + classes;
  } else {
    f.norm += kLayerNorm * n * d;
    f.dense += 2 * n * d * c.at("vocab_size").get<int64_t>();
  }
  return f;
}

}  // namespace attn_bench
