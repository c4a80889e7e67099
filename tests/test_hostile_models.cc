// Structurally valid .attnmodel files, crafted to break what the loader must
// guarantee: the sessions and kernels trust every size the loader lets
// through. Each file is built with the converter's writer from a hand-made
// graph, so only the meaning is wrong.

#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "attnmodel_generated.h"
#include "support.h"
#include "writer.h"

using namespace attn;
using convert::Graph;

namespace {

std::string message() { return attn_last_error_message(); }

std::vector<uint8_t> serialize(const Graph& g) {
  convert::ModelConfig config;
  config.family = "gpt";
  config.attention = "standard";
  return convert::serialize_model(config, g, {"{}", "0"});
}

convert::GraphOp token_embed(int ids, int out, int table, int pos) {
  convert::ops::TokenEmbed op;
  op.table = table;
  op.pos_embed = pos;
  return test::op_of(op, {ids}, out);
}

attn_status load(const std::vector<uint8_t>& bytes, attn_model** model) {
  *model = nullptr;
  return attn_model_load_memory(bytes.data(), bytes.size(), model);
}

void expect_refused(const Graph& g, std::initializer_list<const char*> parts) {
  attn_model* model = nullptr;
  const auto bytes = serialize(g);
  CHECK(load(bytes, &model) == ATTN_ERROR_INVALID_MODEL);
  CHECK(model == nullptr);
  for (const char* part : parts) CHECK_MESSAGE(message().find(part) != std::string::npos, "'" << part << "' not in: " << message());
  attn_model_release(model);
}

}  // namespace

TEST_CASE("token ids are checked against the smallest embedding table") {
  // Two embeddings of the same ids, with 10 and 50 rows: an id of 40 is
  // valid for one and would read past the other.
  Graph g;
  g.max_tokens = 8;
  const int ids = test::add_value(g, "ids", {-1}, ATTN_DTYPE_I32);
  const int a = test::add_value(g, "a", {-1, 4}), b = test::add_value(g, "b", {-1, 4}), sum = test::add_value(g, "sum", {-1, 4});
  g.ops.push_back(token_embed(ids, a, test::add_tensor(g, "small", {10, 4}), test::add_tensor(g, "pos_a", {8, 4})));
  g.ops.push_back(token_embed(ids, b, test::add_tensor(g, "large", {50, 4}), test::add_tensor(g, "pos_b", {8, 4})));
  g.ops.push_back(test::op_of(convert::ops::Add{}, {a, b}, sum));
  g.inputs = {ids};
  g.outputs = {sum};
  test::Loaded m(serialize(g));
  int32_t tokens[3] = {1, 40, 2};
  int64_t n = 3;
  CHECK(attn_session_set_input(m.session, 0, tokens, sizeof tokens, &n, 1) == ATTN_ERROR_OUT_OF_RANGE);
  CHECK(message().find("[0, 10)") != std::string::npos);
  tokens[1] = 9;
  REQUIRE(attn_session_set_input(m.session, 0, tokens, sizeof tokens, &n, 1) == ATTN_OK);
  CHECK(attn_session_run(m.session) == ATTN_OK);
}

TEST_CASE("the sequence length may only be a leading dimension") {
  SUBCASE("a float vector [-1]") {
    // Add would take its last dimension, -1, as a size.
    Graph g;
    g.max_tokens = 8;
    const int x = test::add_value(g, "x", {-1}), y = test::add_value(g, "y", {-1});
    g.ops.push_back(test::op_of(convert::ops::Add{}, {x, x}, y));
    g.inputs = {x};
    g.outputs = {y};
    expect_refused(g, {"value 0 'x'", "[-1]", "only the first dimension", "file offset"});
  }
  SUBCASE("a feature dimension of -1") {
    // A dense layer would accept a weight of any width for it.
    Graph g;
    g.max_tokens = 8;
    const int x = test::add_value(g, "x", {2, -1}), y = test::add_value(g, "y", {2, 3});
    convert::ops::Dense dense;
    dense.weight = test::add_tensor(g, "w", {3, 1000});
    g.ops.push_back(test::op_of(dense, {x}, y));
    g.inputs = {x};
    g.outputs = {y};
    expect_refused(g, {"value 0 'x'", "[2, -1]"});
  }
}

TEST_CASE("token ids of a fixed length must cover max_tokens") {
  // Without a free-length input a run has n = max_tokens rows: ids [4]
  // under max_tokens 8 would be read (and embedded) past their end.
  Graph g;
  g.max_tokens = 8;
  const int ids = test::add_value(g, "ids", {4}, ATTN_DTYPE_I32), x = test::add_value(g, "x", {4, 4});
  g.ops.push_back(token_embed(ids, x, test::add_tensor(g, "table", {10, 4}), test::add_tensor(g, "pos", {8, 4})));
  g.inputs = {ids};
  g.outputs = {x};
  expect_refused(g, {"'ids'", "max_tokens (8)"});
}

