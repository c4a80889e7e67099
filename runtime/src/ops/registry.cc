// The operator modules: the one table that ties a schema operator type to
// its kind, its reader (checks at load) and its module (per session). A
// new op kind adds its row here.
#include <memory>

#include "attention.h"
#include "dense.h"
#include "elementwise.h"
#include "op_reader.h"
#include "patch_embed.h"

namespace attn {

namespace {

template <typename Op>
std::unique_ptr<Operator> make(const OpInfo& op) {
  return std::make_unique<Op>(op);
}

struct OpModule {
  OpSchema schema;
  std::unique_ptr<Operator> (*make)(const OpInfo&);
};

// In OpKind's order: make_operator indexes it by kind.
constexpr OpModule kModules[] = {
    {{fb::OpOptions::PatchEmbed, OpKind::PatchEmbed, &PatchEmbedOp::read}, make<PatchEmbedOp>},
    {{fb::OpOptions::TokenEmbed, OpKind::TokenEmbed, &TokenEmbedOp::read}, make<TokenEmbedOp>},
    {{fb::OpOptions::LayerNorm, OpKind::LayerNorm, &LayerNormOp::read}, make<LayerNormOp>},
    {{fb::OpOptions::Dense, OpKind::Dense, &DenseOp::read}, make<DenseOp>},
    {{fb::OpOptions::Attention, OpKind::Attention, &AttentionOp::read}, make<AttentionOp>},
    {{fb::OpOptions::Add, OpKind::Add, &AddOp::read}, make<AddOp>},
    {{fb::OpOptions::Pool, OpKind::Pool, &PoolOp::read}, make<PoolOp>},
};

constexpr bool in_kind_order() {
  for (size_t i = 0; i < sizeof(kModules) / sizeof(kModules[0]); ++i)
    if (size_t(kModules[i].schema.kind) != i) return false;
  return sizeof(kModules) / sizeof(kModules[0]) == size_t(OpKind::Pool) + 1;
}
static_assert(in_kind_order(), "one module per OpKind, in OpKind's order");

}  // namespace

const OpSchema* op_schema(fb::OpOptions type) {
  for (const OpModule& module : kModules)
    if (module.schema.type == type) return &module.schema;
  return nullptr;
}

std::unique_ptr<Operator> make_operator(const OpInfo& op) { return kModules[size_t(op.kind)].make(op); }

}  // namespace attn
