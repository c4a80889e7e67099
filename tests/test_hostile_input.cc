// One regression test per class of hostile input (docs/SECURITY.md, "Classes
// of attack"): each checks the rule that closes the class, over the inputs
// the rule is about, not only the example that revealed it.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "files.h"
#include "convert.h"
#include "memory_plan.h"
#include "sample_items.h"
#include "safetensors.h"
#include "support.h"
#include "writer.h"

using namespace attn;
using convert::Graph;

namespace {

std::string message() { return attn_last_error_message(); }

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<uint8_t> serialize(const Graph& g) {
  convert::ModelConfig config;
  config.family = "gpt";
  config.attention = "standard";
  return convert::serialize_model(config, g, {"{}", "0"});
}

enum class Kind { Add, LayerNorm, Dense, Attention, Pool };

// A model of one op of `kind` on an input of `shape` (features 4 where the
// shape has none), its output shaped as the op would make it.
Graph one_op(Kind kind, const std::vector<int64_t>& shape, int64_t max_tokens) {
  Graph g;
  g.max_tokens = max_tokens;
  const int64_t d = shape.empty() ? 4 : shape.back();
  const int x = test::add_value(g, "x", shape);
  std::vector<int64_t> out_shape = shape;
  if (kind == Kind::Dense && !out_shape.empty()) out_shape.back() = 3;
  if (kind == Kind::Pool) out_shape = {d};
  const int y = test::add_value(g, "y", out_shape);
  convert::Operator op;
  switch (kind) {
    case Kind::Add:
      op = convert::ops::Add{};
      break;
    case Kind::LayerNorm: {
      convert::ops::LayerNorm ln;
      ln.weight = test::add_tensor(g, "w", {d}), ln.bias = test::add_tensor(g, "b", {d}), ln.eps = 1e-5f;
      op = ln;
      break;
    }
    case Kind::Dense: {
      convert::ops::Dense dense;
      dense.weight = test::add_tensor(g, "w", {3, d}), dense.bias = test::add_tensor(g, "b", {3});
      op = dense;
      break;
    }
    case Kind::Attention: {
      convert::ops::Attention a;
      a.heads = 1, a.head_dim = int(d), a.scale = 0.5f;
      a.qkv_weight = test::add_tensor(g, "qkv", {3 * d, d}, 0.01f), a.out_weight = test::add_tensor(g, "o", {d, d}, 0.01f),
      a.out_bias = test::add_tensor(g, "ob", {d});
      op = a;
      break;
    }
    case Kind::Pool:
      op = convert::ops::Pool{};
      break;
  }
  g.ops.push_back(test::op_of(op, kind == Kind::Add ? std::vector<int>{x, x} : std::vector<int>{x}, y));
  g.inputs = {x};
  g.outputs = {y};
  return g;
}

}  // namespace

TEST_CASE("class 1: every op either refuses a shape at load or runs on it") {
  const int64_t L = 6;
  const std::vector<std::vector<int64_t>> shapes = {{}, {4}, {-1, 4}, {3, 4}, {L, 4}, {L + 1, 4}, {2, 3, 4}, {1, 2, 3, 4}};
  const std::pair<Kind, const char*> kinds[] = {{Kind::Add, "Add"},        {Kind::LayerNorm, "LayerNorm"},
                                               {Kind::Dense, "Dense"},    {Kind::Attention, "Attention"},
                                               {Kind::Pool, "Pool"}};
  for (const auto& entry : kinds) {
    const Kind kind = entry.first;
    const char* kind_name = entry.second;  // (doctest's CAPTURE cannot take a structured binding under clang)
    for (const auto& shape : shapes) {
      CAPTURE(kind_name);
      std::string shape_text = "[";
      for (int64_t dim : shape) shape_text += std::to_string(dim) + " ";
      CAPTURE(shape_text);
      const std::vector<uint8_t> bytes = serialize(one_op(kind, shape, L));
      attn_model* model = nullptr;
      const attn_status s = attn_model_load_memory(bytes.data(), bytes.size(), &model);
      if (s != ATTN_OK) {
        CHECK(s == ATTN_ERROR_INVALID_MODEL);
        CHECK(!message().empty());
        // A scalar feeding Add was accepted and crashed at run.
        continue;
      }
      CHECK(!shape.empty());
      attn_session* session = nullptr;
      REQUIRE(attn_session_create(model, nullptr, &session) == ATTN_OK);
      std::vector<int64_t> run_shape = shape;
      size_t count = 1;
      for (int64_t& dim : run_shape) {
        if (dim == -1) dim = 2;
        count *= size_t(dim);
      }
      std::vector<float> x(count);
      for (size_t i = 0; i < count; ++i) x[i] = float(i % 7) / 7.0f - 0.4f;
      REQUIRE(attn_session_set_input(session, 0, x.data(), count * 4, run_shape.data(), run_shape.size()) == ATTN_OK);
      CHECK_MESSAGE(attn_session_run(session) == ATTN_OK, message());
      for (float v : test::read_output(session)) CHECK(std::isfinite(v));
      attn_session_release(session);
      attn_model_release(model);
    }
  }
}

