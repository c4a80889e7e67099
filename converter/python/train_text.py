#!/usr/bin/env python3
"""Train a small GPT on an English text Debian ships, in each attention variant.

    /usr/bin/python3 converter/python/train_text.py [--corpus kjv|fortunes] [--variants ...]
        [--steps N] [--decay-steps D] [--state DIR] [--threads T] [--d-model D]
        [--layers N] [--context L] [--batch B] [--lr LR]

Corpora (CORPORA below; each text is one document, followed by <|endoftext|>):
  kjv       the King James Bible of the `bible-kjv` package (read with its `bible`
            program), about 4.3 MB: one document per chapter, one verse per line,
            without the verse numbers.
  fortunes  every fortune of the `fortunes` and `fortunes-min` packages
            (/usr/share/games/fortunes/*, cookie files: fortunes separated by "%"
            lines), about 2.8 MB: one document per fortune.
Documents are assigned to the held-out split by a seeded shuffle (1 in 20).

Tokenizer: a byte-level BPE of 2048 tokens trained here on the training split
(GPT-2's pre-tokenizer and byte map; files vocab.json and merges.txt, the form
Hugging Face writes). GPT-2's own 50257 tokens would make the embedding 25 times
larger than the rest of this model.

Model (defaults): d 192, 6 heads of 32, 4 layers, mlp 768, context 128, gelu_tanh,
pre-norm, tied embedding.

Training: float32, AdamW (lr 2e-3, betas 0.9/0.98; weight decay 0.1 on the
matrices, none on biases, LayerNorms and Super Attention's W_A), GPT-2's
N(0, 0.02) initialisation, batch 16 x 128 tokens, seed 0. Learning rate: linear
warm-up over 50 steps, constant, then linear decay to zero over the last
--decay-steps. examples/<corpus>/README.md gives the arguments that made the
shipped checkpoints.

The constant part of the schedule does not depend on --steps, so with --state DIR
(each variant's model, optimiser and data-order state, saved every --state-every
steps and resumed from when present) a run can be stopped at a saved step N and
finished with --steps N+D --decay-steps D: on the same machine and thread count
the result is bit for bit that of one uninterrupted run with those arguments. The
variants given train in one process, one step each in turn, so they reach each
step together. The validation perplexity is logged every --eval-every steps
(training.json's "curve") for information only: the weights written are the
last step's.

Writes examples/<corpus>/tokenizer/{vocab.json, merges.txt} and, per variant,
examples/<corpus>/<variant>/{config.json, model.safetensors (F16),
training.json (parameters, validation perplexity, time, curve)}.
"""

import argparse
import glob
import json
import math
import os
import random
import re
import subprocess
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
FORTUNES_DIR = "/usr/share/games/fortunes"
VOCAB = 2048


def make_config(variant, d_model=192, layers=4, context=128, head_dim=32):
    return dict(family="gpt", attention=variant, d_model=d_model, heads=d_model // head_dim,
                layers=layers, mlp_dim=4 * d_model, context=context, activation="gelu_tanh",
                norm_first=True, layer_norm_eps=1e-5, qkv_bias=True, align_bias=True,
                vocab_size=VOCAB, weight_layout="linear")


def read_fortunes():
    texts = []
    for path in sorted(glob.glob(os.path.join(FORTUNES_DIR, "*"))):
        if os.path.splitext(path)[1] or os.path.islink(path) or not os.path.isfile(path):
            continue  # .dat indexes and .u8 links
        with open(path, encoding="utf-8", errors="replace") as f:
            for block in f.read().split("\n%\n"):
                block = block.strip("%\n")
                if block.strip():
                    texts.append(block + "\n")
    if not texts:
        sys.exit("no fortunes in %s: apt-get install fortunes" % FORTUNES_DIR)
    return texts


def read_kjv():
    """One text per chapter: its verses, one per line, without their references
    (the `bible` program prints "Ge1:1 In the beginning ...")."""
    try:
        out = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], check=True, capture_output=True,
                             text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit("cannot read the King James Bible (%s): apt-get install bible-kjv" % e)
    chapters = {}
    for line in out.splitlines():
        ref, _, verse = line.partition(" ")
        m = re.fullmatch(r"(\w+?)(\d+):\d+", ref)
        if not m or not verse:
            sys.exit("unexpected line from bible: %r" % line[:80])
        chapters.setdefault(m.group(1, 2), []).append(verse.strip())
    return ["\n".join(verses) + "\n" for verses in chapters.values()]


CORPORA = {"kjv": read_kjv, "fortunes": read_fortunes}


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


