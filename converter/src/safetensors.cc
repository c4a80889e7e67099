#include "safetensors.h"

#include "files.h"
#include "model_limits.h"
#include "strict_json.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace attn::convert {

namespace {

constexpr uint64_t kMaxHeader = 100u << 20;  // the format's own limit

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) mant <<= 1, --exp;
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16_to_float(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace

std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes) {
  try {
    return files::read_regular(path, max_bytes);
  } catch (const cli::Failure& e) {
    throw InputError(e.what());
  }
}

TensorMap read_safetensors(const std::vector<uint8_t>& bytes, const std::string& source) {
  return read_safetensors(bytes.data(), bytes.size(), source);
}

TensorMap read_safetensors(const uint8_t* bytes, size_t size, const std::string& source) {
  auto error = [&](const std::string& what) { return InputError(source + ": " + what); };
  if (size < 8) throw error("file is too short (" + std::to_string(size) + " bytes) for a safetensors header");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  if (header_len > kMaxHeader || header_len > size - 8)
    throw error("header length " + std::to_string(header_len) + " at offset 0 runs past the end of the file (" +
                std::to_string(size) + " bytes)");
  const uint8_t* data = bytes + 8 + header_len;
  const uint64_t data_len = size - 8 - header_len;

  const char* text = reinterpret_cast<const char*>(bytes + 8);
  const nlohmann::json header = parse_strict_json(text, text + header_len, source + ": header");
  if (!header.is_object()) throw error("header is not a JSON object");

  TensorMap tensors;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& item : header.items()) {
    const std::string name = item.key();  // a named copy: lambdas below capture it (clang)
    const auto& entry = item.value();
    if (name == "__metadata__") continue;
    auto terror = [&](const std::string& what) { return error("tensor '" + name + "': " + what); };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      throw terror("entry needs dtype, shape and data_offsets");
    if (!entry["dtype"].is_string()) throw terror("dtype is not a string");
    Tensor t;
    t.dtype = entry["dtype"].get<std::string>();
    size_t elem;
    if (t.dtype == "F32") elem = 4;
    else if (t.dtype == "F16" || t.dtype == "BF16") elem = 2;
    else throw terror("dtype " + t.dtype + " is not supported (F32, F16, BF16)");
    const auto& shape = entry["shape"];
    if (!shape.is_array() || shape.size() > limits::kMaxRank)
      throw terror("shape is not an array of at most " + std::to_string(limits::kMaxRank) + " dimensions");
    int64_t count = 1;
    for (const auto& dim : shape) {
      if (!dim.is_number_unsigned()) throw terror("shape has a dimension that is not a non-negative integer");
      const uint64_t dv = dim.get<uint64_t>();
      if (dv > uint64_t(limits::kMaxElements) || (dv && count > limits::kMaxElements / int64_t(dv)))
        throw terror("shape's element count overflows");
      count *= int64_t(dv);
      t.shape.push_back(int64_t(dv));
    }
    const auto& offs = entry["data_offsets"];
    if (!offs.is_array() || offs.size() != 2 || !offs[0].is_number_unsigned() || !offs[1].is_number_unsigned())
      throw terror("data_offsets is not [begin, end]");
    const uint64_t begin = offs[0].get<uint64_t>(), end = offs[1].get<uint64_t>();
    if (begin > end || end > data_len)
      throw terror("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                   ") lie outside the data section of " + std::to_string(data_len) + " bytes");
    if (end - begin != uint64_t(count) * elem)
      throw terror("holds " + std::to_string(end - begin) + " bytes, but its shape and dtype need " +
                   std::to_string(uint64_t(count) * elem));
    ranges.emplace_back(begin, end);
    t.data.resize(size_t(count));
    const uint8_t* src = data + begin;
    if (elem == 4) {
      std::memcpy(t.data.data(), src, size_t(count) * 4);
    } else {
      for (int64_t i = 0; i < count; ++i) {
        uint16_t h = uint16_t(src[2 * i] | (src[2 * i + 1] << 8));
        t.data[size_t(i)] = t.dtype == "F16" ? half_to_float(h) : bf16_to_float(h);
      }
    }
    tensors.emplace(name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second && ranges[i].first != ranges[i].second)
      throw error("tensor data ranges overlap at data offset " + std::to_string(ranges[i].first));
  return tensors;
}

}  // namespace attn::convert
