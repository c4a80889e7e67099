#include "sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "error.h"
#include "splitmix64.h"

namespace attn {

namespace {

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(uint64_t seed) {
  for (uint64_t& s : s_) s = splitmix64(seed);
}

uint64_t Rng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

Sampler::Sampler(const attn_sampler_options& o, size_t vocab) : options_(o), rng_(o.seed) {
  const auto bad = [](const std::string& what) { fail(ATTN_ERROR_INVALID_ARGUMENT, "sampler options: " + what); };
  if (!(o.temperature >= 0 && o.temperature <= 1e6)) bad("temperature must be in [0, 1e6], got " + std::to_string(o.temperature));
  if (!(o.top_p > 0 && o.top_p <= 1)) bad("top_p must be in (0, 1], got " + std::to_string(o.top_p));
  if (!(o.repetition_penalty >= 1 && o.repetition_penalty <= 1e6))
    bad("repetition_penalty must be in [1, 1e6], got " + std::to_string(o.repetition_penalty));
  if (vocab == 0 || vocab > (size_t(1) << 24)) bad("vocabulary size " + std::to_string(vocab) + " is outside 1..2^24");
  scores_.resize(vocab);
  probs_.resize(vocab);
  order_.resize(vocab);
  seen_.assign(vocab, 0);
}

int32_t Sampler::sample(const float* logits, size_t count, const int32_t* history, size_t history_count) {
  if (count != scores_.size())
    fail(ATTN_ERROR_SHAPE_MISMATCH, std::to_string(count) + " logits given, the sampler was made for " + std::to_string(scores_.size()));
  for (size_t i = 0; i < count; ++i) {
    if (!std::isfinite(logits[i])) fail(ATTN_ERROR_INVALID_ARGUMENT, "logit " + std::to_string(i) + " is not finite");
    scores_[i] = logits[i];
  }
  // CTRL's repetition penalty: each token already seen is made less likely
  // once, however often it was seen (positive logits divided, negative multiplied).
  if (options_.repetition_penalty != 1) {
    const double p = options_.repetition_penalty;
    for (size_t h = 0; h < history_count; ++h)  // all checked first, so that a refusal leaves no mark in seen_
      if (history[h] < 0 || size_t(history[h]) >= count)
        fail(ATTN_ERROR_OUT_OF_RANGE, "history[" + std::to_string(h) + "] = " + std::to_string(history[h]) + " is not a token id");
    for (size_t h = 0; h < history_count; ++h) {
      const int32_t id = history[h];
      if (seen_[size_t(id)]) continue;
      seen_[size_t(id)] = 1;
      scores_[size_t(id)] = scores_[size_t(id)] > 0 ? scores_[size_t(id)] / p : scores_[size_t(id)] * p;
    }
    for (size_t h = 0; h < history_count; ++h) seen_[size_t(history[h])] = 0;
  }
  // Most likely first; ties by lower id, so the order never depends on the sort.
  const auto before = [&](int32_t a, int32_t b) { return scores_[size_t(a)] > scores_[size_t(b)] || (scores_[size_t(a)] == scores_[size_t(b)] && a < b); };
  if (options_.temperature == 0) {
    int32_t best = 0;
    for (size_t i = 1; i < count; ++i)
      if (before(int32_t(i), best)) best = int32_t(i);
    return best;
  }
  std::iota(order_.begin(), order_.end(), 0);
  size_t keep = options_.top_k ? std::min<size_t>(options_.top_k, count) : count;
  std::partial_sort(order_.begin(), order_.begin() + std::ptrdiff_t(keep), order_.end(), before);
  const double max = scores_[size_t(order_[0])];
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += probs_[i] = std::exp((scores_[size_t(order_[i])] - max) / options_.temperature);
  if (options_.top_p < 1) {
    // The fewest most likely tokens whose probability reaches top_p.
    double mass = 0;
    size_t i = 0;
    while (i < keep && mass < options_.top_p * total) mass += probs_[i++];
    keep = std::max<size_t>(i, 1);
    total = mass;
  }
  double r = rng_.uniform() * total;
  for (size_t i = 0; i < keep; ++i) {
    if (r < probs_[i]) return order_[i];
    r -= probs_[i];
  }
  return order_[keep - 1];  // r fell past the last token by rounding
}

}  // namespace attn
