#!/usr/bin/env bash
# Weights stored as fp16, bf16 and int8, and activation faults: dnnfi's counts equal, row for
# row, those of a small eager PyTorch loop written here from the specification (the format
# applied to every conv/linear weight, the fault on the stored word; the activation fault by a
# forward hook on the module of the architecture with the published checkpoint). 7 faults x 200
# images each, with a sign fault, an exponent-MSB fault (int8: bits 7 and 6) and, for fp16 and
# bf16, a fault that makes Inf or NaN. Every engine gives the same rows.
set -euo pipefail
helpers=$(cd "$(dirname "$0")/../python" && pwd)  # eager_loop.py
dnnfi=$1 dir=$2 scripts=$3
rm -rf "$dir" && mkdir -p "$dir"
cd "$dir"
cat > fp16.csv <<'CSV'
Injection,Layer,TensorIndex,Bit,fault_model
0,conv1,"(3, 0, 2, 1)",15,bit-flip
1,layer1.1.conv2,"(5, 7, 1, 1)",14,bit-flip
2,layer2.0.conv1,"(12, 3, 0, 2)",10|11|12|13|14,stuck-at-1
3,layer2.2.conv2,"(30, 17, 2, 0)",9,bit-flip
4,layer3.0.conv2,"(40, 50, 1, 2)",13,bit-flip
5,layer3.2.conv1,"(63, 0, 1, 1)",15,stuck-at-1
6,linear,"(7, 41)",12,bit-flip
CSV
sed -e 's/10|11|12|13|14,stuck-at-1/7|8|9|10|11|12|13|14,stuck-at-1/' -e 's/,9,bit-flip/,6,bit-flip/' fp16.csv > bf16.csv
cat > int8.csv <<'CSV'
Injection,Layer,TensorIndex,Bit,fault_model
0,conv1,"(3, 0, 2, 1)",7,bit-flip
1,layer1.1.conv2,"(5, 7, 1, 1)",6,bit-flip
2,layer2.0.conv1,"(12, 3, 0, 2)",6,stuck-at-1
3,layer2.2.conv2,"(30, 17, 2, 0)",3,bit-flip
4,layer3.0.conv2,"(40, 50, 1, 2)",5|6,bit-flip
5,layer3.2.conv1,"(63, 0, 1, 1)",7,stuck-at-0
6,linear,"(7, 41)",0,bit-flip
CSV
cat > activations.csv <<'CSV'
Injection,Layer,TensorIndex,Bit,fault_model
0,conv1,"(3, 20, 11)",31,bit-flip
1,layer1.0.conv1,"(7, 5, 30)",30,bit-flip
2,layer1.2.conv2,"(15, 16, 16)",22,bit-flip
3,layer2.1.conv1,"(20, 3, 9)",29|30,stuck-at-1
4,layer3.0.conv2,"(40, 7, 7)",27,bit-flip
5,layer3.2.conv2,"(63, 0, 0)",5,bit-flip
6,linear,"(4,)",30,bit-flip
CSV
common=(-n resnet20 -d cifar10 --images 200 -b 128 --threads 1 -q)
for format in fp16 bf16 int8; do
  for engine in naive staged; do
    "$dnnfi" run "${common[@]}" --format $format -f $format.csv --engine $engine -o $format-$engine.csv > /dev/null
  done
  cmp $format-naive.csv $format-staged.csv || { echo "FAIL: --format $format: staged differs from naive" >&2; exit 1; }
done
for engine in naive staged; do
  "$dnnfi" run "${common[@]}" --target activations -f activations.csv --engine $engine -o activations-$engine.csv > /dev/null
done
cmp activations-naive.csv activations-staged.csv || { echo "FAIL: activations: staged differs from naive" >&2; exit 1; }

/usr/bin/python3 - "$DNNFI_HOME/models/resnet20-cifar10.pt" "$DNNFI_SHARED" "$scripts" "$helpers" <<'PY'
import csv, json, sys
import torch

