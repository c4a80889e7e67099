// XNNPACK's f32 fully connected operator, the dense layers' second backend
// beside the kernel path's own GEMM (dense_layer.cc chooses per layer).
// xnnpack_dense.cc wraps XNNPACK; a build without it (-DATTN_WITH_XNNPACK=OFF)
// compiles xnnpack_absent.cc instead, whose xnnpack_built() is false, and
// every f32 dense layer then runs on the own GEMM.
#pragma once

#include <cstddef>
#include <string>

struct xnn_operator;
struct pthreadpool;

namespace attn {

class Executor;

// Whether this build has XNNPACK.
bool xnnpack_built();

// Fails unless XNNPACK works on this CPU; initialises it once. Nothing to do
// without XNNPACK.
void initialize_xnnpack();

// How far past the end of a dense layer's input XNNPACK may read, in bytes
// (the session's arena leaves that much room); 0 without XNNPACK.
size_t xnnpack_input_overread_bytes();

// XNNPACK's own pool of `threads` threads; it fails when out of memory.
pthreadpool* create_xnnpack_pool(size_t threads);
void destroy_xnnpack_pool(pthreadpool* pool);

class XnnpackDense {
 public:
  XnnpackDense() = default;
  ~XnnpackDense();
  XnnpackDense(const XnnpackDense&) = delete;
  XnnpackDense& operator=(const XnnpackDense&) = delete;

  // Packs w [out, in] (row-major) and bias (may be null) into XNNPACK's
  // operator; relu clamps the output at 0. `tensor` names w in errors.
  void create(const float* w, const float* bias, size_t in, size_t out, bool relu, const std::string& tensor);
  bool created() const { return op_ != nullptr; }
  // out[rows, out] = in · Wᵀ + bias (clamped), on the executor's XNNPACK pool
  // when the work is worth splitting.
  void run(Executor& exec, size_t rows, const float* in, float* out);

 private:
  xnn_operator* op_ = nullptr;
  size_t in_ = 0, out_ = 0;
  size_t set_rows_ = 0;  // what op_ is set up for
  const float* set_in_ = nullptr;
  pthreadpool* pool_ = nullptr;
};

}  // namespace attn
