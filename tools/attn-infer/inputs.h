// The inputs of a benchmark run: synthetic (seeded random images or token
// ids) or the first item of a .npy file.
#pragma once

#include <attn/attn.h>

#include <cstdint>
#include <string>
#include <vector>

#include "npy.h"

namespace attn::infer {

struct RunInputs {
  std::vector<std::vector<uint8_t>> data;  // one per model input
  std::vector<std::vector<int64_t>> shapes;
  int64_t tokens = -1;      // the sequence length of token inputs, -1 for images
  std::string description;  // e.g. "synthetic, seed 1" or the file
};

// Random inputs of the model's shape: float32 images N(0, 1), or token ids
// drawn uniformly from the vocabulary but never the padding id (so a text is
// never all padding). `tokens` sets n for inputs of variable length (gpt;
// -1 = the model's max_tokens); a fixed-length text input must be given its
// own length.
RunInputs synthetic_inputs(const attn_model* model, uint64_t seed, int64_t tokens);

// Item 0 of a .npy file of items [N, ...] (int64 ids narrowed to int32).
RunInputs npy_inputs(const attn_model* model, const std::string& path);

// Converts item `item` of a .npy array to the input's dtype, checking what the
// C API cannot see (int64 ids that do not fit int32).
std::vector<uint8_t> item_bytes(const npy::Array& in, size_t item, size_t per_item, attn_dtype want,
                                const std::string& path);

// Sets every input of a session.
void set_inputs(attn_session* session, const RunInputs& inputs, const std::string& model_path);

}  // namespace attn::infer
