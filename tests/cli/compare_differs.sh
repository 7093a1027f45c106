#!/usr/bin/env bash
# `dnnfi compare` exits 1 when a critical count differs by more than --max-critical-diff, and
# names the fault; within the limit it exits 0.
set -eu
dnnfi=$1 published=$2 dir=$3
rm -rf "$dir" && mkdir -p "$dir"
head -n 21 "$published" > "$dir/a.csv"
# The same 20 faults, the 7th one's critical count 5 higher (5 fewer non-critical images).
/usr/bin/python3 - "$dir" <<'PY'
import csv, sys
d = sys.argv[1]
rows = list(csv.reader(open(f"{d}/a.csv", newline="")))
rows[7][6] = str(int(rows[7][6]) - 5)
rows[7][7] = str(int(rows[7][7]) + 5)
csv.writer(open(f"{d}/b.csv", "w", newline=""), lineterminator="\n").writerows(rows)
PY
set +e
out=$("$dnnfi" compare "$dir/a.csv" "$dir/b.csv" --max-critical-diff 4 2>&1); status=$?
set -e
echo "$out"
[ "$status" -eq 1 ] || { echo "FAIL: exit $status, expected 1" >&2; exit 1; }
echo "$out" | grep -q "largest critical difference: 5" || { echo "FAIL: difference not reported" >&2; exit 1; }
"$dnnfi" compare "$dir/a.csv" "$dir/b.csv" --max-critical-diff 5 > /dev/null
echo "PASS: a difference of 5 fails at K=4 and passes at K=5"
