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
  libcli11-dev                      # the tools' command lines
  pybind11-dev python3-dev          # the Python module
  python3-pip python3-setuptools python3-wheel       # its pip wheels (tests/install/test_pip.sh)
  pkg-config                        # the install test's pkg-config consumer
  python3-torch python3-numpy libopenblas0            # training, fixtures, references
  python3-matplotlib                # bench/plot.py
  dataset-fashion-mnist             # the bundled demo's data
  bible-kjv fortunes python3-regex  # the text examples' training data (King James Bible, fortunes) and BPE trainer
)

source "$(dirname "$0")/lib/packages.sh"
install_missing install-deps "${packages[@]}"
