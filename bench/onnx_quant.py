#!/usr/bin/python3
"""ONNX Runtime's quantized graphs, built with the onnx package alone.

ONNX Runtime's own quantization tool (onnxruntime.quantization) is a pip
package; here only Debian's python3-onnx is at hand, so this module rewrites an
f32 ONNX model (as bench/compare_peers.py exports it) into the graphs that tool
would produce:

* ``int8``: dynamic int8. Each MatMul or Gemm whose weight B is a constant
  [K, N] becomes

      A_q, A_scale, A_zp = DynamicQuantizeLinear(A)          uint8, per tensor
      Y_i = MatMulInteger(A_q, W_q, A_zp, W_zp)               int32
      S   = Mul(A_scale, W_scale)                             [N]
      Y   = Mul(Cast(Y_i, float), S)  (+ Add(bias) for Gemm)

  with W_q int8, symmetric per output column (W_scale[n] = max_k |W[k, n]| / 127,
  codes in [-127, 127]) and W_zp the scalar int8 0. ONNX's MatMulInteger takes a
  per-column b_zero_point or a scalar; every column's zero point is 0 here, so
  the scalar is exact, and the per-column scales go into the float Mul after
  it. This is the DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul chain
  that ONNX Runtime fuses into its MatMulIntegerToFloat kernel.

* ``nbits``: com.microsoft MatMulNBits with bits 4 or 8 and blocks of
  ``block_size`` (32) along K. Its contract (ONNX Runtime's
  docs/ContribOperators.md): B is uint8 [N, k_blocks, blob_size] with
  k_blocks = ceil(K / block_size) and blob_size = block_size * bits / 8, codes
  packed low bits first along K; scales [N * k_blocks] float (the same
  values as [N, k_blocks], row-major); without zero_points the zero point is
  2^(bits-1). Dequantized weight = (code - 2^(bits-1)) * scale. We quantize
  symmetrically: scale = max|block| / (2^(bits-1) - 1), signed codes in
  [-(2^(bits-1)-1), 2^(bits-1)-1] (the code 0 is never used), stored as
  code + 2^(bits-1). K is padded with zeros to a whole block.
  ``accuracy_level`` 4 lets ONNX Runtime quantize A to int8 per block on the
  fly (the math attn's q8/q4 use); 0 computes in float32 with dequantized
  weights.

Before the rewrite, Transpose nodes of constant initializers are folded (a
torch export may leave W^T as Transpose(W)), and a MatMul's A may have batch
dimensions ([B, M, K] @ [K, N]): DynamicQuantizeLinear, MatMulInteger and
MatMulNBits all take them as they are. Gemm is handled with transB (and
alpha, beta); Gemm with transA is left alone. Convolutions (the ViTs' patch
projection) stay float32, as quantize_dynamic's MatMul-only default would
leave them.

    /usr/bin/python3 bench/onnx_quant.py model.onnx --mode int8 -o model.int8.onnx
    /usr/bin/python3 bench/onnx_quant.py model.onnx --mode nbits --bits 4 -o model.q4.onnx
    /usr/bin/python3 bench/onnx_quant.py --self-test    # layer checks against numpy float64 (needs bench/node_modules)
"""

import argparse
import os
import sys
import tempfile

import numpy as np
import onnx

import benchlib as bl  # bench/: the ONNX Runtime client
from onnx import TensorProto, helper, numpy_helper

MS_DOMAIN = "com.microsoft"
U = 2.0 ** -24  # unit roundoff of float32


# --- weights ------------------------------------------------------------------

def quantize_int8_columns(w):
    """W [K, N] float -> (codes int8 [K, N], scales float32 [N]); symmetric per column."""
    w = np.asarray(w, dtype=np.float32)
    amax = np.abs(w).max(axis=0)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


def dequantize_int8_columns(q, scale):
    return q.astype(np.float64) * scale.astype(np.float64)


