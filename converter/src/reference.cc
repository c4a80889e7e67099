#include "reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "input_error.h"
#include "shape_text.h"
#include "kernels/quant/quantize.h"

namespace attn::convert {

namespace {

// An activation during the evaluation: doubles, or token ids for I32 inputs.
struct Value {
  std::vector<int64_t> shape;
  std::vector<double> x;
  std::vector<int32_t> ids;
  bool set = false;

  size_t cols() const { return size_t(shape.back()); }
  size_t rows() const { return x.size() / cols(); }
  double* row(size_t r) { return x.data() + r * cols(); }
  const double* row(size_t r) const { return x.data() + r * cols(); }
};

double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

double gelu_tanh(double x) {
  const double k = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
}

// The pad_id of an op that masks padding, else -1.
int pad_id_of(const Operator& op) {
  if (const auto* a = std::get_if<ops::Attention>(&op)) return a->pad_id;
  if (const auto* p = std::get_if<ops::Pool>(&op)) return p->pad_id;
  return -1;
}

double activate(Activation a, double x) {
  switch (a) {
    case Activation::Gelu: return gelu(x);
    case Activation::GeluTanh: return gelu_tanh(x);
    case Activation::Relu: return x > 0 ? x : 0.0;
    case Activation::None: break;
  }
  return x;
}

// A q8, q4 or q8c layer's input as its kernels take it: each row, as
// float32, in blocks of `block` (32, or the whole row for q8c) rounded to
// 8-bit steps of the block's max |x| / 127 (the arithmetic of
// quantize_block_q8, the format's definition), at the steps' exact values. `tie_shift` (in steps) moves the rounding point: a shift of
// +h rounds up the values that lie within h below a half step (see
// rounding_allowance in convert.cc).
std::vector<double> quantized_input(const double* x, size_t rows, size_t in, size_t block_width, double tie_shift) {
  std::vector<double> out(rows * in);
  std::vector<float> block(block_width);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c0 = 0; c0 < in; c0 += block_width) {
      const size_t count = std::min(block_width, in - c0);
      float amax = 0;
      for (size_t i = 0; i < count; ++i) {
        block[i] = float(x[r * in + c0 + i]);
        amax = std::fmax(amax, std::fabs(block[i]));
      }
      const float scale = amax / 127.0f;
      const float inv = scale != 0 ? 1.0f / scale : 0.0f;
      for (size_t i = 0; i < count; ++i) {
        const double v = double(block[i] * inv) + tie_shift;
        const double q = std::clamp(v < 0 ? -std::floor(-v + 0.5) : std::floor(v + 0.5), -127.0, 127.0);
        out[r * in + c0 + i] = q * double(scale);
      }
    }
  return out;
}

// y = x Wᵀ + b for a [rows, in] block of x, W [out, in] read as float32
// (the stored values of a weight in another format).
std::vector<double> linear(const double* x, size_t rows, size_t in, const GraphTensor& w, size_t w_row0, size_t out,
                           const GraphTensor* b, double tie_shift) {
  std::vector<double> quantized;
  const Scales scales = traits_of(w.format).scales;
  if (scales != Scales::None) {
    quantized = quantized_input(x, rows, in, scales == Scales::PerRow ? in : kQuantBlock, tie_shift);
    x = quantized.data();
  }
  std::vector<double> y(rows * out);
  for (size_t r = 0; r < rows; ++r)
    for (size_t o = 0; o < out; ++o) {
      const float* wr = w.data.data() + (w_row0 + o) * in;
      double acc = b ? double(b->data[w_row0 + o]) : 0.0;
      for (size_t i = 0; i < in; ++i) acc += x[r * in + i] * double(wr[i]);
      y[r * out + o] = acc;
    }
  return y;
}

class Evaluator {
 public:
  Evaluator(const Graph& g, double tie_shift) : g_(g), v_(g.values.size()), tie_shift_(tie_shift) {}

