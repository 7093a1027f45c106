#!/usr/bin/env bash
# Fills device-bundle/ with what a GPU machine without network or ../shared needs for
# scripts/device_check.sh, laid out as ../shared is (so DNNFI_SHARED can point at it):
#   weights/ResNet20.th, data/cifar-10-batches-bin/test_batch.bin, seed/ResNet20_FL.csv (the
#   published list), models/resnet20-cifar10.{pt,meta} (exported here, used there only if the
#   GPU machine's own export fails), cpu_sample41.csv (+ .txt): the CPU reference results of
#   41 faults spread over the published list, all 10,000 images, made with this machine's build.
# Run on the CPU machine before a GPU run; idempotent (copies only what changed; the campaign
# resumes, so a finished one is not run again). Takes ~2-3 minutes the first time (one thread).
#   scripts/device_bundle.sh [DNNFI_BINARY]   (default: $DNNFI, else build/dnnfi)
# Environment: DNNFI_SHARED (default ../shared beside this checkout), BUNDLE (default device-bundle).
set -euo pipefail
cd "$(dirname "$0")/.."
dnnfi=${1:-${DNNFI:-build/dnnfi}}
bundle=${BUNDLE:-device-bundle}
limit_mib=60
shared=$(cd "${DNNFI_SHARED:-$(pwd)/../shared}" 2> /dev/null && pwd) || {
  echo "device_bundle: no shared inputs at ${DNNFI_SHARED:-../shared} (set DNNFI_SHARED)" >&2; exit 1; }
[ -x "$dnnfi" ] || { echo "device_bundle: no dnnfi binary at $dnnfi (build it with scripts/setup.sh, or pass its path)" >&2; exit 1; }

inputs=(weights/ResNet20.th data/cifar-10-batches-bin/test_batch.bin seed/ResNet20_FL.csv)
for f in "${inputs[@]}"; do
  [ -f "$shared/$f" ] || { echo "device_bundle: $shared/$f is missing" >&2; exit 1; }
  mkdir -p "$bundle/$(dirname "$f")"
  if cmp -s "$shared/$f" "$bundle/$f"; then
    echo "device_bundle: $bundle/$f is up to date"
  else
    cp "$shared/$f" "$bundle/$f"
    chmod u+w "$bundle/$f"
    echo "device_bundle: copied $f"
  fi
done

# The CPU reference, read from the bundle itself (which proves the bundle is complete), with a
# model exported by this machine's torch into a fresh home.
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export DNNFI_HOME=$home DNNFI_WEIGHTS_DIR=$PWD/$bundle/weights DNNFI_DATA_DIR=$PWD/$bundle/data
reference=$bundle/cpu_sample41.csv
echo "device_bundle: CPU reference: $dnnfi run ... --sample 41 (resumes when already there)"
"$dnnfi" run -n resnet20 -d cifar10 -f "$bundle/seed/ResNet20_FL.csv" --sample 41 -b 128 --threads 1 -q \
  -o "$reference" > "$bundle/cpu_sample41.txt" 2> "$bundle/cpu_sample41.log" || {
  cat "$bundle/cpu_sample41.log" "$bundle/cpu_sample41.txt" >&2
  echo "device_bundle: the CPU reference campaign failed (above)" >&2
  exit 1
}
cat "$bundle/cpu_sample41.txt"
rows=$(($(wc -l < "$reference") - 1))
[ "$rows" -eq 41 ] || { echo "device_bundle: $reference has $rows rows, expected 41" >&2; exit 1; }
mkdir -p "$bundle/models"
if [ -f "$home/models/resnet20-cifar10.pt" ]; then
  cp "$home"/models/resnet20-cifar10.pt "$home"/models/resnet20-cifar10.meta "$bundle/models/"
elif [ ! -f "$bundle/models/resnet20-cifar10.pt" ]; then
  echo "device_bundle: the campaign left no model export in $home/models" >&2
  exit 1
fi

{
  echo "made $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n), $(nproc) cores"
  echo "dnnfi: $dnnfi (LibTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2> /dev/null || echo '?'))"
  (cd "$bundle" && find . -type f ! -name MANIFEST | sort | xargs sha256sum)
} > "$bundle/MANIFEST"
size=$(du -sb "$bundle" | cut -f1)
echo "device_bundle: $bundle/ holds $(find "$bundle" -type f | wc -l) files, $((size / 1048576)) MiB"
if [ "$size" -gt $((limit_mib * 1048576)) ]; then
  echo "device_bundle: $bundle/ is over $limit_mib MiB, too big to carry to the GPU machine" >&2
  exit 1
fi
