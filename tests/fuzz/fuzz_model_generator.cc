// libFuzzer target: a structure-aware model generator. The input drives the
// choice of a graph — values with any shape, operators of every kind wired
// to any values, attributes and weights of hostile sizes — which the
// converter's writer turns into a valid FlatBuffer. Byte mutation rarely gets
// past the verifier; this reaches the loader's meaning checks, the memory
// planner and the kernels with files that are well-formed but wrong. Each
// file then goes through the same checks as fuzz_model_loader.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>

#include "harness.h"
#include "writer.h"

namespace {

namespace ops = attn::convert::ops;
using attn::convert::Activation;

// Sizes mostly from a few small widths (so that ops connect and models run),
// sometimes zero, -1 in the wrong place, or at or past a limit.
int64_t dim(FuzzedDataProvider& in) {
  // FuzzedDataProvider gives the range's minimum once the input is used
  // up: the common, valid choices sit there.
  switch (in.ConsumeIntegralInRange(0, 63)) {
    case 63: return -1;
    case 62: return 0;
    case 61: return in.PickValueInArray<int64_t>({int64_t{1} << 20, int64_t{1} << 24, (int64_t{1} << 24) + 1, 65536, 65537});
    case 60: return in.ConsumeIntegralInRange<int64_t>(1, 9);
    default: return in.PickValueInArray<int64_t>({2, 4, 8});
  }
}

// Mostly [n, d] with n free or max_tokens; sometimes any rank.
std::vector<int64_t> value_shape(FuzzedDataProvider& in, int64_t max_tokens, attn_dtype dtype) {
  const int form = in.ConsumeIntegralInRange(0, 31);
  if (dtype == ATTN_DTYPE_I32 && form < 31) return {in.ConsumeBool() ? max_tokens : -1};
  if (form < 28) return {in.ConsumeBool() ? max_tokens : -1, dim(in)};
  if (form < 31) return {dim(in)};
  std::vector<int64_t> s(in.ConsumeIntegralInRange<size_t>(0, 4));
  for (int64_t& d : s) d = dim(in);
  return s;
}

// Weights shaped as the ops want them for d in {2, 4, 8}, or anything small.
std::vector<int64_t> tensor_shape(FuzzedDataProvider& in, int64_t max_tokens) {
  const int64_t d = in.PickValueInArray<int64_t>({2, 4, 8});
  const int64_t L = std::max<int64_t>(1, std::min<int64_t>(max_tokens, 16));
  switch (in.ConsumeIntegralInRange(0, 8)) {
    case 0: return {d};
    case 1: return {d, d};
    case 2: return {2 * d, d};
    case 3: return {3 * d, d};
    case 4: return {L, L};
    case 5: return {L, d};
    case 6: return {in.ConsumeIntegralInRange<int64_t>(1, 20), d};
    default: {
      std::vector<int64_t> s(in.ConsumeIntegralInRange<size_t>(1, 3));
      for (int64_t& x : s) x = in.ConsumeIntegralInRange<int64_t>(1, 12);
      return s;
    }
  }
}

// A value index: sometimes absent (-1) or one past the end (the loader refuses both).
int index_or_none(FuzzedDataProvider& in, size_t count) {
  if (count == 0 || in.ConsumeIntegralInRange(0, 7) == 7) return in.ConsumeBool() ? -1 : int(count);
  return int(in.ConsumeIntegralInRange<size_t>(0, count - 1));
}

// A weight index: the writer takes only -1 or one in range (the graph it is
// given is its own); the loader sees what it writes.
int tensor_or_none(FuzzedDataProvider& in, size_t count) {
  if (count == 0 || in.ConsumeIntegralInRange(0, 3) == 0) return -1;
  return int(in.ConsumeIntegralInRange<size_t>(0, count - 1));
}

attn::convert::Graph generate(FuzzedDataProvider& in) {
  attn::convert::Graph g;
  g.max_tokens = in.ConsumeIntegralInRange(0, 15) == 15 ? in.ConsumeIntegral<int32_t>() : in.ConsumeIntegralInRange(1, 12);
  const size_t tensors = in.ConsumeIntegralInRange<size_t>(0, 12);
  for (size_t i = 0; i < tensors; ++i) {
    const std::vector<int64_t> s = tensor_shape(in, g.max_tokens);
    size_t count = 1;
    for (int64_t d : s) count *= size_t(d);
    const float fill = in.ConsumeFloatingPointInRange(-2.0f, 2.0f);
    g.tensors.push_back({"t" + std::to_string(i), s, std::vector<float>(count, fill)});
  }
  const size_t values = in.ConsumeIntegralInRange<size_t>(1, 12);
  for (size_t i = 0; i < values; ++i) {
    const attn_dtype dtype = in.ConsumeIntegralInRange(0, 4) == 0 ? ATTN_DTYPE_I32 : ATTN_DTYPE_F32;
    g.values.push_back({"v" + std::to_string(i), dtype, value_shape(in, g.max_tokens, dtype)});
  }
  g.inputs = {index_or_none(in, values)};
  if (in.ConsumeBool()) g.inputs.push_back(index_or_none(in, values));
  const size_t ops = in.ConsumeIntegralInRange<size_t>(0, 10);
  for (size_t k = 0; k < ops; ++k) {
    // Every attribute is drawn whatever the kind, in one order, so that an
    // input keeps its meaning when a kind changes.
    const int kind = in.ConsumeIntegralInRange(0, 6);
    attn::convert::GraphOp node;
    for (size_t i = 0, n = in.ConsumeIntegralInRange<size_t>(1, 3); i < n; ++i) node.inputs.push_back(index_or_none(in, values));
    node.outputs = {index_or_none(in, values)};
    const int weight = tensor_or_none(in, tensors), bias = tensor_or_none(in, tensors);
    const int pos_embed = tensor_or_none(in, tensors), cls_token = tensor_or_none(in, tensors);
    const int out_weight = tensor_or_none(in, tensors), out_bias = tensor_or_none(in, tensors);
    const int align_weight = tensor_or_none(in, tensors), align_bias = tensor_or_none(in, tensors);
    ops::PatchEmbed patch;
    patch.channels = in.ConsumeIntegralInRange(0, 4), patch.height = in.ConsumeIntegralInRange(0, 12);
    patch.width = in.ConsumeIntegralInRange(0, 12), patch.patch = in.ConsumeIntegralInRange(0, 6);
    patch.weight = weight, patch.bias = bias, patch.cls_token = cls_token, patch.pos_embed = pos_embed;
    ops::Dense dense;
    dense.weight = weight, dense.bias = bias;
    dense.activation = in.PickValueInArray({Activation::None, Activation::Gelu, Activation::GeluTanh, Activation::Relu});
    ops::LayerNorm norm;
    norm.weight = weight, norm.bias = bias;
    norm.eps = in.PickValueInArray<float>({1e-5f, 1e-5f, 1e-5f, 0.0f, -1.0f, 1.0f, 1e-45f, __builtin_nanf("")});
    ops::Attention attention;
    attention.variant = in.PickValueInArray({attn::Variant::Standard, attn::Variant::Optimized, attn::Variant::Efficient,
                                             attn::Variant::Super});
    attention.heads = in.ConsumeIntegralInRange(0, 4), attention.head_dim = in.PickValueInArray({0, 1, 2, 4, 8, 3});
    attention.pad_id = in.ConsumeBool() ? -1 : in.ConsumeIntegralInRange(0, 3);
    attention.scale = in.PickValueInArray<float>({0.5f, 0.5f, 0.5f, 0.0f, -1.0f, __builtin_inff(), 1e30f});
    attention.causal = in.ConsumeBool();
    attention.qkv_weight = weight, attention.qkv_bias = bias, attention.out_weight = out_weight;
    attention.out_bias = out_bias, attention.align_weight = align_weight, attention.align_bias = align_bias;
    ops::Pool pool;
    pool.cls = in.ConsumeBool();
    pool.pad_id = attention.pad_id;
    ops::TokenEmbed embed;
    embed.table = weight, embed.pos_embed = pos_embed;
    switch (kind) {
      case 0: node.op = patch; break;
      case 1: node.op = embed; break;
      case 2: node.op = norm; break;
      case 3: node.op = dense; break;
      case 4: node.op = attention; break;
      case 5: node.op = ops::Add{}; break;
      default: node.op = pool; break;
    }
    g.ops.push_back(node);
  }
  g.outputs = {index_or_none(in, values)};
  return g;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const attn::convert::Graph graph = generate(in);
  attn::convert::ModelConfig config;
  config.family = "gpt";
  config.attention = "standard";
  std::vector<uint8_t> file;
  try {
    file = attn::convert::serialize_model(config, graph, {"{}", "0"});
  } catch (const std::exception&) {
    return 0;  // the writer refuses what it cannot encode (e.g. an index out of range)
  }
  const std::string problem = attn::fuzz::check_model(file.data(), file.size());
  if (!problem.empty()) {
    std::fprintf(stderr, "fuzz_model_generator: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
