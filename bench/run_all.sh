#!/usr/bin/env bash
# Every benchmark of bench/, then bench/RESULTS.md: generates the models,
# measures the FMA peak, the whole models (bench_models) and the kernels
# (bench_kernels), runs the peer comparison, draws the plot and writes the
# report. Run from anywhere, after building attn with the benchmarks.
#
#   bench/run_all.sh                        # quick: all models but GPT-2, 1 thread (~15 min)
#   bench/run_all.sh --large --threads 1,2  # with GPT-2 124M (and its decoding), 1 and 2 threads
#
# Options:
#   --build DIR      build directory (default: build)
#   --models-dir DIR generated models (default: build/bench-models)
#   --results DIR    where the JSON, the plot and NOTES.md live (default: bench/results)
#   --large          include GPT-2 124M (about 6 GB of models and ONNX files)
#   --threads LIST   thread counts, e.g. 1,2 (default: 1)
#   --rounds N       peer comparison rounds (default: 3)
#   --iters N        most timed runs per stack and round (default: 1000; fewer
#                    for models where they would take more than about 3 s)
#   --no-kernels     skip bench_kernels (it takes several minutes)
#   --no-report      do not rewrite bench/RESULTS.md
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
build="$root/build"
models_dir=""
results="$here/results"
large=0
threads=1
rounds=3
iters=1000
kernels=1
report=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift ;;
    --models-dir) models_dir="$2"; shift ;;
    --results) results="$2"; shift ;;
    --large) large=1 ;;
    --threads) threads="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --iters) iters="$2"; shift ;;
    --no-kernels) kernels=0 ;;
    --no-report) report=0 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run_all: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
build="$(cd "$build" && pwd)"
models_dir="${models_dir:-$build/bench-models}"
mkdir -p "$results"
py=/usr/bin/python3
large_flag=()
[ "$large" = 1 ] && large_flag=(--large)

for b in bench/bench_models bench/bench_kernels bench/bench_peak tools/attn-infer converter/attn-convert; do
  if [ ! -x "$build/$b" ]; then
    echo "run_all: $build/$b is missing; build first: cmake --build $build -j2" >&2
    exit 1
  fi
done
if [ ! -d "$here/node_modules/onnxruntime-node" ]; then
  echo "run_all: installing onnxruntime-node into bench/node_modules" >&2
  (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund)
fi

echo "== models" >&2
"$py" "$here/make_models.py" --out "$models_dir" --build "$build" "${large_flag[@]}"

echo "== FMA peak" >&2
"$build/bench/bench_peak" --benchmark_format=json --benchmark_out="$results/peak.json" \
  --benchmark_out_format=json --benchmark_repetitions=3 >/dev/null

echo "== whole models (bench_models)" >&2
"$build/bench/bench_models" --models_dir="$models_dir" --threads="$threads" \
  --benchmark_repetitions=5 --benchmark_min_time=1 --benchmark_enable_random_interleaving=true \
  --benchmark_out="$results/models.json" --benchmark_out_format=json

if [ "$kernels" = 1 ]; then
  echo "== kernels (bench_kernels)" >&2
  "$build/bench/bench_kernels" --benchmark_min_time=0.2 \
    --benchmark_out="$results/kernels.json" --benchmark_out_format=json
fi

echo "== peers (compare_peers.py)" >&2
"$py" "$here/compare_peers.py" --build "$build" --models-dir "$models_dir" --results "$results" \
  --threads "$threads" --rounds "$rounds" --iters "$iters" --no-make "${large_flag[@]}"
rm -rf "$results/scratch"

if [ "$large" = 1 ]; then
  echo "== decoding (decode_peers.py)" >&2
  "$py" "$here/decode_peers.py" --build "$build" --models-dir "$models_dir" --threads "$threads" \
    --out "$results/decode.md"
fi

# Google Benchmark records the binaries' and the models' paths; keep them
# relative to the project, so the results say nothing about this checkout.
for f in peak models kernels; do
  if [ -f "$results/$f.json" ]; then sed -i "s|\"$root/|\"|g" "$results/$f.json"; fi
done

echo "== plot" >&2
first=1
for t in ${threads//,/ }; do
  if [ "$first" = 1 ]; then out="$results/relative-latency.png"; first=0; else out="$results/relative-latency-${t}threads.png"; fi
  "$py" "$here/plot.py" "$results/peers.json" --stacks attn,onnxruntime,pytorch --threads "$t" -o "$out"
done

if [ "$report" = 1 ]; then
  "$py" "$here/report.py" --results "$results" -o "$here/RESULTS.md"
fi
