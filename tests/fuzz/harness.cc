#include "harness.h"

#include <attn/attn.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <new>
#include <vector>

#include "attnmodel_generated.h"
#include "builder.h"
#include "config.h"
#include "model_limits.h"
#include "safetensors.h"
#include "writer.h"

namespace attn::fuzz {

namespace {

// A run of a model the loader accepted is skipped when it would need more than
// this much activation memory or arithmetic: such files are valid, just too
// big to run thousands of times a second. Loading and verifying them is not
// skipped.
constexpr double kMaxArenaFloats = double(1 << 24);
constexpr double kMaxWork = double(1 << 26);
constexpr int64_t kRunTokens = 8;  // n for a model whose input length is free

std::string status_problem(const char* call, attn_status s, std::initializer_list<attn_status> allowed) {
  const std::string message = attn_last_error_message();
  if (message.empty()) return std::string(call) + " returned status " + std::to_string(s) + " without a message";
  for (attn_status a : allowed)
    if (s == a) return "";
  return std::string(call) + " returned unexpected status " + std::to_string(s) + ": " + message;
}

// Elements of a value with -1 replaced by n.
double elements(const flatbuffers::Vector<int64_t>* shape, int64_t n) {
  double count = 1;
  for (int64_t d : *shape) count *= double(d == -1 ? n : d);
  return count;
}

double rows(const flatbuffers::Vector<int64_t>* shape, int64_t n) {
  double count = 1;
  for (flatbuffers::uoffset_t i = 0; i + 1 < shape->size(); ++i) count *= double(shape->Get(i) == -1 ? n : shape->Get(i));
  return count;
}

// Reads the header of a model attn has already accepted (so verified): the
// activation memory of a session and the arithmetic of one run of n tokens.
struct Cost {
  double arena = 0, work = 0;
  int64_t vocab = 0;
};

Cost cost_of(const uint8_t* data, int64_t n) {
  const fb::Model* root = fb::GetSizePrefixedModel(data);
  Cost c;
  const int64_t L = root->max_tokens();
  for (const fb::Value* v : *root->values()) c.arena += elements(v->shape(), L);
  auto tensor_elements = [&](int32_t i) { return elements(root->tensors()->Get(flatbuffers::uoffset_t(i))->shape(), 0); };
  for (const fb::Op* op : *root->ops()) {
    const fb::Value* in = root->values()->Get(flatbuffers::uoffset_t(op->inputs()->Get(0)));
    const double r = rows(in->shape(), n), r_max = rows(in->shape(), L);
    switch (op->options_type()) {
      case fb::OpOptions::Dense:
        c.work += r * tensor_elements(op->options_as_Dense()->weight());
        break;
      case fb::OpOptions::PatchEmbed:
        c.work += elements(in->shape(), 0) * tensor_elements(op->options_as_PatchEmbed()->weight());
        break;
      case fb::OpOptions::TokenEmbed: {
        const auto* table = root->tensors()->Get(flatbuffers::uoffset_t(op->options_as_TokenEmbed()->table()));
        const int64_t rows_in_table = table->shape()->Get(0);
        if (c.vocab == 0 || rows_in_table < c.vocab) c.vocab = rows_in_table;
        c.work += elements(in->shape(), n) * double(table->shape()->Get(1));
        break;
      }
      case fb::OpOptions::Attention: {
        const auto* a = op->options_as_Attention();
        const double d = double(a->heads()) * a->head_dim();
        c.work += r * tensor_elements(a->qkv_weight()) + r * d * d + 3 * r * r * d;
        c.arena += double(a->heads()) * double(std::max<int64_t>(int64_t(r_max), L)) + 4 * r_max * d;
        break;
      }
      default:
        c.work += elements(in->shape(), n);
        break;
    }
  }
  return c;
}

std::string run_model(attn_model* model, const uint8_t* data) {
  size_t inputs = 0, outputs = 0;
  int64_t max_tokens = 0;
  if (attn_model_input_count(model, &inputs) != ATTN_OK || inputs == 0) return "an accepted model has no input";
  if (attn_model_output_count(model, &outputs) != ATTN_OK || outputs == 0) return "an accepted model has no output";
  if (attn_model_max_tokens(model, &max_tokens) != ATTN_OK || max_tokens < 1) return "an accepted model has no max_tokens";
  for (const char* key : {"family", "attention", "config_json", "converter_version", "source_sha256"}) {
    const char* value = nullptr;
    if (attn_model_metadata(model, key, &value) != ATTN_OK || !value) return std::string("metadata '") + key + "' is missing";
  }
  // Embedded samples: every byte they point at must be readable.
  size_t samples = 0;
  if (attn_model_sample_count(model, &samples) != ATTN_OK) return "attn_model_sample_count failed";
  volatile uint8_t sink = 0;
  for (size_t k = 0; k < samples; ++k) {
    for (int side = 0; side < 2; ++side) {
      for (size_t i = 0; i < (side == 0 ? inputs : outputs); ++i) {
        attn_tensor_info info;
        const void* p = nullptr;
        const attn_status s = side == 0 ? attn_model_sample_input(model, k, i, &info, &p)
                                        : attn_model_sample_output(model, k, i, &info, &p);
        if (s != ATTN_OK || !p) return "an accepted sample tensor cannot be read";
        size_t count = 1;
        for (size_t d = 0; d < info.rank; ++d) count *= size_t(info.shape[d]);
        for (size_t b = 0; b < count * 4; ++b) sink = sink ^ static_cast<const uint8_t*>(p)[b];
      }
    }
  }
  const int64_t n = std::min<int64_t>(max_tokens, kRunTokens);
  const Cost cost = cost_of(data, n);
  if (cost.arena > kMaxArenaFloats || cost.work > kMaxWork) return "";

  attn_session* session = nullptr;
  attn_status s = attn_session_create(model, nullptr, &session);
  // Prepare may refuse what only it checks (a causal W_A above the diagonal).
  if (s != ATTN_OK) return status_problem("attn_session_create", s, {ATTN_ERROR_OUT_OF_MEMORY, ATTN_ERROR_INVALID_MODEL});
  std::string problem;
  for (size_t i = 0; i < inputs && problem.empty(); ++i) {
    attn_tensor_info info;
    if (attn_model_input_info(model, i, &info) != ATTN_OK) {
      problem = "attn_model_input_info failed for an input the model declares";
      break;
    }
    std::vector<int64_t> shape(info.shape, info.shape + info.rank);
    size_t count = 1;
    for (int64_t& d : shape) {
      if (d == -1) d = n;
      count *= size_t(d);
    }
    std::vector<uint32_t> bits(count);
    for (size_t k = 0; k < count; ++k) {
      if (info.dtype == ATTN_DTYPE_I32) {
        const int64_t id = cost.vocab > 0 ? int64_t(k * 7 + 1) % cost.vocab : int64_t(k);
        bits[k] = uint32_t(id);
      } else {
        const float x = float(int(k * 37 % 17) - 8) / 8.0f;
        std::memcpy(&bits[k], &x, 4);
      }
    }
    s = attn_session_set_input(session, i, bits.data(), count * 4, shape.data(), shape.size());
    if (s != ATTN_OK) problem = std::string("a valid input was refused: ") + attn_last_error_message();
  }
  if (problem.empty()) {
    s = attn_session_run(session);
    // All-padding input and the like are refused at run with a status.
    if (s != ATTN_OK) {
      problem = status_problem("attn_session_run", s, {ATTN_ERROR_OUT_OF_RANGE});
    } else {
      for (size_t i = 0; i < outputs && problem.empty(); ++i) {
        attn_tensor_info info;
        if (attn_session_output_info(session, i, &info) != ATTN_OK) {
          problem = std::string("attn_session_output_info failed after a run: ") + attn_last_error_message();
          break;
        }
        size_t count = 1;
        for (size_t d = 0; d < info.rank; ++d) count *= size_t(info.shape[d]);
        std::vector<float> out(count);
        if (attn_session_get_output(session, i, out.data(), count * 4) != ATTN_OK)
          problem = std::string("attn_session_get_output failed after a run: ") + attn_last_error_message();
        else if (count > 0 && attn_session_get_output(session, i, out.data(), count * 4 - 1) != ATTN_ERROR_BUFFER_TOO_SMALL)
          problem = "a too small output buffer was not refused";
      }
    }
  }
  // Generation: a causal model decodes a few tokens after the run; any
  // other refuses with a status.
  if (problem.empty()) {
    size_t cache_bytes = 0, per_token = 0;
    if (attn_session_cache_info(session, &cache_bytes, &per_token) != ATTN_OK) {
      problem = std::string("attn_session_cache_info failed: ") + attn_last_error_message();
    } else {
      const int32_t ids[2] = {0, int32_t(cost.vocab > 1 ? 1 : 0)};
      for (int step = 0; step < 3 && problem.empty(); ++step) {
        s = attn_session_decode(session, ids, step == 2 ? 2 : 1);
        if (s == ATTN_OK && cache_bytes == 0) problem = "a model without a decode cache decoded";
        if (s != ATTN_OK) {
          problem = status_problem("attn_session_decode", s,
                                   {ATTN_ERROR_BAD_STATE, ATTN_ERROR_OUT_OF_RANGE, ATTN_ERROR_SHAPE_MISMATCH,
                                    ATTN_ERROR_INVALID_ARGUMENT});
          break;
        }
        attn_tensor_info info;
        if (attn_session_output_info(session, 0, &info) != ATTN_OK) {
          problem = std::string("no output after a decode: ") + attn_last_error_message();
          break;
        }
        size_t count = 1;
        for (size_t d = 0; d < info.rank; ++d) count *= size_t(info.shape[d]);
        std::vector<float> out(count);
        if (attn_session_get_output(session, 0, out.data(), count * 4) != ATTN_OK)
          problem = std::string("attn_session_get_output failed after a decode: ") + attn_last_error_message();
      }
      if (problem.empty() && attn_session_reset(session) != ATTN_OK) problem = "attn_session_reset failed";
    }
  }
  attn_session_release(session);
  return problem;
}

// Small configs the fixtures' checkpoints are shaped for, one per family.
const char* const kConfigs[] = {
    R"({"family":"vit","attention":"super","d_model":16,"heads":2,"layers":2,"mlp_dim":32,"context":16,
        "activation":"gelu","norm_first":true,"layer_norm_eps":1e-06,"qkv_bias":true,"align_bias":true,
        "image_size":[12,12],"channels":1,"patch_size":3,"pool":"mean","num_classes":4})",
    R"({"family":"text","attention":"standard","d_model":32,"heads":4,"layers":2,"mlp_dim":64,"context":12,
        "activation":"gelu","norm_first":true,"layer_norm_eps":1e-06,"qkv_bias":true,"align_bias":true,
        "vocab_size":50,"num_classes":3,"pre_logits":0,"pad_id":0})",
    R"({"family":"gpt","attention":"super","d_model":32,"heads":4,"layers":2,"mlp_dim":64,"context":16,
        "activation":"gelu_tanh","norm_first":true,"layer_norm_eps":1e-05,"qkv_bias":true,"align_bias":true,
        "vocab_size":64,"weight_layout":"linear"})",
    R"({"model_type":"gpt2","activation_function":"gelu_new","n_embd":32,"n_head":2,"n_layer":2,"n_positions":32,
        "layer_norm_epsilon":1e-05,"vocab_size":300})",
};

}  // namespace

