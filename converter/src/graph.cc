#include "graph.h"

#include "error.h"
#include "input_error.h"
#include "kernels/quant/quantize.h"

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

// The weights a format other than f32 may store: the dense layers' and the
// token table (which a tied LM head shares).
struct EncodableWeights {
  std::vector<TensorIndex> operator()(const ops::PatchEmbed& p) const { return present({p.weight}); }
  std::vector<TensorIndex> operator()(const ops::TokenEmbed& e) const { return present({e.table}); }
  std::vector<TensorIndex> operator()(const ops::LayerNorm&) const { return {}; }
  std::vector<TensorIndex> operator()(const ops::Dense& d) const { return present({d.weight}); }
  std::vector<TensorIndex> operator()(const ops::Attention& a) const { return present({a.qkv_weight, a.out_weight}); }
  std::vector<TensorIndex> operator()(const ops::Add&) const { return {}; }
  std::vector<TensorIndex> operator()(const ops::Pool&) const { return {}; }
};

}  // namespace

std::vector<TensorIndex> weights_of(const Operator& op) { return std::visit(WeightList{}, op); }

void encode_weights(Graph& graph, WeightType format) {
  if (format == WeightType::F32) return;
  std::vector<bool> done(graph.tensors.size(), false);
  for (const GraphOp& node : graph.ops)
    for (TensorIndex i : std::visit(EncodableWeights{}, node.op)) {
      if (done[size_t(i)]) continue;
      done[size_t(i)] = true;
      GraphTensor& t = graph.tensors[size_t(i)];
      const size_t n = size_t(t.shape[0]), k = size_t(t.shape[1]);
      t.format = format;
      t.encoded.resize(traits_of(format).data_bytes(n, k));
      t.scales.resize(traits_of(format).scale_count(n, k));
      try {
        quantize_weights(format, t.data.data(), n, k, t.encoded.data(), t.scales.empty() ? nullptr : t.scales.data());
      } catch (const Error& e) {
        throw InputError("tensor '" + t.name + "': " + e.what());
      }
      dequantize_weights(format, t.encoded.data(), t.scales.empty() ? nullptr : t.scales.data(), n, k, t.data.data());
    }
}

}  // namespace attn::convert