  // Checks the inputs and returns the sequence length n (0 when no input has
  // one).
  int64_t check(const std::vector<SampleTensorData>& inputs) {
    if (inputs.size() != g_.inputs.size())
      throw InputError("the model takes " + std::to_string(g_.inputs.size()) + " input(s), got " +
                       std::to_string(inputs.size()));
    int64_t n = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      set_input(g_.inputs[i], inputs[i]);
      const GraphValue& gv = g_.values[size_t(g_.inputs[i])];
      for (size_t k = 0; k < gv.shape.size(); ++k)
        if (gv.shape[k] == -1) {
          if (n && n != inputs[i].shape[k]) throw InputError("the inputs have different sequence lengths");
          n = inputs[i].shape[k];
        }
    }
    // Token ids against the vocabulary, and padding, before any work.
    for (const GraphOp& node : g_.ops) {
      if (const auto* embed = std::get_if<ops::TokenEmbed>(&node.op); embed && v_[node.inputs[0]].set) {
        const int64_t vocab = tensor(embed->table).shape[0];
        const std::vector<int32_t>& ids = v_[node.inputs[0]].ids;
        for (size_t t = 0; t < ids.size(); ++t)
          if (ids[t] < 0 || ids[t] >= vocab)
            throw InputError("token id " + std::to_string(ids[t]) + " at position " + std::to_string(t) +
                             " is outside the vocabulary (0.." + std::to_string(vocab - 1) + ")");
      }
      const int pad_id = pad_id_of(node.op);
      if (pad_id >= 0 && v_[node.inputs.at(1)].set) {
        bool any = false;
        for (int32_t id : v_[node.inputs[1]].ids) any = any || id != pad_id;
        if (!any) throw InputError("every token is padding (pad_id " + std::to_string(pad_id) + ")");
      }
    }
    return n;
  }

  std::vector<std::vector<int64_t>> output_shapes(int64_t n) const {
    std::vector<std::vector<int64_t>> shapes;
    for (int o : g_.outputs) {
      std::vector<int64_t> s = g_.values[size_t(o)].shape;
      for (int64_t& d : s)
        if (d == -1) d = n;
      shapes.push_back(s);
    }
    return shapes;
  }

  std::vector<ReferenceTensor> run(const std::vector<SampleTensorData>& inputs) {
    check(inputs);
    for (const GraphOp& node : g_.ops) {
      for (int in : node.inputs)
        if (!v_[in].set) throw InputError("value '" + g_.values[in].name + "' is read before it is computed");
      Value& out = v_[node.outputs.at(0)];
      out = std::visit([&](const auto& op) { return evaluate(op, node.inputs); }, node.op);
      out.set = true;
    }
    std::vector<ReferenceTensor> result;
    for (int o : g_.outputs) {
      if (!v_[o].set) throw InputError("output '" + g_.values[o].name + "' is never computed");
      result.push_back({v_[o].shape, v_[o].x});
    }
    return result;
  }

 private:
  const GraphTensor& tensor(int index) const { return g_.tensors.at(size_t(index)); }
  const GraphTensor* optional(int index) const { return index < 0 ? nullptr : &g_.tensors.at(size_t(index)); }

  void set_input(int index, const SampleTensorData& t) {
    const GraphValue& gv = g_.values[size_t(index)];
    const std::string what = "input '" + gv.name + "'";
    bool ok = t.shape.size() == gv.shape.size();
    for (size_t i = 0; ok && i < t.shape.size(); ++i)
      ok = gv.shape[i] == -1 ? t.shape[i] >= 1 && t.shape[i] <= g_.max_tokens : t.shape[i] == gv.shape[i];
    if (!ok) {
      std::string want = "[";
      for (size_t i = 0; i < gv.shape.size(); ++i)
        want += (i ? ", " : "") + (gv.shape[i] == -1 ? "n ≤ " + std::to_string(g_.max_tokens) : std::to_string(gv.shape[i]));
      throw InputError(what + " has shape " + shape_text(t.shape) + ", the model takes " + want + "]");
    }
    size_t count = 1;
    for (int64_t d : t.shape) count *= size_t(d);
    Value& v = v_[size_t(index)];
    v.shape = t.shape;
    if (gv.dtype == ATTN_DTYPE_I32) {
      if (t.i32.size() != count) throw InputError(what + " takes int32 token ids");
      v.ids = t.i32;
    } else {
      if (t.f32.size() != count) throw InputError(what + " takes float32 values");
      v.x.assign(t.f32.begin(), t.f32.end());
      for (double x : v.x)
        if (!std::isfinite(x)) throw InputError(what + " holds a value that is not finite");
    }
    v.set = true;
  }

