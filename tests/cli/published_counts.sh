#!/usr/bin/env bash
# Rows of the published ResNet20 list, all 10,000 test images: critical counts must match
# the published ones within 2 (masked counts differ across platforms, see README), faults
# whose logits go NaN/Inf included (the seed's argmax rule).
set -eu
dnnfi=$1 shared=$2 dir=$3 count=$4
rm -rf "$dir" && mkdir -p "$dir"
"$dnnfi" run -n resnet20 -d cifar10 -f "$shared/seed/ResNet20_FL.csv" --sample "$count" --threads 1 -q -o "$dir/ours.csv"
"$dnnfi" compare "$dir/ours.csv" "$shared/seed/ResNet20_FL.csv" --max-critical-diff 2 --json "$dir/compare.json"
/usr/bin/python3 - "$dir/compare.json" "$count" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
assert c["common"] == int(sys.argv[2]), f"{c['common']} faults compared, expected {sys.argv[2]}"
assert c["critical_within_k"] == c["common"], c
print(f"PASS: {c['common']} published faults, largest critical difference {c['largest_critical_diff']}")
PY
