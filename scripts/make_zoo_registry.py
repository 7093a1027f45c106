#!/usr/bin/env python3
"""Regenerate models/zoo.tsv from the seed project's model-zoo manifest.

The registry is the one place where names, datasets, normalization constants and
checkpoint sources live; the C++ tool embeds it and the exporter reads it.
Usage: scripts/make_zoo_registry.py ../shared/seed/model_zoo_manifest.json > models/zoo.tsv
"""
import json
import sys

COLUMNS = ["name", "dataset", "classes", "input", "mean", "std", "seed_top1",
           "weights_file", "container", "url", "sha256", "size", "fault_weights"]


def fmt_floats(values):
    return ",".join(repr(float(v)) for v in values)


def main():
    manifest = json.load(open(sys.argv[1]))
    print("\t".join(COLUMNS))
    for e in manifest:
        ck = e.get("checkpoint") or {}
        sha = ck.get("sha256") or ("prefix:" + ck["sha256_prefix"] if "sha256_prefix" in ck else "-")
        container = ck.get("container", "-")
        if container.startswith("dict with key state_dict"):
            container = "th"
        elif container != "-":
            container = "state_dict"
        elif ck.get("file"):
            container = "th" if ck["file"].endswith(".th") else "state_dict"
        row = [e["name"], e["dataset"], str(e["classes"]), "x".join(map(str, e["input"])),
               fmt_floats(e["mean"]), fmt_floats(e["std"]), str(e["seed_top1_percent"]),
               ck.get("file", "-"), container, ck.get("url", "-"), sha, str(ck.get("size", "-")),
               str(e["params_in_fault_layers"])]
        print("\t".join(row))


if __name__ == "__main__":
    main()
