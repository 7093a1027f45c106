"""dnnfi.run and the Campaign it returns: its rows, its findings as dicts and DataFrames, charts
and a notebook view."""
import hashlib
import html as _html
import json
import os
import re
import tempfile
from pathlib import Path

from ._inputs import RESERVED, Inputs, apply_list_settings, device_arguments, option_arguments, read_list_record
from ._progress import run_campaign_process
from ._tool import check_options, run_tool, run_tool_json, tool
from .errors import Error, UsageError

# The seed's columns and dnnfi's, with the type each is read as.
_COUNT_COLUMNS = ["Injection", "n_injections", "masked", "non_critical", "critical", "non_finite"]
_DEFAULT_RUNS = "dnnfi-runs"

# The fields of each word format's bits (the README's "Weight formats"), highest first.
FIELDS = {
    "fp32": (("sign", 31, 31), ("exponent", 23, 30), ("mantissa", 0, 22)),
    "fp16": (("sign", 15, 15), ("exponent", 10, 14), ("mantissa", 0, 9)),
    "bf16": (("sign", 15, 15), ("exponent", 7, 14), ("mantissa", 0, 6)),
    "int8": (("sign", 7, 7), ("magnitude", 0, 6)),
}
_FIELD_COLOURS = {"sign": "tab:red", "exponent": "tab:orange", "mantissa": "tab:blue", "magnitude": "tab:blue"}
_NO_FAULTS = dict(facecolor="none", edgecolor="0.6", hatch="///", linewidth=0)
_FINDINGS = ["faults", "critical_faults", "critical_fault_rate", "ci99_low", "ci99_high", "mean_sdc1_rate",
             "sdc1_ci99_low", "sdc1_ci99_high", "masked_share", "non_finite_share"]


def bit_field(word_format, bit):
    """The field of ``bit`` (an int, or "29|30" for a burst) in ``word_format``: "sign",
    "exponent", "mantissa" or "magnitude"; a burst across fields names each ("mantissa|exponent");
    None for a bit past the word."""
    fields = FIELDS.get(str(word_format), FIELDS["fp32"])
    names = []
    for b in str(bit).split("|"):
        name = next((f for f, low, high in fields if low <= int(b) <= high), None)
        if name is None:
            return None
        if name not in names:
            names.append(name)
    return "|".join(names)


def read_results(path):
    """A results (or fault list) CSV as a DataFrame: counts as int64, Bit as int64 unless a row
    holds several bits ("3|4"), TensorIndex as written ("(3, 0, 2, 1)"). A count the file does not
    record (non_finite of a replayed published list: an empty cell) is <NA> in a nullable Int64
    column, never 0. What the record beside the file (CSV.json: a fault list's, or a results
    file's provenance) says the faults were drawn for (format, target, bits, burst) goes into
    ``attrs["dnnfi"]``, so :func:`run` given the DataFrame runs them as drawn."""
    import pandas as pd
    frame = pd.read_csv(path, dtype={"Layer": str, "TensorIndex": str, "Bit": str})
    for column in _COUNT_COLUMNS:
        if column in frame.columns:
            unknown = frame[column].isna().any()
            frame[column] = frame[column].astype("Int64" if unknown else "int64")
    if "Bit" in frame.columns and not frame["Bit"].str.contains("|", regex=False).any():
        frame["Bit"] = frame["Bit"].astype("int64")
    record = read_list_record(path)
    if record:
        frame.attrs["dnnfi"] = record
    return frame


def per_image_path(results):
    """Where the per-image outcomes of a results file lie: R.csv -> R.images.csv."""
    results = Path(results)
    stem = results.with_suffix("") if results.suffix == ".csv" else results
    return Path(str(stem) + ".images.csv")


