#!/usr/bin/env python3
"""Upper bound on the speed-up of an exact restart engine for one fault list.

For each fault, an engine that restarts from cached golden activations must still compute the
faulty output channel of the faulty layer and every conv/linear layer after it, in full, to keep
results bit-identical (only images or batches that turn out bit-identical to golden can stop
early). The naive loop computes every layer for every fault. This prints, per layer and in total,
the ratio of the two amounts of conv/linear work (multiply-accumulates from the model's exported
metadata), i.e. the speed-up with no overhead at all and no early exits.

    scripts/restart_bound.py MODEL.meta FAULT_LIST.csv
MODEL.meta is written by the exporter next to the TorchScript file (`$DNNFI_HOME/models/`,
default ~/.cache/dnnfi/models/, after any `dnnfi` command that loads the model).
"""
import collections
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_info  # noqa: E402


def read_layers(meta_path):
    """(name, out_channels, macs per image) of each injectable layer, in forward order."""
    try:
        info = model_info.read(meta_path)
    except (OSError, model_info.ModelInfoError) as e:
        sys.exit(str(e))
    return [(name, shape[0], macs) for name, shape, macs in model_info.layers(info)]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    layers = read_layers(sys.argv[1])
    position = {name: i for i, (name, _, _) in enumerate(layers)}
    total = sum(macs for _, _, macs in layers)
    after = {}  # work left for a fault in each layer: its faulty channel, then every later layer
    for i, (name, out_channels, macs) in enumerate(layers):
        after[name] = macs / out_channels + sum(m for _, _, m in layers[i + 1:])

    faults = collections.Counter()
    with open(sys.argv[2], newline="", encoding="utf-8") as f:
        for line_no, row in enumerate(csv.DictReader(f), 2):
            layer = row.get("Layer")
            if layer not in position:
                sys.exit(f"{sys.argv[2]}:{line_no}: layer {layer!r} is not in {sys.argv[1]}")
            faults[layer] += 1
    if not faults:
        sys.exit(f"{sys.argv[2]}: no faults")

    print(f"{'layer':<20} {'faults':>7} {'share':>7} {'bound':>7}")
    for name, _, _ in layers:
        if faults[name]:
            print(f"{name:<20} {faults[name]:7d} {faults[name] / sum(faults.values()):7.1%} "
                  f"{total / after[name]:6.1f}x")
    naive = total * sum(faults.values())
    restart = sum(after[name] * n for name, n in faults.items())
    print(f"whole list: {sum(faults.values())} faults, exact-restart bound {naive / restart:.2f}x "
          f"(naive conv/linear work / work after each fault's layer)")


if __name__ == "__main__":
    main()
