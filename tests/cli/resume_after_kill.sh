#!/usr/bin/env bash
# A campaign killed with SIGKILL mid-run, with a torn last line, resumes and ends with the
# same rows as an uninterrupted run.
set -eu
dnnfi=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
args=(run -n resnet20 -d cifar10 --sample 40 --images 640 --threads 1 -q)
"$dnnfi" "${args[@]}" -o "$dir/clean.csv" > /dev/null

"$dnnfi" "${args[@]}" -o "$dir/killed.csv" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do
  rows=$(($(wc -l < "$dir/killed.csv" 2>/dev/null || echo 0)))
  [ "$rows" -ge 6 ] && break
  sleep 0.1
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
rows=$(($(wc -l < "$dir/killed.csv") - 1))
if [ "$rows" -ge 40 ]; then echo "FAIL: the run finished before it was killed" >&2; exit 1; fi
printf '17,layer2.1.con' >> "$dir/killed.csv"   # a torn row
out=$("$dnnfi" "${args[@]}" -o "$dir/killed.csv" 2>&1)
echo "$out"
# Every complete row is kept: exactly the rows written before the kill are resumed.
echo "$out" | grep -q "resuming, $rows of 40 faults already done" || { echo "FAIL: $rows rows not resumed" >&2; exit 1; }
echo "$out" | grep -q "$((40 - rows)) done now, $rows resumed" || { echo "FAIL: wrong summary" >&2; exit 1; }
echo "$out" | grep -q "dropping a torn last line (15 bytes)" || { echo "FAIL: torn line not reported" >&2; exit 1; }
if ! cmp <(sort "$dir/clean.csv") <(sort "$dir/killed.csv"); then
  echo "FAIL: resumed results differ from an uninterrupted run" >&2; exit 1
fi
echo "PASS: killed after $rows rows, resumed, identical to the clean run"
