#include "families/family.h"

namespace attn::convert {

const Family& family_named_in(const ModelConfig& config) {
  for (const Family* family : {&kVitFamily, &kTextFamily, &kGptFamily})
    if (config.family == family->name) return *family;
  throw InputError("config.json: family '" + config.family + "' is not known");
}

BlockNames timm_block_names(int64_t i) {
  const std::string b = "blocks." + std::to_string(i) + ".";
  return {b + "norm1", b + "norm2", b + "attn.qkv", b + "attn.q", b + "attn.k", b + "attn.v",
          b + "attn.align", b + "attn.proj", b + "mlp.fc1", b + "mlp.fc2"};
}

}  // namespace attn::convert