def quantize_blocks(w, bits, block_size=32):
    """W [K, N] float -> (B uint8 [N, k_blocks, blob], scales float32 [N * k_blocks]),
    MatMulNBits' layout with the default zero point 2^(bits-1)."""
    if bits not in (4, 8):
        raise ValueError("bits must be 4 or 8")
    w = np.asarray(w, dtype=np.float32)
    K, N = w.shape
    nb = -(-K // block_size)
    wt = np.zeros((N, nb * block_size), dtype=np.float32)
    wt[:, :K] = w.T
    wt = wt.reshape(N, nb, block_size)
    qmax = 2 ** (bits - 1) - 1
    amax = np.abs(wt).max(axis=2)
    scale = np.where(amax > 0, amax / qmax, 1.0).astype(np.float32)
    q = np.clip(np.rint(wt / scale[:, :, None]), -qmax, qmax).astype(np.int32)
    codes = (q + 2 ** (bits - 1)).astype(np.uint8)  # [N, nb, block]
    if bits == 8:
        blob = codes
    else:  # two codes a byte, the first in the low nibble
        blob = (codes[:, :, 0::2] | (codes[:, :, 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(blob), scale.reshape(-1)


def dequantize_blocks(blob, scales, bits, K, N, block_size=32):
    """The float64 [K, N] weight MatMulNBits computes with (by its documented contract)."""
    nb = -(-K // block_size)
    if bits == 8:
        codes = blob.astype(np.int64)
    else:
        codes = np.empty((N, nb, block_size), dtype=np.int64)
        codes[:, :, 0::2] = blob & 0x0F
        codes[:, :, 1::2] = blob >> 4
    w = (codes - 2 ** (bits - 1)).astype(np.float64) * scales.reshape(N, nb, 1).astype(np.float64)
    return w.reshape(N, nb * block_size)[:, :K].T.copy()


# --- graph helpers --------------------------------------------------------------

def _initializers(graph):
    return {t.name: t for t in graph.initializer}


def _constant(graph, name, inits=None):
    """The value of `name` if it is an initializer, a Constant node's output or
    an Identity of one of those (a torch export shares equal tensors that way)."""
    inits = inits if inits is not None else _initializers(graph)
    if name in inits:
        return numpy_helper.to_array(inits[name])
    for n in graph.node:
        if n.output and n.output[0] == name:
            if n.op_type == "Constant":
                for a in n.attribute:
                    if a.name == "value":
                        return numpy_helper.to_array(a.t)
            elif n.op_type == "Identity":
                return _constant(graph, n.input[0], inits)
            return None
    return None


def fold_constant_transposes(graph):
    """Replace Transpose(initializer) by a transposed initializer; returns how many."""
    inits = _initializers(graph)
    graph_inputs = {i.name for i in graph.input}
    folded = 0
    for n in list(graph.node):
        if n.op_type != "Transpose" or n.input[0] not in inits or n.input[0] in graph_inputs:
            continue
        a = numpy_helper.to_array(inits[n.input[0]])
        perm = [x for at in n.attribute if at.name == "perm" for x in at.ints] or list(range(a.ndim))[::-1]
        graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(a.transpose(perm)), n.output[0]))
        graph.node.remove(n)
        folded += 1
    return folded


def _attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def remove_unused_initializers(graph):
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    keep = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)


def weight_candidates(graph):
    """(node, W [K, N] float32, bias or None) for each MatMul/Gemm with a constant 2-D weight."""
    inits = _initializers(graph)
    out = []
    for n in graph.node:
        if n.op_type == "MatMul":
            w = _constant(graph, n.input[1], inits)
            if w is None or w.ndim != 2 or w.dtype != np.float32:
                continue
            out.append((n, w, None))
        elif n.op_type == "Gemm":
            if _attr(n, "transA", 0):
                continue
            w = _constant(graph, n.input[1], inits)
            if w is None or w.ndim != 2 or w.dtype != np.float32:
                continue
            if _attr(n, "transB", 0):
                w = w.T
            w = (w * np.float32(_attr(n, "alpha", 1.0))).astype(np.float32)
            bias = None
            if len(n.input) > 2 and n.input[2]:
                c = _constant(graph, n.input[2], inits)
                if c is None:
                    continue  # a non-constant C: leave the Gemm alone
                bias = (c * np.float32(_attr(n, "beta", 1.0))).astype(np.float32)
            out.append((n, w, bias))
    return out


# --- the rewrite ----------------------------------------------------------------

def quantize_model(model, mode, bits=8, block_size=32, accuracy_level=4):
    """A copy of `model` with its constant-weight MatMul/Gemm nodes quantized.

    mode "int8": DynamicQuantizeLinear + MatMulInteger; mode "nbits": MatMulNBits.
    Returns (model, layers) where layers lists, per rewritten node, its name, K,
    N, the original weight W [K, N] (float32), the dequantized one W_deq
    (float64) the quantized graph multiplies with (read back from the stored
    codes by the operator's contract), and each weight's quantization step.
    """
    if mode not in ("int8", "nbits"):
        raise ValueError("mode must be int8 or nbits")
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    fold_constant_transposes(g)
    layers = []
    for idx, (node, w, bias) in enumerate(weight_candidates(g)):
        K, N = w.shape
        p = "q%d_" % idx
        y = node.output[0]
        a = node.input[0]
        y_mm = y if bias is None else p + "mm"
        new_nodes = []
        if mode == "int8":
            q, scale = quantize_int8_columns(w)
            g.initializer.extend([numpy_helper.from_array(q, p + "W_q"),
                                  numpy_helper.from_array(scale, p + "W_scale"),
                                  numpy_helper.from_array(np.array(0, dtype=np.int8), p + "W_zp")])
            new_nodes += [
                helper.make_node("DynamicQuantizeLinear", [a], [p + "A_q", p + "A_scale", p + "A_zp"], name=p + "dql"),
                helper.make_node("MatMulInteger", [p + "A_q", p + "W_q", p + "A_zp", p + "W_zp"], [p + "Y_i"],
                                 name=p + "mmi"),
                helper.make_node("Cast", [p + "Y_i"], [p + "Y_f"], to=TensorProto.FLOAT, name=p + "cast"),
                helper.make_node("Mul", [p + "A_scale", p + "W_scale"], [p + "S"], name=p + "scales"),
                helper.make_node("Mul", [p + "Y_f", p + "S"], [y_mm], name=p + "rescale"),
            ]
            w_deq = dequantize_int8_columns(q, scale)
            step = np.broadcast_to(scale.astype(np.float64), (K, N))
        else:
            blob, scales = quantize_blocks(w, bits, block_size)
            g.initializer.extend([numpy_helper.from_array(blob, p + "B"), numpy_helper.from_array(scales, p + "scales")])
            new_nodes.append(helper.make_node("MatMulNBits", [a, p + "B", p + "scales"], [y_mm], name=p + "mmnb",
                                              domain=MS_DOMAIN, K=K, N=N, bits=bits, block_size=block_size,
                                              accuracy_level=accuracy_level))
            w_deq = dequantize_blocks(blob, scales, bits, K, N, block_size)
            nb = -(-K // block_size)
            step = np.repeat(scales.reshape(N, nb).astype(np.float64), block_size, axis=1)[:, :K].T
        if bias is not None:
            g.initializer.append(numpy_helper.from_array(bias, p + "bias"))
            new_nodes.append(helper.make_node("Add", [y_mm, p + "bias"], [y], name=p + "bias_add"))
        # keep the topological order: the new nodes go where the old one was
        pos = list(g.node).index(node)
        g.node.remove(node)
        for k, nn in enumerate(new_nodes):
            g.node.insert(pos + k, nn)
        layers.append({"node": node.name or node.output[0], "op": node.op_type, "K": int(K), "N": int(N),
                       "w": w, "w_deq": w_deq, "step": step, "bias": bias})
    remove_unused_initializers(g)
    if mode == "int8":
        for o in m.opset_import:
            if o.domain in ("", "ai.onnx") and o.version < 10:
                o.version = 10  # MatMulInteger and DynamicQuantizeLinear need opset 10/11
    if mode == "nbits" and not any(o.domain == MS_DOMAIN for o in m.opset_import):
        m.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    return m, layers


def quantize_file(src, dst, mode, bits=8, block_size=32, accuracy_level=4):
    """Rewrite the ONNX file src into dst; returns the layer list (without arrays)."""
    model = onnx.load(src)
    q, layers = quantize_model(model, mode, bits, block_size, accuracy_level)
    tmp = dst + ".tmp"
    onnx.save(q, tmp)
    os.replace(tmp, dst)
    return layers


# --- error bounds -----------------------------------------------------------------
#
# A float32 dot product of K terms, summed in any order, differs from the exact
# sum by at most gamma_n * sum_k |a_k w_k| with gamma_n = n u / (1 - n u),
# u = 2^-24 (Higham, Accuracy and Stability, eq. 3.5). The kernels here add up to
# three more roundings per term (a weight's (code - zp) * scale, the Cast of the
# int32 sum to float, the product of two scales and its multiplication, a bias
# Add), so n = K + 4 covers every path. With activations quantized on the fly,
# the kernel multiplies A~ instead of A, and |A~ - A| <= delta per element,
# where delta is one quantization step: round-to-nearest gives half a step,
# and the whole step also covers a zero point rounded to an integer (and the
# saturation that can cause at the range's end in DynamicQuantizeLinear).
# Hence, per output element,
#   |y_ort - y_ref| <= sum_k |w_deq[k,n]| * delta_k + gamma_{K+4} * (sum_k (|a_k| + delta_k) |w_deq[k,n]| + |b_n|)
# where y_ref = A @ W_deq + b in float64 and delta = 0 when A stays float32.

def gamma(n):
    return n * U / (1 - n * U)


def activation_step(a, how, block_size=32):
    """delta [..., K] for the activation quantization `how`: None (float32 A),
    'tensor' (DynamicQuantizeLinear: uint8, one scale for the tensor:
    (max(x_max, 0) - min(x_min, 0)) / 255), or 'block' (int8 per block of
    block_size along K, scale max|block| / 127, as MatMulNBits' accuracy_level 4
    documents)."""
    a = np.asarray(a, dtype=np.float64)
    if how is None:
        return np.zeros_like(a)
    if how == "tensor":
        s = (max(a.max(), 0.0) - min(a.min(), 0.0)) / 255.0
        return np.full_like(a, s)
    K = a.shape[-1]
    nb = -(-K // block_size)
    pad = np.zeros(a.shape[:-1] + (nb * block_size,))
    pad[..., :K] = np.abs(a)
    s = pad.reshape(a.shape[:-1] + (nb, block_size)).max(axis=-1) / 127.0
    return np.repeat(s, block_size, axis=-1)[..., :K]


def layer_bound(a, w_deq, bias, how, block_size=32):
    """The elementwise bound above for y = a @ w_deq + bias."""
    a = np.asarray(a, dtype=np.float64)
    aw = np.abs(w_deq)
    delta = activation_step(a, how, block_size)
    b = 0.0 if bias is None else np.abs(bias.astype(np.float64))
    K = w_deq.shape[0]
    return delta @ aw + gamma(K + 4) * ((np.abs(a) + delta) @ aw + b)


# --- layer checks -------------------------------------------------------------------

def _graph(nodes, inits, a_shape, y_shape, opset=17):
    g = helper.make_graph(nodes, "layer", [helper.make_tensor_value_info("input", TensorProto.FLOAT, a_shape)],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, y_shape)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def layer_cases(rng):
    """Small f32 graphs of the forms a torch export produces: MatMul with a 3-D A,
    Gemm with transB and a bias, a weight behind a constant Transpose, and a K
    that is not a whole number of blocks."""
    cases = []
    K, N = 96, 40
    w = rng.standard_normal((K, N)).astype(np.float32) * 0.1
    cases.append(("matmul-3d", _graph([helper.make_node("MatMul", ["input", "W"], ["output"])], {"W": w},
                                      [2, 5, K], [2, 5, N]), rng.standard_normal((2, 5, K)).astype(np.float32)))
    K, N = 64, 24
    wt = rng.standard_normal((N, K)).astype(np.float32) * 0.1
    b = rng.standard_normal(N).astype(np.float32)
    cases.append(("gemm-transB", _graph([helper.make_node("Gemm", ["input", "W", "b"], ["output"], transB=1)],
                                        {"W": wt, "b": b}, [7, K], [7, N]),
                  rng.standard_normal((7, K)).astype(np.float32)))
    K, N = 48, 16  # 1.5 blocks: the last block is padded
    wt = rng.standard_normal((N, K)).astype(np.float32) * 0.1
    cases.append(("transpose-fed-K48", _graph([helper.make_node("Transpose", ["Wt"], ["W"], perm=[1, 0]),
                                               helper.make_node("MatMul", ["input", "W"], ["output"])],
                                              {"Wt": wt}, [1, 9, K], [1, 9, N]),
                  rng.standard_normal((1, 9, K)).astype(np.float32) * 3))
    return cases


QUANT_KINDS = [  # name, mode, bits, accuracy_level, activation quantization
    ("int8-dynamic", "int8", 8, None, "tensor"),
    ("nbits8-acc0", "nbits", 8, 0, None),
    ("nbits4-acc0", "nbits", 4, 0, None),
    ("nbits8-acc4", "nbits", 8, 4, "block"),
    ("nbits4-acc4", "nbits", 4, 4, "block"),
]


def self_test(ort=None, verbose=True):
    """Each quantized layer form in ONNX Runtime against numpy float64 with the
    dequantized weights, within layer_bound. Returns a list of result dicts;
    every one has ok False or True."""
    own = ort is None
    ort = ort or bl.OrtRunner()
    rng = np.random.default_rng(7)
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for case, model, x in layer_cases(rng):
                for kind, mode, bits, acc, how in QUANT_KINDS:
                    qm, layers = quantize_model(model, mode, bits, 32, acc if acc is not None else 4)
                    assert len(layers) == 1, "%s: expected one rewritten layer, got %d" % (case, len(layers))
                    L = layers[0]
                    path = os.path.join(tmp, "%s-%s.onnx" % (case, kind))
                    onnx.save(qm, path)
                    y = ort.run(path, x, tmp).astype(np.float64)
                    ref = x.astype(np.float64) @ L["w_deq"] + (0 if L["bias"] is None else L["bias"])
                    bound = layer_bound(x, L["w_deq"], L["bias"], how)
                    err = np.abs(y.reshape(ref.shape) - ref)
                    # The stored codes, read back by the operator's contract, against
                    # the original weights: round to nearest moves a weight by at most
                    # half a step s/2. w/s is computed in float32, off by at most
                    # u*|w/s| <= u*128 steps, which can round a value just past a
                    # half to the other side (and a scale rounded down can clip the
                    # largest weight by as much): s*(1/2 + 256u) covers both. A
                    # packing that does not follow the contract (nibbles swapped,
                    # blocks transposed) breaks this bound, since W_deq then holds
                    # other weights.
                    wchange = np.abs(L["w_deq"] - L["w"].astype(np.float64))
                    wbound = L["step"] * (0.5 + 256 * U)
                    ok = bool(np.all(err <= bound)) and bool(np.all(wchange <= wbound))
                    results.append({"case": case, "kind": kind, "max_abs_error": float(err.max()),
                                    "max_bound": float(bound.max()), "worst_error_over_bound": float((err / bound).max()),
                                    "ok": ok, "worst_weight_change_over_half_step": float((wchange / wbound).max())})
                    if verbose:
                        print("%-18s %-13s max|err| %.3g, worst err/bound %.3f, weights %.3f of a half step  %s" % (
                            case, kind, err.max(), (err / bound).max(), (wchange / wbound).max(),
                            "ok" if ok else "FAILED"))
    finally:
        if own:
            ort.close()
    return results


def main():
    ap = argparse.ArgumentParser(description="Rewrite an f32 ONNX model into ONNX Runtime's quantized graphs.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("model", nargs="?", help="f32 ONNX model")
    ap.add_argument("-o", "--output", help="output ONNX file")
    ap.add_argument("--mode", choices=("int8", "nbits"), default="int8")
    ap.add_argument("--bits", type=int, choices=(4, 8), default=4, help="MatMulNBits bits (default 4)")
    ap.add_argument("--block-size", type=int, default=32)
    ap.add_argument("--accuracy-level", type=int, default=4, help="MatMulNBits accuracy_level (default 4: int8 A)")
    ap.add_argument("--self-test", action="store_true", help="check each layer form in ONNX Runtime and exit")
    args = ap.parse_args()
    if args.self_test:
        res = self_test()
        bad = [r for r in res if not r["ok"]]
        print("%d passed, %d failed" % (len(res) - len(bad), len(bad)))
        sys.exit(1 if bad else 0)
    if not args.model or not args.output:
        ap.error("model and -o are required")
    layers = quantize_file(args.model, args.output, args.mode, args.bits, args.block_size, args.accuracy_level)
    for L in layers:
        print("%s %s K=%d N=%d" % (L["op"], L["node"], L["K"], L["N"]))
    print("%d layers quantized -> %s (%.2f MB, f32 %.2f MB)" % (len(layers), args.output,
                                                              os.path.getsize(args.output) / 1e6,
                                                              os.path.getsize(args.model) / 1e6))


if __name__ == "__main__":
    main()
