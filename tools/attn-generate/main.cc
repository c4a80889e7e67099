// attn-generate: continues a prompt with a gpt-family model, one token at a
// time through the decode cache, printing the text as it is decoded.

#include <attn/attn.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <new>
#include <string>
#include <vector>

#include "cli.h"
#include "escape.h"
#include "text_stream.h"

namespace {

using attn::cli::Failure;

void check(attn_status status, const std::string& what) {
  if (status != ATTN_OK) throw Failure{what + ": " + attn_last_error_message()};
}

struct Options {
  std::string model_path, prompt, prompt_ids;
  long count = 32;
  double temperature = -1, top_p = 1, repeat_penalty = 1;
  unsigned top_k = 0;
  uint64_t seed = 0;
  std::vector<std::string> stops;
  bool tokenize_only = false, quiet = false;
  unsigned threads = 1;
  attn::cli::SessionChoice session;
};

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  for (size_t start = 0; start <= text.size();) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(start, comma - start);
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end || v < 0 || v > 0x7fffffffL) throw Failure{"--prompt-ids: '" + item + "' is not a token id"};
    ids.push_back(int32_t(v));
    start = comma + 1;
  }
  return ids;
}

template <typename T, void (*Release)(T*)>
struct Handle {
  T* p = nullptr;
  ~Handle() { Release(p); }
};

