#!/usr/bin/env bash
# Installs the build tree into a fresh prefix, then builds tests/install's
# consumer against it four ways (find_package and pkg-config, shared and
# static) and runs each on a model with embedded samples. Also checks that the
# shared library exports the attn_* functions and nothing else.
#   test_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(realpath "$1")
source=$(realpath "$2")
work=$build/tests/output/install
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name libattn.a | head -1)")

"$prefix/bin/attn-convert" "$source/tests/data/fixtures/vit-standard-fused" -o "$work/model.attnmodel" \
  --embed-sample "$source/tests/data/fixtures/vit-standard-fused/inputs.npy" --embed-count 2 >/dev/null

unexpected=$(nm -D --defined-only "$libdir/libattn.so" | awk '{print $3}' | grep -v '^attn_' || true)
if [ -n "$unexpected" ]; then
  echo "libattn.so exports symbols beside attn_*:"; echo "$unexpected"; exit 1
fi

links_shared() { [[ $(ldd "$1") == *libattn.so* ]]; }  # not a pipe: grep -q would close it under pipefail

for kind in shared static; do
  flag=OFF; [ $kind = static ] && flag=ON
  cmake -S "$source/tests/install" -B "$work/cmake-$kind" -DCMAKE_PREFIX_PATH="$prefix" \
        -Dattn_USE_STATIC_LIBS=$flag -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$work/cmake-$kind" >/dev/null
  program=$work/cmake-$kind/consumer
  if [ $kind = shared ] && ! links_shared "$program"; then echo "$program: not linked to libattn.so"; exit 1; fi
  if [ $kind = static ] && links_shared "$program"; then echo "$program: linked to libattn.so"; exit 1; fi
  echo "find_package, $kind:"; "$program" "$work/model.attnmodel"
done

export PKG_CONFIG_PATH=$libdir/pkgconfig
cc -O2 "$source/tests/install/consumer.c" -o "$work/pc-shared" $(pkg-config --cflags --libs attn) -lm \
   -Wl,-rpath,"$libdir"
links_shared "$work/pc-shared" || { echo "pc-shared: not linked to libattn.so"; exit 1; }
echo "pkg-config attn:"; "$work/pc-shared" "$work/model.attnmodel"
cc -O2 "$source/tests/install/consumer.c" -o "$work/pc-static" $(pkg-config --cflags --libs attn-static)
if links_shared "$work/pc-static"; then echo "pc-static: linked to libattn.so"; exit 1; fi
echo "pkg-config attn-static:"; "$work/pc-static" "$work/model.attnmodel"
