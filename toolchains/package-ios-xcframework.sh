#!/usr/bin/env bash
# Builds attn for iOS arm64 (toolchains/ios-arm64.cmake) and packages it with
# attn.h as attn.xcframework. Runs on a Mac with Xcode. NOT RUN on the
# project's machines (Debian, no Xcode): see toolchains/README.md.
#
# usage: toolchains/package-ios-xcframework.sh [OUT_DIR]     (default dist/ios)
# environment:
#   ATTN_IOS_DEPS            prefix of XNNPACK, pthreadpool, cpuinfo and FlatBuffers
#                            built for iOS devices (arm64, iphoneos)
#   ATTN_IOS_SIMULATOR_DEPS  the same built for the arm64 simulator (optional:
#                            adds an ios-arm64-simulator slice)
#   JOBS                     parallel build jobs
#
# Each slice is one static library: libattn.a merged (libtool -static) with
# the static XNNPACK, pthreadpool and cpuinfo it needs, so an app links
# attn.xcframework alone. The headers carry a module map: Swift can
# `import attn`, C and Objective-C `#include <attn/attn.h>`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${1:-dist/ios}
jobs=${JOBS:-$(sysctl -n hw.ncpu 2>/dev/null || echo 2)}

[ "$(uname -s)" = "Darwin" ] || { echo "package-ios-xcframework: needs macOS with Xcode" >&2; exit 1; }
command -v xcodebuild >/dev/null || { echo "package-ios-xcframework: xcodebuild not found (install Xcode)" >&2; exit 1; }
[ -n "${ATTN_IOS_DEPS:-}" ] || { echo "package-ios-xcframework: set ATTN_IOS_DEPS (see toolchains/README.md)" >&2; exit 1; }

work=$out/work
rm -rf "$out/attn.xcframework" "$work"
mkdir -p "$work/headers/attn"
cp runtime/include/attn/attn.h "$work/headers/attn/attn.h"
cat >"$work/headers/module.modulemap" <<'EOF'
module attn {
  header "attn/attn.h"
  export *
}
EOF

# build_slice NAME PLATFORM DEPS: configures, builds libattn.a, merges the
# dependencies into work/NAME/libattn.a.
build_slice() {
  local name=$1 platform=$2 deps=$3
  local build=$root/build-ios-$name
  cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE="$root/toolchains/ios-arm64.cmake" \
    -DATTN_IOS_PLATFORM="$platform" -DATTN_IOS_DEPS="$deps" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$build" --config Release -j"$jobs" --target attn_static
  local lib
  lib=$(find "$build/runtime" -name libattn.a -print -quit)
  [ -n "$lib" ] || { echo "package-ios-xcframework: no libattn.a in $build" >&2; exit 1; }
  local parts=("$lib")
  for dep in XNNPACK pthreadpool cpuinfo clog; do
    if [ -f "$deps/lib/lib$dep.a" ]; then
      parts+=("$deps/lib/lib$dep.a")
    elif [ "$dep" != clog ]; then
      echo "package-ios-xcframework: $deps/lib/lib$dep.a is missing" >&2
      exit 1
    fi
  done
  mkdir -p "$work/$name"
  libtool -static -o "$work/$name/libattn.a" "${parts[@]}"
  args+=(-library "$work/$name/libattn.a" -headers "$work/headers")
}

args=()
build_slice ios-arm64 OS "$ATTN_IOS_DEPS"
if [ -n "${ATTN_IOS_SIMULATOR_DEPS:-}" ]; then
  build_slice ios-arm64-simulator SIMULATOR "$ATTN_IOS_SIMULATOR_DEPS"
fi
xcodebuild -create-xcframework "${args[@]}" -output "$out/attn.xcframework"
rm -rf "$work"
echo "package-ios-xcframework: $out/attn.xcframework"
