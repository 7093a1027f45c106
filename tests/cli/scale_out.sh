#!/usr/bin/env bash
# Shards merged, workers, provenance and the one-writer lock: the merged file equals the
# single-process run byte for byte, and every refusal names what is wrong and loses nothing.
set -u
dnnfi=$1 dir=$2
. "$(dirname "$0")/lib.sh"
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
args=(run -n resnet20 -d cifar10 --sample 18 --images 192 --threads 1 -q)
"$dnnfi" "${args[@]}" -o clean.csv > /dev/null 2>&1 || fail "clean run"
[ -f clean.csv.json ] || fail "no provenance beside the results"
grep -q '"dataset_sha256":"[0-9a-f]\{64\}"' clean.csv.json || fail "no dataset sha256"
grep -q '"injections":"0,923,' clean.csv.json || fail "no injection ranges"

for k in 0 1 2; do "$dnnfi" "${args[@]}" --shard $k/3 -o s$k.csv > /dev/null 2>&1 || fail "shard $k"; done
expect 3 "6 of the campaign's 18 faults are in no input \(Injection 923, 3694, .*no file of shard 1/3" \
  "$dnnfi" merge -o m.csv s0.csv s2.csv
[ -e m.csv ] && fail "a refused merge wrote its output"
expect 0 "merged: 18 of 18 faults from 3 file" "$dnnfi" merge -o m.csv s2.csv s0.csv s1.csv
same clean.csv m.csv
expect 0 "merged: 18 of 18" "$dnnfi" merge -o m.csv s0.csv s1.csv s2.csv   # an earlier merge is replaced
same clean.csv m.csv

# A partial merge, then a single-process run with the same options completes it.
expect 0 "merged: 12 of 18 faults.*6 faults missing" "$dnnfi" merge --allow-partial -o p.csv s0.csv s2.csv
expect 0 "6 done now, 12 resumed" "$dnnfi" "${args[@]}" -o p.csv
same clean.csv p.csv

# Overlaps must agree; other campaigns and files without provenance are refused.
cp s0.csv x.csv && cp s0.csv.json x.csv.json
sed -i '2s/,192,\([0-9]*\),\([0-9]*\),/,192,\2,\1,/' x.csv
cmp -s s0.csv x.csv && fail "the test did not change a count"
expect 3 "x\.csv:2: Injection 0 is also in s0\.csv with other counts" "$dnnfi" merge -o o.csv s0.csv x.csv s1.csv s2.csv
"$dnnfi" "${args[@]/192/100}" --shard 1/3 -o other.csv > /dev/null 2>&1 || fail "other campaign"
expect 3 "other\.csv is not part of the campaign of s0\.csv:.*images: 192 here, 100 in the file" \
  "$dnnfi" merge -o o.csv s0.csv other.csv s2.csv
cp s1.csv bare.csv
expect 3 "bare\.csv: no provenance" "$dnnfi" merge -o o.csv s0.csv bare.csv s2.csv
cp clean.csv plain.csv
expect 3 "plain\.csv exists and is not an earlier merge of this campaign" "$dnnfi" merge -o plain.csv s0.csv s1.csv s2.csv
same clean.csv plain.csv
[ -e o.csv ] && fail "a refused merge wrote its output"

# Resume refuses another campaign's file, naming the difference, and leaves it as it was.
cp clean.csv before.csv
expect 3 "clean\.csv holds another campaign's results.*images: 100 here, 192 in the file" \
  "$dnnfi" "${args[@]/192/100}" -o clean.csv
same before.csv clean.csv
expect 3 "sample: 9 here, 18 in the file" "$dnnfi" "${args[@]/18/9}" -o clean.csv
expect 3 "shard: 1/3 here, 0/1 in the file" "$dnnfi" "${args[@]}" --shard 1/3 -o clean.csv
same before.csv clean.csv

# A provenance left without its results file is stale, not a campaign to protect.
cp other.csv.json stale.csv.json
expect 0 "18 done now, 0 resumed" "$dnnfi" "${args[@]}" -o stale.csv
same clean.csv stale.csv

