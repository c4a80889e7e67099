#include "tokenizer/bpe.h"

#include <algorithm>
#include <queue>
#include <unordered_set>

#include "error.h"
#include "tokenizer/pretokenize.h"

namespace attn::text {
namespace {

uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

[[noreturn]] void invalid(const std::string& what) { fail(ATTN_ERROR_INVALID_MODEL, "tokenizer: " + what); }

// Bytes GPT-2 spells as themselves: printable Latin-1 except the soft hyphen.
bool printable(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

}  // namespace

uint32_t byte_to_unicode(uint8_t byte) {
  if (printable(byte)) return byte;
  uint32_t n = 0;  // the others, in byte order, become U+0100, U+0101, ...
  for (int b = 0; b < byte; ++b) n += printable(b) ? 0 : 1;
  return 256 + n;
}

int unicode_to_byte(uint32_t cp) {
  if (cp < 256) return printable(int(cp)) ? int(cp) : -1;
  uint32_t n = 256;
  for (int b = 0; b < 256; ++b)
    if (!printable(b) && n++ == cp) return b;
  return -1;
}

Bpe::Bpe(std::vector<std::string> tokens, const std::vector<std::pair<int32_t, int32_t>>& merges, int32_t eos_id)
    : tokens_(std::move(tokens)), eos_id_(eos_id) {
  if (tokens_.empty() || tokens_.size() > kMaxTokens)
    invalid("the vocabulary has " + std::to_string(tokens_.size()) + " tokens (1 to " + std::to_string(kMaxTokens) + " allowed)");
  if (merges.size() > kMaxMerges) invalid(std::to_string(merges.size()) + " merges (at most " + std::to_string(kMaxMerges) + ")");
  if (eos_id < -1 || eos_id >= int64_t(tokens_.size())) invalid("end-of-text id " + std::to_string(eos_id) + " is not a token");
  std::unordered_map<std::string_view, int32_t> ids;
  ids.reserve(tokens_.size());
  std::fill(std::begin(byte_token_), std::end(byte_token_), -1);
  for (size_t id = 0; id < tokens_.size(); ++id) {
    const std::string& t = tokens_[id];
    if (t.empty() || t.size() > kMaxTokenBytes)
      invalid("token " + std::to_string(id) + " is " + std::to_string(t.size()) + " bytes (1 to " + std::to_string(kMaxTokenBytes) + " allowed)");
    if (!ids.emplace(t, int32_t(id)).second)
      invalid("token " + std::to_string(id) + " repeats token " + std::to_string(ids[t]));
    if (t.size() == 1) byte_token_[uint8_t(t[0])] = int32_t(id);
  }
  for (int b = 0; b < 256; ++b)
    if (byte_token_[b] < 0) invalid("no token for the byte " + std::to_string(b) + ": every byte needs one");
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto [a, b] = merges[rank];
    const std::string where = "merge " + std::to_string(rank);
    if (a < 0 || b < 0 || size_t(a) >= tokens_.size() || size_t(b) >= tokens_.size())
      invalid(where + " names a token id outside the vocabulary (" + std::to_string(a) + ", " + std::to_string(b) + ")");
    const std::string joined = tokens_[size_t(a)] + tokens_[size_t(b)];
    const auto it = ids.find(joined);
    if (it == ids.end()) invalid(where + " (" + std::to_string(a) + ", " + std::to_string(b) + ") makes a string that is not a token");
    if (!merges_.emplace(pair_key(a, b), Merge{int32_t(rank), it->second}).second)
      invalid(where + " repeats an earlier merge of (" + std::to_string(a) + ", " + std::to_string(b) + ")");
  }
}

void Bpe::encode(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<Piece> pieces;
  pretokenize(text, pieces);
  for (const Piece& p : pieces) encode_piece(text.substr(p.begin, p.end - p.begin), out);
}

// GPT-2's rule: repeatedly take the lowest-ranked adjacent pair and merge all
// its occurrences left to right. Done with a heap of candidate pairs over a
// linked list of symbols: one rank's occurrences are popped in position order,
// and a merge only creates pairs of other ranks (a token differs from both its
// halves), so this is the same result in O(n log n) instead of O(n²).
void Bpe::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  const size_t n = piece.size();
  std::vector<int32_t> sym(n);
  std::vector<int64_t> prev(n), next(n);
  for (size_t i = 0; i < n; ++i) {
    sym[i] = byte_token_[uint8_t(piece[i])];
    prev[i] = int64_t(i) - 1;
    next[i] = i + 1 < n ? int64_t(i) + 1 : -1;
  }
  struct Candidate {
    int32_t rank;
    int64_t left;
    int32_t a, b;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  // Pairs made during a round that outrank it wait for the round to end, as
  // in GPT-2 (only a merges file whose ranks are out of order has them).
  std::vector<Candidate> deferred;
  int32_t round = -1;
  const auto consider = [&](int64_t left) {
    if (left < 0 || next[size_t(left)] < 0) return;
    const int32_t a = sym[size_t(left)], b = sym[size_t(next[size_t(left)])];
    const auto it = merges_.find(pair_key(a, b));
    if (it == merges_.end()) return;
    const Candidate c{it->second.rank, left, a, b};
    if (c.rank < round) deferred.push_back(c);
    else heap.push(c);
  };
  for (size_t i = 0; i + 1 < n; ++i) consider(int64_t(i));
  while (!heap.empty() || !deferred.empty()) {
    if (!deferred.empty() && (heap.empty() || heap.top().rank != round)) {
      for (const Candidate& d : deferred) heap.push(d);
      deferred.clear();
      round = -1;
      continue;
    }
    const Candidate c = heap.top();
    heap.pop();
    const size_t l = size_t(c.left);
    // Stale: a symbol was merged away or changed since this pair was seen.
    if (sym[l] != c.a || next[l] < 0 || sym[size_t(next[l])] != c.b) continue;
    round = c.rank;
    const size_t r = size_t(next[l]);
    sym[l] = merges_.at(pair_key(c.a, c.b)).result;
    sym[r] = -1;
    next[l] = next[r];
    if (next[r] >= 0) prev[size_t(next[r])] = int64_t(l);
    consider(prev[l]);
    consider(int64_t(l));
  }
  for (int64_t i = 0; i >= 0 && n > 0; i = next[size_t(i)]) out.push_back(sym[size_t(i)]);
}

}  // namespace attn::text
