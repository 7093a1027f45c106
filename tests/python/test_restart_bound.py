#!/usr/bin/env python3
"""Tests scripts/restart_bound.py on small hand-made metadata and fault lists.

A plain script (no pytest): /usr/bin/python3 tests/python/test_restart_bound.py
Exits 0 only when every case passes.
"""
import os
import subprocess
import sys
import tempfile

SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "scripts")
SCRIPT = os.path.join(SCRIPTS, "restart_bound.py")
sys.path.insert(0, SCRIPTS)
import model_info  # noqa: E402

# A complete model info file (models/model_info.txt) of a two-layer model.
HEAD = f"""# dnnfi model info
format {model_info.VERSION}
name tiny
dataset cifar10
classes 4
input 3x8x8
mean 0.5,0.5,0.5
std 0.25,0.25,0.25
checkpoint none
sequential 1
"""
META = HEAD + """layer a 2x3x3x3 100
layer b 4x2x3x3 300
"""


def run(meta, faults):
    with tempfile.TemporaryDirectory() as tmp:
        meta_path, list_path = os.path.join(tmp, "m.meta"), os.path.join(tmp, "fl.csv")
        with open(meta_path, "w", encoding="utf-8") as f:
            f.write(meta)
        with open(list_path, "w", encoding="utf-8") as f:
            f.write("Injection,Layer,TensorIndex,Bit\n")
            for i, layer in enumerate(faults):
                f.write(f'{i},{layer},"(0, 0, 0, 0)",3\n')
        return subprocess.run([sys.executable, SCRIPT, meta_path, list_path], capture_output=True, text=True)


def main():
    failures = 0

    def check(name, condition, detail):
        nonlocal failures
        print(("ok - " if condition else "FAIL - ") + name + ("" if condition else ": " + detail))
        failures += not condition

    # Naive: 400 MACs per fault. A fault in `a` leaves a's faulty channel (100 / 2) and all of
    # `b` (300); one in `b` leaves b's channel (300 / 4). Two faults: 800 / (350 + 75).
    r = run(META, ["a", "b"])
    check("bound of a two-layer list", r.returncode == 0 and "exact-restart bound 1.88x" in r.stdout, r.stdout + r.stderr)
    # One row per layer with faults: name, faults, share, bound (400 / 350 and 400 / 75).
    rows = {line.split()[0]: line.split()[1:] for line in r.stdout.splitlines()[1:-1]}
    check("per-layer bound", rows == {"a": ["1", "50.0%", "1.1x"], "b": ["1", "50.0%", "5.3x"]}, r.stdout)
    r = run(META, ["b", "b", "b"])
    check("faults only in the last layer", "exact-restart bound 5.33x" in r.stdout, r.stdout + r.stderr)
    r = run(META, ["a", "c"])
    check("unknown layer names the line", r.returncode != 0 and "fl.csv:3" in r.stderr and "'c'" in r.stderr,
          r.stderr)
    r = run(HEAD, ["a"])
    check("metadata without layers", r.returncode != 0 and "no 'layer' lines" in r.stderr, r.stderr)
    print(f"{5 - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