TEST_CASE("a weight of an unexpected width is refused, not trusted") {
  Graph g;
  g.max_tokens = 8;
  const int x = test::add_value(g, "x", {-1, 4}), y = test::add_value(g, "y", {-1, 3});
  convert::ops::Dense dense;
  dense.weight = test::add_tensor(g, "w", {3, 5});
  g.ops.push_back(test::op_of(dense, {x}, y));
  g.inputs = {x};
  g.outputs = {y};
  expect_refused(g, {"Dense", "'w'", "[3, 5]", "expected [3, 4]"});
}

TEST_CASE("limits on layers and operators") {
  SUBCASE("attention layers") {
    Graph g;
    g.max_tokens = 4;
    int x = test::add_value(g, "x", {-1, 4});
    g.inputs = {x};
    const int qkv = test::add_tensor(g, "qkv", {12, 4}), out = test::add_tensor(g, "out", {4, 4}), out_b = test::add_tensor(g, "out_b", {4});
    for (int i = 0; i < 4097; ++i) {
      const int y = test::add_value(g, "a" + std::to_string(i), {-1, 4});
      convert::ops::Attention a;
      a.heads = 1, a.head_dim = 4, a.scale = 0.5f;
      a.qkv_weight = qkv, a.out_weight = out, a.out_bias = out_b;
      g.ops.push_back(test::op_of(a, {x}, y));
      x = y;
    }
    g.outputs = {x};
    expect_refused(g, {"op 4096 (Attention", "more than 4096 attention layers"});
  }
  SUBCASE("operators") {
    Graph g;
    g.max_tokens = 4;
    int x = test::add_value(g, "x", {-1, 4});
    g.inputs = {x};
    for (int i = 0; i < 40000; ++i) {
      const int y = test::add_value(g, "v" + std::to_string(i), {-1, 4});
      g.ops.push_back(test::op_of(convert::ops::Add{}, {x, x}, y));
      x = y;
    }
    g.outputs = {x};
    expect_refused(g, {"40000 operators", "limit of 32768"});
  }
}

TEST_CASE("refusals of a weight name the tensor and its place in the file") {
  Graph g;
  g.max_tokens = 4;
  const int x = test::add_value(g, "x", {-1, 4}), y = test::add_value(g, "y", {-1, 4});
  convert::ops::LayerNorm ln;
  ln.weight = test::add_tensor(g, "ln.weight", {4});
  ln.bias = test::add_tensor(g, "ln.bias", {4});
  ln.eps = 1e-5f;
  g.ops.push_back(test::op_of(ln, {x}, y));
  g.inputs = {x};
  g.outputs = {y};
  std::vector<uint8_t> bytes = serialize(g);
  {
    test::Loaded ok(bytes);
  }
  // Declare ln.bias 5 wide: its byte size no longer matches its shape.
  const fb::Model* root = fb::GetSizePrefixedModel(bytes.data());
  const fb::Tensor* bias = nullptr;
  for (const fb::Tensor* t : *root->tensors())
    if (t->name()->str() == "ln.bias") bias = t;
  REQUIRE(bias != nullptr);
  const int64_t five = 5;
  std::memcpy(bytes.data() + (reinterpret_cast<const uint8_t*>(bias->shape()->data()) - bytes.data()), &five, 8);
  attn_model* model = nullptr;
  CHECK(load(bytes, &model) == ATTN_ERROR_INVALID_MODEL);
  CHECK(message().find("'ln.bias'") != std::string::npos);
  CHECK(message().find("[5]") != std::string::npos);
  CHECK(message().find("file offset") != std::string::npos);
  attn_model_release(model);
}

TEST_CASE("causal attention runs over the free sequence length only") {
  // Decoding writes each causal layer's new rows into a cache of L rows at
  // the current position: a layer whose input has a fixed number of rows
  // would write all of them there, past the cache's end.
  Graph g;
  g.max_tokens = 8;
  const int ids = test::add_value(g, "ids", {8}, ATTN_DTYPE_I32), x = test::add_value(g, "x", {8, 4}), y = test::add_value(g, "y", {8, 4});
  g.ops.push_back(token_embed(ids, x, test::add_tensor(g, "table", {10, 4}), test::add_tensor(g, "pos", {8, 4})));
  convert::ops::Attention a;
  a.variant = Variant::Efficient;
  a.heads = 1, a.head_dim = 4, a.scale = 0.5f, a.causal = true;
  a.qkv_weight = test::add_tensor(g, "q", {4, 4}), a.out_weight = test::add_tensor(g, "out", {4, 4}), a.out_bias = test::add_tensor(g, "out_b", {4});
  g.ops.push_back(test::op_of(a, {x}, y));
  g.inputs = {ids};
  g.outputs = {y};
  expect_refused(g, {"op 1 (Attention", "causal", "[-1, d]"});
}
