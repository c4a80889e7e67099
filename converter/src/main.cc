// attn-convert: a checkpoint folder (model.safetensors + config.json), or a
// config alone with random weights, to an .attnmodel file.

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "convert.h"
#include "escape.h"
#include "files.h"
#include "npy.h"
#include "safetensors.h"
#include "sample_items.h"
#include "writer.h"

namespace {

constexpr uint64_t kMaxConfigBytes = uint64_t{64} << 20;

void usage(FILE* out) {
  std::fprintf(out,
               "usage: attn-convert CHECKPOINT_DIR -o MODEL.attnmodel [options]\n"
               "       attn-convert --checkpoint FILE.safetensors --config config.json -o MODEL.attnmodel\n"
               "       attn-convert --random-init config.json [--seed S] -o MODEL.attnmodel\n"
               "\n"
               "options:\n"
               "  -o, --output FILE        the .attnmodel to write (required)\n"
               "  --checkpoint FILE        the safetensors file (default CHECKPOINT_DIR/model.safetensors)\n"
               "  --config FILE            the config.json (default CHECKPOINT_DIR/config.json)\n"
               "  --random-init CONFIG     no checkpoint: random weights for the config (normal, std 0.02;\n"
               "                           LayerNorm 1 and 0; lower-triangular W_A when causal)\n"
               "  --seed S                 the seed of --random-init (default 1)\n"
               "  --embed-sample IN.npy    store the first items of IN.npy in the model with their expected\n"
               "                           outputs, computed by a float64 reference of the spec, so that\n"
               "                           'attn-infer MODEL --verify' can check the model where it runs\n"
               "  --embed-count K          how many items to store (default 4)\n"
               "  --embed-expected E.npy   the expected outputs of those items, instead of the reference's\n"
               "  --zero-upper-align       zero W_A above the diagonal in causal Super Attention\n"
               "                           instead of refusing it\n"
               "  -q, --quiet              print nothing on success\n"
               "  -h, --help               this text\n");
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (b >= 1024 && u < 3) b /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", b, units[u]);
  return buf;
}

// The first `count` items of a .npy file along its first axis, as sample
// tensors.
std::vector<std::vector<attn::convert::SampleTensorData>> npy_items(const std::string& path, size_t count,
                                                                     bool float_only) {
  using attn::convert::InputError;
  attn::npy::Array a;
  try {
    a = attn::npy::read(path);
  } catch (const std::exception& e) {
    throw InputError(e.what());
  }
  if (!a.note.empty())
    std::fprintf(stderr, "attn-convert: note: %s: %s\n", attn::text::terminal_safe(path).c_str(), a.note.c_str());
  if (float_only && a.dtype != attn::npy::DType::F32) throw InputError(path + ": the expected outputs must be float32");
  return attn::convert::sample_items(a, count, path);
}

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "attn-convert: %s\n", message.c_str());
  std::exit(2);
}

