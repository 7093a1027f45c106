"""dnnfi from Python: fault-injection campaigns on DNN weights, driven from PyTorch code.

Every function runs the dnnfi tool as a child process (found beside this package, else on
PATH, else through DNNFI_BIN) and returns pandas DataFrames and dicts. torch is imported only
when a function is given a torch.nn.Module or in-memory data.

    import dnnfi
    campaign = dnnfi.run("resnet20", "cifar10", sample=100, images=1000)
    campaign.results                  # one row per fault, integer counts
    campaign.report()["layers"]       # per-layer findings with 99% intervals
"""
import json
import tempfile
from pathlib import Path

from ._inputs import Inputs, device_arguments, option_arguments
from ._tool import run_tool, tool
from .campaign import Campaign, read_results, run
from .errors import (Error, ExportError, InputError, Interrupted, OutputError, ResourceError,
                     UsageError)

__all__ = ["models", "layers", "evaluate", "fault_list", "run", "compare", "read_results", "tool",
           "Campaign", "Error", "UsageError", "InputError", "ExportError", "ResourceError", "OutputError",
           "Interrupted"]


def models(**options):
    """The model zoo (``dnnfi models``): name, dataset, classes, input, injectable weights,
    default fault-list size (faults_exact False until the model is exported), the seed's top-1
    accuracy in percent and the checkpoint's state here."""
    import pandas as pd
    lines = run_tool(["models"] + option_arguments(options)).splitlines()
    rows = []
    for line in lines[1:]:
        cells = line.split(None, 7)
        if len(cells) < 8 or not cells[2].isdigit():
            continue  # the closing note
        name, dataset, classes, shape, weights, faults, top1, checkpoint = cells
        rows.append({"name": name, "dataset": dataset, "classes": int(classes), "input": shape,
                     "weights": int(weights), "faults": int(faults.lstrip("~")),
                     "faults_exact": not faults.startswith("~"), "seed_top1": float(top1.rstrip("%")),
                     "checkpoint": checkpoint})
    return pd.DataFrame(rows)


def _model_arguments(folder, model, data, options, batch_size=128, needs_data=True):
    inputs = Inputs(folder)
    inputs.add_model(model, data, options, batch_size, needs_data=needs_data)
    if inputs.zoo is not None or needs_data:
        inputs.add_data(data, options)
    return inputs


def layers(model, data=None, **options):
    """The injectable layers (``dnnfi layers``): name, weight shape and count, in parameter
    order. ``data`` is needed only to trace a torch.nn.Module that cannot be scripted."""
    import pandas as pd
    with tempfile.TemporaryDirectory(prefix="dnnfi-") as folder:
        inputs = _model_arguments(folder, model, data, options, needs_data=False)
        text = run_tool(["layers"] + inputs.arguments + option_arguments(options))
    rows = [line.split() for line in text.splitlines() if line.strip()]
    return pd.DataFrame([{"layer": r[0], "shape": r[1], "weights": int(r[2])} for r in rows if len(r) == 3])


def evaluate(model, data=None, *, device="cpu", batch_size=128, **options):
    """Top-1 accuracy (0..1) of the clean model on the test data (``dnnfi eval``); model and
    data as for :func:`run`, options such as images=1000, threads=1, mean=(...), std=(...)."""
    with tempfile.TemporaryDirectory(prefix="dnnfi-") as folder:
        inputs = _model_arguments(folder, model, data, options, batch_size)
        text = run_tool(["eval"] + inputs.arguments + ["-b", str(batch_size)] + device_arguments(device)
                        + option_arguments(options))
    for line in text.splitlines():
        if line.startswith("top1 accuracy:"):
            correct, total = line.rsplit("(", 1)[1].rstrip(")").split("/")
            return int(correct) / int(total)
    raise Error(f"dnnfi eval printed no accuracy:\n{text}")


def fault_list(model, data=None, *, seed=38, output=None, **options):
    """A statistical fault list (``dnnfi faultlist``) as a DataFrame: Injection, Layer,
    TensorIndex, Bit (and fault_model with fault_model=...). For a zoo model ``data`` is its
    dataset; for a torch.nn.Module it is only needed to trace one that cannot be scripted.
    options: bits="23-30", per_layer=10, layers="layer3", burst=2, all_bits=True, params="all",
    error_margin=0.01, ... output: also keep the CSV there (never over an existing file)."""
    with tempfile.TemporaryDirectory(prefix="dnnfi-") as folder:
        inputs = _model_arguments(folder, model, data, options, needs_data=False)
        if output is not None:
            target = Path(output).resolve()
            if target.exists():
                raise UsageError(f"output={str(output)!r} exists; dnnfi does not write over a file")
        else:
            target = Path(folder, "faults.csv")
        run_tool(["faultlist"] + inputs.arguments + ["--seed", str(seed)] + option_arguments(options)
                 + ["-o", str(target)], outputs=[target])
        return read_results(target)


def _results_file(value, folder, name):
    if isinstance(value, Campaign):
        return str(value.output)
    if hasattr(value, "columns"):
        path = Path(folder, name)
        value.to_csv(path, index=False)
        return str(path)
    return str(Path(value).resolve())


def compare(a, b, *, max_critical_diff=2):
    """Two results (Campaigns, files or DataFrames) fault by fault, as ``dnnfi compare``
    reports it: faults in both, critical / masked / non-critical agreement, each side's
    critical-fault rate, the largest differences. ``within_limit`` is False when a critical
    count differs by more than ``max_critical_diff`` (the tool's exit status 1)."""
    with tempfile.TemporaryDirectory(prefix="dnnfi-") as folder:
        path = Path(folder, "compare.json")
        arguments = ["compare", _results_file(a, folder, "a.csv"), _results_file(b, folder, "b.csv"),
                     "--max-critical-diff", str(max_critical_diff), "--json", str(path)]
        within_limit = True
        try:
            run_tool(arguments, outputs=[path])
        except Error as e:
            if e.exit_code != 1 or not path.exists():
                raise
            within_limit = False
        comparison = json.loads(path.read_text())
        comparison["within_limit"] = within_limit
        return comparison
