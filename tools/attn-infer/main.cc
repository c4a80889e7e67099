// attn-infer: describes an .attnmodel, runs it over the items of a .npy file,
// benchmarks it (--bench, --compare, --profile) or checks it against the
// samples embedded in it (--verify).

#include <attn/attn.h>

#include <cstdio>
#include <stdexcept>
#include <cstring>
#include <string>
#include <vector>

#include "bench.h"
#include "cli.h"
#include "inputs.h"
#include "escape.h"
#include "npy.h"
#include "report.h"
#include "util.h"
#include "verify.h"

namespace {

using namespace attn::infer;
namespace cli = attn::cli;

void describe(attn_model* model) {
  int64_t max_tokens;
  check(attn_model_max_tokens(model, &max_tokens), "max_tokens");
  // Everything printed here comes from the file: escaped for the terminal.
  auto text = [&](const char* key) { return attn::text::terminal_safe(metadata(model, key)); };
  const std::string source = text("source_sha256");
  const bool is_hash = source.size() == 64 && source.find_first_not_of("0123456789abcdef") == std::string::npos;
  std::printf("family       %s\nattention    %s\nmax tokens   %lld\nconverter    %s\nsource       %s%s\n",
              text("family").c_str(), text("attention").c_str(), (long long)max_tokens, text("converter_version").c_str(), is_hash ? "sha256:" : "", source.c_str());
  size_t count;
  check(attn_model_input_count(model, &count), "inputs");
  for (size_t i = 0; i < count; ++i) {
    attn_tensor_info info;
    check(attn_model_input_info(model, i, &info), "input info");
    std::printf("input  %zu     %s %s %s\n", i, attn::text::terminal_safe(info.name).c_str(), info.dtype == ATTN_DTYPE_F32 ? "float32" : "int32",
                shape_text(info.shape, info.rank).c_str());
  }
  check(attn_model_output_count(model, &count), "outputs");
  for (size_t i = 0; i < count; ++i) {
    attn_tensor_info info;
    check(attn_model_output_info(model, i, &info), "output info");
    std::printf("output %zu     %s float32 %s\n", i, attn::text::terminal_safe(info.name).c_str(), shape_text(info.shape, info.rank).c_str());
  }
  size_t samples = 0;
  check(attn_model_sample_count(model, &samples), "samples");
  std::printf("samples      %zu%s\n", samples, samples ? " (check them with --verify)" : "");
  std::printf("kernels      %s\n", chosen_kernel_path().c_str());
}

// Runs every item of the input file; writes the stacked outputs.
// Item by item through the decode cache, one token at a time: the logits of
// each position come from the cache, not from a run over the whole sequence.
void run_incremental(attn_session* session, const std::vector<uint8_t>& bytes, const std::string& where, float* out,
                     size_t vocab) {
  const int32_t* ids = reinterpret_cast<const int32_t*>(bytes.data());
  check(attn_session_reset(session), where);
  for (size_t t = 0; t < bytes.size() / 4; ++t) {
    check(attn_session_decode(session, ids + t, 1), where + ": position " + std::to_string(t));
    check(attn_session_get_output(session, 0, out + t * vocab, vocab * 4), "reading the output");
  }
}

int run_items(attn_model* model, const std::string& input_path, const std::string& output_path, uint32_t threads,
              bool quiet, bool incremental) {
  attn_tensor_info in_info;
  check(attn_model_input_info(model, 0, &in_info), "input info");
  const attn::npy::Array input = attn::npy::read(input_path);
  if (!input.note.empty() && !quiet)
    std::fprintf(stderr, "attn-infer: note: %s: %s\n", attn::text::terminal_safe(input_path).c_str(), input.note.c_str());
  const std::string expected = "[N, " + shape_text(in_info.shape, in_info.rank).substr(1);
  if (input.shape.size() != in_info.rank + 1 || input.shape[0] < 1)
    throw Failure{input_path + ": has shape " + shape_text(input.shape.data(), input.shape.size()) + ", the model takes " +
                  expected};
  const size_t items = size_t(input.shape[0]);
  const size_t per_item = input.count() / items;
  std::vector<int64_t> item_shape(input.shape.begin() + 1, input.shape.end());

  const attn_session_options options = session_options(threads);
  SessionHandle session;
  check(attn_session_create(model, &options, &session.session), "preparing the session");

  std::vector<float> outputs;
  std::vector<int64_t> out_shape;
  double seconds = 0;
  for (size_t item = 0; item < items; ++item) {
    const std::vector<uint8_t> bytes = item_bytes(input, item, per_item, in_info.dtype, input_path);
    const std::string where = input_path + ": item " + std::to_string(item);
    attn_status s =
        attn_session_set_input(session.session, 0, bytes.data(), bytes.size(), item_shape.data(), item_shape.size());
    if (s == ATTN_ERROR_SHAPE_MISMATCH)
      throw Failure{input_path + ": has shape " + shape_text(input.shape.data(), input.shape.size()) +
                    ", the model takes " + expected + " (" + attn_last_error_message() + ")"};
    check(s, where);
    attn_tensor_info info;
    if (incremental) {
      check(attn_model_output_info(model, 0, &info), "output info");
      info.shape[0] = int64_t(bytes.size() / 4);  // [n, vocab], position by position
    } else {
      const auto t0 = Clock::now();
      check(attn_session_run(session.session), where);
      seconds += seconds_since(t0);
      check(attn_session_output_info(session.session, 0, &info), "output info");
    }
    size_t count = 1;
    for (size_t d = 0; d < info.rank; ++d) count *= size_t(info.shape[d]);
    if (item == 0) {
      out_shape.assign(info.shape, info.shape + info.rank);
      outputs.reserve(items * count);
    }
    outputs.resize(outputs.size() + count);
    if (incremental) {
      const auto t0 = Clock::now();
      run_incremental(session.session, bytes, where, outputs.data() + outputs.size() - count, size_t(info.shape[1]));
      seconds += seconds_since(t0);
    } else {
      check(attn_session_get_output(session.session, 0, outputs.data() + outputs.size() - count, count * 4),
            "reading the output");
    }
  }
  out_shape.insert(out_shape.begin(), int64_t(items));
  if (!output_path.empty()) attn::npy::write_f32(output_path, out_shape, outputs.data());
  if (!quiet)
    std::printf("ran %zu item%s in %.3f s (%.4f ms per item, %s kernels)%s%s\n", items, items == 1 ? "" : "s", seconds,
                1e3 * seconds / double(items), chosen_kernel_path().c_str(), output_path.empty() ? "" : ", wrote ",
                output_path.c_str());
  return 0;
}

int run_verify(attn_model* model, const std::string& path, uint32_t threads, bool quiet) {
  const VerifyReport report = verify_model(model, threads);
  if (report.samples == 0)
    throw Failure{path + " has no embedded samples to verify: convert it with 'attn-convert ... --embed-sample "
                         "inputs.npy' to store some"};
  double worst = 0;
  for (const OutputCheck& c : report.checks) worst = std::max(worst, c.max_error / c.tolerance);
  if (!quiet || !report.passed) {
    FILE* out = report.passed ? stdout : stderr;
    std::fprintf(out, "%s: %zu sample%s, %s kernels\n", path.c_str(), report.samples, report.samples == 1 ? "" : "s",
                 chosen_kernel_path().c_str());
    for (const OutputCheck& c : report.checks) {
      std::fprintf(out, "  sample %zu output %zu: max error %.3g, tolerance %.3g (%.1f%%)", c.sample, c.output,
                   c.max_error, c.tolerance, 100 * c.max_error / c.tolerance);
      if (c.argmax_checked) std::fprintf(out, ", arg-max same in %zu of %zu rows", c.argmax_same, c.argmax_checked);
      std::fprintf(out, "  %s\n", c.passed ? "ok" : "FAILED");
    }
    if (report.passed)
      std::fprintf(out, "passed: the largest error is %.1f%% of the spec's tolerance\n", 100 * worst);
    else
      std::fprintf(out, "FAILED: the outputs differ from the embedded expected outputs beyond the spec's tolerance\n");
  }
  return report.passed ? 0 : 1;
}

// The command line: CLI11 parses and range-checks each option; the checks
// of how options combine follow, as usage errors.
int run(int argc, char** argv) {
  CLI::App app{"Describes an .attnmodel, runs it over the items of a .npy file, benchmarks it (--bench, --compare)\n"
               "or checks it against the samples embedded in it (--verify). Inputs are float32 images\n"
               "[N, C, H, W], or int32/int64 token ids [N, L] (gpt: [N, n], giving [N, n, vocab])."};
  app.description(std::string("usage: attn-infer MODEL.attnmodel [-i IN.npy [-o OUT.npy]] [--bench|--verify] [options]\n"
            "       attn-infer --compare A.attnmodel B.attnmodel ... [options]" "\n\n") + app.get_description());
  cli::configure(app, "attn-infer");
  std::vector<std::string> models;
  std::string input_path, output_path, threads_text = "1";
  BenchOptions bench;
  bool want_bench = false, want_compare = false, want_verify = false, incremental = false;
  bool json = false, csv = false, md = false;
  app.add_option("models", models, "the .attnmodel file (several with --compare)")->required()->type_name("MODEL");
  app.add_option("-i,--input", input_path, "input .npy (--bench, --compare: its first item; default synthetic)")
      ->type_name("FILE");
  app.add_option("-o,--output", output_path, "output .npy (float32), with --input")->type_name("FILE");
  app.add_flag("--incremental", incremental,
               "gpt: compute each position's logits by decoding the items one token at a time through the cache");
  app.add_option("-t,--threads", threads_text, "worker threads, e.g. 1 or 1,2,4 (a list for --bench only; 0 = one per core)")
      ->type_name("LIST");
  cli::add_session_options(app, session_choice());
  app.add_flag("-q,--quiet", bench.quiet, "no progress on stderr; print nothing when a run or --verify succeeds");
  auto* group = app.add_option_group("benchmarking (--bench, --compare)");
  group->add_flag("--bench", want_bench,
                  "warm-up, then timed runs for each thread count: load, prepare and first-run time, latency "
                  "percentiles, runs/s, peak RSS");
  group->add_flag("--compare", want_compare,
                  "run the models in rounds, in a new random order each round; each one's p50 and its ratio to the "
                  "first with a 95% interval");
  group->add_flag("--profile", bench.profile, "also time each operator class, as a share of the run (--bench)");
  group->add_option("--iters", bench.iters, "timed runs per thread count (--compare: per model per round)")
      ->check(CLI::Range(uint64_t(1), uint64_t(1'000'000'000)));
  group->add_option("--min-time", bench.min_time, "time for at least S seconds (--bench default 1, at least 5 runs)")
      ->check(CLI::Range(0.0, 1e6))->type_name("S");
  group->add_option("--warmup", bench.warmup, "warm-up runs after the first (default: up to 10, for 0.5 s)")
      ->check(CLI::Range(int64_t(0), int64_t(1'000'000)));
  group->add_option("--rounds", bench.rounds, "--compare rounds (default 20)")
      ->check(CLI::Range(uint64_t(1), uint64_t(1'000'000)));
  group->add_option("--seed", bench.seed, "seed of the synthetic inputs and of the round order (default 1)");
  group->add_option("--tokens", bench.tokens, "sequence length of a gpt model's synthetic input (default max_tokens)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  group->add_option("--decode", bench.decode,
                    "gpt: decode N tokens one at a time through the cache after the input (starting earlier when "
                    "the input fills the context) and report prefill and decode tokens/s (default 64)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 20));
  group->add_flag("--json", json, "JSON output");
  group->add_flag("--csv", csv, "CSV output");
  group->add_flag("--md", md, "Markdown output");
  app.add_flag("--verify", want_verify,
               "run the samples stored by 'attn-convert --embed-sample' and check them against the numerical "
               "contract; exit 0 if they pass");

  return cli::run(app, argc, argv, [&]() -> int {
    bench.threads = cli::parse_uint_list("--threads", threads_text, 1024);
    auto given = [&](const char* flag) { return app.count(flag) > 0; };
    const char* bench_flags[] = {"--iters", "--min-time", "--warmup", "--seed", "--tokens", "--decode",
                                 "--json", "--csv", "--md"};
    std::string bench_flag;
    for (const char* f : bench_flags)
      if (given(f)) bench_flag = f;
    if (bench.profile && !want_compare && !want_verify) want_bench = true;  // --profile alone benchmarks
    if (int(want_bench) + int(want_compare) + int(want_verify) > 1)
      throw cli::usage_error("--bench, --compare and --verify are separate modes: give one");
    if (int(json) + int(csv) + int(md) > 1) throw cli::usage_error("give one of --json, --csv, --md");
    const Format format = json ? Format::Json : csv ? Format::Csv : md ? Format::Markdown : Format::Table;
    const bool measuring = want_bench || want_compare;
    if (!measuring && !bench_flag.empty()) throw cli::usage_error(bench_flag + " goes with --bench or --compare");
    if (bench.profile && !want_bench) throw cli::usage_error("--profile goes with --bench");
    if (given("--rounds") && !want_compare) throw cli::usage_error("--rounds goes with --compare");
    if (want_compare ? models.size() < 2 : models.size() > 1)
      throw cli::usage_error(want_compare ? "--compare needs at least two models" : "more than one model given (use --compare)");
    if (!output_path.empty() && (measuring || want_verify || input_path.empty()))
      throw cli::usage_error("--output goes with --input, to run every item");
    if (measuring && bench.tokens > 0 && !input_path.empty())
      throw cli::usage_error("--tokens sets the length of synthetic inputs; --input gives its own");
    if (bench.threads.size() > 1 && !want_bench) throw cli::usage_error("a list of thread counts goes with --bench");
    if (want_verify && !input_path.empty()) throw cli::usage_error("--verify runs the embedded samples; it takes no --input");
    if (incremental && (measuring || want_verify || input_path.empty()))
      throw cli::usage_error("--incremental goes with --input, to run every item token by token");
    bench.input_path = input_path;
    if (want_compare) {
      std::fputs(format_compare(run_compare(models, bench), format).c_str(), stdout);
      return 0;
    }
    if (want_bench) {
      std::fputs(format_bench(run_bench(models[0], bench), format).c_str(), stdout);
      return 0;
    }
    ModelHandle model;
    check(attn_model_load_file(models[0].c_str(), &model.model), "loading the model");
    if (want_verify) return run_verify(model.model, models[0], bench.threads[0], bench.quiet);
    if (input_path.empty()) {
      describe(model.model);
      return 0;
    }
    return run_items(model.model, input_path, output_path, bench.threads[0], bench.quiet, incremental);
  }, "the input items and their outputs, which are held in memory whole");
}

}  // namespace

int main(int argc, char** argv) { return run(argc, argv); }
