#!/usr/bin/env bash
# The GPU check of dnnfi, in one go on a machine with an NVIDIA GPU, a CUDA pip PyTorch for
# python3, CMake and nvcc, but maybe no network: run at the repository root with third_party/
# (scripts/vendor_deps.sh) and device-bundle/ (scripts/device_bundle.sh) copied beside it.
# Steps, each timed and under a timeout (the whole check keeps within BUDGET_S; a failed step is
# recorded and the next one runs):
#   the GPU (nvidia-smi); the build (scripts/build_cuda.sh, all cores); the unit tests tagged
#   [device]; the precision test alone ([precision]: a 64-channel 3x3 conv against float64,
#   error <= 1e-5 with --tf32 off, >= 1e-4 with on); `dnnfi eval --use-cuda` (expects 91.48%
#   +-0.02); 41 faults spread over the published ResNet20 list, all 10,000 images, with --engine
#   naive, staged and stacked (critical counts within 1 of the bundle's CPU reference, and
#   staged == naive, stacked == naive: masked/non-critical/critical identical); the stacked engine
#   on 300 faults; the staged engine with --layout nchw (its speed against the default nhwc's,
#   and how many counts the layout moves); naive and staged on the 41 with --tf32 on (staged == naive again; naive
#   against the published counts); the 24 published faults of every 700th row from row 350 with
#   --emulate-tf32 '^layer3\.' (TF32 emulated in layer3's convs, the published campaign's
#   numerics) against the published masked counts.
# For each campaign: wall time, fault-images/s, time per fault, GPU memory peak (nvidia-smi every
# 0.5 s) and the time the whole 16,627-fault list would take. Everything goes to
# $OUT/device_check.txt (default OUT: device-check-out), with each step's output, log and results.
#   scripts/device_check.sh [BUILD_DIR]   (default build-cuda; this file is tests/device/check.sh)
# MODE=speed runs the speed benchmark instead of the checks (see "MODE=speed" below; budget 540 s).
# Environment: OUT, BUDGET_S (default 480: 8 minutes, build included; 540 with MODE=speed), PYTHON (default python3), BUNDLE (default
# device-bundle), SKIP_BUILD=1 (use BUILD_DIR as it is), DEVICE=cpu and IMAGES=N (try the script
# on a machine without a GPU: no --use-cuda, the first N images; the checks then fail).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-cuda}
out=${OUT:-device-check-out}
bundle=${BUNDLE:-device-bundle}
python=${PYTHON:-python3}
budget=${BUDGET_S:-$([ "${MODE:-check}" = speed ] && echo 540 || echo 480)}
reserve=15                 # seconds kept for the summary
list_size=16627            # faults in the published ResNet20 list
expected_accuracy=91.48    # % top-1 of ResNet20 on the CIFAR-10 test set (CPU)

for f in weights/ResNet20.th data/cifar-10-batches-bin/test_batch.bin seed/ResNet20_FL.csv cpu_sample41.csv; do
  [ -f "$bundle/$f" ] || { echo "device_check: $bundle/$f is missing: run scripts/device_bundle.sh on the CPU machine and carry $bundle/" >&2; exit 1; }
