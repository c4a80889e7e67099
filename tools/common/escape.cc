#include "escape.h"

#include <cstdint>

namespace attn::text {

namespace {

void hex(std::string& out, uint8_t b) {
  static const char digits[] = "0123456789abcdef";
  out += "\\x";
  out += digits[b >> 4];
  out += digits[b & 15];
}

// Length of the valid UTF-8 sequence at s[i] (1-4), or 0 if it is not one.
// Overlong forms, surrogates and code points above U+10FFFF are invalid.
size_t utf8_length(const std::string& s, size_t i, uint32_t& code) {
  const uint8_t b = uint8_t(s[i]);
  size_t n;
  uint32_t min;
  if (b < 0x80) return code = b, 1;
  if ((b & 0xe0) == 0xc0) n = 2, code = b & 0x1f, min = 0x80;
  else if ((b & 0xf0) == 0xe0) n = 3, code = b & 0x0f, min = 0x800;
  else if ((b & 0xf8) == 0xf0) n = 4, code = b & 0x07, min = 0x10000;
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const uint8_t c = uint8_t(s[i + k]);
    if ((c & 0xc0) != 0x80) return 0;
    code = code << 6 | (c & 0x3f);
  }
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
  return n;
}

}  // namespace

std::string terminal_safe(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    uint32_t code = 0;
    const size_t n = utf8_length(s, i, code);
    if (n == 0) {
      hex(out, uint8_t(s[i]));
      ++i;
      continue;
    }
    const bool control = (code < 0x20 && code != '\n' && code != '\t') || code == 0x7f || (code >= 0x80 && code < 0xa0);
    if (control) {
      for (size_t k = 0; k < n; ++k) hex(out, uint8_t(s[i + k]));
    } else if (code == '\\') {
      out += "\\\\";
    } else {
      out.append(s, i, n);
    }
    i += n;
  }
  return out;
}

}  // namespace attn::text
