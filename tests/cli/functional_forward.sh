#!/usr/bin/env bash
# The seed's ResNet20 traced with a forward that calls functional ops between its children
# (relu(bn1(conv1(x))), layer1..3, avg_pool2d(x, 8).flatten(1), linear): the staged engine cannot
# cut it into its children, so the default engine falls back to the naive one, says why, and
# gives naive's results file.
set -euo pipefail
dnnfi=$1 dir=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$dir" && mkdir -p "$dir"
/usr/bin/python3 - "$here/../../scripts" "$DNNFI_SHARED/weights/ResNet20.th" "$dir/functional.pt" <<'PY'
import sys
import torch
import torch.nn.functional as F

sys.path.insert(0, sys.argv[1])
from arch.resnet_cifar import CifarResNet
from export_model import load_state_dict


class FunctionalResNet20(CifarResNet):
    def __init__(self):
        super().__init__(20, 10)
        del self.relu, self.pool  # done by functional calls instead

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.linear(F.avg_pool2d(x, 8).flatten(1))


model = FunctionalResNet20()
model.load_state_dict(load_state_dict(sys.argv[2], verified=True), strict=True)
model.eval()
torch.jit.save(torch.jit.trace(model, torch.zeros(1, 3, 32, 32)), sys.argv[3])
PY
args=(run --model "$dir/functional.pt" --data "$DNNFI_SHARED/data/cifar-10-batches-bin/test_batch.bin"
  --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.201 -f "$here/../data/good.csv" --images 100 --threads 1 -q)
"$dnnfi" "${args[@]}" -o "$dir/default.csv" > /dev/null 2> "$dir/default.log"
grep -q "the staged engine cannot run it (.*mat1 and mat2 shapes cannot be multiplied.*); using the naive engine" \
  "$dir/default.log" || { cat "$dir/default.log" >&2; echo "FAIL: no warning naming the reason" >&2; exit 1; }
"$dnnfi" "${args[@]}" --engine naive -o "$dir/naive.csv" > /dev/null
[ "$(wc -l < "$dir/naive.csv")" -eq 5 ] || { echo "FAIL: expected 4 rows" >&2; exit 1; }
cmp "$dir/default.csv" "$dir/naive.csv"
echo "PASS: the default engine fell back to naive ($(grep -o 'mat1 and mat2[^)]*)' "$dir/default.log")) and gave its results"
