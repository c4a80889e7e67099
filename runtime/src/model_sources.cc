// Model bytes without a copy: the caller's buffer in place, or a range of an
// open file (an asset inside an Android APK, a model appended to a binary).
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <string>

#include "error.h"
#include "model.h"

namespace attn {

std::unique_ptr<ModelBytes> ModelBytes::borrow(const void* data, size_t size) {
  if (size == 0) fail(ATTN_ERROR_INVALID_MODEL, "the model buffer is empty");
  if (reinterpret_cast<uintptr_t>(data) % kDataAlignment != 0)
    fail(ATTN_ERROR_INVALID_ARGUMENT, "a model used in place must start at a " + std::to_string(kDataAlignment) +
                                          "-byte aligned address (its weights are read with aligned loads); "
                                          "this one is not: load it without ATTN_LOAD_NO_COPY to copy it");
  std::unique_ptr<ModelBytes> bytes(new ModelBytes());
  bytes->data_ = static_cast<const uint8_t*>(data);
  bytes->size_ = size;
  bytes->owned_ = false;
  return bytes;
}

std::unique_ptr<ModelBytes> ModelBytes::map_fd(int fd, uint64_t offset, uint64_t length) {
  if (fd < 0) fail(ATTN_ERROR_INVALID_ARGUMENT, "fd " + std::to_string(fd) + " is not a file descriptor");
  if (length == 0) fail(ATTN_ERROR_INVALID_MODEL, "the model's length is 0");
  if (offset % kDataAlignment != 0)
    fail(ATTN_ERROR_INVALID_ARGUMENT, "offset " + std::to_string(offset) + " is not a multiple of " +
                                          std::to_string(kDataAlignment) +
                                          " (the weights must stay aligned; zipalign -p aligns APK assets to pages)");
  struct stat st;
  if (fstat(fd, &st) != 0) fail(ATTN_ERROR_IO, std::string("cannot stat fd: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(ATTN_ERROR_IO, "fd " + std::to_string(fd) + " is not a regular file");
  const uint64_t file_size = uint64_t(st.st_size);
  if (offset > file_size || length > file_size - offset)
    fail(ATTN_ERROR_INVALID_ARGUMENT, "bytes " + std::to_string(offset) + ".." + std::to_string(offset + length) +
                                          " are past the end of the file (" + std::to_string(file_size) + " bytes)");
  const long page = sysconf(_SC_PAGESIZE);
  const uint64_t start = page > 0 ? offset / uint64_t(page) * uint64_t(page) : 0;
  const uint64_t span = offset - start + length;
  if (span > std::numeric_limits<size_t>::max() || uint64_t(off_t(start)) != start)
    fail(ATTN_ERROR_INVALID_ARGUMENT, "the model's range does not fit in the address space");
  void* p = mmap(nullptr, size_t(span), PROT_READ, MAP_PRIVATE, fd, off_t(start));
  if (p == MAP_FAILED) fail(ATTN_ERROR_IO, std::string("cannot map the model's range: ") + std::strerror(errno));
  std::unique_ptr<ModelBytes> bytes(new ModelBytes());
  bytes->map_offset_ = size_t(offset - start);
  bytes->data_ = static_cast<const uint8_t*>(p) + bytes->map_offset_;
  bytes->size_ = size_t(length);
  bytes->mapped_ = true;
  return bytes;
}

}  // namespace attn
