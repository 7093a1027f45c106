"""dnnfi from Python: fault-injection campaigns on DNN weights, driven from PyTorch code.

Every function runs the dnnfi tool as a child process (found beside this package, else on
PATH, else through DNNFI_BIN) and returns pandas DataFrames and dicts, read from the tool's JSON
and CSV files (never from its text for people). torch is imported only when a function is given
a torch.nn.Module or in-memory data. Keyword options are the tool's options by their Python
names, checked against the tool's own --help (an unknown one is a TypeError).

    import dnnfi
    campaign = dnnfi.run("resnet20", "cifar10", sample=100, images=1000)
    campaign.results                  # one row per fault, integer counts, field, sdc1_rate
    campaign.report()["layers"]       # per-layer findings with 99% intervals (a dict)
    campaign.tables()["bits"]         # the findings as DataFrames
    campaign.plot("bit")              # a matplotlib Axes
"""
import json
import tempfile
from pathlib import Path

from ._inputs import RESERVED as _RESERVED
from ._inputs import Inputs, device_arguments, list_settings, option_arguments
from ._tool import check_options, run_tool, run_tool_json, tool
from .campaign import Campaign, PerImage, read_per_image, read_results, run
from .errors import (Error, ExportError, InputError, Interrupted, OutputError, ResourceError,
                     UsageError)

__all__ = ["models", "layers", "evaluate", "fault_list", "run", "compare", "read_results", "read_per_image", "tool",
           "PerImage",
           "Campaign", "Error", "UsageError", "InputError", "ExportError", "ResourceError", "OutputError",
           "Interrupted"]


def models(**options):
    """The model zoo (``dnnfi models --json``): name, dataset, classes, input ("3x32x32"),
    injectable weights, default fault-list size (faults_exact False until the model is
    exported), the seed's top-1 accuracy in percent, the checkpoint's state here (verified,
    present, missing, not published) and its file name (checkpoint_file). options:
    weights_dir=..."""
    import pandas as pd
    check_options("dnnfi.models", "models", options, _RESERVED)
    listing = run_tool_json(["models"] + option_arguments(options))
    rows = []
    for m in listing.get("models", []):
        rows.append({"name": m["name"], "dataset": m["dataset"], "classes": int(m["classes"]),
                     "input": "x".join(str(d) for d in m["input"]), "weights": int(m["weights"]),
                     "faults": int(m["faults"]), "faults_exact": bool(m["faults_exact"]),
                     "seed_top1": float(m["seed_top1"]), "checkpoint": m["checkpoint"],
                     "checkpoint_file": m.get("checkpoint_file", "")})
    columns = ["name", "dataset", "classes", "input", "weights", "faults", "faults_exact", "seed_top1",
               "checkpoint", "checkpoint_file"]
    return pd.DataFrame(rows, columns=columns)


def _model_arguments(folder, model, data, options, batch_size=128, needs_data=True, why=None):
    inputs = Inputs(folder)
    inputs.add_model(model, data, options, batch_size, needs_data=needs_data, why=why)
    if inputs.zoo is not None or needs_data:
        inputs.add_data(data, options)
    return inputs


def layers(model, data=None, **options):
    """The injectable layers (``dnnfi layers --json``): layer, weight shape ("16x3x3x3") and
    count, in parameter order. ``data`` is needed only to trace a torch.nn.Module that cannot
    be scripted. options: params="all", weights_dir=..."""
    import pandas as pd
    check_options("dnnfi.layers", "layers", options, _RESERVED)
    with tempfile.TemporaryDirectory(prefix="dnnfi-") as folder:
        inputs = _model_arguments(folder, model, data, options, needs_data=False)
        listing = run_tool_json(["layers"] + inputs.arguments + option_arguments(options), rename=inputs.rename)
    rows = [{"layer": entry["layer"], "shape": "x".join(str(d) for d in entry["shape"]),
             "weights": int(entry["weights"])} for entry in listing.get("layers", [])]
    return pd.DataFrame(rows, columns=["layer", "shape", "weights"])


