// A float64 evaluation of a converter Graph, written from docs/spec.md alone:
// plain loops in double precision, sharing no code with the runtime's float32
// kernels. The converter uses it to compute the expected outputs of embedded
// samples (attn-convert --embed-sample), and the tests check it against the
// fixtures' references, computed independently in PyTorch.
#pragma once

#include <cstdint>
#include <vector>

#include "graph.h"
#include "sample.h"

namespace attn::convert {

struct ReferenceTensor {
  std::vector<int64_t> shape;  // no -1: the run's own sequence length
  std::vector<double> data;
};

// Runs one item: `inputs` holds one tensor per graph input, in order (F32
// values in f32, token ids in i32), with the item's own shape. Returns one
// tensor per graph output. Throws InputError when an input does not fit the
// graph (shape, dtype, a token id outside the vocabulary, a text made only of
// padding).
// `tie_shift` moves the rounding point of q8 and q4 layers' activations by
// that many steps (0: the format's rounding).
std::vector<ReferenceTensor> run_reference(const Graph& graph, const std::vector<SampleTensorData>& inputs,
                                           double tie_shift = 0.0);

// The same checks of the inputs without the evaluation (cheap for any model),
// and the shapes of the outputs they give.
std::vector<std::vector<int64_t>> reference_output_shapes(const Graph& graph,
                                                          const std::vector<SampleTensorData>& inputs);

}  // namespace attn::convert
