// attn-convert: a checkpoint folder (model.safetensors + config.json) to an
// .attnmodel file.

#include <cstdio>
#include <cstring>
#include <string>

#include "convert.h"
#include "safetensors.h"
#include "writer.h"

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: attn-convert CHECKPOINT_DIR -o MODEL.attnmodel [options]\n"
               "       attn-convert --checkpoint FILE.safetensors --config config.json -o MODEL.attnmodel\n"
               "\n"
               "options:\n"
               "  -o, --output FILE     the .attnmodel to write (required)\n"
               "  --checkpoint FILE     the safetensors file (default CHECKPOINT_DIR/model.safetensors)\n"
               "  --config FILE         the config.json (default CHECKPOINT_DIR/config.json)\n"
               "  --zero-upper-align    zero W_A above the diagonal in causal Super Attention\n"
               "                        instead of refusing it\n"
               "  -q, --quiet           print nothing on success\n"
               "  -h, --help            this text\n");
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (b >= 1024 && u < 3) b /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", b, units[u]);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, output, checkpoint, config;
  attn::convert::BuildOptions options;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "attn-convert: %s needs a value\n", flag);
        std::exit(2);
      }
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
      std::fprintf(stderr, "attn-convert: more than one checkpoint folder given\n");
      return 2;
    }
  }
  if (output.empty() || (dir.empty() && (checkpoint.empty() || config.empty()))) {
    usage(stderr);
    return 2;
  }
  if (checkpoint.empty()) checkpoint = dir + "/model.safetensors";
  if (config.empty()) config = dir + "/config.json";
  try {
    const auto ckpt = attn::convert::read_file(checkpoint);
    const auto cfg = attn::convert::read_file(config);
    auto result = attn::convert::convert(ckpt, checkpoint, std::string(cfg.begin(), cfg.end()), config, options);
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
      std::printf("  parameters      %lld\n", (long long)result.total_params);
      std::printf("  file size       %s\n", human_bytes(double(result.file.size())).c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attn-convert: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