TEST_CASE("class 2: no op works on more rows than max_tokens declares") {
  // The 836-byte example: a non-causal attention over a fixed input of 2^20
  // rows in a model that declares max_tokens 4. Any float matrix is held to
  // it, whichever op reads it.
  for (Kind kind : {Kind::Attention, Kind::Dense, Kind::LayerNorm, Kind::Add, Kind::Pool}) {
    const std::vector<uint8_t> bytes = serialize(one_op(kind, {int64_t{1} << 20, 4}, 4));
    attn_model* model = nullptr;
    CHECK(attn_model_load_memory(bytes.data(), bytes.size(), &model) == ATTN_ERROR_INVALID_MODEL);
    CHECK(message().find("1048576 rows is more than max_tokens (4)") != std::string::npos);
  }
}

TEST_CASE("class 3: planning and checks are O(n log n) in the counts a file sets") {
  SUBCASE("memory planning of 2^18 buffers, checked for overlap by a sweep") {
    // The old planner compared each buffer with every placed one: about
    // 10 s for the 32k ops of a crafted file (about 65k buffers); this is
    // four times as many, which it would take minutes for.
    std::mt19937 rng(21);
    const int steps = 1 << 15;
    std::vector<BufferRequest> req;
    for (int i = 0; i < (1 << 18); ++i) {
      const int first = int(rng() % steps);
      req.push_back({1 + rng() % 4096, first, std::min(steps - 1, first + int(rng() % 8))});
    }
    const auto start = std::chrono::steady_clock::now();
    const MemoryPlan plan = plan_memory(req);
    CHECK(seconds_since(start) < 20.0);
    // Buffers born at a step must not overlap any live one: live intervals by offset.
    std::vector<size_t> order(req.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return req[a].first_step < req[b].first_step; });
    std::map<size_t, size_t> live;  // offset -> request
    std::multimap<int, size_t> ending;  // last step -> request
    size_t overlaps = 0, outside = 0;
    for (size_t i : order) {
      while (!ending.empty() && ending.begin()->first < req[i].first_step) {
        live.erase(plan.offsets[ending.begin()->second]);
        ending.erase(ending.begin());
      }
      const size_t begin = plan.offsets[i], end = begin + req[i].bytes;
      outside += end > plan.arena_bytes;
      auto next = live.lower_bound(begin);
      if (next != live.end() && next->first < end) ++overlaps;
      if (next != live.begin() && plan.offsets[std::prev(next)->second] + req[std::prev(next)->second].bytes > begin)
        ++overlaps;
      live[begin] = i;
      ending.emplace(req[i].last_step, i);
    }
    CHECK(overlaps == 0);
    CHECK(outside == 0);
  }
  SUBCASE("a session over 32767 operators prepares in seconds") {
    Graph g;
    g.max_tokens = 4;
    int x = test::add_value(g, "x", {-1, 4});
    g.inputs = {x};
    for (int i = 0; i < 32767; ++i) {
      const int y = test::add_value(g, "v" + std::to_string(i), {-1, 4});
      g.ops.push_back(test::op_of(convert::ops::Add{}, {x, x}, y));
      x = y;
    }
    g.outputs = {x};
    const auto start = std::chrono::steady_clock::now();
    test::Loaded loaded(serialize(g));
    CHECK(seconds_since(start) < 20.0);
  }
  SUBCASE("a safetensors header of 200000 keys, and a duplicate among them") {
    auto header_of = [](int keys, bool duplicate) {
      std::string h = "{";
      for (int i = 0; i < keys; ++i) {
        const int name = duplicate && i == keys - 1 ? 7 : i;
        h += "\"t" + std::to_string(name) + "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" +
             std::to_string(4 * i) + "," + std::to_string(4 * i + 4) + "]},";
      }
      h.back() = '}';
      std::vector<uint8_t> file(8);
      const uint64_t len = h.size();
      std::memcpy(file.data(), &len, 8);
      file.insert(file.end(), h.begin(), h.end());
      file.resize(file.size() + size_t(keys) * 4, 0);
      return file;
    };
    const int keys = 200000;
    const auto start = std::chrono::steady_clock::now();
    CHECK(convert::read_safetensors(header_of(keys, false), "big.safetensors").size() == size_t(keys));
    CHECK_THROWS_WITH(convert::read_safetensors(header_of(keys, true), "big.safetensors"),
                      doctest::Contains("the key 't7' appears twice"));
    // About 1.3 s of CPU natively and 15 s under qemu; the quadratic checks
    // (a linear search per key, and nlohmann's callback scanning the whole
    // object at each entry's end) did not finish in 20 s natively.
    CHECK(seconds_since(start) < 60.0);
  }
}

