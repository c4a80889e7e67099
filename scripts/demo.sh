#!/usr/bin/env bash
# The bundled default: installs what is missing, builds, converts the four
# Fashion-MNIST ViTs (one per attention variant), runs each over the 10,000
# test images and prints a table per variant.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
/usr/bin/python3 scripts/fashion_mnist_demo.py --build build --out build/demo
