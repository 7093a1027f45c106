#!/usr/bin/env bash
# `dnnfi layers` for all 19 zoo pairs equals the seed manifest's fault_layers (names, shapes,
# weight counts, order), with or without checkpoints (none are needed for layers).
set -eu
dnnfi=$1 manifest=$2 dir=$3
rm -rf "$dir" && mkdir -p "$dir"
/usr/bin/python3 - "$dnnfi" "$manifest" "$dir" <<'PY'
import json, math, subprocess, sys
dnnfi, manifest, out = sys.argv[1:]
failed = 0
entries = json.load(open(manifest))
for e in entries:
    # The seed's spelling, e.g. ResNet20 / Vgg11_bn, checks the case-insensitive lookup.
    name = e["name"].replace("resnet", "ResNet").replace("vgg", "Vgg").replace("densenet", "DenseNet")
    run = subprocess.run([dnnfi, "layers", "-n", name, "-d", e["dataset"]], capture_output=True, text=True)
    expected = [f"{n} {'x'.join(map(str, s))} {math.prod(s)}" for n, s in e["fault_layers"]]
    got = run.stdout.splitlines()
    if run.returncode != 0 or got != expected:
        failed += 1
        print(f"FAIL {e['name']}/{e['dataset']}: exit {run.returncode}\n{run.stderr[-2000:]}")
        for a, b in zip(expected, got):
            if a != b:
                print(f"  first difference: expected '{a}', got '{b}'")
                break
    else:
        print(f"ok {e['name']}/{e['dataset']}: {len(got)} layers, {sum(math.prod(s) for _, s in e['fault_layers'])} weights")
print(f"{len(entries) - failed} passed, {failed} failed")
if len(entries) != 19:
    print(f"FAIL: the manifest lists {len(entries)} model/dataset pairs, the seed zoo has 19")
    sys.exit(1)
sys.exit(1 if failed else 0)
PY