TEST_CASE("class 4: causal attention with a pad_id is refused, not computed unmasked") {
  Graph g = one_op(Kind::Attention, {-1, 4}, 8);
  const int ids = test::add_value(g, "ids", {-1}, ATTN_DTYPE_I32);
  g.inputs.push_back(ids);
  g.ops[0].inputs.push_back(ids);
  auto& attention = std::get<convert::ops::Attention>(g.ops[0].op);
  attention.causal = true;
  attention.pad_id = 0;
  const std::vector<uint8_t> bytes = serialize(g);
  attn_model* model = nullptr;
  CHECK(attn_model_load_memory(bytes.data(), bytes.size(), &model) == ATTN_ERROR_INVALID_MODEL);
  CHECK(message().find("causal attention with pad_id 0 is not supported") != std::string::npos);
  // The same layer without causality runs with its mask.
  attention.causal = false;
  const std::vector<uint8_t> masked = serialize(g);
  CHECK(attn_model_load_memory(masked.data(), masked.size(), &model) == ATTN_OK);
  attn_model_release(model);
}

TEST_CASE("class 6: the converter never writes a model the loader refuses") {
  SUBCASE("a value beyond the element limit: logits [n, 2^17] with n up to 2^16") {
    const std::string config = R"({"family":"gpt","attention":"efficient","d_model":1,"heads":1,"layers":1,"mlp_dim":1,
        "context":65536,"activation":"gelu","vocab_size":131072})";
    CHECK_THROWS_WITH(convert::convert_random(config, "config.json", 1, {}),
                      doctest::Contains("the converted model would not load"));
  }
  SUBCASE("more samples than the loader reads") {
    const std::string dir = test::fixture_dir("vit-super-mean");
    convert::SampleRequest request;
    const npy::Array inputs = npy::read(dir + "/inputs.npy");
    for (size_t k = 0; k < 65; ++k) request.inputs.push_back(convert::sample_items(inputs, 1, "inputs.npy")[0]);
    request.inputs_name = "inputs.npy";
    CHECK_THROWS_WITH(convert::convert(convert::read_file(dir + "/model.safetensors"), "model.safetensors",
                                       test::read_text(dir + "/config.json"), "config.json", {}, &request),
                      doctest::Contains("65 samples"));
  }
}

TEST_CASE("class 9: the C API checks a count before reading what it counts") {
  const std::vector<uint8_t> bytes = serialize(one_op(Kind::Add, {-1, 4}, 4));
  test::Loaded loaded(bytes);
  const float x[8] = {};
  const int64_t shape[1] = {2};  // one entry; rank claims far more
  CHECK(attn_session_set_input(loaded.session, 0, x, sizeof x, shape, size_t{1} << 40) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(message().find("more than ATTN_MAX_RANK") != std::string::npos);
  CHECK(attn_session_set_input(loaded.session, 0, x, sizeof x, shape, ATTN_MAX_RANK + 1) == ATTN_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("config.json: duplicate keys and unsigned numbers that do not fit") {
  const std::string base = R"("attention":"standard","d_model":32,"heads":4,"layers":2,"mlp_dim":64,"context":16,
      "activation":"gelu","vocab_size":64)";
  CHECK_THROWS_WITH(convert::parse_config(R"({"family":"gpt",)" + base + R"(,"heads":2})", "config.json"),
                    doctest::Contains("config.json: the key 'heads' appears twice"));
  // Nested objects keep keys of their own.
  CHECK_THROWS_WITH(convert::parse_config(R"({"family":"gpt","x":{"a":1,"a":2},)" + base + "}", "config.json"),
                    doctest::Contains("the key 'a' appears twice"));
  CHECK_NOTHROW(convert::parse_config(R"({"family":"gpt","x":{"heads":1},)" + base + "}", "config.json"));
  // 2^64 - 1 read as a signed number is -1, and pad_id -1 means "none".
  CHECK_THROWS_WITH(
      convert::parse_config(R"({"family":"text","num_classes":2,"pad_id":18446744073709551615,)" + base + "}", "config.json"),
      doctest::Contains("field 'pad_id' is 18446744073709551615"));
  CHECK_THROWS_WITH(convert::parse_config(R"({"family":"gpt","attention":"standard","d_model":18446744073709551615,
      "heads":4,"layers":2,"mlp_dim":64,"context":16,"activation":"gelu","vocab_size":64})", "config.json"),
                    doctest::Contains("field 'd_model' is 18446744073709551615"));
}

TEST_CASE("class 7: every reader refuses a FIFO without blocking on it") {
  // No writer ever opens the FIFO: a blocking open would hang the test.
  const std::string fifo = std::string(ATTN_TEST_OUTPUT_DIR) + "/hostile_fifo";
  unlink(fifo.c_str());
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  attn_model* model = nullptr;
  CHECK(attn_model_load_file(fifo.c_str(), &model) == ATTN_ERROR_IO);
  CHECK(message().find("is not a regular file") != std::string::npos);
  CHECK_THROWS_WITH(convert::read_file(fifo), doctest::Contains("is not a regular file"));
  CHECK_THROWS_WITH(files::Mapping{fifo}, doctest::Contains("is not a regular file"));
  CHECK_THROWS_WITH(npy::read(fifo), doctest::Contains("is not a regular file"));
  unlink(fifo.c_str());
}
