// GPT-2's pre-tokenizer: splits text into the pieces that BPE then merges
// within. It implements the pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// by hand, in one linear pass with one code point of look-ahead, because the
// text is untrusted and a backtracking regex engine's cost is not bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace attn::text {

enum class CharClass { Letter, Number, Space, Other };

// The class of a code point (Unicode general category L*, N*, White_Space).
CharClass char_class(uint32_t code_point);

// The Unicode version of the tables.
const char* unicode_version();

struct Piece {
  size_t begin, end;  // byte offsets into the text
};

// Appends the pieces of `text` to `out`; they cover the text in order.
// Invalid UTF-8: each byte that does not start a well-formed sequence (overlong,
// surrogate, above U+10FFFF, truncated) is one code point of class Other, so it
// joins a run of symbols and reaches BPE as the raw byte it is.
void pretokenize(std::string_view text, std::vector<Piece>& out);

}  // namespace attn::text
