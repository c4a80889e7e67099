// Every input a fuzz target ever crashed on is committed under
// tests/data/regressions/TARGET/ and replayed here through the same harness
// (tests/fuzz/harness.cc), so a fixed bug stays fixed in every build,
// including the ASan+UBSan one.

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "harness.h"
#include "support.h"

namespace {

std::vector<std::filesystem::path> inputs(const std::string& target) {
  std::vector<std::filesystem::path> files;
  const std::filesystem::path dir = std::filesystem::path(ATTN_TEST_DATA_DIR) / "regressions" / target;
  if (std::filesystem::is_directory(dir))
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      if (entry.is_regular_file() && entry.path().extension() != ".md") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<uint8_t> bytes_of(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path.string());
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

template <typename Check>
size_t replay(const std::string& target, Check check) {
  size_t count = 0;
  for (const auto& path : inputs(target)) {
    const std::vector<uint8_t> bytes = bytes_of(path);
    INFO(target << " regression input " << path.filename().string());
    CHECK(check(bytes.data(), bytes.size()) == "");
    ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("committed crash inputs of the model loader are handled") {
  MESSAGE(replay("model_loader", attn::fuzz::check_model) << " inputs replayed");
}

TEST_CASE("committed crash inputs of the safetensors reader are handled") {
  MESSAGE(replay("safetensors", attn::fuzz::check_safetensors) << " inputs replayed");
}

TEST_CASE("committed crash inputs of the config parser are handled") {
  MESSAGE(replay("config", attn::fuzz::check_config) << " inputs replayed");
}

TEST_CASE("the harness accepts every fixture as it is") {
  for (const std::string& name : attn::test::fixture_names()) {
    CAPTURE(name);
    const std::string dir = attn::test::fixture_dir(name);
    const auto model = attn::test::convert_fixture(name);
    CHECK(attn::fuzz::check_model(model.data(), model.size()) == "");
    const auto checkpoint = bytes_of(dir + "/model.safetensors");
    CHECK(attn::fuzz::check_safetensors(checkpoint.data(), checkpoint.size()) == "");
    const auto config = bytes_of(dir + "/config.json");
    CHECK(attn::fuzz::check_config(config.data(), config.size()) == "");
  }
}
