#!/usr/bin/python3
"""Quantized weights side by side: ONNX Runtime's int8 and 4-bit against attn.

For each benchmark model and variant, with the same weights everywhere (the
checkpoints of bench/make_models.py), this times, interleaved as
bench/compare_peers.py does:

    ort-f32      the f32 ONNX export of compare_peers (torch.onnx.export, opset 17)
    ort-int8     dynamic int8: DynamicQuantizeLinear + MatMulInteger (bench/onnx_quant.py)
    ort-nbits8   com.microsoft MatMulNBits, 8-bit weights in blocks of 32
    ort-nbits4   com.microsoft MatMulNBits, 4-bit weights in blocks of 32
    attn-f32     the .attnmodel of make_models.py
    attn-f16, attn-q8, attn-q4, attn-q8c
                 `attn-convert --weights FORMAT`, when the attn-convert of the
                 build has that option (its --help names it); otherwise these
                 are left out and the report says so.

MatMulNBits runs with accuracy_level 4 by default (ONNX Runtime quantizes A
to int8 per block on the fly, as attn's q8/q4 do); `--accuracy-level 0`
computes in float32 with dequantized weights.

Checks before timing:

* the f32 stacks against a float64 PyTorch evaluation (compare_peers's check:
  1e-4 * max(1, max|y|), the spec's float32 tolerance);
* each quantized layer form in ONNX Runtime against numpy float64 with the
  dequantized weights, within a bound derived in onnx_quant.py
  (onnx_quant.self_test);
* whole models with weight-only quantization: MatMulNBits at accuracy_level 0
  against the float64 PyTorch model whose weights are replaced by the
  dequantized ones (same tolerance as the f32 check: the two then compute the
  same function, one in float32);
* accuracy against f32: on `--accuracy-inputs` seeded inputs, each quantized
  model's output against its own stack's f32 output: the largest absolute
  difference of the logits and how often the arg-max agrees (per position
  for GPT-2).

* after the timing, the trained Fashion-MNIST ViTs (examples/fashion-mnist) on
  the 10,000 t10k test images in each format: test accuracy and its change from
  the stack's f32 model, arg-max agreement, largest logit difference
  (--no-fashion skips it; --fashion-only adds it to an earlier run's results).

Timing: for each model, every round visits the (variant, threads) pairs in a
new random order and, for each, the contenders in a new random order; a visit
is a warm-up and as many runs as fit in about --visit-seconds. A contender's
p50 is the median of its visits' medians; its ratio to attn-f32 (and to
ort-f32) is the median over rounds of the ratio within a round.

    /usr/bin/python3 bench/quant_peers.py --threads 1,2 --rounds 3 --results bench/results
    /usr/bin/python3 bench/quant_peers.py --models mnist-vit --variants standard --rounds 1

Writes RESULTS_DIR/quant_peers.json and RESULTS_DIR/quant_peers.md.
"""

import argparse
import datetime
import json
import os
import random
import statistics
import subprocess
import sys

import benchlib as bl
import compare_peers as cp
import onnx_quant as oq
from quant_prepare import ATTN_FORMATS, ORT_KINDS, Prepared, attn_convert_formats

import numpy as np
import torch
from attn_torch import load_model

DEFAULT_MODELS = ("mnist-vit", "cifar100-vit", "imdb-text", "amazon-text")

log = cp.log


