// Builds a tokenizer from a model file's Tokenizer table.
#pragma once

#include <cstdint>
#include <memory>

#include "attnmodel_generated.h"
#include "tokenizer/bpe.h"

namespace attn::text {

// model_vocab: the rows of the model's token embedding (0 if it takes no ids);
// a tokenizer may not name more tokens than the model has. Throws attn::Error.
std::shared_ptr<const Bpe> load_tokenizer(const fb::Tokenizer& table, int64_t model_vocab);

}  // namespace attn::text
