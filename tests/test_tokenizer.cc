// GPT-2's tokenizer against the ids of an independent implementation (the npm
// package gpt-3-encoder, tests/data/tokenizer/gen_fixtures.js), the
// pre-tokenizer's cost on hostile text, the checks on a hostile vocabulary,
// and the tokenizer's trip through attn-convert, the model file and the C API.

#include <doctest/doctest.h>

#include <ctime>
#include <functional>
#include <fstream>
#include <nlohmann/json.hpp>

#include "error.h"
#include "support.h"
#include "tokenizer/bpe.h"
#include "tokenizer/from_model.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer_import.h"
#include "convert.h"

namespace {

using attn::text::Bpe;

const std::string kGpt2 = std::string(ATTN_TEST_DATA_DIR) + "/tokenizer/gpt2/encoder.json";

const Bpe& gpt2() {
  static const Bpe bpe = [] {
    attn::convert::TokenizerData d = attn::convert::read_tokenizer(kGpt2);
    return Bpe(d.tokens, d.merges, d.eos_id);
  }();
  return bpe;
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(char(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string decode(const Bpe& bpe, const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) out += bpe.token(id);
  return out;
}

// The calling thread's CPU time, not wall time: on a busy machine a pause
// while another process holds the core is not the encoder's work.
double seconds_for(const std::function<void()>& f) {
  auto now = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
  };
  const double t0 = now();
  f();
  return now() - t0;
}

}  // namespace

TEST_CASE("GPT-2's tokenizer gives gpt-3-encoder's ids on every fixture text, and decodes back to the bytes") {
  const Bpe& bpe = gpt2();
  CHECK(bpe.size() == 50257);
  CHECK(bpe.eos_id() == 50256);
  const auto fixtures = nlohmann::json::parse(attn::test::read_text(std::string(ATTN_TEST_DATA_DIR) + "/tokenizer/fixtures.json"));
  REQUIRE(fixtures.size() >= 25);
  for (const auto& f : fixtures) {
    CAPTURE(f["name"].get<std::string>());
    const std::string text = from_hex(f["hex"]);
    std::vector<int32_t> ids;
    bpe.encode(text, ids);
    CHECK(ids == f["ids"].get<std::vector<int32_t>>());
    CHECK(decode(bpe, ids) == text);  // byte-level: every byte string comes back, valid UTF-8 or not
  }
}

TEST_CASE("the pre-tokenizer splits as GPT-2's pattern does") {
  // Expected splits from Python's `regex` module with the same pattern.
  const auto pieces = [](const std::string& text) {
    std::vector<attn::text::Piece> p;
    attn::text::pretokenize(text, p);
    std::vector<std::string> out;
    for (const auto& x : p) out.push_back(text.substr(x.begin, x.end - x.begin));
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(pieces("Hello  world!!") == V{"Hello", " ", " world", "!!"});
  CHECK(pieces("it's 42\n\n  x") == V{"it", "'s", " 42", "\n\n ", " x"});
  CHECK(pieces("a \t ") == V{"a", " \t "});
  CHECK(pieces("\nA") == V{"\n", "A"});
  CHECK(pieces("") == V{});
  CHECK(std::string(attn::text::unicode_version()) == "14.0.0");
}

TEST_CASE("hostile text costs time linear in its length") {
  // Texts that would make a backtracking regex or a quadratic merge slow:
  // one long word, long whitespace, invalid bytes, alternating classes, spaces
  // before a word. 16 times the text must cost well under 16² times the time:
  // at most 64 times (linear is 16, quadratic 256), whatever the machine's
  // speed (loaded, sanitized or emulated), with 0.1 s for timer noise.
  const Bpe& bpe = gpt2();
  const std::vector<std::function<std::string(size_t)>> makers = {
      [](size_t n) { return std::string(n, 'a'); },
      [](size_t n) { return std::string(n, ' '); },
      [](size_t n) { return std::string(n, '\xFF'); },
      [](size_t n) {
        std::string t;
        for (size_t i = 0; t.size() < n; ++i) t += (i % 3 == 0) ? " a" : (i % 3 == 1) ? "1 " : "\xF0\x9F";
        return t;
      },
      [](size_t n) { return std::string(n - 1, ' ') + "x"; }};
  for (size_t k = 0; k < makers.size(); ++k) {
    CAPTURE(k);
    const std::string small = makers[k](size_t(1) << 14), big = makers[k](size_t(1) << 18);
    std::vector<int32_t> ids;
    // The fastest of three runs each: a busy machine's pauses only add time.
    double t_small = 1e9, t_big = 1e9;
    for (int r = 0; r < 3; ++r) t_small = std::min(t_small, seconds_for([&] { ids.clear(), bpe.encode(small, ids); }));
    for (int r = 0; r < 3; ++r) t_big = std::min(t_big, seconds_for([&] { ids.clear(), bpe.encode(big, ids); }));
    CHECK(decode(bpe, ids) == big);
    CHECK(t_big < 64 * t_small + 0.1);
  }
}

TEST_CASE("a hostile vocabulary or merge list is refused by name") {
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.push_back(std::string(1, char(b)));
  const auto refused = [](std::vector<std::string> tokens, std::vector<std::pair<int32_t, int32_t>> merges, int32_t eos,
                          const std::string& words) {
    try {
      Bpe bpe(std::move(tokens), merges, eos);
    } catch (const attn::Error& e) {
      CHECK(e.status() == ATTN_ERROR_INVALID_MODEL);
      CHECK_MESSAGE(std::string(e.what()).find(words) != std::string::npos, e.what());
      return;
    }
    FAIL("accepted: ", words);
  };
  auto missing = bytes;
  missing[65] = "AB";
  refused(missing, {}, -1, "no token for the byte 65");
  auto dup = bytes;
  dup.push_back("a");
  refused(dup, {}, -1, "token 256 repeats token 97");
  auto empty = bytes;
  empty.push_back("");
  refused(empty, {}, -1, "token 256 is 0 bytes");
  refused(bytes, {{97, 98}}, -1, "merge 0 (97, 98) makes a string that is not a token");
  auto ab = bytes;
  ab.push_back("ab");
  refused(ab, {{97, 98}, {97, 98}}, -1, "merge 1 repeats");
  refused(ab, {{97, 300}}, -1, "merge 0 names a token id outside");
  refused(ab, {}, 257, "end-of-text id 257");
  refused(ab, {}, -2, "end-of-text id -2");
  Bpe ok(ab, {{97, 98}}, -1);
  std::vector<int32_t> ids;
  ok.encode("abab", ids);
  CHECK(ids == std::vector<int32_t>{256, 256});
}

TEST_CASE("merges are applied by rank even when a merge made later outranks the round") {
  // Tokens: bytes, "ab" (256), "bc" (257), "abc" (258). Ranks: (a,b)=0,
  // (b,c)=1, (ab,c)=2. "abc": (a,b) first, then (ab,c): one token.
  std::vector<std::string> t;
  for (int b = 0; b < 256; ++b) t.push_back(std::string(1, char(b)));
  for (const char* s : {"ab", "bc", "abc"}) t.push_back(s);
  Bpe bpe(t, {{'a', 'b'}, {'b', 'c'}, {256, 'c'}}, -1);
  std::vector<int32_t> ids;
  bpe.encode("abcbc", ids);
  CHECK(ids == std::vector<int32_t>{258, 257});
}

TEST_CASE("the tokenizer goes through attn-convert into the model file and out of the C API") {
  attn::convert::TokenizerData tokenizer = attn::convert::read_tokenizer(kGpt2);
  attn::convert::BuildOptions options;
  options.tokenizer = &tokenizer;
  const std::string dir = attn::test::fixture_dir("hf-gpt2-tiny");
  const std::string cfg = attn::test::read_text(dir + "/config.json");
  nlohmann::json j = nlohmann::json::parse(cfg);
  REQUIRE(j["vocab_size"].get<int64_t>() < 50257);  // the tiny model's vocabulary is smaller than GPT-2's
  attn::convert::TokenizerData small;
  {
    // The tiny model keeps GPT-2's first tokens: bytes and the merges among them.
    const size_t vocab = j["vocab_size"].get<size_t>();
    small.tokens.assign(tokenizer.tokens.begin(), tokenizer.tokens.begin() + std::ptrdiff_t(vocab));
    for (const auto& m : tokenizer.merges)
      if (size_t(m.first) < vocab && size_t(m.second) < vocab) {
        const std::string joined = tokenizer.tokens[size_t(m.first)] + tokenizer.tokens[size_t(m.second)];
        if (std::find(small.tokens.begin(), small.tokens.end(), joined) != small.tokens.end()) small.merges.push_back(m);
      }
  }
  options.tokenizer = &small;
  const auto ckpt = attn::convert::read_file(dir + "/model.safetensors");
  const auto result = attn::convert::convert(ckpt, "model.safetensors", cfg, "config.json", options);
  attn::test::Loaded loaded(result.file);
  int has = 0;
  REQUIRE(attn_model_has_tokenizer(loaded.model, &has) == ATTN_OK);
  CHECK(has == 1);
  size_t vocab = 0;
  int32_t eos = 0;
  REQUIRE(attn_tokenizer_info(loaded.model, &vocab, &eos) == ATTN_OK);
  CHECK(vocab == small.tokens.size());
  CHECK(eos == -1);
  const std::string text = "The cat\xF0\x9F\x98\x80 sat.";
  size_t count = 0;
  CHECK(attn_tokenize(loaded.model, text.data(), text.size(), nullptr, 0, &count) == ATTN_ERROR_BUFFER_TOO_SMALL);
  std::vector<int32_t> ids(count);
  REQUIRE(attn_tokenize(loaded.model, text.data(), text.size(), ids.data(), ids.size(), &count) == ATTN_OK);
  std::vector<int32_t> expected;
  Bpe(small.tokens, small.merges, -1).encode(text, expected);
  CHECK(ids == expected);
  std::string back(text.size(), '\0');
  size_t length = 0;
  REQUIRE(attn_detokenize(loaded.model, ids.data(), ids.size(), back.data(), back.size(), &length) == ATTN_OK);
  CHECK(back == text);
  const char* bytes = nullptr;
  CHECK(attn_token_bytes(loaded.model, int32_t(vocab), &bytes, &length) == ATTN_ERROR_OUT_OF_RANGE);
  const int32_t bad = -1;
  CHECK(attn_detokenize(loaded.model, &bad, 1, back.data(), back.size(), &length) == ATTN_ERROR_OUT_OF_RANGE);

  // GPT-2's full vocabulary does not fit the tiny model: refused at conversion.
  options.tokenizer = &tokenizer;
  CHECK_THROWS_WITH_AS(attn::convert::convert(ckpt, "model.safetensors", cfg, "config.json", options),
                       doctest::Contains("more than the model's vocab_size"), attn::convert::InputError);
  // A model without one says so.
  attn::test::Loaded plain(attn::test::convert_fixture("hf-gpt2-tiny"));
  CHECK(attn_model_has_tokenizer(plain.model, &has) == ATTN_OK);
  CHECK(has == 0);
  CHECK(attn_tokenize(plain.model, "a", 1, nullptr, 0, &count) == ATTN_ERROR_BAD_STATE);
}

TEST_CASE("a tokenizer.json in Hugging Face's form reads like vocab.json + merges.txt") {
  const std::string out = std::string(ATTN_TEST_OUTPUT_DIR) + "/tokenizer-json";
  std::system(("mkdir -p '" + out + "'").c_str());
  nlohmann::json vocab = {{"a", 0}, {"b", 1}};
  std::vector<std::string> tokens;
  nlohmann::json v;
  for (int b = 0; b < 256; ++b) {
    std::string s;
    const uint32_t cp = attn::text::byte_to_unicode(uint8_t(b));
    if (cp < 0x80) s = char(cp);
    else s = {char(0xC0 | (cp >> 6)), char(0x80 | (cp & 0x3F))};
    v[s] = b;
  }
  v["ab"] = 256;
  nlohmann::json j = {{"model", {{"type", "BPE"}, {"vocab", v}, {"merges", {"a b"}}}},
                      {"pre_tokenizer", {{"type", "ByteLevel"}}},
                      {"added_tokens", {{{"id", 257}, {"content", "<|endoftext|>"}, {"special", true}}}}};
  std::ofstream(out + "/tokenizer.json") << j.dump();
  const attn::convert::TokenizerData d = attn::convert::read_tokenizer(out);
  CHECK(d.tokens.size() == 258);
  CHECK(d.eos_id == 257);
  CHECK(d.merges == std::vector<std::pair<int32_t, int32_t>>{{'a', 'b'}});
  j["pre_tokenizer"]["type"] = "Metaspace";
  std::ofstream(out + "/tokenizer.json") << j.dump();
  CHECK_THROWS_WITH_AS(attn::convert::read_tokenizer(out), doctest::Contains("ByteLevel"), attn::convert::InputError);
}

TEST_CASE("a model file's Tokenizer table is checked before use") {
  const auto load = [](const std::vector<uint8_t>& bytes, const std::vector<uint32_t>& offsets,
                       const std::vector<int32_t>& merges, int32_t eos, int64_t model_vocab) {
    flatbuffers::FlatBufferBuilder b;
    b.Finish(attn::fb::CreateTokenizer(b, b.CreateVector(bytes), b.CreateVector(offsets), b.CreateVector(merges), eos));
    return attn::text::load_tokenizer(*flatbuffers::GetRoot<attn::fb::Tokenizer>(b.GetBufferPointer()), model_vocab);
  };
  std::vector<uint8_t> bytes;
  std::vector<uint32_t> offsets{0};
  for (int b = 0; b < 256; ++b) bytes.push_back(uint8_t(b)), offsets.push_back(uint32_t(bytes.size()));
  bytes.push_back('a'), bytes.push_back('b'), offsets.push_back(uint32_t(bytes.size()));
  CHECK(load(bytes, offsets, {'a', 'b'}, 256, 300)->size() == 257);
  const auto refused = [&](std::vector<uint8_t> by, std::vector<uint32_t> off, std::vector<int32_t> m, int64_t vocab,
                           const char* words) {
    CHECK_THROWS_WITH_AS(load(by, off, m, -1, vocab), doctest::Contains(words), attn::Error);
  };
  refused(bytes, offsets, {'a', 'b'}, 200, "more than the model's vocabulary of 200");
  refused(bytes, offsets, {'a', 'b'}, 0, "takes no token ids");
  refused(bytes, offsets, {'a'}, 300, "odd number");
  auto shifted = offsets;
  shifted[0] = 1;
  refused(bytes, shifted, {}, 300, "token_offsets[0] is 1");
  auto short_bytes = bytes;
  short_bytes.pop_back();
  refused(short_bytes, offsets, {}, 300, "token_bytes holds 257 bytes");
  auto backwards = offsets;
  backwards[10] = 100;
  refused(bytes, backwards, {}, 300, "token 10 spans");
  refused(bytes, {0}, {}, 300, "token_offsets has 1 entries");
}