# Local workers: the merged file equals the single-process one; a rerun finds it complete.
expect 0 "18 faults x 192 images by 2 workers x 1 thread" "$dnnfi" "${args[@]}" --workers 2 -o w.csv
same clean.csv w.csv
[ -e w.csv.parts ] && fail "the workers' parts were left behind"
expect 0 "0 done now, 18 resumed" "$dnnfi" "${args[@]}" --workers 2 -o w.csv
same clean.csv w.csv
# Ctrl-C in every worker, and SIGTERM to the parent (passed on to the workers): exit 130, the
# parts kept; the same command resumes them all.
expect 130 "interrupted: the workers' parts are kept in .*ctrlc\.csv\.parts" \
  env DNNFI_TEST_SIGNAL_AFTER_ROWS=3:INT "$dnnfi" "${args[@]}" --workers 2 -o ctrlc.csv
[ "$(cat ctrlc.csv.parts/*.csv | grep -vc '^Injection')" -eq 6 ] || fail "the workers did not keep 3 rows each"
expect 0 "18 faults x 192 images by 2 workers" "$dnnfi" "${args[@]}" --workers 2 -o ctrlc.csv
same clean.csv ctrlc.csv
"$dnnfi" "${args[@]}" --workers 2 -o term.csv > term.out 2>&1 &
parent=$!
for _ in $(seq 300); do
  [ "$(cat term.csv.parts/*.csv 2> /dev/null | grep -vc '^Injection')" -ge 2 ] && break
  sleep 0.05
done
kill -TERM "$parent"
wait "$parent"
status=$?
[ "$status" -eq 130 ] || { cat term.out >&2; fail "SIGTERM to the parent: exit $status, expected 130"; }
for worker in $(pgrep -f -- "term.csv.parts/shard"); do
  [ "$(readlink "/proc/$worker/cwd")" = "$PWD" ] && fail "a worker outlived its stopped parent"
done
expect 0 "by 2 workers" "$dnnfi" "${args[@]}" --workers 2 -o term.csv
same clean.csv term.csv
# Ctrl-C to the parent alone: it stops its workers and returns only once they have ended.
"$dnnfi" "${args[@]}" --workers 2 -o int.csv > int.out 2>&1 &
parent=$!
for _ in $(seq 300); do
  [ "$(cat int.csv.parts/*.csv 2> /dev/null | grep -vc '^Injection')" -ge 2 ] && break
  sleep 0.05
done
kill -INT "$parent"
wait "$parent"
status=$?
[ "$status" -eq 130 ] || { cat int.out >&2; fail "SIGINT to the parent: exit $status, expected 130"; }
for worker in $(pgrep -f -- "int.csv.parts/shard"); do
  [ "$(readlink "/proc/$worker/cwd")" = "$PWD" ] && fail "a worker outlived its interrupted parent"
done
# One writer from the start: the -o of a running --workers campaign is refused to a second run.
"$dnnfi" "${args[@]}" --workers 2 -o locked.csv > locked.out 2>&1 &
parent=$!
for _ in $(seq 300); do [ -d locked.csv.parts ] && break; sleep 0.05; done
expect 2 "locked\.csv: another dnnfi process is writing this results file" "$dnnfi" "${args[@]}" -o locked.csv
wait "$parent" || { cat locked.out >&2; fail "the --workers campaign beside a refused second run"; }
same clean.csv locked.csv
expect 2 "--workers chooses the shards itself" "$dnnfi" "${args[@]}" --workers 2 --shard 0/2 -o w2.csv

# One writer per file: a file locked by another process is refused at once, untouched.
flock clean.csv sleep 30 &
locker=$!
sleep 0.3
expect 2 "clean\.csv: another dnnfi process is writing this results file" "$dnnfi" "${args[@]}" -o clean.csv
kill "$locker"; wait "$locker" 2> /dev/null
same before.csv clean.csv
echo "PASS: merge, workers, provenance and the lock"