done
python=$(command -v "$python") || { echo "device_check: Python interpreter '${PYTHON:-python3}' not found (set PYTHON)" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
bundle=$(cd "$bundle" && pwd)
report=$out/device_check.txt
: > "$report"
say() { echo "$*" | tee -a "$report"; }

cuda=(--use-cuda)
images=()
if [ "${DEVICE:-cuda}" = cpu ]; then cuda=(); fi
if [ -n "${IMAGES:-}" ]; then images=(--images "$IMAGES"); fi
n_images=${IMAGES:-10000}

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export DNNFI_HOME=$home/home DNNFI_WEIGHTS_DIR=$bundle/weights DNNFI_DATA_DIR=$bundle/data DNNFI_PYTHON=$python
deadline=$((SECONDS + budget))

# Per step: its status, wall seconds and GPU memory peak; per campaign also its figures.
declare -A status wall peak faults campaign_s rate
steps=() failures=0

# step NAME CAP_S COMMAND...: COMMAND under a timeout (CAP_S, or less when the budget is short),
# stdout in $out/NAME.txt, stderr in $out/NAME.log, nvidia-smi's memory readings in NAME.mem.
step() {
  local name=$1 cap=$2
  shift 2
  steps+=("$name")
  local left=$((deadline - SECONDS - reserve))
  if [ "$left" -lt 10 ]; then
    status[$name]="skipped: out of time"
    failures=$((failures + 1))
    say "== $name: skipped, ${left}s left of the ${budget}s budget"
    return 1
  fi
  local limit=$((cap < left ? cap : left)) poller="" rc=0 start end
  say "== $name (timeout ${limit}s): $*"
  if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 -lms 500 > "$out/$name.mem" 2> /dev/null &
    poller=$!
  fi
  start=$(date +%s.%N)
  timeout --kill-after=10 "$limit" "$@" > "$out/$name.txt" 2> "$out/$name.log" || rc=$?
  end=$(date +%s.%N)
  if [ -n "$poller" ]; then
    kill "$poller" 2> /dev/null || true
    wait "$poller" 2> /dev/null || true
    peak[$name]=$(sort -n "$out/$name.mem" | tail -1)
  fi
  wall[$name]=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}')
  case $rc in
    0) status[$name]=ok ;;
    124 | 137) status[$name]="TIMEOUT after ${limit}s" ;;
    *) status[$name]="FAILED (exit $rc)" ;;
  esac
  say "   ${status[$name]}, ${wall[$name]} s wall, GPU memory peak ${peak[$name]:-n/a} MiB"
  if [ "$rc" -ne 0 ]; then
    failures=$((failures + 1))
    tail -n 8 "$out/$name.log" "$out/$name.txt" 2> /dev/null | sed 's/^/   | /' | tee -a "$report"
  fi
  return "$rc"
}

# campaign NAME CAP_S SAMPLE [OPTIONS...]: dnnfi run of SAMPLE faults spread over the published list.
campaign() {
  local name=$1 cap=$2 sample=$3
  shift 3
  rm -f "$out/$name.csv" "$out/$name.csv.json"
  faults[$name]=$sample
  step "$name" "$cap" "$dnnfi" run -n resnet20 -d cifar10 -f "$bundle/seed/ResNet20_FL.csv" --sample "$sample" \
    -b 128 -q "${cuda[@]}" "${images[@]}" -o "$out/$name.csv" "$@" || return 0
  # "  speed         2.86 faults/s, 28637 fault-images/s (14.3 s)"
  local speed
  speed=$(sed -n 's/^ *speed *[0-9.]* faults\/s, \([0-9]*\) fault-images\/s (\([0-9.]*\) s).*/\1 \2/p' "$out/$name.txt")
  if [ -n "$speed" ]; then
    read -r "rate[$name]" "campaign_s[$name]" <<< "$speed"
    say "   $(grep -E '^ *(campaign|critical|speed)' "$out/$name.txt" | tr -s ' ' | paste -sd';')"
  fi
}

