#!/usr/bin/env bash
# `cmake --install` gives a tool that works from any directory once moved elsewhere: it finds
# its exporter and zoo registry beside itself, with no path into the source or build tree; the
# Python package installed with it finds that tool before any dnnfi on PATH or in DNNFI_BIN.
set -eu
build=$1 dir=$2 shared=$3
rm -rf "$dir" && mkdir -p "$dir"
cmake --install "$build" --prefix "$dir/first" > "$dir/install.log"
mv "$dir/first" "$dir/moved"
mkdir -p "$dir/elsewhere"
cd "$dir/elsewhere"
out=$(env -u DNNFI_SCRIPTS_DIR DNNFI_HOME="$dir/home" DNNFI_WEIGHTS_DIR="$shared/weights" \
  DNNFI_DATA_DIR="$shared/data" PYTHONDONTWRITEBYTECODE=1 \
  "$dir/moved/bin/dnnfi" eval -n resnet20 -d cifar10 --threads 1 2>&1)
echo "$out"
echo "$out" | grep -q "exporting it to TorchScript with $dir/moved/share/dnnfi/scripts/export_model.py" ||
  { echo "FAIL: the installed exporter was not used" >&2; exit 1; }
echo "$out" | grep -q "top1 accuracy: 91.48% (9148/10000)" || { echo "FAIL: wrong accuracy" >&2; exit 1; }

package="$dir/moved/lib/python3/dist-packages"
[ -f "$package/dnnfi/__init__.py" ] || { echo "FAIL: no Python package in $package" >&2; exit 1; }
mkdir -p "$dir/decoy" && printf '#!/bin/sh\nexit 99\n' > "$dir/decoy/dnnfi" && chmod +x "$dir/decoy/dnnfi"
out=$(env -u DNNFI_SCRIPTS_DIR PATH="$dir/decoy:/usr/bin:/bin" DNNFI_BIN="$dir/decoy/dnnfi" DNNFI_HOME="$dir/home" \
  DNNFI_WEIGHTS_DIR="$shared/weights" DNNFI_DATA_DIR="$shared/data" PYTHONPATH="$package" PYTHONDONTWRITEBYTECODE=1 \
  /usr/bin/python3 -c 'import dnnfi
layers = dnnfi.layers("resnet20")
print(dnnfi.__file__, dnnfi.tool(), len(layers), layers["layer"].iloc[-1])' 2>&1)
echo "$out"
[ "$out" = "$package/dnnfi/__init__.py $dir/moved/bin/dnnfi 20 linear" ] ||
  { echo "FAIL: the installed package did not run the installed tool" >&2; exit 1; }
echo "PASS: installed, moved and run from $dir/elsewhere, from the shell and from Python"
