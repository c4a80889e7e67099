#include "text_stream.h"

#include <algorithm>

namespace {

void escape(std::string& out, unsigned char byte) {
  static const char hex[] = "0123456789ABCDEF";
  out += "\\x";
  out += hex[byte >> 4];
  out += hex[byte & 15];
}

// Length of the well-formed UTF-8 sequence at s[i], 0 if it is not one, or
// -1 if it may be one but s ends first.
int sequence_length(std::string_view s, size_t i) {
  const unsigned char b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  int n = (b0 >= 0xC2 && b0 <= 0xDF) ? 2 : (b0 >= 0xE0 && b0 <= 0xEF) ? 3 : (b0 >= 0xF0 && b0 <= 0xF4) ? 4 : 0;
  if (n == 0) return 0;
  for (int k = 1; k < n; ++k) {
    if (i + size_t(k) >= s.size()) return -1;
    const unsigned char b = static_cast<unsigned char>(s[i + size_t(k)]);
    // The second byte's range excludes overlong forms, surrogates and > U+10FFFF.
    const unsigned char lo = k > 1 ? 0x80 : b0 == 0xE0 ? 0xA0 : b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = k > 1 ? 0xBF : b0 == 0xED ? 0x9F : b0 == 0xF4 ? 0x8F : 0xBF;
    if (b < lo || b > hi) return 0;
  }
  return n;
}

// Appends the printable form of s[i, end) to out; returns where it stopped
// (before an unfinished sequence unless `final`).
size_t render(std::string_view s, size_t i, size_t end, bool final, std::string& out) {
  const std::string_view part = s.substr(0, end);
  while (i < end) {
    const unsigned char b = static_cast<unsigned char>(part[i]);
    const int n = sequence_length(part, i);
    if (n < 0 && !final) break;
    if (n <= 0) {
      escape(out, b);
      ++i;
    } else if (n == 1) {
      if ((b < 0x20 && b != '\n' && b != '\t') || b == 0x7F) escape(out, b);
      else out += char(b);
      ++i;
    } else if (n == 2 && b == 0xC2 && static_cast<unsigned char>(part[i + 1]) < 0xA0) {
      escape(out, b);  // a C1 control, U+0080 to U+009F
      escape(out, static_cast<unsigned char>(part[i + 1]));
      i += 2;
    } else {
      out.append(part.data() + i, size_t(n));
      i += size_t(n);
    }
  }
  return i;
}

}  // namespace

std::string terminal_safe(std::string_view bytes) {
  std::string out;
  render(bytes, 0, bytes.size(), true, out);
  return out;
}

bool TextStream::add(std::string_view bytes) {
  if (stopped_) return true;
  text_.append(bytes);
  for (const std::string& stop : stops_) {
    // Only the new bytes (and a stop's length before them) can hold a new match.
    const size_t from = text_.size() - bytes.size() >= stop.size() ? text_.size() - bytes.size() - stop.size() + 1 : 0;
    const size_t at = text_.find(stop, from);
    if (at != std::string::npos) {
      text_.resize(at);
      stopped_ = true;
    }
  }
  print_ready(stopped_ ? text_.size() : text_.size() - stop_holdback(), stopped_);
  return stopped_;
}

void TextStream::finish() { print_ready(text_.size(), true); }

// The longest end of the text that could begin a stop string: held back
// until the next bytes show whether the stop follows.
size_t TextStream::stop_holdback() const {
  size_t hold = 0;
  for (const std::string& stop : stops_)
    for (size_t k = std::min(stop.size() - 1, text_.size()); k > hold; --k)
      if (text_.compare(text_.size() - k, k, stop, 0, k) == 0) {
        hold = k;
        break;
      }
  return hold;
}

void TextStream::print_ready(size_t end, bool final) {
  if (end <= printed_) return;
  std::string out;
  printed_ = render(text_, printed_, end, final, out);
  std::fwrite(out.data(), 1, out.size(), out_);
  std::fflush(out_);
}
