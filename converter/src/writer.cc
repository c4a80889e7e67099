#include "writer.h"

#include "tokenizer_import.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "attnmodel_generated.h"
#include "files.h"
#include "model.h"  // kFormatVersion, kDataAlignment: what the loader reads
#include "input_error.h"
#include "version.h"

namespace attn::convert {

namespace {

size_t align_up(size_t x) { return (x + kDataAlignment - 1) / kDataAlignment * kDataAlignment; }

// The schema's enums from the converter's, value by value: a value added on
// either side without its counterpart fails to compile (-Werror=switch on this
// target, and the checks of the schema's last value).
static_assert(fb::Activation::MAX == fb::Activation::Relu, "a new schema activation needs a converter one");
fb::Activation schema_activation(Activation a) {
  switch (a) {
    case Activation::None: return fb::Activation::None;
    case Activation::Gelu: return fb::Activation::Gelu;
    case Activation::GeluTanh: return fb::Activation::GeluTanh;
    case Activation::Relu: return fb::Activation::Relu;
  }
  throw InputError("activation " + std::to_string(int(a)) + " has no schema value");
}

static_assert(fb::AttentionVariant::MAX == fb::AttentionVariant::Super, "a new schema variant needs a row of kVariants");
fb::AttentionVariant schema_variant(Variant v) {
  switch (v) {
    case Variant::Standard: return fb::AttentionVariant::Standard;
    case Variant::Optimized: return fb::AttentionVariant::Optimized;
    case Variant::Efficient: return fb::AttentionVariant::Efficient;
    case Variant::Super: return fb::AttentionVariant::Super;
  }
  throw InputError("attention variant " + std::to_string(int(v)) + " has no schema value");
}

fb::AttentionVariant schema_variant_named(const std::string& name) {
  const VariantTraits* v = variant_named(name);  // the config reader admits only the table's names
  if (!v) throw InputError("attention variant '" + name + "' is not in the table");
  return schema_variant(v->variant);
}

static_assert(fb::Family::MAX == fb::Family::Gpt, "a new schema family needs a converter family");
fb::Family schema_family_named(const std::string& name) {
  const std::pair<const char*, fb::Family> families[] = {
      {"vit", fb::Family::Vit}, {"text", fb::Family::Text}, {"gpt", fb::Family::Gpt}};
  for (const auto& [family, value] : families)
    if (name == family) return value;
  throw InputError("family '" + name + "' has no schema value");
}

static_assert(fb::DType::MAX == fb::DType::Q8C, "a new schema dtype needs a case here");
fb::DType schema_dtype(attn_dtype dtype) {
  switch (dtype) {
    case ATTN_DTYPE_F32: return fb::DType::F32;
    case ATTN_DTYPE_I32: return fb::DType::I32;
  }
  throw InputError("dtype " + std::to_string(int(dtype)) + " has no schema value");
}

fb::DType schema_dtype(WeightType format) {
  switch (format) {
    case WeightType::F32: return fb::DType::F32;
    case WeightType::F16: return fb::DType::F16;
    case WeightType::Q8: return fb::DType::Q8;
    case WeightType::Q4: return fb::DType::Q4;
    case WeightType::Q8C: return fb::DType::Q8C;
  }
  throw InputError("weight format " + std::to_string(int(format)) + " has no schema value");
}

// The union member of each operator.
class OpWriter {
 public:
  OpWriter(flatbuffers::FlatBufferBuilder& b, const std::vector<int>& remap) : b_(b), remap_(remap) {}

