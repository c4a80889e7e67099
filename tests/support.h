// Shared test helpers: fixture files, crafted checkpoints, running a model
// through the public C API.
#pragma once

#include <attn/attn.h>

#include <string>
#include <vector>

#include "npy.h"
#include "graph.h"
#include "safetensors.h"
#include "spec_tolerance.h"

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
// Converts a fixture folder to .attnmodel bytes, its dense weights in `weights`.
std::vector<uint8_t> convert_fixture(const std::string& name, WeightType weights = WeightType::F32);

// Runs item `i` of `input` (float32, or int64 ids narrowed to int32) on a
// session and returns output 0.
std::vector<float> run_item(attn_session* session, const npy::Array& input, size_t i);

// Output 0 of a session that has run, whatever its shape.
std::vector<float> read_output(const attn_session* session);

// A model loaded from bytes and one session on it; released on destruction.
struct Loaded {
  attn_model* model = nullptr;
  attn_session* session = nullptr;
  explicit Loaded(const std::vector<uint8_t>& bytes, uint32_t threads = 1, uint32_t dense = ATTN_DENSE_AUTO);
  ~Loaded();
  // Runs item `i` of `input` and returns output 0.
  std::vector<float> run_item(const npy::Array& input, size_t i) { return test::run_item(session, input, i); }
};

// Hand-made graphs for the loader and hostile-input tests: a weight tensor
// of `shape` filled with `fill`, a value, and an op; each returns its index
// in the graph (op_of returns the op, wired to its values).
int add_tensor(convert::Graph& g, const std::string& name, std::vector<int64_t> shape, float fill = 0.25f);
int add_value(convert::Graph& g, const std::string& name, std::vector<int64_t> shape,
              attn_dtype dtype = ATTN_DTYPE_F32);
convert::GraphOp op_of(convert::Operator op, std::vector<int> inputs, int output);

// The spec's bound: max |y - ref| <= 1e-4 * max(1, max |ref|).
using attn::spec_tolerance;

}  // namespace attn::test
