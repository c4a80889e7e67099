#include "util.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "splitmix64.h"

namespace attn::infer {

uint64_t Rng::next() { return splitmix64(state_); }

double Rng::uniform() { return double(next() >> 11) * 0x1.0p-53; }

uint64_t Rng::below(uint64_t bound) {
  // Rejection keeps every value equally likely.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t x;
  do x = next();
  while (x >= limit);
  return x % bound;
}

double Rng::normal() {
  const double u1 = 1.0 - uniform(), u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

Progress::Progress(bool enabled)
    : enabled_(enabled), tty_(isatty(STDERR_FILENO) == 1), start_(Clock::now()), last_(start_) {}

Progress::~Progress() { done(); }

void Progress::update(const std::string& text) {
  if (!enabled_) return;
  const auto now = Clock::now();
  if (std::chrono::duration<double>(now - start_).count() < 2.0) return;
  if (shown_ && std::chrono::duration<double>(now - last_).count() < (tty_ ? 0.25 : 5.0)) return;
  last_ = now;
  shown_ = true;
  if (tty_) {
    std::fprintf(stderr, "\r%-*s", int(width_), text.c_str());
    width_ = std::max(width_, text.size());
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  std::fflush(stderr);
}

void Progress::done() {
  if (enabled_ && shown_ && tty_) std::fprintf(stderr, "\r%*s\r", int(width_), "");
  shown_ = false;
}

std::string metadata(const attn_model* model, const char* key) {
  const char* value = nullptr;
  if (attn_model_metadata(model, key, &value) != ATTN_OK || !value) return "";
  return value;
}

}  // namespace attn::infer
