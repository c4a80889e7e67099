// Every fixture (each family × variant, fused and split, the Hugging Face
// GPT-2 and timm ViT files) converted and run, against its float64 reference.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "kernels/kernels.h"
#include "support.h"
#include "verify.h"
#include "writer.h"

using namespace attn;

namespace {

// Checks one output row block against the reference with attn-infer
// --verify's check: the spec's tolerance, and the same arg-max wherever the
// reference's top-two margin exceeds 2·tol.
void check_close(const std::vector<float>& got, const float* ref, size_t classes, const std::string& where) {
  const infer::OutputCheck c = infer::compare_output(got.data(), ref, got.size(), classes);
  CHECK_MESSAGE(c.max_error <= c.tolerance, where << ": max error " << c.max_error << " > tolerance " << c.tolerance);
  CHECK_MESSAGE(c.argmax_same == c.argmax_checked, where << ": the arg-max differs from the reference's in "
                                                         << c.argmax_checked - c.argmax_same << " of "
                                                         << c.argmax_checked << " rows");
}

void check_fixture(const std::string& name, uint32_t threads) {
  const std::string dir = test::fixture_dir(name);
  const npy::Array input = npy::read(dir + "/inputs.npy");
  const npy::Array expected = npy::read(dir + "/expected.npy");
  REQUIRE(expected.dtype == npy::DType::F32);
  test::Loaded loaded(test::convert_fixture(name), threads);
  const size_t items = size_t(input.shape[0]);
  const size_t per_item = expected.count() / items;
  const size_t classes = size_t(expected.shape.back());
  const float* ref = reinterpret_cast<const float*>(expected.data.data());
  for (size_t i = 0; i < items; ++i) {
    std::vector<float> out = loaded.run_item(input, i);
    REQUIRE_MESSAGE(out.size() == per_item, name << ": output has " << out.size() << " values, expected " << per_item);
    check_close(out, ref + i * per_item, classes, name + " item " + std::to_string(i));
  }
}

}  // namespace

TEST_CASE("every fixture matches its float64 reference within the spec's tolerance") {
  const auto names = test::fixture_names();
  REQUIRE(names.size() >= 14);
  for (const std::string& name : names) {
    SUBCASE(name.c_str()) { check_fixture(name, 1); }
  }
}

TEST_CASE("the kernel path forced by ATTN_KERNEL_PATH is the one in use") {
  const char* forced = std::getenv("ATTN_KERNEL_PATH");
  MESSAGE("kernel path in use: " << std::string(attn_kernel_path()));
  if (!forced) return;
  size_t count = 0;
  const Kernels* const* paths = available_kernel_paths(&count);
  bool available = false;
  for (size_t i = 0; i < count; ++i) available |= std::string(paths[i]->path) == forced;
  if (available) CHECK(std::string(attn_kernel_path()) == forced);
  else MESSAGE("this CPU has no " << forced << " path");
}

TEST_CASE("results do not depend on the thread count") {
  for (const char* name : {"vit-standard-fused", "gpt-super", "text-standard-fused-pad"}) {
    SUBCASE(name) { check_fixture(name, 2); }
  }
}

TEST_CASE("the fixtures cover every family and variant") {
  int seen[3][4] = {};
  const char* families[] = {"vit", "text", "gpt"};
  const char* variants[] = {"standard", "optimized", "efficient", "super"};
  for (const std::string& name : test::fixture_names()) {
    attn_model* model = nullptr;
    const auto bytes = test::convert_fixture(name);
    REQUIRE(attn_model_load_memory(bytes.data(), bytes.size(), &model) == ATTN_OK);
    const char *family, *attention;
    REQUIRE(attn_model_metadata(model, "family", &family) == ATTN_OK);
    REQUIRE(attn_model_metadata(model, "attention", &attention) == ATTN_OK);
    for (int f = 0; f < 3; ++f)
      for (int v = 0; v < 4; ++v)
        if (std::string(family) == families[f] && std::string(attention) == variants[v]) ++seen[f][v];
    attn_model_release(model);
  }
  for (int f = 0; f < 3; ++f)
    for (int v = 0; v < 4; ++v) CHECK_MESSAGE(seen[f][v] > 0, "no fixture for " << families[f] << " " << variants[v]);
}

TEST_CASE("a model loads from a mapped file as from memory") {
  const auto bytes = test::convert_fixture("hf-gpt2-tiny");
  const std::string path = std::string(ATTN_TEST_OUTPUT_DIR) + "/hf-gpt2-tiny.attnmodel";
  convert::write_file_atomically(path, bytes);
  attn_model* model = nullptr;
  REQUIRE_MESSAGE(attn_model_load_file(path.c_str(), &model) == ATTN_OK, attn_last_error_message());
  const char* sha;
  REQUIRE(attn_model_metadata(model, "source_sha256", &sha) == ATTN_OK);
  CHECK(std::string(sha).size() == 64);
  int64_t max_tokens = 0;
  CHECK(attn_model_max_tokens(model, &max_tokens) == ATTN_OK);
  CHECK(max_tokens == 32);
  attn_model_release(model);
  std::remove(path.c_str());
}
