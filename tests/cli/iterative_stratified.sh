#!/usr/bin/env bash
# Stratified adaptive SFI (the default design of --margin) replayed on the published ResNet20
# campaign. Checked from the files alone, by formulas written out here:
#  - the run stops when the stratified estimate of the rate asked for (--estimand) has a 99%
#    interval of half-width at most the margin, and not one round earlier;
#  - the estimate: sum of W_h * mean_h over the strata of the provenance (W_h = N_h / N, the
#    faults of each from design_members), its variance sum of W_h^2 S_h^2 / n_h (N_h - n_h) / (N_h - 1)
#    with S_h^2 smoothed (per fault: p(1-p) at p = (x + 1/2) / (n + 1); per inference: one
#    pseudo-observation of p(1-p) at the stratum's mean shrunk by half the pooled mean), its
#    interval Wilson's at the effective sample size rate(1 - rate) / variance;
#  - report --json gives the same estimate; an interrupted campaign resumes to the same file.
# Usage: iterative_stratified.sh DNNFI PUBLISHED.csv DIR
set -eu
dnnfi=$1 published=$2 dir=$3
rm -rf "$dir" && mkdir -p "$dir"
run() { "$dnnfi" run -n resnet20 -d cifar10 -f "$published" --replay "$published" -q "$@"; }
run --margin 0.01 -o "$dir/faults.csv" > "$dir/faults.out" 2> "$dir/faults.log"
run --margin 0.001 --estimand inferences -o "$dir/inferences.csv" > "$dir/inferences.out" 2> "$dir/inferences.log"
cat "$dir/faults.out" "$dir/inferences.out"
# Cut after 1,000 rows and resumed: the same faults, the same file.
head -n 1001 "$dir/faults.csv" > "$dir/resumed.csv" && cp "$dir/faults.csv.json" "$dir/resumed.csv.json"
run --margin 0.01 -o "$dir/resumed.csv" > /dev/null 2>&1
cmp "$dir/faults.csv" "$dir/resumed.csv" || { echo "FAIL: a resumed campaign drew other faults" >&2; exit 1; }
cmp "$dir/faults.csv.json" "$dir/resumed.csv.json" || { echo "FAIL: a resumed campaign's provenance differs" >&2; exit 1; }
"$dnnfi" report "$dir/faults.csv" -n resnet20 -d cifar10 --json "$dir/faults.report.json" > "$dir/faults.report.txt"
"$dnnfi" report "$dir/inferences.csv" -n resnet20 -d cifar10 --json "$dir/inferences.report.json" > /dev/null
/usr/bin/python3 - "$dir" "$published" <<'PY'
import csv, json, math, re, sys
d, published = sys.argv[1], sys.argv[2]
Z = 2.5758293035489004
listed = sum(1 for _ in open(published)) - 1


def estimate(rows, strata, members, estimand):
    """The stratified estimate and its 99% half-width from rows, as the header says."""
    values = {}
    for r in rows:
        c, n = int(r["critical"]), int(r["n_injections"])
        v = (c > 0) if estimand == "faults" else c / n
        values.setdefault(members[int(r["Injection"])], []).append(float(v))
    N = sum(n for _, n in strata)
    pooled = sum(sum(v) for v in values.values()) / sum(len(v) for v in values.values())
    rate = var = 0.0
    for h, (key, Nh) in enumerate(strata):
        W = Nh / N
        if key == "unchanged":
            continue
        v = values[h]
        n, s = len(v), sum(v)
        if estimand == "faults":
            p = (s + 0.5) / (n + 1)
            S2 = p * (1 - p)
        else:
            a = pooled / 2
            p = (s + a) / (n + 2 * a)
            mean = s / n
            ss = sum((x - mean) ** 2 for x in v)
            S2 = (ss + p * (1 - p)) / n
        rate += W * s / n
        var += W * W * S2 / n * ((Nh - n) / (Nh - 1) if Nh > 1 else 0)
    m = rate * (1 - rate) / var
    half = Z / (1 + Z * Z / m) * math.sqrt(rate * (1 - rate) / m + Z * Z / (4 * m * m))
    return rate, half


for name, estimand, margin in (("faults", "faults", 0.01), ("inferences", "inferences", 0.001)):
    rows = list(csv.DictReader(open(f"{d}/{name}.csv")))
    prov = json.load(open(f"{d}/{name}.csv.json"))
    strata = [(s.rsplit("=", 1)[0], float(s.rsplit("=", 1)[1])) for s in prov["design_strata"].split(";")]
    members = {int(i): int(h) for i, h in (m.split(":") for m in prov["design_members"].split(","))}
    assert sum(n for _, n in strata) == listed, "the population is the list"
    assert len(members) == len(rows) and all(int(r["Injection"]) in members for r in rows)
    assert len(rows) < listed / 3, f"{len(rows)} faults of {listed}: not a saving"
    rounds = [int(n) for n in re.findall(r"round \d+: (\d+) faults", open(f"{d}/{name}.log").read())]
    out = open(f"{d}/{name}.out").read()
    assert "asked: met" in out, out
    rate, half = estimate(rows, strata, members, estimand)
    assert half <= margin, f"{name}: stopped at +-{half} > {margin}"
    _, before = estimate(rows[:rounds[-2]], strata, members, estimand)
    assert before > margin, f"{name}: the round before the last already met the margin ({before})"
    report = json.load(open(f"{d}/{name}.report.json"))["design"]
    got = report[estimand]
    key = "critical_fault_rate" if estimand == "faults" else "sdc1_rate"
    assert abs(got[key] - rate) < 1e-9 and abs(got["half_width"] - half) < 1e-9, (got, rate, half)
    print(f"PASS: {name}: {len(rows)} of {listed} faults, {len(rounds)} rounds, {100 * rate:.3f}% "
          f"+-{100 * half:.3f}% <= +-{100 * margin}% (one round earlier +-{100 * before:.3f}%)")
text = open(f"{d}/faults.report.txt").read()
assert "design           stage-delta strata" in text and "the faults drawn, unweighted" in text, text
PY