  std::pair<fb::OpOptions, flatbuffers::Offset<void>> operator()(const ops::PatchEmbed& op) const {
    return {fb::OpOptions::PatchEmbed, fb::CreatePatchEmbed(b_, op.channels, op.height, op.width, op.patch, t(op.weight),
                                                            t(op.bias), t(op.cls_token), t(op.pos_embed))
                                           .Union()};
  }
  std::pair<fb::OpOptions, flatbuffers::Offset<void>> operator()(const ops::TokenEmbed& op) const {
    return {fb::OpOptions::TokenEmbed, fb::CreateTokenEmbed(b_, t(op.table), t(op.pos_embed)).Union()};
  }
  std::pair<fb::OpOptions, flatbuffers::Offset<void>> operator()(const ops::LayerNorm& op) const {
    return {fb::OpOptions::LayerNorm, fb::CreateLayerNorm(b_, t(op.weight), t(op.bias), op.eps).Union()};
  }
  std::pair<fb::OpOptions, flatbuffers::Offset<void>> operator()(const ops::Dense& op) const {
    return {fb::OpOptions::Dense,
            fb::CreateDense(b_, t(op.weight), t(op.bias), schema_activation(op.activation)).Union()};
  }
  std::pair<fb::OpOptions, flatbuffers::Offset<void>> operator()(const ops::Attention& op) const {
    return {fb::OpOptions::Attention,
            fb::CreateAttention(b_, schema_variant(op.variant), op.heads, op.head_dim, op.scale, op.causal, op.pad_id,
                                t(op.qkv_weight), t(op.qkv_bias), t(op.out_weight), t(op.out_bias),
                                t(op.align_weight), t(op.align_bias))
                .Union()};
  }
  std::pair<fb::OpOptions, flatbuffers::Offset<void>> operator()(const ops::Add&) const {
    return {fb::OpOptions::Add, fb::CreateAdd(b_).Union()};
  }
  std::pair<fb::OpOptions, flatbuffers::Offset<void>> operator()(const ops::Pool& op) const {
    return {fb::OpOptions::Pool, fb::CreatePool(b_, op.cls ? fb::PoolMode::Cls : fb::PoolMode::Mean, op.pad_id).Union()};
  }

 private:
  // The tensor's index in the file.
  int t(TensorIndex index) const { return index < 0 ? -1 : remap_[index]; }

