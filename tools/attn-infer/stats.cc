#include "stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "util.h"

namespace attn::infer {

double percentile_sorted(const std::vector<double>& s, double q) {
  if (s.empty()) return NAN;
  const double pos = q * double(s.size() - 1);
  const size_t lo = size_t(std::floor(pos)), hi = std::min(lo + 1, s.size() - 1);
  return s[lo] + (s[hi] - s[lo]) * (pos - double(lo));
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return percentile_sorted(values, 0.5);
}

Summary summarize(std::vector<double> v) {
  Summary s;
  s.count = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.p50 = percentile_sorted(v, 0.50);
  s.p90 = percentile_sorted(v, 0.90);
  s.p99 = percentile_sorted(v, 0.99);
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.stddev = v.size() > 1 ? std::sqrt(ss / double(v.size() - 1)) : 0.0;
  return s;
}

Interval bootstrap_median(const std::vector<double>& values, double confidence, int resamples, uint64_t seed) {
  Interval r;
  if (values.empty()) return {NAN, NAN, NAN};
  r.estimate = median(values);
  Rng rng(seed);
  std::vector<double> medians(size_t(std::max(resamples, 1))), pick(values.size());
  for (double& m : medians) {
    for (double& p : pick) p = values[rng.below(values.size())];
    m = median(pick);
  }
  std::sort(medians.begin(), medians.end());
  const double tail = (1.0 - confidence) / 2.0;
  r.low = percentile_sorted(medians, tail);
  r.high = percentile_sorted(medians, 1.0 - tail);
  return r;
}

}  // namespace attn::infer
