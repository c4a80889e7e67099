#!/usr/bin/env bash
# Installs what attn needs to build, test and run its demo on Debian 12
# (as root). Safe to run again.
set -euo pipefail

packages=(
  cmake g++ make                    # build
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev   # dense layers, threads, CPU features
  libflatbuffers-dev flatbuffers-compiler             # the .attnmodel format
  nlohmann-json3-dev                # config.json and safetensors headers
  doctest-dev libbenchmark-dev      # tests and benchmarks
  python3-torch python3-numpy libopenblas0            # training, fixtures, references
  python3-matplotlib                # bench/plot.py
  dataset-fashion-mnist             # the bundled demo's data
)

missing=()
for p in "${packages[@]}"; do
  [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: these packages are missing, and installing them needs root: ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
