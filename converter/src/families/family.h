// The model families (docs/spec.md, section 4): for each, its checkpoint
// names, the graph the builder makes of them and the tensors of a random
// checkpoint. A new family is a file here and a row of the table in
// family.cc (docs/architecture.md).
#pragma once

#include <string>

#include "builder.h"
#include "config.h"
#include "random_init.h"

namespace attn::convert {

struct Family {
  const char* name;  // as config.json's "family"
  bool causal;       // its attention masks later tokens
  // The graph of a checkpoint, from its tensors (GraphBuilder::take).
  void (*build)(GraphBuilder& builder);
  // The tensors a checkpoint of the config holds, in a fixed order.
  void (*random_init)(RandomCheckpoint& checkpoint);
  // Checkpoint entries that are buffers, not weights, and are skipped (null:
  // every entry must be used).
  bool (*is_buffer)(const std::string& name);
};

extern const Family kVitFamily, kTextFamily, kGptFamily;

// The config's family; the config reader admits only the table's names.
const Family& family_named_in(const ModelConfig& config);

// The timm names of block i, shared by vit and text.
BlockNames timm_block_names(int64_t i);

}  // namespace attn::convert
