#!/usr/bin/python3
"""Generate the benchmark models: seeded random weights for every model of
bench/models/ in each attention variant, exported with the PyTorch package
(converter/python/attn_torch) as safetensors + config.json, converted with
attn-convert to .attnmodel, plus one seeded input per model.

    /usr/bin/python3 bench/make_models.py                 # all but GPT-2, into build/bench-models
    /usr/bin/python3 bench/make_models.py --large         # GPT-2 124M too (~8 GB of disk)
    /usr/bin/python3 bench/make_models.py --models mnist-vit,imdb-text --variants standard,super

Output (OUT = --out, default build/bench-models):
    OUT/<model>/<variant>/config.json, model.safetensors   the checkpoint (kept: PyTorch
                                                           and ONNX use the same weights)
    OUT/<model>/<variant>.attnmodel                        the converted model
    OUT/<model>/input.npy                                  the input every stack times

Checkpoints with the same config and seed are kept, and so are .attnmodel files
converted from them by the same attn-convert binary, unless --force.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

import benchlib as bl

import numpy as np
import torch
from attn_torch import build_model, export  # benchlib puts converter/python on the path


def estimated_bytes(config):
    """Bytes of one variant on disk: checkpoint + .attnmodel (float32 each)."""
    d, L, layers = config["d_model"], config["context"], config["layers"]
    nproj = {"standard": 4, "optimized": 3, "efficient": 2, "super": 2}[config["attention"]]
    per_layer = nproj * d * d + 2 * d * config["mlp_dim"] + (L * L if config["attention"] == "super" else 0)
    embed = config.get("vocab_size", 0) * d + L * d
    return 2 * 4 * (layers * per_layer + embed)


def stamp_of(config, seed):
    return {"config": config, "seed": seed, "generator": "bench/make_models.py v1"}


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()



def generate(entry, variant, out, build, base_seed, force, quiet, converter_sha):
    """Export the checkpoint unless it is up to date (same config and seed), then
    convert it unless the .attnmodel is up to date (same checkpoint, same
    attn-convert binary)."""
    name = entry["name"]
    config = entry["configs"][variant]
    seed = bl.seed_for(name, variant, base_seed)
    ckpt = bl.checkpoint_dir(out, name, variant)
    model_file = bl.attnmodel_path(out, name, variant)
    stamp_file = os.path.join(ckpt, "stamp.json")
    convert_stamp_file = model_file + ".json"
    stamp = stamp_of(config, seed)
    t0 = time.time()
    did = []
    if force or bl.read_json(stamp_file) != stamp or not os.path.exists(os.path.join(ckpt, "model.safetensors")):
        torch.manual_seed(seed)
        model = build_model(config)
        model.eval()
        os.makedirs(ckpt, exist_ok=True)
        if os.path.exists(stamp_file):
            os.remove(stamp_file)
        export(model, config, ckpt, metadata={"bench_seed": str(seed)})
        del model
        with open(stamp_file, "w") as f:
            json.dump(stamp, f, indent=2)
        did.append("exported")
    convert_stamp = {"checkpoint": stamp, "converter_sha256": converter_sha}
    if did or not os.path.exists(model_file) or bl.read_json(convert_stamp_file) != convert_stamp:
        tmp = model_file + ".tmp"
        subprocess.run([bl.tool(build, "attn-convert"), ckpt, "-o", tmp, "-q"], check=True)
        os.replace(tmp, model_file)
        with open(convert_stamp_file, "w") as f:
            json.dump(convert_stamp, f, indent=2)
        did.append("converted")
    if not quiet:
        if did:
            print("  %s/%s: %s (seed %d), %.1f MB, %.1f s" % (name, variant, " and ".join(did), seed,
                                                             os.path.getsize(model_file) / 1e6, time.time() - t0))
        else:
            print("  %s/%s: up to date" % (name, variant))
    return bool(did)


def main():
    ap = argparse.ArgumentParser(description="Generate the benchmark models (random weights).",
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--out", default=bl.DEFAULT_OUT, help="output directory (default build/bench-models)")
    ap.add_argument("--build", default=bl.DEFAULT_BUILD, help="build directory with converter/attn-convert (default build)")
    ap.add_argument("--models", help="comma-separated model names (default: all but the large ones)")
    ap.add_argument("--variants", help="comma-separated variants (default: all four)")
    ap.add_argument("--large", action="store_true", help="include the large models (GPT-2 124M)")
    ap.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    ap.add_argument("--force", action="store_true", help="regenerate models that are up to date")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args()

    index = bl.load_index()
    entries, variants = bl.select(index, bl.split_list(a.models), bl.split_list(a.variants), a.large)
    os.makedirs(a.out, exist_ok=True)
    need = sum(estimated_bytes(e["configs"][v]) for e in entries for v in variants
               if a.force or not os.path.exists(bl.attnmodel_path(a.out, e["name"], v)))
    free = shutil.disk_usage(a.out).free
    if need > free - 2e9:
        raise SystemExit("make_models: about %.1f GB needed in %s but %.1f GB free (keeping 2 GB spare)"
                         % (need / 1e9, a.out, free / 1e9))
    convert = bl.tool(a.build, "attn-convert")
    if not os.path.exists(convert):
        raise SystemExit("make_models: %s not found (build attn first, or pass --build)" % convert)
    converter_sha = file_sha256(convert)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for e in entries:
        if not a.quiet:
            print("%s (%s)" % (e["name"], e["shape"]))
        for v in variants:
            generate(e, v, a.out, a.build, a.seed, a.force, a.quiet, converter_sha)
        np.save(bl.input_path(a.out, e["name"]), bl.make_input(e))
    if not a.quiet:
        print("models in %s" % a.out)


if __name__ == "__main__":
    sys.exit(main())
