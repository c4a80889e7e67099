// Small pieces shared by attn-infer's modes.
#pragma once

#include <attn/attn.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "cli.h"
#include "failure.h"
#include "shape_text.h"

namespace attn::infer {

using cli::Failure;

inline void check(attn_status status, const std::string& what) {
  if (status != ATTN_OK) throw Failure{what + ": " + attn_last_error_message()};
}

// A model's shape for the user: the free sequence length as "n".
inline std::string shape_text(const int64_t* shape, size_t rank) { return attn::shape_text(shape, rank, "n"); }

// splitmix64: seeded, the same numbers everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double uniform();                 // in [0, 1)
  uint64_t below(uint64_t bound);   // in [0, bound)
  double normal();                  // N(0, 1), Box-Muller

 private:
  uint64_t state_;
};

// How attn-infer's sessions run besides their thread count, set once from
// the command line.
inline cli::SessionChoice& session_choice() {
  static cli::SessionChoice choice;
  return choice;
}
// The kernel path the sessions run on, and the quantized kernel variant
// when one is chosen: "avx2" or "avx2, quantized avx2".
inline std::string chosen_kernel_path() {
  const cli::SessionChoice& c = session_choice();
  const std::string path = c.kernel_path.empty() ? attn_kernel_path() : c.kernel_path;
  return c.quant_kernels.empty() ? path : path + ", quantized " + c.quant_kernels;
}
// Session options with that choice and `threads`.
inline attn_session_options session_options(uint32_t threads) {
  attn_session_options o;
  attn_session_options_init(&o);
  o.threads = threads;
  session_choice().apply(o);
  return o;
}

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Progress on stderr, shown only once the work has taken ~2 s: rewritten in
// place on a terminal, a line every few seconds otherwise.
class Progress {
 public:
  explicit Progress(bool enabled);
  ~Progress();
  void update(const std::string& text);
  void done();

 private:
  bool enabled_, tty_, shown_ = false;
  Clock::time_point start_, last_;
  size_t width_ = 0;
};

// Model handles released on scope exit.
struct ModelHandle {
  attn_model* model = nullptr;
  ModelHandle() = default;
  ModelHandle(const ModelHandle&) = delete;
  ModelHandle& operator=(const ModelHandle&) = delete;
  ModelHandle(ModelHandle&& o) noexcept : model(o.model) { o.model = nullptr; }
  ~ModelHandle() { attn_model_release(model); }
};

struct SessionHandle {
  attn_session* session = nullptr;
  SessionHandle() = default;
  SessionHandle(const SessionHandle&) = delete;
  SessionHandle& operator=(const SessionHandle&) = delete;
  SessionHandle(SessionHandle&& o) noexcept : session(o.session) { o.session = nullptr; }
  ~SessionHandle() { attn_session_release(session); }
};

// A metadata string, "" when absent.
std::string metadata(const attn_model* model, const char* key);

}  // namespace attn::infer
