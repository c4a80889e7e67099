// The converter's one error type: a refusal of its input (checkpoint, config,
// samples, tokenizer, the files named), with a message that names the tensor,
// field, file or offset at fault. Files the tools' helpers fail to read or
// write come out as an InputError too.
#pragma once

#include <stdexcept>

namespace attn::convert {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace attn::convert
