"""Reader of models/zoo.tsv, the registry shared by the exporter and the C++ tool."""
import csv
import os

REGISTRY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "zoo.tsv")


def entries(path=REGISTRY):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def find(name, dataset, path=REGISTRY):
    for e in entries(path):
        if e["name"] == name.lower() and e["dataset"] == dataset.lower():
            return e
    known = ", ".join(f"{e['name']}/{e['dataset']}" for e in entries(path))
    raise KeyError(f"unknown model {name}/{dataset}; the zoo has: {known}")


def floats(text):
    return [float(v) for v in text.split(",")]


def input_shape(entry):
    return [int(v) for v in entry["input"].split("x")]
