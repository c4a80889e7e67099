// libFuzzer target for the .npy reader (tools/common/npy): any input must
// either parse into an array whose data matches its shape and type, or be
// refused with a message naming the source. The header parser is also fed
// the input as header text directly, so mutations reach it without a valid
// preamble.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "npy.h"

namespace {

[[noreturn]] void broken(const std::string& what) {
  std::fprintf(stderr, "fuzz_npy: %s\n", what.c_str());
  std::abort();
}

void refused_well(const std::exception& e) {
  if (std::string(e.what()).rfind("in.npy: ", 0) != 0) broken(std::string("an error without the source: ") + e.what());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const attn::npy::Array a = attn::npy::parse(data, size, "in.npy");
    if (a.shape.size() > size_t(attn::npy::kMaxRank)) broken("an accepted array has too many dimensions");
    const size_t element = a.dtype == attn::npy::DType::I64 ? 8 : 4;
    if (a.data.size() != a.count() * element) broken("an accepted array's data does not match its shape");
  } catch (const std::runtime_error& e) {
    refused_well(e);
  }
  try {
    const attn::npy::Header h =
        attn::npy::parse_header(std::string(reinterpret_cast<const char*>(data), size), "in.npy");
    for (int64_t d : h.shape)
      if (d < 0) broken("a negative dimension was accepted");
  } catch (const std::runtime_error& e) {
    refused_well(e);
  }
  return 0;
}
