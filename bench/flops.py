#!/usr/bin/python3
"""Analytic FLOP counts of the benchmark models, per attention variant.

Two counts:

paper    The paper's way of counting an attention layer (Remarks 1-3 and its
         Eq. 24-style comparison): the multiplications of the attention layer's
         matrix products only, with a full n x n score matrix,
             standard   4 n d^2 + 2 n^2 d
             optimized  3 n d^2 + 2 n^2 d
             efficient  2 n d^2 + 2 n^2 d
             super      2 n d^2 + 3 n^2 d      (W_A X adds n^2 d)
         times 2 (multiply + add) times layers. No MLP, embeddings, head,
         biases, softmax or normalisation; no causal saving.

exact    Everything a run of the spec's formulas computes, with n the tokens of
         the run: every matrix product as 2 FLOPs per multiply-add (causal
         products over the lower triangle only: n(n+1)/2 pairs), one FLOP per
         bias add, residual add and pooling add, and these conventions for the
         rest (a transcendental function counts as one FLOP):
             LayerNorm   8 per element  (mean 1, variance 3, normalise+affine 4)
             softmax     6 per score    (scale, max, subtract, exp, sum, multiply)
             gelu        5 per element  (0.5 x (1 + erf(x / sqrt 2)))
             gelu_tanh   9 per element  (0.5 x (1 + tanh(c (x + 0.044715 x^3))))
             relu        1 per element
         The exact count is split into the runtime's operator classes (dense,
         attention, norm, activation, other) like attn-infer --profile.

bench/flops.h computes the same exact count in C++ for the Google Benchmark
binaries; `flops.py --check-cpp BINARY` compares the two.

Usage:
    /usr/bin/python3 bench/flops.py                 # table for bench/models
    /usr/bin/python3 bench/flops.py --json          # the same as JSON
    /usr/bin/python3 bench/flops.py --config c.json --tokens 128
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VARIANTS = ("standard", "optimized", "efficient", "super")
CLASSES = ("dense", "attention", "norm", "activation", "other")

LAYERNORM = 8
SOFTMAX = 6
ACTIVATION = {"gelu": 5, "gelu_tanh": 9, "relu": 1}


def default_tokens(config):
    """Tokens per run: the context, except gpt models (a 128-token prefill)."""
    if config["family"] == "gpt":
        return min(128, config["context"])
    return config["context"]


def paper_flops(config, tokens=None):
    """The paper-style count of the attention layers (FLOPs = 2 x multiplications)."""
    n = tokens or default_tokens(config)
    d = config["d_model"]
    nproj = {"standard": 4, "optimized": 3, "efficient": 2, "super": 2}[config["attention"]]
    mults = nproj * n * d * d + 2 * n * n * d
    if config["attention"] == "super":
        mults += n * n * d
    return 2 * mults * config["layers"]


def _pairs(n, causal):
    return n * (n + 1) // 2 if causal else n * n


def block_flops(config, n, causal):
    """Exact FLOPs of one transformer block, by operator class."""
    d, m, v = config["d_model"], config["mlp_dim"], config["attention"]
    f = dict.fromkeys(CLASSES, 0)
    qkv_bias = config.get("qkv_bias", True)
    nproj = {"standard": 3, "optimized": 2, "efficient": 1, "super": 1}[v]
    # Q/K/V and output projections
    f["dense"] += nproj * (2 * n * d * d + (n * d if qkv_bias else 0))
    f["dense"] += 2 * n * d * d + n * d
    # attention core: Q K^T and S V over the pairs, softmax over the scores
    pairs = _pairs(n, causal)
    f["attention"] += 2 * pairs * d * 2
    f["attention"] += SOFTMAX * pairs * config["heads"]
    if v == "super":
        f["attention"] += 2 * pairs * d + (n * d if config.get("align_bias", True) else 0)
    # MLP
    f["dense"] += 2 * n * d * m + n * m + 2 * n * m * d + n * d
    f["activation"] += ACTIVATION[config["activation"]] * n * m
    f["norm"] += 2 * LAYERNORM * n * d
    f["other"] += 2 * n * d  # residual adds
    return f


def exact_flops(config, tokens=None):
    """Exact FLOPs of one run, by operator class, plus "total"."""
    fam = config["family"]
    n = tokens or default_tokens(config)
    d = config["d_model"]
    f = dict.fromkeys(CLASSES, 0)
    if fam == "vit":
        H, W = config["image_size"]
        p, C = config["patch_size"], config["channels"]
        patches = (H // p) * (W // p)
        n = config["context"]
        f["dense"] += 2 * patches * C * p * p * d + patches * d
        f["other"] += n * d  # position embedding
    else:
        f["other"] += n * d  # position embedding (token embedding is a lookup)
    blk = block_flops(config, n, causal=(fam == "gpt"))
    for k in CLASSES:
        f[k] += blk[k] * config["layers"]
    if fam == "vit":
        f["norm"] += LAYERNORM * n * d
        if config["pool"] == "mean":
            f["other"] += n * d + d
        f["dense"] += 2 * d * config["num_classes"] + config["num_classes"]
    elif fam == "text":
        f["other"] += n * d + d  # mean pool
        width = d
        if config.get("pre_logits", 0) > 0:
            hid = config["pre_logits"]
            f["dense"] += 2 * d * hid + hid + hid  # with its ReLU
            width = hid
        f["dense"] += 2 * width * config["num_classes"] + config["num_classes"]
    else:
        f["norm"] += LAYERNORM * n * d
        f["dense"] += 2 * n * d * config["vocab_size"]
    f["total"] = sum(f[k] for k in CLASSES)
    return f


def load_models(models_dir=None):
    models_dir = models_dir or os.path.join(HERE, "models")
    with open(os.path.join(models_dir, "models.json")) as fh:
        index = json.load(fh)
    out = []
    for entry in index["models"]:
        configs = {}
        for v in index["variants"]:
            with open(os.path.join(models_dir, entry["name"], v + ".json")) as fh:
                configs[v] = json.load(fh)
        out.append((entry, configs))
    return out


def table(models_dir=None):
    rows = []
    for entry, configs in load_models(models_dir):
        std = configs["standard"]
        for v in VARIANTS:
            c = configs[v]
            n = entry["tokens"]
            ex = exact_flops(c, n)
            rows.append({
                "model": entry["name"], "variant": v, "tokens": n,
                "paper_flops": paper_flops(c, n), "exact_flops": ex["total"],
                "exact_by_class": {k: ex[k] for k in CLASSES},
                "paper_speedup": paper_flops(std, n) / paper_flops(c, n),
                "exact_speedup": exact_flops(std, n)["total"] / ex["total"],
            })
    return rows


def check_cpp(binary, models_dir=None):
    """Compare with the C++ count printed by `bench_models --print_flops=CONFIG:TOKENS`."""
    bad = 0
    for entry, configs in load_models(models_dir):
        for v, c in configs.items():
            path = os.path.join(models_dir or os.path.join(HERE, "models"), entry["name"], v + ".json")
            out = subprocess.run([binary, "--print_flops=%s:%d" % (path, entry["tokens"])],
                                 check=True, capture_output=True, text=True).stdout
            got = json.loads(out)
            want = exact_flops(c, entry["tokens"])
            for k in CLASSES + ("total",):
                if got[k] != want[k]:
                    print("%s/%s %s: C++ %d, Python %d" % (entry["name"], v, k, got[k], want[k]))
                    bad += 1
    print("flops: C++ and Python %s" % ("agree" if not bad else "differ in %d places" % bad))
    return bad == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models-dir", default=None, help="model definitions (default bench/models)")
    ap.add_argument("--config", help="one config.json instead of the benchmark models")
    ap.add_argument("--tokens", type=int, help="tokens per run (default: context; gpt 128)")
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument("--check-cpp", metavar="BINARY", help="compare with bench_models --print_flops")
    a = ap.parse_args()
    if a.check_cpp:
        sys.exit(0 if check_cpp(a.check_cpp, a.models_dir) else 1)
    if a.config:
        with open(a.config) as fh:
            c = json.load(fh)
        r = {"paper_flops": paper_flops(c, a.tokens), "exact": exact_flops(c, a.tokens)}
        print(json.dumps(r, indent=2))
        return
    rows = table(a.models_dir)
    if a.json:
        print(json.dumps(rows, indent=2))
        return
    print("| model | variant | tokens | paper GFLOP | exact GFLOP | predicted speed-up (paper) | predicted speed-up (exact) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print("| %s | %s | %d | %.4f | %.4f | %.2f | %.2f |" % (
            r["model"], r["variant"], r["tokens"], r["paper_flops"] / 1e9, r["exact_flops"] / 1e9,
            r["paper_speedup"], r["exact_speedup"]))


if __name__ == "__main__":
    main()
