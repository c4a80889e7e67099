#!/usr/bin/env bash
# Prepares what an aarch64 cross build of attn needs on Debian 12 (amd64):
# usage: toolchains/prepare-aarch64-deps.sh [BUILD_DIR]   (default: build-aarch64)
#
#  - the host tools: cmake, flatc, doctest, nlohmann-json, python3-numpy (for
#    the checks that read .npy files), the cross compiler and qemu-user;
#  - the arm64 packages that install beside the amd64 ones through Debian's
#    multiarch (dpkg --add-architecture arm64): libcpuinfo0, libflatbuffers-dev,
#    libbenchmark-dev (these pull in libc6:arm64 and libstdc++6:arm64);
#  - the arm64 packages that would remove or clash with the amd64 ones
#    (libxnnpack-dev, libxnnpack0, libpthreadpool-dev, libpthreadpool0,
#    libcpuinfo-dev, with libcpuinfo0 for its .so link): downloaded with apt-get download and unpacked with
#    dpkg-deb -x into BUILD_DIR/sysroot, never into /.
# Installing needs root; when everything is already there it needs nothing.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/packages.sh
build=${1:-build-aarch64}
sysroot=$build/sysroot

host_packages=(cmake make g++ flatbuffers-compiler doctest-dev nlohmann-json3-dev python3-numpy
  g++-aarch64-linux-gnu qemu-user)
multiarch_packages=(libcpuinfo0:arm64 libflatbuffers-dev:arm64 libbenchmark-dev:arm64)
# libcpuinfo0 is installed through multiarch too; unpacking it beside
# libcpuinfo-dev lets that package's libcpuinfo.so link resolve in the sysroot.
unpacked_packages=(libxnnpack-dev libxnnpack0 libpthreadpool-dev libpthreadpool0 libcpuinfo-dev libcpuinfo0)

as_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "prepare-aarch64-deps: $1 needs root" >&2
    exit 1
  fi
}

if ! grep -qx arm64 <<<"$(dpkg --print-foreign-architectures)"; then
  as_root "adding the arm64 architecture"
  dpkg --add-architecture arm64
  apt_update
fi

install_missing prepare-aarch64-deps "${host_packages[@]}" "${multiarch_packages[@]}"

# The clashing packages, at the versions apt would install for amd64 (the
# arm64 ones must match the headers the amd64 build uses).
mkdir -p "$sysroot" "$build/debs"
stamp=$sysroot/.unpacked
want=""
for p in "${unpacked_packages[@]}"; do
  v=$(apt-cache policy "$p:arm64" 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [ -z "$v" ] || [ "$v" = "(none)" ]; then
    apt_update
    v=$(apt-cache policy "$p:arm64" | awk '/Candidate:/ {print $2}')
  fi
  if [ -z "$v" ] || [ "$v" = "(none)" ]; then
    echo "prepare-aarch64-deps: no arm64 candidate for $p" >&2
    exit 1
  fi
  want+="$p:arm64=$v "
done
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "prepare-aarch64-deps: unpacking $want into $sysroot"
  rm -rf "$build/debs"/*.deb
  # apt-get download writes into the current folder; _apt must be able to write there.
  (cd "$build/debs" && chmod 777 . && apt-get download -q $want)
  for deb in "$build/debs"/*.deb; do
    dpkg-deb -x "$deb" "$sysroot"
  done
  echo "$want" >"$stamp"
fi

for f in usr/include/xnnpack.h usr/include/pthreadpool.h usr/include/cpuinfo.h \
  usr/lib/aarch64-linux-gnu/libXNNPACK.so usr/lib/aarch64-linux-gnu/libpthreadpool.so \
  usr/lib/aarch64-linux-gnu/libcpuinfo.so; do
  if [ ! -e "$sysroot/$f" ]; then
    echo "prepare-aarch64-deps: $sysroot/$f is missing after unpacking" >&2
    exit 1
  fi
done
echo "prepare-aarch64-deps: ready ($sysroot)"
