// The own GEMM's packings of a model's weights, made once per model and
// kernel path and shared by every session of the model: a second session
// costs its activations, not another copy of the weights.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <utility>

namespace attn {

struct ConstTensor;

class PackedWeights {
 public:
  PackedWeights() = default;
  PackedWeights(const PackedWeights&) = delete;
  PackedWeights& operator=(const PackedWeights&) = delete;
  ~PackedWeights();

  // The packing of tensor `index` (w) for `packer` (the kernel table whose
  // layout it is), `bytes` long and filled by pack(packed), made by the first
  // session that asks. When `drop_source` is set (the weights are a
  // read-only file mapping) the packed tensor's pages of the mapping are
  // returned to the kernel, so that a session holds one copy of each weight,
  // not two; the file pages come back if they are read again. Thread-safe.
  const void* get(const void* packer, int index, const ConstTensor& w, size_t bytes,
                  const std::function<void(void*)>& pack, bool drop_source);

  // Bytes of packings made so far.
  size_t bytes() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<const void*, int>, float*> packed_;
  size_t bytes_ = 0;
};

}  // namespace attn
