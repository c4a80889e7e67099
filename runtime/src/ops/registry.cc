// The operator modules by kind: the one place a new op kind is registered.
#include <memory>

#include "attention.h"
#include "dense.h"
#include "elementwise.h"
#include "patch_embed.h"

namespace attn {

namespace {

template <typename Op>
std::unique_ptr<Operator> make(const OpInfo& op) {
  return std::make_unique<Op>(op);
}

using Factory = std::unique_ptr<Operator> (*)(const OpInfo&);

// Indexed by OpKind, in its order (checked below).
constexpr Factory kFactories[] = {
    make<PatchEmbedOp>,  // PatchEmbed
    make<TokenEmbedOp>,  // TokenEmbed
    make<LayerNormOp>,   // LayerNorm
    make<DenseOp>,       // Dense
    make<AttentionOp>,   // Attention
    make<AddOp>,         // Add
    make<PoolOp>,        // Pool
};
static_assert(sizeof(kFactories) / sizeof(kFactories[0]) == size_t(OpKind::Pool) + 1,
              "one operator module per OpKind");

}  // namespace

std::unique_ptr<Operator> make_operator(const OpInfo& op) { return kFactories[size_t(op.kind)](op); }

}  // namespace attn
