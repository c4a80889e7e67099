// attn-infer --bench, --compare and --profile: statistics, synthetic inputs,
// and the reports' shapes (the JSON keys other scripts read). Few runs: these
// check that the tools are right, not how fast anything is.

#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "bench.h"
#include "convert.h"
#include "inputs.h"
#include "report.h"
#include "stats.h"
#include "support.h"
#include "sysinfo.h"
#include "util.h"
#include "writer.h"

using namespace attn;
using nlohmann::json;

namespace {

// A random-init model of a fixture's config with another variant, written to
// the test output folder.
std::string model_file(const std::string& fixture, const std::string& attention) {
  json j = json::parse(test::read_text(test::fixture_dir(fixture) + "/config.json"));
  if (j.contains("attention")) j["attention"] = attention;
  const std::string path = std::string(ATTN_TEST_OUTPUT_DIR) + "/bench-" + fixture + "-" + attention + ".attnmodel";
  convert::write_file_atomically(path, convert::convert_random(j.dump(), "config.json", 1, {}).file);
  return path;
}

std::set<std::string> keys(const json& j) {
  std::set<std::string> k;
  for (auto it = j.begin(); it != j.end(); ++it) k.insert(it.key());
  return k;
}

infer::BenchOptions quick() {
  infer::BenchOptions o;
  o.iters = 3;
  o.warmup = 1;
  o.quiet = true;
  return o;
}

}  // namespace

TEST_CASE("latency statistics") {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);
  const infer::Summary s = infer::summarize(v);
  CHECK(s.count == 100);
  CHECK(s.min == 1);
  CHECK(s.p50 == doctest::Approx(50.5));
  CHECK(s.p90 == doctest::Approx(90.1));
  CHECK(s.p99 == doctest::Approx(99.01));
  CHECK(s.mean == doctest::Approx(50.5));
  CHECK(s.stddev == doctest::Approx(29.011492));
  CHECK(infer::summarize({2.0}).stddev == 0);

  // The bootstrap interval holds the median and narrows with more rounds.
  infer::Rng rng(5);
  std::vector<double> few, many;
  for (int i = 0; i < 10; ++i) few.push_back(0.8 + 0.05 * rng.normal());
  for (int i = 0; i < 400; ++i) many.push_back(0.8 + 0.05 * rng.normal());
  const infer::Interval a = infer::bootstrap_median(few, 0.95, 2000, 1);
  const infer::Interval b = infer::bootstrap_median(many, 0.95, 2000, 1);
  CHECK(a.low <= a.estimate);
  CHECK(a.estimate <= a.high);
  CHECK(b.low <= 0.8);
  CHECK(b.high >= 0.8);
  CHECK(b.high - b.low < a.high - a.low);
  const infer::Interval same = infer::bootstrap_median({1.5, 1.5, 1.5}, 0.95, 100, 1);
  CHECK(same.low == 1.5);
  CHECK(same.high == 1.5);
}

TEST_CASE("synthetic inputs fit the model and are never all padding") {
  for (const char* fixture : {"text-standard-fused-pad", "text-optimized-postnorm-pad"}) {
    const std::string path = model_file(fixture, "standard");
    test::Loaded loaded(convert::read_file(path));
    const json config = json::parse(test::read_text(test::fixture_dir(fixture) + "/config.json"));
    const int pad = config["pad_id"].get<int>();
    const infer::RunInputs in = infer::synthetic_inputs(loaded.model, 3, -1);
    REQUIRE(in.data.size() == 1);
    CHECK(in.tokens == config["context"].get<int64_t>());
    const int32_t* ids = reinterpret_cast<const int32_t*>(in.data[0].data());
    for (int64_t t = 0; t < in.tokens; ++t) {
      CHECK(ids[t] != pad);
      CHECK(ids[t] >= 0);
      CHECK(ids[t] < config["vocab_size"].get<int>());
    }
    infer::set_inputs(loaded.session, in, path);
    CHECK(attn_session_run(loaded.session) == ATTN_OK);
    // A text model's length is fixed.
    CHECK_THROWS_AS(infer::synthetic_inputs(loaded.model, 3, 2), infer::Failure);
  }
  const std::string gpt = model_file("gpt-super", "super");
  test::Loaded loaded(convert::read_file(gpt));
  CHECK(infer::synthetic_inputs(loaded.model, 1, 5).shapes[0] == std::vector<int64_t>{5});
  CHECK(infer::synthetic_inputs(loaded.model, 1, 5).tokens == 5);
  CHECK_THROWS_AS(infer::synthetic_inputs(loaded.model, 1, 100000), infer::Failure);
  // The same seed gives the same input.
  CHECK(infer::synthetic_inputs(loaded.model, 9, -1).data == infer::synthetic_inputs(loaded.model, 9, -1).data);
  const std::string vit = model_file("vit-standard-fused", "standard");
  test::Loaded image(convert::read_file(vit));
  const infer::RunInputs in = infer::synthetic_inputs(image.model, 1, -1);
  CHECK(in.tokens == -1);
  CHECK_THROWS_AS(infer::synthetic_inputs(image.model, 1, 4), infer::Failure);
}

