#include "inputs.h"

#include <climits>
#include <cstring>
#include <nlohmann/json.hpp>

#include "util.h"

namespace attn::infer {

namespace {

// vocab_size and pad_id from the model's config.json (as converted).
void token_config(const attn_model* model, int64_t* vocab, int64_t* pad_id) {
  *vocab = -1;
  *pad_id = -1;
  const nlohmann::json j = nlohmann::json::parse(metadata(model, "config_json"), nullptr, false);
  if (!j.is_object()) return;
  if (j.contains("vocab_size") && j["vocab_size"].is_number_integer()) *vocab = j["vocab_size"].get<int64_t>();
  if (j.contains("pad_id") && j["pad_id"].is_number_integer()) *pad_id = j["pad_id"].get<int64_t>();
}

}  // namespace

RunInputs synthetic_inputs(const attn_model* model, uint64_t seed, int64_t tokens) {
  size_t count = 0;
  check(attn_model_input_count(model, &count), "inputs");
  int64_t max_tokens = 0;
  check(attn_model_max_tokens(model, &max_tokens), "max_tokens");
  int64_t vocab = -1, pad_id = -1;
  token_config(model, &vocab, &pad_id);
  RunInputs out;
  out.description = "synthetic, seed " + std::to_string(seed);
  Rng rng(seed);
  bool variable = false;
  for (size_t i = 0; i < count; ++i) {
    attn_tensor_info info;
    check(attn_model_input_info(model, i, &info), "input info");
    std::vector<int64_t> shape(info.shape, info.shape + info.rank);
    for (int64_t& d : shape)
      if (d == -1) {
        variable = true;
        if (tokens > max_tokens)
          throw Failure{"--tokens " + std::to_string(tokens) + " is more than the model's " + std::to_string(max_tokens)};
        d = tokens > 0 ? tokens : max_tokens;
      }
    size_t elements = 1;
    for (int64_t d : shape) elements *= size_t(d);
    std::vector<uint8_t> bytes(elements * 4);
    if (info.dtype == ATTN_DTYPE_F32) {
      float* x = reinterpret_cast<float*>(bytes.data());
      for (size_t k = 0; k < elements; ++k) x[k] = float(rng.normal());
    } else {
      if (vocab < 1) throw Failure{"the model's config_json has no vocab_size: give an input with --input"};
      // Never the padding id (when there is another).
      const bool skip = pad_id >= 0 && pad_id < vocab && vocab > 1;
      int32_t* ids = reinterpret_cast<int32_t*>(bytes.data());
      for (size_t k = 0; k < elements; ++k) {
        int64_t id = int64_t(rng.below(uint64_t(skip ? vocab - 1 : vocab)));
        if (skip && id >= pad_id) ++id;
        ids[k] = int32_t(id);
      }
      out.tokens = shape.empty() ? 1 : shape[0];
    }
    out.data.push_back(std::move(bytes));
    out.shapes.push_back(std::move(shape));
  }
  for (const auto& shape : out.shapes) out.description += ", " + shape_text(shape.data(), shape.size());
  if (tokens > 0 && !variable) {
    if (out.tokens < 0) throw Failure{"--tokens is for models that take token ids"};
    if (tokens != out.tokens)
      throw Failure{"this model takes exactly " + std::to_string(out.tokens) + " tokens (--tokens " +
                    std::to_string(tokens) + ")"};
  }
  return out;
}

std::vector<uint8_t> item_bytes(const npy::Array& in, size_t item, size_t per_item, attn_dtype want,
                                const std::string& path) {
  const bool is_int = in.dtype != npy::DType::F32;
  if (is_int != (want == ATTN_DTYPE_I32))
    throw Failure{path + ": the model takes " + std::string(want == ATTN_DTYPE_I32 ? "integer token ids" : "float32") +
                  ", the file holds " + (is_int ? "integers" : "float32")};
  std::vector<uint8_t> out(per_item * 4);
  if (in.dtype == npy::DType::I64) {
    const int64_t* src = reinterpret_cast<const int64_t*>(in.data.data()) + item * per_item;
    int32_t* dst = reinterpret_cast<int32_t*>(out.data());
    for (size_t i = 0; i < per_item; ++i) {
      if (src[i] < INT32_MIN || src[i] > INT32_MAX)
        throw Failure{path + ": item " + std::to_string(item) + ": token id " + std::to_string(src[i]) +
                      " is outside the vocabulary"};
      dst[i] = int32_t(src[i]);
    }
  } else {
    std::memcpy(out.data(), in.data.data() + item * per_item * 4, per_item * 4);
  }
  return out;
}

RunInputs npy_inputs(const attn_model* model, const std::string& path) {
  size_t count = 0;
  check(attn_model_input_count(model, &count), "inputs");
  if (count != 1) throw Failure{"--input gives one input; this model takes " + std::to_string(count)};
  attn_tensor_info info;
  check(attn_model_input_info(model, 0, &info), "input info");
  const npy::Array a = npy::read(path);
  if (a.shape.size() != info.rank + 1 || a.shape[0] < 1)
    throw Failure{path + ": has shape " + shape_text(a.shape.data(), a.shape.size()) + ", the model takes [N, " +
                  shape_text(info.shape, info.rank).substr(1)};
  RunInputs out;
  const size_t per_item = a.count() / size_t(a.shape[0]);
  out.data.push_back(item_bytes(a, 0, per_item, info.dtype, path));
  out.shapes.emplace_back(a.shape.begin() + 1, a.shape.end());
  if (info.dtype == ATTN_DTYPE_I32) out.tokens = out.shapes[0].empty() ? 1 : out.shapes[0][0];
  out.description = path + ", item 0, " + shape_text(out.shapes[0].data(), out.shapes[0].size()) +
                    (a.note.empty() ? "" : " (" + a.note + ")");
  return out;
}

void set_inputs(attn_session* session, const RunInputs& inputs, const std::string& model_path) {
  for (size_t i = 0; i < inputs.data.size(); ++i)
    check(attn_session_set_input(session, i, inputs.data[i].data(), inputs.data[i].size(), inputs.shapes[i].data(),
                                 inputs.shapes[i].size()),
          model_path + ": setting input " + std::to_string(i) + " (" + inputs.description + ")");
}

}  // namespace attn::infer
