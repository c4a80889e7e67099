// The converter's float64 reference (converter/src/reference.cc) against every
// fixture's expected.npy, which PyTorch computed in float64 on its own: they
// agree to float32 rounding, so the expected outputs attn-convert embeds with
// --embed-sample can be trusted.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "builder.h"
#include "config.h"
#include "reference.h"
#include "sample_items.h"
#include "support.h"

using namespace attn;

namespace {

convert::Graph fixture_graph(const std::string& name) {
  const std::string dir = test::fixture_dir(name);
  const convert::ModelConfig config = convert::parse_config(test::read_text(dir + "/config.json"), "config.json");
  convert::TensorMap tensors = test::fixture_tensors(name);
  return convert::build_graph(config, tensors, {});
}

// Item `i` of a fixture's inputs as a sample tensor.
convert::SampleTensorData item(const npy::Array& a, size_t i) {
  return convert::sample_items(a, i + 1, "inputs.npy")[i][0];
}

}  // namespace

TEST_CASE("the float64 reference reproduces every fixture's expected outputs") {
  const auto names = test::fixture_names();
  REQUIRE(names.size() >= 14);
  for (const std::string& name : names) {
    SUBCASE(name.c_str()) {
      const std::string dir = test::fixture_dir(name);
      const npy::Array input = npy::read(dir + "/inputs.npy");
      const npy::Array expected = npy::read(dir + "/expected.npy");
      const convert::Graph graph = fixture_graph(name);
      const size_t items = size_t(input.shape[0]);
      const size_t per_item = expected.count() / items;
      const float* ref = reinterpret_cast<const float*>(expected.data.data());
      for (size_t i = 0; i < items; ++i) {
        const auto out = convert::run_reference(graph, {item(input, i)});
        REQUIRE(out.size() == 1);
        REQUIRE(out[0].data.size() == per_item);
        // The shape has no -1 and matches the fixture's item shape.
        CHECK(std::vector<int64_t>(expected.shape.begin() + 1, expected.shape.end()) == out[0].shape);
        double scale = 1, worst = 0;
        for (size_t k = 0; k < per_item; ++k) scale = std::max(scale, std::fabs(double(ref[i * per_item + k])));
        for (size_t k = 0; k < per_item; ++k) worst = std::max(worst, std::fabs(out[0].data[k] - ref[i * per_item + k]));
        // expected.npy holds float32: its own rounding is ~6e-8 relative.
        CHECK_MESSAGE(worst <= 1e-6 * scale, name << " item " << i << ": max error " << worst << " (scale " << scale
                                                  << ")");
        // The cheap check gives the same output shapes.
        CHECK(convert::reference_output_shapes(graph, {item(input, i)}) ==
              std::vector<std::vector<int64_t>>{out[0].shape});
      }
    }
  }
}

TEST_CASE("the reference refuses inputs that do not fit the model") {
  SUBCASE("token ids outside the vocabulary") {
    const convert::Graph g = fixture_graph("gpt-super");
    convert::SampleTensorData t{{3}, {}, {1, 2, 100000}};
    CHECK_THROWS_WITH_AS(convert::run_reference(g, {t}), doctest::Contains("token id 100000"), convert::InputError);
    CHECK_THROWS_AS(convert::reference_output_shapes(g, {t}), convert::InputError);
  }
  SUBCASE("more tokens than the context") {
    const convert::Graph g = fixture_graph("gpt-super");
    convert::SampleTensorData t{{g.max_tokens + 1}, {}, std::vector<int32_t>(size_t(g.max_tokens + 1), 1)};
    CHECK_THROWS_AS(convert::run_reference(g, {t}), convert::InputError);
  }
  SUBCASE("a text made only of padding") {
    const convert::Graph g = fixture_graph("text-standard-fused-pad");  // pad_id 0
    const int64_t L = g.max_tokens;
    convert::SampleTensorData t{{L}, {}, std::vector<int32_t>(size_t(L), 0)};
    CHECK_THROWS_WITH_AS(convert::run_reference(g, {t}), doctest::Contains("padding"), convert::InputError);
    CHECK_THROWS_WITH_AS(convert::reference_output_shapes(g, {t}), doctest::Contains("padding"), convert::InputError);
  }
  SUBCASE("floats for token ids, and a wrong image shape") {
    const convert::Graph text = fixture_graph("text-super-postnorm");
    convert::SampleTensorData floats{{text.max_tokens}, std::vector<float>(size_t(text.max_tokens), 1.0f), {}};
    CHECK_THROWS_WITH_AS(convert::run_reference(text, {floats}), doctest::Contains("int32"), convert::InputError);
    const convert::Graph vit = fixture_graph("vit-super-mean");
    convert::SampleTensorData image{{1, 2, 3}, std::vector<float>(6, 0.0f), {}};
    CHECK_THROWS_WITH_AS(convert::run_reference(vit, {image}), doctest::Contains("has shape [1, 2, 3]"),
                         convert::InputError);
  }
}
