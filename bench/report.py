#!/usr/bin/python3
"""Write bench/RESULTS.md from the JSON that bench/run_all.sh leaves in a
results directory (default bench/results):

    peak.json      bench_peak --benchmark_format=json
    models.json    bench_models --benchmark_format=json
    kernels.json   bench_kernels --benchmark_format=json        (optional)
    peers.json     compare_peers.py
    relative-latency.png   plot.py
    decode.md      decode_peers.py --out (optional)
    NOTES.md       hand-written notes on the conditions of the run (optional),
                   included as they are

    /usr/bin/python3 bench/report.py [--results bench/results] [-o bench/RESULTS.md]
"""

import argparse
import json
import os
import re
import statistics

import benchlib as bl
import flops as fl


def load(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def gb_rows(data, pattern):
    """Benchmarks of a Google Benchmark JSON whose name matches; the median
    aggregate when repetitions were used, else the single run."""
    rows = {}
    for b in data.get("benchmarks", []):
        name = b.get("run_name", b["name"])
        m = re.match(pattern, name)
        if not m:
            continue
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") != "median":
                continue
            rows[name] = b
        elif name not in rows or rows[name].get("run_type") != "aggregate":
            rows.setdefault(name, b)
    return rows


def ms(b):
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b.get("time_unit", "ns")]
    return b["real_time"] * scale


def cpu_ms(b):
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b.get("time_unit", "ns")]
    return b["cpu_time"] * scale


def fmt_ms(x):
    return "%.3f" % x if x < 10 else "%.1f" % x