# check LABEL MODE A.csv B.csv ROWS: fault-by-fault comparison (Layer, TensorIndex, Bit) of two
# results files, A holding ROWS faults when its campaign finished. MODE within1: every critical
# count of A within 1 of B's; equal: masked, non-critical and critical identical; info: figures
# only. Adds a PASS/FAIL/INFO line to the report.
checks=()
check() {
  local label=$1 mode=$2 a=$3 b=$4 rows=$5 line rc=0
  if [ ! -s "$a" ] || [ ! -s "$b" ]; then
    line="FAIL  $label: no results to compare ($(basename "$a") or $(basename "$b") missing)"
    rc=1
  else
    line=$("$python" - "$mode" "$a" "$b" "$rows" << 'EOF'
import csv, sys

mode, a_path, b_path, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return {(r["Layer"], r["TensorIndex"], r["Bit"]): r for r in csv.DictReader(f)}

a, b = read(a_path), read(b_path)
common = [k for k in a if k in b]
n = len(common)
if n == 0 or n < len(a):
    print(f"FAIL  {n} of {len(a)} faults found in both files")
    sys.exit(1)
complete = len(a) == rows
if not complete and mode != "info":
    print(f"FAIL  the campaign did not finish: {len(a)} of {rows} faults")
    sys.exit(1)
diff = {c: [abs(int(a[k][c]) - int(b[k][c])) for k in common] for c in ("masked", "non_critical", "critical")}
same_images = all(a[k]["n_injections"] == b[k]["n_injections"] for k in common)
crit_within1 = sum(d <= 1 for d in diff["critical"])
crit_within2 = sum(d <= 2 for d in diff["critical"])
masked_equal = sum(d == 0 for d in diff["masked"])
masked_100 = sum(d <= 100 for d in diff["masked"])
all_equal = sum(all(diff[c][i] == 0 for c in diff) for i in range(n))
text = (f"{n} faults; critical within 1: {crit_within1}/{n}, within 2: {crit_within2}/{n} (max |diff| "
        f"{max(diff['critical'])}); masked equal {masked_equal}/{n}, within 100: {masked_100}/{n} "
        f"(mean |diff| {sum(diff['masked']) / n:.1f}); all three counts equal {all_equal}/{n}")
if not same_images:
    text += "; n_injections DIFFER"
if not complete:
    text = f"INCOMPLETE, {len(a)} of {rows} faults: " + text
ok = {"within1": crit_within1 == n and same_images, "equal": all_equal == n and same_images, "info": True}[mode]
print(("INFO  " if mode == "info" else "PASS  " if ok else "FAIL  ") + text)
sys.exit(0 if ok else 1)
EOF
    ) || rc=$?
    case $line in
      PASS* | FAIL* | INFO*) line="${line:0:6}$label: ${line:6}" ;;
      *) line="FAIL  $label: the comparison did not run (exit $rc): $(echo "$line" | tail -1)" ;;
    esac
  fi
  checks+=("$line")
  say "   check: $line"
  return 0
}

# finish LABEL: the checks, the closing line, and the exit status (0: every step and check passed).
finish() {
  say ""
  say "Checks"
  local fails=0 c
  for c in "${checks[@]}"; do
    say "  $c"
    case $c in FAIL*) fails=$((fails + 1)) ;; esac
  done
  say ""
  say "$1: ${#steps[@]} steps, $failures failed or skipped; ${#checks[@]} checks, $fails failed; $((SECONDS)) s in all"
  [ "$failures" -eq 0 ] && [ "$fails" -eq 0 ]
  exit
}

say "dnnfi device check, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), $(nproc) cores, budget ${budget}s"
say "commit: $(git rev-parse --short HEAD 2> /dev/null || echo unknown)$(git status --porcelain 2> /dev/null | grep -q . && echo ' (with local changes)')"
say "python: $python, $("$python" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version(), "GPU available:", torch.cuda.is_available())' 2>&1 | tail -1)"
say "nvcc: $( (nvcc --version 2> /dev/null || /usr/local/cuda/bin/nvcc --version 2> /dev/null || echo none) | tail -1)"
say "cmake: $(cmake --version 2> /dev/null | head -1); c++: $(c++ --version 2> /dev/null | head -1)"

if command -v nvidia-smi > /dev/null; then
  step gpu 15 nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,compute_cap,clocks.max.sm,power.limit \
    --format=csv || true
  sed 's/^/   /' "$out/gpu.txt" | tee -a "$report"
  nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
else
  say "== gpu: no nvidia-smi on this machine"
fi

if command -v nvidia-smi > /dev/null; then
  say "GPU memory used before the runs: $(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 2>&1) MiB"
fi
if [ "${SKIP_BUILD:-0}" = 1 ]; then
  say "== build: skipped (SKIP_BUILD=1), using $build"
