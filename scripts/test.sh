#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
bash scripts/test-sanitizers.sh  # ASan+UBSan suite, TSan thread test, each fuzz target briefly
ATTN_HOST_CONVERT=build/converter/attn-convert bash toolchains/build-aarch64.sh  # aarch64 cross build, tests under qemu
