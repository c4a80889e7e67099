#!/usr/bin/env bash
# Builds the libFuzzer targets (CMake preset "fuzz", in build-fuzz/) and runs
# each for a set time, one after the other.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 60); TARGETs among model_loader, safetensors,
# config, npy and model_generator (default all five; model_generator builds
# its models from the input's bytes and starts from an empty corpus). Seeds come from tests/data/fixtures (the
# .attnmodel seeds are converted from them; the .npy seeds are the fixtures'
# inputs and expected outputs plus numpy-written files of every form from
# tests/npy_forms.py) and tests/data/regressions; the corpus grows
# in BUILD/corpus/TARGET across runs. Each run appends a line to
# BUILD/fuzz-stats.tsv (date, target, seconds, executions, coverage, features,
# crash files) and keeps its log in BUILD/logs/. A crash input lands in
# BUILD/crashes/TARGET/; the script then exits 1. Turn a crash into a
# regression test by copying its input to tests/data/regressions/TARGET/.
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz, preset "fuzz"; CI passes
# its build-asan, already built), FUZZ_NO_BUILD=1 to skip the build,
# FUZZ_NICE (default 19), FUZZ_JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(model_loader safetensors config npy model_generator)
build=${FUZZ_BUILD_DIR:-build-fuzz}
nice_level=${FUZZ_NICE:-19}
jobs=${FUZZ_JOBS:-2}

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  if [ "$build" = build-fuzz ]; then
    cmake --preset fuzz >/dev/null
  fi
  build_targets=()
  for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
  [[ " ${targets[*]} " == *" model_loader "* ]] && build_targets+=(attn-convert)
  nice -n "$nice_level" cmake --build "$build" -j"$jobs" --target "${build_targets[@]}" >/dev/null
fi

fixtures=$root/tests/data/fixtures
regressions=$root/tests/data/regressions
seeds=$build/seeds
rm -rf "$seeds"
mkdir -p "$seeds"/{model_loader,safetensors,config,npy,model_generator} "$build/logs"
for dir in "$fixtures"/*/; do
  name=$(basename "$dir")
  cp "$dir/model.safetensors" "$seeds/safetensors/$name.safetensors"
  cp "$dir/config.json" "$seeds/config/$name.json"
  for f in "$dir"/*.npy; do [ -e "$f" ] && cp "$f" "$seeds/npy/$name-$(basename "$f")"; done
  if [[ " ${targets[*]} " == *" model_loader "* ]]; then
    "$build/converter/attn-convert" -q "$dir" -o "$seeds/model_loader/$name.attnmodel"
  fi
done
/usr/bin/python3 "$root/tests/npy_forms.py" "$seeds/npy" >/dev/null
for t in model_loader safetensors config npy model_generator; do
  if [ -d "$regressions/$t" ]; then
    find "$regressions/$t" -type f ! -name '*.md' -exec cp {} "$seeds/$t/" \;
  fi
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in "${targets[@]}"; do
  binary=$build/tests/fuzz/fuzz_$t
  corpus=$build/corpus/$t
  crashes=$build/crashes/$t
  mkdir -p "$corpus" "$crashes"
  extra=()
  case $t in
    config) extra+=(-dict="$root/tests/fuzz/config.dict" -max_len=4096) ;;
    safetensors) extra+=(-dict="$root/tests/fuzz/safetensors.dict" -max_len=262144) ;;
    model_loader) extra+=(-max_len=262144) ;;
    model_generator) extra+=(-max_len=4096) ;;
    npy) extra+=(-dict="$root/tests/fuzz/npy.dict" -max_len=16384) ;;
    *) echo "fuzz.sh: unknown target '$t'" >&2; exit 2 ;;
  esac
  log=$build/logs/$t-$(date +%Y%m%d-%H%M%S).log
  # A slow-unit file only says an input took over 10 s of wall time (often a
  # busy machine); it is counted apart from crashes, leaks, timeouts and OOMs.
  before=$(find "$crashes" -type f ! -name 'slow-unit-*' | wc -l)
  slow_before=$(find "$crashes" -type f -name 'slow-unit-*' | wc -l)
  echo "fuzz.sh: $t for ${seconds}s (log $log)"
  set +e
  nice -n "$nice_level" "$binary" "$corpus" "$seeds/$t" \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "${extra[@]}" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
  after=$(find "$crashes" -type f ! -name 'slow-unit-*' | wc -l)
  slow=$(($(find "$crashes" -type f -name 'slow-unit-*' | wc -l) - slow_before))
  found=$((after - before))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -Iseconds)" "$t" "$seconds" "${execs:-?}" \
    "$(echo "$cov" | awk '{print $2}')" "$(echo "$cov" | awk '{print $4}')" "$found" >>"$build/fuzz-stats.tsv"
  echo "fuzz.sh: $t: ${execs:-?} executions, ${cov:-no coverage line}, exit $rc, $found new crash file(s), $slow slow unit(s)"
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    echo "fuzz.sh: $t FAILED; the end of its log:" >&2
    tail -40 "$log" >&2
    status=1
  fi
done
exit $status
