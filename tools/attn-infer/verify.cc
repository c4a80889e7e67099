#include "verify.h"

#include <algorithm>
#include <cmath>

#include "spec_tolerance.h"
#include "util.h"

namespace attn::infer {

OutputCheck compare_output(const float* got, const float* ref, size_t count, size_t classes, float allowance) {
  OutputCheck c;
  c.tolerance = spec_tolerance(ref, count) + double(allowance);
  bool finite = true;
  for (size_t i = 0; i < count; ++i) {
    const double e = std::fabs(double(got[i]) - double(ref[i]));
    if (!std::isfinite(e)) finite = false;
    else c.max_error = std::max(c.max_error, e);
  }
  if (!finite) c.max_error = INFINITY;
  classes = std::max<size_t>(classes, 1);
  c.rows = count / classes;
  for (size_t row = 0; row < c.rows; ++row) {
    const float* r = ref + row * classes;
    const float* g = got + row * classes;
    const size_t best = size_t(std::max_element(r, r + classes) - r);
    double second = -INFINITY;
    for (size_t k = 0; k < classes; ++k)
      if (k != best) second = std::max(second, double(r[k]));
    if (!(double(r[best]) - second > 2 * c.tolerance)) continue;
    ++c.argmax_checked;
    if (size_t(std::max_element(g, g + classes) - g) == best) ++c.argmax_same;
  }
  c.passed = c.max_error <= c.tolerance && c.argmax_same == c.argmax_checked;
  return c;
}

VerifyReport verify_model(attn_model* model, uint32_t threads) {
  VerifyReport report;
  check(attn_model_sample_count(model, &report.samples), "samples");
  if (report.samples == 0) return report;
  size_t inputs = 0, outputs = 0;
  check(attn_model_input_count(model, &inputs), "inputs");
  check(attn_model_output_count(model, &outputs), "outputs");
  const attn_session_options o = session_options(threads);
  SessionHandle s;
  check(attn_session_create(model, &o, &s.session), "preparing the session");
  std::vector<float> got;
  for (size_t k = 0; k < report.samples; ++k) {
    const std::string what = "sample " + std::to_string(k);
    for (size_t i = 0; i < inputs; ++i) {
      attn_tensor_info info;
      const void* data = nullptr;
      check(attn_model_sample_input(model, k, i, &info, &data), what);
      size_t count = 1;
      for (size_t d = 0; d < info.rank; ++d) count *= size_t(info.shape[d]);
      check(attn_session_set_input(s.session, i, data, count * 4, info.shape, info.rank), what + ": setting input");
    }
    check(attn_session_run(s.session), what + ": run");
    for (size_t i = 0; i < outputs; ++i) {
      attn_tensor_info want, have;
      const void* ref = nullptr;
      check(attn_model_sample_output(model, k, i, &want, &ref), what);
      check(attn_session_output_info(s.session, i, &have), what + ": output info");
      size_t count = 1;
      for (size_t d = 0; d < want.rank; ++d) count *= size_t(want.shape[d]);
      if (have.rank != want.rank || !std::equal(want.shape, want.shape + want.rank, have.shape))
        throw Failure{what + ": output " + std::to_string(i) + " has shape " + shape_text(have.shape, have.rank) +
                      ", the sample's is " + shape_text(want.shape, want.rank)};
      got.resize(count);
      check(attn_session_get_output(s.session, i, got.data(), count * 4), what + ": reading output");
      const size_t classes = want.rank ? size_t(want.shape[want.rank - 1]) : 1;
      float allowance = 0;
      check(attn_model_sample_allowance(model, k, i, &allowance), what);
      OutputCheck c = compare_output(got.data(), static_cast<const float*>(ref), count, classes, allowance);
      c.sample = k;
      c.output = i;
      report.checks.push_back(c);
    }
  }
  report.passed = std::all_of(report.checks.begin(), report.checks.end(), [](const OutputCheck& c) { return c.passed; });
  return report;
}

}  // namespace attn::infer
