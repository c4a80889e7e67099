// The tools' one error type: a message for the user, and whether it is a
// usage mistake or a failure of the work. cli::run maps it (and any other
// exception) to the exit code, once for every tool.
#pragma once

#include <stdexcept>
#include <string>

namespace attn::cli {

class Failure : public std::runtime_error {
 public:
  enum class Kind {
    Work,   // the work failed: exit 1, "TOOL: error: MESSAGE"
    Usage,  // a usage mistake found after parsing: exit 2, with a hint to --help
  };
  explicit Failure(const std::string& message, Kind kind = Kind::Work) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// E.g. two flags that exclude each other.
inline Failure usage_error(const std::string& message) { return Failure(message, Failure::Kind::Usage); }

}  // namespace attn::cli
