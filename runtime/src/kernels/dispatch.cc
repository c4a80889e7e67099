// Chooses the kernel path once, from the CPU's features.

#include <cpuinfo.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../error.h"
#include "kernels.h"

#if defined(__aarch64__)
#if defined(__linux__)  // Linux and Android
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#endif
namespace attn {
const Kernels& neon_kernels();  // f32_neon.cc
namespace {
// Advanced SIMD is part of the base AArch64 instruction set (and of every
// Apple arm64 CPU); Linux still reports it in AT_HWCAP. That is read here
// directly, so the choice does not rest on cpuinfo, which also parses
// /proc/cpuinfo (under qemu-user, the host's x86 text).
bool aarch64_has_neon() {
#if defined(__linux__)
  return (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0;
#else
  return true;
#endif
}
}  // namespace
}  // namespace attn
#endif

namespace attn {
namespace {

std::vector<const Kernels*> detect() {
  // In order of preference, the best last.
  std::vector<const Kernels*> paths{&scalar_kernels()};
#if defined(__aarch64__)
  if (aarch64_has_neon()) paths.push_back(&neon_kernels());
#endif
  if (!cpuinfo_initialize()) return paths;  // features unknown: stay portable
#if defined(__x86_64__) && defined(ATTN_HAVE_AVX2)  // CMake's ATTN_KERNEL_AVX2
  if (cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3()) paths.push_back(&avx2_kernels());
#endif
#if defined(__x86_64__) && defined(ATTN_HAVE_AVX512)  // CMake's ATTN_KERNEL_AVX512
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

const Kernels& kernels_by_name(const char* name) {
  if (!name) return kernels();
  std::string names;
  for (const Kernels* k : paths()) {
    if (std::strcmp(k->path, name) == 0) return *k;
    names += (names.empty() ? "" : ", ") + std::string(k->path);
  }
  fail(ATTN_ERROR_UNSUPPORTED_HARDWARE,
       "kernel path '" + std::string(name) + "' is not available in this build on this CPU (there are: " + names + ")");
}

const Kernels* const* available_kernel_paths(size_t* count) {
  *count = paths().size();
  return paths().data();
}

}  // namespace attn
