// The runtime's view of a loaded .attnmodel: plain structs that own nothing
// but the file mapping. Only model_loader.cc sees the FlatBuffers code.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attn/attn.h"
#include "variants.h"
#include "weight_type.h"
#include "packed_weights.h"

namespace attn {

namespace text {
class Bpe;
}

constexpr uint32_t kFormatVersion = 1;
constexpr size_t kDataAlignment = 64;

// The bytes of a model: a read-only file mapping or an owned aligned copy.
class ModelBytes {
 public:
  static std::unique_ptr<ModelBytes> map_file(const std::string& path);
  static std::unique_ptr<ModelBytes> copy(const void* data, size_t size);
  // The caller's bytes in place (64-byte aligned; kept alive and unchanged
  // by the caller), and `length` bytes at `offset` of an open file, mapped
  // (offset a multiple of 64). In model_sources.cc.
  static std::unique_ptr<ModelBytes> borrow(const void* data, size_t size);
  static std::unique_ptr<ModelBytes> map_fd(int fd, uint64_t offset, uint64_t length);
  ~ModelBytes();
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool mapped() const { return mapped_; }  // a read-only file mapping

 private:
  ModelBytes() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  bool owned_ = true;       // a copy to free (when not mapped)
  size_t map_offset_ = 0;   // data_ - the start of the mapping
};

// A weight in the model bytes: its element type says how `data` is laid out
// (weight_type.h); quantized types carry their block scales beside it. The
// loader checks each op's weights have a type its module runs: every
// tensor but a dense layer's weight is F32.
struct ConstTensor {
  std::string name;
  std::vector<int64_t> shape;
  WeightType type = WeightType::F32;
  const void* data = nullptr;
  size_t count = 0;                // elements
  const float* scales = nullptr;   // quantized types: one per block
  const float* floats() const { return static_cast<const float*>(data); }
};

struct ValueInfo {
  std::string name;
  attn_dtype dtype = ATTN_DTYPE_F32;
  std::vector<int64_t> shape;  // -1 = sequence length n
  std::vector<int64_t> max_shape;  // with n = max_tokens
  size_t max_elements = 0;
};

enum class OpKind { PatchEmbed, TokenEmbed, LayerNorm, Dense, Attention, Add, Pool };
enum class Activation { None = 0, Gelu = 1, GeluTanh = 2, Relu = 3 };

// Weight indices are into Model::tensors, -1 when absent.
struct OpInfo {
  OpKind kind = OpKind::Add;
  std::vector<int> inputs, outputs;
  // PatchEmbed
  int channels = 0, height = 0, width = 0, patch = 0, cls_token = -1, pos_embed = -1;
  // TokenEmbed uses `weight` for the table and `pos_embed`.
  // Dense / LayerNorm / PatchEmbed
  int weight = -1, bias = -1;
  Activation activation = Activation::None;
  float eps = 0;
  // Attention
  Variant variant = Variant::Standard;
  int heads = 0, head_dim = 0, pad_id = -1;
  float scale = 0;
  bool causal = false;
  int out_weight = -1, out_bias = -1, align_weight = -1, align_bias = -1;
  // Pool
  bool pool_cls = false;
};

// One tensor of an embedded sample: points into the model bytes.
struct SampleTensor {
  attn_tensor_info info;  // name from the model's value
  const void* data = nullptr;
  float rounding_allowance = 0;  // expected outputs: added to the spec's tolerance
};

struct Sample {
  std::vector<SampleTensor> inputs, outputs;
};

struct Model {
  std::unique_ptr<ModelBytes> bytes;
  std::string family, attention, config_json, converter_version, source_sha256;
  int64_t max_tokens = 0;
  int64_t vocab = 0;  // 0 when the model takes no token ids
  std::vector<ConstTensor> tensors;
  size_t f32_weight_bytes = 0;  // the f32 tensors' bytes, summed by the loader
  std::vector<ValueInfo> values;
  std::vector<int> inputs, outputs;
  std::vector<OpInfo> ops;
  std::vector<attn_tensor_info> input_infos, output_infos;
  std::vector<Sample> samples;
  std::shared_ptr<const text::Bpe> tokenizer;  // null when the file has none
  // Filled by sessions, shared by all of them: a cache, not the model's meaning.
  mutable PackedWeights packed_weights;
};

// Verifies the bytes (structure, then meaning) and builds the Model.
// Throws attn::Error naming the problem.
std::unique_ptr<Model> load_model(std::unique_ptr<ModelBytes> bytes);

}  // namespace attn