  // image [C, H, W] -> [T, d]: stride-p patches in row-major order, each
  // flattened as (c, i, j) and projected; the class token in row 0; plus the
  // position embedding.
  Value evaluate(const ops::PatchEmbed& op, const std::vector<int>& inputs) {
    const Value& image = v_[inputs[0]];
    const size_t C = size_t(op.channels), H = size_t(op.height), W = size_t(op.width), p = size_t(op.patch);
    const GraphTensor& w = tensor(op.weight);
    const GraphTensor* b = optional(op.bias);
    const GraphTensor* cls = optional(op.cls_token);
    const GraphTensor& pos = tensor(op.pos_embed);
    const size_t d = size_t(w.shape[0]), gh = H / p, gw = W / p, first = cls ? 1 : 0;
    const size_t T = gh * gw + first;
    Value out;
    out.shape = {int64_t(T), int64_t(d)};
    out.x.assign(T * d, 0.0);
    std::vector<double> patch(C * p * p);
    for (size_t py = 0; py < gh; ++py)
      for (size_t px = 0; px < gw; ++px) {
        for (size_t c = 0; c < C; ++c)
          for (size_t i = 0; i < p; ++i)
            for (size_t j = 0; j < p; ++j) patch[(c * p + i) * p + j] = image.x[(c * H + py * p + i) * W + px * p + j];
        const std::vector<double> y = linear(patch.data(), 1, C * p * p, w, 0, d, b, tie_shift_);
        std::copy(y.begin(), y.end(), out.row(first + py * gw + px));
      }
    if (cls)
      for (size_t j = 0; j < d; ++j) out.x[j] = cls->data[j];
    for (size_t t = 0; t < T; ++t)
      for (size_t j = 0; j < d; ++j) out.x[t * d + j] += pos.data[t * d + j];
    return out;
  }

  // ids [n] -> table[ids[t]] + pos[t].
  Value evaluate(const ops::TokenEmbed& op, const std::vector<int>& inputs) {
    const Value& ids = v_[inputs[0]];
    const GraphTensor& table = tensor(op.table);
    const GraphTensor& pos = tensor(op.pos_embed);
    const size_t vocab = size_t(table.shape[0]), d = size_t(table.shape[1]), n = ids.ids.size();
    if (n > size_t(pos.shape[0]))
      throw InputError(std::to_string(n) + " tokens, but the position embedding has " + std::to_string(pos.shape[0]));
    Value out;
    out.shape = {int64_t(n), int64_t(d)};
    out.x.resize(n * d);
    for (size_t t = 0; t < n; ++t) {
      const int32_t id = ids.ids[t];
      if (id < 0 || size_t(id) >= vocab)
        throw InputError("token id " + std::to_string(id) + " at position " + std::to_string(t) +
                         " is outside the vocabulary (0.." + std::to_string(vocab - 1) + ")");
      for (size_t j = 0; j < d; ++j) out.x[t * d + j] = double(table.data[size_t(id) * d + j]) + pos.data[t * d + j];
    }
    return out;
  }

  // Each row: (x - mean) / sqrt(var + eps) · w + b, var the biased variance.
  Value evaluate(const ops::LayerNorm& op, const std::vector<int>& inputs) {
    const Value& in = v_[inputs[0]];
    const GraphTensor& w = tensor(op.weight);
    const GraphTensor& b = tensor(op.bias);
    Value out = in;
    const size_t d = in.cols();
    for (size_t r = 0; r < in.rows(); ++r) {
      const double* x = in.row(r);
      double mean = 0, var = 0;
      for (size_t j = 0; j < d; ++j) mean += x[j];
      mean /= double(d);
      for (size_t j = 0; j < d; ++j) var += (x[j] - mean) * (x[j] - mean);
      var /= double(d);
      const double inv = 1.0 / std::sqrt(var + double(op.eps));
      double* y = out.row(r);
      for (size_t j = 0; j < d; ++j) y[j] = (x[j] - mean) * inv * double(w.data[j]) + double(b.data[j]);
    }
    return out;
  }

  Value evaluate(const ops::Dense& op, const std::vector<int>& inputs) {
    const Value& in = v_[inputs[0]];
    const GraphTensor& w = tensor(op.weight);
    const size_t out_features = size_t(w.shape[0]), in_features = size_t(w.shape[1]);
    Value out;
    out.shape = in.shape;
    out.shape.back() = int64_t(out_features);
    out.x = linear(in.x.data(), in.rows(), in_features, w, 0, out_features, optional(op.bias), tie_shift_);
    for (double& y : out.x) y = activate(op.activation, y);
    return out;
  }

  Value evaluate(const ops::Add&, const std::vector<int>& inputs) {
    const Value& b = v_[inputs[1]];
    Value out = v_[inputs[0]];
    for (size_t i = 0; i < out.x.size(); ++i) out.x[i] += b.x[i];
    return out;
  }

  // Super's token mixing, W_A[:n, :n]·X + b_A[:n].
  std::vector<double> mixed(const ops::Attention& op, const Value& X) {
    const size_t n = X.rows(), d = X.cols();
    const GraphTensor& wa = tensor(op.align_weight);
    const GraphTensor* ba = optional(op.align_bias);
    const size_t L = size_t(wa.shape[0]);
    std::vector<double> V(n * d, 0.0);
    for (size_t t = 0; t < n; ++t)
      for (size_t c = 0; c < d; ++c) {
        double acc = ba ? double(ba->data[t]) : 0.0;
        for (size_t s = 0; s < n; ++s) acc += double(wa.data[t * L + s]) * X.x[s * d + c];
        V[t * d + c] = acc;
      }
    return V;
  }

