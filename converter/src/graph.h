// The converter's model graph, before it is written as an .attnmodel: what
// the families build, the float64 reference evaluates and the writer
// serialises. It is the converter's own description: the runtime reads the
// file, not these types, so the schema (schema/attnmodel.fbs) is the only
// contract between the two.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "attn/attn.h"  // attn_dtype
#include "variants.h"   // Variant

namespace attn::convert {

// How a weight is to be stored in the file. Only float32 so far: a quantized
// format becomes a value here, chosen per tensor and encoded by the writer,
// while `data` keeps the float32 values the reference evaluates.
enum class WeightFormat { F32 };

struct GraphTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
  WeightFormat format = WeightFormat::F32;
};

struct GraphValue {
  std::string name;
  attn_dtype dtype = ATTN_DTYPE_F32;
  std::vector<int64_t> shape;  // -1 = sequence length
};

enum class Activation { None, Gelu, GeluTanh, Relu };

// An index into Graph::tensors; kNoTensor for an optional weight left out.
using TensorIndex = int;
inline constexpr TensorIndex kNoTensor = -1;

// The operators, each with only the attributes and weights it uses
// (docs/spec.md gives their math).
namespace ops {

// image [C, H, W] -> [T, d]: stride-p patches projected, the class token
// prepended, the position embedding added.
struct PatchEmbed {
  int channels = 0, height = 0, width = 0, patch = 0;
  TensorIndex weight = kNoTensor, bias = kNoTensor, cls_token = kNoTensor, pos_embed = kNoTensor;
};

// ids [n] -> table[ids] + pos_embed[:n].
struct TokenEmbed {
  TensorIndex table = kNoTensor, pos_embed = kNoTensor;
};

struct LayerNorm {
  TensorIndex weight = kNoTensor, bias = kNoTensor;
  float eps = 0;
};

// x Wᵀ + b, then the activation.
struct Dense {
  TensorIndex weight = kNoTensor, bias = kNoTensor;
  Activation activation = Activation::None;
};

// Inputs: x, and the token ids when pad_id >= 0. The stacked projection holds
// the blocks the variant's traits name (variants.h).
struct Attention {
  Variant variant = Variant::Standard;
  int heads = 0, head_dim = 0, pad_id = -1;
  float scale = 0;
  bool causal = false;
  TensorIndex qkv_weight = kNoTensor, qkv_bias = kNoTensor, out_weight = kNoTensor, out_bias = kNoTensor,
              align_weight = kNoTensor, align_bias = kNoTensor;
};

struct Add {};

// [T, d] -> [d]: row 0 (the class token) or the mean of the rows that are
// not padding (inputs: x, and the token ids when pad_id >= 0).
struct Pool {
  bool cls = false;
  int pad_id = -1;
};

}  // namespace ops

using Operator = std::variant<ops::PatchEmbed, ops::TokenEmbed, ops::LayerNorm, ops::Dense, ops::Attention, ops::Add,
                              ops::Pool>;

struct GraphOp {
  Operator op;
  std::vector<int> inputs, outputs;  // indices into Graph::values
};

struct Graph {
  std::vector<GraphTensor> tensors;
  std::vector<GraphValue> values;
  std::vector<GraphOp> ops;
  std::vector<int> inputs, outputs;
  int64_t max_tokens = 0;
};

// The weights an operator refers to, in its fields' order, kNoTensor left out.
// The writer stores tensors in the order the ops first name them.
std::vector<TensorIndex> weights_of(const Operator& op);

}  // namespace attn::convert
