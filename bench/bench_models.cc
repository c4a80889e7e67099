// Whole-model benchmarks through the C API: every <name>/<variant>.attnmodel
// under the models directory (made by bench/make_models.py), at each thread
// count, with the model's exact FLOP count as a rate counter (FLOPS) and the
// paper-style attention count as a second one (paper_FLOPS); see
// bench/flops.py for both. Missing models are skipped.
//
//   build-bench/bench/bench_models --models_dir=build/bench-models --threads=1,2
//   ATTN_BENCH_MODELS=build/bench-models build-bench/bench/bench_models
//
// Options (besides Google Benchmark's own --benchmark_*):
//   --models_dir=DIR     default $ATTN_BENCH_MODELS, else build/bench-models
//   --threads=LIST       comma-separated thread counts (default 1)
//   --gpt_tokens=N       tokens of a gpt prefill (default 128)
//   --print_flops=CONFIG.json:TOKENS   print the exact count as JSON and exit

#include <attn/attn.h>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "flops.h"

namespace fs = std::filesystem;

namespace {

const char* const kVariants[] = {"standard", "optimized", "efficient", "super"};

struct ModelCase {
  std::string name, variant, path;
};

struct Options {
  std::string models_dir;
  std::vector<uint32_t> threads{1};
  int64_t gpt_tokens = 128;
};

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

std::vector<uint32_t> parse_list(const std::string& s) {
  std::vector<uint32_t> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(uint32_t(std::strtoul(s.substr(i, j - i).c_str(), nullptr, 10)));
    i = j + 1;
  }
  return out;
}

// Inputs of one run: seeded random pixels or token ids of the model's shape.
struct Input {
  attn_dtype dtype;
  std::vector<int64_t> shape;
  std::vector<float> f32;
  std::vector<int32_t> i32;
  const void* data() const { return dtype == ATTN_DTYPE_F32 ? static_cast<const void*>(f32.data()) : i32.data(); }
  size_t bytes() const { return dtype == ATTN_DTYPE_F32 ? f32.size() * 4 : i32.size() * 4; }
};

bool make_input(attn_model* model, int64_t tokens, int64_t vocab, Input* in) {
  attn_tensor_info info;
  if (attn_model_input_info(model, 0, &info) != ATTN_OK) return false;
  in->dtype = info.dtype;
  in->shape.clear();
  size_t count = 1;
  for (size_t r = 0; r < info.rank; ++r) {
    int64_t dim = info.shape[r] < 0 ? tokens : info.shape[r];
    if (r == 0 && info.rank > 1 && info.shape[r] < 0) dim = 1;
    in->shape.push_back(dim);
    count *= size_t(dim);
  }
  std::mt19937 rng(1234);
  if (info.dtype == ATTN_DTYPE_F32) {
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    in->f32.resize(count);
    for (float& x : in->f32) x = u(rng);
  } else {
    std::uniform_int_distribution<int32_t> u(0, int32_t(std::max<int64_t>(vocab, 1) - 1));
    in->i32.resize(count);
    for (int32_t& x : in->i32) x = u(rng);
  }
  return true;
}

