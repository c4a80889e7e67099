// The C API's library information: what this build and this CPU offer.
#include <attn/attn.h>

#include <string>

#include "kernels/kernels.h"
#include "kernels/quant/quant_kernels.h"

namespace {

// The names of a detected list (kernel paths, quantized variants),
// comma-separated, built once; "unknown" if detection throws.
template <typename T, typename Name>
const char* names_once(const T* const* (*list)(size_t*), Name name) {
  try {
    static const std::string text = [&] {
      size_t count = 0;
      const T* const* items = list(&count);
      std::string joined;
      for (size_t i = 0; i < count; ++i) joined += (i ? "," : "") + std::string(name(*items[i]));
      return joined;
    }();
    return text.c_str();
  } catch (...) {
    return "unknown";
  }
}

}  // namespace

extern "C" const char* attn_kernel_paths(void) {
  return names_once<attn::Kernels>(attn::available_kernel_paths, [](const attn::Kernels& k) { return k.path; });
}

extern "C" const char* attn_quant_kernel_variants(void) {
  return names_once<attn::QuantKernels>(attn::available_quant_kernels,
                                        [](const attn::QuantKernels& q) { return q.name; });
}
