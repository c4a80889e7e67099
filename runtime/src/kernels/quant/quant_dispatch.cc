// Which quantized-kernel variants this CPU runs, detected once.

#include <cpuinfo.h>

#include <cstring>
#include <string>
#include <vector>

#include "../../error.h"
#include "quant_kernels.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

namespace attn {

const QuantKernels& scalar_quant_kernels();  // quant_scalar.cc
#if defined(__x86_64__) && defined(ATTN_HAVE_AVX2)
const QuantKernels& avx2_quant_kernels();     // quant_avx2.cc
const QuantKernels& avxvnni_quant_kernels();  // quant_avxvnni.cc
#endif
#if defined(__x86_64__) && defined(ATTN_HAVE_AVX512)
const QuantKernels& avx512_quant_kernels();  // quant_avx512.cc
#endif
#if defined(__aarch64__)
const QuantKernels& neon_quant_kernels();          // quant_neon.cc
const QuantKernels& neon_dotprod_quant_kernels();  // quant_neon_dotprod.cc
#endif

namespace {

#if defined(__x86_64__) && defined(ATTN_HAVE_AVX2)
// AVX-VNNI (CPUID leaf 7, sub-leaf 1, EAX bit 4): the cpuinfo release this
// project builds with does not report it. The OS's saving of the YMM state
// is already implied by cpuinfo's AVX2.
bool x86_has_avxvnni() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) return false;
  return (eax >> 4) & 1;
}
#endif

std::vector<const QuantKernels*> detect() {
  // In order of preference, the best of each path last.
  std::vector<const QuantKernels*> list{&scalar_quant_kernels()};
#if defined(__aarch64__)
#if defined(__linux__)
  const unsigned long hwcap = getauxval(AT_HWCAP);
  const bool neon = (hwcap & HWCAP_ASIMD) != 0, dotprod = (hwcap & HWCAP_ASIMDDP) != 0;
#else
  const bool neon = true, dotprod = false;  // elsewhere: the baseline only
#endif
  if (neon) list.push_back(&neon_quant_kernels());
  if (neon && dotprod) list.push_back(&neon_dotprod_quant_kernels());
#endif
  if (!cpuinfo_initialize()) return list;
#if defined(__x86_64__) && defined(ATTN_HAVE_AVX2)
  if (cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3() && cpuinfo_has_x86_f16c()) {
    list.push_back(&avx2_quant_kernels());
    if (x86_has_avxvnni()) list.push_back(&avxvnni_quant_kernels());
  }
#endif
#if defined(__x86_64__) && defined(ATTN_HAVE_AVX512)
  if (cpuinfo_has_x86_avx512f() && cpuinfo_has_x86_avx512bw() && cpuinfo_has_x86_avx512vl() &&
      cpuinfo_has_x86_avx512vnni() && cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3() && cpuinfo_has_x86_f16c())
    list.push_back(&avx512_quant_kernels());
#endif
  return list;
}

const std::vector<const QuantKernels*>& variants() {
  static const std::vector<const QuantKernels*> list = detect();
  return list;
}

const QuantKernels* best_for(const char* path) {
  const QuantKernels* best = nullptr;
  for (const QuantKernels* q : variants())
    if (std::strcmp(q->path, path) == 0) best = q;
  return best;
}

std::string variant_names() {
  std::string names;
  for (const QuantKernels* v : variants()) names += (names.empty() ? "" : ", ") + std::string(v->name);
  return names;
}

}  // namespace

const QuantKernels& quant_kernels(const char* path) {
  const QuantKernels* q = best_for(path);
  // An AVX-512 CPU without VNNI (Skylake-X) runs the AVX2 variant.
  if (!q && std::strcmp(path, "avx512") == 0) q = best_for("avx2");
  if (q) return *q;
  fail(ATTN_ERROR_UNSUPPORTED_HARDWARE, "no quantized kernels for the kernel path '" + std::string(path) +
                                            "' in this build on this CPU (there are: " + variant_names() + ")");
}

const QuantKernels& quant_kernels_by_name(const char* name) {
  for (const QuantKernels* v : variants())
    if (std::strcmp(v->name, name) == 0) return *v;
  fail(ATTN_ERROR_UNSUPPORTED_HARDWARE, "quantized kernel variant '" + std::string(name) +
                                            "' is not available in this build on this CPU (there are: " +
                                            variant_names() + ")");
}

const QuantKernels* const* available_quant_kernels(size_t* count) {
  *count = variants().size();
  return variants().data();
}

}  // namespace attn
