#include "bench.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "inputs.h"
#include "sysinfo.h"
#include "util.h"

namespace attn::infer {

namespace {

constexpr size_t kMaxRuns = 10'000'000;  // per thread count: bounds the memory of the latencies
constexpr double kDefaultMinTime = 1.0;  // seconds of timed runs when neither --iters nor --min-time is given
constexpr uint64_t kMinRunsByTime = 5;   // timed runs at least, when timing by --min-time

double ms_since(Clock::time_point t0) { return 1e3 * seconds_since(t0); }

struct LoadedModel {
  std::string path;
  ModelHandle handle;
  RunInputs inputs;
  double load_ms = 0;
};

LoadedModel load(const std::string& path, const BenchOptions& options) {
  LoadedModel m;
  m.path = path;
  const auto t0 = Clock::now();
  check(attn_model_load_file(path.c_str(), &m.handle.model), "loading the model");
  m.load_ms = ms_since(t0);
  m.inputs = options.input_path.empty() ? synthetic_inputs(m.handle.model, options.seed, options.tokens)
                                        : npy_inputs(m.handle.model, options.input_path);
  return m;
}

SessionHandle make_session(const LoadedModel& m, uint32_t threads, bool profile, double* prepare_ms) {
  attn_session_options o = session_options(threads);
  o.profile = profile ? 1 : 0;
  SessionHandle s;
  const auto t0 = Clock::now();
  check(attn_session_create(m.handle.model, &o, &s.session), m.path + ": preparing a session");
  if (prepare_ms) *prepare_ms = ms_since(t0);
  set_inputs(s.session, m.inputs, m.path);
  return s;
}

double timed_run(attn_session* session, const std::string& path) {
  const auto t0 = Clock::now();
  const attn_status status = attn_session_run(session);
  const double ms = ms_since(t0);
  check(status, path + ": run");
  return ms;
}

// The first run, then the warm-up: --warmup N more runs, or by default more
// runs until half a second has passed (at most 10). Returns the first run's
// time and sets *typical_ms to the last run's.
double warm_up(attn_session* session, const BenchOptions& options, const std::string& path, double* typical_ms) {
  const auto t0 = Clock::now();
  const double first = timed_run(session, path);
  double last = first;
  if (options.warmup >= 0) {
    for (int64_t i = 0; i < options.warmup; ++i) last = timed_run(session, path);
  } else {
    for (int i = 0; i < 10 && seconds_since(t0) < 0.5; ++i) last = timed_run(session, path);
  }
  if (typical_ms) *typical_ms = last;
  return first;
}

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

// Decodes `count` tokens one at a time after `after` cached tokens; returns
// the seconds spent decoding.
double decode_run(attn_session* session, const std::vector<int32_t>& ids, int64_t after, int64_t count,
                  const std::string& path) {
  check(attn_session_reset(session), path + ": reset");
  if (after > 0) check(attn_session_decode(session, ids.data(), size_t(after)), path + ": prefill");
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < count; ++i)
    check(attn_session_decode(session, ids.data() + after + i, 1), path + ": decode");
  return seconds_since(t0);
}

// Prefill speed from the timed runs, decode speed after them, and for the
// first thread count the decode cost at positions across the context.
void measure_generation(const LoadedModel& m, attn_session* session, const BenchOptions& options, ThreadResult& tr,
                        bool first, BenchReport& r) {
  int64_t max_tokens = 0;
  check(attn_model_max_tokens(m.handle.model, &max_tokens), "max_tokens");
  attn_tensor_info in;
  check(attn_model_input_info(m.handle.model, 0, &in), "input info");
  // Ids to decode: the input's, continued with the same ids cyclically.
  const int32_t* given = reinterpret_cast<const int32_t*>(m.inputs.data.front().data());
  const size_t given_count = m.inputs.data.front().size() / 4;
  std::vector<int32_t> ids(static_cast<size_t>(max_tokens));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = given[i % given_count];

  GenerationResult g;
  g.threads = tr.threads;
  g.prefill_tokens_per_s = tr.ms.p50 > 0 ? double(r.tokens) / (tr.ms.p50 / 1e3) : 0;
  // The decode gets its N tokens whenever the context holds them: it starts
  // after fewer tokens than the input when the input fills the context.
  g.decode_after = std::max<int64_t>(0, std::min<int64_t>(r.tokens, max_tokens - std::max<int64_t>(options.decode, 1)));
  g.decode_tokens = std::min<int64_t>(options.decode, max_tokens - g.decode_after);
  if (g.decode_tokens > 0) {
    std::vector<double> rates;
    const auto t0 = Clock::now();
    while (rates.size() < 3 || (seconds_since(t0) < 0.5 && rates.size() < 50))
      rates.push_back(double(g.decode_tokens) / decode_run(session, ids, g.decode_after, g.decode_tokens, m.path));
    std::sort(rates.begin(), rates.end());
    g.decode_tokens_per_s = rates[rates.size() / 2];
  }
  r.generation.push_back(g);
  if (!first) return;
  size_t per_token = 0;
  check(attn_session_cache_info(session, nullptr, &per_token), "cache info");
  r.cache_bytes_per_token = per_token;
  // Eight positions across the context, 8 tokens decoded at each, best of 3.
  const int64_t span = 8;
  for (int k = 0; k < 8 && max_tokens > span; ++k) {
    const int64_t at = (max_tokens - span) * k / 7;
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) best = std::min(best, decode_run(session, ids, at, span, m.path));
    r.decode_curve.push_back({at, 1e6 * best / double(span)});
  }
}

}  // namespace

