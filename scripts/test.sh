#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
# Which kernel paths this host ran and which it could not, with each kernel's
# worst error per path (printed by test_kernels).
bash scripts/kernel-report.sh build/Testing/Temporary/LastTest.log
bash scripts/test-without-xnnpack.sh  # the own GEMMs alone: a build with -DATTN_WITH_XNNPACK=OFF
bash scripts/test-sanitizers.sh  # ASan+UBSan suite, TSan thread test, each fuzz target briefly
ATTN_HOST_CONVERT=build/converter/attn-convert bash toolchains/build-aarch64.sh  # aarch64 cross build, tests under qemu