model_path, shared, scripts, helpers = sys.argv[1:5]
sys.path.insert(0, helpers)
from eager_loop import cifar10_test_images, outcome_counts  # noqa: E402
torch.set_num_threads(1)
torch._C._set_graph_executor_optimize(False)
images = 200
x = cifar10_test_images(f"{shared}/data/cifar-10-batches-bin/test_batch.bin", images)
x = x.contiguous(memory_format=torch.channels_last)  # dnnfi's default layout
batches = [x[s:s + 128] for s in range(0, images, 128)]
LAYERS = ["conv1"] + [f"layer{s}.{b}.conv{c}" for s in (1, 2, 3) for b in range(3) for c in (1, 2)] + ["linear"]


def mask_of(bits):
    return sum(1 << int(b) for b in bits.split("|"))


def apply(word, mask, model):  # on a Python int
    return word ^ mask if model == "bit-flip" else word & ~mask if model == "stuck-at-0" else word | mask


def index_of(text):
    return tuple(int(v) for v in text.strip("()").split(",") if v.strip())


def dnnfi_rows(name):
    return {r["Injection"]: [int(r[k]) for k in ("masked", "non_critical", "critical", "non_finite")]
            for r in csv.DictReader(open(f"{name}-naive.csv"))}


def weights_loop(fmt):
    model = torch.jit.load(model_path).eval()
    params = dict(model.named_parameters())
    codes, scales = {}, {}
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 4:
                p.data = p.data.contiguous(memory_format=torch.channels_last)
        for layer in LAYERS:  # the format applied to every conv/linear weight
            w = params[layer + ".weight"]
            if fmt == "fp16":
                w.copy_(w.half().float())
            elif fmt == "bf16":
                w.copy_(w.bfloat16().float())
            else:
                scale = w.abs().amax(dim=tuple(range(1, w.dim()))) / 127
                scale = torch.where(scale == 0, torch.ones_like(scale), scale)
                view = scale.view([-1] + [1] * (w.dim() - 1))
                q = torch.clamp(torch.round(w / view), -127, 127)
                w.copy_(q * view)
                codes[layer], scales[layer] = q.to(torch.int8), scale
        golden = torch.cat([model(b) for b in batches])
        got = dnnfi_rows(fmt)
        for r in csv.DictReader(open(f"{fmt}.csv")):
            w, index = params[r["Layer"] + ".weight"], index_of(r["TensorIndex"])
            old = w[index].item()
            mask = mask_of(r["Bit"])
            if fmt in ("fp16", "bf16"):
                dtype = torch.float16 if fmt == "fp16" else torch.bfloat16
                word = torch.tensor([old]).to(dtype).view(torch.int16).item() & 0xFFFF
                word = apply(word, mask, r["fault_model"]) & 0xFFFF
                signed = word - 0x10000 if word >= 0x8000 else word
                new = torch.tensor([signed], dtype=torch.int16).view(dtype).float()[0]
            else:
                q = int(codes[r["Layer"]][index]) & 0xFF
                q = apply(q, mask, r["fault_model"]) & 0xFF
                signed = q - 0x100 if q >= 0x80 else q
                new = torch.tensor(float(signed), dtype=torch.float32) * scales[r["Layer"]][index[0]]
            w[index] = new
            faulty = torch.cat([model(b) for b in batches])
            w[index] = old
            want = outcome_counts(golden, faulty)
            assert got[r["Injection"]] == want, f"--format {fmt}, {r['Layer']} {r['TensorIndex']} bit {r['Bit']} {r['fault_model']}: dnnfi {got[r['Injection']]}, eager loop {want}"
            yield want


