// Latency statistics: order statistics, and a bootstrap confidence interval.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace attn::infer {

struct Summary {
  size_t count = 0;
  double min = 0, p50 = 0, p90 = 0, p99 = 0, mean = 0, stddev = 0;  // stddev: sample (n - 1)
};

// Percentiles interpolate linearly between order statistics (NumPy's default).
double percentile_sorted(const std::vector<double>& sorted, double q);  // q in [0, 1]
double median(std::vector<double> values);
Summary summarize(std::vector<double> values);

struct Interval {
  double estimate = 0, low = 0, high = 0;
};

// The median of `values` with a percentile-bootstrap confidence interval
// (`resamples` resamples with replacement, seeded).
Interval bootstrap_median(const std::vector<double>& values, double confidence, int resamples, uint64_t seed);

}  // namespace attn::infer
