#!/usr/bin/env bash
# The two model info readers agree: `dnnfi layers` (C++) and scripts/model_info.py (Python)
# print the same layer table from the same export, for models of every architecture family.
set -eu
dnnfi=$1 scripts=$2
for pair in resnet20:cifar10 densenet121:cifar100 googlenet:cifar10 mobilenetv2:cifar10 vgg11_bn:gtsrb; do
  name=${pair%:*} dataset=${pair#*:}
  cxx=$("$dnnfi" layers -n "$name" -d "$dataset")
  py=$(/usr/bin/python3 "$scripts/model_info.py" --layers "$DNNFI_HOME/models/$name-$dataset.meta")
  [ -n "$cxx" ] || { echo "FAIL: no layers for $pair" >&2; exit 1; }
  if [ "$cxx" != "$py" ]; then
    echo "FAIL: $pair: the readers disagree" >&2
    diff <(echo "$cxx") <(echo "$py") | head >&2
    exit 1
  fi
  echo "ok $pair: $(echo "$cxx" | wc -l) layers"
done
