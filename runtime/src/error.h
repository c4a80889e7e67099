// Internal error type. Library code throws attn::Error; the C API turns it
// into a status and a per-thread message, so nothing escapes to the caller.
#pragma once

#include <stdexcept>
#include <string>

#include "attn/attn.h"

namespace attn {

class Error : public std::runtime_error {
 public:
  Error(attn_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  attn_status status() const { return status_; }

 private:
  attn_status status_;
};

[[noreturn]] inline void fail(attn_status status, const std::string& message) {
  throw Error(status, message);
}

inline void check(bool ok, attn_status status, const std::string& message) {
  if (!ok) fail(status, message);
}

}  // namespace attn
