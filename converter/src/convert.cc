#include "convert.h"

#include "error.h"
#include "model.h"

#include <algorithm>
#include <cmath>

#include "random_init.h"
#include "reference.h"
#include "safetensors.h"
#include "sha256.h"
#include "tokenizer_import.h"
#include "writer.h"
#include "shape_text.h"

namespace attn::convert {

namespace {

ConvertResult convert_tensors(const std::string& config_text, ModelConfig config, TensorMap tensors,
                              const std::string& source, const BuildOptions& options, const SampleRequest* samples) {
  ConvertResult result;
  result.config = std::move(config);
  for (const auto& [name, t] : tensors) result.total_params += int64_t(t.data.size());
  Graph graph = build_graph(result.config, tensors, options);
  tensors.clear();
  encode_weights(graph, options.weights);
  result.attention = attention_params(result.config, graph);
  std::vector<SampleData> embedded;
  if (samples) embedded = make_samples(graph, *samples);
  result.samples = embedded.size();
  if (options.tokenizer && int64_t(options.tokenizer->tokens.size()) > result.config.vocab_size)
    throw InputError("the tokenizer has " + std::to_string(options.tokenizer->tokens.size()) +
                     " tokens, more than the model's vocab_size of " + std::to_string(result.config.vocab_size));
  ModelMetadata md{config_text, source, options.tokenizer};
  result.file = serialize_model(result.config, graph, md, embedded);
  // The runtime's loader is the one judge of what a model may hold
  // (model_limits.h): a file it would refuse is never written. (A copy: the
  // loader takes bytes in place only at a 64-byte aligned address.)
  try {
    load_model(ModelBytes::copy(result.file.data(), result.file.size()));
  } catch (const Error& e) {
    throw InputError(std::string("the converted model would not load: ") + e.what());
  }
  return result;
}

}  // namespace

ConvertResult convert(const std::vector<uint8_t>& checkpoint, const std::string& checkpoint_name,
                      const std::string& config_text, const std::string& config_name, const BuildOptions& options,
                      const SampleRequest* samples) {
  return convert(checkpoint.data(), checkpoint.size(), checkpoint_name, config_text, config_name, options, samples);
}

ConvertResult convert(const uint8_t* checkpoint, size_t checkpoint_size, const std::string& checkpoint_name,
                      const std::string& config_text, const std::string& config_name, const BuildOptions& options,
                      const SampleRequest* samples) {
  ModelConfig config = parse_config(config_text, config_name);
  TensorMap tensors = read_safetensors(checkpoint, checkpoint_size, checkpoint_name);
  return convert_tensors(config_text, std::move(config), std::move(tensors), sha256_hex(checkpoint, checkpoint_size),
                         options, samples);
}

ConvertResult convert_random(const std::string& config_text, const std::string& config_name, uint64_t seed,
                             const BuildOptions& options, const SampleRequest* samples) {
  ModelConfig config = parse_config(config_text, config_name);
  TensorMap tensors = random_checkpoint(config, seed);
  return convert_tensors(config_text, std::move(config), std::move(tensors), "random-init seed " + std::to_string(seed),
                         options, samples);
}

namespace {

// How far, in steps, a runtime's value of a q8, q4 or q8c layer's activation x/s
// (|x/s| ≤ 127) may lie from the float64 reference's: its activations
// differ from the reference's by a relative error ρ, about 1e-6 in float32
// (the spec allows 1e-4 of an output's scale), so by 127·ρ steps. 2^-7 steps
// covers ρ up to 6e-5.
constexpr double kTieShift = 1.0 / 128;

bool rounds_activations(const Graph& graph) {
  for (const GraphTensor& t : graph.tensors)
    if (traits_of(t.format).scaled()) return true;
  return false;
}

// A value that lies within kTieShift of a half step may round either way in
// a runtime. The reference is evaluated again with the rounding point moved
// up and down by kTieShift, which rounds every such value the other way; an
// output's allowance is the sum of the two passes' largest changes. It is an
// estimate, not a bound: it covers a runtime that rounds some of those values
// the other way when their effects on an output do not cancel within a pass
// (docs/spec-choices.md, "Quantized weights").
void set_rounding_allowance(const Graph& graph, const std::vector<SampleTensorData>& inputs,
                            const std::vector<ReferenceTensor>& expected, std::vector<SampleTensorData>& outputs) {
  for (double shift : {kTieShift, -kTieShift}) {
    const std::vector<ReferenceTensor> moved = run_reference(graph, inputs, shift);
    for (size_t o = 0; o < outputs.size(); ++o) {
      double change = 0;
      for (size_t i = 0; i < moved[o].data.size(); ++i)
        change = std::max(change, std::fabs(moved[o].data[i] - expected[o].data[i]));
      outputs[o].rounding_allowance += float(change);
    }
  }
}

}  // namespace

std::vector<SampleData> make_samples(const Graph& graph, const SampleRequest& request) {
  if (!request.expected.empty() && request.expected.size() != request.inputs.size())
    throw InputError(request.expected_name + ": holds " + std::to_string(request.expected.size()) +
                     " expected outputs for " + std::to_string(request.inputs.size()) + " inputs");
  std::vector<SampleData> out;
  for (size_t k = 0; k < request.inputs.size(); ++k) {
    const std::string item = "item " + std::to_string(k);
    SampleData s;
    s.inputs = request.inputs[k];
    std::vector<ReferenceTensor> ref;
    std::vector<std::vector<int64_t>> shapes;
    try {
      if (request.expected.empty()) ref = run_reference(graph, s.inputs);
      else shapes = reference_output_shapes(graph, s.inputs);
    } catch (const InputError& e) {
      throw InputError(request.inputs_name + ": " + item + ": " + e.what());
    }
    if (request.expected.empty()) {
      for (const ReferenceTensor& r : ref) {
        SampleTensorData t{r.shape, std::vector<float>(r.data.begin(), r.data.end()), {}};
        for (float v : t.f32)
          if (!std::isfinite(v))
            throw InputError(request.inputs_name + ": " + item + ": the reference output is not finite");
        s.outputs.push_back(std::move(t));
      }
      if (rounds_activations(graph)) set_rounding_allowance(graph, s.inputs, ref, s.outputs);
    } else {
      s.outputs = request.expected[k];
      if (s.outputs.size() != shapes.size())
        throw InputError(request.expected_name + ": " + item + ": has " + std::to_string(s.outputs.size()) +
                         " outputs, the model gives " + std::to_string(shapes.size()));
      for (size_t o = 0; o < shapes.size(); ++o) {
        if (s.outputs[o].shape != shapes[o])
          throw InputError(request.expected_name + ": " + item + ": has shape " + shape_text(s.outputs[o].shape) +
                           ", the model's output for this input is " + shape_text(shapes[o]));
        size_t count = 1;
        for (int64_t d : shapes[o]) count *= size_t(d);
        if (s.outputs[o].f32.size() != count)
          throw InputError(request.expected_name + ": " + item + ": the expected outputs must be float32");
        for (float v : s.outputs[o].f32)
          if (!std::isfinite(v)) throw InputError(request.expected_name + ": " + item + ": holds a value that is not finite");
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace attn::convert
