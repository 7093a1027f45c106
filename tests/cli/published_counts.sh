#!/usr/bin/env bash
# Rows of the published ResNet20 list, all 10,000 test images: critical counts must match
# the published ones within 2 (masked counts differ across platforms, see README).
set -eu
dnnfi=$1 shared=$2 dir=$3 count=$4
rm -rf "$dir" && mkdir -p "$dir"
here=$(cd "$(dirname "$0")" && pwd)
"$dnnfi" run -n resnet20 -d cifar10 -f "$shared/seed/ResNet20_FL.csv" --sample "$count" --threads 1 -q -o "$dir/ours.csv"
/usr/bin/python3 "$here/../../scripts/compare_results.py" "$shared/seed/ResNet20_FL.csv" "$dir/ours.csv" --max-critical-diff 2