def section_machine(peers, models, peak):
    env = (peers or {}).get("env", {})
    lines = ["## Machine and conditions", ""]
    ctx = (models or peak or {}).get("context", {})
    lines.append("| | |")
    lines.append("|---|---|")
    lines.append("| CPU | %s, %s cores |" % (env.get("cpu", "?"), env.get("cores", ctx.get("num_cpus", "?"))))
    caches = ", ".join("L%d %s %d KiB" % (c["level"], c["type"].lower(), c["size"] // 1024)
                       for c in ctx.get("caches", []))
    if caches:
        lines.append("| caches (Google Benchmark) | %s |" % caches)
    if models:
        lines.append("| attn kernel path | %s (attn %s) |" % (ctx.get("attn_kernel_path", "?"), ctx.get("attn_version", "?")))
    elif env.get("attn_kernel_path"):
        lines.append("| attn kernel path | %s |" % env["attn_kernel_path"])
    if env:
        lines.append("| commit | %s, %s |" % (env.get("commit"), env.get("date")))
        lines.append("| threads | %s |" % ", ".join(str(t) for t in env.get("threads", [])))
        lines.append("| ONNX Runtime | %s (npm onnxruntime-node, its bundled CPU library) |" % env.get("onnxruntime"))
        lines.append("| PyTorch | %s, BLAS %s; OpenBLAS threads set to PyTorch's: %s |" % (
            env.get("torch"), ", ".join(os.path.basename(x) for x in env.get("torch_blas", [])),
            "yes" if env.get("openblas_threads_follow_torch") else "no"))
        lines.append("| load average (1, 5, 15 min) | %s at the start of the peer comparison, %s at its end |" % (
            env.get("loadavg_start"), env.get("loadavg_end")))
        lines.append("| peer comparison | %d rounds x up to %d timed runs per stack and round (+ up to %d warm-up; "
                     "fewer for models whose visit would exceed about %g s), interleaved |" % (
                         env.get("rounds", 0), env.get("iters", 0), env.get("warmup", 0), env.get("visit_seconds", 0)))
        per = env.get("loadavg_per_model")
        if per:
            lines.append("| 1-min load average per model (start, end, highest at a visit) | %s |" % "; ".join(
                "%s %.1f, %.1f, %.1f" % (m, d["start"], d["end"], d["max_at_visits"] or 0) for m, d in per.items()))
        if env.get("attn_infer_stub"):
            lines.append("| attn timings | **from a stand-in for `attn-infer --bench`** (ctypes over the C API) |")
    if ctx.get("load_avg"):
        lines.append("| load average during bench_models | %s |" % " ".join("%.2f" % x for x in ctx["load_avg"]))
    lines.append("")
    return lines


def section_peak(peak):
    if not peak:
        return []
    rows = gb_rows(peak, r"peak/fma/")
    lines = ["## fp32 FMA peak (bench_peak)", "",
             "Independent FMA chains with their accumulators in registers. One thread by CPU time (what the core "
             "does while it runs the loop), then one and two threads by real time (lower when other processes "
             "take the cores).", "",
             "| loop | threads | time | GFLOP/s |", "|---|---:|---|---:|"]
    for name, b in sorted(rows.items()):
        m = re.match(r"peak/fma/(\w+)(/real_time)?/threads:(\d+)", name) or re.match(r"peak/fma/(\w+)(/real_time)?$", name)
        if m and "FLOPS" in b:
            threads = m.group(3) if m.lastindex and m.lastindex >= 3 else "1"
            lines.append("| %s | %s | %s | %.1f |" % (m.group(1), threads, "real" if m.group(2) else "CPU",
                                                     b["FLOPS"] / 1e9))
    lines.append("")
    return lines


def section_models(models, index):
    if not models:
        return []
    rows = gb_rows(models, r"model/")
    data = {}
    for name, b in rows.items():
        m = re.match(r"model/([^/]+)/([^/]+)/threads:(\d+)", name)
        if m:
            data[(m.group(1), m.group(2), int(m.group(3)))] = b
    lines = ["## Whole models in attn (bench_models, Google Benchmark)", "",
             "Latency of one run (batch 1; median of the repetitions), real (wall) time and the calling thread's CPU "
             "time, achieved GFLOP/s by the exact count over each, and each variant's speed-up over standard "
             "next to the speed-ups its FLOP counts predict (bench/flops.py). On a shared machine a single-thread "
             "run's CPU time leaves out the time other processes held the core, so the CPU-time speed-up is the "
             "steadier one there; with two threads only real time means anything.", "",
             "| model | variant | threads | ms (real) | ms (CPU) | GFLOP/s (real / CPU) | speed-up (real) | speed-up (CPU) | predicted (paper-style) | predicted (exact) | measured / predicted (exact, CPU) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    threads = sorted({k[2] for k in data})
    for e in index["models"]:
        for t in threads:
            std = data.get((e["name"], "standard", t))
            for v in bl.VARIANTS:
                b = data.get((e["name"], v, t))
                if not b:
                    continue
                n = e["tokens"]
                c, cs = e["configs"][v], e["configs"]["standard"]
                pp = fl.paper_flops(cs, n) / fl.paper_flops(c, n)
                pe = fl.exact_flops(cs, n)["total"] / fl.exact_flops(c, n)["total"]
                sp = ms(std) / ms(b) if std else None
                spc = cpu_ms(std) / cpu_ms(b) if std else None
                gf = b.get("FLOPS", 0) / 1e9
                share = bl.predicted_share(spc, pe) if spc else None
                lines.append("| %s | %s | %d | %s | %s | %.1f / %.1f | %s | %s | %.2f | %.2f | %s |" % (
                    e["name"], v, t, fmt_ms(ms(b)), fmt_ms(cpu_ms(b)), gf, gf * ms(b) / cpu_ms(b),
                    "%.2f" % sp if sp else "–", "%.2f" % spc if spc else "–", pp, pe,
                    "–" if share is None else "%.0f%%" % (100 * share)))
    lines.append("")
    lines.append("*measured / predicted* compares the speed-up's excess over 1 (e.g. a measured 1.12 against a "
                 "predicted 1.15 is 80%).")
    lines.append("")
    return lines


def section_peers(peers):
    if not peers:
        return []
    md_rows = ["## attn, ONNX Runtime and PyTorch on the same weights (compare_peers.py)", ""]
    md_rows.append("p50 latency per stack, batch 1, and its ratio to attn's in the same round (median over rounds; "
                   "range over rounds in brackets). A ratio above 1 means attn is faster.")
    md_rows.append("")
    md_rows.append("| model | variant | stack | threads | p50 (ms) | ratio to attn |")
    md_rows.append("|---|---|---|---:|---:|---|")
    for r in peers["rows"]:
        ratio = "1" if r["stack"] == "attn" else "%.2f (%.2f–%.2f)" % (r["ratio_to_attn"], r["ratio_min"], r["ratio_max"])
        md_rows.append("| %s | %s | %s | %d | %s | %s |" % (r["model"], r["variant"], r["stack"], r["threads"],
                                                           fmt_ms(r["p50_ms"]), ratio))
    md_rows.append("")
    md_rows.append("### Speed-up over standard attention, per stack")
    md_rows.append("")
    md_rows.append("Median over rounds of standard's p50 / the variant's p50, next to the FLOP-count predictions.")
    md_rows.append("")
    md_rows.append("| model | variant | threads | attn | ONNX Runtime | PyTorch | predicted (paper-style) | predicted (exact) |")
    md_rows.append("|---|---|---:|---:|---:|---:|---:|---:|")
    keyed = {}
    for s in peers["speedups"]:
        keyed.setdefault((s["model"], s["variant"], s["threads"]), {})[s["stack"]] = s
    for (m, v, t), d in keyed.items():
        if v == "standard":
            continue
        any_s = next(iter(d.values()))
        cells = ["%.2f" % d[s]["speedup"] if s in d else "–" for s in ("attn", "onnxruntime", "pytorch")]
        md_rows.append("| %s | %s | %d | %s | %.2f | %.2f |" % (m, v, t, " | ".join(cells), any_s["predicted_paper"],
                                                               any_s["predicted_exact"]))
    md_rows.append("")
    in_process = peers.get("attn_variants_in_process", [])
    if in_process:
        md_rows += ["### attn's speed-up over standard attention, variants interleaved in one process", "",
                    "`attn-infer --compare` runs a model's four variants in rounds, in a new random order each round, "
                    "and takes the median over rounds of standard's p50 over the variant's in the same round, with a "
                    "95% bootstrap interval over rounds. The share is the measured gain over the predicted one, "
                    "(speed-up − 1) / (predicted − 1).", ""]
        md_rows += bl.in_process_table(in_process) + [""]
    ver = peers.get("verify", {})
    if ver:
        worst = {}
        for m, per in ver.items():
            for v, stacks in per.items():
                for s, c in stacks.items():
                    worst[s] = max(worst.get(s, 0.0), c["max_abs_error"] / c["tolerance"])
        md_rows.append("Outputs were checked against a float64 PyTorch evaluation before timing; the largest error, "
                       "as a fraction of the spec's tolerance 1e-4·max(1, max|y|): " +
                       ", ".join("%s %.3f" % (s, w) for s, w in sorted(worst.items())) + ".")
        md_rows.append("")
    return md_rows


# Issue 4's single-thread latency targets, as attn's p50 over ONNX Runtime's.
ORT_TARGETS = {"imdb-text": 0.5, "amazon-text": 0.5, "mnist-vit": 0.8, "cifar100-vit": 0.8,
               "imagenet-vit": 1.0, "gpt2-124m": 1.0}


def model_times(models):
    """(model, variant, threads) -> the bench_models median, real time."""
    data = {}
    for name, b in gb_rows(models or {}, r"model/").items():
        m = re.match(r"model/([^/]+)/([^/]+)/threads:(\d+)", name)
        if m:
            data[(m.group(1), m.group(2), int(m.group(3)))] = b
    return data


def section_targets(peers, models, peak, kernels):
    """Each target of the speed issue, met or missed, from this run's numbers."""
    if not peers:
        return []
    lines = ["## Targets", "",
             "Each speed target, checked against this run's numbers by `bench/report.py` (the reasons for any miss "
             "are in the notes above).", "",
             "| target | measured | met |", "|---|---|---|"]
    p50 = {(r["model"], r["variant"], r["stack"], r["threads"]): r for r in peers["rows"]}
    models_seen = []
    for r in peers["rows"]:
        if r["model"] not in models_seen:
            models_seen.append(r["model"])
    for m in models_seen:
        if m not in ORT_TARGETS:
            continue
        ratios = [1 / p50[(m, v, "onnxruntime", 1)]["ratio_to_attn"] for v in bl.VARIANTS
                  if (m, v, "onnxruntime", 1) in p50]
        if ratios:
            lines.append("| %s, 1 thread: attn ≤ %.1f× ONNX Runtime's p50 | %.2f–%.2f× (by variant) | %s |" % (
                m, ORT_TARGETS[m], min(ratios), max(ratios), "yes" if max(ratios) <= ORT_TARGETS[m] else "**no**"))
        torch = [p50[(m, v, "pytorch", t)]["ratio_to_attn"] for v in bl.VARIANTS for t in (1, 2)
                 if (m, v, "pytorch", t) in p50]
        if torch:
            lines.append("| %s: faster than PyTorch | PyTorch takes %.2f–%.2f× attn's time | %s |" % (
                m, min(torch), max(torch), "yes" if min(torch) > 1 else "**no**"))
    # The variant targets are single-thread ones. They are judged on the
    # in-process comparison when the run has it: its rounds interleave the
    # variants within a second, where the visits above are minutes apart.
    in_process = [x for x in peers.get("attn_variants_in_process", []) if x["threads"] == 1]
    attn_speedups = in_process or [x for x in peers["speedups"]
                                   if x["stack"] == "attn" and x["variant"] != "standard" and x["threads"] == 1]
    source = "in one process" if in_process else "visits"
    worst, misses = None, []
    for x in attn_speedups:
        share = bl.predicted_share(x["speedup"], x["predicted_exact"])
        if share is None:
            continue
        if share < 0.8:
            misses.append("%s %s %.1f%%" % (x["model"], x["variant"], 100 * share))
        worst = share if worst is None else min(worst, share)
    if worst is not None:
        lines.append("| 1 thread: every variant's speed-up ≥ 80%% of its exact FLOP prediction (%s) | lowest %.0f%%%s | %s |" % (
            source, 100 * worst, "; below 80%: " + ", ".join(misses) if misses else "", "yes" if not misses else "**no**"))
    # Out of order: a variant slower than standard, or than one with fewer
    # predicted FLOPs, by more than the noise (2% between visits; 0.5% in
    # one process, whose intervals are within about that).
    slack = 1.005 if in_process else 1.02
    order_bad = []
    for m in models_seen:
        sp = {x["variant"]: x for x in attn_speedups if x["model"] == m}
        for a in sp.values():
            if a["speedup"] * slack < 1 or any(b["predicted_exact"] < a["predicted_exact"] and
                                               b["speedup"] > slack * a["speedup"] for b in sp.values()):
                order_bad.append("%s %s" % (m, a["variant"]))
    lines.append("| 1 thread: variants ordered by their FLOP counts (efficient fastest, standard slowest; %s, within %.1f%%) | %s | %s |" % (
        source, 100 * (slack - 1), "not on " + ", ".join(order_bad) if order_bad else "on every model",
        "yes" if not order_bad else "**no**"))
    peak_rows = gb_rows(peak or {}, r"peak/fma/")
    best_peak = max((b["FLOPS"] for n, b in peak_rows.items() if "real_time" not in n and "FLOPS" in b), default=0)
    if best_peak and kernels:
        # The dense layers as the default kernel path runs them (x86: its own GEMM).
        path = kernels.get("context", {}).get("attn_default_kernel_path", "")
        dense = [b["FLOPS"] for n, b in gb_rows(kernels, r"dense/").items()
                 if n.startswith("dense/gemm-%s/imagenet-" % path) and "FLOPS" in b]
        if dense:
            lines.append("| ImageNet ViT dense layers ≥ 70%% of the FMA peak (%.0f GFLOP/s) | %.0f–%.0f%% | %s |" % (
                best_peak / 1e9, 100 * min(dense) / best_peak, 100 * max(dense) / best_peak,
                "yes" if min(dense) >= 0.7 * best_peak else "**no**"))
    times = model_times(models)
    if any(k[2] == 2 for k in times):
        for m in ("imagenet-vit", "gpt2-124m"):
            sc = [ms(times[(m, v, 1)]) / ms(times[(m, v, 2)]) for v in bl.VARIANTS
                  if (m, v, 1) in times and (m, v, 2) in times]
            if sc:
                lines.append("| %s: two threads ≥ 1.8× one | %.2f–%.2f× | %s |" % (
                    m, min(sc), max(sc), "yes" if min(sc) >= 1.8 else "**no**"))
        slower = [(k[0], k[1], ms(times[(k[0], k[1], 1)]) / ms(b)) for k, b in times.items()
                  if k[2] == 2 and (k[0], k[1], 1) in times]
        if slower:
            worst = min(slower, key=lambda x: x[2])
            lines.append("| two threads never slower than one (beyond 5%% noise) | lowest %.2f× (%s %s) | %s |" % (
                worst[2], worst[0], worst[1], "yes" if worst[2] >= 0.95 else "**no**"))
    lines.append("")
    return lines


def section_kernels(kernels):
    if not kernels:
        return []
    lines = ["## Kernels (bench_kernels)", ""]
    rows = gb_rows(kernels, r"(attention|attention_layer|softmax|token_mix|layernorm|gelu|gelu_tanh|dense)/")
    paper_shapes = ("imdb", "amazon", "mnist", "cifar100", "imagenet", "gpt2-prefill128", "gpt2-full1024")
    # attention core per variant per path: GFLOP/s and time
    for kind, title in (("attention", "Attention core (QKᵀ, softmax, ·V; W_A mixing for super), all heads, one thread"),
                        ("attention_layer", "Whole attention layer (XNNPACK projections + core), one thread")):
        lines += ["### " + title, "", "| path | shape | standard | optimized | efficient | super |", "|---|---|---:|---:|---:|---:|"]
        table = {}
        for name, b in rows.items():
            m = re.match(kind + r"/(\w+)/(\w+)/([\w-]+)/", name)
            if m and m.group(3) in paper_shapes:
                table.setdefault((m.group(1), m.group(3)), {})[m.group(2)] = b
        for (path, shape), d in sorted(table.items(), key=lambda k: (k[0][0], paper_shapes.index(k[0][1]))):
            cells = []
            for v in bl.VARIANTS:
                b = d.get(v)
                cells.append("%s µs, %.1f GF/s" % ("%.1f" % (b["cpu_time"] * {"ns": 1e-3, "us": 1, "ms": 1e3}[b["time_unit"]]),
                                                   b.get("FLOPS", 0) / 1e9) if b else "–")
            lines.append("| %s | %s | %s |" % (path, shape, " | ".join(cells)))
        lines.append("")
    dense, columns = {}, []
    for name, b in rows.items():
        m = re.match(r"dense/(xnnpack|gemm-\w+)/([\w-]+)/rows:(\d+)/in:(\d+)/out:(\d+)(?:/threads:(\d+))?", name)
        if m:
            col = "%s, %s thread%s" % (m.group(1), m.group(6) or "1", "s" if (m.group(6) or "1") != "1" else "")
            if col not in columns:
                columns.append(col)
            dense.setdefault("%s (%s×%s→%s)" % (m.group(2), m.group(3), m.group(4), m.group(5)), {})[col] = b
    lines += ["### Dense layers, GFLOP/s", "",
              "XNNPACK's fully connected operator and each kernel path's own GEMM (weights packed beforehand, "
              "one thread).", "",
              "| shape | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for shape, d in dense.items():
        lines.append("| %s | %s |" % (shape, " | ".join("%.1f" % (d[c]["FLOPS"] / 1e9) if c in d else "–"
                                                        for c in columns)))
    lines.append("")
    lines += ["### LayerNorm, GELU, softmax, token mixing (one thread, CPU time)", "",
              "µs and GFLOP/s per kernel path.", ""]
    ew = {}
    paths = []
    for name, b in rows.items():
        m = re.match(r"(layernorm|gelu|gelu_tanh|softmax|token_mix)/(\w+)/([\w-]+)/(.*)", name)
        if m and m.group(3) in paper_shapes:
            if m.group(2) not in paths:
                paths.append(m.group(2))
            ew.setdefault((m.group(1), m.group(3), m.group(4)), {})[m.group(2)] = b
    paths.sort(key=lambda p: {"scalar": 0, "avx2": 1, "avx512": 2}.get(p, 3))
    lines.append("| kernel | shape | " + " | ".join(paths) + " |")
    lines.append("|---|---|" + "---:|" * len(paths))
    kinds = ("layernorm", "gelu", "gelu_tanh", "softmax", "token_mix")
    for (k, shape, dims), d in sorted(ew.items(), key=lambda x: (kinds.index(x[0][0]), paper_shapes.index(x[0][1]))):
        cells = []
        for p in paths:
            b = d.get(p)
            cells.append("%.1f µs, %.1f GF/s" % (b["cpu_time"] * {"ns": 1e-3, "us": 1, "ms": 1e3}[b["time_unit"]],
                                                 b.get("FLOPS", 0) / 1e9) if b else "–")
        lines.append("| %s | %s %s | %s |" % (k, shape, dims, " | ".join(cells)))
    lines.append("")
    return lines


def main():
    ap = argparse.ArgumentParser(description="Write bench/RESULTS.md from the results JSON.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--results", default=os.path.join(bl.BENCH, "results"))
    ap.add_argument("-o", "--output", default=os.path.join(bl.BENCH, "RESULTS.md"))
    a = ap.parse_args()
    R = a.results
    peers, models = load(os.path.join(R, "peers.json")), load(os.path.join(R, "models.json"))
    peak, kernels = load(os.path.join(R, "peak.json")), load(os.path.join(R, "kernels.json"))
    index = bl.load_index()
    out = ["# Benchmark results", "",
           "Made by `bench/run_all.sh` (see [README.md](README.md)); this file is written by `bench/report.py` from "
           "the JSON in `%s/`." % os.path.relpath(R, bl.BENCH), ""]
    notes = os.path.join(R, "NOTES.md")
    if os.path.exists(notes):
        with open(notes) as f:
            out += [f.read().rstrip(), ""]
    out += section_targets(peers, models, peak, kernels)
    out += section_machine(peers, models, peak)
    png = os.path.join(R, "relative-latency.png")
    if os.path.exists(png):
        out += ["## Relative latency per variant (Figure 3 style)", "",
                "Each variant's p50 relative to standard attention's, per model and stack (from compare_peers.py); "
                "black ticks: the exact FLOP count's prediction; dashed grey: the paper-style attention count's.", "",
                "![relative latency](%s)" % os.path.relpath(png, os.path.dirname(os.path.abspath(a.output))), ""]
        for extra in sorted(f for f in os.listdir(R) if re.match(r"relative-latency-\d+threads\.png$", f)):
            t = re.match(r"relative-latency-(\d+)threads", extra).group(1)
            out += ["With %s threads:" % t, "",
                    "![relative latency, %s threads](%s)" % (t, os.path.relpath(os.path.join(R, extra),
                                                                             os.path.dirname(os.path.abspath(a.output)))), ""]
    out += section_peers(peers)
    decode = os.path.join(R, "decode.md")
    if os.path.exists(decode):
        with open(decode) as f:
            out += ["## GPT-2 124M decoding through the cache (decode_peers.py)", "",
                    "attn's `--bench` prefill and decode against PyTorch (Debian's python3-torch) decoding with its own "
                    "per-variant cache of the same tensors, checked first against its own full forward pass. "
                    "Attention reads the cache once per new token, O(n·d): the decode cost per token should grow "
                    "linearly with the position, which the fitted line below tests.", "", f.read().rstrip(), ""]
    sessions = os.path.join(R, "sessions.md")
    if os.path.exists(sessions):
        with open(sessions) as f:
            out += ["## Session start-up and memory (bench_sessions)", "",
                    "The time to create a session and the memory it adds, for the first session on a model and for "
                    "a second one, which shares the first's packed weights.", "", f.read().rstrip(), ""]
    out += section_models(models, index)
    out += section_peak(peak)
    out += section_kernels(kernels)
    out += ["## FLOP counts", "", "Per run, from `bench/flops.py` (conventions in its docstring).", "",
            "| model | variant | tokens | paper-style GFLOP (attention layers) | exact GFLOP (whole model) |",
            "|---|---|---:|---:|---:|"]
    for r in fl.table():
        out.append("| %s | %s | %d | %.4f | %.4f |" % (r["model"], r["variant"], r["tokens"], r["paper_flops"] / 1e9,
                                                     r["exact_flops"] / 1e9))
    out.append("")
    with open(a.output, "w") as f:
        f.write("\n".join(out))
    print("wrote %s" % a.output)


if __name__ == "__main__":
    main()
