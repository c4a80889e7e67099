#!/usr/bin/python3
"""Relative latency of each attention variant per model, in the style of the
paper's Figure 3: grouped bars, one group per model, each variant's latency
relative to standard attention (standard = 1). A black tick on each bar marks
what the exact FLOP count predicts (bench/flops.py); a grey one the paper-style
attention count.

    /usr/bin/python3 bench/plot.py                                   # build/bench-results/peers.json
    /usr/bin/python3 bench/plot.py RESULTS.json -o bench/results/relative-latency.png
    /usr/bin/python3 bench/plot.py --gbench models.json              # bench_models --benchmark_format=json
    /usr/bin/python3 bench/plot.py --stacks attn,onnxruntime,pytorch # one panel per stack
    /usr/bin/python3 bench/plot.py compare.json                      # attn-infer --compare --json
    /usr/bin/python3 bench/plot.py std.json opt.json eff.json sup.json  # attn-infer --bench --json each

Input: the peers.json written by bench/compare_peers.py (median per-round
ratio to standard), attn-infer's --compare JSON (one or more files: each one's
ratios to its standard model), attn-infer's --bench JSON (one file per model;
p50 relative to the standard model of the same name), or Google Benchmark JSON
from bench_models (real time).
"""

import argparse
import json
import os
import re
import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import benchlib as bl  # noqa: E402
import flops as fl  # noqa: E402

COLORS = {"standard": "#7f7f7f", "optimized": "#1f77b4", "efficient": "#2ca02c", "super": "#d62728"}
TITLES = {"attn": "attn", "onnxruntime": "ONNX Runtime", "pytorch": "PyTorch eager"}


def from_peers(path, threads):
    """{stack: {model: {variant: relative latency}}} from compare_peers.py's JSON."""
    with open(path) as f:
        data = json.load(f)
    out = {}
    for s in data["speedups"]:
        if s["threads"] != threads:
            continue
        out.setdefault(s["stack"], {}).setdefault(s["model"], {})[s["variant"]] = s["relative_latency"]
    return out, data.get("env", {})


def model_name(path, index_names):
    """The bench model a file belongs to: an index name in its path (bench/run_all.sh
    writes NAME/VARIANT.attnmodel), else the folder or file name without the variant."""
    parts = os.path.normpath(path).split(os.sep)
    for part in reversed(parts[:-1]):
        if part in index_names:
            return part
    stem = os.path.splitext(parts[-1])[0]
    for v in bl.VARIANTS:
        stem = re.sub(r"[-_.]?%s$" % v, "", stem)
    return stem or (parts[-2] if len(parts) > 1 else parts[-1])


def env_of(data):
    return {"cpu": data.get("cpu", ""), "kernel_path": data.get("kernel_path", ""),
            "build_type": data.get("build_type", "")}


def from_infer(paths, threads, index_names):
    """{"attn": {model: {variant: relative latency}}} from attn-infer --compare or --bench JSON."""
    rel, p50, env = {}, {}, {}
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        env = env or env_of(data)
        if "compare" in data:
            if data.get("threads", 1) != threads:
                continue
            by_variant = {e["attention"]: e["ratio"] for e in data["compare"]}
            base = by_variant.get("standard")
            if base is None:
                raise SystemExit("plot: %s: no standard-attention model to compare with" % path)
            model = model_name(data["compare"][0]["model"], index_names)
            rel.setdefault(model, {}).update({v: r / base for v, r in by_variant.items()})
        elif "results" in data and "attention" in data:
            for r in data["results"]:
                if r["threads"] == threads:
                    p50.setdefault(model_name(data["model"], index_names), {})[data["attention"]] = r["p50_ms"]
        else:
            raise SystemExit("plot: %s: not attn-infer --compare or --bench JSON" % path)
    for model, per in p50.items():
        if "standard" not in per:
            raise SystemExit("plot: %s: no --bench JSON of its standard-attention model" % model)
        rel.setdefault(model, {}).update({v: t / per["standard"] for v, t in per.items()})
    if not rel:
        raise SystemExit("plot: no results at %d thread%s" % (threads, "" if threads == 1 else "s"))
    return {"attn": rel}, env


def from_gbench(path, threads):
    with open(path) as f:
        data = json.load(f)
    times = {}
    for b in data["benchmarks"]:
        m = re.match(r"model/([^/]+)/([^/]+)/threads:(\d+)", b["name"])
        if not m or int(m.group(3)) != threads or b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        times.setdefault(m.group(1), {}).setdefault(m.group(2), []).append(b["real_time"])
    rel = {}
    for model, per in times.items():
        if "standard" not in per:
            continue
        std = statistics.median(per["standard"])
        rel[model] = {v: statistics.median(t) / std for v, t in per.items()}
    return {"attn": rel}, {"cpu": data.get("context", {}).get("host_name", "")}