  // One self-attention layer of the spec (section 2), projections included.
  Value evaluate(const ops::Attention& op, const std::vector<int>& inputs) {
    const Value& X = v_[inputs[0]];
    const Value* ids = op.pad_id >= 0 ? &v_[inputs.at(1)] : nullptr;
    const size_t n = X.rows(), d = X.cols(), h = size_t(op.heads), dk = size_t(op.head_dim);
    const GraphTensor& wqkv = tensor(op.qkv_weight);
    const GraphTensor* bqkv = optional(op.qkv_bias);
    // Q from rows 0..d-1 of the stacked projection; K and V from where the
    // variant's traits say (variants.h): the next blocks of the projection,
    // X, or W_A[:n,:n] X + b_A[:n].
    const std::vector<double> Q = linear(X.x.data(), n, d, wqkv, 0, d, bqkv, tie_shift_);
    const VariantTraits& variant = traits_of(op.variant);
    auto rows_of = [&](RowSource source) {
      switch (source) {
        case RowSource::KeyProjection:
        case RowSource::ValueProjection:
          return linear(X.x.data(), n, d, wqkv, VariantTraits::block_of(source) * d, d, bqkv, tie_shift_);
        case RowSource::Mixed: return mixed(op, X);
        case RowSource::Input: break;
      }
      return X.x;
    };
    const std::vector<double> K = rows_of(variant.keys), V = rows_of(variant.values);
    // Mask: padding keys and, when causal, keys after the query.
    auto visible = [&](size_t t, size_t s) {
      if (op.causal && s > t) return false;
      if (ids && ids->ids[s] == op.pad_id) return false;
      return true;
    };
    const double scale = 1.0 / std::sqrt(double(dk));
    std::vector<double> H(n * d, 0.0), scores(n);
    for (size_t head = 0; head < h; ++head) {
      const size_t c0 = head * dk;
      for (size_t t = 0; t < n; ++t) {
        double top = -std::numeric_limits<double>::infinity();
        for (size_t s = 0; s < n; ++s) {
          if (!visible(t, s)) continue;
          double dot = 0;
          for (size_t c = 0; c < dk; ++c) dot += Q[t * d + c0 + c] * K[s * d + c0 + c];
          scores[s] = dot * scale;
          top = std::max(top, scores[s]);
        }
        if (std::isinf(top))
          throw InputError("query " + std::to_string(t) + " sees no key: every token is padding");
        double sum = 0;
        for (size_t s = 0; s < n; ++s) {
          scores[s] = visible(t, s) ? std::exp(scores[s] - top) : 0.0;
          sum += scores[s];
        }
        for (size_t s = 0; s < n; ++s) {
          if (scores[s] == 0.0) continue;
          const double p = scores[s] / sum;
          for (size_t c = 0; c < dk; ++c) H[t * d + c0 + c] += p * V[s * d + c0 + c];
        }
      }
    }
    Value out;
    out.shape = X.shape;
    out.x = linear(H.data(), n, d, tensor(op.out_weight), 0, d, optional(op.out_bias), tie_shift_);
    return out;
  }

  // [T, d] -> [d]: row 0 (class token) or the mean of the rows that are not
  // padding.
  Value evaluate(const ops::Pool& op, const std::vector<int>& inputs) {
    const Value& X = v_[inputs[0]];
    const Value* ids = op.pad_id >= 0 ? &v_[inputs.at(1)] : nullptr;
    const size_t d = X.cols();
    Value out;
    out.shape = {int64_t(d)};
    if (op.cls) {
      out.x.assign(X.row(0), X.row(0) + d);
      return out;
    }
    out.x.assign(d, 0.0);
    size_t count = 0;
    for (size_t t = 0; t < X.rows(); ++t) {
      if (ids && ids->ids[t] == op.pad_id) continue;
      ++count;
      for (size_t j = 0; j < d; ++j) out.x[j] += X.row(t)[j];
    }
    if (count == 0) throw InputError("every token is padding: nothing to average");
    for (double& y : out.x) y /= double(count);
    return out;
  }

  const Graph& g_;
  std::vector<Value> v_;
  double tie_shift_;
};

}  // namespace

std::vector<ReferenceTensor> run_reference(const Graph& graph, const std::vector<SampleTensorData>& inputs,
                                           double tie_shift) {
  return Evaluator(graph, tie_shift).run(inputs);
}

std::vector<std::vector<int64_t>> reference_output_shapes(const Graph& graph,
                                                          const std::vector<SampleTensorData>& inputs) {
  Evaluator e(graph, 0.0);
  return e.output_shapes(e.check(inputs));
}

}  // namespace attn::convert