else
  allow=()
  [ "${DEVICE:-cuda}" = cpu ] && allow=(--allow-cpu)
  step build 330 env PYTHON="$python" DNNFI_SHARED="$bundle" scripts/build_cuda.sh "$build" "${allow[@]}" || true
  cp "$build/configure.log" "$out/build-configure.log" 2> /dev/null || true
  cp "$build/build.log" "$out/build-build.log" 2> /dev/null || true
fi
dnnfi=$build/dnnfi
if [ ! -x "$dnnfi" ]; then
  say "device_check: no $dnnfi, nothing more to check"
  exit 1
fi
say "   $dnnfi links: $(ldd "$dnnfi" | awk '$1 ~ /^lib(torch|c10|cuda|cudnn|cublas|nvrtc)/ {print $1}' | paste -sd' ')"

step unit_device 90 env DNNFI_SHARED="$bundle" DNNFI_HOME="$home/unit-home" "$build/tests/dnnfi_unit_tests" "[device]" || true
say "   $(grep -E 'test cases|No test cases matched' "$out/unit_device.txt" | tail -1)"
if grep -q "No test cases matched" "$out/unit_device.txt" && [ "${status[unit_device]}" = ok ]; then
  status[unit_device]="FAILED: none matched"
  failures=$((failures + 1))
fi

step precision 60 env DNNFI_SHARED="$bundle" DNNFI_HOME="$home/unit-home" "$build/tests/dnnfi_unit_tests" "[precision]" || true
if [ "${status[precision]}" = ok ] && grep -q "All tests passed" "$out/precision.txt"; then
  checks+=("PASS  precision: $(grep -E 'All tests passed' "$out/precision.txt" | tail -1)")
else
  checks+=("FAIL  precision: ${status[precision]}, see precision.txt")
fi
say "   check: ${checks[-1]}"

accuracy_check="FAIL  eval: no accuracy printed"
if step eval 120 "$dnnfi" eval -n resnet20 -d cifar10 -b 128 "${cuda[@]}" "${images[@]}"; then :; else
  # A torch whose exporter fails here still gets the CPU machine's export of the same checkpoint.
  if grep -q "could not export" "$out/eval.log" && [ -f "$bundle/models/resnet20-cifar10.pt" ]; then
    say "   the export failed; using the bundle's model exported on the CPU machine"
    mkdir -p "$DNNFI_HOME/models"
    cp "$bundle"/models/resnet20-cifar10.* "$DNNFI_HOME/models/"
    step eval_bundled_model 60 "$dnnfi" eval -n resnet20 -d cifar10 -b 128 "${cuda[@]}" "${images[@]}" || true
    cp "$out/eval_bundled_model.txt" "$out/eval.txt"
  fi
fi
accuracy=$(sed -n 's/^top1 accuracy: \([0-9.]*\)%.*/\1/p' "$out/eval.txt" | tail -1)
if [ -n "$accuracy" ]; then
  if awk -v a="$accuracy" -v e="$expected_accuracy" 'BEGIN {d = a - e; exit !(d <= 0.02 && d >= -0.02)}'; then
    accuracy_check="PASS  eval: top-1 $accuracy% (expected $expected_accuracy% +-0.02)"
  else
    accuracy_check="FAIL  eval: top-1 $accuracy% (expected $expected_accuracy% +-0.02)"
  fi
fi
checks+=("$accuracy_check")
say "   check: $accuracy_check"

reference=$bundle/cpu_sample41.csv
published=$bundle/seed/ResNet20_FL.csv

