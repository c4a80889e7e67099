#include "random_init.h"

#include <cmath>

#include "families/family.h"
#include "splitmix64.h"

namespace attn::convert {

namespace {

constexpr double kStd = 0.02;

}  // namespace

Normal::Normal(uint64_t seed) : state_(seed ^ 0x6a09e667f3bcc909ull) {}

double Normal::operator()() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // In (0, 1): the log below never sees 0.
  auto uniform = [this] { return (double(splitmix64(state_) >> 11) + 0.5) * 0x1.0p-53; };
  const double u1 = uniform(), u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1)), a = 2.0 * M_PI * u2;
  spare_ = r * std::sin(a);
  has_spare_ = true;
  return r * std::cos(a);
}

RandomCheckpoint::RandomCheckpoint(const ModelConfig& config, bool causal, uint64_t seed)
    : c_(config), causal_(causal), normal_(seed) {}

Tensor& RandomCheckpoint::fill(const std::string& name, std::vector<int64_t> shape, double value) {
  size_t count = 1;
  for (int64_t d : shape) count *= size_t(d);
  Tensor& t = out_[name];
  t.shape = std::move(shape);
  t.dtype = "F32";
  t.data.assign(count, float(value));
  return t;
}

void RandomCheckpoint::random(const std::string& name, std::vector<int64_t> shape) {
  for (float& v : fill(name, std::move(shape), 0.0).data) v = float(kStd * normal_());
}

void RandomCheckpoint::norm(const std::string& prefix) {
  fill(prefix + ".weight", {c_.d_model}, 1.0);
  fill(prefix + ".bias", {c_.d_model}, 0.0);
}

void RandomCheckpoint::linear(const std::string& prefix, int64_t out, int64_t in, bool bias) {
  if (c_.weight_layout == "conv1d") random(prefix + ".weight", {in, out});
  else random(prefix + ".weight", {out, in});
  if (bias) random(prefix + ".bias", {out});
}

void RandomCheckpoint::align(const std::string& prefix) {
  const int64_t L = c_.context;
  random(prefix + ".weight", {L, L});
  if (causal_) {
    std::vector<float>& w = out_[prefix + ".weight"].data;
    for (int64_t t = 0; t < L; ++t)
      for (int64_t s = t + 1; s < L; ++s) w[size_t(t * L + s)] = 0.0f;
  }
  if (c_.align_bias) random(prefix + ".bias", {L});
}

void RandomCheckpoint::block(const BlockNames& n, bool fused) {
  const int64_t d = c_.d_model;
  const VariantTraits* variant = variant_named(c_.attention);
  if (!variant) throw InputError("config.json: attention '" + c_.attention + "' is not a known variant");
  norm(n.ln1);
  norm(n.ln2);
  if (fused) {
    linear(n.qkv, 3 * d, d, c_.qkv_bias);
  } else {
    linear(n.q, d, d, c_.qkv_bias);
    if (variant->keys == RowSource::KeyProjection) linear(n.k, d, d, c_.qkv_bias);
    if (variant->values == RowSource::ValueProjection) linear(n.v, d, d, c_.qkv_bias);
  }
  if (variant->token_mixing()) align(n.align);
  linear(n.proj, d, d);
  linear(n.fc1, c_.mlp_dim, d);
  linear(n.fc2, d, c_.mlp_dim);
}

TensorMap random_checkpoint(const ModelConfig& config, uint64_t seed) {
  const Family& family = family_named_in(config);
  RandomCheckpoint checkpoint(config, family.causal, seed);
  family.random_init(checkpoint);
  return checkpoint.take();
}

}  // namespace attn::convert