class PerImage:
    """A campaign's per-image outcomes (``run(..., per_image=True)``), as numpy arrays:

    - ``injections``: the faults' Injection numbers, in the results file's row order;
    - ``labels`` and ``golden``: each test image's label and golden top-1 class;
    - ``faulty``: faults x images, the faulty top-1 class of every image under every fault (the
      golden class where the fault did not make that image critical); ``critical``: faults x
      images, True where it did.

    ``frame()`` gives the critical images as a long DataFrame (Injection, image, label, golden,
    faulty); ``frame(all_images=True)`` one row per fault and image, with a ``critical`` column.
    """

    def __init__(self, injections, labels, golden, rows, images, classes, source):
        import numpy as np
        self.source = source
        self.injections = np.asarray(injections, dtype=np.int64)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.golden = np.asarray(golden, dtype=np.int64)
        dtype = np.uint8 if classes <= 256 else np.uint16 if classes <= 65536 else np.int64
        self.faulty = np.tile(self.golden.astype(dtype), (len(self.injections), 1))
        self.critical = np.zeros(self.faulty.shape, dtype=bool)
        self.faulty[rows, images[0]] = images[1].astype(dtype)
        self.critical[rows, images[0]] = True

    def __repr__(self):
        return (f"PerImage({len(self.injections)} faults x {len(self.golden)} images, "
                f"{int(self.critical.sum())} critical, from {self.source!r})")

    def frame(self, all_images=False):
        import numpy as np
        import pandas as pd
        if all_images:
            faults, images = np.indices(self.faulty.shape).reshape(2, -1)
        else:
            faults, images = np.nonzero(self.critical)
        return pd.DataFrame({"Injection": self.injections[faults], "image": images, "label": self.labels[images],
                             "golden": self.golden[images], "faulty": self.faulty[faults, images].astype(np.int64),
                             **({"critical": self.critical[faults, images]} if all_images else {})})


def read_per_image(results):
    """The per-image outcomes beside a results file (``R.images.csv``, format 1: the README's
    "Per-image outcomes") as a :class:`PerImage`, checked against the results' rows: every
    fault's lines are as many as its critical count. InputError when they are not, or the file
    is missing or malformed."""
    import numpy as np
    import pandas as pd
    from .errors import InputError
    path = per_image_path(results)
    if not path.is_file():
        raise InputError(f"{path}: no per-image outcomes beside {results} (run it with per_image=True)")
    head = {}
    with open(path) as f:
        first = f.readline().rstrip("\n")
        if first != "# dnnfi per-image outcomes, format 1":
            raise InputError(f"{path}:1: not a dnnfi per-image file")
        for number in range(2, 6):
            line = f.readline().rstrip("\n")
            key, _, value = line[2:].partition(": ")
            if not line.startswith("# ") or key not in ("results", "images", "labels", "golden"):
                raise InputError(f"{path}:{number}: expected '# results|images|labels|golden: ...'")
            head[key] = value
    labels = np.array(head["labels"].split(), dtype=np.int64)
    golden = np.array(head["golden"].split(), dtype=np.int64)
    table = pd.read_csv(path, comment="#", dtype=np.int64)
    if list(table.columns) != ["Injection", "image", "faulty"]:
        raise InputError(f"{path}: expected the columns Injection,image,faulty")
    rows = read_results(results)
    position = pd.Series(np.arange(len(rows)), index=rows["Injection"].to_numpy())
    unknown = ~table["Injection"].isin(position.index)
    if unknown.any():
        raise InputError(f"{path}: Injection {int(table['Injection'][unknown].iloc[0])} has no row in {results}")
    lines = table["Injection"].value_counts().reindex(rows["Injection"], fill_value=0).to_numpy()
    differ = np.nonzero(lines != rows["critical"].to_numpy())[0]
    if len(differ):
        i = differ[0]
        raise InputError(f"{path}: Injection {int(rows['Injection'].iloc[i])} lists {int(lines[i])} critical images, "
                         f"its row in {results} counts {int(rows['critical'].iloc[i])}")
    images = table["image"].to_numpy()
    if len(images) and (images.min() < 0 or images.max() >= len(golden)):
        raise InputError(f"{path}: an image number outside the {len(golden)} images")
    classes = int(max(golden.max(initial=0), labels.max(initial=0), table["faulty"].max() if len(table) else 0)) + 1
    return PerImage(rows["Injection"].to_numpy(), labels, golden, position[table["Injection"]].to_numpy(),
                    (images, table["faulty"].to_numpy()), classes, str(path))


