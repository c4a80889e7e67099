// Turns verified .attnmodel bytes into an attn::Model. Every index, size and
// offset is checked here, so the session and kernels can trust the Model.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>

#include "shape_text.h"
#include "attnmodel_generated.h"
#include "error.h"
#include "model_limits.h"
#include "model.h"
#include "ops/op_reader.h"
#include "tokenizer/from_model.h"

namespace attn {

namespace {

using namespace limits;

[[noreturn]] void invalid(const std::string& what) { fail(ATTN_ERROR_INVALID_MODEL, what); }

}  // namespace

ModelBytes::~ModelBytes() {
  if (mapped_) {
    munmap(const_cast<uint8_t*>(data_) - map_offset_, size_ + map_offset_);
  } else if (owned_) {
    std::free(const_cast<uint8_t*>(data_));
  }
}

std::unique_ptr<ModelBytes> ModelBytes::map_file(const std::string& path) {
  // Non-blocking, so that a FIFO or a device cannot block the open before
  // fstat refuses it; only mmap reads the file.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) fail(ATTN_ERROR_IO, "cannot open '" + path + "': " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    fail(ATTN_ERROR_IO, "'" + path + "' is not a regular file");
  }
  if (st.st_size == 0) {
    close(fd);
    fail(ATTN_ERROR_INVALID_MODEL, "'" + path + "' is empty");
  }
  void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) fail(ATTN_ERROR_IO, "cannot map '" + path + "': " + std::strerror(errno));
  std::unique_ptr<ModelBytes> bytes(new ModelBytes());
  bytes->data_ = static_cast<const uint8_t*>(p);
  bytes->size_ = static_cast<size_t>(st.st_size);
  bytes->mapped_ = true;
  return bytes;
}

std::unique_ptr<ModelBytes> ModelBytes::copy(const void* data, size_t size) {
  if (size == 0) fail(ATTN_ERROR_INVALID_MODEL, "the model buffer is empty");
  size_t rounded = (size + kDataAlignment - 1) / kDataAlignment * kDataAlignment;
  if (rounded < size) fail(ATTN_ERROR_INVALID_ARGUMENT, "model size overflows");
  void* p = std::aligned_alloc(kDataAlignment, rounded);
  if (!p) fail(ATTN_ERROR_OUT_OF_MEMORY, "cannot allocate " + std::to_string(size) + " bytes");
  std::memcpy(p, data, size);
  std::unique_ptr<ModelBytes> bytes(new ModelBytes());
  bytes->data_ = static_cast<const uint8_t*>(p);
  bytes->size_ = size;
  return bytes;
}

namespace {

class Loader {
 public:
  explicit Loader(Model& m) : m_(m) {}

