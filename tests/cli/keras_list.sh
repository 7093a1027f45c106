#!/usr/bin/env bash
# The seed's Keras ResNet20 list, mapped onto the PyTorch layers, is the PyTorch list: the same
# faults row for row, Injection numbers kept.
set -eu
dnnfi=$1 seed=$2 dir=$3
rm -rf "$dir" && mkdir -p "$dir"
"$dnnfi" faultlist -n resnet20 -d cifar10 --from-keras "$seed/ResNet20_TF_FL.csv" -o "$dir/mapped.csv"
/usr/bin/python3 - "$dir/mapped.csv" "$seed/ResNet20_FL.csv" <<'PY'
import csv, sys
mapped = list(csv.reader(open(sys.argv[1])))
published = [row[:4] for row in csv.reader(open(sys.argv[2]))]
assert len(mapped) == len(published), (len(mapped), len(published))
bad = [(a, b) for a, b in zip(mapped, published) if a != b]
assert not bad, f"{len(bad)} rows differ, first: {bad[0]}"
print(f"PASS: {len(mapped) - 1} Keras faults map onto the PyTorch list row for row")
PY
