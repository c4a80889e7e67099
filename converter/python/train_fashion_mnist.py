#!/usr/bin/env python3
"""Train a small ViT on Fashion-MNIST in each attention variant and export it.

    /usr/bin/python3 converter/python/train_fashion_mnist.py [--epochs N] [--variants ...]

For each variant writes examples/fashion-mnist/<variant>/{config.json,
model.safetensors} (float32) and, at the end, examples/fashion-mnist/
pytorch_accuracy.json with the PyTorch test accuracy and training time.

Input convention: images are pixel/255 (float32 in [0, 1], [1, 28, 28]) with no
mean/std normalisation, so a runtime needs no normalisation constants.
Model: 28x28x1 image, patch 7 (16 tokens), d_model 64, 4 heads, 2 layers,
mlp_dim 128, mean pool, gelu, pre-norm. Training: float32, Adam, batch 128,
one-cycle (warm-up + cosine) learning rate, fixed seeds, 5 epochs
(about 70 s per variant with one thread on a 2-core machine).
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attn_torch import VARIANTS, build_model, export, load_model  # noqa: E402
from fashion_mnist_npy import DATA_DIR, load  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, "examples", "fashion-mnist")


def make_config(variant):
    return dict(family="vit", attention=variant, d_model=64, heads=4, layers=2, mlp_dim=128,
                context=16, activation="gelu", norm_first=True, layer_norm_eps=1e-6,
                qkv_bias=True, align_bias=True, image_size=[28, 28], channels=1, patch_size=7,
                pool="mean", num_classes=10)


def evaluate(model, images, labels, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            correct += (model(images[i:i + batch]).argmax(-1) == labels[i:i + batch]).sum().item()
    return correct / len(images)


def train_variant(variant, train, test, epochs, batch, lr, seed, log=print):
    torch.manual_seed(seed)
    cfg = make_config(variant)
    model = build_model(cfg)  # float32, split q/k/v
    x_train, y_train = train
    steps_per_epoch = math.ceil(len(x_train) / batch)
    total = epochs * steps_per_epoch
    warmup = max(1, int(0.05 * total))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warmup if s < warmup
        else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup))))
    gen = torch.Generator().manual_seed(seed)
    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x_train), generator=gen)
        run_loss, seen = 0.0, 0
        for i in range(0, len(x_train), batch):
            idx = perm[i:i + batch]
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            run_loss += loss.item() * len(idx)
            seen += len(idx)
        log("  %-9s epoch %d/%d  loss %.4f  %.0fs" % (variant, epoch + 1, epochs,
                                                        run_loss / seen, time.time() - t0))
    seconds = time.time() - t0
    acc = evaluate(model, *test)
    return model, cfg, acc, seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    # one intra-op thread is faster than two for these small matrices (measured on a
    # busy 2-core machine: ~25 ms vs 60-80 ms per batch)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--data-dir", default=DATA_DIR)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    xtr, ytr = load("train", args.data_dir)
    xte, yte = load("t10k", args.data_dir)
    train = (torch.from_numpy(xtr), torch.from_numpy(ytr).long())
    test = (torch.from_numpy(xte), torch.from_numpy(yte).long())

    results = {}
    for variant in args.variants:
        model, cfg, acc, seconds = train_variant(variant, train, test, args.epochs, args.batch,
                                                 args.lr, args.seed)
        out_dir = os.path.join(args.out, variant)
        export(model, cfg, out_dir, dtype="F32",
               metadata={"dataset": "fashion-mnist", "input": "pixel/255",
                         "test_accuracy": "%.4f" % acc})
        nparams = sum(p.numel() for p in model.parameters())
        # the exported file, read back and run in float64, must classify the same way
        reloaded, _ = load_model(out_dir)
        acc64 = evaluate(reloaded, test[0].double(), test[1])
        results[variant] = {"test_accuracy": round(acc, 4),
                            "reloaded_float64_accuracy": round(acc64, 4),
                            "train_seconds": round(seconds, 1),
                            "epochs": args.epochs, "parameters": nparams}
        print("%-9s test accuracy %.4f  (%d parameters, %.0fs) -> %s"
              % (variant, acc, nparams, seconds, out_dir))

    summary = {
        "dataset": "Fashion-MNIST t10k (10000 images), inputs pixel/255",
        "framework": "PyTorch %s, float32" % torch.__version__,
        "training": {"epochs": args.epochs, "batch": args.batch, "optimizer": "Adam",
                     "lr": args.lr, "schedule": "5% linear warm-up + cosine", "seed": args.seed,
                     "threads": args.threads},
        "variants": results,
    }
    path = os.path.join(args.out, "pytorch_accuracy.json")
    old = {}
    if os.path.exists(path) and set(args.variants) != set(VARIANTS):
        with open(path) as f:
            old = json.load(f).get("variants", {})
    summary["variants"] = {**old, **results}
    with open(path, "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    print("\nPyTorch test accuracy:")
    for v, r in summary["variants"].items():
        print("  %-9s %.4f  (%.0fs)" % (v, r["test_accuracy"], r["train_seconds"]))
    print("total training time %.0fs" % sum(r["train_seconds"] for r in results.values()))


if __name__ == "__main__":
    main()
