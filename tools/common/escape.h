// Text from a model file, checkpoint, config or error message that quotes
// one may hold terminal escape sequences. Tools pass such text through
// terminal_safe before printing it.
#pragma once

#include <string>

namespace attn::text {

// Valid UTF-8 without control characters unchanged; every control character
// (C0, DEL, C1) and every byte that is not part of valid UTF-8 as \xNN, and
// a backslash as \\ so the escaping cannot be forged. Newline and tab kept.
std::string terminal_safe(const std::string& s);

}  // namespace attn::text
