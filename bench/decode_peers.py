#!/usr/bin/python3
"""Token-by-token decoding: attn's cache against PyTorch with its own cache.

For each variant of a gpt model (default: the GPT-2 124M shape of
bench/models/gpt2-124m, made by make_models.py --large), both stacks prefill
--prefill tokens, then decode --decode tokens one at a time, interleaved in
rounds. PyTorch keeps what each variant's keys and values are made of, as attn
does (standard K and V; optimized K and the layer input; efficient the input
once; super the input and the W_A-mixed values). Its cached logits are checked
against its own full forward pass first, so both stacks do the same work.

    /usr/bin/python3 bench/decode_peers.py --models-dir build/bench-models --threads 1,2

Writes a markdown table (stdout, and --out FILE.md) with tokens/s, the ratio to
attn, and the cache's bytes per token, plus attn's decode cost by position.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

import benchlib as bl

import torch
from attn_torch import load_model  # benchlib puts converter/python on the path
from compare_peers import set_torch_threads


class TorchDecoder:
    """Incremental decoding of an attn_torch GPT with a per-variant cache."""

    def __init__(self, model):
        self.model = model.eval()
        self.layers = list(model.transformer.h)
        self.reset()

    def reset(self):
        self.position = 0
        self.keys = [[] for _ in self.layers]    # per layer: list of [1, d] rows
        self.values = [[] for _ in self.layers]

    @torch.no_grad()
    def step(self, ids):
        """Appends ids (a list) and returns the last position's logits."""
        t = self.model.transformer
        n = len(ids)
        pos = torch.arange(self.position, self.position + n)
        x = t.wte(torch.tensor(ids)) + t.wpe(pos)  # [n, d]
        for i, blk in enumerate(self.layers):
            h = getattr(blk, blk.names["norm1"])(x)
            x = x + self.attend(i, blk.attn, h)
            x = x + blk.mlp(getattr(blk, blk.names["norm2"])(x))
        self.position += n
        x = t.ln_f(x[-1:])
        head = self.model.lm_head.weight if self.model.lm_head is not None else t.wte.weight
        return torch.matmul(x, head.t())[0]

    def attend(self, i, attn, h):
        n, d = h.shape
        q, k, v = attn.project(h[None])  # [1, n, d] each
        q, k, v = q[0], k[0], v[0]
        variant = attn.variant
        if variant == "efficient":
            self.keys[i].append(h)  # keys and values are the input: once
            keys = values = torch.cat(self.keys[i])
        elif variant == "super":
            self.keys[i].append(h)
            keys = torch.cat(self.keys[i])
            align = attn._m("align")
            w = align.effective_weight()[self.position:self.position + n, :self.position + n]
            mixed = torch.matmul(w, keys)
            if align.bias is not None:
                mixed = mixed + align.bias[self.position:self.position + n, None]
            self.values[i].append(mixed)  # causal W_A: final once computed
            values = torch.cat(self.values[i])
        else:  # standard: K, V; optimized: K, the input
            self.keys[i].append(k)
            self.values[i].append(v)
            keys, values = torch.cat(self.keys[i]), torch.cat(self.values[i])
        heads, dk = attn.heads, attn.dk
        total = keys.shape[0]
        qh = q.reshape(n, heads, dk).transpose(0, 1)
        kh = keys.reshape(total, heads, dk).transpose(0, 1)
        vh = values.reshape(total, heads, dk).transpose(0, 1)
        scores = torch.matmul(qh, kh.transpose(-1, -2)) / math.sqrt(dk)
        if n > 1:
            future = torch.ones(n, total, dtype=torch.bool).triu(total - n + 1)
            scores = scores.masked_fill(future, float("-inf"))
        out = torch.matmul(torch.softmax(scores, dim=-1), vh).transpose(0, 1).reshape(n, d)
        return attn._m("proj")(out)


def check_against_full(decoder, ids):
    """The cached logits of every position against a full forward pass."""
    with torch.no_grad():
        full = decoder.model(torch.tensor([ids]))[0]
    decoder.reset()
    worst = 0.0
    for t, token in enumerate(ids):
        step = decoder.step([token])
        worst = max(worst, float((step - full[t]).abs().max()))
    tol = 1e-4 * max(1.0, float(full.abs().max()))
    if worst > tol:
        sys.exit("PyTorch's cached decoding differs from its full pass by %.3g (tolerance %.3g)" % (worst, tol))
    return worst


