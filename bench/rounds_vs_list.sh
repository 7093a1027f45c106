#!/usr/bin/env bash
# Stratified rounds against a fixed list of the same faults: whole-process wall time, in pairs.
#
#   bench/rounds_vs_list.sh [DNNFI] [PAIRS]     (default build/dnnfi, 5 pairs)
#
# Runs `run --margin 0.05` on the published ResNet20 list (500 images, 2 threads) once to learn
# which faults it draws, writes them as a fault list in the order they ran, then times the
# stratified campaign (A) and the fixed list (B) in turn, A B A B ..., and prints each pair's
# A/B and the median. Both give the same counts for every fault (checked). Needs ../shared (or
# DNNFI_SHARED) and takes about 6 minutes here.
set -euo pipefail
dnnfi=$(realpath "${1:-build/dnnfi}") pairs=${2:-5}
shared=$(cd "${DNNFI_SHARED:-$(dirname "$0")/../../shared}" && pwd)
export DNNFI_SHARED="$shared" DNNFI_WEIGHTS_DIR="${DNNFI_WEIGHTS_DIR:-$shared/weights}" DNNFI_DATA_DIR="${DNNFI_DATA_DIR:-$shared/data}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(-n resnet20 -d cifar10 --images 500 --threads 2 -q)
stratified=("${common[@]}" -f "$shared/seed/ResNet20_FL.csv" --margin 0.05)
"$dnnfi" run "${stratified[@]}" -o "$work/first.csv" > /dev/null 2>&1
/usr/bin/python3 - "$work/first.csv" "$work/drawn.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["Injection", "Layer", "TensorIndex", "Bit"])
    w.writerows([r["Injection"], r["Layer"], r["TensorIndex"], r["Bit"]] for r in rows)
print(f"{len(rows)} faults drawn by the stratified campaign")
PY
seconds() { local t0 t1; t0=$(date +%s.%N); rm -f "$work/$1.csv" "$work/$1.csv".*; shift; "$@" > /dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
ratios=()
for pair in $(seq "$pairs"); do
  a=$(seconds a "$dnnfi" run "${stratified[@]}" -o "$work/a.csv")
  b=$(seconds b "$dnnfi" run "${common[@]}" -f "$work/drawn.csv" -o "$work/b.csv")
  ratios+=("$(echo "scale=4; $a / $b" | bc)")
  echo "pair $pair: rounds ${a} s, fixed list ${b} s, A/B ${ratios[-1]}"
done
/usr/bin/python3 - "$work/a.csv" "$work/b.csv" "${ratios[@]}" <<'PY'
import csv, statistics, sys
key = lambda r: (r["masked"], r["non_critical"], r["critical"], r["non_finite"])
a = {r["Injection"]: key(r) for r in csv.DictReader(open(sys.argv[1]))}
b = {r["Injection"]: key(r) for r in csv.DictReader(open(sys.argv[2]))}
assert a == b, "the two campaigns' counts differ"
print(f"same counts for all {len(a)} faults; median A/B wall {statistics.median(map(float, sys.argv[3:])):.3f}")
PY
