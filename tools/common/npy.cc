#include "npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <unistd.h>

namespace attn::npy {

size_t Array::count() const {
  size_t n = 1;
  for (int64_t d : shape) n *= size_t(d);
  return n;
}

Array parse(const std::vector<uint8_t>& b, const std::string& source) {
  auto error = [&](const std::string& what) { return std::runtime_error(source + ": " + what); };
  if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0) throw error("not a .npy file (bad magic)");
  const int major = b[6];
  size_t header_len, start;
  if (major == 1) {
    header_len = size_t(b[8]) | size_t(b[9]) << 8;
    start = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) throw error("truncated header");
    header_len = size_t(b[8]) | size_t(b[9]) << 8 | size_t(b[10]) << 16 | size_t(b[11]) << 24;
    start = 12;
  } else {
    throw error("unsupported .npy version " + std::to_string(major));
  }
  if (header_len > b.size() - start) throw error("header runs past the end of the file");
  const std::string header(reinterpret_cast<const char*>(b.data() + start), header_len);
  std::smatch m;
  Array a;
  if (!std::regex_search(header, m, std::regex("'descr'\\s*:\\s*'([^']*)'"))) throw error("header has no 'descr'");
  const std::string descr = m[1];
  if (descr == "<f4") a.dtype = DType::F32;
  else if (descr == "<i4") a.dtype = DType::I32;
  else if (descr == "<i8") a.dtype = DType::I64;
  else throw error("dtype '" + descr + "' is not supported (float32, int32, int64)");
  if (std::regex_search(header, m, std::regex("'fortran_order'\\s*:\\s*True")))
    throw error("Fortran-order arrays are not supported; save with np.ascontiguousarray");
  if (!std::regex_search(header, m, std::regex("'shape'\\s*:\\s*\\(([^)]*)\\)"))) throw error("header has no 'shape'");
  const std::string dims = m[1];
  static const std::regex digits_re("\\d+");
  std::sregex_iterator it(dims.begin(), dims.end(), digits_re), end;
  size_t count = 1;
  for (; it != end; ++it) {
    const std::string digits = it->str();
    if (digits.size() > 12) throw error("a dimension is too large");
    const int64_t d = std::stoll(digits);
    if (d && count > (size_t(1) << 40) / size_t(d)) throw error("the shape's element count is too large");
    count *= size_t(d);
    a.shape.push_back(d);
  }
  const size_t elem = a.dtype == DType::I64 ? 8 : 4;
  const size_t offset = start + header_len;
  if (b.size() - offset != count * elem)
    throw error("holds " + std::to_string(b.size() - offset) + " data bytes, but its shape needs " +
                std::to_string(count * elem));
  a.data.assign(b.begin() + std::ptrdiff_t(offset), b.end());
  return a;
}

Array read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open '" + path + "'");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse(bytes, path);
}

void write_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  std::string dims;
  size_t count = 1;
  for (int64_t d : shape) dims += std::to_string(d) + ", ", count *= size_t(d);
  if (shape.size() > 1) dims.erase(dims.size() - 2);
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw std::runtime_error("cannot create '" + tmp + "'");
    const uint16_t len = uint16_t(header.size());
    out.write("\x93NUMPY\x01\x00", 8);
    out.put(char(len & 0xff)).put(char(len >> 8));
    out.write(header.data(), std::streamsize(header.size()));
    out.write(reinterpret_cast<const char*>(data), std::streamsize(count * 4));
    if (!out.flush()) {
      std::remove(tmp.c_str());
      throw std::runtime_error("cannot write '" + tmp + "'");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot rename '" + tmp + "' to '" + path + "'");
  }
}

}  // namespace attn::npy