def activations_loop():
    sys.path.insert(0, scripts)
    import arch
    import export_model
    model = arch.build("ResNet20", "cifar10", 10, (32, 32))
    model.load_state_dict(export_model.load_state_dict(f"{shared}/weights/ResNet20.th", verified=True), strict=True)
    model.eval()
    for p in model.parameters():
        if p.dim() == 4:
            p.data = p.data.contiguous(memory_format=torch.channels_last)
    modules = dict(model.named_modules())
    got = dnnfi_rows("activations")
    with torch.no_grad():
        golden = torch.cat([model(b) for b in batches])
        for r in csv.DictReader(open("activations.csv")):
            index, mask = index_of(r["TensorIndex"]), mask_of(r["Bit"])

            def hook(module, inputs, out, index=index, mask=mask, model=r["fault_model"]):
                out = out.clone()
                slot = out[(slice(None),) + index]  # this element of every image
                words = slot.contiguous().view(torch.int32).to(torch.int64) & 0xFFFFFFFF
                words = torch.tensor([apply(int(v), mask, model) & 0xFFFFFFFF for v in words], dtype=torch.int64)
                out[(slice(None),) + index] = torch.where(words >= 2**31, words - 2**32, words).to(torch.int32).view(torch.float32)
                return out

            handle = modules[r["Layer"]].register_forward_hook(hook)
            faulty = torch.cat([model(b) for b in batches])
            handle.remove()
            want = outcome_counts(golden, faulty)
            assert got[r["Injection"]] == want, f"activations, {r['Layer']} {r['TensorIndex']} bit {r['Bit']} {r['fault_model']}: dnnfi {got[r['Injection']]}, eager loop {want}"
            yield want


summary = {}
for fmt in ("fp16", "bf16", "int8"):
    summary[fmt] = list(weights_loop(fmt))
summary["activations"] = list(activations_loop())
nan_inf = {k: sum(1 for c in v if c[3] > 0) for k, v in summary.items()}
assert nan_inf["fp16"] > 0 and nan_inf["bf16"] > 0, f"no fault made Inf/NaN: {nan_inf}"
assert all(any(c[0] < images for c in v) for v in summary.values()), "a format whose faults are all masked tells nothing"
for fmt in ("fp16", "bf16", "int8", "activations"):
    provenance = json.load(open(f"{fmt}-naive.csv.json"))
    assert provenance["format"] == ("fp32" if fmt == "activations" else fmt), provenance["format"]
    assert provenance["target"] == ("activations" if fmt == "activations" else "weights"), provenance["target"]
print("PASS: 7 faults x 200 images per format and for activations equal the eager loops;",
      "faults with NaN/Inf images:", nan_inf)
PY
# A list drawn for one format is refused with another, naming the file, the line and the range.
set +e
err=$("$dnnfi" run "${common[@]}" --format int8 -f fp16.csv -o never.csv 2>&1 > /dev/null)
status=$?
set -e
[ "$status" -eq 3 ] && [[ $err =~ fp16\.csv:2:\ Bit\ 15\ is\ past\ the\ word\ of\ int8\ \(bits\ 0-7\) ]] ||
  { echo "FAIL: an fp16 list run as int8 exited $status: $err" >&2; exit 1; }
echo "PASS: $err"
# The report takes the format from the provenance: int8's fields, 8 bits, named on the page.
"$dnnfi" report int8-naive.csv --json int8.json --html int8.html > int8-report.txt
grep -q "faults in        weights stored as int8 (8 bits)" int8-report.txt || { cat int8-report.txt; echo "FAIL: report text" >&2; exit 1; }
/usr/bin/python3 - <<'PY'
import json
r = json.load(open("int8.json"))
assert (r["format"], r["word_bits"], r["field_names"]) == ("int8", 8, ["sign", "magnitude"]), r["field_names"]
assert {b["field"] for b in r["bits"]} <= {"sign", "magnitude"} and max(b["bit"] for b in r["bits"]) == 7, r["bits"]
page = open("int8.html").read()
assert "<span data-key='format'>int8</span>" in page and "bit of the int8 word" in page
print("PASS: the int8 report names its format, fields and bits")
PY
# A model already quantized (quantized::linear_dynamic) is refused, pointing to --format int8.
/usr/bin/python3 - <<'PY'
import torch
model = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3072, 10)),
                                               {torch.nn.Linear}, dtype=torch.qint8)
torch.jit.save(torch.jit.script(model), "quantized.pt")
PY
set +e
err=$("$dnnfi" eval --model quantized.pt --data "$DNNFI_SHARED/data/cifar-10-batches-bin/test_batch.bin" --images 10 2>&1)
status=$?
set -e
[ "$status" -eq 3 ] && [[ $err =~ quantized\.pt:\ a\ quantized\ TorchScript\ model\ \(quantized::.*--format\ int8 ]] ||
  { echo "FAIL: a quantized model exited $status: $err" >&2; exit 1; }
echo "PASS: $(echo "$err" | tail -1)"
