# Cross-compiles attn for Android on 64-bit Arm (ABI arm64-v8a) by wrapping
# the Android NDK's own toolchain file. NOT RUN on the project's machines
# (no NDK there): see toolchains/README.md for what was checked.
#
#   cmake -S . -B build-android-arm64 \
#     -DCMAKE_TOOLCHAIN_FILE=toolchains/android-arm64.cmake \
#     -DANDROID_NDK=$HOME/Android/Sdk/ndk/26.3.11579264 \
#     -DATTN_ANDROID_DEPS=$HOME/attn-deps/android-arm64
#   cmake --build build-android-arm64 --target attn attn_static attn-infer
#   (or: cmake --preset android-arm64, with ANDROID_NDK_HOME and
#    ATTN_ANDROID_DEPS set in the environment)
#
# Settings (each may be overridden with -D):
#   ANDROID_ABI        arm64-v8a (fixed: this file is for 64-bit Arm)
#   ANDROID_PLATFORM   android-24: API level 24, Android 7.0, the oldest
#                      Android this build runs on (getauxval needs 18; 24 is
#                      the floor of the NDK releases this was written for)
#   ANDROID_STL        c++_static: libattn.so exports only the C API, so
#                      the C++ runtime stays inside it and apps ship no
#                      libc++_shared.so for attn
#   ANDROID_NDK        the NDK folder; default $ANDROID_NDK_HOME, then $ANDROID_NDK_ROOT
#   ATTN_ANDROID_DEPS  an install prefix holding XNNPACK, pthreadpool and
#                      cpuinfo (static libraries and headers) and the
#                      FlatBuffers headers and CMake package, all built for
#                      arm64-v8a; see toolchains/README.md
# flatc runs on the build machine: install it there (Debian:
# flatbuffers-compiler; macOS: brew install flatbuffers).

if(NOT ANDROID_NDK)
  if(DEFINED ENV{ANDROID_NDK_HOME} AND NOT "$ENV{ANDROID_NDK_HOME}" STREQUAL "")
    set(ANDROID_NDK "$ENV{ANDROID_NDK_HOME}")
  elseif(DEFINED ENV{ANDROID_NDK_ROOT} AND NOT "$ENV{ANDROID_NDK_ROOT}" STREQUAL "")
    set(ANDROID_NDK "$ENV{ANDROID_NDK_ROOT}")
  endif()
endif()
if(NOT ANDROID_NDK OR NOT EXISTS "${ANDROID_NDK}/build/cmake/android.toolchain.cmake")
  message(FATAL_ERROR "toolchains/android-arm64.cmake: set ANDROID_NDK (or ANDROID_NDK_HOME) to an Android NDK "
                      "folder, one holding build/cmake/android.toolchain.cmake (got '${ANDROID_NDK}')")
endif()
set(ANDROID_NDK "${ANDROID_NDK}" CACHE PATH "The Android NDK")

set(ANDROID_ABI arm64-v8a)
if(NOT ANDROID_PLATFORM)
  set(ANDROID_PLATFORM android-24)
endif()
if(NOT ANDROID_STL)
  set(ANDROID_STL c++_static)
endif()
set(ANDROID_PLATFORM "${ANDROID_PLATFORM}" CACHE STRING "Android API level (android-N)")
set(ANDROID_STL "${ANDROID_STL}" CACHE STRING "Android C++ runtime")

if(NOT DEFINED ATTN_ANDROID_DEPS AND DEFINED ENV{ATTN_ANDROID_DEPS})
  set(ATTN_ANDROID_DEPS "$ENV{ATTN_ANDROID_DEPS}")
endif()
set(ATTN_ANDROID_DEPS "${ATTN_ANDROID_DEPS}" CACHE PATH "Prefix of XNNPACK, pthreadpool, cpuinfo and FlatBuffers for arm64-v8a")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ANDROID_NDK ATTN_ANDROID_DEPS)

include("${ANDROID_NDK}/build/cmake/android.toolchain.cmake")

# The NDK's file restricts find_* to its sysroot; add the dependency prefix.
if(ATTN_ANDROID_DEPS)
  list(APPEND CMAKE_FIND_ROOT_PATH "${ATTN_ANDROID_DEPS}")
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)  # flatc is the build machine's
# libattn.so exports its C API only: the static C++ runtime and the static
# XNNPACK, pthreadpool and cpuinfo stay hidden inside it (so its Prefab
# package can declare "stl": "none").
string(APPEND CMAKE_SHARED_LINKER_FLAGS_INIT " -Wl,--exclude-libs,ALL")
# The tests need the build machine's doctest and data and cannot run here.
set(ATTN_BUILD_TESTS OFF CACHE BOOL "Build the tests")
set(ATTN_BUILD_BENCH OFF CACHE BOOL "Build benchmarks")
