# Cross-compiles attn for 64-bit Arm Linux (aarch64) with Debian's
# g++-aarch64-linux-gnu, and runs the tests through qemu-aarch64.
#
#   bash toolchains/prepare-aarch64-deps.sh build-aarch64      # as root, once
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake
#   (or: cmake --preset aarch64-linux)
#
# Libraries come from two places:
#   - Debian's multiarch arm64 packages that install beside the amd64 ones
#     (libcpuinfo0, libflatbuffers-dev, libbenchmark-dev): /usr/lib/aarch64-linux-gnu;
#   - the arm64 packages that would clash with the amd64 ones (libxnnpack-dev,
#     libxnnpack0, libpthreadpool-dev, libpthreadpool0, libcpuinfo-dev), unpacked
#     by prepare-aarch64-deps.sh into ATTN_AARCH64_SYSROOT (default:
#     <build dir>/sysroot).
# Programs (flatc) are the host's.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# The unpacked arm64 packages. Also passed on to try_compile projects, whose
# binary directory is not ours.
if(NOT DEFINED ATTN_AARCH64_SYSROOT)
  set(ATTN_AARCH64_SYSROOT "${CMAKE_BINARY_DIR}/sysroot" CACHE PATH
      "Folder holding the unpacked arm64 packages (see toolchains/prepare-aarch64-deps.sh)")
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ATTN_AARCH64_SYSROOT)

# Search the unpacked packages first, then the multiarch tree under /.
# CMAKE_LIBRARY_ARCHITECTURE makes find_library look in lib/aarch64-linux-gnu
# and never in lib/x86_64-linux-gnu.
set(CMAKE_FIND_ROOT_PATH "${ATTN_AARCH64_SYSROOT}" /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Linking against libXNNPACK.so needs its own dependencies (libpthreadpool,
# libcpuinfo) found at link time too.
set(_attn_aarch64_libdirs "${ATTN_AARCH64_SYSROOT}/usr/lib/aarch64-linux-gnu" /usr/lib/aarch64-linux-gnu)
foreach(_dir IN LISTS _attn_aarch64_libdirs)
  string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -Wl,-rpath-link,${_dir}")
  string(APPEND CMAKE_SHARED_LINKER_FLAGS_INIT " -Wl,-rpath-link,${_dir}")
endforeach()

# Tests run through qemu-aarch64 (package qemu-user). The guest uses the arm64
# glibc of the multiarch packages (/lib/ld-linux-aarch64.so.1, libc6:arm64),
# and nothing from /usr/aarch64-linux-gnu: `-L /usr/aarch64-linux-gnu` on its
# own would load that folder's dynamic loader with the multiarch libc, two
# glibc builds that hang any program creating a thread. The unpacked XNNPACK
# and pthreadpool come first in the guest's library path.
# QEMU_CPU in the environment picks the emulated CPU (default: "max",
# every feature on; e.g. QEMU_CPU=cortex-a72 for plain Armv8.0 NEON).
find_program(ATTN_QEMU_AARCH64 qemu-aarch64)
if(ATTN_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR
      "${ATTN_QEMU_AARCH64};-E;LD_LIBRARY_PATH=${ATTN_AARCH64_SYSROOT}/usr/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu")
endif()
