// libFuzzer target: see harness.h for what is checked.
#include <cstdio>
#include <cstdlib>

#include "harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string problem = attn::fuzz::check_model(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "fuzz_model_loader: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
