// attn-infer --bench and --compare: latency measurement.
#pragma once

#include <attn/attn.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "stats.h"

namespace attn::infer {

struct BenchOptions {
  std::vector<uint32_t> threads = {1};  // 0 = one per core
  uint64_t iters = 0;                   // timed runs (per thread count, or per model per round); 0 = automatic
  double min_time = -1;                 // seconds; < 0 = the default
  int64_t warmup = -1;                  // warm-up runs; -1 = automatic
  uint64_t rounds = 20;                 // --compare
  bool profile = false;
  uint64_t seed = 1;
  int64_t tokens = -1;                  // gpt sequence length; -1 = max_tokens
  std::string input_path;               // "" = synthetic inputs
  int64_t decode = 64;                  // gpt: tokens decoded one at a time after the input, through the cache
  bool quiet = false;                   // no progress on stderr
};

struct ThreadResult {
  uint32_t threads = 1;
  Summary ms;  // latency of one run, milliseconds
  double runs_per_s = 0, peak_rss_mib = 0;
};

// gpt models: generation through the decode cache.
struct GenerationResult {
  uint32_t threads = 1;
  double prefill_tokens_per_s = 0;  // the whole input in one run (p50)
  int64_t decode_after = 0;         // tokens in the cache when decoding starts
  int64_t decode_tokens = 0;        // tokens decoded one at a time
  double decode_tokens_per_s = 0;   // median over repetitions
};

// Decode time per token at a position: a flat or linear curve, not a
// quadratic one, shows the cache at work.
struct DecodePoint {
  int64_t position = 0;
  double us_per_token = 0;
};

struct BenchReport {
  std::string model, family, attention, kernel_path, cpu, build_type, input;
  double load_ms = 0, prepare_ms = 0, first_run_ms = 0;
  int64_t tokens = -1;  // -1: the model takes no tokens
  std::vector<ThreadResult> results;
  bool has_profile = false;
  std::array<double, ATTN_OP_CLASS_COUNT> profile{};  // share of the operators' time per class
  double profile_coverage = 0;                         // operators' time / run time
  uint32_t profile_threads = 1;
  size_t profile_runs = 0;
  std::vector<GenerationResult> generation;  // per thread count; empty unless gpt
  std::vector<DecodePoint> decode_curve;     // first thread count
  size_t cache_bytes_per_token = 0;
};

BenchReport run_bench(const std::string& model_path, const BenchOptions& options);

struct CompareEntry {
  std::string model, attention;
  double p50_ms = 0, ratio = 1, ratio_ci_low = 1, ratio_ci_high = 1;
  size_t runs = 0, runs_per_round = 0;
};

struct CompareReport {
  std::vector<CompareEntry> entries;
  uint32_t threads = 1;
  size_t rounds = 0;
  std::string kernel_path, cpu, build_type, input;
};

// Runs the models interleaved: in every round each model runs its share of
// runs, in a new seeded random order, so that a drift of the machine falls on
// all alike. Each model's ratio to the first is the median over rounds of the
// ratio of the two models' median latencies in that round, with a 95%
// bootstrap interval over rounds.
CompareReport run_compare(const std::vector<std::string>& model_paths, const BenchOptions& options);

// Thread count 0 as the number of logical CPUs.
uint32_t resolve_threads(uint32_t threads);

}  // namespace attn::infer