  void load() {
    const uint8_t* base = m_.bytes->data();
    const size_t size = m_.bytes->size();
    if (size < 12) invalid("file is too short to be an .attnmodel (" + std::to_string(size) + " bytes)");
    if (!fb::SizePrefixedModelBufferHasIdentifier(base))
      invalid("not an .attnmodel file: the identifier at offset 8 is not \"ATNM\"");
    uint32_t fb_size;
    std::memcpy(&fb_size, base, 4);
    if (fb_size > size - 4)
      invalid("header size " + std::to_string(fb_size) + " at offset 0 runs past the end of the file (" +
              std::to_string(size) + " bytes)");
    flatbuffers::Verifier verifier(base, size_t{fb_size} + 4, /*max_depth=*/64, /*max_tables=*/1000000);
    if (!fb::VerifySizePrefixedModelBuffer(verifier))
      invalid("the model header failed FlatBuffers verification (corrupt or truncated file)");
    const fb::Model* root = fb::GetSizePrefixedModel(base);

    if (root->format_version() != kFormatVersion)
      fail(ATTN_ERROR_UNSUPPORTED_VERSION, "format version " + std::to_string(root->format_version()) +
                                               " is not supported (this build reads version " +
                                               std::to_string(kFormatVersion) + ")");
    load_metadata(root);
    m_.max_tokens = root->max_tokens();
    if (m_.max_tokens < 1 || m_.max_tokens > kMaxTokens)
      invalid("max_tokens " + std::to_string(m_.max_tokens) + " is outside 1.." + std::to_string(kMaxTokens));

    const uint64_t data_offset = root->data_offset(), data_size = root->data_size();
    if (data_offset % kDataAlignment != 0)
      invalid("data_offset " + std::to_string(data_offset) + " is not a multiple of 64");
    if (data_offset < uint64_t{fb_size} + 4 || data_offset > size || data_size > size - data_offset)
      invalid("data section [" + std::to_string(data_offset) + ", +" + std::to_string(data_size) +
              ") lies outside the file (" + std::to_string(size) + " bytes)");
    data_ = base + data_offset;
    data_size_ = data_size;
    data_offset_ = data_offset;

    load_tensors(root);
    load_values(root);
    check_count(root->inputs(), kMaxModelIo, "model inputs");
    check_count(root->outputs(), kMaxModelIo, "model outputs");
    m_.inputs = indices(root->inputs(), m_.values.size(), "model input");
    m_.outputs = indices(root->outputs(), m_.values.size(), "model output");
    if (m_.inputs.empty()) invalid("the model declares no input");
    if (m_.outputs.empty()) invalid("the model declares no output");
    load_ops(root);
    check_graph();
    make_infos();
    load_samples(root);
    if (root->tokenizer()) m_.tokenizer = text::load_tokenizer(*root->tokenizer(), m_.vocab);
  }

 private:
  void load_metadata(const fb::Model* root) {
    const fb::Metadata* md = root->metadata();
    auto str = [](const flatbuffers::String* s) { return s ? s->str() : std::string(); };
    static const char* kFamilies[] = {"vit", "text", "gpt"};
    int f = static_cast<int>(md->family()), a = static_cast<int>(md->attention());
    if (f < 0 || f > 2) invalid("metadata.family has unknown value " + std::to_string(f));
    const VariantTraits* variant = variant_with_value(a);
    if (!variant) invalid("metadata.attention has unknown value " + std::to_string(a));
    m_.family = kFamilies[f];
    m_.attention = variant->name;
    m_.config_json = str(md->config_json());
    m_.converter_version = str(md->converter_version());
    m_.source_sha256 = str(md->source_sha256());
  }

  // " at file offset N", for a table of the header.
  std::string at(const void* table) const {
    return " at file offset " + std::to_string(static_cast<const uint8_t*>(table) - m_.bytes->data());
  }

  template <typename T>
  void check_count(const flatbuffers::Vector<T>* list, size_t limit, const char* what) {
    if (list->size() > limit)
      invalid(std::string("the model has ") + std::to_string(list->size()) + " " + what + ", more than the limit of " +
              std::to_string(limit) + " (vector" + at(list) + ")");
  }

  std::vector<int64_t> read_shape(const flatbuffers::Vector<int64_t>* dims, const std::string& what,
                                  bool allow_dynamic) {
    if (dims->size() > kMaxRank) invalid(what + " has rank " + std::to_string(dims->size()) + " > 8");
    // The FlatBuffers verifier checks a vector's length word (4 bytes), not
    // that 8-byte elements are aligned; reading them misaligned is undefined.
    if (dims->size() > 0 && (dims->Data() - m_.bytes->data()) % alignof(int64_t) != 0)
      invalid(what + " has its shape vector at file offset " + std::to_string(dims->Data() - m_.bytes->data()) +
              ", not 8-byte aligned");
    std::vector<int64_t> shape(dims->begin(), dims->end());
    int64_t count = 1;
    for (int64_t d : shape) {
      bool ok = (d >= 1 && d <= kMaxDim) || (allow_dynamic && d == -1);
      if (!ok) invalid(what + " has invalid dimension " + std::to_string(d) + " in shape " + shape_text(shape));
      count *= (d == -1 ? m_.max_tokens : d);
      if (count > kMaxElements) invalid(what + " has too many elements: shape " + shape_text(shape));
    }
    return shape;
  }

