#!/usr/bin/env bash
# Prints, from a ctest log (Testing/Temporary/LastTest.log), the kernel paths
# test_kernels ran and the ones the host lacks, and each kernel's worst error
# per path, and the same for test_quant_kernels' quantized-kernel variants: a
# CI log then shows when a path went untested.
# usage: scripts/kernel-report.sh LOG
set -euo pipefail
awk '/^(quant )?kernel paths tested/ {print} /^worst error per (quantized )?kernel/ {t = 1; print; next} t && /^  / {print; next} {t = 0}' "$1"
