// The C API's library information: what this build and this CPU offer.
#include <attn/attn.h>

#include <string>

#include "kernels/kernels.h"
#include "kernels/quant/quant_kernels.h"

extern "C" const char* attn_kernel_paths(void) {
  try {
    static const std::string list = [] {
      size_t count = 0;
      const attn::Kernels* const* paths = attn::available_kernel_paths(&count);
      std::string text;
      for (size_t i = 0; i < count; ++i) text += (i ? "," : "") + std::string(paths[i]->path);
      return text;
    }();
    return list.c_str();
  } catch (...) {
    return "unknown";
  }
}

extern "C" const char* attn_quant_kernel_variants(void) {
  try {
    static const std::string list = [] {
      size_t count = 0;
      const attn::QuantKernels* const* variants = attn::available_quant_kernels(&count);
      std::string text;
      for (size_t i = 0; i < count; ++i) text += (i ? "," : "") + std::string(variants[i]->name);
      return text;
    }();
    return list.c_str();
  } catch (...) {
    return "unknown";
  }
}
