// attn-convert: a checkpoint folder (model.safetensors + config.json), or a
// config alone with random weights, to an .attnmodel file.

#include <cstdint>
#include <cstdio>
#include <new>
#include <string>

#include "cli.h"
#include "convert.h"
#include "escape.h"
#include "files.h"
#include "npy.h"
#include "safetensors.h"
#include "sample_items.h"
#include "tokenizer_import.h"
#include "writer.h"

namespace {

constexpr uint64_t kMaxConfigBytes = uint64_t{64} << 20;

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
  } catch (const attn::cli::Failure& e) {
    throw InputError(e.what());
  }
  if (!a.note.empty())
    std::fprintf(stderr, "attn-convert: note: %s: %s\n", attn::text::terminal_safe(path).c_str(), a.note.c_str());
  if (float_only && a.dtype != attn::npy::DType::F32) throw InputError(path + ": the expected outputs must be float32");
  return attn::convert::sample_items(a, count, path);
}

// Converts, writes the file atomically and prints the summary.
int convert_to_file(bool random, const std::string& dir, const std::string& output, std::string checkpoint,
                    std::string config, const std::string& random_config, const std::string& sample_path,
                    const std::string& expected_path, std::string tokenizer_path, uint64_t seed,
                    uint64_t embed_count, attn::convert::BuildOptions options, bool quiet) {
  if (!random && checkpoint.empty()) checkpoint = dir + "/model.safetensors";
  if (!random && config.empty()) config = dir + "/config.json";
  if (tokenizer_path.empty() && !dir.empty()) tokenizer_path = attn::convert::find_tokenizer(dir);
  try {
    attn::convert::TokenizerData tokenizer;
    if (!tokenizer_path.empty()) {
      tokenizer = attn::convert::read_tokenizer(tokenizer_path);
      options.tokenizer = &tokenizer;
    }
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
      if (options.tokenizer)
        std::printf("  tokenizer       %zu tokens, %zu merges (%s)\n", tokenizer.tokens.size(), tokenizer.merges.size(),
                    tokenizer_path.c_str());
      std::printf("  weights         %s (dense layers and token table)\n", attn::traits_of(options.weights).name);
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

}  // namespace

// The --weights choices: weight_type.h's table.
std::vector<std::string> weight_format_names() {
  std::vector<std::string> names;
  for (const attn::WeightTypeTraits& t : attn::kWeightTypes) names.push_back(t.name);
  return names;
}

int main(int argc, char** argv) {
  CLI::App app{"Converts a checkpoint folder (model.safetensors + config.json), or a config alone with random\n"
               "weights, to an .attnmodel file."};
  app.description(std::string("usage: attn-convert CHECKPOINT_DIR -o MODEL.attnmodel [options]\n"
            "       attn-convert --checkpoint FILE.safetensors --config config.json -o MODEL.attnmodel\n"
            "       attn-convert --random-init config.json [--seed S] -o MODEL.attnmodel" "\n\n") + app.get_description());
  attn::cli::configure(app, "attn-convert");
  std::string dir, output, checkpoint, config, random_config, sample_path, expected_path, tokenizer_path;
  uint64_t seed = 1, embed_count = 4;
  attn::convert::BuildOptions options;
  bool quiet = false;
  app.add_option("checkpoint_dir", dir, "a folder with model.safetensors and config.json")->type_name("CHECKPOINT_DIR");
  app.add_option("-o,--output", output, "the .attnmodel to write (required)")->type_name("FILE");
  app.add_option("--checkpoint", checkpoint, "the safetensors file (default CHECKPOINT_DIR/model.safetensors)")
      ->type_name("FILE");
  app.add_option("--config", config, "the config.json (default CHECKPOINT_DIR/config.json)")->type_name("FILE");
  app.add_option("--random-init", random_config,
                 "no checkpoint: random weights for the config (normal, std 0.02; LayerNorm 1 and 0; "
                 "lower-triangular W_A when causal)")
      ->type_name("CONFIG");
  app.add_option("--seed", seed, "the seed of --random-init (default 1)");
  app.add_option("--embed-sample", sample_path,
                 "store the first items of IN.npy in the model with their expected outputs, computed by a float64 "
                 "reference of the spec, so that 'attn-infer MODEL --verify' can check the model where it runs")
      ->type_name("IN.npy");
  app.add_option("--embed-count", embed_count, "how many items to store (default 4)")
      ->check(CLI::Range(uint64_t(1), uint64_t(1) << 20))->type_name("K");
  app.add_option("--embed-expected", expected_path, "the expected outputs of those items, instead of the reference's")
      ->type_name("E.npy");
  app.add_option("--tokenizer", tokenizer_path,
                 "store a GPT-2-style BPE tokenizer: tokenizer.json, vocab.json (with merges.txt beside it) or a "
                 "folder holding them (default: the checkpoint folder's own, if it has one)")
      ->type_name("PATH");
  std::string weights = "f32";
  app.add_option("--weights", weights,
                 "the format of the dense layers' weights and the token table: f32 (default), f16, q8 (int8 in blocks "
                 "of 32 with a scale each), q4 (4-bit, the same blocks) or q8c (int8 with one scale per output "
                 "channel, activations one per row: faster, a little less exact than q8); LayerNorm, biases, "
                 "position embeddings and W_A stay f32")
      ->check(CLI::IsMember(weight_format_names()))
      ->type_name("FORMAT");
  app.add_flag("--zero-upper-align", options.zero_upper_align,
               "zero W_A above the diagonal in causal Super Attention instead of refusing it");
  app.add_flag("-q,--quiet", quiet, "print nothing on success");

  return attn::cli::run(app, argc, argv, [&]() -> int {
    using attn::cli::usage_error;
    const bool random = !random_config.empty();
    if (random && (!dir.empty() || !checkpoint.empty() || !config.empty()))
      throw usage_error("--random-init takes no checkpoint: give the config to --random-init alone");
    if (app.count("--seed") && !random) throw usage_error("--seed goes with --random-init");
    if ((app.count("--embed-count") || !expected_path.empty()) && sample_path.empty())
      throw usage_error("--embed-count and --embed-expected go with --embed-sample");
    if (!random && dir.empty() && (checkpoint.empty() || config.empty()))
      throw usage_error("give a checkpoint folder, --checkpoint and --config, or --random-init");
    if (output.empty()) throw usage_error("-o FILE is missing: where to write the .attnmodel");
    options.weights = attn::weight_type_named(weights.c_str())->type;
    return convert_to_file(random, dir, output, checkpoint, config, random_config, sample_path, expected_path,
                           tokenizer_path, seed, embed_count, options, quiet);
  });
}
