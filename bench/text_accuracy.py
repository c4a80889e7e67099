#!/usr/bin/python3
"""How far f16, q8, q4 and q8c move a trained GPT from its f32 model, over held-out text.

For each checkpoint (default: the four GPTs of examples/<corpus>, trained by
converter/python/train_text.py), this converts it with attn-convert --weights
f32|f16|q8|q4|q8c, cuts the corpus's held-out texts (train_text.py's split and token
stream) into whole windows of the model's context, runs every window through attn-infer in each format, and reports, per
format, against f32 at every next-token position:

    top-1 agreement   how often the arg-max is f32's
    mean KL           KL(f32 || format) of the next-token distributions, in nats
    perplexity        exp of the mean cross-entropy of the actual next tokens

Softmax, KL and cross-entropy are computed in float64 from the float32 logits.

    /usr/bin/python3 bench/text_accuracy.py [--corpus kjv|fortunes] --windows 40
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import benchlib as bl

sys.path.insert(0, os.path.join(bl.ROOT, "converter", "python"))
import train_text as tt  # noqa: E402
from attn_torch import bpe  # noqa: E402

FORMATS = ("f32", "f16", "q8", "q4", "q8c")


def held_out_windows(corpus, tokenizer_dir, context, count):
    """[count, context] int32 windows of the held-out token stream, from its start."""
    with open(os.path.join(tokenizer_dir, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(tokenizer_dir, "merges.txt"), encoding="utf-8") as f:
        merges = [tuple(line.rstrip("\n").split(" ")) for line in f.readlines()[1:]]
    enc = bpe.Encoder(vocab, merges)
    _, valid_texts = tt.split(tt.CORPORA[corpus]())
    stream = tt.token_stream(enc, valid_texts, vocab[bpe.END_OF_TEXT]).numpy()
    count = min(count, len(stream) // context)
    return stream[: count * context].reshape(count, context).astype(np.int32)


def log_softmax(logits):
    x = logits.astype(np.float64)
    x -= x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def measure(build, corpus, checkpoint, tokenizer_dir, windows_count, scratch):
    with open(os.path.join(checkpoint, "config.json")) as f:
        context = json.load(f)["context"]
    windows = held_out_windows(corpus, tokenizer_dir, context, windows_count)
    ids_path = os.path.join(scratch, "windows.npy")
    np.save(ids_path, windows)
    rows, sizes, logp = [], {}, {}
    for fmt in FORMATS:
        model = os.path.join(scratch, "%s-%s.attnmodel" % (os.path.basename(checkpoint), fmt))
        subprocess.run([bl.tool(build, "attn-convert"), checkpoint, "--tokenizer", tokenizer_dir, "--weights", fmt,
                        "-o", model, "-q"], check=True)
        out = os.path.join(scratch, "logits-%s.npy" % fmt)
        subprocess.run([bl.tool(build, "attn-infer"), model, "-i", ids_path, "-o", out, "-q"], check=True)
        # Position t predicts token t + 1: the last position of a window has no target here.
        logp[fmt] = log_softmax(np.load(out)[:, :-1, :])
        sizes[fmt] = os.path.getsize(model)
    targets = windows[:, 1:]
    ref = logp["f32"]
    ref_p = np.exp(ref)
    for fmt in FORMATS:
        lp = logp[fmt]
        nll = -np.take_along_axis(lp, targets[..., None], axis=-1).mean()
        row = dict(format=fmt, size=sizes[fmt], perplexity=float(np.exp(nll)), positions=int(targets.size))
        if fmt != "f32":
            row["top1"] = float((lp.argmax(-1) == ref.argmax(-1)).mean())
            row["kl"] = float((ref_p * (ref - lp)).sum(-1).mean())
        rows.append(row)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=bl.DEFAULT_BUILD)
    ap.add_argument("--corpus", default="kjv", choices=tt.CORPORA)
    ap.add_argument("--checkpoints", help="comma-separated (default examples/CORPUS/<variant>)")
    ap.add_argument("--tokenizer", help="default examples/CORPUS/tokenizer")
    ap.add_argument("--windows", type=int, default=40, help="held-out windows of the model's context (default 40)")
    args = ap.parse_args()
    examples = os.path.join(bl.ROOT, "examples", args.corpus)
    args.checkpoints = args.checkpoints or ",".join(os.path.join(examples, v) for v in bl.VARIANTS)
    args.tokenizer = args.tokenizer or os.path.join(examples, "tokenizer")
    print("| model | weights | file | top-1 agreement with f32 | mean KL(f32 ‖ format) | perplexity |")
    print("|---|---|---:|---:|---:|---:|")
    positions = 0
    with tempfile.TemporaryDirectory() as scratch:
        for checkpoint in bl.split_list(args.checkpoints):
            for r in measure(args.build, args.corpus, checkpoint, args.tokenizer, args.windows, scratch):
                positions = r["positions"]
                print("| %s | %s | %.2f MiB | %s | %s | %.2f |" % (
                    os.path.basename(checkpoint), r["format"], r["size"] / 2**20,
                    "%.2f%%" % (100 * r["top1"]) if "top1" in r else "–",
                    "%.1e" % r["kl"] if "kl" in r else "–", r["perplexity"]), flush=True)
    print("\nnext-token positions per model: %d (held-out windows of the model's context)" % positions)


if __name__ == "__main__":
    main()
