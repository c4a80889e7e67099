#include "tokenizer/from_model.h"

#include "error.h"

namespace attn::text {

std::shared_ptr<const Bpe> load_tokenizer(const fb::Tokenizer& table, int64_t model_vocab) {
  const auto invalid = [](const std::string& what) { fail(ATTN_ERROR_INVALID_MODEL, "tokenizer: " + what); };
  const auto& bytes = *table.token_bytes();
  const auto& offsets = *table.token_offsets();
  const auto& merges = *table.merges();
  if (model_vocab == 0) invalid("the model takes no token ids, so it cannot have a tokenizer");
  if (offsets.size() < 2 || offsets.size() - 1 > kMaxTokens)
    invalid("token_offsets has " + std::to_string(offsets.size()) + " entries (2 to " + std::to_string(kMaxTokens + 1) + " allowed)");
  const size_t count = offsets.size() - 1;
  if (int64_t(count) > model_vocab)
    invalid(std::to_string(count) + " tokens, more than the model's vocabulary of " + std::to_string(model_vocab));
  if (offsets.Get(0) != 0) invalid("token_offsets[0] is " + std::to_string(offsets.Get(0)) + ", not 0");
  if (offsets.Get(flatbuffers::uoffset_t(count)) != bytes.size())
    invalid("token_offsets ends at " + std::to_string(offsets.Get(flatbuffers::uoffset_t(count))) + ", token_bytes holds " +
            std::to_string(bytes.size()) + " bytes");
  std::vector<std::string> tokens(count);
  for (size_t i = 0; i < count; ++i) {
    const uint32_t a = offsets.Get(flatbuffers::uoffset_t(i)), b = offsets.Get(flatbuffers::uoffset_t(i + 1));
    if (b < a || b - a > kMaxTokenBytes)
      invalid("token " + std::to_string(i) + " spans token_bytes[" + std::to_string(a) + ", " + std::to_string(b) + ")");
    tokens[i].assign(reinterpret_cast<const char*>(bytes.data()) + a, b - a);
  }
  if (merges.size() % 2) invalid("merges has an odd number of ids (" + std::to_string(merges.size()) + ")");
  std::vector<std::pair<int32_t, int32_t>> pairs(merges.size() / 2);
  for (size_t r = 0; r < pairs.size(); ++r)
    pairs[r] = {merges.Get(flatbuffers::uoffset_t(2 * r)), merges.Get(flatbuffers::uoffset_t(2 * r + 1))};
  return std::make_shared<const Bpe>(std::move(tokens), pairs, table.eos_id());
}

}  // namespace attn::text
