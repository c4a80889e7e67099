// GPT-2's byte-level BPE: token byte strings, merges by rank, encode and
// decode. Built from untrusted data (a model file or a converter input), so
// construction checks everything and encoding costs O(n log n) in the text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace attn::text {

// Limits on what a tokenizer may hold (checked at construction).
constexpr size_t kMaxTokens = size_t(1) << 24;
constexpr size_t kMaxTokenBytes = 1024;
constexpr size_t kMaxMerges = size_t(1) << 24;

class Bpe {
 public:
  // tokens[id] is the byte string of token id; merges[rank] a pair of token
  // ids whose concatenation must itself be a token. Every single byte must be
  // a token; no two tokens may be equal. Throws attn::Error
  // (ATTN_ERROR_INVALID_MODEL) naming the token or merge at fault.
  Bpe(std::vector<std::string> tokens, const std::vector<std::pair<int32_t, int32_t>>& merges,
      int32_t eos_id);

  // Appends the ids of `text`. Never produces a special token such as
  // <|endoftext|>: text that spells one is encoded as ordinary text.
  void encode(std::string_view text, std::vector<int32_t>& out) const;
  // The bytes of a token id (which must be < size()).
  std::string_view token(int32_t id) const { return tokens_[size_t(id)]; }
  size_t size() const { return tokens_.size(); }
  int32_t eos_id() const { return eos_id_; }

 private:
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

  struct Merge {
    int32_t rank, result;
  };
  std::vector<std::string> tokens_;
  int32_t byte_token_[256];
  std::unordered_map<uint64_t, Merge> merges_;  // (left id << 32 | right id) -> merge
  int32_t eos_id_;
};

// GPT-2's map from a byte to the character that spells it in vocab.json and
// merges.txt, and back. unicode_to_byte returns -1 for a character outside it.
uint32_t byte_to_unicode(uint8_t byte);
int unicode_to_byte(uint32_t code_point);

}  // namespace attn::text
