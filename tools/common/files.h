// Opening untrusted paths and writing output files safely.
//
// Reading: a path must name a regular file. It is opened non-blocking first,
// so that a FIFO or a device cannot block the open itself, and checked with
// fstat before anything is read.
//
// Writing: output goes to a temporary file created next to the target with
// O_CREAT|O_EXCL|O_NOFOLLOW (a planted file or symlink is never followed or
// reused), is fsynced and then renamed over the target, so the target is
// either the old file or the complete new one. A SIGINT or SIGTERM while the
// temporary file exists removes it before the process dies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "failure.h"

namespace attn::files {

// Every failure is a cli::Failure whose message names the path.

// An open read-only descriptor of a regular file, in blocking mode.
int open_regular(const std::string& path);

// The whole file; refuses files larger than max_bytes.
std::vector<uint8_t> read_regular(const std::string& path, uint64_t max_bytes);

// A read-only private mapping of a whole regular file (empty files allowed).
class Mapping {
 public:
  explicit Mapping(const std::string& path);
  ~Mapping();
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Writes `path` atomically (see above).
void write_atomically(const std::string& path, const void* data, size_t size);

}  // namespace attn::files
