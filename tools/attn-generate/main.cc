// attn-generate: continues a prompt of token ids with a gpt-family model,
// one token at a time through the decode cache.

#include <attn/attn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "escape.h"

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: attn-generate MODEL.attnmodel --prompt-ids 1,2,3 [-n 32] [options]\n"
               "\n"
               "Prints the prompt's continuation as token ids, one line, comma-separated.\n"
               "Greedy by default; --temperature, --top-k or --top-p sample instead.\n"
               "\n"
               "options:\n"
               "  --prompt-ids LIST   comma-separated token ids (required)\n"
               "  -n N                tokens to generate (default 32)\n"
               "  --temperature T     sampling temperature (> 0; default 1 when sampling)\n"
               "  --top-k K           sample among the K most likely tokens\n"
               "  --top-p P           sample among the most likely tokens whose probabilities sum to P\n"
               "  --seed S            random seed (default 0): the same seed gives the same ids\n"
               "  -t, --threads N     worker threads (default 1; 0 = one per core)\n"
               "  -q, --quiet         no timing line on stderr\n");
}

struct Failure {
  std::string message;
};

void check(attn_status status, const std::string& what) {
  if (status != ATTN_OK) throw Failure{what + ": " + attn_last_error_message()};
}

long parse_long(const std::string& text, const std::string& flag, long lo, long hi) {
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end || v < lo || v > hi)
    throw Failure{flag + " must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got '" + text + "'"};
  return v;
}

double parse_double(const std::string& text, const std::string& flag, double lo, double hi) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end || !(v > lo && v <= hi))
    throw Failure{flag + " must be a number in (" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + text + "'"};
  return v;
}

struct Sampler {
  bool greedy = true;
  double temperature = 1.0, top_p = 1.0;
  size_t top_k = 0;
  std::mt19937_64 rng{0};
  std::vector<size_t> order;
  std::vector<double> probs;

  int32_t pick(const std::vector<float>& logits) {
    if (greedy) return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    order.resize(logits.size());
    std::iota(order.begin(), order.end(), size_t(0));
    // Most likely first; ties by id, so the order is deterministic.
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
    size_t keep = top_k ? std::min(top_k, order.size()) : order.size();
    probs.assign(keep, 0.0);
    const double max = logits[order[0]];
    double total = 0;
    for (size_t i = 0; i < keep; ++i) total += probs[i] = std::exp((logits[order[i]] - max) / temperature);
    if (top_p < 1.0) {
      double mass = 0;
      size_t i = 0;
      while (i < keep && mass < top_p * total) mass += probs[i++];
      keep = std::max<size_t>(i, 1);
      total = mass;
    }
    double r = std::uniform_real_distribution<double>(0.0, total)(rng);
    for (size_t i = 0; i < keep; ++i) {
      if (r < probs[i]) return int32_t(order[i]);
      r -= probs[i];
    }
    return int32_t(order[keep - 1]);
  }
};

int run(int argc, char** argv) {
  std::string model_path, prompt_text;
  long count = 32;
  bool quiet = false;
  Sampler sampler;
  attn_session_options options;
  attn_session_options_init(&options);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Failure{a + " needs a value"};
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (a == "--prompt-ids") {
      prompt_text = value();
    } else if (a == "-n") {
      count = parse_long(value(), "-n", 0, 1 << 20);
    } else if (a == "--temperature") {
      sampler.temperature = parse_double(value(), a, 0.0, 1e6);
      sampler.greedy = false;
    } else if (a == "--top-k") {
      sampler.top_k = size_t(parse_long(value(), a, 1, 1 << 30));
      sampler.greedy = false;
    } else if (a == "--top-p") {
      sampler.top_p = parse_double(value(), a, 0.0, 1.0);
      sampler.greedy = false;
    } else if (a == "--seed") {
      sampler.rng.seed(uint64_t(parse_long(value(), a, 0, 0x7fffffffL)));
    } else if (a == "-t" || a == "--threads") {
      options.threads = uint32_t(parse_long(value(), a, 0, 1024));
    } else if (a == "-q" || a == "--quiet") {
      quiet = true;
    } else if (!a.empty() && a[0] == '-') {
      usage(stderr);
      throw Failure{"unknown option '" + a + "'"};
    } else if (model_path.empty()) {
      model_path = a;
    } else {
      throw Failure{"more than one model given"};
    }
  }
  if (model_path.empty() || prompt_text.empty()) {
    usage(stderr);
    return 2;
  }
  std::vector<int32_t> prompt;
  for (size_t start = 0; start <= prompt_text.size();) {
    size_t comma = prompt_text.find(',', start);
    if (comma == std::string::npos) comma = prompt_text.size();
    prompt.push_back(int32_t(parse_long(prompt_text.substr(start, comma - start), "--prompt-ids", 0, 0x7fffffffL)));
    start = comma + 1;
  }

  attn_model* model = nullptr;
  check(attn_model_load_file(model_path.c_str(), &model), "loading the model");
  struct ModelGuard {
    attn_model* m;
    ~ModelGuard() { attn_model_release(m); }
  } model_guard{model};
  const char* family = "";
  check(attn_model_metadata(model, "family", &family), "metadata");
  if (std::string(family) != "gpt") throw Failure{model_path + " is a " + family + " model: generation needs a gpt model"};
  int64_t max_tokens = 0;
  check(attn_model_max_tokens(model, &max_tokens), "max_tokens");
  if (int64_t(prompt.size()) + count > max_tokens)
    throw Failure{"the prompt (" + std::to_string(prompt.size()) + " tokens) and -n " + std::to_string(count) +
                  " pass the model's context of " + std::to_string(max_tokens) + " tokens"};
  attn_tensor_info out;
  check(attn_model_output_info(model, 0, &out), "output info");
  std::vector<float> logits(size_t(out.shape[out.rank - 1]));

  attn_session* session = nullptr;
  check(attn_session_create(model, &options, &session), "preparing the session");
  struct SessionGuard {
    attn_session* s;
    ~SessionGuard() { attn_session_release(s); }
  } session_guard{session};

  const auto t0 = std::chrono::steady_clock::now();
  check(attn_session_decode(session, prompt.data(), prompt.size()), "the prompt");
  const auto t1 = std::chrono::steady_clock::now();
  std::string line;
  for (long i = 0; i < count; ++i) {
    check(attn_session_get_output(session, 0, logits.data(), logits.size() * 4), "reading the logits");
    const int32_t next = sampler.pick(logits);
    line += (i ? "," : "") + std::to_string(next);
    if (i + 1 < count) check(attn_session_decode(session, &next, 1), "decoding");
  }
  const auto t2 = std::chrono::steady_clock::now();
  std::printf("%s\n", line.c_str());
  if (!quiet) {
    const double prefill = std::chrono::duration<double>(t1 - t0).count();
    const double decode = std::chrono::duration<double>(t2 - t1).count();
    std::fprintf(stderr, "prompt %zu tokens in %.2f ms (%.0f tokens/s); %ld tokens in %.2f ms (%.0f tokens/s)\n",
                 prompt.size(), 1e3 * prefill, double(prompt.size()) / prefill, count, 1e3 * decode,
                 count > 1 ? double(count - 1) / decode : 0.0);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Failure& f) {
    std::fprintf(stderr, "attn-generate: error: %s\n", attn::text::terminal_safe(f.message).c_str());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "attn-generate: error: out of memory for the prompt's tokens and the generated text\n");
    return 1;
  }
}
