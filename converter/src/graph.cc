#include "graph.h"

namespace attn::convert {

namespace {

std::vector<TensorIndex> present(std::initializer_list<TensorIndex> indices) {
  std::vector<TensorIndex> out;
  for (TensorIndex i : indices)
    if (i != kNoTensor) out.push_back(i);
  return out;
}

struct WeightList {
  std::vector<TensorIndex> operator()(const ops::PatchEmbed& p) const {
    return present({p.weight, p.bias, p.cls_token, p.pos_embed});
  }
  std::vector<TensorIndex> operator()(const ops::TokenEmbed& e) const { return present({e.table, e.pos_embed}); }
  std::vector<TensorIndex> operator()(const ops::LayerNorm& n) const { return present({n.weight, n.bias}); }
  std::vector<TensorIndex> operator()(const ops::Dense& d) const { return present({d.weight, d.bias}); }
  std::vector<TensorIndex> operator()(const ops::Attention& a) const {
    return present({a.qkv_weight, a.qkv_bias, a.out_weight, a.out_bias, a.align_weight, a.align_bias});
  }
  std::vector<TensorIndex> operator()(const ops::Add&) const { return {}; }
  std::vector<TensorIndex> operator()(const ops::Pool&) const { return {}; }
};

}  // namespace

std::vector<TensorIndex> weights_of(const Operator& op) { return std::visit(WeightList{}, op); }

}  // namespace attn::convert