def cpu_description():
    """The model name plus family/model (and the AMD core generation where known)
    and the vector extensions that matter for int8 kernels."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if ":" in line:
                    k, v = line.split(":", 1)
                    info.setdefault(k.strip(), v.strip())
    except OSError:
        return cp.cpu_model()
    name = info.get("model name", "unknown")
    fam, mod = info.get("cpu family"), info.get("model")
    core = ""
    if info.get("vendor_id") == "AuthenticAMD" and fam and mod:
        f, m = int(fam), int(mod)
        if f == 23:
            core = "Zen/Zen 2"
        elif f == 25:
            core = "Zen 4" if (0x10 <= m <= 0x1f or 0x60 <= m <= 0x7f or 0xa0 <= m <= 0xaf) else "Zen 3"
        elif f == 26:
            core = "Zen 5"
    flags = set(info.get("flags", "").split())
    ext = [x for x in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16") if x in flags]
    s = "%s, family %s model %s" % (name, fam, mod)
    if core:
        s += " (a %s core)" % core
    return s + "; " + " ".join(ext)


def fashion_accuracy(args, ort, formats, scratch, chunk=500):
    """Test accuracy of the trained Fashion-MNIST ViTs (examples/fashion-mnist) on
    the 10,000 t10k images in every contender's format: ONNX Runtime's graphs are
    rewritten from an f32 export with a fixed batch of `chunk` images; attn's
    models are converted from the same checkpoints. Each contender is compared
    with its own stack's f32 model: accuracy change in points, arg-max agreement
    and the largest logit difference."""
    import fashion_mnist_npy as fm  # converter/python, on the path through benchlib
    images, labels = fm.load("t10k")
    n = images.shape[0] - images.shape[0] % chunk
    images, labels = images[:n], labels[:n]
    img_npy = os.path.join(scratch, "fashion-images.npy")
    np.save(img_npy, images)
    chunks = []
    for i in range(0, n, chunk):
        p = os.path.join(scratch, "fashion-chunk-%d.npy" % (i // chunk))
        np.save(p, images[i:i + chunk])
        chunks.append(p)
    convert = bl.tool(args.build, "attn-convert")
    out = []
    for v in bl.VARIANTS:
        ckpt = os.path.join(bl.ROOT, "examples", "fashion-mnist", v)
        model32 = load_model(ckpt)[0].float().eval()
        f32 = os.path.join(scratch, "fashion-%s.onnx" % v)
        with torch.inference_mode():
            cp.export_onnx(model32, torch.from_numpy(images[:chunk]), f32, {"fashion": v, "chunk": chunk,
                                                                            "torch": torch.__version__})
        del model32
        files = {"ort-f32": f32}
        for kind, spec in ORT_KINDS.items():
            if spec is not None and kind in args.contenders:
                files[kind] = f32[:-len(".onnx")] + "." + kind[len("ort-"):] + ".onnx"
                oq.quantize_file(f32, files[kind], spec[0], spec[1], 32, args.accuracy_level)
        logits = {}
        for kind, path in files.items():
            ort.call(cmd="load", key="fashion", path=path, threads=min(2, os.cpu_count() or 1), dtype="float32")
            try:
                ys = []
                for c in chunks:
                    o = os.path.join(scratch, "fashion-out.npy")
                    ort.call(cmd="input", key="fashion", npy=c)
                    ort.call(cmd="run", key="fashion", out=o)
                    ys.append(np.load(o).reshape(chunk, -1))
                logits[kind] = np.concatenate(ys).astype(np.float64)
            finally:
                ort.call(cmd="release", key="fashion")
        for fmt in formats:
            path = os.path.join(scratch, "fashion-%s.%s.attnmodel" % (v, fmt))
            cmd = [convert, ckpt, "-o", path, "-q"] + ([] if fmt == "f32" else ["--weights", fmt])
            subprocess.run(cmd, check=True)
            o = os.path.join(scratch, "fashion-out.npy")
            subprocess.run([args.attn_infer, path, "-i", img_npy, "-o", o, "-q", "--threads",
                            str(min(2, os.cpu_count() or 1))], check=True)
            logits["attn-" + fmt] = np.load(o).reshape(n, -1).astype(np.float64)
        for kind in args.contenders:
            if kind not in logits:
                continue
            base = "ort-f32" if kind.startswith("ort-") else "attn-f32"
            y, y0 = logits[kind], logits[base]
            acc = float((y.argmax(1) == labels).mean())
            out.append({"variant": v, "contender": kind, "images": n, "accuracy": acc,
                        "accuracy_change_points": 100 * (acc - float((y0.argmax(1) == labels).mean())),
                        "argmax_agreement": float((y.argmax(1) == y0.argmax(1)).mean()),
                        "max_abs_logit_diff": float(np.abs(y - y0).max()), "max_abs_logit": float(np.abs(y0).max())})
        log("  fashion-mnist %s: %s" % (v, ", ".join("%s %.4f" % (r["contender"], r["accuracy"])
                                                    for r in out if r["variant"] == v)))
    for p in chunks + [img_npy]:
        os.remove(p)
    return out


def run_model(entry, variants, args, ort, rng, formats, scratch, env):
    name = entry["name"]
    log("%s: preparing %s" % (name, ", ".join(variants)))
    prepared = {v: Prepared(entry, v, args, ort, formats, scratch) for v in variants}
    info = {}
    for v, p in prepared.items():
        d = {"sizes": p.sizes(), "iters": p.iters}
        if not args.no_verify:
            d["check_f32"] = p.check_f32()
            log("  f32 %s/%s: %s" % (name, v, ", ".join("%s %.2g (tol %.2g)" % (k, c["max_abs_error"], c["tolerance"])
                                                       for k, c in d["check_f32"].items())))
            bad = [k for k, c in d["check_f32"].items() if c["max_abs_error"] > 10 * c["tolerance"]]
            if bad:
                raise SystemExit("quant_peers: %s/%s: %s disagree with the float64 PyTorch reference"
                                 % (name, v, ", ".join(bad)))
            d["check_weight_only"] = {}
            for bits in (8, 4):
                c = p.check_weight_only(bits)
                d["check_weight_only"]["nbits%d" % bits] = c
                log("  weight-only nbits%d %s/%s: %s" % (bits, name, v, (
                    "max|err| %.2g (tol %.2g) %s, %d layers" % (c["max_abs_error"], c["tolerance"],
                                                                 "ok" if c["ok"] else "FAILED", c["layers"])
                    if c.get("ok") is not None else c["note"])))
                if c.get("ok") is False:
                    raise SystemExit("quant_peers: %s/%s: MatMulNBits %d-bit disagrees with the float64 model of "
                                     "its dequantized weights" % (name, v, bits))
        if args.accuracy_inputs > 0:
            d["accuracy"] = p.accuracy(args.accuracy_inputs)
            log("  accuracy %s/%s: %s" % (name, v, ", ".join(
                "%s %.2g, %d/%d" % (k, a["max_abs_logit_diff"], a["argmax_agree"], a["argmax_total"])
                for k, a in d["accuracy"].items())))
        info[v] = d
    rounds = []
    pairs = [(v, t) for v in variants for t in args.threads]
    for r in range(args.rounds):
        order = pairs[:]
        rng.shuffle(order)
        for v, t in order:
            p = prepared[v]
            kinds = list(p.contenders)
            rng.shuffle(kinds)
            for k in kinds:
                p50, extra = p.time(k, t)
                if extra is not None:
                    env.setdefault("attn_kernel_path", extra.get("kernel_path"))
                    env.setdefault("attn_cpu", extra.get("cpu"))
                rounds.append({"model": name, "variant": v, "threads": t, "contender": k, "round": r, "p50_ms": p50,
                               "iters": p.iters, "loadavg1": os.getloadavg()[0]})
        log("  round %d/%d done" % (r + 1, args.rounds))
    return rounds, info


def summarise(rounds, entries, variants, args):
    by = {}
    for m in rounds:
        by.setdefault((m["model"], m["variant"], m["threads"], m["contender"]), {})[m["round"]] = m["p50_ms"]

    def ratio(cur, base):
        rs = [cur[r] / base[r] for r in cur if r in base]
        return (statistics.median(rs), min(rs), max(rs)) if rs else (None, None, None)

    rows = []
    for e in entries:
        for v in variants:
            for t in args.threads:
                attn = by.get((e["name"], v, t, "attn-f32"), {})
                ortf = by.get((e["name"], v, t, "ort-f32"), {})
                for k in args.contenders:
                    cur = by.get((e["name"], v, t, k))
                    if not cur:
                        continue
                    ra, ra_lo, ra_hi = ratio(cur, attn)
                    ro, ro_lo, ro_hi = ratio(cur, ortf)
                    rows.append({"model": e["name"], "variant": v, "threads": t, "contender": k,
                                 "p50_ms": statistics.median(cur.values()),
                                 "round_p50_ms": [cur[r] for r in sorted(cur)],
                                 "ratio_to_attn_f32": ra, "ratio_to_attn_f32_min": ra_lo,
                                 "ratio_to_attn_f32_max": ra_hi, "ratio_to_ort_f32": ro,
                                 "ratio_to_ort_f32_min": ro_lo, "ratio_to_ort_f32_max": ro_hi})
    return rows


def fmt_ms(x):
    return "%.3f" % x if x < 10 else "%.1f" % x


def fmt_mb(b):
    return "%.2f" % (b / 1e6) if b < 1e8 else "%.0f" % (b / 1e6)


def markdown(rows, info, env, args, fashion=None):
    out = []
    attn_note = ("attn's quantized formats: %s." % ", ".join(env["attn_formats"][1:]) if len(env["attn_formats"]) > 1
                 else "**attn's quantized formats are pending**: the attn-convert of this build has no `--weights` "
                      "option, so attn is timed in f32 only.")
    out.append("Machine: %s; attn kernel path %s; ONNX Runtime %s (onnxruntime-node), MatMulNBits accuracy_level %d. "
               "%d rounds, up to %d runs per visit (about %.1f s), interleaved; load average %s at the start, %s at "
               "the end. attn built at %s. %s"
               % (env["cpu"], env.get("attn_kernel_path"), env.get("onnxruntime"), args.accuracy_level,
                  env["rounds"], env["iters"], env["visit_seconds"], env["loadavg_start"], env["loadavg_end"],
                  env["commit"], attn_note))
    out.append("")
    out.append("p50 latency, and ratios (median over rounds of the within-round ratio, min–max over rounds) to "
               "attn f32 and to ONNX Runtime f32 (below 1: faster):")
    out.append("")
    out.append("| model | variant | threads | contender | p50 (ms) | ÷ attn f32 | ÷ ORT f32 |")
    out.append("|---|---|---:|---|---:|---|---|")
    for r in rows:
        def cell(k):
            if r[k] is None:
                return "–"
            if abs(r[k] - 1) < 1e-12 and r[k + "_min"] == r[k + "_max"]:
                return "1"
            return "%.2f (%.2f–%.2f)" % (r[k], r[k + "_min"], r[k + "_max"])
        out.append("| %s | %s | %d | %s | %s | %s | %s |" % (r["model"], r["variant"], r["threads"], r["contender"],
                                                          fmt_ms(r["p50_ms"]), cell("ratio_to_attn_f32"),
                                                          cell("ratio_to_ort_f32")))
    out.append("")
    out.append("File sizes (MB; ratio to the same stack's f32 file) and accuracy against the same stack's f32 on %d "
               "seeded inputs (largest |logit difference|, largest |logit| for scale, arg-max agreement):"
               % args.accuracy_inputs)
    out.append("")
    out.append("| model | variant | contender | size (MB) | × f32 | max abs logit diff | max abs logit | arg-max agrees |")
    out.append("|---|---|---|---:|---:|---:|---:|---:|")
    for (m, v), d in info.items():
        sizes = d["sizes"]
        for k in args.contenders:
            if k not in sizes:
                continue
            base = "ort-f32" if k.startswith("ort-") else "attn-f32"
            a = d.get("accuracy", {}).get(k)
            acc = ("%.3g | %.3g | %d/%d" % (a["max_abs_logit_diff"], a["max_abs_logit"], a["argmax_agree"],
                                            a["argmax_total"]) if a else "– | – | –")
            out.append("| %s | %s | %s | %s | %.3f | %s |" % (m, v, k, fmt_mb(sizes[k]), sizes[k] / sizes[base], acc))
    if fashion:
        out.append("")
        out.append("Trained Fashion-MNIST ViTs (examples/fashion-mnist), %d t10k test images: accuracy, its change "
                   "from the same stack's f32 model, arg-max agreement with it and the largest logit difference:"
                   % fashion[0]["images"])
        out.append("")
        out.append("| variant | contender | test accuracy | change (points) | arg-max agreement | max abs logit diff |")
        out.append("|---|---|---:|---:|---:|---:|")
        for r in fashion:
            out.append("| %s | %s | %.4f | %+.2f | %.2f%% | %.3g |" % (r["variant"], r["contender"], r["accuracy"],
                                                               r["accuracy_change_points"],
                                                               100 * r["argmax_agreement"], r["max_abs_logit_diff"]))
    checks = [(m, v, d) for (m, v), d in info.items() if "check_weight_only" in d]
    if checks:
        out.append("")
        out.append("Checks: f32 stacks against float64 PyTorch, and MatMulNBits with weight-only quantization "
                   "(accuracy_level 0) against the float64 PyTorch model carrying the dequantized weights; "
                   "tolerance 1e-4·max(1, max|y|):")
        out.append("")
        out.append("| model | variant | ORT f32 | attn f32 | MatMulNBits 8 (weights only) | MatMulNBits 4 (weights only) |")
        out.append("|---|---|---|---|---|---|")
        for m, v, d in checks:
            def c(x):
                if x.get("ok") is None:
                    return "not checked (%s)" % x.get("note")
                return "%.2g ≤ %.2g" % (x["max_abs_error"], x["tolerance"]) if x["ok"] else \
                    "**%.2g > %.2g**" % (x["max_abs_error"], x["tolerance"])
            cf, cw = d["check_f32"], d["check_weight_only"]
            out.append("| %s | %s | %s | %s | %s | %s |" % (m, v, c(cf["ort-f32"]), c(cf["attn-f32"]),
                                                         c(cw["nbits8"]), c(cw["nbits4"])))
    if env.get("layer_checks"):
        lc = env["layer_checks"]
        out.append("")
        out.append("Layer checks (onnx_quant.self_test: %d layer forms × quantized kinds in ONNX Runtime against numpy "
                   "float64 with the dequantized weights, within the derived bound): %d passed, %d failed; "
                   "largest error ÷ bound %.3f." % (len({r["case"] for r in lc}), sum(r["ok"] for r in lc),
                                                   sum(not r["ok"] for r in lc),
                                                   max(r["worst_error_over_bound"] for r in lc)))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description="ONNX Runtime's int8 and 4-bit against attn's formats.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--build", default=bl.DEFAULT_BUILD, help="attn build directory (default build)")
    ap.add_argument("--attn-infer", help="attn-infer binary (default BUILD/tools/attn-infer)")
    ap.add_argument("--models-dir", default=bl.DEFAULT_OUT, help="generated models (default build/bench-models)")
    ap.add_argument("--results", default=os.path.join(bl.ROOT, "build", "bench-results"),
                    help="where quant_peers.json and quant_peers.md go (default build/bench-results)")
    ap.add_argument("--output-name", default="quant_peers",
                    help="base name of the JSON and markdown files (default quant_peers)")
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS),
                    help="comma-separated model names (default: %s)" % ",".join(DEFAULT_MODELS))
    ap.add_argument("--variants", default="standard,super", help="comma-separated variants (default standard,super)")
    ap.add_argument("--contenders", default=",".join(list(ORT_KINDS) + ["attn-" + f for f in ATTN_FORMATS]),
                    help="comma-separated contenders (default: all; attn's quantized ones only where available)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--accuracy-level", type=int, default=4, help="MatMulNBits accuracy_level (default 4)")
    ap.add_argument("--accuracy-inputs", type=int, default=8, help="seeded inputs of the accuracy figures (default 8)")
    ap.add_argument("--no-fashion", action="store_true",
                    help="skip the test accuracy of the trained Fashion-MNIST ViTs (examples/fashion-mnist)")
    ap.add_argument("--fashion-only", action="store_true", help="only the Fashion-MNIST accuracy, no timing")
    ap.add_argument("--iters", type=int, default=1000, help="most timed runs per visit (default 1000)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs before each ONNX Runtime visit")
    ap.add_argument("--visit-seconds", type=float, default=2.0, help="about this long per visit (default 2)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the visiting order")
    ap.add_argument("--no-make", action="store_true", help="do not generate missing models")
    ap.add_argument("--no-verify", action="store_true", help="skip the checks (not the accuracy figures)")
    args = ap.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    args.contenders = bl.split_list(args.contenders)
    known = list(ORT_KINDS) + ["attn-" + f for f in ATTN_FORMATS]
    for c in args.contenders:
        if c not in known:
            raise SystemExit("unknown contender %r (known: %s)" % (c, ", ".join(known)))
    for c in ("ort-f32", "attn-f32"):
        if c not in args.contenders:
            raise SystemExit("quant_peers: %s is the baseline and cannot be left out" % c)
    args.attn_infer = args.attn_infer or bl.tool(args.build, "attn-infer")
    convert = bl.tool(args.build, "attn-convert")
    for tool in (args.attn_infer, convert):
        if not os.path.exists(tool):
            raise SystemExit("quant_peers: %s not found (build attn, or pass --build)" % tool)
    formats = ["f32"] + [f for f in attn_convert_formats(convert) if f != "f32"]
    formats = [f for f in formats if "attn-" + f in args.contenders]
    if len(formats) == 1:
        log("note: %s has no --weights option: attn is timed in f32 only" % convert)

    index = bl.load_index()
    entries, variants = bl.select(index, bl.split_list(args.models), bl.split_list(args.variants), True)
    if not args.no_make and not args.fashion_only:
        subprocess.run([sys.executable, os.path.join(bl.BENCH, "make_models.py"), "--out", args.models_dir,
                        "--build", args.build, "--models", ",".join(e["name"] for e in entries), "--variants",
                        ",".join(variants), "-q"], check=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    env = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": cp.git_commit(), "cpu": cpu_description(), "cores": os.cpu_count(),
        "iters": args.iters, "rounds": args.rounds, "warmup": args.warmup, "visit_seconds": args.visit_seconds,
        "threads": args.threads, "accuracy_level": args.accuracy_level, "attn_formats": formats,
        "attn_convert_has_weights": len(formats) > 1 or bool(attn_convert_formats(convert)),
        "command": " ".join([os.path.relpath(sys.argv[0], bl.ROOT)] + sys.argv[1:]),
        "loadavg_start": "%.2f %.2f %.2f" % os.getloadavg(),
    }
    os.makedirs(args.results, exist_ok=True)
    scratch = os.path.join(args.results, "scratch")
    os.makedirs(scratch, exist_ok=True)
    ort = bl.OrtRunner()
    rng = random.Random(args.seed)
    all_rounds, info = [], {}
    try:
        if not args.no_verify and not args.fashion_only:
            lc = oq.self_test(ort, verbose=False)
            env["layer_checks"] = lc
            log("layer checks: %d passed, %d failed" % (sum(r["ok"] for r in lc), sum(not r["ok"] for r in lc)))
            if not all(r["ok"] for r in lc):
                raise SystemExit("quant_peers: a quantized layer in ONNX Runtime is outside its derived bound")
        for e in ([] if args.fashion_only else entries):
            load0 = os.getloadavg()[0]
            rounds, inf = run_model(e, variants, args, ort, rng, formats, scratch, env)
            env.setdefault("loadavg_per_model", {})[e["name"]] = {
                "start": load0, "end": os.getloadavg()[0],
                "max_at_visits": max((m["loadavg1"] for m in rounds), default=None)}
            all_rounds += rounds
            for v, d in inf.items():
                info[(e["name"], v)] = d
        env["loadavg_end"] = "%.2f %.2f %.2f" % os.getloadavg()
        fashion = None
        if not args.no_fashion:
            log("fashion-mnist: test accuracy of the trained ViTs")
            fashion = fashion_accuracy(args, ort, formats, scratch)
    finally:
        env["onnxruntime"] = ort.version
        ort.close()
    if args.fashion_only:
        # add the figures to an earlier run's results and rewrite its tables
        path = os.path.join(args.results, args.output_name + ".json")
        result = bl.read_json(path)
        if result is None:
            raise SystemExit("quant_peers: --fashion-only needs an earlier run's %s" % path)
        result["fashion_mnist"] = fashion
        result["env"]["fashion_mnist_command"] = env["command"]
        result["env"]["onnxruntime"] = result["env"].get("onnxruntime") or env["onnxruntime"]
        info = {(d["model"], d["variant"]): d for d in result["models"]}
        ran = argparse.Namespace(**vars(args))
        ran.accuracy_inputs = next((a["inputs"] for d in result["models"] for a in d.get("accuracy", {}).values()),
                                   args.accuracy_inputs)
        ran.accuracy_level = result["env"]["accuracy_level"]
        with open(path, "w") as f:
            json.dump(result, f, indent=1)
        md = markdown(result["rows"], info, result["env"], ran, fashion)
        with open(os.path.join(args.results, args.output_name + ".md"), "w") as f:
            f.write(md)
        print(md)
        return
    rows = summarise(all_rounds, entries, variants, args)
    result = {"env": env, "rows": rows,
              "models": [{"model": m, "variant": v, **d} for (m, v), d in info.items()],
              "fashion_mnist": fashion, "measurements": all_rounds}
    with open(os.path.join(args.results, args.output_name + ".json"), "w") as f:
        json.dump(result, f, indent=1)
    md = markdown(rows, info, env, args, fashion)
    with open(os.path.join(args.results, args.output_name + ".md"), "w") as f:
        f.write(md)
    print(md)
    log("wrote %s and %s" % (os.path.join(args.results, args.output_name + ".json"),
                             os.path.join(args.results, args.output_name + ".md")))


if __name__ == "__main__":
    main()
