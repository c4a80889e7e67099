#include "npy.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>

#include "files.h"

namespace attn::npy {

namespace {

cli::Failure error(const std::string& source, const std::string& what) {
  return cli::Failure(source + ": " + what);
}

// A cursor over the header text. Every step consumes at least one character
// or fails, and nothing recurses, so the work is linear in the header size.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& source) : t_(text), source_(source) {}

  Header parse() {
    Header h;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    skip_space();
    expect('{');
    skip_space();
    while (peek() != '}') {
      const size_t key_at = i_;
      const std::string key = string_literal();
      skip_space();
      expect(':');
      skip_space();
      auto once = [&](bool& seen) {
        if (seen) fail(key_at, "the key '" + key + "' appears twice");
        seen = true;
      };
      if (key == "descr") {
        once(seen_descr);
        if (peek() != '\'' && peek() != '"')
          fail(i_, "'descr' is not a string (structured dtypes are not supported)");
        h.descr = string_literal();
      } else if (key == "fortran_order") {
        once(seen_order);
        h.fortran_order = boolean();
      } else if (key == "shape") {
        once(seen_shape);
        h.shape = int_tuple();
      } else {
        fail(key_at, "unexpected key '" + printable(key) + "' (a .npy header has descr, fortran_order and shape)");
      }
      skip_space();
      if (peek() == ',') {
        ++i_;
        skip_space();
      } else if (peek() != '}') {
        fail(i_, "expected ',' or '}'");
      }
    }
    ++i_;
    skip_space();
    if (i_ != t_.size()) fail(i_, "text after the closing '}'");
    if (!seen_descr) throw error(source_, "header has no 'descr'");
    if (!seen_order) throw error(source_, "header has no 'fortran_order'");
    if (!seen_shape) throw error(source_, "header has no 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(size_t at, const std::string& what) const {
    throw error(source_, "header offset " + std::to_string(at) + ": " + what);
  }
  char peek() const {
    if (i_ >= t_.size()) fail(i_, "the header ends early");
    return t_[i_];
  }
  void expect(char c) {
    if (peek() != c) fail(i_, std::string("expected '") + c + "'");
    ++i_;
  }
  void skip_space() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) ++i_;
  }
  static std::string printable(const std::string& s) {
    std::string out;
    for (char c : s.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out;
  }
  // 'text' or "text", with the escapes Python's repr uses for ASCII.
  std::string string_literal() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail(i_, "expected a string");
    ++i_;
    std::string s;
    for (;;) {
      const char c = peek();
      ++i_;
      if (c == quote) return s;
      if (c == '\n') fail(i_ - 1, "a string runs to the end of the line");
      if (c == '\\') {
        const char e = peek();
        ++i_;
        if (e == '\\' || e == '\'' || e == '"') s += e;
        else fail(i_ - 2, "unsupported escape in a string");
      } else {
        s += c;
      }
    }
  }
  bool boolean() {
    if (t_.compare(i_, 4, "True") == 0) return i_ += 4, true;
    if (t_.compare(i_, 5, "False") == 0) return i_ += 5, false;
    fail(i_, "expected True or False");
  }
  // (), (n,), (n, m), (n, m,) of non-negative decimal integers.
  std::vector<int64_t> int_tuple() {
    expect('(');
    std::vector<int64_t> dims;
    skip_space();
    bool trailing_comma = false;
    while (peek() != ')') {
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail(i_, "expected a non-negative integer in 'shape'");
      const size_t start = i_;
      uint64_t v = 0;
      while (i_ < t_.size() && std::isdigit(static_cast<unsigned char>(t_[i_]))) {
        v = v * 10 + uint64_t(t_[i_] - '0');
        if (v > kMaxElements) fail(start, "a dimension in 'shape' is larger than " + std::to_string(kMaxElements));
        ++i_;
      }
      if (int(dims.size()) == kMaxRank) fail(start, "'shape' has more than " + std::to_string(kMaxRank) + " dimensions");
      dims.push_back(int64_t(v));
      skip_space();
      trailing_comma = false;
      if (peek() == ',') {
        ++i_;
        trailing_comma = true;
        skip_space();
      } else if (peek() != ')') {
        fail(i_, "expected ',' or ')' in 'shape'");
      }
    }
    // Python: (3) is the integer 3, not a tuple.
    if (dims.size() == 1 && !trailing_comma) fail(i_, "'shape' is not a tuple (a 1-tuple needs a trailing comma)");
    ++i_;
    return dims;
  }

  const std::string& t_;
  const std::string& source_;
  size_t i_ = 0;
};

enum class Kind { Float, Signed, Unsigned };

struct Element {
  Kind kind;
  size_t size;
  bool swap;  // stored in the other byte order than this machine's
  const char* name;
};

