#!/usr/bin/env python3
"""Train a small GPT on the fortunes Debian ships, in each attention variant.

    /usr/bin/python3 converter/python/train_fortunes.py [--variants ...] [--steps N] [--threads T]

Data: every fortune of the `fortunes` and `fortunes-min` packages
(/usr/share/games/fortunes/*, cookie files: fortunes separated by "%" lines),
about 2.8 MB of English. Fortunes are assigned to the held-out split by a
seeded shuffle (1 in 20). Each fortune is followed by <|endoftext|>, so a
generated fortune ends with that token.

Tokenizer: a byte-level BPE of 2048 tokens trained here on the training split
(GPT-2's pre-tokenizer and byte map; files vocab.json and merges.txt, the form
Hugging Face writes). GPT-2's own 50257 tokens would make the embedding 25 times
larger than the rest of this model.

Model: d 128, 4 heads, 4 layers, mlp 512, context 64, gelu_tanh, pre-norm, tied
embedding (fortunes are short: most fit in 64 tokens). Training: float32, AdamW,
GPT-2's N(0, 0.02) initialisation, batch 16 x 64 tokens, warm-up then cosine
learning rate, fixed seeds, --steps steps (default 800: 25-30 minutes with the four variants in parallel
on a busy 2-core machine).

Writes examples/fortunes/tokenizer/{vocab.json, merges.txt} and, per variant,
examples/fortunes/<variant>/{config.json, model.safetensors (F16),
training.json (parameters, validation perplexity, time)}.
"""

import argparse
import glob
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attn_torch import VARIANTS, build_model, export  # noqa: E402
from attn_torch import bpe  # noqa: E402
from attn_torch.models import attention_param_count  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, "examples", "fortunes")
DATA_DIR = "/usr/share/games/fortunes"
VOCAB = 2048
CONTEXT = 64


def make_config(variant):
    return dict(family="gpt", attention=variant, d_model=128, heads=4, layers=4, mlp_dim=512,
                context=CONTEXT, activation="gelu_tanh", norm_first=True, layer_norm_eps=1e-5,
                qkv_bias=True, align_bias=True, vocab_size=VOCAB, weight_layout="linear")


def read_fortunes():
    texts = []
    for path in sorted(glob.glob(os.path.join(DATA_DIR, "*"))):
        if os.path.splitext(path)[1] or os.path.islink(path) or not os.path.isfile(path):
            continue  # .dat indexes and .u8 links
        with open(path, encoding="utf-8", errors="replace") as f:
            for block in f.read().split("\n%\n"):
                block = block.strip("%\n")
                if block.strip():
                    texts.append(block + "\n")
    if not texts:
        sys.exit("no fortunes in %s: apt-get install fortunes" % DATA_DIR)
    return texts


def split(texts, seed=0):
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    held = set(order[::20])
    train = [t for i, t in enumerate(texts) if i not in held]
    valid = [t for i, t in enumerate(texts) if i in held]
    return train, valid


def token_stream(enc, texts, eos):
    ids = []
    for t in texts:
        ids.extend(enc.encode(t))
        ids.append(eos)
    return torch.tensor(ids, dtype=torch.long)


def perplexity(model, stream):
    """exp of the mean next-token loss over the stream cut into whole contexts."""
    model.eval()
    n = (len(stream) - 1) // CONTEXT
    x = stream[:n * CONTEXT].view(n, CONTEXT)
    y = stream[1:n * CONTEXT + 1].view(n, CONTEXT)
    total = 0.0
    with torch.no_grad():
        for i in range(0, n, 64):
            logits = model(x[i:i + 64])
            total += F.cross_entropy(logits.reshape(-1, VOCAB), y[i:i + 64].reshape(-1),
                                     reduction="sum").item()
    model.train()
    return math.exp(total / (n * CONTEXT))


def train_variant(variant, train, valid, steps, out_dir, seed=0, batch=16, lr=3e-3):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    cfg = make_config(variant)
    model = build_model(cfg)
    for name, p in model.named_parameters():  # GPT-2's initialisation; W_A keeps its own
        if p.dim() == 2 and "align" not in name:
            torch.nn.init.normal_(p, std=0.02)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.98))
    warmup = steps // 20
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    t0 = time.time()
    for step in range(steps):
        starts = torch.randint(0, len(train) - CONTEXT - 1, (batch,), generator=gen)
        x = torch.stack([train[s:s + CONTEXT] for s in starts])
        y = torch.stack([train[s + 1:s + CONTEXT + 1] for s in starts])
        loss = F.cross_entropy(model(x).reshape(-1, VOCAB), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0:
            print("%s step %d loss %.3f (%.0f s)" % (variant, step, loss.item(), time.time() - t0),
                  flush=True)
    seconds = time.time() - t0
    ppl = perplexity(model, valid)
    export(model, cfg, os.path.join(out_dir, variant), dtype="F16")
    params = sum(p.numel() for p in model.parameters())
    attn = cfg["layers"] * attention_param_count(cfg["d_model"], CONTEXT, variant)
    print("%s: validation perplexity %.2f, %d parameters (%d attention), %.0f s"
          % (variant, ppl, params, attn, seconds), flush=True)
    return dict(parameters=params, attention_parameters=attn, valid_perplexity=round(ppl, 3),
                train_seconds=round(seconds, 1), steps=steps)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--cache", default="/tmp", help="where the encoded token streams are kept")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    train_texts, valid_texts = split(read_fortunes())
    tok_dir = os.path.join(args.out, "tokenizer")
    if os.path.exists(os.path.join(tok_dir, "vocab.json")):
        with open(os.path.join(tok_dir, "vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        with open(os.path.join(tok_dir, "merges.txt"), encoding="utf-8") as f:
            merges = [tuple(l.rstrip("\n").split(" ")) for l in f.readlines()[1:]]
    else:
        vocab, merges = bpe.train_bpe(train_texts, VOCAB)
        bpe.save(vocab, merges, tok_dir)
    enc = bpe.Encoder(vocab, merges)
    eos = vocab[bpe.END_OF_TEXT]
    # Encoding in Python takes a minute; variants trained in parallel share it.
    cache = os.path.join(args.cache, "fortunes-tokens-%d.npz" % len(merges))
    if os.path.exists(cache):
        with np.load(cache) as z:
            train, valid = torch.from_numpy(z["train"]), torch.from_numpy(z["valid"])
    else:
        train = token_stream(enc, train_texts, eos)
        valid = token_stream(enc, valid_texts, eos)
        np.savez(cache + ".tmp.npz", train=train.numpy(), valid=valid.numpy())
        os.replace(cache + ".tmp.npz", cache)
    print("%d training fortunes (%d tokens), %d held out (%d tokens)"
          % (len(train_texts), len(train), len(valid_texts), len(valid)), flush=True)

    for v in args.variants:
        result = train_variant(v, train, valid, args.steps, args.out)
        result.update(train_tokens=len(train), valid_tokens=len(valid))
        with open(os.path.join(args.out, v, "training.json"), "w") as f:
            json.dump(result, f, indent=2, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