std::string check_model(const uint8_t* data, size_t size) {
  static const uint8_t empty = 0;
  attn_model* model = nullptr;
  attn_status s = attn_model_load_memory(size ? data : &empty, size, &model);
  if (s != ATTN_OK) {
    if (model) return "a refused load left a model handle";
    return status_problem("attn_model_load_memory", s, {ATTN_ERROR_INVALID_MODEL, ATTN_ERROR_UNSUPPORTED_VERSION});
  }
  std::string problem = run_model(model, data);
  attn_model_release(model);
  return problem;
}

std::string check_safetensors(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  convert::TensorMap tensors;
  try {
    tensors = convert::read_safetensors(bytes, "fuzz.safetensors");
  } catch (const convert::InputError& e) {
    if (std::string(e.what()).rfind("fuzz.safetensors: ", 0) != 0) return std::string("an error without the file name: ") + e.what();
    return "";
  } catch (const std::exception& e) {
    return std::string("read_safetensors threw something other than InputError: ") + e.what();
  }
  for (const auto& [name, t] : tensors) {
    size_t count = 1;
    for (int64_t d : t.shape) {
      if (d < 0) return "tensor '" + name + "' came out with a negative dimension";
      count *= size_t(d);
    }
    if (count != t.data.size()) return "tensor '" + name + "' came out with " + std::to_string(t.data.size()) + " values for its shape";
  }
  for (const char* text : kConfigs) {
    convert::TensorMap copy = tensors;
    std::vector<uint8_t> file;
    try {
      const convert::ModelConfig config = convert::parse_config(text, "config.json");
      convert::Graph graph = convert::build_graph(config, copy, {});
      file = convert::serialize_model(config, graph, {text, "0"});
    } catch (const convert::InputError& e) {
      if (std::string(e.what()).empty()) return "an empty converter error";
      continue;
    } catch (const std::exception& e) {
      return std::string("the converter threw something other than InputError: ") + e.what();
    }
    // What the converter writes, the runtime loads.
    attn_model* model = nullptr;
    if (attn_model_load_memory(file.data(), file.size(), &model) != ATTN_OK)
      return std::string("a converted model does not load: ") + attn_last_error_message();
    std::string problem = run_model(model, file.data());
    attn_model_release(model);
    if (!problem.empty()) return "a converted model: " + problem;
  }
  return "";
}

