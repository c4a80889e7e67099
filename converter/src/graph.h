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
#include "weight_type.h"  // WeightType

namespace attn::convert {

// A weight: `data` holds the float32 values the reference evaluates. A
// weight stored in another format (weight_type.h: f16, q8, q4, q8c) also holds
// its encoding, and `data` is then that encoding's exact value (quantize.h's
// dequantization), so that the reference evaluates what the file holds.
struct GraphTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
  WeightType format = WeightType::F32;
  std::vector<uint8_t> encoded;  // format != F32: the data in the file
  std::vector<float> scales;     // Q8, Q4: the block scales; Q8C: the row scales

  size_t stored_bytes() const { return format == WeightType::F32 ? data.size() * sizeof(float) : encoded.size(); }
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

// Stores the dense layers' weights and the token tables in `format`
// (quantize.h), each once: `data` becomes the stored values. Throws
// InputError naming a weight the format cannot hold (not finite; for f16,
// beyond its range).
void encode_weights(Graph& graph, WeightType format);

}  // namespace attn::convert
