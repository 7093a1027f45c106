#!/usr/bin/env bash
# Executes an example notebook headless as a user would run it (a fresh kernel of Debian's
# python3, the dnnfi package on PYTHONPATH), in a copy under the build tree so that what it
# writes stays there. Fails on any cell's error, and when it shows fewer than CHARTS charts.
set -eu
notebook=$1 dir=$2 charts=$3
rm -rf "$dir" && mkdir -p "$dir"
cp "$notebook" "$dir/"
copy="$dir/$(basename "$notebook")"
# Debian's jupyter nbconvert, run by the python3 its kernel uses.
/usr/bin/python3 -m nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=600 "$copy"
/usr/bin/python3 - "$copy" "$charts" <<'PY'
import json
import sys

path, expected = sys.argv[1], int(sys.argv[2])
with open(path) as f:
    cells = json.load(f)["cells"]
outputs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
errors = [o for o in outputs if o.get("output_type") == "error"]
assert not errors, errors
charts = sum("image/png" in o.get("data", {}) for o in outputs)
assert charts >= expected, f"{path}: {charts} charts shown, expected {expected}"
print(f"PASS: {path}: {len(cells)} cells run, {charts} charts")
PY