uint64_t parse_count(const std::string& flag, const std::string& v, uint64_t lo, uint64_t hi) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long x = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || v[0] == '-' || !end || *end || errno || x < lo || x > hi)
    usage_error(flag + " must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got '" + v + "'");
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, output, checkpoint, config, random_config, sample_path, expected_path;
  uint64_t seed = 1, embed_count = 4;
  bool seed_given = false, count_given = false;
  attn::convert::BuildOptions options;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= argc) usage_error(std::string(flag) + " needs a value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (a == "-o" || a == "--output") {
      output = value("-o");
    } else if (a == "--checkpoint") {
      checkpoint = value("--checkpoint");
    } else if (a == "--config") {
      config = value("--config");
    } else if (a == "--random-init") {
      random_config = value("--random-init");
    } else if (a == "--seed") {
      seed = parse_count("--seed", value("--seed"), 0, UINT64_MAX);
      seed_given = true;
    } else if (a == "--embed-sample") {
      sample_path = value("--embed-sample");
    } else if (a == "--embed-count") {
      embed_count = parse_count("--embed-count", value("--embed-count"), 1, 1 << 20);
      count_given = true;
    } else if (a == "--embed-expected") {
      expected_path = value("--embed-expected");
    } else if (a == "--zero-upper-align") {
      options.zero_upper_align = true;
    } else if (a == "-q" || a == "--quiet") {
      quiet = true;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "attn-convert: unknown option '%s'\n", a.c_str());
      usage(stderr);
      return 2;
    } else if (dir.empty()) {
      dir = a;
    } else {
      usage_error("more than one checkpoint folder given");
    }
  }
  const bool random = !random_config.empty();
  if (random && (!dir.empty() || !checkpoint.empty() || !config.empty()))
    usage_error("--random-init takes no checkpoint: give the config to --random-init alone");
  if (seed_given && !random) usage_error("--seed goes with --random-init");
  if ((count_given || !expected_path.empty()) && sample_path.empty())
    usage_error("--embed-count and --embed-expected go with --embed-sample");
  if (output.empty() || (!random && dir.empty() && (checkpoint.empty() || config.empty()))) {
    usage(stderr);
    return 2;
  }
  if (!random && checkpoint.empty()) checkpoint = dir + "/model.safetensors";
  if (!random && config.empty()) config = dir + "/config.json";
  try {
    attn::convert::SampleRequest request;
    if (!sample_path.empty()) {
      request.inputs = npy_items(sample_path, size_t(embed_count), false);
      request.inputs_name = sample_path;
      if (!expected_path.empty()) {
        request.expected = npy_items(expected_path, request.inputs.size(), true);
        request.expected_name = expected_path;
        if (request.expected.size() < request.inputs.size())
          throw attn::convert::InputError(expected_path + ": holds " + std::to_string(request.expected.size()) +
                                          " items, fewer than the " + std::to_string(request.inputs.size()) +
                                          " inputs to embed");
      }
    }
    const attn::convert::SampleRequest* samples = sample_path.empty() ? nullptr : &request;
    attn::convert::ConvertResult result;
    if (random) {
      const auto cfg = attn::convert::read_file(random_config, kMaxConfigBytes);
      result = attn::convert::convert_random(std::string(cfg.begin(), cfg.end()), random_config, seed, options, samples);
    } else {
      const attn::files::Mapping ckpt(checkpoint);
      const auto cfg = attn::convert::read_file(config, kMaxConfigBytes);
      result = attn::convert::convert(ckpt.data(), ckpt.size(), checkpoint, std::string(cfg.begin(), cfg.end()), config, options, samples);
    }
    attn::convert::write_file_atomically(output, result.file);
    if (!quiet) {
      const auto& c = result.config;
      const auto& p = result.attention;
      std::printf("wrote %s\n", output.c_str());
      std::printf("  family          %s%s\n", c.family.c_str(), c.from_hugging_face ? " (Hugging Face GPT-2)" : "");
      std::printf("  attention       %s\n", c.attention.c_str());
      std::printf("  layers          %lld (d_model %lld, heads %lld, context %lld)\n", (long long)c.layers,
                  (long long)c.d_model, (long long)c.heads, (long long)c.context);
      std::printf("  attention/layer %lld parameters; standard would need %lld (%.0f%%)\n", (long long)p.per_layer,
                  (long long)p.standard_per_layer, 100.0 * double(p.per_layer) / double(p.standard_per_layer));
      std::printf("  parameters      %lld%s\n", (long long)result.total_params,
                  random ? (" (random, seed " + std::to_string(seed) + ")").c_str() : "");
      if (samples)
        std::printf("  samples         %zu embedded (expected outputs %s)\n", result.samples,
                    expected_path.empty() ? "from the float64 reference" : ("from " + expected_path).c_str());
      std::printf("  file size       %s\n", human_bytes(double(result.file.size())).c_str());
    }
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "attn-convert: error: out of memory converting %s to %s (the checkpoint's tensors as float32 and the model file are held in memory)\n",
                 attn::text::terminal_safe(random ? random_config : checkpoint).c_str(), attn::text::terminal_safe(output).c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attn-convert: error: %s\n", attn::text::terminal_safe(e.what()).c_str());
    return 1;
  }
  return 0;
}