  // A byte range of the data section: 64-byte aligned and inside it.
  void section(uint64_t offset, uint64_t size, const std::string& what) const {
    if (offset % kDataAlignment != 0) invalid(what + " offset " + std::to_string(offset) + " is not a multiple of 64");
    if (offset > data_size_ || size > data_size_ - offset)
      invalid(what + " [" + std::to_string(data_offset_ + offset) + ", +" + std::to_string(size) +
              ") lies outside the data section");
  }

  static WeightType weight_type(fb::DType dtype, const std::string& what) {
    switch (dtype) {
      case fb::DType::F32: return WeightType::F32;
      case fb::DType::F16: return WeightType::F16;
      case fb::DType::Q8: return WeightType::Q8;
      case fb::DType::Q4: return WeightType::Q4;
      case fb::DType::Q8C: return WeightType::Q8C;
      case fb::DType::I32: break;
    }
    invalid(what + " has dtype " + std::to_string(int(dtype)) + ", which is not a weight format (f32, f16, q8, q4, q8c)");
  }

  void load_tensors(const fb::Model* root) {
    const auto* tensors = root->tensors();
    check_count(tensors, kMaxTensors, "tensors");
    m_.tensors.resize(tensors->size());
    for (flatbuffers::uoffset_t i = 0; i < tensors->size(); ++i) {
      const fb::Tensor* t = tensors->Get(i);
      ConstTensor& c = m_.tensors[i];
      c.name = t->name()->str();
      const std::string what = "tensor " + std::to_string(i) + " '" + c.name + "' (" + at(t).substr(1) + ")";
      c.shape = read_shape(t->shape(), what, false);
      c.count = 1;
      for (int64_t d : c.shape) c.count *= static_cast<size_t>(d);
      c.type = weight_type(t->dtype(), what);
      const WeightTypeTraits& type = traits_of(c.type);
      if (type.block > 1 && c.shape.size() != 2)
        invalid(what + " is " + type.name + " with shape " + shape_text(c.shape) + ": blocked formats need [rows, cols]");
      const size_t cols = c.shape.empty() ? 1 : size_t(c.shape.back()), rows = c.count / cols;
      const size_t bytes = type.data_bytes(rows, cols);
      if (t->size() != bytes)
        invalid(what + " has byte size " + std::to_string(t->size()) + " but " + type.name + " of shape " +
                shape_text(c.shape) + " needs " + std::to_string(bytes));
      section(t->offset(), t->size(), what + " data");
      if (type.scaled()) {
        const size_t scales = type.scale_count(rows, cols);
        if (t->scales_size() != scales * sizeof(float))
          invalid(what + " has scales of " + std::to_string(t->scales_size()) + " bytes but " + type.name + " of shape " +
                  shape_text(c.shape) + " needs " + std::to_string(scales * sizeof(float)));
        section(t->scales_offset(), t->scales_size(), what + " scales");
        c.scales = reinterpret_cast<const float*>(data_ + t->scales_offset());
        for (size_t k = 0; k < scales; ++k)
          if (!std::isfinite(c.scales[k]))
            invalid(what + " has scale " + std::to_string(k) + " (row " + std::to_string(k / type.scales_per_row(cols)) +
                    ") = " + std::to_string(c.scales[k]) + ": scales must be finite");
      } else if (t->scales_offset() != 0 || t->scales_size() != 0) {
        invalid(what + " is " + type.name + " but has scales");
      }
      c.data = data_ + t->offset();
      if (c.type == WeightType::F32) m_.f32_weight_bytes += bytes;
    }
  }

