// Items of a .npy array as embedded-sample tensors.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "npy.h"
#include "sample.h"

namespace attn::convert {

// The first `count` items of `a` along its first axis (int64 token ids
// narrowed to int32). Throws InputError naming `source` for an array without
// an item axis or an id that does not fit int32.
std::vector<std::vector<SampleTensorData>> sample_items(const npy::Array& a, size_t count, const std::string& source);

}  // namespace attn::convert