# MODE=speed: how fast the whole published list runs, and how close to the card's limit.
# Batches 128, 1,000 and 10,000 on one spread sample (the default for --use-cuda is chosen
# from these); then, at the fastest batch, the whole list when its projected time fits the
# budget (else the largest spread sample that does, the whole list extrapolated), in IEEE FP32
# and with --tf32 on; SM utilisation from `nvidia-smi dmon`, TFLOP/s from dnnfi's work line
# against the card's peak; the engines' counts against naive on 41 faults, and critical counts
# against the published campaign (within 2 on at least 98% of the faults).
if [ "${MODE:-check}" = speed ]; then
  gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader -i 0 2> /dev/null | head -1 || true)
  case $gpu_name in  # FP32 (CUDA cores) and dense TF32 (tensor cores) peaks, TFLOP/s, from NVIDIA's data sheets
    *H200* | *"H100 80GB HBM3"* | *H100*SXM*) fp32_peak=67 tf32_peak=495 ;;
    *H100*) fp32_peak=51 tf32_peak=378 ;;
    *A100*) fp32_peak=19.5 tf32_peak=156 ;;
    *) fp32_peak="" tf32_peak="" ;;
  esac
  say "GPU: ${gpu_name:-none}; peaks: FP32 ${fp32_peak:-unknown}, TF32 ${tf32_peak:-unknown} TFLOP/s"
  declare -A tflops sm_util batch_of
  # speed NAME CAP_S SAMPLE BATCH [OPTIONS...]: a campaign with SM utilisation polled once a second.
  speed() {
    local name=$1 cap=$2 sample=$3 batch=$4 poller=""
    shift 4
    rm -f "$out/$name.csv" "$out/$name.csv.json"
    faults[$name]=$sample batch_of[$name]=$batch
    if command -v nvidia-smi > /dev/null; then
      nvidia-smi dmon -s u -d 1 -i 0 > "$out/$name.dmon" 2> /dev/null &
      poller=$!
    fi
    step "$name" "$cap" "$dnnfi" run -n resnet20 -d cifar10 -f "$published" --sample "$sample" -b "$batch" \
      "${cuda[@]}" "${images[@]}" -o "$out/$name.csv" "$@" || true
    if [ -n "$poller" ]; then kill "$poller" 2> /dev/null || true; wait "$poller" 2> /dev/null || true; fi
    local speed_line work_line
    speed_line=$(sed -n 's/^ *speed *[0-9.]* faults\/s, \([0-9]*\) fault-images\/s (\([0-9.]*\) s).*/\1 \2/p' "$out/$name.txt")
    [ -n "$speed_line" ] && read -r "rate[$name]" "campaign_s[$name]" <<< "$speed_line"
    work_line=$(sed -n 's/^ *work *[0-9.]* GFLOP in conv\/linear layers, \([0-9.]*\) GFLOP\/s.*/\1/p' "$out/$name.txt")
    [ -n "$work_line" ] && tflops[$name]=$(awk -v g="$work_line" 'BEGIN {printf "%.2f", g / 1000}')
    [ -s "$out/$name.dmon" ] && sm_util[$name]=$(awk '!/^#/ && $2 ~ /^[0-9]+$/ {s += $2; n++} END {if (n) printf "%.0f", s / n}' "$out/$name.dmon")
    say "   batch $batch: ${rate[$name]:-?} fault-images/s, ${tflops[$name]:-?} TFLOP/s, SM utilisation ${sm_util[$name]:-?}%; $(grep -E 'needed no inference' "$out/$name.log" | tail -1 | sed 's/^\[[a-z]*\] //')"
  }
  speed b128 120 600 128 --engine stacked
  speed b1000 120 600 1000 --engine stacked
  speed b10000 150 600 10000 --engine stacked
  best=b128
  for run in b1000 b10000; do
    if [ -n "${rate[$run]:-}" ] && awk -v a="${rate[$run]}" -v b="${rate[$best]:-0}" 'BEGIN {exit !(a > b)}'; then best=$run; fi
  done
  best_batch=${batch_of[$best]}
  say "fastest batch: $best_batch (${rate[$best]:-?} fault-images/s)"
  # The whole list if it fits 60% of what is left, else the spread sample that does.
  left=$((deadline - SECONDS - reserve - 120))
  sample=$(awk -v r="${rate[$best]:-0}" -v left="$left" -v n="$n_images" -v l="$list_size" \
    'BEGIN {f = r > 0 ? int(0.6 * left * r / n) : 300; if (f > l) f = l; if (f < 41) f = 41; print f}')
  say "whole-list run: $sample of $list_size faults fit the budget"
  speed list_fp32 "$((left > 60 ? left * 7 / 10 : 60))" "$sample" "$best_batch" --engine stacked --tf32 off
  speed list_tf32 120 "$((sample < 2000 ? sample : 2000))" "$best_batch" --engine stacked --tf32 on
  speed naive41 120 41 "$best_batch" --engine naive
  speed stacked41 60 41 "$best_batch" --engine stacked
  check "stacked41 vs naive41 (batch $best_batch)" equal "$out/stacked41.csv" "$out/naive41.csv" 41
  check "list_fp32 vs published" info "$out/list_fp32.csv" "$published" "$sample"
  within2=$(echo "${checks[-1]}" | sed -n 's/.*within 2: \([0-9]*\)\/\([0-9]*\).*/\1 \2/p')
  if [ -n "$within2" ]; then
    read -r w n <<< "$within2"
    if awk -v w="$w" -v n="$n" 'BEGIN {exit !(w >= 0.98 * n)}'; then
      checks+=("PASS  critical within 2 of the published counts on $w of $n faults (>= 98%)")
    else
      checks+=("FAIL  critical within 2 of the published counts on $w of $n faults (< 98%)")
    fi
  fi
  say ""
  say "Speed ($n_images images per fault; TFLOP/s from dnnfi's conv/linear work line; % of the card's FP32 peak;"
  say "list min: the whole $list_size-fault list at the step's rate, start-up included)"
  say "$(printf '%-12s %7s %-18s %12s %9s %8s %6s %9s' step batch status fault-img/s TFLOP/s "% peak" "SM %" "list min")"
  for s in b128 b1000 b10000 list_fp32 list_tf32 naive41 stacked41; do
    [ -n "${faults[$s]:-}" ] || continue
    pct="" whole=""
    [ -n "${tflops[$s]:-}" ] && [ -n "$fp32_peak" ] && pct=$(awk -v t="${tflops[$s]}" -v p="$fp32_peak" 'BEGIN {printf "%.1f", 100 * t / p}')
    [ -n "${campaign_s[$s]:-}" ] && whole=$(awk -v w="${wall[$s]}" -v c="${campaign_s[$s]}" -v n="${faults[$s]}" -v l="$list_size" \
      'BEGIN {printf "%.1f", ((w - c) + c / n * l) / 60}')
    say "$(printf '%-12s %7s %-18s %12s %9s %8s %6s %9s' "$s" "${batch_of[$s]}" "${status[$s]:0:18}" "${rate[$s]:-}" \
      "${tflops[$s]:-}" "$pct" "${sm_util[$s]:-}" "$whole")"
  done
  finish "device speed check"
