#!/usr/bin/env bash
# The published ResNet20 campaign ran its layer3 convolutions in TF32: every fault of the
# published list in a layer3 conv weight's bits 0-11 is 10000/10000 masked there. With
# --emulate-tf32 '^layer3\.' each of them must come out the same on the CPU (no compute: the
# rounded weight is the rounded golden one), and without it most are not masked.
# Usage: tf32_low_bits.sh DNNFI OUT_DIR
set -euo pipefail
dnnfi=$1
out=$2
rm -rf "$out" && mkdir -p "$out"
list=$out/layer3_low_bits.csv
/usr/bin/python3 - "$DNNFI_SHARED/seed/ResNet20_FL.csv" "$list" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
low = [r for r in rows if r["Layer"].startswith("layer3.") and "conv" in r["Layer"] and int(r["Bit"]) <= 11]
assert len(low) == 4721 and all(r["masked"] == "10000" for r in low), len(low)
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["Injection", "Layer", "TensorIndex", "Bit"])
    for r in low:
        w.writerow([r["Injection"], r["Layer"], r["TensorIndex"], r["Bit"]])
PY
"$dnnfi" run -n resnet20 -d cifar10 -f "$list" --emulate-tf32 '^layer3\.' --threads 1 -q -o "$out/emulated.csv" >"$out/emulated.log"
# FP32, 5 of them on 500 images: the same faults do change the logits there.
"$dnnfi" run -n resnet20 -d cifar10 -f "$list" --sample 5 --images 500 --threads 1 -q -o "$out/fp32.csv" >"$out/fp32.log"
/usr/bin/python3 - "$out/emulated.csv" "$out/fp32.csv" <<'PY'
import csv, json, sys
emulated = list(csv.DictReader(open(sys.argv[1])))
assert len(emulated) == 4721, len(emulated)
not_masked = [r for r in emulated if r["masked"] != "10000"]
assert not not_masked, not_masked[:3]
numerics = json.load(open(sys.argv[1] + ".json"))["numerics"]
assert numerics == "fp32, tf32 emulated in ^layer3\\.", numerics
fp32 = list(csv.DictReader(open(sys.argv[2])))
assert len(fp32) == 5 and sum(r["masked"] != "500" for r in fp32) >= 3, fp32
print("PASS: 4721/4721 masked with TF32 emulated;", sum(r["masked"] != "500" for r in fp32), "of 5 not masked in FP32")
PY