  void load_values(const fb::Model* root) {
    const auto* values = root->values();
    check_count(values, kMaxValues, "values");
    m_.values.resize(values->size());
    for (flatbuffers::uoffset_t i = 0; i < values->size(); ++i) {
      const fb::Value* v = values->Get(i);
      ValueInfo& info = m_.values[i];
      info.name = v->name()->str();
      const std::string what = "value " + std::to_string(i) + " '" + info.name + "' (" + at(v).substr(1) + ")";
      if (v->dtype() == fb::DType::F32) info.dtype = ATTN_DTYPE_F32;
      else if (v->dtype() == fb::DType::I32) info.dtype = ATTN_DTYPE_I32;
      else invalid(what + " has an unknown dtype");
      info.shape = read_shape(v->shape(), what, true);
      // No operator takes a scalar, and rows of a matrix are tokens: a
      // fixed row count beyond max_tokens would make an op's work larger
      // than the header declares (attention is quadratic in it).
      if (info.shape.empty()) invalid(what + " is a scalar (rank 0); every operator needs rank 1 or more");
      if (info.dtype == ATTN_DTYPE_F32 && info.shape.size() == 2 && info.shape[0] > m_.max_tokens)
        invalid(what + " has shape " + shape_text(info.shape) + ": " + std::to_string(info.shape[0]) +
                " rows is more than max_tokens (" + std::to_string(m_.max_tokens) + ")");
      // -1 (the sequence length) is a leading dimension only: rows of a
      // float value, or the ids [n] themselves. Features are fixed sizes.
      for (size_t d = 0; d < info.shape.size(); ++d)
        if (info.shape[d] == -1 && (d > 0 || (info.shape.size() == 1 && info.dtype != ATTN_DTYPE_I32)))
          invalid(what + " has shape " + shape_text(info.shape) +
                  ": only the first dimension of a value may be -1 (the sequence length), and not a float vector's");
      // Token ids are read for n positions, with n up to max_tokens.
      if (info.dtype == ATTN_DTYPE_I32 && (info.shape.empty() || (info.shape[0] != -1 && info.shape[0] != m_.max_tokens)))
        invalid(what + " holds token ids with shape " + shape_text(info.shape) + ": its first dimension must be -1 or max_tokens (" +
                std::to_string(m_.max_tokens) + ")");
      info.max_elements = 1;
      for (int64_t d : info.shape) {
        info.max_shape.push_back(d == -1 ? m_.max_tokens : d);
        info.max_elements *= static_cast<size_t>(info.max_shape.back());
      }
    }
  }

  std::vector<int> indices(const flatbuffers::Vector<int32_t>* list, size_t bound, const std::string& what) {
    std::vector<int> out;
    for (int32_t i : *list) {
      if (i < 0 || static_cast<size_t>(i) >= bound)
        invalid(what + " index " + std::to_string(i) + " is out of range (0.." + std::to_string(bound) + ")");
      out.push_back(i);
    }
    return out;
  }

  void load_ops(const fb::Model* root) {
    const auto* ops = root->ops();
    check_count(ops, kMaxOps, "operators");
    size_t layers = 0;
    for (flatbuffers::uoffset_t i = 0; i < ops->size(); ++i) {
      const fb::Op* o = ops->Get(i);
      OpInfo op;
      const char* type = fb::EnumNameOpOptions(o->options_type());  // "" when unknown
      const std::string name = "op " + std::to_string(i) + " (" + (*type ? type : "unknown") + "," + at(o) + ")";
      op.inputs = indices(o->inputs(), m_.values.size(), name + " input");
      op.outputs = indices(o->outputs(), m_.values.size(), name + " output");
      if (op.outputs.size() != 1) invalid(name + " must have exactly one output");
      const OpSchema* schema = op_schema(o->options_type());
      if (!schema)
        invalid(name + " has an unknown operator type " + std::to_string(static_cast<int>(o->options_type())));
      op.kind = schema->kind;
      if (op.kind == OpKind::Attention && ++layers > kMaxLayers)
        invalid(name + ": the model has more than " + std::to_string(kMaxLayers) + " attention layers");
      OpReader reader(m_, op, name);
      schema->read(*o, reader);
      m_.ops.push_back(std::move(op));
    }
  }

  // Every value is produced once, by a model input or one op, before use.
  void check_graph() {
    std::vector<char> defined(m_.values.size(), 0);
    for (int i : m_.inputs) {
      if (defined[i]) invalid("value '" + m_.values[i].name + "' is listed twice as a model input");
      defined[i] = 1;
    }
    for (size_t k = 0; k < m_.ops.size(); ++k) {
      for (int i : m_.ops[k].inputs)
        if (!defined[i]) invalid("op " + std::to_string(k) + " reads value '" + m_.values[i].name + "' before it is defined");
      for (int i : m_.ops[k].outputs) {
        if (defined[i]) invalid("op " + std::to_string(k) + " redefines value '" + m_.values[i].name + "'");
        defined[i] = 1;
      }
    }
    for (int i : m_.outputs)
      if (!defined[i]) invalid("model output '" + m_.values[i].name + "' is never computed");
  }