def perplexity(model, stream, context):
    """exp of the mean next-token loss over the stream cut into whole contexts."""
    model.eval()
    n = (len(stream) - 1) // context
    x = stream[:n * context].view(n, context)
    y = stream[1:n * context + 1].view(n, context)
    total = 0.0
    with torch.no_grad():
        for i in range(0, n, 64):
            logits = model(x[i:i + 64])
            total += F.cross_entropy(logits.reshape(-1, VOCAB), y[i:i + 64].reshape(-1),
                                     reduction="sum").item()
    model.train()
    return math.exp(total / (n * context))


WARMUP = 50


def lr_factor(step, steps, decay_steps):
    """Linear warm-up over WARMUP steps, constant, then linear decay to zero over the
    last decay_steps: the constant part does not depend on --steps, so a run can be
    stopped at any step N (--state) and finished with --steps N+D --decay-steps D."""
    f = min(1.0, (step + 1) / WARMUP)
    left = steps - step
    return f * min(1.0, left / decay_steps) if decay_steps else f


class Run:
    """One variant's model, optimiser and data order; step() takes one training step."""

    def __init__(self, variant, cfg, steps, decay_steps, seed=0, batch=16, lr=2e-3, weight_decay=0.1):
        self.variant, self.cfg, self.steps, self.decay_steps = variant, cfg, steps, decay_steps
        self.seed, self.lr, self.weight_decay, self.batch = seed, lr, weight_decay, batch
        torch.manual_seed(seed)
        self.gen = torch.Generator().manual_seed(seed)
        self.model = build_model(cfg)
        decay, no_decay = [], []
        for name, p in self.model.named_parameters():  # GPT-2's initialisation; W_A keeps its own
            if p.dim() == 2 and "align" not in name:
                torch.nn.init.normal_(p, std=0.02)
                decay.append(p)
            else:
                no_decay.append(p)
        self.opt = torch.optim.AdamW([dict(params=decay, weight_decay=weight_decay),
                                      dict(params=no_decay, weight_decay=0.0)],
                                     lr=lr, betas=(0.9, 0.98))
        self.done = 0  # steps taken
        self.seconds = 0.0
        self.curve = []

    def step(self, train):
        t0 = time.time()
        for g in self.opt.param_groups:
            g["lr"] = self.lr * lr_factor(self.done, self.steps, self.decay_steps)
        context = self.cfg["context"]
        starts = torch.randint(0, len(train) - context - 1, (self.batch,), generator=self.gen)
        x = torch.stack([train[s:s + context] for s in starts])
        y = torch.stack([train[s + 1:s + context + 1] for s in starts])
        loss = F.cross_entropy(self.model(x).reshape(-1, VOCAB), y.reshape(-1))
        self.opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        self.done += 1
        self.seconds += time.time() - t0
        return loss.item()

    def evaluate(self, valid):
        ppl = perplexity(self.model, valid, self.cfg["context"])
        self.curve.append(dict(step=self.done, valid_perplexity=round(ppl, 3)))
        print("%s step %d validation perplexity %.2f" % (self.variant, self.done, ppl), flush=True)
        return ppl

    def save_state(self, state_dir):
        os.makedirs(state_dir, exist_ok=True)
        path = os.path.join(state_dir, self.variant + ".pt")
        torch.save(dict(done=self.done, seconds=self.seconds, curve=self.curve, cfg=self.cfg,
                        batch=self.batch, lr=self.lr, weight_decay=self.weight_decay, seed=self.seed,
                        model=self.model.state_dict(), opt=self.opt.state_dict(),
                        gen=self.gen.get_state()), path + ".tmp")
        os.replace(path + ".tmp", path)

    def load_state(self, state_dir):
        path = os.path.join(state_dir, self.variant + ".pt")
        if not os.path.exists(path):
            return False
        st = torch.load(path)
        for k in ("cfg", "batch", "lr", "weight_decay", "seed"):
            if st[k] != getattr(self, k):
                sys.exit("%s: %s differs from this run's (%r, not %r)" % (path, k, st[k], getattr(self, k)))
        if st["done"] > self.steps - self.decay_steps:
            sys.exit("%s: step %d is past the start of this run's decay" % (path, st["done"]))
        self.model.load_state_dict(st["model"])
        self.opt.load_state_dict(st["opt"])
        self.gen.set_state(st["gen"])
        self.done, self.seconds, self.curve = st["done"], st["seconds"], st["curve"]
        print("%s: resumed at step %d" % (self.variant, self.done), flush=True)
        return True

    def result(self, ppl):
        cfg = self.cfg
        params = sum(p.numel() for p in self.model.parameters())
        attn = cfg["layers"] * attention_param_count(cfg["d_model"], cfg["context"], self.variant)
        return dict(parameters=params, attention_parameters=attn, valid_perplexity=round(ppl, 3),
                    train_seconds=round(self.seconds, 1), steps=self.done,
                    decay_steps=self.decay_steps, warmup_steps=WARMUP, batch=self.batch,
                    lr=self.lr, weight_decay=self.weight_decay, seed=self.seed, curve=self.curve)


