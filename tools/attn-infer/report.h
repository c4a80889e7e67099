// attn-infer's reports: a readable table, JSON, CSV or Markdown.
#pragma once

#include <string>

#include "bench.h"

namespace attn::infer {

enum class Format { Table, Json, Csv, Markdown };

std::string format_bench(const BenchReport& report, Format format);
std::string format_compare(const CompareReport& report, Format format);

}  // namespace attn::infer
