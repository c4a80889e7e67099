// The element types of a model's weights.
#pragma once

#include <cstdint>

namespace attn {

enum class WeightType : uint8_t { F32 };

}  // namespace attn
