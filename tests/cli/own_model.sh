#!/usr/bin/env bash
# A model of one's own (a small traced CNN, not in the zoo) with test data of one's own: dnnfi's
# layer table, accuracy and per-fault counts (bit-flip, stuck-at, 2-bit bursts) equal an eager
# PyTorch loop's, from an image folder and from a tensor file alike; bad data is refused by name.
set -eu
dnnfi=$1 dir=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$dir" && mkdir -p "$dir"
/usr/bin/python3 "$here/../python/make_own_model.py" "$dir"
own=(--model "$dir/own.pt" --mean 0.5,0.5,0.5 --std 0.25,0.25,0.25 -b 32 --threads 1)
fail() { echo "FAIL: $*" >&2; exit 1; }

layers=$("$dnnfi" layers --model "$dir/own.pt")
echo "$layers"
[ "$layers" = "$(printf 'features.0 8x3x3x3 216\nfeatures.4 16x8x3x3 1152\nclassifier 3x16 48')" ] || fail "layer table"
"$dnnfi" layers --model "$dir/own.pt" --params all | grep -q "^features.1.weight 8 8$" || fail "--params all"
# What weight faults leave out is said beside the table: biases and the BatchNorm's parameters.
"$dnnfi" layers --model "$dir/own.pt" 2>&1 > /dev/null |
  grep -q "^left out: 5 float parameters (43 values) .*: features.0.bias 8, features.1.weight 8, features.1.bias 8, features.4.bias 16, classifier.bias 3$" ||
  fail "left-out parameters"

expected=$(/usr/bin/python3 -c "import json; e = json.load(open('$dir/expected.json')); print(f\"{e['correct']}/{e['total']}\")")
for data in "$dir/images" "$dir/test.pt"; do
  out=$("$dnnfi" eval "${own[@]}" --data "$data")
  echo "$out"
  echo "$out" | grep -q "($expected)" || fail "accuracy on $data, expected $expected"
done

for engine in staged naive; do
  "$dnnfi" run "${own[@]}" --data "$dir/test.pt" -f "$dir/faults.csv" --engine $engine -q -o "$dir/$engine.csv" > /dev/null
done
cmp "$dir/staged.csv" "$dir/naive.csv" || fail "staged and naive differ"
"$dnnfi" run "${own[@]}" --data "$dir/images" -f "$dir/faults.csv" -q -o "$dir/folder.csv" > /dev/null
cmp "$dir/staged.csv" "$dir/folder.csv" || fail "image folder and tensor file differ"
# Biases and BatchNorm parameters too (--params all): the staged engine restarts their stages whole.
"$dnnfi" faultlist --model "$dir/own.pt" --params all --per-layer 4 --bits 20-30 -o "$dir/params.csv" > /dev/null
grep -q "features.1.bias" "$dir/params.csv" || fail "no BatchNorm faults in the --params all list"
for engine in staged naive; do
  "$dnnfi" run "${own[@]}" --params all --data "$dir/test.pt" -f "$dir/params.csv" --engine $engine -q \
    -o "$dir/params-$engine.csv" > /dev/null
done
cmp "$dir/params-staged.csv" "$dir/params-naive.csv" || fail "--params all: staged and naive differ"
/usr/bin/python3 - "$dir" <<'PY'
import csv, json, sys
d = sys.argv[1]
expected = json.load(open(f"{d}/expected.json"))["faults"]
rows = list(csv.DictReader(open(f"{d}/staged.csv")))
assert len(rows) == len(expected), rows
for r in rows:
    got = [int(r[k]) for k in ("masked", "non_critical", "critical", "non_finite")]
    assert got == expected[r["Injection"]], f"fault {r['Injection']} ({r['Layer']} bit {r['Bit']} {r['fault_model']}): dnnfi {got}, eager PyTorch {expected[r['Injection']]}"
assert any("|" in r["Bit"] for r in rows), "multi-bit faults were not kept as written"
print(f"PASS: {len(rows)} faults equal the eager loop's counts")
PY

expect_error() {  # expect_error STATUS PATTERN ARGS...: exit status and stderr
  local status=$1 pattern=$2; shift 2
  set +e; err=$("$dnnfi" "$@" 2>&1 >/dev/null); got=$?; set -e
  [ "$got" -eq "$status" ] && [[ $err =~ $pattern ]] || fail "'$*' exited $got: $err"
  echo "refused as expected: $err"
}
expect_error 3 "bad_labels\.pt: image 7 has label 3, but the model has 3 classes" eval "${own[@]}" --data "$dir/bad_labels.pt"
expect_error 3 "001\.png: cannot read the image" eval "${own[@]}" --data "$dir/bad_images"
expect_error 3 "one_channel\.pt: images of shape 1x24x24 do not fit the model .*; its first layer, features\.0, is a convolution over 3 channels \(N x 3 x \.\.\.\)" eval --model "$dir/own.pt" --data "$dir/one_channel.pt"
expect_error 2 "needs --data" eval --model "$dir/own.pt"
# A results file survives bad data: its rows are kept.
cp "$dir/staged.csv" "$dir/kept.csv"
expect_error 3 "bad_labels\.pt: image 7" run "${own[@]}" --data "$dir/bad_labels.pt" -f "$dir/faults.csv" --adopt -o "$dir/kept.csv"
cmp "$dir/staged.csv" "$dir/kept.csv" || fail "the results file changed"
[ -e "$dir/kept.csv.json" ] && fail "a refused run wrote a provenance"
echo "PASS: own model and data"