uint32_t resolve_threads(uint32_t threads) { return threads ? threads : logical_cpus(); }

BenchReport run_bench(const std::string& model_path, const BenchOptions& options) {
  BenchReport r;
  r.model = model_path;
  LoadedModel m = load(model_path, options);
  r.load_ms = m.load_ms;
  r.family = metadata(m.handle.model, "family");
  r.attention = metadata(m.handle.model, "attention");
  r.kernel_path = chosen_kernel_path();
  r.cpu = cpu_model();
  r.build_type = build_type();
  r.input = m.inputs.description;
  r.tokens = m.inputs.tokens;

  const bool by_count = options.iters > 0;
  const double min_time = options.min_time >= 0 ? options.min_time : by_count ? 0.0 : kDefaultMinTime;
  const uint64_t min_runs = by_count ? options.iters : kMinRunsByTime;
  Progress progress(!options.quiet);
  for (size_t k = 0; k < options.threads.size(); ++k) {
    ThreadResult tr;
    tr.threads = resolve_threads(options.threads[k]);
    double prepare_ms = 0;
    SessionHandle s = make_session(m, options.threads[k], false, &prepare_ms);
    const double first = warm_up(s.session, options, m.path, nullptr);
    if (k == 0) r.prepare_ms = prepare_ms, r.first_run_ms = first;
    std::vector<double> ms;
    const auto t0 = Clock::now();
    while ((ms.size() < min_runs || seconds_since(t0) < min_time) && ms.size() < kMaxRuns) {
      ms.push_back(timed_run(s.session, m.path));
      progress.update("attn-infer: " + std::to_string(tr.threads) + " thread" + (tr.threads == 1 ? "" : "s") + ": " +
                      std::to_string(ms.size()) + " runs, " + fixed(seconds_since(t0), 1) + " s");
    }
    tr.ms = summarize(ms);
    tr.runs_per_s = tr.ms.mean > 0 ? 1e3 / tr.ms.mean : 0;
    if (r.family == "gpt") {
      progress.update("attn-infer: " + std::to_string(tr.threads) + " thread" + (tr.threads == 1 ? "" : "s") +
                      ": decoding");
      measure_generation(m, s.session, options, tr, k == 0, r);
    }
    tr.peak_rss_mib = peak_rss_mib();
    r.results.push_back(tr);
  }

  if (options.profile) {
    // A session of its own, so the clock reads of profiling stay out of the
    // timings above.
    SessionHandle s = make_session(m, options.threads[0], true, nullptr);
    warm_up(s.session, options, m.path, nullptr);
    check(attn_session_profile_reset(s.session), "profile");
    const Summary& timed = r.results[0].ms;
    const size_t wanted = size_t(std::ceil(1000.0 / std::max(timed.p50, 1e-6)));
    const size_t runs = std::max<size_t>(1, std::min(timed.count, std::max<size_t>(3, wanted)));
    double run_seconds = 0;
    for (size_t i = 0; i < runs; ++i) {
      run_seconds += timed_run(s.session, m.path) / 1e3;
      progress.update("attn-infer: profile: " + std::to_string(i + 1) + "/" + std::to_string(runs) + " runs");
    }
    std::array<double, ATTN_OP_CLASS_COUNT> seconds{};
    uint64_t counted = 0;
    check(attn_session_profile(s.session, seconds.data(), &counted), "profile");
    double total = 0;
    for (double x : seconds) total += x;
    for (size_t c = 0; c < seconds.size(); ++c) r.profile[c] = total > 0 ? seconds[c] / total : 0;
    r.profile_coverage = run_seconds > 0 ? total / run_seconds : 0;
    r.profile_threads = resolve_threads(options.threads[0]);
    r.profile_runs = size_t(counted);
    r.has_profile = true;
  }
  progress.done();
  return r;
}

