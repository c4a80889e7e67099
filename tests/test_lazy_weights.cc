// Loading a mapped model reads its header only: weight pages are first
// touched when a session is prepared.

#include <doctest/doctest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "convert.h"
#include "support.h"
#include "writer.h"

namespace {

// Resident bytes of this process's mapping of `path` (/proc/self/smaps).
size_t resident_bytes(const std::string& path) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_mapping = false;
  size_t total = 0;
  while (std::getline(smaps, line)) {
    const std::string first = line.substr(0, line.find(' '));
    if (first.find('-') != std::string::npos) {  // a mapping's header: "start-end perms offset dev inode path"
      in_mapping = line.size() >= path.size() && line.compare(line.size() - path.size(), path.size(), path) == 0;
    } else if (in_mapping && first == "Rss:") {
      total += std::stoul(line.substr(4)) * 1024;
    }
  }
  return total;
}

}  // namespace

TEST_CASE("a mapped model's weights are untouched until a session is prepared") {
  const std::string config = R"({"family": "vit", "attention": "standard", "d_model": 256, "heads": 4,
    "layers": 4, "mlp_dim": 1024, "context": 64, "activation": "gelu", "norm_first": true,
    "layer_norm_eps": 1e-6, "image_size": [32, 32], "channels": 1, "patch_size": 4, "pool": "mean",
    "num_classes": 10})";
  const auto converted = attn::convert::convert_random(config, "config.json", 1, {});
  const std::string path = std::string(ATTN_TEST_OUTPUT_DIR) + "/lazy.attnmodel";
  attn::convert::write_file_atomically(path, converted.file);
  const size_t file_bytes = converted.file.size();
  REQUIRE(file_bytes > (size_t(8) << 20));

  attn_model* model = nullptr;
  REQUIRE(attn_model_load_file(path.c_str(), &model) == ATTN_OK);
  const size_t after_load = resident_bytes(path);
  MESSAGE("file " << file_bytes << " bytes; resident after load " << after_load);
  // The header and what the kernel maps around it (up to a 2 MiB huge page),
  // not the weights.
  CHECK(after_load < file_bytes / 4);

  // Preparing reads the weights: each page of them is resident, or was
  // faulted in and, once packed for the own GEMM, given back.
  struct rusage before, after;
  getrusage(RUSAGE_SELF, &before);
  attn_session* session = nullptr;
  REQUIRE(attn_session_create(model, nullptr, &session) == ATTN_OK);
  getrusage(RUSAGE_SELF, &after);
  const size_t after_prepare = resident_bytes(path);
  const size_t faulted = size_t((after.ru_minflt - before.ru_minflt) + (after.ru_majflt - before.ru_majflt)) *
                         size_t(sysconf(_SC_PAGESIZE));
  MESSAGE("resident after prepare " << after_prepare << "; faulted in " << faulted);
  CHECK(after_prepare + faulted > file_bytes / 2);
  attn_session_release(session);
  attn_model_release(model);
  std::remove(path.c_str());
}