def torch_decode_rate(decoder, ids, prefill, count):
    decoder.reset()
    decoder.step(ids[:prefill])
    t0 = time.perf_counter()
    for i in range(count):
        decoder.step([ids[prefill + i]])
    return count / (time.perf_counter() - t0)


def linear_fit(xs, ys):
    """y = a + b·x by least squares; also the largest |y - fit| / fit."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    a = my - b * mx
    return a, b, max(abs(y - (a + b * x)) / (a + b * x) for x, y in zip(xs, ys))


def attn_bench(infer, model, prefill, count, threads):
    out = subprocess.run([infer, model, "--bench", "--tokens", str(prefill), "--decode", str(count), "--iters", "3",
                          "--threads", str(threads), "--json", "-q"], capture_output=True, text=True)
    if out.returncode:
        sys.exit("attn-infer failed: " + out.stderr)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models-dir", default=bl.DEFAULT_OUT)
    ap.add_argument("--build", default=bl.DEFAULT_BUILD)
    ap.add_argument("--model", default="gpt2-124m")
    ap.add_argument("--variants", default=",".join(bl.VARIANTS))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--prefill", type=int, default=128)
    ap.add_argument("--decode", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", help="also write the markdown here")
    args = ap.parse_args()
    infer = bl.tool(args.build, "attn-infer")
    rows, curves = [], {}
    for variant in bl.split_list(args.variants):
        ckpt = bl.checkpoint_dir(args.models_dir, args.model, variant)
        attnmodel = bl.attnmodel_path(args.models_dir, args.model, variant)
        if not os.path.exists(attnmodel):
            sys.exit("%s is missing: run bench/make_models.py (--large for gpt2-124m) first" % attnmodel)
        model, config = load_model(ckpt)
        model = model.float()
        decoder = TorchDecoder(model)
        g = torch.Generator().manual_seed(7)
        ids = torch.randint(0, config["vocab_size"], (args.prefill + args.decode,), generator=g).tolist()
        check_against_full(decoder, ids[:24])
        cache_floats = {"efficient": 1}.get(variant, 2) * config["layers"] * config["d_model"]
        for threads in [int(t) for t in args.threads.split(",")]:
            set_torch_threads(threads)  # PyTorch's and OpenBLAS's threads
            attn_rates, torch_rates = [], []
            for _ in range(args.rounds):  # interleaved, so drift falls on both
                j = attn_bench(infer, attnmodel, args.prefill, args.decode, threads)
                attn_rates.append(j["generation"][0]["decode_tokens_per_s"])
                torch_rates.append(torch_decode_rate(decoder, ids, args.prefill, args.decode))
                if threads == 1:
                    curves[variant] = j["decode_curve"]
            a, p = sorted(attn_rates)[len(attn_rates) // 2], sorted(torch_rates)[len(torch_rates) // 2]
            rows.append((variant, threads, a, p, j["cache_bytes_per_token"], cache_floats * 4))
            print("%s, %d thread(s): attn %.1f tokens/s, PyTorch %.1f tokens/s" % (variant, threads, a, p),
                  file=sys.stderr)
    md = ["Decoding %d tokens after a %d-token prefill, %s, median of %d interleaved rounds.\n"
          % (args.decode, args.prefill, args.model, args.rounds),
          "| variant | threads | attn tokens/s | PyTorch tokens/s | attn / PyTorch | cache bytes/token | expected |",
          "|---|---:|---:|---:|---:|---:|---:|"]
    for variant, threads, a, p, cache, expected in rows:
        md.append("| %s | %d | %.1f | %.1f | %.2fx | %d | %d |" % (variant, threads, a, p, a / p, cache, expected))
    md.append("\nattn's decode cost per token by position (1 thread):\n")
    positions = [pt["position"] for pt in next(iter(curves.values()))]
    md.append("| variant | " + " | ".join("pos %d" % x for x in positions) + " |")
    md.append("|---|" + "---:|" * len(positions))
    for variant, curve in curves.items():
        md.append("| %s | " % variant + " | ".join("%.0f us" % pt["us_per_token"] for pt in curve) + " |")
    md.append("\nA straight line fitted to each curve (least squares), and the curve's largest distance from it:\n")
    md.append("| variant | us at position 0 | us per position | largest deviation |")
    md.append("|---|---:|---:|---:|")
    for variant, curve in curves.items():
        a, b, worst = linear_fit([pt["position"] for pt in curve], [pt["us_per_token"] for pt in curve])
        md.append("| %s | %.0f | %.2f | %.1f%% |" % (variant, a, b, 100 * worst))
    text = "\n".join(md) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
