#!/usr/bin/env bash
# `cmake --install` gives a tool that works from any directory once moved elsewhere: it finds
# its exporter and zoo registry beside itself, with no path into the source or build tree.
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
echo "PASS: installed, moved and run from $dir/elsewhere"
