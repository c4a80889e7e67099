// Hundreds of randomly corrupted model files and checkpoints: truncations,
// bit flips in and near the structure, extreme words. Each is refused with a
// status and a message (or, when the damage is harmless, loads and runs);
// none crashes, hangs or trips a sanitizer. The checks per file are the fuzz
// harness's (tests/fuzz/harness.cc). attn-convert itself is run on corrupted
// checkpoints too: a named error, exit status 1 and no output file.

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "convert.h"
#include "harness.h"
#include "support.h"

namespace {

const char* const kFixtures[] = {"vit-super-cls-postnorm", "text-standard-fused-pad", "gpt-super", "hf-gpt2-tiny",
                                 "vit-efficient-f16"};

enum class Damage { Truncate, FlipBits, ExtremeWord, Splice };

// Damages `good` in one of four ways; `structure` is how many leading bytes
// hold the structure (FlatBuffer header, safetensors JSON header), where
// most of the damage goes.
std::vector<uint8_t> damage(const std::vector<uint8_t>& good, size_t structure, Damage kind, std::mt19937& rng) {
  std::vector<uint8_t> bad = good;
  auto pos = [&](size_t limit) { return size_t(rng() % std::max<size_t>(limit, 1)); };
  switch (kind) {
    case Damage::Truncate:
      bad.resize(pos(good.size()));
      break;
    case Damage::FlipBits: {
      const int flips = 1 + int(rng() % 6);
      for (int f = 0; f < flips; ++f) {
        // Mostly inside the structure, sometimes just past it.
        const size_t at = rng() % 8 ? pos(structure) : std::min(good.size() - 1, structure + pos(256));
        bad[at] ^= uint8_t(1u << (rng() % 8));
      }
      break;
    }
    case Damage::ExtremeWord: {
      static const uint64_t kWords[] = {0, ~0ull, 0x7fffffffull, 0x80000000ull, 0xffffffffull, 0x7fffffffffffffffull,
                                        0x8000000000000000ull, 1ull << 32, 64, 0xfffffffcull};
      const uint64_t word = kWords[rng() % (sizeof kWords / sizeof kWords[0])];
      const size_t width = rng() % 2 ? 8 : 4;
      const size_t at = pos(structure > width ? structure - width : 1) & ~size_t(3);
      std::memcpy(bad.data() + at, &word, std::min(width, bad.size() - at));
      break;
    }
    case Damage::Splice: {
      // A run of bytes copied from elsewhere in the structure.
      const size_t len = 1 + pos(32), from = pos(structure), to = pos(structure);
      for (size_t k = 0; k < len && from + k < bad.size() && to + k < bad.size(); ++k) bad[to + k] = good[from + k];
      break;
    }
  }
  return bad;
}

const Damage kKinds[] = {Damage::Truncate, Damage::FlipBits, Damage::ExtremeWord, Damage::Splice};

}  // namespace

TEST_CASE("hundreds of corrupted model files are each refused by name or run safely") {
  int refused = 0, harmless = 0;
  for (const char* fixture : kFixtures) {
    const std::vector<uint8_t> good = attn::test::convert_fixture(fixture);
    uint32_t header;
    std::memcpy(&header, good.data(), 4);
    std::mt19937 rng(20261123);
    for (int trial = 0; trial < 200; ++trial) {
      const Damage kind = kKinds[trial % 4];
      const std::vector<uint8_t> bad = damage(good, header + 4, kind, rng);
      CAPTURE(std::string(fixture));
      CAPTURE(trial);
      CHECK(attn::fuzz::check_model(bad.data(), bad.size()) == "");
      attn_model* model = nullptr;
      const attn_status s = attn_model_load_memory(bad.empty() ? good.data() : bad.data(), bad.size(), &model);
      attn_model_release(model);
      if (s == ATTN_OK) {
        ++harmless;
      } else {
        ++refused;
        CHECK(std::strlen(attn_last_error_message()) > 0);
      }
      if (kind == Damage::Truncate) CHECK(s != ATTN_OK);  // every byte of a converted file is needed
    }
  }
  MESSAGE(refused << " refused, " << harmless << " harmless");
  CHECK(refused >= 500);
}