TEST_CASE("--bench reports every statistic, per thread count, in the agreed JSON shape") {
  const std::string path = model_file("vit-standard-fused", "super");
  infer::BenchOptions o = quick();
  o.threads = {1, 2};
  o.profile = true;
  const infer::BenchReport r = infer::run_bench(path, o);
  REQUIRE(r.results.size() == 2);
  CHECK(r.family == "vit");
  CHECK(r.attention == "super");
  CHECK(r.kernel_path == attn_kernel_path());
  CHECK(!r.cpu.empty());
  CHECK(!r.build_type.empty());
  CHECK(r.load_ms > 0);
  CHECK(r.prepare_ms > 0);
  CHECK(r.first_run_ms > 0);
  CHECK(r.tokens == -1);
  for (const auto& t : r.results) {
    CHECK(t.ms.count == 3);
    CHECK(t.ms.min <= t.ms.p50);
    CHECK(t.ms.p50 <= t.ms.p90);
    CHECK(t.ms.p90 <= t.ms.p99);
    CHECK(t.runs_per_s > 0);
    CHECK(t.peak_rss_mib > 0);
  }
  CHECK(r.results[1].threads == 2);
  REQUIRE(r.has_profile);
  double total = 0;
  for (double s : r.profile) total += s;
  CHECK(total == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(r.profile[ATTN_OP_CLASS_ATTENTION] > 0);
  CHECK(r.profile[ATTN_OP_CLASS_DENSE] > 0);

  const json j = json::parse(infer::format_bench(r, infer::Format::Json));
  CHECK(keys(j) == std::set<std::string>{"attn_version", "commit", "date", "model", "family", "attention",
                                         "kernel_path", "cpu", "build_type", "input", "load_ms", "prepare_ms",
                                         "first_run_ms", "tokens", "results", "profile"});
  CHECK(j["attn_version"] == attn_version());
  CHECK(j["model"] == path);
  CHECK(j["tokens"].is_null());
  REQUIRE(j["results"].size() == 2);
  CHECK(keys(j["results"][0]) == std::set<std::string>{"threads", "iters", "min_ms", "p50_ms", "p90_ms", "p99_ms",
                                                       "mean_ms", "stddev_ms", "runs_per_s", "peak_rss_mib"});
  CHECK(j["results"][0]["iters"] == 3);
  CHECK(j["results"][1]["threads"] == 2);
  CHECK(keys(j["profile"]) == std::set<std::string>{"attention", "dense", "norm", "activation", "other"});
  double shares = 0;
  for (const auto& [k, v] : j["profile"].items()) shares += v.get<double>();
  CHECK(shares == doctest::Approx(1.0).epsilon(1e-4));

  const std::string csv = infer::format_bench(r, infer::Format::Csv);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 3);  // a header and one row per thread count
  CHECK(csv.rfind("attn_version,commit,date,model,family,attention,", 0) == 0);
  const std::string md = infer::format_bench(r, infer::Format::Markdown);
  CHECK(md.find("| threads | runs |") != std::string::npos);
  CHECK(md.find("| attention |") != std::string::npos);
  const std::string table = infer::format_bench(r, infer::Format::Table);
  CHECK(table.find("p99 ms") != std::string::npos);
  CHECK(table.find("first run") != std::string::npos);
}