def _split_interval(rows):
    """Report rows (dicts) with their ``ci99`` pair as ci99_low / ci99_high columns (and a
    ``sdc1_ci99`` pair, the per-inference rate's, as sdc1_ci99_low / sdc1_ci99_high)."""
    out = []
    for row in rows:
        row = dict(row)
        low, high = row.pop("ci99", (None, None))
        row["ci99_low"], row["ci99_high"] = low, high
        if "sdc1_ci99" in row:
            row["sdc1_ci99_low"], row["sdc1_ci99_high"] = row.pop("sdc1_ci99")
        out.append(row)
    return out


class Campaign:
    """A campaign's results file and what dnnfi says about it.

    ``results``: the rows as a DataFrame, with each fault's bit ``field`` and ``sdc1_rate``;
    ``report()``: ``dnnfi report --json`` as a dict; ``tables()``: the same findings as
    DataFrames; ``plot(kind)``: a chart of them; ``html(path)``: the HTML report;
    ``provenance``: what made the file (RESULTS.csv.json); ``output``: the results file;
    ``summary``: the tool's closing lines. In a notebook a Campaign shows itself as a summary
    with a per-layer table.
    """

    def __init__(self, output, zoo=None, summary="", model=None):
        self.output = Path(output)
        self.zoo = zoo
        self.summary = summary
        self.model = model  # the model in words ("SmallNet module"); else the provenance's
        self._report_cache = None

    def __repr__(self):
        return f"Campaign({str(self.output)!r})"

    def _report_arguments(self):
        if self.zoo is None:
            return []
        name, dataset = self.zoo
        return ["-n", name] + (["-d", dataset] if dataset else [])

    @property
    def provenance(self):
        with open(str(self.output) + ".json") as f:
            return json.load(f)

    @property
    def per_image(self):
        """The campaign's per-image outcomes (``run(..., per_image=True)``) as a :class:`PerImage`:
        ``faulty`` (faults x images, each image's faulty top-1 class), ``critical``, ``golden``,
        ``labels``, ``injections``, and ``frame()`` for a long DataFrame."""
        return read_per_image(self.output)

    def _format(self):
        try:
            return self.provenance.get("format") or "fp32"
        except (OSError, ValueError):
            return "fp32"  # a file of an older dnnfi, or the seed's: FP32 weights

    @property
    def results(self):
        """The results file as a DataFrame (see :func:`read_results`), plus ``field`` (the bit's
        field in the campaign's word format: sign / exponent / mantissa, or sign / magnitude for
        int8) and ``sdc1_rate`` (critical / n_injections, the share of images the fault
        corrupted)."""
        frame = read_results(self.output)
        word_format = self._format()
        frame["field"] = [bit_field(word_format, bit) for bit in frame["Bit"]]
        frame["sdc1_rate"] = (frame["critical"] / frame["n_injections"]).astype("float64")
        return frame

    def _stamp(self):
        stamp = []
        for path in (self.output, Path(str(self.output) + ".json")):
            try:
                status = path.stat()
                stamp.append((status.st_mtime_ns, status.st_size))
            except OSError:
                stamp.append(None)
        return tuple(stamp)

    def report(self, reference=None):
        """The findings (overall, per layer, per bit, margin of error) as ``dnnfi report --json``
        writes them; ``reference``: a results file to compare with."""
        if reference is None and self._report_cache is not None and self._report_cache[0] == self._stamp():
            return json.loads(self._report_cache[1])
        stamp = self._stamp()
        with tempfile.TemporaryDirectory(prefix="dnnfi-") as folder:
            path = Path(folder, "report.json")
            arguments = ["report", str(self.output), "--json", str(path)] + self._report_arguments()
            if reference is not None:
                arguments += ["--reference", str(Path(reference).resolve())]
            run_tool(arguments, outputs=[path])
            text = path.read_text()
        if reference is None:
            self._report_cache = (stamp, text)
        return json.loads(text)

    def html(self, path, reference=None):
        """Writes the self-contained HTML report to ``path`` and returns it."""
        path = Path(path).resolve()
        arguments = ["report", str(self.output), "--html", str(path)] + self._report_arguments()
        if reference is not None:
            arguments += ["--reference", str(Path(reference).resolve())]
        run_tool(arguments, outputs=[path])
        return path

    def tables(self):
        """The findings of :meth:`report` as DataFrames, in a dict:

        - ``"overall"``: one row: faults, critical_faults, critical_fault_rate, ci99_low,
          ci99_high (its 99% Wilson interval), mean_sdc1_rate with sdc1_ci99_low and sdc1_ci99_high
          (Wilson at the effective sample size), masked_share, non_finite_share,
          n_injections (images per fault), format, target, margin (of error, 99%);
        - ``"layers"``: one row per layer with faults: layer, then the same findings;
        - ``"bits"``: one row per bit with faults: bit, field, then the same findings;
        - ``"fields"``: one row per field of the word: field, then the same findings;
        - ``"classes"``: with per-image outcomes (``run(..., per_image=True)``), one row per golden
          class: class, images, critical_images (summed over the faults), critical_rate;
        - a stratified campaign (``run(..., margin=...)``) also has ``"design"``: one row with both
          rates as its design weighs them (critical_fault_rate with critical_ci99_low and
          critical_ci99_high, sdc1_rate with sdc1_ci99_low and sdc1_ci99_high), design_effect and
          simple_random_needs; and ``"strata"``: one row per
          stratum (stratum, population, exact, faults, critical_faults, critical_fault_rate,
          ci99_low, ci99_high, mean_sdc1_rate); and ``"weighted_layers"`` and ``"weighted_bits"``:
          each layer's and bit's rates as the design weighs them, with 99% intervals of the group
          as a domain of the stratified sample (faults drawn, population, critical_fault_rate,
          ci99_low, ci99_high, mean_sdc1_rate, sdc1_ci99_low, sdc1_ci99_high). The other tables
          are then of the faults drawn.
        """
        import pandas as pd
        report = self.report()
        overall = {key: report.get(key) for key in ("faults", "critical_faults", "critical_fault_rate")}
        low, high = report.get("ci99", (None, None))
        overall.update(ci99_low=low, ci99_high=high)
        overall["mean_sdc1_rate"] = report.get("mean_sdc1_rate")
        overall["sdc1_ci99_low"], overall["sdc1_ci99_high"] = report.get("sdc1_ci99", (None, None))
        for key in ("masked_share", "non_finite_share", "n_injections", "format", "target", "margin"):
            overall[key] = report.get(key)
        tables = {"overall": pd.DataFrame([overall])}
        for key, first in (("layers", ["layer"]), ("bits", ["bit", "field"]), ("fields", ["field"])):
            rows = _split_interval(report.get(key) or [])
            frame = pd.DataFrame(rows)
            columns = first + _FINDINGS
            frame = frame.reindex(columns=columns + [c for c in frame.columns if c not in columns])
            tables[key] = frame
        design = report.get("design")
        if design:
            f, i = design["faults"], design["inferences"]
            tables["design"] = pd.DataFrame([{
                "description": design["description"], "population": design["population"],
                "critical_fault_rate": f["critical_fault_rate"], "critical_ci99_low": f["ci99"][0],
                "critical_ci99_high": f["ci99"][1], "sdc1_rate": i["sdc1_rate"], "sdc1_ci99_low": i["ci99"][0],
                "sdc1_ci99_high": i["ci99"][1], "design_effect": design["design_effect"],
                "simple_random_needs": design["simple_random_needs"]}])
            tables["strata"] = pd.DataFrame(_split_interval(design["strata"]))
            tables["weighted_layers"] = pd.DataFrame(_split_interval(design.get("layers") or []))
            tables["weighted_bits"] = pd.DataFrame(_split_interval(design.get("bits") or []))
        per_image = report.get("per_image")
        if per_image:
            tables["classes"] = pd.DataFrame(per_image["by_class"])
        return tables

    def _model_layers(self):
        """Every injectable layer of the campaign's model, in parameter order (``dnnfi layers``),
        or None when the model cannot be listed here (its file gone, say)."""
        try:
            provenance = self.provenance
        except (OSError, ValueError):
            provenance = {}
        model = str(provenance.get("model", ""))
        if self.zoo is not None and self.zoo[1]:
            arguments = ["-n", self.zoo[0], "-d", self.zoo[1]]
        elif model and os.path.isfile(model):
            arguments = ["--model", model]
        elif model.count("/") == 1 and str(provenance.get("dataset", "")).endswith("(zoo)"):
            arguments = ["-n"] + model.split("/")[:1] + ["-d"] + model.split("/")[1:]
        else:
            return None
        if provenance.get("params") == "all":
            arguments += ["--params", "all"]
        try:
            listing = run_tool_json(["layers"] + arguments)
        except Error:
            return None
        return [entry["layer"] for entry in listing.get("layers", [])]

    def plot(self, kind="layer", ax=None):
        """A chart of the findings on ``ax`` (a new figure without one); returns the Axes.

        - ``"layer"``: the critical-fault rate per layer with its 99% interval (error bars),
          every layer of the model in order, those without faults hatched ("no faults");
        - ``"bit"``: the same per bit of the word, coloured by field (the legend says which),
          bits without faults hatched ("no faults"), never a bar of 0;
        - ``"outcomes"``: the shares of masked, non-critical and critical images, overall and
          per layer;
        - ``"classes"``: each golden class's critical rate, for a campaign with per-image outcomes
          (``run(..., per_image=True)``; a UsageError otherwise).
        """
        kinds = ("layer", "bit", "outcomes", "classes")
        if kind not in kinds:
            raise UsageError(f"plot: kind={kind!r}; it takes {', '.join(map(repr, kinds))}")
        import matplotlib.pyplot as plt
        if kind == "classes" and "classes" not in self.tables():
            raise UsageError("plot(kind='classes'): this campaign has no per-image outcomes "
                             f"({per_image_path(self.output).name}); run it with per_image=True, or plot "
                             "'layer', 'bit' or 'outcomes'")
        if ax is None:
            _, ax = plt.subplots(figsize=(10, 3.5))
        return getattr(self, "_plot_" + kind)(ax)

    def _model_name(self):
        """The model in words: as the call gave it, else as the provenance names it (a file by
        its name)."""
        if self.model:
            return self.model
        try:
            model = str(self.provenance.get("model", ""))
        except (OSError, ValueError):
            return ""
        return Path(model).name if os.path.isabs(model) else model

    def _title(self, report):
        model = self._model_name()
        return f"{model}{', ' if model else ''}{report['faults']} faults, {report['n_injections']} images each"

    def _rate_bars(self, ax, labels, found, colours):
        """Bars of critical-fault rate at positions 0.. for ``labels``, ``found``: label -> report
        row (None for no faults there), hatched where there are none. Returns the bars' top."""
        rows = [found.get(label) for label in labels]
        highs = [r["ci99_high"] for r in rows if r is not None]
        top = max(highs + [0.05]) * 1.05
        for x, (label, row) in enumerate(zip(labels, rows)):
            if row is None:
                ax.bar(x, top, **_NO_FAULTS)
                continue
            rate = row["critical_fault_rate"]
            colour = colours(label, row)
            ax.bar(x, rate, color=colour, width=0.8)
            # A rate of 0 is a finding, unlike no faults: a mark at the bar's top shows it.
            ax.plot(x, rate, marker="_", markersize=9, markeredgewidth=2.5, color=colour)
            ax.errorbar(x, rate, yerr=[[rate - row["ci99_low"]], [row["ci99_high"] - rate]], fmt="none",
                        ecolor="black", elinewidth=1, capsize=2)
        ax.set_ylim(0, top)
        ax.set_xlim(-0.7, len(labels) - 0.3)
        ax.set_ylabel("critical-fault rate (99% interval)")
        return top

    def _plot_layer(self, ax):
        from matplotlib.patches import Patch
        report = self.report()
        table = self.tables()["layers"]
        found = {row["layer"]: row for row in table.to_dict("records")}
        labels = self._model_layers() or list(found)
        labels += [layer for layer in found if layer not in labels]
        self._rate_bars(ax, labels, found, lambda label, row: "tab:blue")
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=90)
        handles = [Patch(color="tab:blue", label="critical-fault rate")]
        if any(label not in found for label in labels):
            handles.append(Patch(label="no faults", **_NO_FAULTS))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        ax.set_title(self._title(report))
        return ax

    def _plot_bit(self, ax):
        from matplotlib.patches import Patch
        report = self.report()
        table = self.tables()["bits"]
        found = {int(row["bit"]): row for row in table.to_dict("records")}
        word_format = report.get("format") or self._format()
        word_bits = int(report.get("word_bits") or 1 + max(hi for _, _, hi in FIELDS.get(word_format, FIELDS["fp32"])))
        bits = list(range(word_bits))
        fields = [bit_field(word_format, b) or "?" for b in bits]
        colours = {}
        for field in fields:
            colours.setdefault(field, _FIELD_COLOURS.get(field, f"C{len(colours) + 3}"))
        self._rate_bars(ax, bits, found, lambda bit, row: colours[fields[bit]])
        ax.set_xticks(bits)
        ax.set_xticklabels([str(b) for b in bits], fontsize="small")
        ax.set_xlabel(f"bit of the {word_format} word (0 = least significant)")
        drawn = {fields[b] for b in found if 0 <= b < word_bits}
        order = [f for f in (report.get("field_names") or []) if f in drawn]
        order += [f for f in colours if f in drawn and f not in order]
        handles = [Patch(color=colours[f], label=f) for f in order]
        if len(found) < len(bits):
            handles.append(Patch(label="no faults", **_NO_FAULTS))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        ax.set_title(self._title(report))
        return ax

    def _plot_outcomes(self, ax):
        results = self.results
        layers = list(dict.fromkeys(results["Layer"]))
        report_order = [row["layer"] for row in self.report().get("layers") or []]
        layers = [layer for layer in report_order if layer in layers] + [l for l in layers if l not in report_order]
        sums = results.groupby("Layer")[["masked", "non_critical", "critical", "n_injections"]].sum()
        labels = ["all"] + layers
        totals = [results[["masked", "non_critical", "critical", "n_injections"]].sum()] + [sums.loc[l] for l in layers]
        bottom = [0.0] * len(labels)
        for column, name, colour in (("masked", "masked", "tab:green"), ("non_critical", "non-critical", "tab:gray"),
                                     ("critical", "critical (SDC-1)", "tab:red")):
            shares = [float(t[column]) / float(t["n_injections"]) for t in totals]
            ax.bar(range(len(labels)), shares, bottom=bottom, color=colour, label=name)
            bottom = [b + s for b, s in zip(bottom, shares)]
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=90)
        ax.set_ylim(0, 1)
        ax.set_ylabel("share of fault-images")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        ax.set_title(self._title(self.report()))
        return ax

    def _plot_classes(self, ax):
        table = self.tables()["classes"]
        label = next((c for c in ("class", "label", "name") if c in table.columns), table.columns[0])
        value = next((c for c in table.columns if "critical" in c and "rate" in c),
                     next(c for c in table.columns if c != label))
        ax.bar(table[label].astype(str), table[value], color="tab:red")
        if {"ci99_low", "ci99_high"} <= set(table.columns):
            ax.errorbar(range(len(table)), table[value],
                        yerr=[table[value] - table["ci99_low"], table["ci99_high"] - table[value]],
                        fmt="none", ecolor="black", capsize=2)
        ax.set_xlabel(label)
        ax.set_ylabel(value.replace("_", " "))
        return ax

    def _repr_html_(self):
        esc = _html.escape
        try:
            report = self.report()
            provenance = self.provenance
        except (Error, OSError, ValueError) as e:
            return f"<p>Campaign <code>{esc(str(self.output))}</code>: {esc(str(e))}</p>"
        low, high = report.get("ci99", (0, 0))
        data = provenance.get("dataset", "")
        model = str(provenance.get("model", ""))
        if self.model and self.model != model:
            model = f"{self.model} ({model})"
        rows = [("model", model), ("test data", data),
                ("images", f"{report['n_injections']} per fault"),
                ("faults", f"{report['faults']} ({provenance.get('fault_model', 'bit-flip')}, "
                           f"{report.get('target', 'weights')} stored as {report.get('format', 'fp32')})"),
                ("critical faults", f"{report['critical_faults']} of {report['faults']} = "
                                    f"{report['critical_fault_rate']:.1%} [{low:.1%}, {high:.1%}] (99% Wilson)"),
                ("mean SDC-1 rate", f"{report['mean_sdc1_rate']:.2%} of the images"),
                ("results", str(self.output))]
        head = "".join(f"<tr><th style='text-align:left'>{esc(k)}</th><td style='text-align:left'>{esc(str(v))}"
                       "</td></tr>" for k, v in rows)
        shown = (report.get("layers") or [])[:20]
        body = "".join(
            f"<tr><td style='text-align:left'>{esc(l['layer'])}</td><td>{l['faults']}</td><td>{l['critical_faults']}"
            f"</td><td>{l['critical_fault_rate']:.1%}</td><td>[{l['ci99'][0]:.1%}, {l['ci99'][1]:.1%}]</td></tr>"
            for l in shown)
        more = len(report.get("layers") or []) - len(shown)
        more = f"<p>... {more} more layers: <code>campaign.tables()['layers']</code></p>" if more > 0 else ""
        return (f"<div><b>dnnfi campaign</b><table>{head}</table>"
                "<table><tr><th>layer</th><th>faults</th><th>critical</th><th>rate</th><th>99% interval</th></tr>"
                f"{body}</table>{more}</div>")


