#!/usr/bin/env bash
# Builds attn for Android arm64-v8a with the NDK (toolchains/android-arm64.cmake)
# and lays it out as a Prefab package in an AAR-ready folder, plus attn-infer
# for `adb push`. NOT RUN on the project's machines (no NDK there); only the
# layout step has been exercised there, with --prebuilt (see toolchains/README.md).
#
# usage: toolchains/package-android.sh [OUT_DIR]             (default dist/android)
#        toolchains/package-android.sh --prebuilt BUILD_DIR [OUT_DIR]
# environment:
#   ANDROID_NDK_HOME   the NDK folder (or ANDROID_NDK_ROOT)
#   ATTN_ANDROID_DEPS  prefix of XNNPACK, pthreadpool, cpuinfo, FlatBuffers for arm64-v8a
#   ANDROID_PLATFORM   default android-24
#   JOBS               parallel build jobs
#
# --prebuilt BUILD_DIR skips the build and packages BUILD_DIR's
# runtime/libattn.so and tools/attn-infer as they are (used to check the
# layout without an NDK; such a package is not an Android library).
#
# Result (OUT_DIR/attn is the AAR-ready folder; `cd OUT_DIR/attn && zip -r
# ../attn-VERSION.aar .` makes the AAR):
#   OUT_DIR/attn/AndroidManifest.xml
#   OUT_DIR/attn/prefab/prefab.json
#   OUT_DIR/attn/prefab/modules/attn/module.json
#   OUT_DIR/attn/prefab/modules/attn/include/attn/attn.h
#   OUT_DIR/attn/prefab/modules/attn/libs/android.arm64-v8a/abi.json
#   OUT_DIR/attn/prefab/modules/attn/libs/android.arm64-v8a/libattn.so
#   OUT_DIR/bin/arm64-v8a/attn-infer
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

prebuilt=""
if [ "${1:-}" = "--prebuilt" ]; then
  prebuilt=${2:?--prebuilt needs a build folder}
  shift 2
fi
out=${1:-dist/android}
jobs=${JOBS:-$(nproc 2>/dev/null || sysctl -n hw.ncpu)}
platform=${ANDROID_PLATFORM:-android-24}
api=${platform#android-}
version=$(sed -n 's/^project(attn VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || { echo "package-android: cannot read the version from CMakeLists.txt" >&2; exit 1; }

if [ -z "$prebuilt" ]; then
  ndk=${ANDROID_NDK_HOME:-${ANDROID_NDK_ROOT:-}}
  [ -n "$ndk" ] && [ -f "$ndk/build/cmake/android.toolchain.cmake" ] ||
    { echo "package-android: set ANDROID_NDK_HOME to an Android NDK" >&2; exit 1; }
  [ -n "${ATTN_ANDROID_DEPS:-}" ] ||
    { echo "package-android: set ATTN_ANDROID_DEPS (see toolchains/README.md)" >&2; exit 1; }
  ndk_major=$(sed -n 's/^Pkg.Revision *= *\([0-9]*\).*/\1/p' "$ndk/source.properties")
  build=$root/build-android-arm64
  cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE="$root/toolchains/android-arm64.cmake" \
    -DANDROID_NDK="$ndk" -DANDROID_PLATFORM="$platform" -DATTN_ANDROID_DEPS="$ATTN_ANDROID_DEPS" \
    -DCMAKE_BUILD_TYPE=Release
  cmake --build "$build" -j"$jobs" --target attn attn-infer
  strip_tools=("$ndk"/toolchains/llvm/prebuilt/*/bin/llvm-strip)
  strip_tool=${strip_tools[0]}
else
  build=$(cd "$prebuilt" && pwd)
  ndk_major=0
  strip_tool=""
fi

lib=$build/runtime/libattn.so
infer=$build/tools/attn-infer
for f in "$lib" "$infer" runtime/include/attn/attn.h; do
  [ -f "$f" ] || { echo "package-android: $f is missing" >&2; exit 1; }
done

pkg=$out/attn
module=$pkg/prefab/modules/attn
libdir=$module/libs/android.arm64-v8a
rm -rf "${pkg:?}" "${out:?}/bin"
mkdir -p "$module/include/attn" "$libdir" "$out/bin/arm64-v8a"

cat >"$pkg/AndroidManifest.xml" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="org.attn.runtime">
  <uses-sdk android:minSdkVersion="$api" />
</manifest>
EOF
cat >"$pkg/prefab/prefab.json" <<EOF
{
  "schema_version": 2,
  "name": "attn",
  "version": "$version",
  "dependencies": []
}
EOF
cat >"$module/module.json" <<EOF
{
  "export_libraries": [],
  "android": {}
}
EOF
# libattn.so links libc++ statically and exports only the C API
# (-fvisibility=hidden, and --exclude-libs,ALL from the toolchain file): the
# case Prefab asks to declare as "none", compatible with any app STL.
cat >"$libdir/abi.json" <<EOF
{
  "abi": "arm64-v8a",
  "api": $api,
  "ndk": $ndk_major,
  "stl": "none",
  "static": false
}
EOF
cp runtime/include/attn/attn.h "$module/include/attn/attn.h"
cp "$lib" "$libdir/libattn.so"
cp "$infer" "$out/bin/arm64-v8a/attn-infer"
if [ -n "$strip_tool" ]; then
  "$strip_tool" --strip-unneeded "$libdir/libattn.so"
  "$strip_tool" "$out/bin/arm64-v8a/attn-infer"
fi

echo "package-android: $pkg (Prefab package attn $version, arm64-v8a, API $api), $out/bin/arm64-v8a/attn-infer"
[ -z "$prebuilt" ] || echo "package-android: built from $prebuilt: a layout check, not an Android library"
