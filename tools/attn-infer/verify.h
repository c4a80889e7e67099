// attn-infer --verify: runs the samples embedded by attn-convert
// --embed-sample and checks the outputs against the spec's tolerance.
#pragma once

#include <attn/attn.h>

#include <string>
#include <vector>

namespace attn::infer {

// One output of one sample. The spec's contract (docs/spec.md section 5):
// max |y - y_ref| <= tol = 1e-4 · max(1, max |y_ref|), and the same arg-max
// along the last axis wherever the reference's top-two margin exceeds 2·tol.
struct OutputCheck {
  size_t sample = 0, output = 0;
  double max_error = 0, tolerance = 0;
  size_t rows = 0, argmax_checked = 0, argmax_same = 0;
  bool passed = false;
};

struct VerifyReport {
  size_t samples = 0;
  std::vector<OutputCheck> checks;
  bool passed = false;  // every check passed (and there was at least one sample)
};

// Compares one output with its reference.
// `allowance` (the sample's, attn_model_sample_allowance) is added to the spec's tolerance.
OutputCheck compare_output(const float* got, const float* ref, size_t count, size_t classes, float allowance = 0);

// Runs every embedded sample on a session with `threads` threads. Throws
// Failure on an API error.
VerifyReport verify_model(attn_model* model, uint32_t threads);

}  // namespace attn::infer
