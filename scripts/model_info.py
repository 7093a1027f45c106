#!/usr/bin/env python3
"""Reader and writer of dnnfi's model info files (NAME-DATASET.meta beside each export).

The schema -- the version and every record's key, field count and occurrence -- is
models/model_info.txt, the same file dnnfi's C++ reader is built with; this module follows it.

    /usr/bin/python3 scripts/model_info.py --layers FILE.meta   # one line per layer, as `dnnfi layers`
"""
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "models", "model_info.txt")


class ModelInfoError(ValueError):
    pass


def _read_schema(path=SCHEMA):
    version, records = None, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            words = line.split()
            if words[:1] == ["version"]:
                version = int(words[1])
            elif words[:1] == ["record"]:
                records[words[1]] = (int(words[2]), words[3] == "once")
    if version is None or not records:
        raise ModelInfoError(f"{path}: not a model info schema")
    return version, records


VERSION, RECORDS = _read_schema()


def read(path):
    """The records of a model info file: {key: fields} for `once` records, {key: [fields, ...]}
    for `any` records (fields are lists of strings). Raises ModelInfoError naming file:line."""
    info = {key: [] for key, (_, once) in RECORDS.items() if not once}
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for line_no, line in enumerate(lines, 1):
        if line.startswith("format ") and line[7:] != str(VERSION):
            raise ModelInfoError(f"{path}:{line_no}: model info version {line[7:]}, this reader reads version "
                                 f"{VERSION}; export the model again")
    for line_no, line in enumerate(lines, 1):
        if not line or line.startswith("#"):
            continue
        key, *fields = line.split(" ")
        if key not in RECORDS:
            raise ModelInfoError(f"{path}:{line_no}: unknown record {key!r}")
        count, once = RECORDS[key]
        if len(fields) != count:
            raise ModelInfoError(f"{path}:{line_no}: record {key!r} takes {count} field(s), got {len(fields)}")
        if once:
            if key in info:
                raise ModelInfoError(f"{path}:{line_no}: record {key!r} appears twice")
            info[key] = fields
        else:
            info[key].append(fields)
    if not info["layer"]:
        raise ModelInfoError(f"{path}: no 'layer' lines (not a dnnfi model info file?)")
    missing = [key for key, (_, once) in RECORDS.items() if once and key not in info]
    if missing:
        raise ModelInfoError(f"{path}: incomplete model info (no {missing[0]!r} record); export the model again")
    return info


def layers(info):
    """(name, shape, macs per image) of each injectable layer, in parameter order."""
    return [(name, [int(d) for d in shape.split("x")], int(macs)) for name, shape, macs in info["layer"]]


def write(path, records):
    """Writes [(key, [field, ...]), ...] (the format record first, added here) after checking
    them against the schema; atomically, so concurrent exports never leave a torn file."""
    lines = ["# dnnfi model info (schema: models/model_info.txt)", f"format {VERSION}"]
    seen = {"format"}
    for key, fields in records:
        fields = [str(f) for f in fields]
        count, once = RECORDS[key]
        if len(fields) != count or any(not f or " " in f for f in fields):
            raise ModelInfoError(f"record {key!r} needs {count} non-empty field(s) without spaces, got {fields}")
        if once and key in seen:
            raise ModelInfoError(f"record {key!r} given twice")
        seen.add(key)
        lines.append(" ".join([key] + fields))
    missing = [key for key, (_, once) in RECORDS.items() if once and key not in seen]
    if missing:
        raise ModelInfoError(f"record {missing[0]!r} missing")
    tmp = f"{path}.{os.getpid()}.part"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "--layers":
        sys.exit(__doc__)
    try:
        info = read(sys.argv[2])
    except (OSError, ModelInfoError) as e:
        sys.exit(f"model_info: {e}")
    for name, shape, _ in layers(info):
        print(f"{name} {'x'.join(map(str, shape))} {math.prod(shape)}")


if __name__ == "__main__":
    main()
