#!/usr/bin/env bash
# dnnfi's first iterative design (--strata layer --allocation proportional) replayed on the
# published ResNet20 campaign: it stops at the first round whose
# stratified interval half-width is at most the margin, the results file holds exactly the faults
# drawn, and an independent computation from that file finds the margin met. With a margin the
# list cannot reach (EXPECT=exhausted) it draws the whole list and says the margin is not met.
set -eu
dnnfi=$1 published=$2 dir=$3 margin=$4 expect=$5
rm -rf "$dir" && mkdir -p "$dir"
"$dnnfi" run -n resnet20 -d cifar10 -f "$published" --margin "$margin" --strata layer --allocation proportional \
  --replay "$published" -q \
  -o "$dir/it.csv" > "$dir/out.txt" 2> "$dir/log.txt"
cat "$dir/out.txt"
if [ "$expect" = met ]; then
  # Interrupted after 5,000 rows and resumed, the campaign ends with the same file.
  head -n 5001 "$dir/it.csv" > "$dir/resumed.csv" && cp "$dir/it.csv.json" "$dir/resumed.csv.json"
  "$dnnfi" run -n resnet20 -d cifar10 -f "$published" --margin "$margin" --strata layer --allocation proportional \
    --replay "$published" -q \
    -o "$dir/resumed.csv" > /dev/null 2>&1
  cmp "$dir/it.csv" "$dir/resumed.csv" || { echo "FAIL: a resumed campaign drew other faults" >&2; exit 1; }
fi
"$dnnfi" layers -n resnet20 -d cifar10 > "$dir/layers.txt"
/usr/bin/python3 - "$dir" "$margin" "$expect" "$published" <<'PY'
import csv, math, re, sys
d, margin, expect, published = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
rounds = [int(n) for n in re.findall(r"round \d+: (\d+) faults", open(f"{d}/log.txt").read())]
rows = list(csv.DictReader(open(f"{d}/it.csv")))
weights = {l.split()[0]: int(l.split()[2]) for l in open(f"{d}/layers.txt")}
Z = 2.5758293035489004


def stratified(rows):
    """Rate and interval half-width of the estimate stratified by layer, computed from rows."""
    strata = {}
    for r in rows:
        n, x = strata.get(r["Layer"], (0, 0))
        strata[r["Layer"]] = (n + 1, x + (int(r["critical"]) > 0))
    covered = sum(weights[layer] for layer in strata)
    rate = var = 0.0
    for layer, (n, x) in strata.items():
        w, p, N = weights[layer] / covered, x / n, weights[layer] * 64
        rate += w * p
        var += w * w * p * (1 - p) / n * (N - n) / (N - 1)
    m = rate * (1 - rate) / var
    half = Z / (1 + Z * Z / m) * math.sqrt(rate * (1 - rate) / m + Z * Z / (4 * m * m))
    return rate, half, len(strata)


out = open(f"{d}/out.txt").read()
if expect == "exhausted":
    listed = sum(1 for _ in open(published)) - 1
    rate, half, _ = stratified(rows)
    assert len(rows) == listed, f"{len(rows)} rows, the list has {listed}"
    assert "NOT met" in out and half > margin, out
    print(f"PASS: the whole list ({listed} faults) reaches +-{100 * half:.3f}%, not +-{100 * margin}%: said so")
    sys.exit(0)
assert "asked: met" in out, out
assert len(rounds) >= 2, f"rounds logged: {rounds}"
assert rounds[-1] == len(rows), f"{len(rows)} rows, the last round drew {rounds[-1]}"
rate, half, layers = stratified(rows)
assert half <= margin, f"stopped with margin {half} > {margin}"
# The rows are in drawing order: the first rounds[-2] of them are the round before the last.
_, before, _ = stratified(rows[:rounds[-2]])
assert before > margin, f"the round before the last already met the margin ({before})"
assert layers == len(weights), "a layer was never drawn"
print(f"PASS: {len(rows)} faults in {len(rounds)} rounds, margin {100 * half:.3f}% <= {100 * margin}% "
      f"(one round earlier {100 * before:.3f}%), critical-fault rate {100 * rate:.2f}%")
PY
