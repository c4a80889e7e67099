// attn-generate's terminal output: UTF-8 split across tokens, escapes of
// what could drive a terminal, and stop strings split across tokens.

#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "text_stream.h"

namespace {

// Feeds the chunks and returns what reached the "terminal".
std::string stream(const std::vector<std::string>& chunks, const std::vector<std::string>& stops = {},
                   std::vector<std::string>* after_each = nullptr) {
  char* buf = nullptr;
  size_t size = 0;
  FILE* f = open_memstream(&buf, &size);
  {
    TextStream s(f, stops);
    for (const std::string& c : chunks) {
      if (s.add(c)) break;
      std::fflush(f);
      if (after_each) after_each->push_back(std::string(buf, size));
    }
    s.finish();
  }
  std::fclose(f);
  std::string out(buf, size);
  std::free(buf);
  return out;
}

}  // namespace

TEST_CASE("a UTF-8 sequence split across tokens is printed whole, once complete") {
  std::vector<std::string> seen;
  // "é" = C3 A9, "😀" = F0 9F 98 80, split byte by byte.
  CHECK(stream({"caf", "\xC3", "\xA9 ", "\xF0", "\x9F\x98", "\x80!"}, {}, &seen) == "caf\xC3\xA9 \xF0\x9F\x98\x80!");
  CHECK(seen[1] == "caf");  // the lone lead byte waits
  CHECK(seen[2] == "caf\xC3\xA9 ");
  CHECK(seen[4] == "caf\xC3\xA9 ");
}

TEST_CASE("control characters, C1 controls and invalid UTF-8 are escaped; newline and tab are not") {
  CHECK(stream({"a\x1b[2Jb\x07\n\tc\x7f"}) == "a\\x1B[2Jb\\x07\n\tc\\x7F");
  CHECK(stream({"\xC2\x9B" "31m"}) == "\\xC2\\x9B31m");  // CSI as a C1 control
  CHECK(stream({"x\xFF\xC0\xAFy\xED\xA0\x80"}) == "x\\xFF\\xC0\\xAFy\\xED\\xA0\\x80");
  CHECK(stream({"end\xE2\x82"}) == "end\\xE2\\x82");  // unfinished at the end
  CHECK(terminal_safe("ok\x1b") == "ok\\x1B");
}

TEST_CASE("a stop string ends the text, also when it spans tokens, and is not printed") {
  CHECK(stream({"Hello", " wor", "ld. More"}, {"world"}) == "Hello ");
  CHECK(stream({"a", "b", "c"}, {"bc", "zz"}) == "a");
  CHECK(stream({"ab", "xc"}, {"bc"}) == "abxc");  // a partial match that fails is printed after all
}
