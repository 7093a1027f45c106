"""dnnfi.run and the Campaign it returns."""
import hashlib
import json
import tempfile
from pathlib import Path

from ._inputs import Inputs, device_arguments, option_arguments
from ._progress import run_campaign_process
from ._tool import run_tool, tool
from .errors import UsageError

# The seed's columns and dnnfi's, with the type each is read as.
_COUNT_COLUMNS = ["Injection", "n_injections", "masked", "non_critical", "critical", "non_finite"]
_DEFAULT_RUNS = "dnnfi-runs"


def read_results(path):
    """A results (or fault list) CSV as a DataFrame: counts as int64, Bit as int64 unless a row
    holds several bits ("3|4"), TensorIndex as written ("(3, 0, 2, 1)"). A count the file does not
    record (non_finite of a replayed published list: an empty cell) is <NA> in a nullable Int64
    column, never 0."""
    import pandas as pd
    frame = pd.read_csv(path, dtype={"Layer": str, "TensorIndex": str, "Bit": str})
    for column in _COUNT_COLUMNS:
        if column in frame.columns:
            unknown = frame[column].isna().any()
            frame[column] = frame[column].astype("Int64" if unknown else "int64")
    if "Bit" in frame.columns and not frame["Bit"].str.contains("|", regex=False).any():
        frame["Bit"] = frame["Bit"].astype("int64")
    return frame


class Campaign:
    """A campaign's results file and what dnnfi says about it.

    ``results``: the rows as a DataFrame; ``report()``: ``dnnfi report --json`` as a dict;
    ``html(path)``: the HTML report; ``provenance``: what made the file (RESULTS.csv.json);
    ``output``: the results file; ``summary``: the tool's closing lines.
    """

    def __init__(self, output, zoo=None, summary=""):
        self.output = Path(output)
        self.zoo = zoo
        self.summary = summary

    def __repr__(self):
        return f"Campaign({str(self.output)!r})"

    def _report_arguments(self):
        if self.zoo is None:
            return []
        name, dataset = self.zoo
        return ["-n", name] + (["-d", dataset] if dataset else [])

    @property
    def results(self):
        return read_results(self.output)

    @property
    def provenance(self):
        with open(str(self.output) + ".json") as f:
            return json.load(f)

    def report(self, reference=None):
        """The findings (overall, per layer, per bit, margin of error) as ``dnnfi report --json``
        writes them; ``reference``: a results file to compare with."""
        with tempfile.TemporaryDirectory(prefix="dnnfi-") as folder:
            path = Path(folder, "report.json")
            arguments = ["report", str(self.output), "--json", str(path)] + self._report_arguments()
            if reference is not None:
                arguments += ["--reference", str(Path(reference).resolve())]
            run_tool(arguments, outputs=[path])
            return json.loads(path.read_text())

    def html(self, path, reference=None):
        """Writes the self-contained HTML report to ``path`` and returns it."""
        path = Path(path).resolve()
        arguments = ["report", str(self.output), "--html", str(path)] + self._report_arguments()
        if reference is not None:
            arguments += ["--reference", str(Path(reference).resolve())]
        run_tool(arguments, outputs=[path])
        return path


def run(model, data=None, faults=None, *, device="cpu", batch_size=128, output=None, progress=True,
        **options):
    """Runs a fault-injection campaign with the dnnfi tool and returns its Campaign.

    model: a zoo name ("resnet20"), a TorchScript file or a torch.nn.Module (scripted, else
    traced on a batch of ``data``). data: a zoo dataset ("cifar10"), a path (image folder,
    tensor file, CIFAR .bin) or (images, labels) as uint8 N x C x H x W and N labels. faults:
    a fault list CSV or a DataFrame (default: the statistical list, seed 38). output: the
    results CSV; an existing one is resumed. Without it the results go to
    dnnfi-runs/<model>-<data>-<key>.csv in the current folder, the key naming the campaign's
    inputs and options, so the same call resumes the same file. progress: show a tqdm bar.
    options: any other `dnnfi run` option by its Python name: images=200, threads=1,
    sample=100, layers="layer3", fault_model="stuck-at-1", engine="naive", mean=(...), ...

    Ctrl-C stops the campaign after the current fault with every finished row kept, and
    raises KeyboardInterrupt; calling run again resumes. Errors raise dnnfi.Error subclasses.
    """
    if "workers" in options and options["workers"] not in (None, 1):
        raise UsageError("workers: the Python package follows one process's progress; run "
                         "`dnnfi run --workers N` from a shell instead")
    with tempfile.TemporaryDirectory(prefix="dnnfi-") as folder:
        inputs = Inputs(folder)
        inputs.add_model_and_data(model, data, options, batch_size)
        inputs.add_faults(faults)
        inputs.arguments += ["-b", str(batch_size)] + device_arguments(device) + option_arguments(options)
        if output is None:
            key = hashlib.sha256("\0".join(inputs.identity()).encode()).hexdigest()[:12]
            output = Path(_DEFAULT_RUNS, f"{inputs.label}-{key}.csv")
            output.parent.mkdir(exist_ok=True)
        output = Path(output).resolve()
        command = [str(tool()), "run"] + inputs.arguments + ["-o", str(output)]
        summary, _ = run_campaign_process(command, [output], progress, inputs.label)
    return Campaign(output, inputs.zoo, summary)