void bm_model(benchmark::State& state, ModelCase mc, uint32_t threads, int64_t gpt_tokens) {
  attn_model* model = nullptr;
  if (attn_model_load_file(mc.path.c_str(), &model) != ATTN_OK)
    return state.SkipWithError(attn_last_error_message());
  std::unique_ptr<attn_model, void (*)(attn_model*)> model_guard(model, attn_model_release);
  const char* config_json = nullptr;
  if (attn_model_metadata(model, "config_json", &config_json) != ATTN_OK)
    return state.SkipWithError(attn_last_error_message());
  const nlohmann::json config = nlohmann::json::parse(config_json);
  const bool gpt = config.at("family") == "gpt";
  const int64_t context = config.at("context").get<int64_t>();
  const int64_t tokens = gpt ? std::min(gpt_tokens, context) : context;
  const int64_t vocab = config.value("vocab_size", int64_t{1});

  attn_session_options options;
  attn_session_options_init(&options);
  options.struct_size = sizeof options;
  options.threads = threads;
  attn_session* session = nullptr;
  if (attn_session_create(model, &options, &session) != ATTN_OK)
    return state.SkipWithError(attn_last_error_message());
  std::unique_ptr<attn_session, void (*)(attn_session*)> session_guard(session, attn_session_release);
  Input in;
  if (!make_input(model, tokens, vocab, &in)) return state.SkipWithError(attn_last_error_message());
  if (attn_session_set_input(session, 0, in.data(), in.bytes(), in.shape.data(), in.shape.size()) != ATTN_OK)
    return state.SkipWithError(attn_last_error_message());
  if (attn_session_run(session) != ATTN_OK) return state.SkipWithError(attn_last_error_message());  // warm-up

  for (auto _ : state) {
    if (attn_session_run(session) != ATTN_OK) return state.SkipWithError(attn_last_error_message());
  }
  const attn_bench::Flops f = attn_bench::exact_flops(config, tokens);
  state.counters["FLOPS"] = benchmark::Counter(double(f.total()), benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::OneK::kIs1000);
  state.counters["paper_FLOPS"] = benchmark::Counter(double(attn_bench::paper_flops(config, tokens)),
                                                     benchmark::Counter::kIsIterationInvariantRate,
                                                     benchmark::Counter::OneK::kIs1000);
  state.counters["tokens"] = double(tokens);
  state.SetLabel(std::string(attn_kernel_path()));
}

std::vector<ModelCase> find_models(const std::string& dir) {
  std::vector<ModelCase> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  for (const auto& name : names)
    for (const char* v : kVariants) {
      const fs::path p = fs::path(dir) / name / (std::string(v) + ".attnmodel");
      if (fs::exists(p, ec)) out.push_back({name, v, p.string()});
    }
  return out;
}

int print_flops(const std::string& spec) {
  const size_t colon = spec.rfind(':');
  const std::string path = spec.substr(0, colon);
  std::ifstream f(path);
  if (!f) {
    std::fprintf(stderr, "bench_models: cannot read %s\n", path.c_str());
    return 1;
  }
  const nlohmann::json c = nlohmann::json::parse(f);
  const int64_t tokens =
      colon == std::string::npos ? attn_bench::default_tokens(c) : std::strtoll(spec.c_str() + colon + 1, nullptr, 10);
  const attn_bench::Flops x = attn_bench::exact_flops(c, tokens);
  std::printf(
      "{\"dense\": %lld, \"attention\": %lld, \"norm\": %lld, \"activation\": %lld, \"other\": %lld, "
      "\"total\": %lld, \"paper\": %lld}\n",
      (long long)x.dense, (long long)x.attention, (long long)x.norm, (long long)x.activation, (long long)x.other,
      (long long)x.total(), (long long)attn_bench::paper_flops(c, tokens));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (const char* env = std::getenv("ATTN_BENCH_MODELS")) opt.models_dir = env;
  if (opt.models_dir.empty()) opt.models_dir = "build/bench-models";
  // Our own flags first; Google Benchmark gets the rest.
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (starts_with(a, "--models_dir=")) {
      opt.models_dir = a.substr(13);
    } else if (starts_with(a, "--threads=")) {
      opt.threads = parse_list(a.substr(10));
    } else if (starts_with(a, "--gpt_tokens=")) {
      opt.gpt_tokens = std::strtoll(a.c_str() + 13, nullptr, 10);
    } else if (starts_with(a, "--print_flops=")) {
      return print_flops(a.substr(14));
    } else {
      rest.push_back(argv[i]);
    }
  }
  int rest_argc = int(rest.size());
  const auto models = find_models(opt.models_dir);
  if (models.empty())
    std::fprintf(stderr, "bench_models: no <name>/<variant>.attnmodel under %s (run bench/make_models.py)\n",
                 opt.models_dir.c_str());
  for (const auto& m : models)
    for (uint32_t t : opt.threads) {
      const std::string name = "model/" + m.name + "/" + m.variant + "/threads:" + std::to_string(t);
      benchmark::RegisterBenchmark(name.c_str(), bm_model, m, t, opt.gpt_tokens)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 1;
  benchmark::AddCustomContext("attn_version", attn_version());
  benchmark::AddCustomContext("attn_kernel_path", attn_kernel_path());
  benchmark::AddCustomContext("models_dir", opt.models_dir);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
