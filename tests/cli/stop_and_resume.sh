#!/usr/bin/env bash
# Ctrl-C (SIGINT) and SIGTERM stop a campaign with exit 130 and keep every finished row, also
# mid-chunk; the resumed file equals a clean run. Then the resume edge cases: rows of another
# shard or sample, duplicates, a torn header, CRLF rows, counts that do not add up, a results
# file given as the fault list.
set -u
dnnfi=$1 dir=$2
. "$(dirname "$0")/lib.sh"
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
args=(run -n resnet20 -d cifar10 --sample 24 --images 256 --threads 1 -q)
"$dnnfi" "${args[@]}" -o clean.csv > /dev/null 2>&1 || fail "clean run"
rows() { echo $(($(grep -c '' "$1") - 1)); }

for sig in INT TERM; do
  expect 130 "campaign: 24 faults x 256 images, 5 done now.*interrupted: 5 of 24 faults done" \
    env DNNFI_TEST_SIGNAL_AFTER_ROWS=5:$sig "$dnnfi" "${args[@]}" -o $sig.csv
  [ "$(rows $sig.csv)" -eq 5 ] || fail "SIG$sig: $(rows $sig.csv) rows kept, expected 5"
  expect 0 "19 done now, 5 resumed" "$dnnfi" "${args[@]}" -o $sig.csv
  same clean.csv $sig.csv
done

# Mid-chunk: 600 images in chunks of one batch (a 64 MiB cache holds less), so faults finish in
# groups of 64. SIGTERM while the second group (36 faults, seconds of work) is on its first
# chunks: the first group's 64 rows stay, the unfinished group runs again on resume.
chunked=(run -n resnet20 -d cifar10 --sample 100 --images 600 --threads 1 -q --memory-limit 64M)
"$dnnfi" "${chunked[@]}" -o chunked-clean.csv > /dev/null 2>&1 || fail "clean chunked run"
"$dnnfi" "${chunked[@]}" -o chunked.csv > chunked.out 2>&1 &
pid=$!
for _ in $(seq 1200); do [ "$(rows chunked.csv 2> /dev/null || echo 0)" -ge 64 ] && break; sleep 0.05; done
sleep 0.5
kill -TERM "$pid"
wait "$pid"
status=$?
cat chunked.out
[ "$status" -eq 130 ] || fail "SIGTERM mid-chunk: exit $status, expected 130"
grep -q "interrupted: 64 of 100 faults done" chunked.out || fail "SIGTERM mid-chunk: not stopped in the second group"
[ "$(rows chunked.csv)" -eq 64 ] || fail "SIGTERM mid-chunk: $(rows chunked.csv) rows kept, expected 64"
expect 0 "36 done now, 64 resumed" "$dnnfi" "${chunked[@]}" -o chunked.csv
same chunked-clean.csv chunked.csv

# Resume edge cases. Each refusal leaves the file as it was.
"$dnnfi" "${args[@]}" --shard 0/2 -o s0.csv > /dev/null 2>&1 || fail "shard 0"
"$dnnfi" "${args[@]}" --shard 1/2 -o s1.csv > /dev/null 2>&1 || fail "shard 1"
cp s1.csv mixed.csv && tail -n 1 s0.csv >> mixed.csv && cp mixed.csv mixed.before
expect 3 "mixed\.csv:14: Injection [0-9]+ does not match this campaign's fault list" \
  "$dnnfi" "${args[@]}" --shard 1/2 -o mixed.csv
same mixed.before mixed.csv
rm s1.csv.json && cp s1.csv sample.csv   # no provenance: adopted rows are still checked one by one
expect 3 "sample\.csv:2: Injection [0-9]+ does not match" "$dnnfi" "${args[@]/24/12}" --adopt -o sample.csv
head -n 4 clean.csv > dup.csv && sed -n 3p clean.csv >> dup.csv && cp dup.csv dup.before
expect 3 "dup\.csv:5: Injection [0-9]+ is already on line 3" "$dnnfi" "${args[@]}" -o dup.csv
same dup.before dup.csv
head -n 4 clean.csv > sum.csv && sed -i '3s/,256,\([0-9]*\),/,256,9\1,/' sum.csv && cp sum.csv sum.before
expect 3 "sum\.csv:3: masked \+ non_critical \+ critical differs from n_injections" "$dnnfi" "${args[@]}" -o sum.csv
same sum.before sum.csv
printf 'Injection,Layer,Tens' > torn.csv   # a kill while the header was written
expect 0 "24 done now, 0 resumed" "$dnnfi" "${args[@]}" -o torn.csv
same clean.csv torn.csv
head -n 6 clean.csv | sed 's/$/\r/' > crlf.csv
expect 0 "19 done now, 5 resumed" "$dnnfi" "${args[@]}" --adopt -o crlf.csv
[ "$(rows crlf.csv)" -eq 24 ] || fail "CRLF resume: $(rows crlf.csv) rows"
cmp <(tr -d '\r' < crlf.csv) clean.csv || fail "CRLF rows were not kept as they were"
# A results file as the fault list: the same faults, the same counts.
expect 0 "24 faults x 256 images, 24 done now" "$dnnfi" "${args[@]}" -f clean.csv -o relist.csv
same clean.csv relist.csv
expect 2 "clean\.csv is an input of this command and its -o" "$dnnfi" "${args[@]}" -f clean.csv -o clean.csv
echo "PASS: stops keep every finished row; resume edge cases"
