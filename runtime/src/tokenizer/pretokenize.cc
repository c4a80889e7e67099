#include "tokenizer/pretokenize.h"

#include <algorithm>

namespace attn::text {
namespace {

struct CodeRange {
  uint32_t first, last;
};

#include "tokenizer/unicode_tables.inc"

template <size_t N>
bool in(const CodeRange (&table)[N], uint32_t cp) {
  const CodeRange* it = std::upper_bound(table, table + N, cp, [](uint32_t c, const CodeRange& r) { return c < r.first; });
  return it != table && cp <= (it - 1)->last;
}

struct CodePoint {
  uint32_t value;  // 0xFFFFFFFF for a byte that is not valid UTF-8
  size_t length;   // bytes
};

// Decodes one code point at text[i]; a malformed sequence yields its first byte alone.
CodePoint decode(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) return {b0, 1};
  size_t n = 0;
  uint32_t cp = 0, min = 0;
  if ((b0 & 0xE0) == 0xC0) n = 2, cp = b0 & 0x1F, min = 0x80;
  else if ((b0 & 0xF0) == 0xE0) n = 3, cp = b0 & 0x0F, min = 0x800;
  else if ((b0 & 0xF8) == 0xF0) n = 4, cp = b0 & 0x07, min = 0x10000;
  else return {0xFFFFFFFF, 1};
  if (text.size() - i < n) return {0xFFFFFFFF, 1};
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return {0xFFFFFFFF, 1};
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0xFFFFFFFF, 1};
  return {cp, n};
}

// The contraction suffixes after an apostrophe, longest first within each start.
size_t contraction(std::string_view text, size_t i) {
  if (text[i] != '\'' || i + 1 >= text.size()) return 0;
  const std::string_view rest = text.substr(i + 1, 2);
  for (std::string_view s : {"re", "ve", "ll"})
    if (rest == s) return 3;
  const char c = text[i + 1];
  return (c == 's' || c == 't' || c == 'm' || c == 'd') ? 2 : 0;
}

}  // namespace

CharClass char_class(uint32_t cp) {
  if (cp == 0xFFFFFFFF) return CharClass::Other;
  if (in(kLetterRanges, cp)) return CharClass::Letter;
  if (in(kNumberRanges, cp)) return CharClass::Number;
  if (in(kWhiteSpaceRanges, cp)) return CharClass::Space;
  return CharClass::Other;
}

const char* unicode_version() { return kUnicodeVersion; }

void pretokenize(std::string_view text, std::vector<Piece>& out) {
  // Classes of the code points, decoded once: every step below looks at most
  // one code point ahead, so the whole pass is linear in the text.
  struct Unit {
    size_t begin;
    CharClass cls;
    bool is_space_char;  // U+0020, the only space the " ?" prefixes take
  };
  std::vector<Unit> units;
  for (size_t i = 0; i < text.size();) {
    const CodePoint cp = decode(text, i);
    units.push_back({i, char_class(cp.value), cp.value == 0x20});
    i += cp.length;
  }
  const size_t n = units.size();
  const auto at = [&](size_t u) { return u < n ? units[u].begin : text.size(); };
  const auto run_end = [&](size_t u, CharClass cls) {
    while (u < n && units[u].cls == cls) ++u;
    return u;
  };
  for (size_t u = 0; u < n;) {
    const size_t start = u;
    if (size_t len = contraction(text, units[u].begin)) {
      // An apostrophe and ASCII letters: one unit per byte.
      u += len;
    } else if (units[u].is_space_char && u + 1 < n && units[u + 1].cls != CharClass::Space) {
      u = run_end(u + 1, units[u + 1].cls);  // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+"
    } else if (units[u].cls != CharClass::Space) {
      u = run_end(u, units[u].cls);
    } else {
      const size_t end = run_end(u, CharClass::Space);
      // "\s+(?!\S)": all of the run at the end of the text, else all but its
      // last space, which then prefixes the next piece; "\s+" for a lone space.
      u = (end == n || end - u == 1) ? end : end - 1;
    }
    out.push_back({at(start), at(u)});
  }
}

}  // namespace attn::text
