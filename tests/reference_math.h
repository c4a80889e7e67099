// Float64 references the kernel tests share: the activations, and a GEMM
// epilogue applied to an accumulator together with its derived error bound.
#pragma once

#include <algorithm>
#include <cmath>

#include "kernel_error_bounds.h"
#include "kernels/kernels.h"

namespace attn::test {

inline double gelu_reference(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
inline double gelu_tanh_reference(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}

// The epilogue on `acc`, and on `err` (the accumulator's bound): the
// activation's slope on it plus the activation's own error.
inline void apply_epilogue(Epilogue epilogue, double& acc, double& err) {
  if (epilogue == Epilogue::Gelu) {
    err = kGeluMaxSlope * err + gelu_bound(acc, gelu_reference(acc));
    acc = gelu_reference(acc);
  }
  if (epilogue == Epilogue::GeluTanh) {
    err = kGeluMaxSlope * err + gelu_tanh_bound(acc, gelu_tanh_reference(acc));
    acc = gelu_tanh_reference(acc);
  }
  if (epilogue == Epilogue::Relu) acc = std::max(acc, 0.0);
}

}  // namespace attn::test