def predicted(index):
    """{model: {variant: (exact, paper) relative FLOPs}}."""
    out = {}
    for e in index["models"]:
        n = e["tokens"]
        std = e["configs"]["standard"]
        out[e["name"]] = {
            v: (fl.exact_flops(c, n)["total"] / fl.exact_flops(std, n)["total"],
                fl.paper_flops(c, n) / fl.paper_flops(std, n))
            for v, c in e["configs"].items()
        }
    return out


def plot(rel, stacks, index, out_path, title):
    pred = predicted(index)
    order = [e["name"] for e in index["models"]]
    titles = {e["name"]: e["title"] for e in index["models"]}
    stacks = [s for s in stacks if s in rel]
    if not stacks:
        raise SystemExit("plot: no results for the chosen stacks and threads")
    fig, axes = plt.subplots(len(stacks), 1, figsize=(10, 3.4 * len(stacks)), squeeze=False)
    width = 0.2
    for ax, stack in zip(axes[:, 0], stacks):
        models = [m for m in order if m in rel[stack]]
        for i, v in enumerate(bl.VARIANTS):
            xs, ys = [], []
            for j, m in enumerate(models):
                if v in rel[stack][m]:
                    xs.append(j + (i - 1.5) * width)
                    ys.append(rel[stack][m][v])
            bars = ax.bar(xs, ys, width, label=v, color=COLORS[v])
            for x, y in zip(xs, ys):
                ax.text(x, y + 0.02, "%.2f" % y, ha="center", va="bottom", fontsize=7)
            for x, m in zip(xs, [m for m in models if v in rel[stack][m]]):
                if m in pred and v in pred[m]:
                    ex, pa = pred[m][v]
                    ax.hlines(ex, x - width / 2, x + width / 2, colors="black", linewidth=1.5)
                    ax.hlines(pa, x - width / 2, x + width / 2, colors="#999999", linewidth=1.0, linestyles="dashed")
            del bars
        ax.axhline(1.0, color="black", linewidth=0.5)
        ax.set_xticks(range(len(models)))
        ax.set_xticklabels([titles.get(m, m) for m in models])
        ax.set_ylabel("latency / standard")
        ax.set_title(TITLES.get(stack, stack))
        top = max([1.0] + [y for m in models for y in rel[stack][m].values()])
        ax.set_ylim(0, top * 1.18)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    handles += [plt.Line2D([], [], color="black", linewidth=1.5),
                plt.Line2D([], [], color="#999999", linewidth=1.0, linestyle="dashed")]
    labels += ["predicted (exact FLOPs)", "predicted (paper-style count)"]
    fig.legend(handles, labels, loc="upper center", ncol=6, fontsize=8, bbox_to_anchor=(0.5, 1.0))
    fig.suptitle(title, y=1.04, fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    fig.savefig(out_path, dpi=130, bbox_inches="tight")
    print("wrote %s" % out_path)


def main():
    ap = argparse.ArgumentParser(description="Relative latency per variant per model (Figure 3 style).",
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("results", nargs="*", default=[os.path.join(bl.ROOT, "build", "bench-results", "peers.json")],
                    help="compare_peers.py JSON (default build/bench-results/peers.json), or attn-infer "
                         "--compare/--bench JSON files")
    ap.add_argument("--gbench", help="read Google Benchmark JSON from bench_models instead")
    ap.add_argument("-o", "--output", help="PNG to write (default: next to the results, relative-latency.png)")
    ap.add_argument("--threads", type=int, default=1, help="thread count to plot (default 1)")
    ap.add_argument("--stacks", default="attn", help="comma-separated stacks, one panel each (default attn)")
    a = ap.parse_args()
    src = a.gbench or a.results[0]
    index = bl.load_index()
    if a.gbench:
        rel, env = from_gbench(src, a.threads)
    else:
        with open(src) as f:
            is_peers = "speedups" in json.load(f)
        if is_peers and len(a.results) > 1:
            raise SystemExit("plot: give one compare_peers.py JSON")
        rel, env = (from_peers(src, a.threads) if is_peers
                    else from_infer(a.results, a.threads, {e["name"] for e in index["models"]}))
    out = a.output or os.path.join(os.path.dirname(os.path.abspath(src)), "relative-latency.png")
    title = "Latency relative to standard attention, batch 1, %d thread%s, p50%s" % (
        a.threads, "" if a.threads == 1 else "s", (" — " + env["cpu"]) if env.get("cpu") else "")
    plot(rel, bl.split_list(a.stacks), index, out, title)


if __name__ == "__main__":
    main()
