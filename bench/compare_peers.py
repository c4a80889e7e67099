#!/usr/bin/python3
"""Time the benchmark models in attn, ONNX Runtime and PyTorch, side by side.

The same weights everywhere: the checkpoints made by bench/make_models.py are
converted to .attnmodel for attn, loaded with the PyTorch package
(converter/python/attn_torch) for PyTorch eager (float32), and exported from
that PyTorch model to ONNX (torch.onnx.export, opset 17) for ONNX Runtime
(npm package onnxruntime-node, driven by bench/ort_runner.js). Before timing,
each stack's output on the model's input is checked against a float64
PyTorch evaluation.

Timing is interleaved: for each model, every round visits each (variant,
threads) pair in a new random order and, for each, the three stacks in a new
random order; each visit is `--iters` timed runs after a warm-up, summarised by
its median. A stack's p50 is the median of its rounds' medians, and its ratio
to attn is the median over rounds of (its round median / attn's median in the
same round), so drift of a busy machine falls on all stacks alike.

The variants' speed-ups within attn are small (6-19% predicted) next to how
far a p50 drifts between visits here, so attn's are also measured in one
process: `attn-infer --compare` runs the four variants in rounds of a new
random order each and reports each one's ratio to standard with a 95%
interval (`--variant-seconds` per model and thread count).

    /usr/bin/python3 bench/compare_peers.py                        # quick: all but GPT-2, 1 thread
    /usr/bin/python3 bench/compare_peers.py --threads 1,2 --rounds 5 --iters 50
    /usr/bin/python3 bench/compare_peers.py --models gpt2-124m              # GPT-2 (made on first use)

Writes RESULTS_DIR/peers.json (every measurement) and RESULTS_DIR/peers.md
(the tables), and prints the tables.
"""

import argparse
import ctypes
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import warnings

import benchlib as bl
import flops as fl

import numpy as np
import torch
from attn_torch import load_model

