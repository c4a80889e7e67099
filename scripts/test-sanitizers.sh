#!/usr/bin/env bash
# The sanitizer stage of the test suite (called by scripts/test.sh):
#   1. the whole suite under ASan+UBSan (CMake preset "asan", build-asan/),
#   2. test_threads under TSan (preset "tsan", build-tsan/),
#   3. each libFuzzer target briefly (FUZZ_SECONDS each, default 20; 0 skips
#      them), from the fixtures and the committed regression inputs.
# Installs clang and its sanitizer runtimes if they are missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(clang-14 libclang-rt-14-dev llvm-14)  # compiler; ASan/UBSan/TSan/libFuzzer runtimes; llvm-symbolizer
source scripts/lib/packages.sh
install_missing test-sanitizers "${packages[@]}"
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 external_symbolizer_path=$ASAN_SYMBOLIZER_PATH"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
jobs=2

echo "== ASan+UBSan: configure and build (build-asan)"
cmake --preset asan >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
echo "== ASan+UBSan: the whole suite"
ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 1200

echo "== TSan: test_threads (build-tsan)"
cmake --preset tsan >/dev/null
cmake --build build-tsan -j"$jobs" --target test_threads >/dev/null
ctest --test-dir build-tsan --output-on-failure -R '^test_threads$' --timeout 1200

seconds=${FUZZ_SECONDS:-20}
if [ "$seconds" -gt 0 ]; then
  echo "== libFuzzer: each target for ${seconds}s (build-asan)"
  FUZZ_BUILD_DIR=build-asan FUZZ_NO_BUILD=1 FUZZ_NICE=0 bash scripts/fuzz.sh "$seconds"
fi