def evaluate(model, data=None, *, device="cpu", batch_size=128, **options):
    """Top-1 accuracy (0..1) of the clean model on the test data (``dnnfi eval --json``); model
    and data as for :func:`run`, options such as images=1000, threads=1, mean=(...), std=(...),
    format="int8"."""
    check_options("dnnfi.evaluate", "eval", options, _RESERVED)
    with tempfile.TemporaryDirectory(prefix="dnnfi-") as folder:
        inputs = _model_arguments(folder, model, data, options, batch_size)
        result = run_tool_json(["eval"] + inputs.arguments + ["-b", str(batch_size)] + device_arguments(device)
                               + option_arguments(options), rename=inputs.rename)
    if not result.get("total"):
        raise Error(f"dnnfi eval --json gave no accuracy: {result}")
    return int(result["correct"]) / int(result["total"])


def fault_list(model, data=None, *, seed=38, output=None, **options):
    """A statistical fault list (``dnnfi faultlist``) as a DataFrame: Injection, Layer,
    TensorIndex, Bit (and fault_model with fault_model=...). For a zoo model ``data`` is its
    dataset; for a torch.nn.Module it is needed for target="activations" (the activations'
    shapes come from one forward pass) and to trace a module that cannot be scripted.
    options: bits="23-30", per_layer=10, layers="layer3", burst=2, all_bits=True, params="all",
    format="int8", target="activations", error_margin=0.01, ... output: also keep the CSV (and
    its record, CSV.json) there (never over an existing file).

    The DataFrame carries what it was drawn for in ``attrs["dnnfi"]`` (format, target, bits,
    burst): :func:`run` given it runs with its format and target, and refuses others."""
    check_options("dnnfi.fault_list", "faultlist", options, _RESERVED)
    activations = options.get("target") == "activations"
    with tempfile.TemporaryDirectory(prefix="dnnfi-") as folder:
        inputs = _model_arguments(folder, model, data, options, needs_data=activations,
                                  why="for target='activations' (their shapes come from one forward pass)")
        if output is not None:
            target = Path(output).resolve()
            if target.exists():
                raise UsageError(f"output={str(output)!r} exists; dnnfi does not write over a file")
        else:
            target = Path(folder, "faults.csv")
        run_tool(["faultlist"] + inputs.arguments + ["--seed", str(seed)] + option_arguments(options)
                 + ["-o", str(target)], outputs=[target], rename=inputs.rename)
        return read_results(target)


_DERIVED_COLUMNS = ["field", "sdc1_rate"]  # Campaign.results' own, not the file's


def _results_file(value, folder, name):
    if isinstance(value, Campaign):
        return str(value.output)
    if hasattr(value, "columns"):
        path = Path(folder, name)
        value.drop(columns=[c for c in _DERIVED_COLUMNS if c in value.columns]).to_csv(path, index=False)
        return str(path)
    return str(Path(value).resolve())


def _check_same_space(a, b):
    """Two results of different format or target cannot be compared fault by fault (the tool
    refuses two files so; DataFrames carry theirs in attrs)."""
    sides = [list_settings(v.output if isinstance(v, Campaign) else v) if v is not None else {} for v in (a, b)]
    for key in ("format", "target"):
        if key in sides[0] and key in sides[1] and str(sides[0][key]) != str(sides[1][key]):
            raise UsageError(f"compare: a is of {key} {sides[0][key]!r}, b of {key} {sides[1][key]!r}; "
                             "their faults are not the same faults")


def compare(a, b, *, max_critical_diff=2):
    """Two results (Campaigns, files or DataFrames) fault by fault, as ``dnnfi compare``
    reports it: faults in both, critical / masked / non-critical agreement, each side's
    critical-fault rate, the largest differences. ``within_limit`` is False when a critical
    count differs by more than ``max_critical_diff`` (the tool's exit status 1). Results of
    different formats or targets (their provenance, a DataFrame's attrs) are a UsageError."""
    _check_same_space(a, b)
    with tempfile.TemporaryDirectory(prefix="dnnfi-") as folder:
        path = Path(folder, "compare.json")
        names = {}
        files = []
        for value, label, name in ((a, "a", "a.csv"), (b, "b", "b.csv")):
            files.append(_results_file(value, folder, name))
            if hasattr(value, "columns"):
                names[files[-1]] = f"{label} (the DataFrame given)"

        def rename(message):
            for file, words in names.items():
                message = message.replace(file, words)
            return message

        arguments = ["compare"] + files + ["--max-critical-diff", str(max_critical_diff), "--json", str(path)]
        within_limit = True
        try:
            run_tool(arguments, outputs=[path], rename=rename)
        except Error as e:
            if e.exit_code != 1 or not path.exists():
                raise
            within_limit = False
        comparison = json.loads(path.read_text())
        comparison["within_limit"] = within_limit
        return comparison
