// A build without XNNPACK (-DATTN_WITH_XNNPACK=OFF): dense_layer.cc never
// creates an XnnpackDense, and a session that asks for XNNPACK is refused
// before it gets here.
#include "xnnpack_dense.h"

#include "../error.h"

namespace attn {

bool xnnpack_built() { return false; }
void initialize_xnnpack() {}
size_t xnnpack_input_overread_bytes() { return 0; }
pthreadpool* create_xnnpack_pool(size_t) { return nullptr; }
void destroy_xnnpack_pool(pthreadpool*) {}

XnnpackDense::~XnnpackDense() = default;

void XnnpackDense::create(const float*, const float*, size_t, size_t, bool, const std::string& tensor) {
  fail(ATTN_ERROR_INTERNAL, "tensor '" + tensor + "': this build has no XNNPACK (ATTN_WITH_XNNPACK=OFF)");
}

void XnnpackDense::run(Executor&, size_t, const float*, float*) {
  fail(ATTN_ERROR_INTERNAL, "this build has no XNNPACK (ATTN_WITH_XNNPACK=OFF)");
}

}  // namespace attn