def run(model, data=None, faults=None, *, device="cpu", batch_size=128, output=None, progress=True,
        overwrite=False, **options):
    """Runs a fault-injection campaign with the dnnfi tool and returns its Campaign.

    model: a zoo name ("resnet20"), a TorchScript file or a torch.nn.Module (scripted, else
    traced on a batch of ``data``; kept as DNNFI_HOME/models/own/<sha256>.pt, which the
    provenance names). data: a zoo dataset ("cifar10"), a path (image folder, tensor file, CIFAR
    .bin) or (images, labels) as uint8 (or float32 in 0..1) N x C x H x W and N labels (kept as
    DNNFI_HOME/data/own/<sha256>.pt). faults: a fault list CSV or a DataFrame (default: the
    statistical list, seed 38); the format and target it was drawn for (a DataFrame's
    ``attrs["dnnfi"]``, a CSV's record beside it) are the campaign's, and another format= or
    target= is a UsageError. output: the results CSV; an existing one of this campaign is
    resumed. Without it the results go to dnnfi-runs/<model>-<data>-<key>.csv in the current
    folder, the key naming the campaign's inputs and options, so the same call resumes the same
    file. overwrite: replace an output holding another campaign's results (a model retrained
    since, say); a file dnnfi did not write is still refused. progress: show a tqdm bar.
    options: any other `dnnfi run` option by its Python name (an unknown one is a TypeError):
    images=200, threads=1, sample=100, layers="layer3", fault_model="stuck-at-1",
    engine="naive", format="int8", target="activations", mean=(...), ...

    Ctrl-C stops the campaign after the current fault with every finished row kept, and
    raises KeyboardInterrupt; calling run again resumes. Errors raise dnnfi.Error subclasses.
    """
    reserved = dict(RESERVED, quiet="use progress=False", progress_fd="the package follows the progress itself")
    check_options("dnnfi.run", "run", options, reserved)
    if "workers" in options and options["workers"] not in (None, 1):
        raise UsageError("workers: the Python package follows one process's progress; run "
                         "`dnnfi run --workers N` from a shell instead")
    options = apply_list_settings("dnnfi.run", faults, dict(options))
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
        command = [str(tool()), "run"] + inputs.arguments + (["--overwrite"] if overwrite else []) + ["-o", str(output)]
        def rename(message):  # the tool's option as this function's argument
            return re.sub(r"--overwrite\b", "overwrite=True", inputs.rename(message))

        summary, _ = run_campaign_process(command, [output], progress, inputs.label, rename=rename)
    return Campaign(output, inputs.zoo, summary, inputs.model_label)
