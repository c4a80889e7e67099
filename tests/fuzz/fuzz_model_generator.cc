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

using attn::OpInfo;
using attn::OpKind;

// Sizes mostly small (so models run), sometimes at or past a limit.
int64_t dim(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 15)) {
    case 0: return -1;
    case 1: return 0;
    case 2: return in.PickValueInArray<int64_t>({int64_t{1} << 20, int64_t{1} << 24, (int64_t{1} << 24) + 1, 65536, 65537});
    default: return in.ConsumeIntegralInRange<int64_t>(1, 9);
  }
}

std::vector<int64_t> shape(FuzzedDataProvider& in, size_t max_rank) {
  std::vector<int64_t> s(in.ConsumeIntegralInRange<size_t>(0, max_rank));
  for (int64_t& d : s) d = dim(in);
  return s;
}

// A value index: sometimes absent (-1) or one past the end (the loader refuses both).
int index_or_none(FuzzedDataProvider& in, size_t count) {
  if (count == 0 || in.ConsumeIntegralInRange(0, 7) == 0) return in.ConsumeBool() ? -1 : int(count);
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
  g.max_tokens = in.ConsumeIntegralInRange(0, 9) == 0 ? in.ConsumeIntegral<int32_t>() : in.ConsumeIntegralInRange(1, 12);
  const size_t tensors = in.ConsumeIntegralInRange<size_t>(0, 12);
  for (size_t i = 0; i < tensors; ++i) {
    std::vector<int64_t> s = shape(in, 3);
    size_t count = 1;
    for (int64_t& d : s) {
      d = std::max<int64_t>(1, std::min<int64_t>(d, 64));  // real data: keep it small
      count *= size_t(d);
    }
    const float fill = in.ConsumeFloatingPointInRange(-2.0f, 2.0f);
    g.tensors.push_back({"t" + std::to_string(i), s, std::vector<float>(count, fill)});
  }
  const size_t values = in.ConsumeIntegralInRange<size_t>(1, 12);
  for (size_t i = 0; i < values; ++i)
    g.values.push_back({"v" + std::to_string(i), in.ConsumeIntegralInRange(0, 4) == 0 ? ATTN_DTYPE_I32 : ATTN_DTYPE_F32,
                        shape(in, 4)});
  g.inputs = {index_or_none(in, values)};
  if (in.ConsumeBool()) g.inputs.push_back(index_or_none(in, values));
  const size_t ops = in.ConsumeIntegralInRange<size_t>(0, 10);
  for (size_t k = 0; k < ops; ++k) {
    OpInfo op;
    op.kind = OpKind(in.ConsumeIntegralInRange(0, 6));
    for (size_t i = 0, n = in.ConsumeIntegralInRange<size_t>(1, 3); i < n; ++i) op.inputs.push_back(index_or_none(in, values));
    op.outputs = {index_or_none(in, values)};
    op.weight = tensor_or_none(in, tensors), op.bias = tensor_or_none(in, tensors);
    op.pos_embed = tensor_or_none(in, tensors), op.cls_token = tensor_or_none(in, tensors);
    op.out_weight = tensor_or_none(in, tensors), op.out_bias = tensor_or_none(in, tensors);
    op.align_weight = tensor_or_none(in, tensors), op.align_bias = tensor_or_none(in, tensors);
    op.channels = in.ConsumeIntegralInRange(0, 4), op.height = in.ConsumeIntegralInRange(0, 12);
    op.width = in.ConsumeIntegralInRange(0, 12), op.patch = in.ConsumeIntegralInRange(0, 6);
    op.activation = attn::Activation(in.ConsumeIntegralInRange(0, 3));
    op.eps = in.PickValueInArray<float>({1e-5f, 0.0f, -1.0f, 1.0f, 1e-45f, __builtin_nanf("")});
    op.variant = attn::Variant(in.ConsumeIntegralInRange(0, 3));
    op.heads = in.ConsumeIntegralInRange(0, 5), op.head_dim = in.ConsumeIntegralInRange(0, 9);
    op.pad_id = in.ConsumeIntegralInRange(-1, 3);
    op.scale = in.PickValueInArray<float>({0.5f, 0.0f, -1.0f, __builtin_inff(), 1e30f});
    op.causal = in.ConsumeBool();
    op.pool_cls = in.ConsumeBool();
    g.ops.push_back(op);
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
