#!/usr/bin/env python3
"""Compare a dnnfi results CSV with a published fault list carrying results.

Prints, per fault present in both, the published and the measured counts, then the
largest critical difference. Critical (SDC-1) counts are comparable across platforms;
masked counts are not (the seed's GPU convolutions swallow small weight changes).
Exit status 1 when a critical count differs by more than --max-critical-diff, except for faults
whose logits went NaN/Inf here (non_finite > 0): dnnfi counts those images critical, while the
seed's argmax could land on the golden class; they are listed apart.
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
    if not args.quiet:
        print(f"{'Inj':>6} {'Layer':<16} {'Bit':>3}  {'critical pub/ours':>18}  {'masked pub/ours':>16}")
    for i in common:
        p, o = published[i], ours[i]
        if (p["Layer"], p["TensorIndex"], p["Bit"]) != (o["Layer"], o["TensorIndex"], o["Bit"]):
            print(f"Injection {i}: different faults in the two files", file=sys.stderr)
            return 1
        if not args.quiet:
            print(f"{i:>6} {p['Layer']:<16} {p['Bit']:>3}  {p['critical']:>8} /{o['critical']:>8}  "
                  f"{p['masked']:>7} /{o['masked']:>7}")
    def diff(i):
        return abs(int(published[i]["critical"]) - int(ours[i]["critical"]))

    non_finite = [i for i in common if int(ours[i].get("non_finite") or 0) > 0]
    finite = [i for i in common if i not in non_finite]
    within = sum(diff(i) <= args.max_critical_diff for i in finite)
    print(f"{len(common)} faults compared; {len(finite)} with finite logits: largest critical difference "
          f"{max((diff(i) for i in finite), default=0)}, {within}/{len(finite)} within {args.max_critical_diff}")
    for i in non_finite:
        print(f"  Injection {i}: {ours[i]['non_finite']} images with NaN/Inf logits (critical here); "
              f"critical published {published[i]['critical']}, here {ours[i]['critical']}")
    return 0 if within == len(finite) and finite else 1


if __name__ == "__main__":
    sys.exit(main())
