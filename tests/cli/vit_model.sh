#!/usr/bin/env bash
# A transformer of one's own (tests/python/make_vit.py: patch conv, nn.TransformerEncoderLayer, a
# linear head of its own class), traced both ways PyTorch traces it: `layers` finds attention's projections
# (in_proj_weight, out_proj) and the feed-forward layers and says what it leaves out; weight
# faults in every layer, attention included, and activation faults give an eager loop's counts
# exactly; layers whose outputs no fault can reach are named, not a reason to refuse the model.
# Token ids and float features (make_vit.py's text and feature models) go in as they are.
set -eu
dnnfi=$1 dir=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
/usr/bin/python3 "$here/../python/make_vit.py" "$dir" > make.log
fail() { echo "FAIL: $*" >&2; exit 1; }
own=(--mean 0.5,0.5,0.5 --std 0.25,0.25,0.25 -b 16 --threads 1 --data "$dir/test.pt")

expected_layers='patch 32x3x4x4 1536
encoder.self_attn.in_proj_weight 96x32 3072
encoder.self_attn.out_proj 32x32 1024
encoder.linear1 64x32 2048
encoder.linear2 32x64 2048
head 10x32 320'
for model in vit vit_fused; do
  layers=$("$dnnfi" layers --model "$dir/$model.pt" 2> layers-$model.err)
  [ "$layers" = "$expected_layers" ] || fail "$model: layer table: $layers"
  grep -q "^left out: 10 float parameters (.*encoder.self_attn.in_proj_bias 96, .*encoder.norm1.weight 32" \
    layers-$model.err || fail "$model: left-out parameters: $(cat layers-$model.err)"
  "$dnnfi" layers --model "$dir/$model.pt" --json | /usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin)
assert [l["layer"] for l in j["layers"]][1:3] == ["encoder.self_attn.in_proj_weight", "encoder.self_attn.out_proj"], j
assert len(j["left_out"]) == 10 and j["left_out"][0] == {"parameter": "patch.bias", "shape": [32], "values": 32}, j["left_out"]
'
done
echo "ok: layers"

# counts FILE KEY: the results file's counts equal expected.json's list under KEY, fault by fault.
counts() {
  /usr/bin/python3 - "$1" "$dir/expected.json" "$2" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
expected = json.load(open(sys.argv[2]))[sys.argv[3]]
assert len(rows) == len(expected), (len(rows), len(expected))
for r in rows:
    got = [int(r[k]) for k in ("masked", "non_critical", "critical", "non_finite")]
    want = expected[int(r["Injection"])]
    assert got == want, f"{sys.argv[3]}: fault {r['Injection']} ({r['Layer']} {r['TensorIndex']} bit {r['Bit']}): dnnfi {got}, eager PyTorch {want}"
print(f"ok: {len(rows)} faults ({sys.argv[3]}) equal the eager loop's counts")
PY
}
for model in vit vit_fused; do
  key=weights
  [ $model = vit_fused ] && key=weights_fused
  for engine in staged naive; do
    "$dnnfi" run --model "$dir/$model.pt" "${own[@]}" -f weights.csv --engine $engine -q -o $model-$engine.csv \
      > /dev/null 2> $model-$engine.err
  done
  # The staged engine cannot cut this forward into its children: the log says so, and which runs.
  grep -q "the staged engine cannot run it (.*); using the naive engine" $model-staged.err ||
    fail "$model: no word of the engine: $(cat $model-staged.err)"
  cmp $model-staged.csv $model-naive.csv || fail "$model: staged and naive differ"
  counts $model-naive.csv $key
done

# Activation faults: the feed-forward layers, the patch conv and the head are reached; attention's
# projections are computed inside MultiheadAttention, and said to be left out.
"$dnnfi" run --model "$dir/vit.pt" "${own[@]}" --target activations -f activations.csv -q -o activations.csv.out \
  > /dev/null 2> activations.err
grep -q "activation faults cannot reach 2 of 6 layers, left out: encoder.self_attn.in_proj_weight (a parameter.*); encoder.self_attn.out_proj (its forward never ran" \
  activations.err || fail "unreachable layers not named: $(cat activations.err)"
counts activations.csv.out activations
# Traced through the fused fast path, only the patch conv and the head are reached, and the
# message says how to trace the model to reach the others.
"$dnnfi" faultlist --model "$dir/vit_fused.pt" --data "$dir/test.pt" --target activations --per-layer 3 \
  -o fused-activations.csv > /dev/null 2> fused.err
grep -q "cannot reach 4 of 6 layers.*encoder.linear1 (its forward never ran.*trace with gradients enabled" fused.err ||
  fail "fused layers not named: $(cat fused.err)"
[ "$(cut -d, -f2 fused-activations.csv | sort -u | tr '\n' ' ')" = "Layer head patch " ] ||
  fail "the fused model's activation list: $(cut -d, -f2 fused-activations.csv | sort -u)"

# Inputs that are not images, to models of one's own: int64 token ids (through an embedding) and
# float features, as they are (no normalization).
for triple in text:tokens:text features_model:features:features; do
  IFS=: read -r model data key <<< "$triple"
  accuracy=$("$dnnfi" eval --model "$dir/$model.pt" --data "$dir/$data.pt" -b 16 --threads 1)
  want=$(/usr/bin/python3 -c "import json; print(json.load(open('$dir/expected.json'))['${key}_correct'])")
  echo "$accuracy" | grep -q "($want/48)" || fail "$model: accuracy $accuracy, eager $want/48"
  "$dnnfi" run --model "$dir/$model.pt" --data "$dir/$data.pt" -b 16 --threads 1 -f sequence.csv -q \
    -o $model.csv > /dev/null 2> $model.err
  counts $model.csv $key
done
# Normalization is for images: asked for token ids, it is refused, naming the data.
set +e
err=$("$dnnfi" eval --model "$dir/text.pt" --data "$dir/tokens.pt" --mean 0.5 --std 0.2 2>&1 > /dev/null)
status=$?
set -e
[ $status -eq 2 ] && [[ $err == *"tokens.pt holds int64 token ids of shape 48x12"* ]] ||
  fail "--mean with token ids: exit $status: $err"
echo "PASS: a tiny ViT's attention, feed-forward, patch and head layers, weights and activations; token ids and features"