  flatbuffers::FlatBufferBuilder& b_;
  const std::vector<int>& remap_;
};

// Where a tensor's data, and its scales if it has any, start in the data section.
struct TensorPlace {
  size_t data, scales;
};

// Builds the FlatBuffer for a given data section offset.
std::vector<uint8_t> build_header(const ModelConfig& config, const Graph& graph, const ModelMetadata& md,
                                  const std::vector<int>& tensor_ids, const std::vector<TensorPlace>& places,
                                  const std::vector<int>& remap, uint64_t data_offset, uint64_t data_size,
                                  const std::vector<SampleData>& samples) {
  flatbuffers::FlatBufferBuilder b(1 << 16);
  b.ForceDefaults(true);
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
  for (size_t i = 0; i < tensor_ids.size(); ++i) {
    const GraphTensor& t = graph.tensors[tensor_ids[i]];
    const TensorPlace& at = places[i];
    tensors.push_back(fb::CreateTensor(b, b.CreateString(t.name), schema_dtype(t.format), b.CreateVector(t.shape),
                                       at.data, t.stored_bytes(), at.scales, t.scales.size() * sizeof(float)));
  }
  std::vector<flatbuffers::Offset<fb::Value>> values;
  for (const GraphValue& v : graph.values)
    values.push_back(fb::CreateValue(b, b.CreateString(v.name), schema_dtype(v.dtype), b.CreateVector(v.shape)));
  const OpWriter op_writer(b, remap);
  std::vector<flatbuffers::Offset<fb::Op>> ops;
  for (const GraphOp& node : graph.ops) {
    const auto [type, options] = std::visit(op_writer, node.op);
    ops.push_back(fb::CreateOp(b, type, options, b.CreateVector(node.inputs), b.CreateVector(node.outputs)));
  }
  auto metadata = fb::CreateMetadata(b, schema_family_named(config.family), schema_variant_named(config.attention),
                                     b.CreateString(md.config_json), b.CreateString(kConverterVersion),
                                     b.CreateString(md.source_sha256));
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::Sample>>> sample_vector;
  if (!samples.empty()) {
    auto sample_tensors = [&](const std::vector<SampleTensorData>& list) {
      std::vector<flatbuffers::Offset<fb::SampleTensor>> out;
      for (const SampleTensorData& st : list) {
        auto shape = b.CreateVector(st.shape);
        auto f32 = st.f32.empty() ? 0 : b.CreateVector(st.f32);
        auto i32 = st.i32.empty() ? 0 : b.CreateVector(st.i32);
        out.push_back(fb::CreateSampleTensor(b, shape, f32, i32, st.rounding_allowance));
      }
      return b.CreateVector(out);
    };
    std::vector<flatbuffers::Offset<fb::Sample>> list;
    for (const SampleData& s : samples) {
      auto inputs = sample_tensors(s.inputs);
      auto outputs = sample_tensors(s.outputs);
      list.push_back(fb::CreateSample(b, inputs, outputs));
    }
    sample_vector = b.CreateVector(list);
  }
  flatbuffers::Offset<fb::Tokenizer> tokenizer;
  if (md.tokenizer) {
    std::vector<uint8_t> token_bytes;
    std::vector<uint32_t> token_offsets{0};
    for (const std::string& t : md.tokenizer->tokens) {
      token_bytes.insert(token_bytes.end(), t.begin(), t.end());
      token_offsets.push_back(uint32_t(token_bytes.size()));
    }
    std::vector<int32_t> merges;
    for (const auto& [l, r] : md.tokenizer->merges) merges.insert(merges.end(), {l, r});
    tokenizer = fb::CreateTokenizer(b, b.CreateVector(token_bytes), b.CreateVector(token_offsets), b.CreateVector(merges),
                                    md.tokenizer->eos_id);
  }
  auto root = fb::CreateModel(b, kFormatVersion, metadata, int32_t(graph.max_tokens), b.CreateVector(tensors),
                              b.CreateVector(values), b.CreateVector(graph.inputs), b.CreateVector(graph.outputs),
                              b.CreateVector(ops), data_offset, data_size, sample_vector, tokenizer);
  fb::FinishSizePrefixedModelBuffer(b, root);
  return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

}  // namespace

std::vector<uint8_t> serialize_model(const ModelConfig& config, const Graph& graph, const ModelMetadata& md,
                                     const std::vector<SampleData>& samples) {
  // A FlatBuffer is limited to 2 GiB; keep the samples well below it.
  size_t sample_bytes = 0;
  for (const SampleData& s : samples)
    for (const auto* list : {&s.inputs, &s.outputs})
      for (const SampleTensorData& t : *list) sample_bytes += 4 * (t.f32.size() + t.i32.size()) + 8 * t.shape.size();
  if (sample_bytes > (size_t(1) << 30))
    throw InputError("the embedded samples would take " + std::to_string(sample_bytes >> 20) +
                     " MiB (at most 1024): embed fewer items (--embed-count) or shorter ones");
  // Only tensors an op refers to are written (stacked parts are not).
  std::vector<int> remap(graph.tensors.size(), -1), ids;
  auto mark = [&](int i) {
    if (i >= 0 && remap[i] < 0) remap[i] = int(ids.size()), ids.push_back(i);
  };
  for (const GraphOp& node : graph.ops)
    for (TensorIndex i : weights_of(node.op)) mark(i);
  std::vector<TensorPlace> places;
  size_t data_size = 0;
  for (int i : ids) {
    const GraphTensor& t = graph.tensors[i];
    TensorPlace at{data_size, 0};
    data_size = align_up(data_size + t.stored_bytes());
    if (!t.scales.empty()) {
      at.scales = data_size;
      data_size = align_up(data_size + t.scales.size() * sizeof(float));
    }
    places.push_back(at);
  }
  // The header's size does not depend on the offset's value (defaults are
  // forced), so a first pass finds where the data section starts.
  std::vector<uint8_t> header = build_header(config, graph, md, ids, places, remap, 0, data_size, samples);
  const size_t data_offset = align_up(header.size());
  header = build_header(config, graph, md, ids, places, remap, data_offset, data_size, samples);
  if (align_up(header.size()) != data_offset) throw InputError("model header size changed between passes");

  std::vector<uint8_t> file(data_offset + data_size, 0);
  std::memcpy(file.data(), header.data(), header.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    const GraphTensor& t = graph.tensors[ids[k]];
    uint8_t* at = file.data() + data_offset;
    if (t.format == WeightType::F32) std::memcpy(at + places[k].data, t.data.data(), t.stored_bytes());
    else std::memcpy(at + places[k].data, t.encoded.data(), t.stored_bytes());
    if (!t.scales.empty()) std::memcpy(at + places[k].scales, t.scales.data(), t.scales.size() * sizeof(float));
  }
  return file;
}

void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes) {
  try {
    files::write_atomically(path, bytes.data(), bytes.size());
  } catch (const cli::Failure& e) {
    throw InputError(e.what());
  }
}

}  // namespace attn::convert
