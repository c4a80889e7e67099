"""Shared helpers of the bench/ scripts: the model index, paths, inputs."""

import json
import os
import subprocess
import sys
import zlib

import numpy as np

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(ROOT, "converter", "python"))

VARIANTS = ("standard", "optimized", "efficient", "super")
DEFAULT_OUT = os.path.join(ROOT, "build", "bench-models")
DEFAULT_BUILD = os.path.join(ROOT, "build")


def load_index(models_dir=None):
    """The model index (bench/models/models.json) with each entry's configs."""
    models_dir = models_dir or os.path.join(BENCH, "models")
    with open(os.path.join(models_dir, "models.json")) as f:
        index = json.load(f)
    for entry in index["models"]:
        entry["configs"] = {}
        for v in index["variants"]:
            with open(os.path.join(models_dir, entry["name"], v + ".json")) as f:
                entry["configs"][v] = json.load(f)
    return index


def select(index, models=None, variants=None, large=False):
    """Entries and variants chosen by name lists (None: all; large models only
    when named or large=True)."""
    names = [e["name"] for e in index["models"]]
    if models:
        for m in models:
            if m not in names:
                raise SystemExit("unknown model %r (known: %s)" % (m, ", ".join(names)))
        chosen = [e for e in index["models"] if e["name"] in models]
    else:
        chosen = [e for e in index["models"] if large or not e.get("large")]
    variants = list(variants or VARIANTS)
    for v in variants:
        if v not in VARIANTS:
            raise SystemExit("unknown variant %r (known: %s)" % (v, ", ".join(VARIANTS)))
    return chosen, variants


def split_list(s):
    return [x for x in s.split(",") if x] if s else None


def checkpoint_dir(out, name, variant):
    return os.path.join(out, name, variant)


def attnmodel_path(out, name, variant):
    return os.path.join(out, name, variant + ".attnmodel")


def onnx_path(out, name, variant):
    return os.path.join(out, name, variant + ".onnx")


def input_path(out, name):
    return os.path.join(out, name, "input.npy")


def seed_for(name, variant, base_seed):
    return (zlib.crc32(("%s/%s" % (name, variant)).encode()) + base_seed) % (2 ** 31)


def make_input(entry, seed=1234):
    """One seeded input of the model's run shape (batch of one): pixels in [0, 1)
    [1, C, H, W] float32, or token ids [1, tokens] int32."""
    c = entry["configs"]["standard"]
    rng = np.random.default_rng(seed)
    if c["family"] == "vit":
        H, W = c["image_size"]
        return rng.random((1, c["channels"], H, W), dtype=np.float32)
    n = entry["tokens"]
    return rng.integers(0, c["vocab_size"], size=(1, n), dtype=np.int64).astype(np.int32)


def tool(build, name):
    sub = "converter" if name == "attn-convert" else "tools"
    return os.path.join(build, sub, name)


def predicted_share(speedup, predicted):
    """How much of a predicted speed-up's gain a measured one realises,
    (s - 1) / (p - 1); None when nothing is predicted."""
    return (speedup - 1) / (predicted - 1) if predicted > 1.0001 else None


def in_process_table(rows):
    """Markdown rows of attn's in-process variant speed-ups (compare_peers's
    attn_variants_in_process)."""
    out = ["| model | variant | threads | rounds | speed-up | 95% interval | predicted (exact) | share of the predicted gain |",
           "|---|---|---:|---:|---:|---|---:|---:|"]
    for x in rows:
        share = predicted_share(x["speedup"], x["predicted_exact"])
        out.append("| %s | %s | %d | %d | %.3f | %.3f–%.3f | %.3f | %s |" % (
            x["model"], x["variant"], x["threads"], x["rounds"], x["speedup"], x["speedup_low"], x["speedup_high"],
            x["predicted_exact"], "–" if share is None else "%.0f%%" % (100 * share)))
    return out


def read_json(path):
    """The JSON at path, or None when it is missing or not JSON."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class OrtRunner:
    """A client of bench/ort_runner.js (npm onnxruntime-node), one JSON line per call."""

    def __init__(self):
        if not os.path.isdir(os.path.join(BENCH, "node_modules", "onnxruntime-node")):
            # First use: the version pinned by bench/package-lock.json; its CPU
            # library ships inside the package, so no install scripts are run.
            print("installing onnxruntime-node into bench/node_modules (npm ci --ignore-scripts)", file=sys.stderr)
            try:
                subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=BENCH,
                               check=True, stdout=sys.stderr)
            except (OSError, subprocess.CalledProcessError) as e:
                raise SystemExit("could not install onnxruntime-node (%s); run\n"
                                 "  (cd bench && npm install --ignore-scripts)" % e)
        self.proc = subprocess.Popen(["node", os.path.join(BENCH, "ort_runner.js")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        self.version = None

    def call(self, **msg):
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("ort_runner.js exited")
        reply = json.loads(line)
        if not reply.get("ok"):
            raise RuntimeError("onnxruntime: %s" % reply.get("error"))
        return reply

    def run(self, onnx_path, x, scratch, threads=1):
        """One run of onnx_path on x (float32 or int token ids); returns output 0."""
        xin = os.path.join(scratch, "in.npy")
        out = os.path.join(scratch, "out.npy")
        np.save(xin, x)
        dtype = "float32" if x.dtype == np.float32 else "int64"
        r = self.call(cmd="load", key="run", path=onnx_path, threads=threads, dtype=dtype)
        self.version = r["version"]
        try:
            self.call(cmd="input", key="run", npy=xin)
            self.call(cmd="run", key="run", out=out)
        finally:
            self.call(cmd="release", key="run")
        return np.load(out)

    def close(self):
        try:
            self.call(cmd="quit")
        except (RuntimeError, BrokenPipeError, ValueError):
            pass
        self.proc.wait(timeout=10)


def attn_p50(attn_infer, model, input_npy, iters, threads):
    """attn-infer --bench on one input at one thread count: (p50 ms, its JSON report)."""
    cmd = [attn_infer, model, "--bench", "--iters", str(iters), "--threads", str(threads), "--json", "--quiet",
           "--input", input_npy]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    j = json.loads(r.stdout)
    res = [x for x in j["results"] if int(x["threads"]) == threads] or j["results"]
    return float(res[0]["p50_ms"]), j
