#!/usr/bin/env python3
"""The bundled default: the four Fashion-MNIST ViTs through attn.

Converts examples/fashion-mnist/<variant>/ with attn-convert (in each weight
format: f32, f16, q8, q4, q8c), runs each model
over the 10,000 test images with attn-infer, and prints per variant: attention
parameters per layer, file size, test accuracy and mean latency per image.

    /usr/bin/python3 scripts/fashion_mnist_demo.py --build build --out build/demo
"""

import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "converter", "python"))
from fashion_mnist_npy import load  # noqa: E402

VARIANTS = ("standard", "optimized", "efficient", "super")
FORMATS = ("f32", "f16", "q8", "q4", "q8c")  # attn-convert --weights


def run(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit("%s failed:\n%s%s" % (" ".join(cmd), done.stdout, done.stderr))
    return done.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "demo"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    convert = os.path.join(args.build, "converter", "attn-convert")
    infer = os.path.join(args.build, "tools", "attn-infer")
    os.makedirs(args.out, exist_ok=True)

    images, labels = load("t10k")
    images_path = os.path.join(args.out, "t10k-images.npy")
    np.save(images_path, images)
    reference = {}
    ref_path = os.path.join(ROOT, "examples", "fashion-mnist", "pytorch_accuracy.json")
    if os.path.exists(ref_path):
        with open(ref_path) as f:
            reference = json.load(f).get("variants", {})

    rows, formats = [], []
    for variant in VARIANTS:
        predictions = None
        for fmt in FORMATS:
            suffix = "" if fmt == "f32" else "-" + fmt
            model = os.path.join(args.out, variant + suffix + ".attnmodel")
            summary = run([convert, os.path.join(ROOT, "examples", "fashion-mnist", variant), "-o", model,
                           "--weights", fmt])
            logits_path = os.path.join(args.out, variant + suffix + "-logits.npy")
            timing = run([infer, model, "-i", images_path, "-o", logits_path, "-t", str(args.threads)])
            ms = float(re.search(r"([\d.]+) ms per item", timing).group(1))
            predicted = np.load(logits_path).argmax(axis=1)
            accuracy = float((predicted == labels).mean())
            if fmt == "f32":
                predictions = predicted
                params = int(re.search(r"attention/layer\s+(\d+)", summary).group(1))
                ref = reference.get(variant, {})
                ref_acc = ref.get("test_accuracy") if isinstance(ref, dict) else ref
                rows.append((variant, params, os.path.getsize(model), accuracy, ref_acc, ms))
            formats.append((variant, fmt, os.path.getsize(model), accuracy, float((predicted == predictions).mean()), ms))

    kernel = re.search(r"(\w+) kernels", timing).group(1)
    print("\nFashion-MNIST ViT (28x28, patch 7, d=64, 4 heads, 2 layers), 10,000 test images,"
          " attn on %d thread(s), %s kernels\n" % (args.threads, kernel))
    print("| variant   | attention params/layer | vs standard | file size | accuracy | PyTorch accuracy | latency/image |")
    print("|-----------|-----------------------:|------------:|----------:|---------:|-----------------:|--------------:|")
    base = rows[0][1]
    for variant, params, size, acc, ref_acc, ms in rows:
        ref_text = "%.2f%%" % (100 * ref_acc) if isinstance(ref_acc, float) else "-"
        print("| %-9s | %22d | %10.0f%% | %6.1f KiB | %7.2f%% | %16s | %10.1f us |"
              % (variant, params, 100.0 * params / base, size / 1024.0, 100 * acc, ref_text, 1000 * ms))
    print("\nWeight formats (attn-convert --weights): the dense layers' weights in f16, or in blocks of 32"
          " with a scale each as 8-bit (q8) or 4-bit (q4) integers, or as 8-bit integers with one scale"
          " per output channel and activations one per row (q8c)\n")
    print("| variant   | weights | file size | accuracy | same prediction as f32 | latency/image |")
    print("|-----------|---------|----------:|---------:|-----------------------:|--------------:|")
    for variant, fmt, size, acc, agree, ms in formats:
        print("| %-9s | %-7s | %6.1f KiB | %7.2f%% | %21.2f%% | %10.1f us |"
              % (variant, fmt, size / 1024.0, 100 * acc, 100 * agree, 1000 * ms))
    print("\nModels, logits and the test images are in %s" % args.out)


if __name__ == "__main__":
    main()
