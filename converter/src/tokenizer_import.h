// Reads a GPT-2-style byte-level BPE tokenizer for the model file: a Hugging
// Face tokenizer.json, or vocab.json + merges.txt as save_pretrained writes
// them (GPT-2's encoder.json + vocab.bpe are the same files).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace attn::convert {

struct TokenizerData {
  std::vector<std::string> tokens;                  // each token's bytes, by id
  std::vector<std::pair<int32_t, int32_t>> merges;  // by rank
  int32_t eos_id = -1;                              // "<|endoftext|>" if present
};

// `path` is tokenizer.json, vocab.json (merges.txt beside it), or a folder
// holding either. Checks everything a model file's tokenizer must satisfy;
// throws InputError naming the file and entry at fault.
TokenizerData read_tokenizer(const std::string& path);

// The tokenizer files in a checkpoint folder, or "" when it has none.
std::string find_tokenizer(const std::string& dir);

}  // namespace attn::convert
