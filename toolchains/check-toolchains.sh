#!/usr/bin/env bash
# Checks what can be checked on a Debian machine of the Android, iOS and macOS
# files, which cannot be built here (no NDK, no Xcode, no macOS):
#   - every shell script parses (bash -n);
#   - CMakePresets.json parses and lists the Arm presets;
#   - toolchains/android-arm64.cmake, run against a stand-in NDK toolchain file,
#     hands the NDK arm64-v8a, android-24 and c++_static and adds the
#     dependency prefix to the search roots; it refuses a missing NDK;
#   - toolchains/ios-arm64.cmake runs in script mode and sets iOS, arm64, the
#     deployment target and the SDK; it refuses an unknown platform;
#   - runtime/CMakeLists.txt, evaluated for each Arm target's
#     CMAKE_SYSTEM_PROCESSOR (aarch64: Linux, Android; arm64: iOS, macOS),
#     compiles f32_neon.cc and no x86 kernel source;
#   - toolchains/package-android.sh lays out a well-formed Prefab package
#     (with --prebuilt BUILD_DIR, when a built aarch64 tree is given).
# usage: toolchains/check-toolchains.sh [AARCH64_BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
prebuilt=${1:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAILED: $*"; }
check() {  # check "description" command...
  local what=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/    /' "$tmp/out"; fi
}

for f in toolchains/*.sh; do
  check "$f parses" bash -n "$f"
done

presets() {
  cmake --list-presets=all >"$tmp/presets"
  for p in aarch64-linux android-arm64; do grep -q "\"$p\"" "$tmp/presets" || return 1; done
  # macos-arm64 and ios-arm64 are listed on macOS only (their condition).
  python3 - <<'EOF'
import json
d = json.load(open("CMakePresets.json"))
names = {p["name"] for p in d["configurePresets"]}
assert {"aarch64-linux", "macos-arm64", "ios-arm64", "android-arm64"} <= names, names
mac = next(p for p in d["configurePresets"] if p["name"] == "macos-arm64")
assert mac["cacheVariables"]["CMAKE_OSX_ARCHITECTURES"] == "arm64"
assert mac["cacheVariables"]["CMAKE_OSX_DEPLOYMENT_TARGET"]
EOF
}
check "CMakePresets.json parses and has the Arm presets" presets

# A stand-in for the NDK's build/cmake/android.toolchain.cmake that records
# what the wrapper handed it.
mkdir -p "$tmp/ndk/build/cmake"
cat >"$tmp/ndk/build/cmake/android.toolchain.cmake" <<'EOF'
file(WRITE "${ATTN_CHECK_OUT}" "ABI=${ANDROID_ABI}\nPLATFORM=${ANDROID_PLATFORM}\nSTL=${ANDROID_STL}\n")
set(CMAKE_FIND_ROOT_PATH "/ndk-sysroot")
EOF
cat >"$tmp/android.cmake" <<EOF
include("$root/toolchains/android-arm64.cmake")
file(APPEND "\${ATTN_CHECK_OUT}" "ROOTS=\${CMAKE_FIND_ROOT_PATH}\nTESTS=\${ATTN_BUILD_TESTS}\nLDFLAGS=\${CMAKE_SHARED_LINKER_FLAGS_INIT}\n")
EOF
android() {
  cmake -DANDROID_NDK="$tmp/ndk" -DATTN_ANDROID_DEPS=/deps -DATTN_CHECK_OUT="$tmp/android.out" -P "$tmp/android.cmake"
  cat "$tmp/android.out"
  grep -qx 'ABI=arm64-v8a' "$tmp/android.out" && grep -qx 'PLATFORM=android-24' "$tmp/android.out" &&
    grep -qx 'STL=c++_static' "$tmp/android.out" && grep -qx 'ROOTS=/ndk-sysroot;/deps' "$tmp/android.out" &&
    grep -qx 'TESTS=OFF' "$tmp/android.out" && grep -q 'exclude-libs,ALL' "$tmp/android.out"
}
check "android-arm64.cmake hands the NDK arm64-v8a, android-24, c++_static and adds the dependency prefix" android
android_no_ndk() {
  ! env -u ANDROID_NDK_HOME -u ANDROID_NDK_ROOT cmake -P toolchains/android-arm64.cmake 2>"$tmp/err" &&
    grep -q 'set ANDROID_NDK' "$tmp/err"
}
check "android-arm64.cmake refuses a missing NDK with a message" android_no_ndk

cat >"$tmp/ios.cmake" <<EOF
include("$root/toolchains/ios-arm64.cmake")
message(STATUS "ios: \${CMAKE_SYSTEM_NAME} \${CMAKE_SYSTEM_PROCESSOR} \${CMAKE_OSX_ARCHITECTURES} \${CMAKE_OSX_DEPLOYMENT_TARGET} \${CMAKE_OSX_SYSROOT} tools=\${ATTN_BUILD_TOOLS}")
EOF
ios() {
  grep -qx -- '-- ios: iOS arm64 arm64 14.0 iphoneos tools=OFF' <<<"$(cmake -P "$tmp/ios.cmake")" &&
    grep -q -- ' 14.0 iphonesimulator ' <<<"$(cmake -DATTN_IOS_PLATFORM=SIMULATOR -P "$tmp/ios.cmake")" &&
    ! cmake -DATTN_IOS_PLATFORM=TV -P "$tmp/ios.cmake" 2>/dev/null
}
check "ios-arm64.cmake: iOS, arm64, iOS 14.0, iphoneos or iphonesimulator" ios

# runtime/CMakeLists.txt's source selection, with the commands that need a
# project stubbed out.
cat >"$tmp/sources.cmake" <<EOF
function(add_library name)
  if(name STREQUAL "attn_objects")
    set(ATTN_CHECK_SOURCES "\${ARGN}" PARENT_SCOPE)
  endif()
endfunction()
foreach(cmd add_dependencies target_include_directories target_compile_options target_link_libraries
            set_target_properties target_compile_definitions set_source_files_properties install)
  cmake_language(EVAL CODE "function(\${cmd})\nendfunction()")
endforeach()
set(CMAKE_CURRENT_SOURCE_DIR "$root/runtime")
include("$root/runtime/CMakeLists.txt")
message(STATUS "sources: \${ATTN_CHECK_SOURCES}")
EOF
sources() {
  local proc=$1
  cmake -DCMAKE_SYSTEM_PROCESSOR="$proc" -P "$tmp/sources.cmake" >"$tmp/sources"
  cat "$tmp/sources"
  grep -q 'f32_neon.cc' "$tmp/sources" && ! grep -E -q 'avx|sse' "$tmp/sources"
}
check "CMAKE_SYSTEM_PROCESSOR aarch64 (Linux, Android): f32_neon.cc, no x86 source" sources aarch64
check "CMAKE_SYSTEM_PROCESSOR arm64 (iOS, macOS): f32_neon.cc, no x86 source" sources arm64
x86_sources() {
  cmake -DCMAKE_SYSTEM_PROCESSOR=x86_64 -P "$tmp/sources.cmake" >"$tmp/sources"
  ! grep -q 'f32_neon.cc' "$tmp/sources"
}
check "CMAKE_SYSTEM_PROCESSOR x86_64: no f32_neon.cc" x86_sources

if [ -n "$prebuilt" ]; then
  android_layout() {
    bash toolchains/package-android.sh --prebuilt "$prebuilt" "$tmp/dist"
    python3 - "$tmp/dist" <<'EOF'
import json, os, sys
pkg = os.path.join(sys.argv[1], "attn")
prefab = json.load(open(os.path.join(pkg, "prefab/prefab.json")))
assert prefab["schema_version"] == 2 and prefab["name"] == "attn" and prefab["dependencies"] == []
assert all(part.isdigit() for part in prefab["version"].split(".")), prefab["version"]
module = os.path.join(pkg, "prefab/modules/attn")
json.load(open(os.path.join(module, "module.json")))
abi = json.load(open(os.path.join(module, "libs/android.arm64-v8a/abi.json")))
assert abi["abi"] == "arm64-v8a" and abi["api"] == 24 and abi["stl"] == "none" and abi["static"] is False, abi
for f in ("include/attn/attn.h", "libs/android.arm64-v8a/libattn.so"):
    assert os.path.isfile(os.path.join(module, f)), f
assert os.path.isfile(os.path.join(pkg, "AndroidManifest.xml"))
assert os.access(os.path.join(sys.argv[1], "bin/arm64-v8a/attn-infer"), os.X_OK)
EOF
  }
  check "package-android.sh lays out the Prefab package (from $prebuilt)" android_layout
fi

echo "check-toolchains: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
