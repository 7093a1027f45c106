#!/usr/bin/env bash
# Campaign benchmark: the same fault sample on the same images with the naive engine (one full
# inference per fault) and the default staged engine, whole process against whole process.
# Prints fault-images/s for both, the ratio, peak memory (RSS), the conv/linear GFLOP/s each
# achieved against the machine's measured conv peak (build/conv_peak), and checks that every
# count is identical. Needs a build (scripts/setup.sh) and the model and data (as for `dnnfi run`).
# With REPEAT=N each engine runs N times (alternating) and the fastest run of each is reported,
# with every run's time: shared machines are noisy.
#   scripts/bench.sh [FAULTS=41] [IMAGES=2000] [THREADS=2] [BATCH=128] [REPEAT=1] [LIST=...]
set -euo pipefail
cd "$(dirname "$0")/.."
for kv in "$@"; do export "${kv?}"; done
faults=${FAULTS:-41} images=${IMAGES:-2000} threads=${THREADS:-2} batch=${BATCH:-128} repeat=${REPEAT:-1}
shared=${DNNFI_SHARED:-$(pwd)/../shared}
list=${LIST:-$shared/seed/ResNet20_FL.csv}
[ -f "$list" ] || list=fault_lists/resnet20-cifar10-seed38.csv
if [ -d "$shared/weights" ] && [ -z "${DNNFI_WEIGHTS_DIR:-}" ]; then export DNNFI_WEIGHTS_DIR=$shared/weights; fi
if [ -d "$shared/data" ] && [ -z "${DNNFI_DATA_DIR:-}" ]; then export DNNFI_DATA_DIR=$shared/data; fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# measure FILE COMMAND...: wall time and peak RSS (KiB) of COMMAND into FILE, no extra packages.
measure() {
  /usr/bin/python3 -c '
import resource, subprocess, sys, time
start = time.monotonic()
rc = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    f.write(f"{time.monotonic() - start:.2f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\n")
sys.exit(rc)' "$@"
}

build/dnnfi layers -n resnet20 -d cifar10 > /dev/null   # exports the model outside the timings
build/conv_peak -n resnet20 -d cifar10 -b "$batch" --threads "$threads" > "$out/peak.txt"
peak=$(awk '/^peak conv GFLOP/ {print $4}' "$out/peak.txt")

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | sed 's/^ *//')"
echo "campaign: resnet20/cifar10, $faults faults spread over $(basename "$list"), $images images, batch $batch, $threads thread(s)"
printf '%-8s %9s %14s %9s %10s %14s\n' engine "wall s" "fault-img/s" "peak MiB" "GFLOP/s" "% of conv peak"
for ((r = 1; r <= repeat; r++)); do
  for engine in naive staged; do
    run="$out/$engine.$r"
    measure "$run.time" build/dnnfi run -n resnet20 -d cifar10 -f "$list" --sample "$faults" \
      --images "$images" -b "$batch" --threads "$threads" --engine "$engine" -q -o "$run.csv" \
      2> "$run.log" > "$run.txt"
    read -r wall rss < "$run.time"
    eval "walls_$engine=\"\${walls_$engine:-} $wall\""
    if [ "$r" = 1 ] || awk -v a="$wall" -v b="$(cat "$out/$engine.time")" 'BEGIN {exit !(a < b + 0)}'; then
      echo "$wall $rss" > "$out/$engine.time"
      cp "$run.txt" "$out/$engine.txt"
    fi
    cmp -s "$run.csv" "$out/naive.1.csv" || { echo "results: run $r of $engine DIFFERS from naive" >&2; diff "$out/naive.1.csv" "$run.csv" | head >&2; exit 1; }
  done
done
for engine in naive staged; do
  read -r wall rss < "$out/$engine.time"
  gflop=$(awk '/^  work/ {print $2}' "$out/$engine.txt")
  rate=$(awk -v f="$faults" -v i="$images" -v w="$wall" 'BEGIN {printf "%.0f", f * i / w}')
  gps=$(awk -v g="$gflop" -v w="$wall" 'BEGIN {printf "%.1f", g / w}')
  pct=$(awk -v g="$gps" -v p="$peak" 'BEGIN {printf "%.0f%%", 100 * g / p}')
  printf '%-8s %9s %14s %9.0f %10s %14s\n' "$engine" "$wall" "$rate" "$(awk -v r="$rss" 'BEGIN {print r / 1024}')" "$gps" "$pct"
  eval "wall_$engine=$wall gflop_$engine=$gflop"
done
if [ "$repeat" -gt 1 ]; then echo "runs (wall s): naive${walls_naive}; staged${walls_staged}"; fi
echo "speed-up (naive wall / staged wall): $(awk -v a="$wall_naive" -v b="$wall_staged" 'BEGIN {printf "%.2fx", a / b}')"
echo "conv/linear work ratio (naive GFLOP / staged GFLOP): $(awk -v a="$gflop_naive" -v b="$gflop_staged" 'BEGIN {printf "%.2fx", a / b}') (the speed-up with no overhead at all)"
echo "conv peak (best of the model's conv shapes, batch $batch): $peak GFLOP/s"
echo "results: identical, fault by fault (masked, non-critical, critical, non-finite), in every run"
