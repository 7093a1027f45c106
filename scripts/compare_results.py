#!/usr/bin/env python3
"""Compare a dnnfi results CSV with a published fault list carrying results.

Prints, per fault present in both, the published and the measured counts, then the
largest critical difference. Critical (SDC-1) counts are comparable across platforms;
masked counts are not (the seed's GPU convolutions swallow small weight changes).
Exit status 1 when a critical count differs by more than --max-critical-diff.
"""
import argparse
import csv
import sys


def rows(path):
    with open(path, newline="") as f:
        return {int(r["Injection"]): r for r in csv.DictReader(f)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("published")
    ap.add_argument("ours")
    ap.add_argument("--max-critical-diff", type=int, default=2)
    ap.add_argument("--quiet", action="store_true", help="summary only")
    args = ap.parse_args()
    published, ours = rows(args.published), rows(args.ours)
    common = sorted(set(published) & set(ours))
    if not common:
        print("no common Injection numbers", file=sys.stderr)
        return 1
    worst = 0
    if not args.quiet:
        print(f"{'Inj':>6} {'Layer':<16} {'Bit':>3}  {'critical pub/ours':>18}  {'masked pub/ours':>16}")
    for i in common:
        p, o = published[i], ours[i]
        if (p["Layer"], p["TensorIndex"], p["Bit"]) != (o["Layer"], o["TensorIndex"], o["Bit"]):
            print(f"Injection {i}: different faults in the two files", file=sys.stderr)
            return 1
        diff = abs(int(p["critical"]) - int(o["critical"]))
        worst = max(worst, diff)
        if not args.quiet:
            print(f"{i:>6} {p['Layer']:<16} {p['Bit']:>3}  {p['critical']:>8} /{o['critical']:>8}  "
                  f"{p['masked']:>7} /{o['masked']:>7}")
    within = sum(abs(int(published[i]["critical"]) - int(ours[i]["critical"])) <= args.max_critical_diff
                 for i in common)
    print(f"{len(common)} faults compared; largest critical difference {worst}; "
          f"{within}/{len(common)} within {args.max_critical_diff}")
    return 0 if within == len(common) else 1


if __name__ == "__main__":
    sys.exit(main())