int run(const Options& o) {
  Handle<attn_model, attn_model_release> model;
  check(attn_model_load_file(o.model_path.c_str(), &model.p), "loading the model");
  const char* family = "";
  check(attn_model_metadata(model.p, "family", &family), "metadata");
  if (std::string(family) != "gpt") throw Failure{o.model_path + " is a " + family + " model: generation needs a gpt model"};
  int has_tokenizer = 0;
  check(attn_model_has_tokenizer(model.p, &has_tokenizer), "tokenizer");
  int32_t eos = -1;
  if (has_tokenizer) check(attn_tokenizer_info(model.p, nullptr, &eos), "tokenizer");
  const bool text = !o.prompt.empty() || o.prompt_ids.empty();
  if (text && !has_tokenizer)
    throw Failure{o.model_path + " has no tokenizer: give --prompt-ids, or convert it with attn-convert --tokenizer"};

  std::vector<int32_t> prompt;
  if (text) {
    size_t n = 0;
    const attn_status s = attn_tokenize(model.p, o.prompt.data(), o.prompt.size(), nullptr, 0, &n);
    if (s != ATTN_ERROR_BUFFER_TOO_SMALL) check(s, "tokenizing the prompt");
    prompt.resize(n);
    check(attn_tokenize(model.p, o.prompt.data(), o.prompt.size(), prompt.data(), n, &n), "tokenizing the prompt");
  } else {
    prompt = parse_ids(o.prompt_ids);
  }
  if (o.tokenize_only) {
    std::string line;
    for (size_t i = 0; i < prompt.size(); ++i) line += (i ? "," : "") + std::to_string(prompt[i]);
    std::printf("%s\n", line.c_str());
    return 0;
  }
  if (prompt.empty()) throw Failure{"the prompt is empty: generation needs at least one token"};
  int64_t max_tokens = 0;
  check(attn_model_max_tokens(model.p, &max_tokens), "max_tokens");
  if (int64_t(prompt.size()) + o.count > max_tokens)
    throw Failure{"the prompt (" + std::to_string(prompt.size()) + " tokens) and -n " + std::to_string(o.count) +
                  " pass the model's context of " + std::to_string(max_tokens) + " tokens"};
  attn_tensor_info out;
  check(attn_model_output_info(model.p, 0, &out), "output info");
  std::vector<float> logits(size_t(out.shape[out.rank - 1]));

  attn_sampler_options sampling;
  attn_sampler_options_init(&sampling);
  // Greedy unless a sampling option is given; --temperature 0 is greedy too.
  const bool sampled = o.temperature > 0 || (o.temperature < 0 && (o.top_k || o.top_p < 1));
  sampling.temperature = float(sampled ? (o.temperature > 0 ? o.temperature : 1.0) : 0.0);
  sampling.top_k = o.top_k;
  sampling.top_p = float(o.top_p);
  sampling.repetition_penalty = float(o.repeat_penalty);
  sampling.seed = o.seed;
  Handle<attn_sampler, attn_sampler_release> sampler;
  check(attn_sampler_create(&sampling, logits.size(), &sampler.p), "sampler");

  attn_session_options options;
  attn_session_options_init(&options);
  options.threads = o.threads;
  o.session.apply(options);
  Handle<attn_session, attn_session_release> session;
  check(attn_session_create(model.p, &options, &session.p), "preparing the session");

  TextStream stream(stdout, o.stops);
  if (text) {
    std::fputs(terminal_safe(o.prompt).c_str(), stdout);
    std::fflush(stdout);
  }
  std::vector<int32_t> history = prompt;
  std::string ids_line;
  long generated = 0;
  const auto t0 = std::chrono::steady_clock::now();
  auto t_first = t0;
  check(attn_session_decode(session.p, prompt.data(), prompt.size()), "the prompt");
  for (long i = 0; i < o.count; ++i) {
    check(attn_session_get_output(session.p, 0, logits.data(), logits.size() * sizeof(float)), "reading the logits");
    int32_t next = 0;
    check(attn_sampler_sample(sampler.p, logits.data(), logits.size(), history.data(), history.size(), &next), "sampling");
    if (i == 0) t_first = std::chrono::steady_clock::now();
    if (next == eos) break;
    ++generated;
    history.push_back(next);
    if (text) {
      const char* bytes = nullptr;
      size_t length = 0;
      if (attn_token_bytes(model.p, next, &bytes, &length) != ATTN_OK) length = 0;  // an id the tokenizer lacks
      if (stream.add(std::string_view(bytes, length))) break;
    } else {
      ids_line += (i ? "," : "") + std::to_string(next);
    }
    if (i + 1 < o.count) check(attn_session_decode(session.p, &next, 1), "decoding");
  }
  const auto t_end = std::chrono::steady_clock::now();
  if (text) {
    stream.finish();
    std::printf("\n");
  } else {
    std::printf("%s\n", ids_line.c_str());
  }
  std::fflush(stdout);
  if (!o.quiet) {
    const double first = std::chrono::duration<double>(t_first - t0).count();
    const double rest = std::chrono::duration<double>(t_end - t_first).count();
    std::fprintf(stderr, "prompt %zu tokens; time to first token %.2f ms; %ld tokens", prompt.size(), 1e3 * first, generated);
    if (generated > 1) std::fprintf(stderr, ", %.1f tokens/s after the first", double(generated - 1) / rest);
    std::fprintf(stderr, "\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Continues a prompt with a gpt model and prints the text as it is generated.\n"
               "Greedy by default; --temperature, --top-k or --top-p sample instead."};
  // CLI11's exit() ends the text with its own newline.
  app.set_version_flag("--version", [] {
    std::string text = attn::cli::version_text("attn-generate");
    text.pop_back();
    return text;
  }, "print the version, commit, build type and kernel paths");
  app.add_option("model", o.model_path, "the .attnmodel (a gpt model)")->required();
  auto* prompt = app.add_option("-p,--prompt", o.prompt, "the prompt text (needs a model with a tokenizer)");
  app.add_option("--prompt-ids", o.prompt_ids, "the prompt as comma-separated token ids; prints ids")->excludes(prompt);
  app.add_option("-n", o.count, "tokens to generate at most (default 32)")->check(CLI::Range(0L, 1L << 20));
  app.add_option("--temperature", o.temperature, "sampling temperature; 0 = greedy")->check(CLI::Range(0.0, 1e6));
  app.add_option("--top-k", o.top_k, "sample among the K most likely tokens")->check(CLI::Range(1u, 1u << 24));
  app.add_option("--top-p", o.top_p, "sample among the fewest most likely tokens whose probability reaches P")
      ->check(CLI::Range(1e-9, 1.0));
  app.add_option("--repeat-penalty", o.repeat_penalty, "divide the logits of tokens already seen (CTRL's penalty; 1 = none)")
      ->check(CLI::Range(1.0, 1e6));
  app.add_option("--seed", o.seed, "random seed (default 0): the same seed gives the same text");
  app.add_option("--stop", o.stops, "stop when the text contains STRING (repeatable)")
      ->allow_extra_args(false)  // one string per --stop: the model path after it stays the model
      ->each([](const std::string& s) {
        if (s.empty()) throw CLI::ValidationError("--stop", "the stop string is empty");
      });
  app.add_flag("--tokenize-only", o.tokenize_only, "print the prompt's ids, comma-separated, and exit");
  app.add_option("-t,--threads", o.threads, "worker threads (default 1; 0 = one per core)")->check(CLI::Range(0u, 1024u));
  attn::cli::add_session_options(app, o.session);
  app.add_flag("-q,--quiet", o.quiet, "no timing line on stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (o.prompt.empty() && o.prompt_ids.empty()) {
    std::fprintf(stderr, "attn-generate: give --prompt TEXT or --prompt-ids LIST\n%s", app.help().c_str());
    return 2;
  }
  return attn::cli::run_body("attn-generate", [&] { return run(o); }, "the prompt's tokens and the generated text");
}
