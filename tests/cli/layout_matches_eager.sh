#!/usr/bin/env bash
# --layout nchw gives, bit for bit, the counts of the plain eager PyTorch loop a user would write
# over the same TorchScript file (flip the weight in place, forward the batches, classify,
# restore), and --layout nhwc those of the same loop with weights and inputs in channels_last:
# 3 published faults, 220 images in batches of 128 and 92. The layouts' loops differ there on
# Injection 1667 (layer2.0.conv2 (4, 1, 2, 1) bit 7: 10 masked images in NCHW, 9 in channels_last),
# so each layout is told apart. The layout is in the provenance: a resume with the other is
# refused, naming it.
set -euo pipefail
helpers=$(cd "$(dirname "$0")/../python" && pwd)  # eager_loop.py
dnnfi=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
/usr/bin/python3 - "$DNNFI_SHARED/seed/ResNet20_FL.csv" "$dir/faults.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
# Low mantissa bits, whose masked counts the layout moves, in three layers; 1667 first.
picked = [r for r in rows if r["Injection"] == "1667"]
for layer, bits in (("conv1", range(8, 16)), ("layer3.0.conv1", range(12, 18))):
    picked.append(next(r for r in rows if r["Layer"] == layer and int(r["Bit"]) in bits))
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["Injection", "Layer", "TensorIndex", "Bit"])
    for r in picked:
        w.writerow([r["Injection"], r["Layer"], r["TensorIndex"], r["Bit"]])
PY
args=(run -n resnet20 -d cifar10 -f "$dir/faults.csv" --images 220 -b 128 --threads 1 -q)
for layout in nchw nhwc; do
  "$dnnfi" "${args[@]}" --layout $layout -o "$dir/$layout.csv" > /dev/null
done
/usr/bin/python3 - "$DNNFI_HOME/models/resnet20-cifar10.pt" "$DNNFI_SHARED/data/cifar-10-batches-bin/test_batch.bin" "$dir" \
  "$helpers" <<'PY'
import csv, json, sys
import torch

model_path, data_path, d, helpers = sys.argv[1:5]
sys.path.insert(0, helpers)
from eager_loop import cifar10_test_images, outcome_counts  # noqa: E402
torch.set_num_threads(1)
torch._C._set_graph_executor_optimize(False)  # as dnnfi runs TorchScript: the graph as saved
images = 220
x = cifar10_test_images(data_path, images)


def counts(model, batches, golden, fault):
    weight = dict(model.named_parameters())[fault["Layer"] + ".weight"]
    index = tuple(int(v) for v in fault["TensorIndex"].strip("()").split(","))
    word = weight.view(torch.int32)
    old = word[index].clone()
    word[index] = old ^ torch.tensor(1 << int(fault["Bit"]), dtype=torch.int64).to(torch.int32)
    faulty = torch.cat([model(b) for b in batches])
    word[index] = old
    return outcome_counts(golden, faulty)


eager = {}
for layout in ("nchw", "nhwc"):
    model = torch.jit.load(model_path).eval()
    batches = [x[s:s + 128] for s in range(0, images, 128)]
    if layout == "nhwc":
        for p in model.parameters():
            if p.dim() == 4:
                p.data = p.data.contiguous(memory_format=torch.channels_last)
        batches = [b.contiguous(memory_format=torch.channels_last) for b in batches]
    with torch.no_grad():
        golden = torch.cat([model(b) for b in batches])
        rows = list(csv.DictReader(open(f"{d}/{layout}.csv")))
        assert len(rows) == 3, rows
        for r in rows:
            want = counts(model, batches, golden, r)
            got = [int(r[k]) for k in ("masked", "non_critical", "critical", "non_finite")]
            assert got == want, f"--layout {layout}, {r['Layer']} {r['TensorIndex']} bit {r['Bit']}: dnnfi {got}, eager loop {want}"
            eager[layout, r["Injection"]] = got
    provenance = json.load(open(f"{d}/{layout}.csv.json"))
    assert provenance["layout"] == layout, provenance
assert eager["nchw", "1667"] != eager["nhwc", "1667"], "the layouts' eager loops agree on 1667: this test tells nothing apart"
print(f"PASS: 3 faults x {images} images, each layout equal to its own eager loop (1667: {eager['nchw', '1667']} vs {eager['nhwc', '1667']})")
PY
set +e
err=$("$dnnfi" "${args[@]}" --layout nhwc -o "$dir/nchw.csv" 2>&1 > /dev/null)
status=$?
set -e
[ "$status" -eq 3 ] && [[ $err =~ "layout: nhwc here, nchw in the file" ]] || { echo "FAIL: resume with another layout exited $status: $err" >&2; exit 1; }
echo "PASS: a resume with the other layout is refused: $(echo "$err" | grep -m1 'layout:')"
