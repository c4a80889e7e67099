#!/usr/bin/env bash
# The library without XNNPACK (-DATTN_WITH_XNNPACK=OFF): every f32 dense layer
# on the kernel paths' own GEMMs (the scalar path's in-place one included).
# Builds in build-no-xnnpack/ and runs the model-level tests on every path and
# dense backend, the allocation check and the options test (which checks that
# asking for XNNPACK is refused by name); the library must not link XNNPACK
# or pthreadpool.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-no-xnnpack
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DATTN_WITH_XNNPACK=OFF -DATTN_BUILD_BENCH=OFF \
  -DATTN_BUILD_PYTHON=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target attn test_fixtures test_samples test_decode test_session_options \
  test_no_allocation
if ldd "$dir/runtime/libattn.so" | grep -E "XNNPACK|pthreadpool"; then
  echo "FAIL: $dir/runtime/libattn.so links XNNPACK or pthreadpool" >&2
  exit 1
fi
ctest --test-dir "$dir" --output-on-failure -j"$(nproc)" \
  -R '^(test_fixtures|test_samples|test_decode|test_session_options|test_no_allocation)'
echo "without XNNPACK: tests passed, libattn.so links neither XNNPACK nor pthreadpool"
