#!/usr/bin/env bash
# pip's route to both Python packages, from a copy of the source tree:
# builds the wheels of `attn` (the runtime module, through setup.py and CMake)
# and `attn-torch` (converter/python), installs them into a fresh target
# folder, checks their versions against project()'s, and runs the module's
# tests (every fixture within the contract) on the installed module.
# Usage: test_pip.sh SOURCE_DIR VERSION ATTN_CONVERT FIXTURES_DIR
set -euo pipefail
src=$1 version=$2 convert=$3 fixtures=$4
python=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The files git would track, as they are now (pip builds in the tree it is given).
mkdir "$work/src"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z --cached --others --exclude-standard | tar cf - --null -T -) | tar xf - -C "$work/src"
else
  tar cf - -C "$src" --exclude='./build*' . | tar xf - -C "$work/src"
fi

pip() { "$python" -m pip "$@" --no-build-isolation --no-deps --no-index --disable-pip-version-check; }
pip wheel -q -w "$work/dist" "$work/src" >"$work/wheel-attn.log" 2>&1 || { tail -n 40 "$work/wheel-attn.log"; exit 1; }
pip wheel -q -w "$work/dist" "$work/src/converter/python" >"$work/wheel-torch.log" 2>&1 ||
  { tail -n 40 "$work/wheel-torch.log"; exit 1; }
ls "$work/dist"
for wheel in "attn-$version-" "attn_torch-$version-"; do
  ls "$work/dist/$wheel"*.whl >/dev/null || { echo "FAIL: no wheel $wheel*.whl (version $version)"; exit 1; }
done
"$python" -m pip install -q --no-index --no-deps --disable-pip-version-check --target "$work/site" "$work"/dist/*.whl

# The installed module, not the build tree's: run from elsewhere, with only the target on the path.
cd "$work"
PYTHONPATH="$work/site" "$python" - "$work/site" "$version" <<'PY'
import os, sys
import attn, attn_torch
site, version = sys.argv[1], sys.argv[2]
for module in (attn, attn_torch):
    assert os.path.realpath(module.__file__).startswith(os.path.realpath(site)), module.__file__
assert attn.version() == version, (attn.version(), version)
assert callable(attn_torch.build_model)
print("installed:", attn.__file__, attn.version())
PY
PYTHONPATH="$work/site" ATTN_CONVERT="$convert" ATTN_FIXTURES="$fixtures" \
  "$python" -m unittest discover -s "$work/src/python/tests"
echo "pip wheels: attn and attn-torch $version build, install and pass the module's tests"