  void make_infos() {
    auto info = [&](int v) {
      attn_tensor_info t{};
      const ValueInfo& value = m_.values[v];
      t.name = value.name.c_str();
      t.dtype = value.dtype;
      t.rank = value.shape.size();
      for (size_t i = 0; i < t.rank; ++i) t.shape[i] = value.shape[i];
      return t;
    };
    for (int v : m_.inputs) m_.input_infos.push_back(info(v));
    for (int v : m_.outputs) m_.output_infos.push_back(info(v));
  }

  // Each sample tensor must fit the model value it stands for.
  SampleTensor sample_tensor(const fb::SampleTensor* t, int value, const std::string& what) {
    const ValueInfo& v = m_.values[value];
    SampleTensor out;
    out.info.name = v.name.c_str();
    out.info.dtype = v.dtype;
    const std::vector<int64_t> shape = read_shape(t->shape(), what, false);
    if (shape.size() != v.shape.size()) invalid(what + " has shape " + shape_text(shape) + ", the model's is " + shape_text(v.shape));
    size_t count = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
      const bool ok = v.shape[i] == -1 ? shape[i] <= m_.max_tokens : shape[i] == v.shape[i];
      if (!ok) invalid(what + " has shape " + shape_text(shape) + ", the model's is " + shape_text(v.shape));
      out.info.shape[i] = shape[i];
      count *= size_t(shape[i]);
    }
    out.info.rank = shape.size();
    const size_t stored = v.dtype == ATTN_DTYPE_F32 ? (t->f32() ? t->f32()->size() : 0) : (t->i32() ? t->i32()->size() : 0);
    if (stored != count)
      invalid(what + " holds " + std::to_string(stored) + " values of the model's dtype, its shape needs " + std::to_string(count));
    out.data = v.dtype == ATTN_DTYPE_F32 ? static_cast<const void*>(t->f32()->data()) : static_cast<const void*>(t->i32()->data());
    return out;
  }

  void load_samples(const fb::Model* root) {
    if (!root->samples()) return;
    check_count(root->samples(), kMaxSamples, "samples");
    for (flatbuffers::uoffset_t k = 0; k < root->samples()->size(); ++k) {
      const fb::Sample* s = root->samples()->Get(k);
      const std::string what = "sample " + std::to_string(k);
      if (s->inputs()->size() != m_.inputs.size() || s->outputs()->size() != m_.outputs.size())
        invalid(what + " does not have one tensor per model input and output");
      Sample sample;
      for (flatbuffers::uoffset_t i = 0; i < s->inputs()->size(); ++i)
        sample.inputs.push_back(sample_tensor(s->inputs()->Get(i), m_.inputs[i], what + " input " + std::to_string(i)));
      for (flatbuffers::uoffset_t i = 0; i < s->outputs()->size(); ++i) {
        const fb::SampleTensor* t = s->outputs()->Get(i);
        sample.outputs.push_back(sample_tensor(t, m_.outputs[i], what + " output " + std::to_string(i)));
        const float allowance = t->rounding_allowance();
        if (!(allowance >= 0 && allowance <= 1e30f))
          invalid(what + " output " + std::to_string(i) + " has rounding allowance " + std::to_string(allowance) +
                  ": it must be finite and not negative");
        sample.outputs.back().rounding_allowance = allowance;
      }
      m_.samples.push_back(std::move(sample));
    }
  }

  Model& m_;
  const uint8_t* data_ = nullptr;
  uint64_t data_size_ = 0, data_offset_ = 0;
};

}  // namespace

std::unique_ptr<Model> load_model(std::unique_ptr<ModelBytes> bytes) {
  auto model = std::make_unique<Model>();
  model->bytes = std::move(bytes);
  Loader(*model).load();
  return model;
}

}  // namespace attn