TEST_CASE("--bench of a gpt model names its token count, and without --profile the profile is null") {
  const std::string path = model_file("gpt-super", "efficient");
  infer::BenchOptions o = quick();
  o.tokens = 6;
  const infer::BenchReport r = infer::run_bench(path, o);
  const json j = json::parse(infer::format_bench(r, infer::Format::Json));
  CHECK(j["tokens"] == 6);
  CHECK(j["profile"].is_null());
  // The CSV carries the generation figures the JSON does.
  const std::string csv = infer::format_bench(r, infer::Format::Csv);
  CHECK(csv.find(",decode_after,decode_tokens,decode_tokens_per_s,decode_curve") != std::string::npos);
  CHECK(csv.find("," + std::to_string(j["generation"][0]["decode_tokens"].get<int64_t>()) + ",") != std::string::npos);
}

TEST_CASE("--decode's default decodes its 64 tokens when the input fills the context") {
  const std::string path = model_file("gpt-super", "efficient");  // a context of 16
  infer::BenchOptions o = quick();
  o.decode = 4;
  const infer::BenchReport r = infer::run_bench(path, o);
  REQUIRE(r.generation.size() == 1);
  CHECK(r.tokens == 16);
  CHECK(r.generation[0].decode_tokens == 4);
  CHECK(r.generation[0].decode_after == 12);
  o.decode = 64;  // more than the context: all of it, from position 0
  const infer::BenchReport all = infer::run_bench(path, o);
  CHECK(all.generation[0].decode_after == 0);
  CHECK(all.generation[0].decode_tokens == 16);
}

TEST_CASE("--compare interleaves the four variants and gives ratios with intervals") {
  std::vector<std::string> paths;
  for (const char* v : {"standard", "optimized", "efficient", "super"}) paths.push_back(model_file("text-super-postnorm", v));
  infer::BenchOptions o = quick();
  o.iters = 2;
  o.rounds = 4;
  const infer::CompareReport r = infer::run_compare(paths, o);
  REQUIRE(r.entries.size() == 4);
  CHECK(r.rounds == 4);
  CHECK(r.threads == 1);
  CHECK(r.entries[0].ratio == 1.0);
  CHECK(r.entries[0].attention == "standard");
  CHECK(r.entries[3].attention == "super");
  for (const auto& e : r.entries) {
    CHECK(e.runs == 8);
    CHECK(e.p50_ms > 0);
    CHECK(e.ratio > 0);
    CHECK(e.ratio_ci_low <= e.ratio);
    CHECK(e.ratio <= e.ratio_ci_high);
  }
  const json j = json::parse(infer::format_compare(r, infer::Format::Json));
  CHECK(keys(j) == std::set<std::string>{"attn_version", "commit", "date", "kernel_path", "cpu", "build_type", "input",
                                         "compare", "threads", "rounds"});
  REQUIRE(j["compare"].size() == 4);
  CHECK(keys(j["compare"][1]) ==
        std::set<std::string>{"model", "attention", "p50_ms", "ratio", "ratio_ci_low", "ratio_ci_high", "runs"});
  CHECK(j["rounds"] == 4);
  const std::string table = infer::format_compare(r, infer::Format::Table);
  CHECK(table.find("95% CI") != std::string::npos);
  const std::string csv = infer::format_compare(r, infer::Format::Csv);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 5);
}

TEST_CASE("machine description") {
  CHECK(!infer::cpu_model().empty());
  CHECK(infer::logical_cpus() >= 1);
  CHECK(infer::peak_rss_mib() > 0);
  CHECK(std::string(infer::build_type()).size() > 0);
  CHECK(infer::resolve_threads(0) == infer::logical_cpus());
  CHECK(infer::resolve_threads(3) == 3);
}
