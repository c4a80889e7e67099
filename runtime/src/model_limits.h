// Every limit a model file must respect, in one place: the loader refuses a
// file beyond them, and the converter refuses a config or checkpoint that
// would produce such a file, so what one writes the other loads. They keep
// each size computation far from overflow and bound a run's cost by what the
// header declares (docs/SECURITY.md).
#pragma once

#include <cstddef>
#include <cstdint>

#include "attn/attn.h"

namespace attn::limits {

constexpr int64_t kMaxDim = int64_t{1} << 24;        // any one dimension
constexpr int64_t kMaxElements = int64_t{1} << 32;   // one value or tensor, n = max_tokens
constexpr int64_t kMaxTokens = int64_t{1} << 16;     // max_tokens, the context
constexpr size_t kMaxRank = ATTN_MAX_RANK;
constexpr int kMaxHeads = 1024;
constexpr int64_t kMaxVocab = int64_t{1} << 24;
constexpr int64_t kMaxClasses = int64_t{1} << 24;
// Image geometry of a patch embedding.
constexpr int64_t kMaxImageSide = 16384;
constexpr int64_t kMaxChannels = 64;
// Counts: far above any real model (a 4096-layer model has about 30000 ops),
// low enough that checking and planning stay fast on any file.
constexpr size_t kMaxTensors = size_t{1} << 16;
constexpr size_t kMaxValues = size_t{1} << 16;
constexpr size_t kMaxOps = size_t{1} << 15;
constexpr size_t kMaxLayers = 4096;  // attention operators
constexpr size_t kMaxModelIo = 64;   // model inputs, and model outputs
constexpr size_t kMaxSamples = 64;

}  // namespace attn::limits
