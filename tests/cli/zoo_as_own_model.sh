#!/usr/bin/env bash
# ResNet20's TorchScript export run as a model of one's own (--model, --data, --mean/--std)
# gives what -n resnet20 gives: the same accuracy, the same results file.
set -eu
dnnfi=$1 shared=$2 faults=$3 dir=$4
rm -rf "$dir" && mkdir -p "$dir"
# The zoo campaign first: it makes the export the second campaign takes as its own model.
"$dnnfi" run -n resnet20 -d cifar10 --threads 1 -f "$faults" --images 300 -q -o "$dir/zoo.csv" > /dev/null
own=(--model "$DNNFI_HOME/models/resnet20-cifar10.pt" --data "$shared/data/cifar-10-batches-bin/test_batch.bin"
     --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.201 --threads 1)
"$dnnfi" run "${own[@]}" -f "$faults" --images 300 -q -o "$dir/own.csv" > /dev/null
cmp "$dir/own.csv" "$dir/zoo.csv"
"$dnnfi" eval "${own[@]}" | tee "$dir/eval.txt" | grep -q "top1 accuracy: 91.48% (9148/10000)" ||
  { cat "$dir/eval.txt"; echo "FAIL: accuracy as an own model" >&2; exit 1; }
echo "PASS: --model ResNet20 = -n resnet20 (accuracy 91.48%, identical results file)"
