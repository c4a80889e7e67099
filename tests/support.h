// Shared test helpers: fixture files, crafted checkpoints, running a model
// through the public C API.
#pragma once

#include <attn/attn.h>

#include <string>
#include <vector>

#include "npy.h"
#include "safetensors.h"

// ATTN_SANITIZED: built with ASan or TSan, whose allocator replaces malloc.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ATTN_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ATTN_SANITIZED 1
#endif

namespace attn::test {

std::string fixture_dir(const std::string& name);
std::vector<std::string> fixture_names();  // every folder under the fixtures
std::string read_text(const std::string& path);

// A fixture's checkpoint parsed into tensors, to be altered by a test.
convert::TensorMap fixture_tensors(const std::string& name);
std::vector<uint8_t> to_safetensors(const convert::TensorMap& tensors);

// Converts a fixture folder (or altered parts of one) to .attnmodel bytes.
std::vector<uint8_t> convert_fixture(const std::string& name);

// A model loaded from bytes and one session on it; released on destruction.
struct Loaded {
  attn_model* model = nullptr;
  attn_session* session = nullptr;
  explicit Loaded(const std::vector<uint8_t>& bytes, uint32_t threads = 1);
  ~Loaded();
  // Runs item `i` of `input` and returns output 0.
  std::vector<float> run_item(const npy::Array& input, size_t i);
};

// The spec's bound: max |y - ref| <= 1e-4 * max(1, max |ref|).
double spec_tolerance(const float* ref, size_t count);

}  // namespace attn::test
