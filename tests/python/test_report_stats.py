#!/usr/bin/env python3
"""`dnnfi report --json` on the published ResNet20 list against an independent computation
from the CSV itself (plain Python: counts, Wilson intervals, the margin formula).

    /usr/bin/python3 tests/python/test_report_stats.py DNNFI PUBLISHED.csv OUT_DIR
"""
import csv
import json
import math
import os
import subprocess
import sys

Z = 2.5758293035489004  # two-sided 99%
RESNET20_WEIGHTS = 268336


def wilson_interval(x, trials, population=0):
    p = x / trials
    n = trials / ((population - trials) / (population - 1)) if population > 1 else trials
    denominator = 1 + Z * Z / n
    center = (p + Z * Z / (2 * n)) / denominator
    half = Z / denominator * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return max(0.0, center - half), min(1.0, center + half)


def mean_interval(values, population=0):
    """The per-inference rate of a simple random sample: its mean; the variance of the mean, the
    larger of s^2 / n and the smoothed ((n - 1) s^2 + p~ (1 - p~)) / n^2 (one pseudo-observation at
    p~ = (sum + a) / (n + 2a), a = mean / 2), finite-population corrected; Wilson's interval at the
    effective sample size mean (1 - mean) / variance."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return wilson_interval(mean * n, n)
    s2 = sum((v - mean) ** 2 for v in values) / (n - 1)
    a = max(mean, 1e-9) / 2
    p = (sum(values) + a) / (n + 2 * a)
    smoothed = ((n - 1) * s2 + p * (1 - p)) / n
    correction = (population - n) / (population - 1) if population > 1 else 1.0
    variance = max(s2, smoothed) / n * correction
    if variance <= 0 or mean in (0.0, 1.0):
        return wilson_interval(mean * n, n)
    effective = mean * (1 - mean) / variance
    return wilson_interval(mean * effective, effective)


def main():
    dnnfi, published, out = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    report_path = os.path.join(out, "report.json")
    subprocess.run([dnnfi, "report", published, "-n", "resnet20", "-d", "cifar10", "--json", report_path],
                   check=True, stdout=subprocess.DEVNULL)
    with open(report_path, encoding="utf-8") as f:
        report = json.load(f)
    with open(published, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))

    failures = []

    def check(what, ours, theirs, tolerance=1e-12):
        if isinstance(theirs, float) or isinstance(ours, float):
            ok = abs(ours - theirs) <= tolerance * max(1.0, abs(theirs))
        else:
            ok = ours == theirs
        if not ok:
            failures.append(f"{what}: report {ours}, independent {theirs}")

    population = RESNET20_WEIGHTS * 32 * 2
    critical = sum(int(r["critical"]) > 0 for r in rows)
    check("faults", report["faults"], len(rows))
    check("critical_faults", report["critical_faults"], critical)
    check("critical_fault_rate", report["critical_fault_rate"], critical / len(rows))
    low, high = wilson_interval(critical, len(rows), population)
    check("ci99 low", report["ci99"][0], low)
    check("ci99 high", report["ci99"][1], high)
    n = len(rows)
    check("margin", report["margin"], math.sqrt(2.58 ** 2 * 0.25 * (population - n) / (population - 1) / n))
    images = sum(int(r["n_injections"]) for r in rows)
    check("masked_share", report["masked_share"], sum(int(r["masked"]) for r in rows) / images)
    check("mean_sdc1_rate", report["mean_sdc1_rate"],
          sum(int(r["critical"]) / int(r["n_injections"]) for r in rows) / n, 1e-9)
    sdc1 = lambda members: [int(r["critical"]) / int(r["n_injections"]) for r in members]  # noqa: E731
    low, high = mean_interval(sdc1(rows), population)
    check("sdc1_ci99 low", report["sdc1_ci99"][0], low, 1e-9)
    check("sdc1_ci99 high", report["sdc1_ci99"][1], high, 1e-9)

    layer_order = list(dict.fromkeys(r["Layer"] for r in rows))
    check("layer order", [g["layer"] for g in report["layers"]], layer_order)
    for group_key, key_of, groups in (("layer", lambda r: r["Layer"], report["layers"]),
                                      ("bit", lambda r: int(r["Bit"]), report["bits"])):
        for g in groups:
            members = [r for r in rows if key_of(r) == g[group_key]]
            crit = sum(int(r["critical"]) > 0 for r in members)
            check(f"{group_key} {g[group_key]} faults", g["faults"], len(members))
            check(f"{group_key} {g[group_key]} critical_faults", g["critical_faults"], crit)
            lo, hi = wilson_interval(crit, len(members))
            check(f"{group_key} {g[group_key]} ci99 low", g["ci99"][0], lo)
            check(f"{group_key} {g[group_key]} ci99 high", g["ci99"][1], hi)
            check(f"{group_key} {g[group_key]} rate", g["critical_fault_rate"], crit / len(members))
            lo, hi = mean_interval(sdc1(members))
            check(f"{group_key} {g[group_key]} sdc1_ci99 low", g["sdc1_ci99"][0], lo, 1e-9)
            check(f"{group_key} {g[group_key]} sdc1_ci99 high", g["sdc1_ci99"][1], hi, 1e-9)
    check("bits present", sorted(g["bit"] for g in report["bits"]), sorted({int(r["Bit"]) for r in rows}))

    for failure in failures[:20]:
        print("FAIL", failure)
    print(f"{'FAIL' if failures else 'PASS'}: {len(rows)} faults, critical-fault rate "
          f"{100 * critical / len(rows):.1f}%, {len(report['layers'])} layers, {len(report['bits'])} bits checked")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