fi

campaign naive41 120 41 --engine naive
check "naive41 vs CPU reference" within1 "$out/naive41.csv" "$reference" 41
campaign staged41 90 41 --engine staged
check "staged41 vs CPU reference" within1 "$out/staged41.csv" "$reference" 41
check "staged41 vs naive41" equal "$out/staged41.csv" "$out/naive41.csv" 41
campaign stacked41 90 41 --engine stacked
check "stacked41 vs CPU reference" within1 "$out/stacked41.csv" "$reference" 41
check "stacked41 vs naive41" equal "$out/stacked41.csv" "$out/naive41.csv" 41
campaign stacked300 150 300 --engine stacked
campaign staged41_nchw 90 41 --engine staged --layout nchw
check "staged41_nchw vs staged41" info "$out/staged41_nchw.csv" "$out/staged41.csv" 41
campaign naive41_tf32 120 41 --engine naive --tf32 on
campaign staged41_tf32 90 41 --engine staged --tf32 on
check "staged41_tf32 vs naive41_tf32" equal "$out/staged41_tf32.csv" "$out/naive41_tf32.csv" 41
# Activation faults: the staged engine gathers images across batches and runs windows of the
# maps, each checked on this device's kernels before use; its counts must equal naive's.
step act_list 60 "$dnnfi" faultlist -n resnet20 -d cifar10 --target activations -o "$out/act.csv" || true
for engine in naive staged; do
  rm -f "$out/act41_$engine.csv" "$out/act41_$engine.csv.json"
  faults[act41_$engine]=41
  step "act41_$engine" 90 "$dnnfi" run -n resnet20 -d cifar10 --target activations -f "$out/act.csv" --sample 41 \
    -b 128 -q "${cuda[@]}" "${images[@]}" -o "$out/act41_$engine.csv" --engine "$engine" || true