CompareReport run_compare(const std::vector<std::string>& paths, const BenchOptions& options) {
  CompareReport r;
  const uint32_t threads = options.threads.at(0);
  r.threads = resolve_threads(threads);
  r.kernel_path = chosen_kernel_path();
  r.cpu = cpu_model();
  r.build_type = build_type();
  Progress progress(!options.quiet);
  std::vector<LoadedModel> models;
  std::vector<SessionHandle> sessions;
  std::vector<size_t> per_round;
  for (const std::string& path : paths) {
    models.push_back(load(path, options));
    sessions.push_back(make_session(models.back(), threads, false, nullptr));
    double typical_ms = 0;
    warm_up(sessions.back().session, options, path, &typical_ms);
    // By default about 20 ms of runs per model per round (1..100 runs).
    per_round.push_back(options.iters ? size_t(options.iters)
                                      : size_t(std::clamp(std::ceil(20.0 / std::max(typical_ms, 1e-3)), 1.0, 100.0)));
    progress.update("attn-infer: warming up " + path);
  }
  r.input = models[0].inputs.description;

  const size_t n = models.size();
  std::vector<std::vector<double>> all(n), round_median(n);
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  Rng rng(options.seed);
  const size_t min_rounds = size_t(std::max<uint64_t>(options.rounds, 1));
  const double min_time = std::max(options.min_time, 0.0);
  const auto t0 = Clock::now();
  std::vector<double> ms;
  while (r.rounds < min_rounds || (seconds_since(t0) < min_time && r.rounds < 100000)) {
    for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    for (size_t i : order) {
      ms.clear();
      for (size_t k = 0; k < per_round[i]; ++k) ms.push_back(timed_run(sessions[i].session, models[i].path));
      all[i].insert(all[i].end(), ms.begin(), ms.end());
      round_median[i].push_back(median(ms));
    }
    ++r.rounds;
    progress.update("attn-infer: round " + std::to_string(r.rounds) +
                    (min_time > 0 ? ", " + fixed(seconds_since(t0), 1) + " s" : "/" + std::to_string(min_rounds)));
  }
  progress.done();

  for (size_t i = 0; i < n; ++i) {
    CompareEntry e;
    e.model = models[i].path;
    e.attention = metadata(models[i].handle.model, "attention");
    e.p50_ms = median(all[i]);
    e.runs = all[i].size();
    e.runs_per_round = per_round[i];
    if (i > 0) {
      std::vector<double> ratios(r.rounds);
      for (size_t k = 0; k < r.rounds; ++k) ratios[k] = round_median[i][k] / round_median[0][k];
      const Interval ci = bootstrap_median(ratios, 0.95, 2000, options.seed + i);
      e.ratio = ci.estimate, e.ratio_ci_low = ci.low, e.ratio_ci_high = ci.high;
    }
    r.entries.push_back(e);
  }
  return r;
}

}  // namespace attn::infer
