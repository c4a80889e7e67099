#include "support.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "convert.h"

namespace attn::test {

std::string fixture_dir(const std::string& name) { return std::string(ATTN_TEST_DATA_DIR) + "/fixtures/" + name; }

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(ATTN_TEST_DATA_DIR) + "/fixtures"))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

convert::TensorMap fixture_tensors(const std::string& name) {
  const std::string path = fixture_dir(name) + "/model.safetensors";
  return convert::read_safetensors(convert::read_file(path), path);
}

std::vector<uint8_t> to_safetensors(const convert::TensorMap& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::vector<uint8_t> data;
  for (const auto& [name, t] : tensors) {
    const size_t begin = data.size();
    data.resize(begin + t.data.size() * 4);
    std::memcpy(data.data() + begin, t.data.data(), t.data.size() * 4);
    header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::vector<uint8_t> out;
  out.reserve(8 + text.size() + data.size());
  for (int i = 0; i < 8; ++i) out.push_back(uint8_t(uint64_t(text.size()) >> (8 * i)));
  out.insert(out.end(), text.begin(), text.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<uint8_t> convert_fixture(const std::string& name, WeightType weights) {
  const std::string dir = fixture_dir(name);
  convert::BuildOptions options;
  options.weights = weights;
  return convert::convert(convert::read_file(dir + "/model.safetensors"), dir + "/model.safetensors",
                          read_text(dir + "/config.json"), dir + "/config.json", options)
      .file;
}

Loaded::Loaded(const std::vector<uint8_t>& bytes, uint32_t threads, uint32_t dense) {
  REQUIRE_MESSAGE(attn_model_load_memory(bytes.data(), bytes.size(), &model) == ATTN_OK, attn_last_error_message());
  attn_session_options options;
  attn_session_options_init(&options);
  options.threads = threads;
  options.dense = dense;
  REQUIRE_MESSAGE(attn_session_create(model, &options, &session) == ATTN_OK, attn_last_error_message());
}

Loaded::~Loaded() {
  attn_session_release(session);
  attn_model_release(model);
}

std::vector<float> run_item(attn_session* session, const npy::Array& input, size_t i) {
  const size_t per_item = input.count() / size_t(input.shape[0]);
  std::vector<int64_t> shape(input.shape.begin() + 1, input.shape.end());
  std::vector<int32_t> ids;
  const void* data = input.data.data() + i * per_item * 4;
  if (input.dtype == npy::DType::I64) {
    const int64_t* src = reinterpret_cast<const int64_t*>(input.data.data()) + i * per_item;
    ids.assign(src, src + per_item);
    data = ids.data();
  }
  REQUIRE_MESSAGE(attn_session_set_input(session, 0, data, per_item * 4, shape.data(), shape.size()) == ATTN_OK,
                  attn_last_error_message());
  REQUIRE_MESSAGE(attn_session_run(session) == ATTN_OK, attn_last_error_message());
  return read_output(session);
}

std::vector<float> read_output(const attn_session* session) {
  attn_tensor_info info;
  REQUIRE(attn_session_output_info(session, 0, &info) == ATTN_OK);
  size_t count = 1;
  for (size_t d = 0; d < info.rank; ++d) count *= size_t(info.shape[d]);
  std::vector<float> out(count);
  REQUIRE(attn_session_get_output(session, 0, out.data(), count * 4) == ATTN_OK);
  return out;
}

int add_tensor(convert::Graph& g, const std::string& name, std::vector<int64_t> shape, float fill) {
  size_t count = 1;
  for (int64_t d : shape) count *= size_t(d);
  g.tensors.push_back({name, std::move(shape), std::vector<float>(count, fill)});
  return int(g.tensors.size() - 1);
}

int add_value(convert::Graph& g, const std::string& name, std::vector<int64_t> shape, attn_dtype dtype) {
  g.values.push_back({name, dtype, std::move(shape)});
  return int(g.values.size() - 1);
}

convert::GraphOp op_of(convert::Operator op, std::vector<int> inputs, int output) {
  return {std::move(op), std::move(inputs), {output}};
}

}  // namespace attn::test
