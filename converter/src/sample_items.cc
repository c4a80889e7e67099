#include "sample_items.h"

#include <algorithm>
#include <cstdint>

#include "input_error.h"

namespace attn::convert {

std::vector<std::vector<SampleTensorData>> sample_items(const npy::Array& a, size_t count, const std::string& source) {
  if (a.shape.size() < 2 || a.shape[0] < 1)
    throw InputError(source + ": needs a first axis of items and at least one more dimension");
  const size_t items = std::min(count, size_t(a.shape[0]));
  const size_t per_item = a.count() / size_t(a.shape[0]);
  std::vector<std::vector<SampleTensorData>> out;
  for (size_t k = 0; k < items; ++k) {
    SampleTensorData t;
    t.shape.assign(a.shape.begin() + 1, a.shape.end());
    if (a.dtype == npy::DType::F32) {
      const float* src = reinterpret_cast<const float*>(a.data.data()) + k * per_item;
      t.f32.assign(src, src + per_item);
    } else if (a.dtype == npy::DType::I32) {
      const int32_t* src = reinterpret_cast<const int32_t*>(a.data.data()) + k * per_item;
      t.i32.assign(src, src + per_item);
    } else {
      const int64_t* src = reinterpret_cast<const int64_t*>(a.data.data()) + k * per_item;
      for (size_t i = 0; i < per_item; ++i) {
        if (src[i] < INT32_MIN || src[i] > INT32_MAX)
          throw InputError(source + ": item " + std::to_string(k) + ": token id " + std::to_string(src[i]) +
                           " is outside the vocabulary");
        t.i32.push_back(int32_t(src[i]));
      }
    }
    out.push_back({std::move(t)});
  }
  return out;
}

}  // namespace attn::convert
