// Chooses the kernel path once, from the CPU's features.

#include <cpuinfo.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels.h"

namespace attn {
namespace {

std::vector<const Kernels*> detect() {
  // In order of preference, the best last.
  std::vector<const Kernels*> paths{&scalar_kernels()};
  if (!cpuinfo_initialize()) return paths;  // features unknown: stay portable
#if defined(__x86_64__)
  if (cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3()) paths.push_back(&avx2_kernels());
  if (cpuinfo_has_x86_avx512f()) paths.push_back(&avx512_kernels());
#endif
  return paths;
}

const std::vector<const Kernels*>& paths() {
  static const std::vector<const Kernels*> list = detect();
  return list;
}

const Kernels& select() {
  const auto& list = paths();
  if (const char* forced = std::getenv("ATTN_KERNEL_PATH")) {
    for (const Kernels* k : list)
      if (std::strcmp(k->path, forced) == 0) return *k;
  }
  return *list.back();
}

}  // namespace

const Kernels& kernels() {
  static const Kernels& chosen = select();
  return chosen;
}

const Kernels* const* available_kernel_paths(size_t* count) {
  *count = paths().size();
  return paths().data();
}

}  // namespace attn