done
check "act41_staged vs act41_naive (activation faults)" equal "$out/act41_staged.csv" "$out/act41_naive.csv" 41
# The published campaign's numerics: TF32 in layer3's convolutions only (docs: "What the
# published masked counts are"); on the CPU 23 of these 24 faults come within 100 masked images.
"$python" - "$published" "$out/sample24.csv" << 'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))[350::700]
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["Injection", "Layer", "TensorIndex", "Bit"])
    w.writerows([r["Injection"], r["Layer"], r["TensorIndex"], r["Bit"]] for r in rows)
PY
rm -f "$out/emulated24.csv" "$out/emulated24.csv.json"
faults[emulated24]=24
step emulated24 90 "$dnnfi" run -n resnet20 -d cifar10 -f "$out/sample24.csv" --emulate-tf32 '^layer3\.' -b 128 -q \
  "${cuda[@]}" "${images[@]}" -o "$out/emulated24.csv" || true
for run in naive41 staged41 stacked41 stacked300 naive41_tf32 staged41_tf32 emulated24; do
  check "$run vs published" info "$out/$run.csv" "$published" "${faults[$run]}"
done
check "naive41_tf32 vs CPU reference" info "$out/naive41_tf32.csv" "$reference" 41
check "naive41_tf32 vs naive41" info "$out/naive41_tf32.csv" "$out/naive41.csv" 41

# The whole list: start-up (process, CUDA, model and data: wall - campaign) + the campaign's
# seconds per fault (golden pass included) x 16,627. With two sizes of one engine, the
# difference of their campaign times gives the cost of a fault alone.
say ""
say "Summary ($n_images images per fault, batch 128; GPU MiB: peak memory.used during the step; list h: the"
say "whole list, start-up (wall - campaign s) + campaign s / faults x $list_size)"
header=$(printf '%-20s %-22s %8s %10s %12s %9s %9s %11s' step status "wall s" "campaign s" "fault-img/s" "ms/fault" "GPU MiB" "list h")
say "$header"
for s in "${steps[@]}"; do
  cs=${campaign_s[$s]:-} per="" whole=""
  if [ -n "$cs" ]; then
    per=$(awk -v c="$cs" -v n="${faults[$s]}" 'BEGIN {printf "%.1f", 1000 * c / n}')
    whole=$(awk -v w="${wall[$s]}" -v c="$cs" -v n="${faults[$s]}" -v l="$list_size" \
      'BEGIN {printf "%.2f", ((w - c) + c / n * l) / 3600}')
  fi
  say "$(printf '%-20s %-22s %8s %10s %12s %9s %9s %11s' "$s" "${status[$s]}" "${wall[$s]:-}" "$cs" \
    "${rate[$s]:-}" "$per" "${peak[$s]:-}" "$whole")"
done
if [ -n "${campaign_s[stacked41]:-}" ] && [ -n "${campaign_s[stacked300]:-}" ]; then
  say "$(awk -v c1="${campaign_s[stacked41]}" -v c2="${campaign_s[stacked300]}" -v w1="${wall[stacked41]}" \
    -v l="$list_size" 'BEGIN {
      per = (c2 - c1) / (300 - 41); fixed = w1 - 41 * per
      printf "stacked, from its 41- and 300-fault runs: %.1f ms per fault alone, %.1f s fixed; whole list %.2f h", 1000 * per, fixed, (fixed + per * l) / 3600 }')"
fi
finish "device check"