STACKS = ("attn", "onnxruntime", "pytorch")
OPSET = 17


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit():
    """HEAD, and whether the sources attn is built from differ from it."""
    try:
        head = subprocess.run(["git", "-C", bl.ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", bl.ROOT, "status", "--porcelain", "--", "runtime", "tools", "converter",
                                "schema"], capture_output=True, text=True, check=True).stdout.strip()
        return head + (" + uncommitted changes in runtime/tools/converter" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def torch_blas():
    """Which BLAS library this PyTorch process has mapped (after a matmul)."""
    a = torch.randn(64, 64)
    (a @ a).sum().item()
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                if "blas" in p or "mkl" in p:
                    libs.add(os.path.realpath(p))
    except OSError:
        pass
    return sorted(libs)


_openblas = None


def set_torch_threads(threads):
    """torch.set_num_threads, and the same for OpenBLAS: Debian's PyTorch calls
    the system BLAS (BLAS_INFO=generic) and does not pass its thread count on,
    so OpenBLAS would otherwise use one thread per core whatever PyTorch is told."""
    global _openblas
    torch.set_num_threads(threads)
    if _openblas is None:
        _openblas = False
        for lib in torch_blas():
            if "openblas" in os.path.basename(lib) and "lapack" not in os.path.basename(lib):
                try:
                    cand = ctypes.CDLL(lib)
                    cand.openblas_set_num_threads
                    _openblas = cand
                    break
                except (OSError, AttributeError):
                    pass
    if _openblas:
        _openblas.openblas_set_num_threads(threads)


def openblas_threads():
    return _openblas.openblas_get_num_threads() if _openblas else None


# --- ONNX Runtime (Node) ----------------------------------------------------

# --- models -----------------------------------------------------------------

def export_onnx(model, x, path, stamp):
    """Export (cached by the checkpoint's stamp, torch version and opset)."""
    stamp_path = path + ".json"
    if os.path.exists(path) and os.path.exists(stamp_path):
        with open(stamp_path) as f:
            if json.load(f) == stamp:
                return False
    tmp = path + ".tmp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarning: shape checks become constants of the fixed input shape
        torch.onnx.export(model, (x,), tmp, opset_version=OPSET, input_names=["input"], output_names=["output"],
                          do_constant_folding=True)
    os.replace(tmp, path)
    with open(stamp_path, "w") as f:
        json.dump(stamp, f)
    return True


def torch_input(x):
    return torch.from_numpy(x) if x.dtype == np.float32 else torch.from_numpy(x.astype(np.int64))


def error_bound(y, ref):
    tol = 1e-4 * max(1.0, float(np.abs(ref).max()))
    return float(np.abs(y.reshape(ref.shape) - ref).max()), tol


class Prepared:
    """One model variant, ready in the three stacks."""

    def __init__(self, entry, variant, args, ort):
        name = entry["name"]
        self.name, self.variant = name, variant
        self.attnmodel = bl.attnmodel_path(args.models_dir, name, variant)
        self.input_npy = bl.input_path(args.models_dir, name)
        ckpt = bl.checkpoint_dir(args.models_dir, name, variant)
        for p in (self.attnmodel, self.input_npy, os.path.join(ckpt, "model.safetensors")):
            if not os.path.exists(p):
                raise SystemExit("compare_peers: %s is missing (run bench/make_models.py)" % p)
        x = np.load(self.input_npy)
        self.x = torch_input(x)
        model64, _ = load_model(ckpt)
        with torch.inference_mode():
            self.ref = model64(self.x if x.dtype != np.float32 else self.x.double()).numpy()
        self.model = model64.float().eval()
        del model64
        self.onnx = bl.onnx_path(args.models_dir, name, variant)
        self.ort_key = None
        if "onnxruntime" in args.stacks:
            with open(os.path.join(ckpt, "stamp.json")) as f:
                stamp = {"checkpoint": json.load(f), "torch": torch.__version__, "opset": OPSET,
                         "mtime": os.path.getmtime(os.path.join(ckpt, "model.safetensors"))}
            with torch.inference_mode():
                if export_onnx(self.model, self.x, self.onnx, stamp):
                    log("  exported %s" % self.onnx)
        self.dtype = "float32" if x.dtype == np.float32 else "int64"
        self.ort = ort
        # Runs per visit: as many as fit in about --visit-seconds (estimated
        # at 50 GFLOP/s), at least 5 and at most --iters: a 10 µs model gets
        # enough runs for its median to settle, a 150 ms one is not run for
        # minutes.
        est = fl.exact_flops(entry["configs"][variant], entry["tokens"])["total"] / 50e9
        self.iters = int(max(5, min(args.iters, round(args.visit_seconds / est))))
        self.warmup = int(max(1, min(args.warmup, self.iters // 2)))

    def ort_session(self, threads):
        key = "%s/%s/%d" % (self.name, self.variant, threads)
        if key != self.ort_key:
            self.ort_release()
            r = self.ort.call(cmd="load", key=key, path=self.onnx, threads=threads, dtype=self.dtype)
            self.ort.version = r["version"]
            self.ort.call(cmd="input", key=key, npy=self.input_npy)
            self.ort_key = key
        return key

    def ort_release(self):
        if self.ort_key:
            self.ort.call(cmd="release", key=self.ort_key)
            self.ort_key = None

    def verify(self, args, scratch):
        """Each stack's output against the float64 PyTorch reference."""
        out = {}
        if "attn" in args.stacks:
            path = os.path.join(scratch, "attn-out.npy")
            subprocess.run([args.attn_infer, self.attnmodel, "-i", self.input_npy, "-o", path, "-q"], check=True)
            out["attn"] = np.load(path)
        if "onnxruntime" in args.stacks:
            path = os.path.join(scratch, "ort-out.npy")
            self.ort.call(cmd="run", key=self.ort_session(1), out=path)
            out["onnxruntime"] = np.load(path)
        if "pytorch" in args.stacks:
            with torch.inference_mode():
                out["pytorch"] = self.model(self.x).numpy()
        result = {}
        for stack, y in out.items():
            err, tol = error_bound(np.asarray(y, dtype=np.float64), self.ref)
            result[stack] = {"max_abs_error": err, "tolerance": tol, "ok": err <= tol}
        return result

    # --- timing ---

    def time_attn(self, args, threads):
        return bl.attn_p50(args.attn_infer, self.attnmodel, self.input_npy, self.iters, threads)

    def time_ort(self, args, threads):
        key = self.ort_session(threads)
        ms = self.ort.call(cmd="bench", key=key, warmup=self.warmup, iters=self.iters)["ms"]
        return float(np.median(ms)), None

    def time_torch(self, args, threads):
        set_torch_threads(threads)
        ms = []
        with torch.inference_mode():
            for _ in range(self.warmup):
                self.model(self.x)
            for _ in range(self.iters):
                t0 = time.perf_counter()
                self.model(self.x)
                ms.append((time.perf_counter() - t0) * 1e3)
        return float(np.median(ms)), None


def run_model(entry, variants, args, ort, rng, scratch, env):
    name = entry["name"]
    log("%s: preparing %s" % (name, ", ".join(variants)))
    prepared = {v: Prepared(entry, v, args, ort) for v in variants}
    checks = {}
    if not args.no_verify:
        for v, p in prepared.items():
            checks[v] = p.verify(args, scratch)
            line = ", ".join("%s %.2g (tol %.2g)" % (s, c["max_abs_error"], c["tolerance"]) for s, c in checks[v].items())
            log("  verify %s/%s: %s" % (name, v, line))
            bad = [s for s, c in checks[v].items() if c["max_abs_error"] > 10 * c["tolerance"]]
            if bad:
                raise SystemExit("compare_peers: %s/%s: %s disagree with the float64 PyTorch reference"
                                 % (name, v, ", ".join(bad)))
    rounds = []  # one dict per (round, variant, threads, stack)
    pairs = [(v, t) for v in variants for t in args.threads]
    for r in range(args.rounds):
        order = pairs[:]
        rng.shuffle(order)
        for v, t in order:
            stacks = list(args.stacks)
            rng.shuffle(stacks)
            for s in stacks:
                p = prepared[v]
                fn = {"attn": p.time_attn, "onnxruntime": p.time_ort, "pytorch": p.time_torch}[s]
                p50, extra = fn(args, t)
                if s == "onnxruntime":
                    p.ort_release()  # one session alive at a time keeps memory low
                if extra is not None:
                    env.setdefault("attn_kernel_path", extra.get("kernel_path"))
                    env.setdefault("attn_cpu", extra.get("cpu"))
                    env["attn_infer_stub"] = bool(extra.get("stub"))
                rounds.append({"model": name, "variant": v, "threads": t, "stack": s, "round": r, "p50_ms": p50,
                               "iters": p.iters, "loadavg1": os.getloadavg()[0]})
        log("  round %d/%d done" % (r + 1, args.rounds))
    for p in prepared.values():
        p.ort_release()
    return rounds, checks


def compare_variants(entry, variants, args):
    """attn's variants interleaved in one attn-infer --compare process, per thread count."""
    if "attn" not in args.stacks or "standard" not in variants or len(variants) < 2 or args.variant_seconds <= 0:
        return []
    name = entry["name"]
    order = ["standard"] + [v for v in variants if v != "standard"]
    paths = [bl.attnmodel_path(args.models_dir, name, v) for v in order]
    # A large model gets more time, so that it still sees some 20 rounds.
    seconds = max(args.variant_seconds, 20 * 1.5 * sum(
        fl.exact_flops(entry["configs"][v], entry["tokens"])["total"] / 50e9 for v in order))
    out = []
    for t in args.threads:
        cmd = [args.attn_infer, "--compare"] + paths + ["--threads", str(t), "--min-time", "%.0f" % seconds,
                                                        "--input", bl.input_path(args.models_dir, name), "--json",
                                                        "--quiet"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
        j = json.loads(r.stdout)
        for v, e in zip(order, j["compare"]):
            if v == "standard":
                continue
            c, cs = entry["configs"][v], entry["configs"]["standard"]
            out.append({"model": name, "variant": v, "threads": t, "rounds": j["rounds"], "runs": e["runs"],
                        "p50_ms": e["p50_ms"], "relative_latency": e["ratio"],
                        "speedup": 1 / e["ratio"], "speedup_low": 1 / e["ratio_ci_high"],
                        "speedup_high": 1 / e["ratio_ci_low"],
                        "predicted_exact": fl.exact_flops(cs, entry["tokens"])["total"] /
                        fl.exact_flops(c, entry["tokens"])["total"]})
        log("  attn variants in one process, %d thread(s): %s" % (t, ", ".join(
            "%s %.3f" % (x["variant"], x["speedup"]) for x in out if x["threads"] == t)))
    return out


def summarise(rounds, index_entries, variants, args):
    rows = []
    by = {}
    for m in rounds:
        by.setdefault((m["model"], m["variant"], m["threads"], m["stack"]), {})[m["round"]] = m["p50_ms"]
    for e in index_entries:
        for v in variants:
            for t in args.threads:
                attn = by.get((e["name"], v, t, "attn"), {})
                for s in args.stacks:
                    cur = by.get((e["name"], v, t, s))
                    if not cur:
                        continue
                    ratios = [cur[r] / attn[r] for r in cur if r in attn]
                    rows.append({
                        "model": e["name"], "variant": v, "threads": t, "stack": s,
                        "p50_ms": statistics.median(cur.values()),
                        "round_p50_ms": [cur[r] for r in sorted(cur)],
                        "ratio_to_attn": statistics.median(ratios) if ratios else None,
                        "ratio_min": min(ratios) if ratios else None,
                        "ratio_max": max(ratios) if ratios else None,
                    })
    # speed-up over standard, per stack, with the FLOP predictions
    speedups = []
    for e in index_entries:
        for s in args.stacks:
            for t in args.threads:
                std = by.get((e["name"], "standard", t, s))
                for v in variants:
                    cur = by.get((e["name"], v, t, s))
                    if not std or not cur:
                        continue
                    per_round = [std[r] / cur[r] for r in cur if r in std]
                    c, cs = e["configs"][v], e["configs"]["standard"]
                    n = e["tokens"]
                    speedups.append({
                        "model": e["name"], "variant": v, "threads": t, "stack": s,
                        "speedup": statistics.median(per_round),
                        "relative_latency": statistics.median([cur[r] / std[r] for r in cur if r in std]),
                        "predicted_paper": fl.paper_flops(cs, n) / fl.paper_flops(c, n),
                        "predicted_exact": fl.exact_flops(cs, n)["total"] / fl.exact_flops(c, n)["total"],
                    })
    return rows, speedups


def fmt_ms(x):
    return "%.3f" % x if x < 10 else "%.1f" % x


def markdown(rows, speedups, in_process, env):
    out = []
    out.append("Machine: %s; attn kernel path %s; ONNX Runtime %s (onnxruntime-node); PyTorch %s (BLAS: %s). "
               "%d rounds x up to %d runs per stack (fewer for large models), interleaved; load average %s at the start, %s at the end.%s"
               % (env["cpu"], env.get("attn_kernel_path"), env.get("onnxruntime"), env["torch"],
                  ", ".join(os.path.basename(x) for x in env["torch_blas"]) or "?", env["rounds"], env["iters"],
                  env["loadavg_start"], env["loadavg_end"],
                  " **attn timings from a stand-in for attn-infer --bench.**" if env.get("attn_infer_stub") else ""))
    out.append("")
    out.append("| model | variant | stack | threads | p50 (ms) | ratio to attn (min–max over rounds) |")
    out.append("|---|---|---|---:|---:|---|")
    for r in rows:
        ratio = "1" if r["stack"] == "attn" else "%.2f (%.2f–%.2f)" % (r["ratio_to_attn"], r["ratio_min"], r["ratio_max"])
        out.append("| %s | %s | %s | %d | %s | %s |" % (r["model"], r["variant"], r["stack"], r["threads"],
                                                      fmt_ms(r["p50_ms"]), ratio))
    out.append("")
    out.append("Speed-up over standard attention (median over rounds of standard's p50 / the variant's), "
               "next to what the FLOP counts predict (bench/flops.py):")
    out.append("")
    out.append("| model | variant | threads | attn | onnxruntime | pytorch | predicted (paper-style attention count) | predicted (exact count) |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|")
    keyed = {}
    for s in speedups:
        keyed.setdefault((s["model"], s["variant"], s["threads"]), {})[s["stack"]] = s
    for (m, v, t), d in keyed.items():
        any_s = next(iter(d.values()))
        cells = ["%.2f" % d[s]["speedup"] if s in d else "–" for s in STACKS]
        out.append("| %s | %s | %d | %s | %.2f | %.2f |" % (m, v, t, " | ".join(cells), any_s["predicted_paper"],
                                                          any_s["predicted_exact"]))
    if in_process:
        out += ["", "attn's speed-up over standard attention with the variants interleaved in one process "
                "(attn-infer --compare; 95% interval), against the exact FLOP count's prediction:", ""]
        out += bl.in_process_table(in_process)
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description="Time the benchmark models in attn, ONNX Runtime and PyTorch.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--build", default=bl.DEFAULT_BUILD, help="attn build directory (default build)")
    ap.add_argument("--attn-infer", help="attn-infer binary (default BUILD/tools/attn-infer)")
    ap.add_argument("--models-dir", default=bl.DEFAULT_OUT, help="generated models (default build/bench-models)")
    ap.add_argument("--results", default=os.path.join(bl.ROOT, "build", "bench-results"),
                    help="where peers.json and peers.md go (default build/bench-results)")
    ap.add_argument("--models", help="comma-separated model names (default: all but GPT-2)")
    ap.add_argument("--large", action="store_true", help="include GPT-2 124M (generated on first use, ~8 GB)")
    ap.add_argument("--variants", help="comma-separated variants (default: all four)")
    ap.add_argument("--stacks", default=",".join(STACKS), help="comma-separated stacks (default: all three)")
    ap.add_argument("--threads", default="1", help="comma-separated thread counts (default 1)")
    ap.add_argument("--iters", type=int, default=1000,
                    help="most timed runs per stack per round (default 1000; see --visit-seconds)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs before each ONNX Runtime / PyTorch visit")
    ap.add_argument("--visit-seconds", type=float, default=3.0,
                    help="fewer runs per visit for large models, so that a visit takes about this long "
                         "(estimated from the FLOP count; at least 5 runs; default 3)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--variant-seconds", type=float, default=20.0,
                    help="attn's variants compared in one process for at least this long per model and thread "
                         "count (more for large models; 0: skip; default 20)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the visiting order")
    ap.add_argument("--no-make", action="store_true", help="do not generate missing models")
    ap.add_argument("--no-verify", action="store_true", help="skip the output check")
    args = ap.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    args.stacks = bl.split_list(args.stacks)
    for s in args.stacks:
        if s not in STACKS:
            raise SystemExit("unknown stack %r (known: %s)" % (s, ", ".join(STACKS)))
    args.attn_infer = args.attn_infer or bl.tool(args.build, "attn-infer")
    if "attn" in args.stacks and not os.path.exists(args.attn_infer):
        raise SystemExit("compare_peers: %s not found (build attn, or pass --build)" % args.attn_infer)

    index = bl.load_index()
    entries, variants = bl.select(index, bl.split_list(args.models), bl.split_list(args.variants), args.large)
    if "standard" not in variants:
        log("note: without the standard variant there are no speed-ups over standard")
    if not args.no_make:
        cmd = [sys.executable, os.path.join(bl.BENCH, "make_models.py"), "--out", args.models_dir,
               "--build", args.build, "--models", ",".join(e["name"] for e in entries), "--variants",
               ",".join(variants), "-q"]
        subprocess.run(cmd, check=True)

    torch.set_num_interop_threads(1)
    env = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(), "cpu": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
        "torch_blas": torch_blas(), "openblas_threads_follow_torch": bool(set_torch_threads(1) or _openblas),
        "iters": args.iters, "rounds": args.rounds, "warmup": args.warmup, "visit_seconds": args.visit_seconds,
        "threads": args.threads, "loadavg_start": "%.2f %.2f %.2f" % os.getloadavg(),
    }
    ort = bl.OrtRunner() if "onnxruntime" in args.stacks else None
    os.makedirs(args.results, exist_ok=True)
    scratch = os.path.join(args.results, "scratch")
    os.makedirs(scratch, exist_ok=True)
    rng = random.Random(args.seed)
    all_rounds, all_checks, in_process = [], {}, []
    try:
        for e in entries:
            load0 = os.getloadavg()[0]
            rounds, checks = run_model(e, variants, args, ort, rng, scratch, env)
            env.setdefault("loadavg_per_model", {})[e["name"]] = {
                "start": load0, "end": os.getloadavg()[0],
                "max_at_visits": max((m["loadavg1"] for m in rounds), default=None)}
            all_rounds += rounds
            all_checks[e["name"]] = checks
            in_process += compare_variants(e, variants, args)
    finally:
        if ort:
            env["onnxruntime"] = ort.version
            ort.close()
    env["loadavg_end"] = "%.2f %.2f %.2f" % os.getloadavg()
    rows, speedups = summarise(all_rounds, entries, variants, args)
    result = {"env": env, "rows": rows, "speedups": speedups, "attn_variants_in_process": in_process,
              "verify": all_checks, "measurements": all_rounds}
    with open(os.path.join(args.results, "peers.json"), "w") as f:
        json.dump(result, f, indent=1)
    md = markdown(rows, speedups, in_process, env)
    with open(os.path.join(args.results, "peers.md"), "w") as f:
        f.write(md)
    print(md)
    log("wrote %s and %s" % (os.path.join(args.results, "peers.json"), os.path.join(args.results, "peers.md")))


if __name__ == "__main__":
    main()