constexpr bool kLittleHost = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

// The descriptors read, and their names for messages.
Element element_of(const std::string& descr, const std::string& source) {
  static const struct {
    char kind;
    size_t size;
    Kind k;
    const char* name;
  } known[] = {
      {'f', 2, Kind::Float, "float16"}, {'f', 4, Kind::Float, "float32"}, {'f', 8, Kind::Float, "float64"},
      {'i', 1, Kind::Signed, "int8"},   {'i', 2, Kind::Signed, "int16"},  {'i', 4, Kind::Signed, "int32"},
      {'i', 8, Kind::Signed, "int64"},  {'u', 1, Kind::Unsigned, "uint8"}, {'u', 2, Kind::Unsigned, "uint16"},
      {'u', 4, Kind::Unsigned, "uint32"}, {'u', 8, Kind::Unsigned, "uint64"},
  };
  const auto unsupported = [&] {
    std::string shown;
    for (char c : descr.substr(0, 32)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
    return error(source, "dtype '" + shown + "' is not supported (float16/32/64, int8-64, uint8-64)");
  };
  if (descr.size() < 3 || descr.size() > 3) throw unsupported();
  const char order = descr[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') throw unsupported();
  for (const auto& k : known) {
    if (descr[1] != k.kind || size_t(descr[2] - '0') != k.size) continue;
    if (order == '|' && k.size != 1) throw unsupported();  // '|' only for single bytes
    const bool little = order == '<' || (order == '=' && kLittleHost) || order == '|';
    return Element{k.k, k.size, k.size > 1 && little != kLittleHost, k.name};
  }
  throw unsupported();
}

uint64_t load(const uint8_t* p, size_t size, bool swap) {
  uint8_t b[8] = {};
  for (size_t i = 0; i < size; ++i) b[i] = swap ? p[size - 1 - i] : p[i];
  if (size == 1) return b[0];
  if (size == 2) {
    uint16_t v;
    std::memcpy(&v, b, 2);
    return v;
  }
  if (size == 4) {
    uint32_t v;
    std::memcpy(&v, b, 4);
    return v;
  }
  uint64_t v;
  std::memcpy(&v, b, 8);
  return v;
}

float half_to_float(uint16_t h) {
  const int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v;
  if (exp == 0) v = std::ldexp(float(mant), -24);
  else if (exp == 31) v = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else v = std::ldexp(float(mant | 0x400), exp - 25);
  return (h & 0x8000) ? -v : v;
}

// Converts element i (in stored order) into out (native, output type).
void convert(const Element& e, const uint8_t* src, size_t i, uint8_t* out, const std::string& source) {
  const uint64_t raw = load(src + i * e.size, e.size, e.swap);
  if (e.kind == Kind::Float) {
    float f;
    if (e.size == 2) {
      f = half_to_float(uint16_t(raw));
    } else if (e.size == 4) {
      const uint32_t bits = uint32_t(raw);
      std::memcpy(&f, &bits, 4);
    } else {
      double d;
      std::memcpy(&d, &raw, 8);
      if (std::isfinite(d) && std::fabs(d) > double(std::numeric_limits<float>::max()))
        throw error(source, "element " + std::to_string(i) + " (" + std::to_string(d) + ") is beyond float32's range");
      f = float(d);
    }
    std::memcpy(out, &f, 4);
    return;
  }
  int64_t v;
  if (e.kind == Kind::Unsigned) {
    if (raw > uint64_t(std::numeric_limits<int64_t>::max()))
      throw error(source, "element " + std::to_string(i) + " (" + std::to_string(raw) + ") is beyond int64's range");
    v = int64_t(raw);
  } else {
    const unsigned shift = unsigned(64 - 8 * e.size);  // sign-extend from e.size bytes
    v = shift ? int64_t(raw << shift) >> shift : int64_t(raw);
  }
  if (e.kind == Kind::Signed ? e.size <= 4 : e.size <= 2) {
    const int32_t w = int32_t(v);
    std::memcpy(out, &w, 4);
  } else {
    std::memcpy(out, &v, 8);
  }
}

}  // namespace

size_t Array::count() const {
  size_t n = 1;
  for (int64_t d : shape) n *= size_t(d);
  return n;
}

Header parse_header(const std::string& text, const std::string& source) {
  return HeaderParser(text, source).parse();
}

Array parse(const uint8_t* b, size_t size, const std::string& source) {
  if (size < 10 || std::memcmp(b, "\x93NUMPY", 6) != 0) throw error(source, "not a .npy file (bad magic)");
  const int major = b[6];
  size_t header_len, start;
  if (major == 1) {
    header_len = size_t(b[8]) | size_t(b[9]) << 8;
    start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) throw error(source, "truncated header");
    header_len = size_t(b[8]) | size_t(b[9]) << 8 | size_t(b[10]) << 16 | size_t(b[11]) << 24;
    start = 12;
  } else {
    throw error(source, "unsupported .npy format version " + std::to_string(major));
  }
  if (header_len > kMaxHeaderBytes)
    throw error(source, "header of " + std::to_string(header_len) + " bytes is longer than the " +
                            std::to_string(kMaxHeaderBytes) + " accepted");
  if (header_len > size - start) throw error(source, "header runs past the end of the file");
  // Version 1 and 2 headers are latin-1, version 3 UTF-8; the keys and values
  // read are ASCII either way, and any other byte is refused by the parser.
  const Header h = parse_header(std::string(reinterpret_cast<const char*>(b + start), header_len), source);
  const Element e = element_of(h.descr, source);

  uint64_t count = 1;
  for (int64_t d : h.shape) {
    if (d && count > kMaxElements / uint64_t(d)) throw error(source, "the shape's element count is too large");
    count *= uint64_t(d);
  }
  const size_t offset = start + header_len;
  if (uint64_t(size - offset) != count * e.size)
    throw error(source, "holds " + std::to_string(size - offset) + " data bytes, but its shape and dtype need " +
                            std::to_string(count * e.size));
  Array a;
  a.shape = h.shape;
  a.dtype = e.kind == Kind::Float ? DType::F32
            : (e.kind == Kind::Signed ? e.size <= 4 : e.size <= 2) ? DType::I32
                                                                    : DType::I64;
  const size_t out_size = a.dtype == DType::I64 ? 8 : 4;
  std::vector<std::string> notes;
  if ((a.dtype == DType::F32 && std::strcmp(e.name, "float32") != 0) ||
      (a.dtype == DType::I32 && std::strcmp(e.name, "int32") != 0) ||
      (a.dtype == DType::I64 && std::strcmp(e.name, "int64") != 0))
    notes.push_back(std::string(e.name) + " read as " +
                    (a.dtype == DType::F32 ? "float32" : a.dtype == DType::I32 ? "int32" : "int64") +
                    (std::strcmp(e.name, "float64") == 0 ? " (rounded to nearest)" : ""));
  if (e.swap) notes.push_back("big-endian data byte-swapped");
  if (h.fortran_order && h.shape.size() > 1) notes.push_back("Fortran-order data reordered to C order");
  for (const std::string& n : notes) a.note += (a.note.empty() ? "" : "; ") + n;

  a.data.resize(size_t(count) * out_size);
  const uint8_t* src = b + offset;
  if (!h.fortran_order || h.shape.size() < 2) {
    if (notes.empty()) {
      if (count) std::memcpy(a.data.data(), src, size_t(count) * out_size);
    } else {
      for (size_t i = 0; i < count; ++i) convert(e, src, i, a.data.data() + i * out_size, source);
    }
    return a;
  }
  // Fortran order: the first index varies fastest in the file. Walk the
  // output in C order with an odometer over the indices, tracking the
  // element's position in the file.
  const size_t rank = h.shape.size();
  std::vector<uint64_t> index(rank, 0), stride(rank);
  uint64_t s = 1;
  for (size_t k = 0; k < rank; ++k) stride[k] = s, s *= uint64_t(h.shape[k]);
  uint64_t at = 0;
  for (size_t i = 0; i < count; ++i) {
    convert(e, src, size_t(at), a.data.data() + i * out_size, source);
    for (size_t k = rank; k-- > 0;) {
      at += stride[k];
      if (++index[k] < uint64_t(h.shape[k])) break;
      at -= stride[k] * index[k];
      index[k] = 0;
    }
  }
  return a;
}

Array parse(const std::vector<uint8_t>& bytes, const std::string& source) {
  return parse(bytes.data(), bytes.size(), source);
}

Array read(const std::string& path, uint64_t max_bytes) {
  const files::Mapping file(path);
  if (file.size() > max_bytes)
    throw error(path, std::to_string(file.size()) + " bytes is more than the " + std::to_string(max_bytes) + " accepted");
  return parse(file.data(), file.size(), path);
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
  std::vector<uint8_t> bytes(10 + header.size() + count * 4);
  const uint16_t len = uint16_t(header.size());
  std::memcpy(bytes.data(), "\x93NUMPY\x01\x00", 8);
  bytes[8] = uint8_t(len & 0xff);
  bytes[9] = uint8_t(len >> 8);
  std::memcpy(bytes.data() + 10, header.data(), header.size());
  if (count) std::memcpy(bytes.data() + 10 + header.size(), data, count * 4);
  files::write_atomically(path, bytes.data(), bytes.size());
}

}  // namespace attn::npy
