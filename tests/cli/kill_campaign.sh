#!/usr/bin/env bash
# kill_campaign.sh DNNFI DIR CLEAN [single|workers]: SIGKILL at 8 (workers: 4) moments of one
# campaign, resuming after each; the final file equals an uninterrupted run byte for byte.
# kill_campaign.sh DNNFI CLEAN clean: makes that run (its list and results in the folder CLEAN),
# which both modes share. Half the kills
# come at an exact row (DNNFI_TEST_SIGNAL_AFTER_ROWS), half at a random moment (during start-up,
# or 0-2 s after the run's first new row: mid-fault or mid-write); `workers` kills at random moments only. `workers` kills a `--workers 2` campaign's whole process
# group (parent and workers at once).
set -u
dnnfi=$1 dir=$2
[ "${3:-}" = clean ] && mode=clean || { clean=$3 mode=${4:-single}; }
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
killed=$PWD/killed.csv   # whole path: the processes of this test are found by it
# Enough faults that the kills never reach the end: a random kill gives a run at most 2 s past
# its first new row, in which a process does up to about 35 of these 512-image faults (two
# workers twice as many): at most about 120 rows for 8 kills, 210 for the workers' 4 (12 and 6
# kept 64 and 63 here). The
# faults (spread over the shipped statistical list) come in a shuffled order: in list order the
# last layers' faults, which cost a fraction of the first ones', would all come at the end, and
# the last runs could finish before their kill.
faults=300
/usr/bin/python3 - "$here/../../fault_lists/resnet20-cifar10-seed38.csv" list.csv $faults <<'PY'
import csv, random, sys
rows = list(csv.DictReader(open(sys.argv[1])))
n = int(sys.argv[3])
picked = [rows[i * len(rows) // n] for i in range(n)]
random.Random(20261204).shuffle(picked)
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["Injection", "Layer", "TensorIndex", "Bit"])
    w.writerows([r["Injection"], r["Layer"], r["TensorIndex"], r["Bit"]] for r in picked)
PY
args=(run -n resnet20 -d cifar10 -f "$PWD/list.csv" --images 512 -q)
if [ "$mode" = clean ]; then
  "$dnnfi" "${args[@]}" --threads 2 -o clean.csv > /dev/null 2>&1 || fail "clean run"
  echo "PASS: $faults faults run uninterrupted"
  exit 0
fi
cmp -s list.csv "$clean/list.csv" || fail "the clean run in $clean is not of this test's list"
RANDOM=$((20261127 + ${#mode}))
extra=(--threads 1)
[ "$mode" = workers ] && extra=(--workers 2 --threads 1)
# Eight moments cover each kind (exact rows, mid-fault or mid-write, before the first row) at
# least once; each costs a start-up of LibTorch, the model, the data and the golden pass.
kills=8
[ "$mode" = workers ] && kills=4  # each start costs two processes' start-up: half as many

# Rows kept so far: in the results file, or in the workers' parts.
rows() { cat "$killed" "$killed".parts/*.csv 2> /dev/null | grep -vc '^Injection'; }
for kill in $(seq $kills); do
  if [ $((kill % 2)) -eq 1 ] && [ "$mode" = single ]; then
    after=$((RANDOM % 3 + 1))
    DNNFI_TEST_SIGNAL_AFTER_ROWS=$after setsid "$dnnfi" "${args[@]}" "${extra[@]}" -o "$killed" > /dev/null 2>&1
    status=$?
    how="after $after new row(s)"
  else
    before=$(rows)
    setsid "$dnnfi" "${args[@]}" "${extra[@]}" -o "$killed" > /dev/null 2>&1 &
    pid=$!
    # Start-up (model, data, golden pass) takes 2-4 s here, longer than a fixed delay can be
    # trusted with: every third of these kills lands in it at random, the others come 0-2 s
    # after the run's first new row, mid-fault or mid-write.
    if [ $((kill % 3)) -eq 0 ]; then
      delay=$(printf '0.%03d' $((RANDOM % 1000)))
      how="during start-up, after ${delay}s"
    else
      for _ in $(seq 600); do
        [ "$(rows)" -gt "$before" ] && break
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.05
      done
      delay=$(printf '%d.%03d' $((RANDOM % 2)) $((RANDOM % 1000)))
      how="${delay}s after its first new row"
    fi
    sleep "$delay"
    kill -KILL -- -"$pid" 2> /dev/null
    wait "$pid"
    status=$?
  fi
  { wait; } 2> /dev/null
  # Every process of the group is gone before the next start (its lock with it).
  for _ in $(seq 100); do pgrep -f -- "-o $killed" > /dev/null || break; sleep 0.05; done
  [ "$status" -eq 0 ] && fail "kill $kill: the campaign ended before it was killed"
  [ "$status" -eq 137 ] || fail "kill $kill: exit $status, expected 137 (SIGKILL)"
  echo "kill $kill $how: $(rows) rows kept"
done
expect 0 "" "$dnnfi" "${args[@]}" "${extra[@]}" -o "$killed"
same "$clean/clean.csv" killed.csv
echo "PASS: $kills kills ($mode), resumed each time, identical to the clean run"
