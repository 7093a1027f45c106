#!/usr/bin/env python3
"""Checks every architecture of scripts/arch against the seed manifest.

For each of the manifest's model/dataset pairs: the state_dict layout (names, shapes, dtypes,
order), the conv/linear layers (names and weight shapes, in order, also as
export_model.injectable_layers sees them), the output shape on a batch of 2, and that the
model traces and the traced module gives the eager output bit for bit. Whether the top-level
forward is a plain sequence of the children is reported, not required.

A plain script (no pytest): run with Debian's interpreter,
    /usr/bin/python3 tests/python/test_architectures.py [NAME[/DATASET] ...]
The manifest is $DNNFI_SHARED/seed/model_zoo_manifest.json (DNNFI_SHARED defaults to
../shared beside the repository). Exits 1 if any check fails.
"""
import json
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import arch  # noqa: E402
import export_model  # noqa: E402

torch.set_num_threads(1)


def manifest_path():
    shared = os.environ.get("DNNFI_SHARED") or os.path.join(REPO, "..", "shared")
    return os.path.join(shared, "seed", "model_zoo_manifest.json")


def dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def first_difference(got, want):
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return f"entry {i}: got {g}, expected {w}"
    if len(got) != len(want):
        return f"{len(got)} entries, expected {len(want)}"
    return None


def randomize_bn_stats(model, gen):
    """Non-trivial running statistics so that the BN steps are exercised by the comparisons."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)


def check(entry):
    """Returns (errors, notes) for one manifest entry."""
    errors, notes = [], []
    classes = int(entry["classes"])
    shape = list(entry["input"])
    model = arch.build(entry["name"], entry["dataset"], classes, shape[1:])
    model.eval()

    layout = [[k, list(v.shape), dtype_name(v)] for k, v in model.state_dict().items()]
    want_layout = [[k, list(s), d] for k, s, d in entry["state_dict"]]
    diff = first_difference(layout, want_layout)
    if diff:
        errors.append(f"state_dict layout: {diff}")

    convs = [[n, list(m.weight.shape)] for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    want_faults = [[n, list(s)] for n, s in entry["fault_layers"]]
    diff = first_difference(convs, want_faults)
    if diff:
        errors.append(f"fault layers: {diff}")
    inj = [[n, list(s)] for n, s in export_model.injectable_layers(model)]
    diff = first_difference(inj, want_faults)
    if diff:
        errors.append(f"injectable_layers: {diff}")
    weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
    if "params_in_fault_layers" in entry and weights != int(entry["params_in_fault_layers"]):
        errors.append(f"fault-layer weights: {weights}, expected {entry['params_in_fault_layers']}")

    gen = torch.Generator().manual_seed(0)
    randomize_bn_stats(model, gen)
    for p in model.parameters():
        p.requires_grad_(False)
    x = torch.randn([2] + shape, generator=gen)
    with torch.no_grad():
        try:
            y = model(x)
        except Exception as e:  # any failure of the forward is a test failure
            errors.append(f"forward: {type(e).__name__}: {e}")
            return errors, notes
        if list(y.shape) != [2, classes]:
            errors.append(f"output shape {list(y.shape)}, expected [2, {classes}]")
        if not torch.isfinite(y).all():
            errors.append("output is not finite")
        try:
            traced = torch.jit.trace(model, x)
        except Exception as e:
            errors.append(f"trace: {type(e).__name__}: {e}")
            return errors, notes
        if not torch.equal(traced(x), y):
            errors.append("traced output differs from eager")
        x2 = torch.randn([2] + shape, generator=gen)  # the trace must not have frozen the input
        if not torch.equal(traced(x2), model(x2)):
            errors.append("traced output differs from eager on a second input")
    notes.append("plain sequence" if export_model.is_plain_sequence(model, x) else "NOT a plain sequence")
    return errors, notes


def main(argv):
    path = manifest_path()
    with open(path) as f:
        manifest = json.load(f)
    wanted = argv[1:]
    passed = failed = 0
    for entry in manifest:
        tag = f"{entry['name']}/{entry['dataset']}"
        if wanted and entry["name"] not in wanted and tag not in wanted:
            continue
        start = time.time()
        try:
            errors, notes = check(entry)
        except Exception as e:  # a builder that raises fails its model, not the script
            errors, notes = [f"{type(e).__name__}: {e}"], []
        took = time.time() - start
        status = "FAIL" if errors else "ok"
        print(f"{status:4} {tag:22} {'; '.join(notes)} ({took:.1f}s)"
              + "".join(f"\n       {e}" for e in errors), flush=True)
        if errors:
            failed += 1
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
