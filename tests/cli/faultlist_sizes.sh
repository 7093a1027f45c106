#!/usr/bin/env bash
# `dnnfi faultlist` for every zoo pair with a published list writes as many faults as that list
# has rows (the manifest's counts): the seed rounded n before splitting it over the layers.
set -eu
dnnfi=$1 manifest=$2 dir=$3
rm -rf "$dir" && mkdir -p "$dir"
/usr/bin/python3 - "$dnnfi" "$manifest" "$dir" <<'PY'
import json, subprocess, sys
dnnfi, manifest, out = sys.argv[1:]
lists = [e for e in json.load(open(manifest)) if e.get("seed_fault_list")]
failed = 0
for e in lists:
    path = f"{out}/{e['name']}-{e['dataset']}.csv"
    run = subprocess.run([dnnfi, "faultlist", "-n", e["name"], "-d", e["dataset"], "-o", path],
                         capture_output=True, text=True)
    rows = sum(1 for _ in open(path)) - 1 if run.returncode == 0 else -1
    expected = e["seed_fault_list"]["rows"]
    print(f"{'ok' if rows == expected else 'FAIL'} {e['name']}/{e['dataset']}: {rows} faults, published {expected}")
    failed += rows != expected
print(f"{len(lists) - failed} of {len(lists)} published list sizes reproduced")
sys.exit(1 if failed or len(lists) != 15 else 0)
PY
