#!/usr/bin/env bash
# The main job on a sensible default: set up, check the model's accuracy, run a ResNet20 /
# CIFAR-10 campaign on 100 faults spread over its statistical fault list (all 10,000 test
# images), then report its findings. Results: results/resnet20-cifar10-sample100.csv, with the
# report as results/resnet20-cifar10-sample100.html.
# Checkpoints and data are downloaded into ~/.cache/dnnfi unless DNNFI_WEIGHTS_DIR /
# DNNFI_DATA_DIR point at local copies (a ../shared checkout beside the repo is used if present).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
shared=${DNNFI_SHARED:-$(pwd)/../shared}
if [ -d "$shared/weights" ] && [ -z "${DNNFI_WEIGHTS_DIR:-}" ]; then export DNNFI_WEIGHTS_DIR=$shared/weights; fi
if [ -d "$shared/data" ] && [ -z "${DNNFI_DATA_DIR:-}" ]; then export DNNFI_DATA_DIR=$shared/data; fi
mkdir -p results
build/dnnfi eval -n resnet20 -d cifar10
build/dnnfi run -n resnet20 -d cifar10 -b 128 --sample 100 -o results/resnet20-cifar10-sample100.csv "$@"
build/dnnfi report results/resnet20-cifar10-sample100.csv -n resnet20 -d cifar10 \
  --html results/resnet20-cifar10-sample100.html
