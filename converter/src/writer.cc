#include "writer.h"

#include "tokenizer_import.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "attnmodel_generated.h"
#include "files.h"
#include "safetensors.h"  // InputError
#include "version.h"

namespace attn::convert {

namespace {

constexpr size_t kAlign = 64;

size_t align_up(size_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

fb::Family family_of(const std::string& f) {
  return f == "vit" ? fb::Family::Vit : f == "text" ? fb::Family::Text : fb::Family::Gpt;
}

// The schema's AttentionVariant values are the table's order (variants.h).
static_assert(int(fb::AttentionVariant::MAX) + 1 == int(kVariantCount), "one schema value per row of kVariants");
fb::AttentionVariant variant_of(Variant v) { return static_cast<fb::AttentionVariant>(static_cast<int>(v)); }

fb::AttentionVariant schema_variant_named(const std::string& a) {
  const VariantTraits* v = attn::variant_named(a);  // the config reader admits only the table's names
  if (!v) throw std::logic_error("attention variant '" + a + "' is not in the table");
  return variant_of(v->variant);
}

// Builds the FlatBuffer for a given data section offset.
std::vector<uint8_t> build_header(const ModelConfig& config, const Graph& graph, const ModelMetadata& md,
                                  const std::vector<int>& tensor_ids, const std::vector<size_t>& offsets,
                                  const std::vector<int>& remap, uint64_t data_offset, uint64_t data_size,
                                  const std::vector<SampleData>& samples) {
  flatbuffers::FlatBufferBuilder b(1 << 16);
  b.ForceDefaults(true);
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
  for (size_t i = 0; i < tensor_ids.size(); ++i) {
    const GraphTensor& t = graph.tensors[tensor_ids[i]];
    tensors.push_back(fb::CreateTensor(b, b.CreateString(t.name), fb::DType::F32, b.CreateVector(t.shape), offsets[i],
                                       t.data.size() * sizeof(float)));
  }
  std::vector<flatbuffers::Offset<fb::Value>> values;
  for (const GraphValue& v : graph.values)
    values.push_back(fb::CreateValue(b, b.CreateString(v.name),
                                     v.dtype == ATTN_DTYPE_I32 ? fb::DType::I32 : fb::DType::F32,
                                     b.CreateVector(v.shape)));
  auto t = [&](int index) { return index < 0 ? -1 : remap[index]; };
  std::vector<flatbuffers::Offset<fb::Op>> ops;
  for (const OpInfo& op : graph.ops) {
    fb::OpOptions type = fb::OpOptions::NONE;
    flatbuffers::Offset<void> options;
    switch (op.kind) {
      case OpKind::PatchEmbed:
        type = fb::OpOptions::PatchEmbed;
        options = fb::CreatePatchEmbed(b, op.channels, op.height, op.width, op.patch, t(op.weight), t(op.bias),
                                       t(op.cls_token), t(op.pos_embed))
                      .Union();
        break;
      case OpKind::TokenEmbed:
        type = fb::OpOptions::TokenEmbed;
        options = fb::CreateTokenEmbed(b, t(op.weight), t(op.pos_embed)).Union();
        break;
      case OpKind::LayerNorm:
        type = fb::OpOptions::LayerNorm;
        options = fb::CreateLayerNorm(b, t(op.weight), t(op.bias), op.eps).Union();
        break;
      case OpKind::Dense:
        type = fb::OpOptions::Dense;
        options = fb::CreateDense(b, t(op.weight), t(op.bias), static_cast<fb::Activation>(op.activation)).Union();
        break;
      case OpKind::Attention:
        type = fb::OpOptions::Attention;
        options = fb::CreateAttention(b, variant_of(op.variant), op.heads, op.head_dim, op.scale, op.causal, op.pad_id,
                                      t(op.weight), t(op.bias), t(op.out_weight), t(op.out_bias), t(op.align_weight),
                                      t(op.align_bias))
                      .Union();
        break;
      case OpKind::Add:
        type = fb::OpOptions::Add;
        options = fb::CreateAdd(b).Union();
        break;
      case OpKind::Pool:
        type = fb::OpOptions::Pool;
        options = fb::CreatePool(b, op.pool_cls ? fb::PoolMode::Cls : fb::PoolMode::Mean, op.pad_id).Union();
        break;
    }
    ops.push_back(fb::CreateOp(b, type, options, b.CreateVector(op.inputs), b.CreateVector(op.outputs)));
  }
  auto metadata = fb::CreateMetadata(b, family_of(config.family), schema_variant_named(config.attention),
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
        out.push_back(fb::CreateSampleTensor(b, shape, f32, i32));
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
  for (const OpInfo& op : graph.ops)
    for (int i : {op.weight, op.bias, op.cls_token, op.pos_embed, op.out_weight, op.out_bias, op.align_weight,
                  op.align_bias})
      mark(i);
  std::vector<size_t> offsets;
  size_t data_size = 0;
  for (int i : ids) {
    offsets.push_back(data_size);
    data_size = align_up(data_size + graph.tensors[i].data.size() * sizeof(float));
  }
  // The header's size does not depend on the offset's value (defaults are
  // forced), so a first pass finds where the data section starts.
  std::vector<uint8_t> header = build_header(config, graph, md, ids, offsets, remap, 0, data_size, samples);
  const size_t data_offset = align_up(header.size());
  header = build_header(config, graph, md, ids, offsets, remap, data_offset, data_size, samples);
  if (align_up(header.size()) != data_offset) throw std::logic_error("model header size changed between passes");

  std::vector<uint8_t> file(data_offset + data_size, 0);
  std::memcpy(file.data(), header.data(), header.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    const auto& data = graph.tensors[ids[k]].data;
    std::memcpy(file.data() + data_offset + offsets[k], data.data(), data.size() * sizeof(float));
  }
  return file;
}

void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes) {
  files::write_atomically(path, bytes.data(), bytes.size());
}

}  // namespace attn::convert