def train_variants(variants, cfgs, train_stream, valid, steps, decay_steps, out_dir, eval_every,
                   state_dir, state_every, extra, **kw):
    """Trains the variants in turn, one step each (so they finish together)."""
    runs = [Run(v, cfgs[v], steps, decay_steps, **kw) for v in variants]
    if state_dir:
        for r in runs:
            r.load_state(state_dir)
    if len(set(r.done for r in runs)) > 1:
        sys.exit("the saved states are at different steps: resume the variants separately")
    t0 = time.time()
    start = runs[0].done
    for step in range(start, steps):
        if step > start:  # a resumed run evaluated and saved at its first step already
            if eval_every and step % eval_every == 0:
                for r in runs:
                    r.evaluate(valid)
            if state_dir and state_every and step % state_every == 0:
                for r in runs:
                    r.save_state(state_dir)
        for r in runs:
            loss = r.step(train_stream)
            if step % 100 == 0:
                print("%s step %d loss %.3f (%.0f s)" % (r.variant, step, loss, time.time() - t0),
                      flush=True)
    for r in runs:
        if state_dir and r.done > start:
            r.save_state(state_dir)
        ppl = r.evaluate(valid)
        d = os.path.join(out_dir, r.variant)
        export(r.model, r.cfg, d, dtype="F16")
        result = r.result(ppl)
        result.update(extra)
        with open(os.path.join(d, "training.json"), "w") as f:
            json.dump(result, f, indent=2, sort_keys=True)
            f.write("\n")
        print("%s: validation perplexity %.2f, %d parameters (%d attention), %.0f s"
              % (r.variant, ppl, result["parameters"], result["attention_parameters"], r.seconds),
              flush=True)


def keep_freed_memory():
    """Asks glibc's malloc to keep freed memory for reuse rather than return it
    to the system: every step allocates and frees the same large tensors, and
    with the default thresholds each one came back as fresh pages, page faults
    that took a third of the step's time on a virtual machine (18,500 a
    second). 32 MiB is the largest mmap threshold glibc accepts on 64-bit."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc: nothing to tune
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
    libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="kjv", choices=CORPORA)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--steps", type=int, default=1800)
    ap.add_argument("--d-model", type=int, default=192)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--eval-every", type=int, default=600, help="0: only at the end")
    ap.add_argument("--decay-steps", type=int, default=400,
                    help="the learning rate falls linearly to zero over the last N steps")
    ap.add_argument("--state", help="where to keep each variant's full training state (resumed from "
                    "if present)")
    ap.add_argument("--state-every", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", help="default: examples/<corpus>")
    ap.add_argument("--cache", default="/tmp", help="where the encoded token streams are kept")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    keep_freed_memory()

    args.out = args.out or os.path.join(REPO, "examples", args.corpus)
    train_texts, valid_texts = split(CORPORA[args.corpus]())
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
    cache = os.path.join(args.cache, "%s-tokens-%d.npz" % (args.corpus, len(merges)))
    if os.path.exists(cache):
        with np.load(cache) as z:
            train, valid = torch.from_numpy(z["train"]), torch.from_numpy(z["valid"])
    else:
        train = token_stream(enc, train_texts, eos)
        valid = token_stream(enc, valid_texts, eos)
        np.savez(cache + ".tmp.npz", train=train.numpy(), valid=valid.numpy())
        os.replace(cache + ".tmp.npz", cache)
    print("%d training texts (%d tokens), %d held out (%d tokens)"
          % (len(train_texts), len(train), len(valid_texts), len(valid)), flush=True)

    cfgs = {v: make_config(v, args.d_model, args.layers, args.context) for v in args.variants}
    train_variants(args.variants, cfgs, train, valid, args.steps, args.decay_steps, args.out,
                   args.eval_every, args.state, args.state_every,
                   dict(corpus=args.corpus, train_tokens=len(train), valid_tokens=len(valid)), batch=args.batch,
                   lr=args.lr, weight_decay=args.weight_decay)


if __name__ == "__main__":
    main()
