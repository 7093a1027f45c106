#!/usr/bin/env bash
# kill_campaign.sh DNNFI DIR [single|workers]: SIGKILL at 20 random moments of one campaign,
# resuming after each; the final file equals an uninterrupted run byte for byte. Half the kills
# come at an exact row (DNNFI_TEST_SIGNAL_AFTER_ROWS), half after a random delay (mid-fault,
# mid-write, or before the first row). `workers` kills a `--workers 2` campaign's whole process
# group (parent and workers at once).
set -u
dnnfi=$1 dir=$2 mode=${3:-single}
. "$(dirname "$0")/lib.sh"
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
killed=$PWD/killed.csv   # whole path: the processes of this test are found by it
# Enough faults that 20 kills, each a few seconds into a run, never reach the end: half of the
# kills give a run 1-4 s, in which a single process does 15-30 of these 256-image faults.
faults=600
args=(run -n resnet20 -d cifar10 --sample $faults --images 256 -q)
"$dnnfi" "${args[@]}" --threads 2 -o clean.csv > /dev/null 2>&1 || fail "clean run"
RANDOM=$((20261127 + ${#mode}))
extra=(--threads 1)
[ "$mode" = workers ] && extra=(--workers 2 --threads 1)

# Rows kept so far: in the results file, or in the workers' parts.
rows() { cat "$killed" "$killed".parts/*.csv 2> /dev/null | grep -vc '^Injection'; }
for kill in $(seq 20); do
  if [ $((kill % 2)) -eq 1 ] && [ "$mode" = single ]; then
    after=$((RANDOM % 3 + 1))
    DNNFI_TEST_SIGNAL_AFTER_ROWS=$after setsid "$dnnfi" "${args[@]}" "${extra[@]}" -o "$killed" > /dev/null 2>&1
    status=$?
    how="after $after new row(s)"
  else
    setsid "$dnnfi" "${args[@]}" "${extra[@]}" -o "$killed" > /dev/null 2>&1 &
    pid=$!
    # Start-up (model, data, golden pass) takes about 2 s here: most kills land mid-campaign.
    delay=$(printf '%d.%03d' $((RANDOM % 3 + 1)) $((RANDOM % 1000)))
    [ "$mode" = workers ] && delay=$(printf '%d.%03d' $((RANDOM % 2 + 2)) $((RANDOM % 1000)))
    sleep "$delay"
    kill -KILL -- -"$pid" 2> /dev/null
    wait "$pid"
    status=$?
    how="after ${delay}s"
  fi
  { wait; } 2> /dev/null
  # Every process of the group is gone before the next start (its lock with it).
  for _ in $(seq 100); do pgrep -f -- "-o $killed" > /dev/null || break; sleep 0.05; done
  [ "$status" -eq 0 ] && fail "kill $kill: the campaign ended before it was killed"
  [ "$status" -eq 137 ] || fail "kill $kill: exit $status, expected 137 (SIGKILL)"
  echo "kill $kill $how: $(rows) rows kept"
done
expect 0 "" "$dnnfi" "${args[@]}" "${extra[@]}" -o "$killed"
same clean.csv killed.csv
echo "PASS: 20 kills ($mode), resumed each time, identical to the clean run"