TEST_CASE("hundreds of corrupted checkpoints are each refused by name or convert safely") {
  int refused = 0, converted = 0;
  for (const char* fixture : kFixtures) {
    const std::string path = attn::test::fixture_dir(fixture) + "/model.safetensors";
    const std::vector<uint8_t> good = attn::convert::read_file(path);
    uint64_t header = 0;
    for (int i = 7; i >= 0; --i) header = (header << 8) | good[size_t(i)];
    const std::string config = attn::test::read_text(attn::test::fixture_dir(fixture) + "/config.json");
    std::mt19937 rng(1123);
    for (int trial = 0; trial < 80; ++trial) {
      const std::vector<uint8_t> bad = damage(good, size_t(header) + 8, kKinds[trial % 4], rng);
      CAPTURE(std::string(fixture));
      CAPTURE(trial);
      CHECK(attn::fuzz::check_safetensors(bad.data(), bad.size()) == "");
      // The whole conversion with the fixture's own config.
      try {
        attn::convert::convert(bad, "model.safetensors", config, "config.json", {});
        ++converted;
      } catch (const attn::convert::InputError& e) {
        ++refused;
        const std::string what = e.what();
        const bool named = what.find("model.safetensors") != std::string::npos || what.find("tensor '") != std::string::npos;
        CHECK_MESSAGE(named, what);
      } catch (const std::exception& e) {
        FAIL_CHECK("not an InputError: " << e.what());
      }
    }
  }
  MESSAGE(refused << " refused, " << converted << " converted");
  CHECK(refused >= 200);
}

TEST_CASE("corrupted configs are refused by name") {
  const std::string text = attn::test::read_text(attn::test::fixture_dir("text-standard-fused-pad") + "/config.json");
  std::mt19937 rng(7);
  int refused = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string bad = text;
    const int edits = 1 + int(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % bad.size();
      switch (rng() % 4) {
        case 0: bad[at] = char(rng() % 256); break;                      // any byte, invalid UTF-8 included
        case 1: bad.erase(at, 1 + rng() % 8); break;                      // a cut
        case 2: bad.insert(at, "99999999999999999999"); break;            // a huge number
        default: bad.resize(at); break;                                    // truncation
      }
      if (bad.empty()) bad = "{";
    }
    CAPTURE(bad);
    CHECK(attn::fuzz::check_config(reinterpret_cast<const uint8_t*>(bad.data()), bad.size()) == "");
    try {
      attn::convert::parse_config(bad, "config.json");
    } catch (const attn::convert::InputError&) {
      ++refused;
    }
  }
  MESSAGE(refused << " of 300 refused");
  CHECK(refused >= 150);
}

TEST_CASE("attn-convert refuses corrupted checkpoints with a named error, exit 1 and no output file") {
  namespace fs = std::filesystem;
  const fs::path work = fs::path(ATTN_TEST_OUTPUT_DIR) / "corruption";
  fs::create_directories(work);
  const std::string fixture = attn::test::fixture_dir("gpt-super");
  const std::vector<uint8_t> good = attn::convert::read_file(fixture + "/model.safetensors");
  uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | good[size_t(i)];
  std::mt19937 rng(99);
  int runs = 0;
  for (int trial = 0; trial < 24; ++trial) {
    const std::vector<uint8_t> bad = damage(good, size_t(header) + 8, kKinds[trial % 4], rng);
    const fs::path checkpoint = work / "model.safetensors", output = work / "out.attnmodel", log = work / "log";
    {
      std::ofstream out(checkpoint, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(bad.data()), std::streamsize(bad.size()));
    }
    fs::remove(output);
    const std::string command = std::string(ATTN_CONVERT_BINARY) + " -q --checkpoint " + checkpoint.string() +
                                " --config " + fixture + "/config.json -o " + output.string() + " >" + log.string() +
                                " 2>&1";
    const int status = std::system(command.c_str());
    REQUIRE(WIFEXITED(status));
    const int code = WEXITSTATUS(status);
    const std::string printed = attn::test::read_text(log.string());
    CAPTURE(trial);
    CAPTURE(printed);
    if (code == 0) {
      CHECK(fs::exists(output));  // harmless damage (e.g. in a weight's bits)
    } else {
      ++runs;
      CHECK(code == 1);
      CHECK(!fs::exists(output));
      CHECK(printed.find("attn-convert: error: ") == 0);
      CHECK(printed.find("sanitizer") == std::string::npos);
    }
    // No temporary file is left behind either.
    for (const auto& entry : fs::directory_iterator(work))
      CHECK_MESSAGE(entry.path().filename().string().find(".tmp.") == std::string::npos, entry.path().string());
  }
  CHECK(runs >= 12);
}