std::string check_config(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  convert::ModelConfig c;
  try {
    c = convert::parse_config(text, "config.json");
  } catch (const convert::InputError& e) {
    if (std::string(e.what()).rfind("config.json: ", 0) != 0) return std::string("an error without the file name: ") + e.what();
    return "";
  } catch (const std::exception& e) {
    return std::string("parse_config threw something other than InputError: ") + e.what();
  }
  if (c.family != "vit" && c.family != "text" && c.family != "gpt") return "an accepted config has family " + c.family;
  if (c.d_model < 1 || c.heads < 1 || c.d_model % c.heads) return "an accepted config has heads not dividing d_model";
  if (c.layers < 1 || c.mlp_dim < 1 || c.context < 1 || c.context > limits::kMaxTokens) return "an accepted config has a bad size";
  // What the converter accepts, the loader's limits must accept too.
  if (!(float(c.layer_norm_eps) > 0 && float(c.layer_norm_eps) < 1)) return "an accepted config has a layer_norm_eps the loader refuses";
  if (c.heads > limits::kMaxHeads) return "an accepted config has more heads than the loader allows";
  if (c.layers > int64_t(limits::kMaxLayers)) return "an accepted config has more layers than the loader allows";
  if (c.vocab_size > limits::kMaxVocab || c.num_classes > limits::kMaxClasses || c.d_model > limits::kMaxDim ||
      c.mlp_dim > limits::kMaxDim)
    return "an accepted config has a size beyond the loader's dimension limit";
  if (c.family == "vit" && (c.patch_size < 1 || c.image_h % c.patch_size || c.image_w % c.patch_size || c.channels < 1))
    return "an accepted vit config has a bad image geometry";
  if (c.family != "vit" && (c.vocab_size < 1 || c.pad_id >= c.vocab_size)) return "an accepted config has a bad vocabulary";
  return "";
}

}  // namespace attn::fuzz
