# Cross-compiles attn for iOS on 64-bit Arm (iPhone and iPad, arm64) with
# Apple clang from Xcode. NOT RUN on the project's machines (no macOS, no
# Xcode there): see toolchains/README.md for what was checked.
#
#   cmake -S . -B build-ios-arm64 -G Xcode \
#     -DCMAKE_TOOLCHAIN_FILE=toolchains/ios-arm64.cmake \
#     -DATTN_IOS_DEPS=$HOME/attn-deps/ios-arm64
#   cmake --build build-ios-arm64 --config Release --target attn_static
#   (or: cmake --preset ios-arm64; toolchains/package-ios-xcframework.sh
#    builds and packages attn.xcframework)
# Any generator works (Ninja, Unix Makefiles or Xcode).
#
# Settings (each may be overridden with -D):
#   CMAKE_OSX_DEPLOYMENT_TARGET  14.0: iOS 14, the oldest iOS this build runs on
#   ATTN_IOS_PLATFORM            OS (devices, the iphoneos SDK) or SIMULATOR
#                                (arm64 simulators on Apple silicon Macs, the
#                                iphonesimulator SDK)
#   ATTN_IOS_DEPS                an install prefix holding XNNPACK, pthreadpool
#                                and cpuinfo (static libraries and headers) and
#                                the FlatBuffers headers and CMake package, built
#                                for the same platform; see toolchains/README.md
# flatc runs on the Mac itself (brew install flatbuffers).
#
# Only the library is built for iOS: an iOS program cannot be run from a
# shell, so the tests, benchmarks and command-line tools stay on the Mac (the
# macos-arm64 preset builds those for Apple silicon).

set(CMAKE_SYSTEM_NAME iOS)
set(CMAKE_SYSTEM_PROCESSOR arm64)
set(CMAKE_OSX_ARCHITECTURES arm64 CACHE STRING "iOS architectures")
set(CMAKE_OSX_DEPLOYMENT_TARGET 14.0 CACHE STRING "The oldest iOS version attn runs on")

if(NOT DEFINED ATTN_IOS_PLATFORM)
  set(ATTN_IOS_PLATFORM OS)
endif()
set(ATTN_IOS_PLATFORM "${ATTN_IOS_PLATFORM}" CACHE STRING "OS (devices) or SIMULATOR")
if(ATTN_IOS_PLATFORM STREQUAL "OS")
  set(CMAKE_OSX_SYSROOT iphoneos CACHE STRING "")
elseif(ATTN_IOS_PLATFORM STREQUAL "SIMULATOR")
  set(CMAKE_OSX_SYSROOT iphonesimulator CACHE STRING "")
else()
  message(FATAL_ERROR "toolchains/ios-arm64.cmake: ATTN_IOS_PLATFORM must be OS or SIMULATOR, not '${ATTN_IOS_PLATFORM}'")
endif()

# Apple clang from the active Xcode (xcode-select); CMake finds it through xcrun.
set(CMAKE_C_COMPILER clang)
set(CMAKE_CXX_COMPILER clang++)
# A static library needs no code signing; the app that links it is signed.
set(CMAKE_XCODE_ATTRIBUTE_CODE_SIGNING_ALLOWED NO)
set(CMAKE_XCODE_ATTRIBUTE_ONLY_ACTIVE_ARCH NO)

if(NOT DEFINED ATTN_IOS_DEPS AND DEFINED ENV{ATTN_IOS_DEPS})
  set(ATTN_IOS_DEPS "$ENV{ATTN_IOS_DEPS}")
endif()
set(ATTN_IOS_DEPS "${ATTN_IOS_DEPS}" CACHE PATH "Prefix of XNNPACK, pthreadpool, cpuinfo and FlatBuffers for iOS arm64")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ATTN_IOS_PLATFORM ATTN_IOS_DEPS)

# Look for libraries and packages in the dependency prefix only, for
# programs (flatc) on the Mac.
set(CMAKE_FIND_ROOT_PATH "${ATTN_IOS_DEPS}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# try_compile builds a static library: an iOS executable would need signing.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(ATTN_BUILD_TESTS OFF CACHE BOOL "Build the tests")
set(ATTN_BUILD_TOOLS OFF CACHE BOOL "Build attn-convert and attn-infer")
set(ATTN_BUILD_BENCH OFF CACHE BOOL "Build benchmarks")
