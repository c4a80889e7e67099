#!/usr/bin/env bash
# Builds attn for aarch64 Linux on a Debian 12 amd64 machine and tests it
# under qemu-aarch64, from a clean checkout:
#
#   1. installs what is missing (scripts/install-deps.sh for the host,
#      toolchains/prepare-aarch64-deps.sh for the cross compiler, qemu-user
#      and the arm64 libraries; root needed only when something is missing);
#   2. configures BUILD_DIR (default build-aarch64) with
#      toolchains/aarch64-linux-gnu.cmake and builds it;
#   3. checks the build: every binary is AArch64, f32_neon.cc is compiled and
#      no x86 kernel source is;
#   4. runs the whole ctest suite under qemu's default CPU ("max": every
#      feature on), and checks the tests ran on the "neon" kernel path;
#   5. runs the kernel and model tests again as a Cortex-A72 (Armv8.0, plain
#      NEON; the quantized kernels then run without the dot product);
#   6. runs toolchains/check-toolchains.sh (what can be checked here of the
#      Android, iOS and macOS files);
#   7. converts the fixtures with the host's (x86-64) attn-convert, runs the
#      aarch64 attn-infer on them and compares its .npy outputs with the
#      float64 references.
#
# Exits non-zero if any step fails. Timings printed under qemu are emulation,
# not measurements.
#
# usage: toolchains/build-aarch64.sh [BUILD_DIR]
# environment:
#   ATTN_HOST_CONVERT  an x86-64 attn-convert to use (default: build one in BUILD_DIR-host)
#   JOBS               parallel build jobs (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${1:-build-aarch64}
case $build in /*) ;; *) build=$root/$build ;; esac
jobs=${JOBS:-$(nproc)}

step() { echo; echo "== build-aarch64: $*"; }
fail() { echo "build-aarch64: FAILED: $*" >&2; exit 1; }

step "dependencies"
bash scripts/install-deps.sh
bash toolchains/prepare-aarch64-deps.sh "$build"

step "configure and build $build"
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE="$root/toolchains/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
cmake --build "$build" -j"$jobs"

step "check the build"
grep -q 'src/kernels/f32_neon.cc' "$build/compile_commands.json" || fail "f32_neon.cc is not compiled"
if grep -E -q 'f32_avx|-mavx|-msse|-mfma' "$build/compile_commands.json"; then
  fail "an x86-only source or flag is in the aarch64 build"
fi
for f in "$build/runtime/libattn.a" "$build/runtime/libattn.so" "$build/tools/attn-infer" "$build/converter/attn-convert"; do
  # (readelf's whole output is read first: an awk that quits early would end
  # readelf with SIGPIPE on an archive's long listing, and pipefail fails on it.)
  header=$(aarch64-linux-gnu-readelf -h "$f" 2>/dev/null || true)
  machine=$(awk -F: '/Machine:/ {gsub(/^ +/, "", $2); print $2; exit}' <<<"$header")
  [ "$machine" = "AArch64" ] || fail "$f is not an AArch64 binary (${machine:-unreadable})"
done
infer=$build/emulated/tools/attn-infer  # runs the aarch64 attn-infer through qemu
[ -x "$infer" ] || fail "$infer (the emulator wrapper) is missing"
echo "AArch64 binaries, f32_neon.cc compiled, no x86 kernel source"

# (ctest -N rewrites Testing/Temporary/LastTest.log: count before running.)
a72_tests='^(test_kernels|test_quant_kernels|test_fixtures.*|test_decode.*|cli)$'
count_max=$(ctest --test-dir "$build" -N | awk '/Total Tests:/ {print $3}')
count_a72=$(ctest --test-dir "$build" -N -R "$a72_tests" | awk '/Total Tests:/ {print $3}')

step "ctest under qemu-aarch64, default CPU (max)"
ctest --test-dir "$build" --output-on-failure -j"$jobs"
log=$build/Testing/Temporary/LastTest.log
paths=$(grep -o 'kernel path in use: [a-z0-9]*' "$log" | sort | uniq -c || true)
echo "$paths"
case $paths in *": neon"*) ;; *) fail "the tests did not run on the neon kernel path" ;; esac
bash scripts/kernel-report.sh "$log"
grep -q '^quant kernel paths tested: .*neon-dotprod' "$log" || fail "the quantized kernels did not run with dotprod"
if grep -v -q -E 'neon$|scalar$|^$' <<<"$paths"; then
  fail "an unexpected kernel path was in use"
fi

step "kernel and model tests under qemu-aarch64 -cpu cortex-a72 (plain NEON)"
QEMU_CPU=cortex-a72 ctest --test-dir "$build" --output-on-failure -j"$jobs" -R "$a72_tests"
grep -q 'kernel path in use: neon' "$log" || fail "the Cortex-A72 run did not use the neon kernel path"
grep -q '^quant kernel paths tested: scalar neon;' "$log" || fail "the Cortex-A72 run did not test the plain NEON quantized kernels"
bash scripts/kernel-report.sh "$log"

step "checks of the Android, iOS and macOS files that can be made here"
bash toolchains/check-toolchains.sh "$build"

step "host-converted models, aarch64 attn-infer"
convert=${ATTN_HOST_CONVERT:-}
if [ -z "$convert" ]; then
  cmake -S . -B "$build-host" -DCMAKE_BUILD_TYPE=Release -DATTN_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build-host" -j"$jobs" --target attn-convert
  convert=$build-host/converter/attn-convert
fi
case $(readelf -h "$convert" | awk -F: '/Machine:/ {print $2}') in
  *X86-64*) ;;
  *) fail "$convert is not an x86-64 attn-convert" ;;
esac
work=$build/verify
rm -rf "$work"
mkdir -p "$work"
"$infer" --help >/dev/null
embed=0
if grep -q -- '--embed-sample' <<<"$("$convert" --help 2>&1 || true)"; then embed=1; fi
checked=0
for dir in tests/data/fixtures/*/; do
  name=$(basename "$dir")
  [ -f "$dir/expected.npy" ] && [ -f "$dir/inputs.npy" ] || continue
  args=()  # with embedded samples (their expected outputs from the host's float64 reference)
  [ "$embed" -eq 1 ] && args+=(--embed-sample "$dir/inputs.npy" --embed-count 2)
  "$convert" "$dir" -o "$work/$name.attnmodel" -q "${args[@]}" || fail "$name: the host attn-convert failed"
  out=$("$infer" "$work/$name.attnmodel" -i "$dir/inputs.npy" -o "$work/$name.npy") ||
    fail "$name: the aarch64 attn-infer failed"
  echo "$name: $out"
  case $out in *neon*) ;; *) fail "$name: attn-infer did not use the neon kernels" ;; esac
  /usr/bin/python3 - "$work/$name.npy" "$dir/expected.npy" "$name" <<'EOF' || fail "$name: output differs from the reference"
import sys
import numpy as np
y, r, name = np.load(sys.argv[1]), np.load(sys.argv[2]), sys.argv[3]
tol = 1e-4 * max(1.0, float(np.abs(r).max()))
err = float(np.abs(y.astype(np.float64) - r).max()) if y.shape == r.shape else float("inf")
print(f"{name}: shape {y.shape}, max |y - ref| {err:.3g} (allowed {tol:.3g})")
sys.exit(0 if err <= tol else 1)
EOF
  if [ "$embed" -eq 1 ]; then
    "$infer" "$work/$name.attnmodel" --verify -q || fail "$name: attn-infer --verify failed"
  fi
  checked=$((checked + 1))
done
[ "$checked" -gt 0 ] || fail "no fixture was checked"
echo "build-aarch64: $checked models converted on the host and verified with the aarch64 attn-infer"

step "done: aarch64 build and tests passed under qemu (timings under qemu are emulation, not measurements)"
echo "ctest under qemu: $count_max tests (max CPU), $count_a72 (Cortex-A72); models verified: $checked"
echo "aarch64: $((count_max + count_a72 + checked)) passed, 0 failed"
