#include "xnnpack_dense.h"

#include <pthreadpool.h>
#include <xnnpack.h>

#include <limits>
#include <mutex>

#include "../error.h"
#include "../executor.h"

namespace attn {

namespace {

// `what` is a C string: runs call this, and a std::string of the message
// would be a heap allocation per call.
void check_xnn(xnn_status status, const char* what) {
  if (status == xnn_status_success) return;
  if (status == xnn_status_out_of_memory) fail(ATTN_ERROR_OUT_OF_MEMORY, std::string(what) + ": out of memory");
  fail(ATTN_ERROR_INTERNAL, std::string(what) + " failed with XNNPACK status " + std::to_string(status));
}

}  // namespace

bool xnnpack_built() { return true; }

void initialize_xnnpack() {
  static std::once_flag once;
  static xnn_status status = xnn_status_success;
  std::call_once(once, [] { status = xnn_initialize(nullptr); });
  if (status == xnn_status_unsupported_hardware)
    fail(ATTN_ERROR_UNSUPPORTED_HARDWARE, "XNNPACK does not support this CPU");
  if (status != xnn_status_success)
    fail(ATTN_ERROR_INTERNAL, "XNNPACK failed to initialize (status " + std::to_string(status) + ")");
}

size_t xnnpack_input_overread_bytes() { return XNN_EXTRA_BYTES; }

pthreadpool* create_xnnpack_pool(size_t threads) {
  pthreadpool* pool = pthreadpool_create(threads);
  if (!pool) fail(ATTN_ERROR_OUT_OF_MEMORY, "cannot create a thread pool of " + std::to_string(threads) + " threads");
  return pool;
}

void destroy_xnnpack_pool(pthreadpool* pool) {
  if (pool) pthreadpool_destroy(pool);
}

XnnpackDense::~XnnpackDense() {
  if (op_) xnn_delete_operator(op_);
}

void XnnpackDense::create(const float* w, const float* bias, size_t in, size_t out, bool relu,
                          const std::string& tensor) {
  in_ = in;
  out_ = out;
  const float lo = relu ? 0.0f : -std::numeric_limits<float>::infinity();
  check_xnn(xnn_create_fully_connected_nc_f32(in, out, in, out, w, bias, lo, std::numeric_limits<float>::infinity(),
                                              0, &op_),
            ("packing tensor '" + tensor + "'").c_str());
}

void XnnpackDense::run(Executor& exec, size_t rows, const float* in, float* out) {
  if (set_rows_ != rows || set_in_ != in) {
    const double flops = 2.0 * double(rows) * double(in_) * double(out_);
    pool_ = flops >= Executor::kParallelMinFlops ? exec.xnnpack_pool() : nullptr;
    check_xnn(xnn_setup_fully_connected_nc_f32(op_, rows, in, out, pool_), "setting up a dense layer");
    set_rows_ = rows;
    set_in_ = in;
  }
  check_xnn(xnn_run_operator(op_, pool_), "running a dense layer");
}

}  // namespace attn
