"""Python values turned into what the tool reads: options, a TorchScript file for a module, a
tensor file for in-memory data, a CSV file (and the record beside it) for a DataFrame fault
list; and the tool's messages about those files put back into the user's terms."""
import csv
import hashlib
import io
import json
import os
import re
import tempfile
from pathlib import Path

from ._tool import zoo, zoo_datasets
from .errors import ExportError, InputError, ResourceError, UsageError

_CIFAR_BIN_SHAPE = (3, 32, 32)  # a CIFAR-10 / CIFAR-100 binary record's image
_MODEL_SUFFIXES = (".pt", ".pth", ".ptl", ".zip")
# What a fault list's record (FILE.csv.json, written by `dnnfi faultlist`) says about the
# campaign it was drawn for, carried in DataFrame.attrs["dnnfi"]: the tool refuses to run a list
# with another format or target, and the provenance takes bits and burst from it.
LIST_SETTINGS = ("format", "target", "bits", "burst")
_RUN_SETTINGS = ("format", "target")  # the ones `dnnfi run` takes as options
# Options the package sets itself from its own arguments: Python name -> what to use instead.
RESERVED = {"json": "the package reads the tool's JSON itself", "name": "give the zoo name as model=",
            "dataset": "give the zoo dataset as data=", "model": "give it as the model argument",
            "data": "give it as the data argument", "output": "not an option of this function",
            "faults": "give it as the faults argument", "use_cuda": "use device='cuda'"}


def dnnfi_home():
    """DNNFI_HOME, default ~/.cache/dnnfi: where the tool keeps downloads and exports, and the
    package the TorchScript exports of modules and the tensor files of in-memory data."""
    return Path(os.environ.get("DNNFI_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "dnnfi"))


def keep_file(folder, content, suffix):
    """``content`` as ``folder/<sha256>SUFFIX``, written atomically (beside, then renamed) unless
    a file of that name and size is already there; returns (path, sha256)."""
    digest = hashlib.sha256(content).hexdigest()
    path = Path(folder, digest + suffix)
    try:
        if path.is_file() and path.stat().st_size == len(content):
            return path, digest
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=path.parent, prefix="." + digest[:16], suffix=".partial")
        try:
            with os.fdopen(handle, "wb") as f:
                f.write(content)
            os.chmod(partial, 0o644)
            os.replace(partial, path)
        except BaseException:
            if os.path.exists(partial):
                os.unlink(partial)
            raise
    except OSError as e:
        raise ResourceError(f"cannot keep {path} (DNNFI_HOME={dnnfi_home()}): {e.strerror or e}") from None
    return path, digest


def option_arguments(options):
    """Keyword options as command-line options: ``images=200`` -> ``--images 200``,
    ``per_layer=True`` -> ``--per-layer``, ``mean=(0.5, 0.5, 0.5)`` -> ``--mean 0.5,0.5,0.5``,
    ``size=(50, 50)`` -> ``--size 50x50``, ``tf32=True`` -> ``--tf32 on``; None and False are
    left out. The tool checks names and values (UsageError)."""
    arguments = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if name == "tf32" and isinstance(value, bool):
            value = "on" if value else "off"
        if value is None or value is False:
            continue
        if value is True:
            arguments.append(flag)
            continue
        if isinstance(value, (list, tuple, range)):
            value = ("x" if name == "size" else ",").join(str(v) for v in value)
        arguments += [flag, str(value)]
    return arguments


def device_arguments(device):
    text = str(device)
    if text == "cpu":
        return []
    if text in ("cuda", "cuda:0"):
        return ["--use-cuda"]
    raise UsageError(f"device={device!r}: dnnfi runs on 'cpu' or 'cuda' (its first GPU)")


def is_module(model):
    torch = _torch_if_loaded()
    return torch is not None and isinstance(model, torch.nn.Module)


def is_model_file(model):
    """A path to a TorchScript file, rather than a zoo name."""
    if isinstance(model, os.PathLike):
        return True
    return isinstance(model, str) and (model.lower().endswith(_MODEL_SUFFIXES) or os.path.isfile(model))


def _torch_if_loaded():
    # A torch.nn.Module can only exist once torch is imported; no need to import it otherwise.
    import sys
    return sys.modules.get("torch")


def _torch(why):
    try:
        import torch
    except ImportError:
        raise ResourceError(f"{why} needs PyTorch (Debian: python3-torch)") from None
    return torch


class Inputs:
    """The command-line arguments for one call and the files they name: a module's TorchScript
    export and in-memory data kept under DNNFI_HOME (content-addressed, so the provenance names a
    file that stays), a DataFrame's CSV in ``folder`` (which the caller removes when the tool is
    done). ``rename`` puts those files' names in the tool's messages back into the user's terms."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.arguments = []
        self.zoo = None          # (name, dataset) of a zoo model
        self.label = "model"     # a short name for the default output file
        self.model_label = None  # the model as the user gave it, in words
        self.written = {}        # file this call made -> sha256 of its content
        self.described = {}      # file this call made -> what the user gave, in words
        self.frame = None        # the faults DataFrame, for its rows in messages
        self.faults_csv = None   # its CSV file

    def _write(self, name, content, description):
        path = self.folder / name
        path.write_bytes(content)
        self.written[str(path)] = hashlib.sha256(content).hexdigest()
        self.described[str(path)] = description
        return path

    def _keep(self, kind, content, description):
        path, digest = keep_file(dnnfi_home() / kind / "own", content, ".pt")
        self.written[str(path)] = digest
        self.described[str(path)] = description
        return path

    def identity(self):
        """The arguments with files this call made named by their content: the same call gives
        the same identity, so it finds (and resumes) the same default output."""
        return [self.written.get(a, a) for a in self.arguments]

    def rename(self, message):
        """The tool's message with the files this call made named as the user knows them:
        "faults (the DataFrame given), row 1 (CSV line 3): ...", "data (the images and labels
        given): ...", "model (the Net module given, exported to TorchScript): ..."."""
        if self.faults_csv is not None:
            csv_path = re.escape(str(self.faults_csv))
            message = re.sub(csv_path + r"\.json\b", "the record of faults (its attrs['dnnfi'])", message)
            message = re.sub(csv_path + r":(\d+)", lambda m: self._row(int(m.group(1))), message)
        for path in sorted(self.described, key=len, reverse=True):
            message = message.replace(path, self.described[path])
            # The tool names a model by its file's stem now and then ("<sha256>: no conv ...").
            stem = Path(path).stem
            if stem == self.written.get(path):
                message = re.sub(r"(?<![\w/.])" + stem + r"(?=:)", lambda _: self.described[path], message)
        return message

    def _row(self, line):
        """CSV line ``line`` (1: the header) of the DataFrame's CSV as the DataFrame's row."""
        where = self.described.get(str(self.faults_csv), "faults")
        position = line - 2
        if self.frame is None or not 0 <= position < len(self.frame):
            return f"{where}, CSV line {line}"
        label = self.frame.index[position]
        if label == position:
            return f"{where}, row {position} (CSV line {line})"
        return f"{where}, row {position} (index {label!r}, CSV line {line})"

    def add_model_and_data(self, model, data, options, batch_size):
        self.add_model(model, data, options, batch_size)
        self.add_data(data, options)

    def add_model(self, model, data, options, batch_size, needs_data=True, why=None):
        zoo_name = isinstance(model, str) and not is_model_file(model)
        if data is None and needs_data and not zoo_name:
            raise UsageError("data: a model of one's own needs test data (a path, a zoo dataset or "
                             "(images, labels))" + (f" {why}" if why else ""))
        if is_module(model):
            name = type(model).__name__
            self.label = name.lower()
            self.model_label = f"{name} module"
            exported = module_to_torchscript(model, lambda: example_batch(data, options, batch_size))
            path = self._keep("models", exported, f"model (the {name} module given, exported to TorchScript)")
            self.arguments += ["--model", str(path)]
        elif is_model_file(model):
            path = Path(model).resolve()
            self.label = path.stem
            self.model_label = path.name
            self.arguments += ["--model", str(path)]
        elif isinstance(model, str):
            self.zoo = (model, None)
            self.label = model.lower()
            self.model_label = model.lower()
            self.arguments += ["-n", model]
        else:
            raise UsageError("model: expected a zoo name, a TorchScript file or a torch.nn.Module, got "
                             + type(model).__name__)

    def add_data(self, data, options):
        if data is None:
            return
        if isinstance(data, tuple) and len(data) == 2:
            path = self._keep("data", tensor_file(*data), "data (the images and labels given)")
            self.arguments += ["--data", str(path)]
            self.label += "-data"
        elif is_zoo_dataset(data):
            if self.zoo is not None:
                self.zoo = (self.zoo[0], data.lower())
                self.model_label = f"{self.zoo[0].lower()}/{data.lower()}"
                self.arguments += ["-d", data.lower()]
            else:  # the tool finds a zoo test set by its name for a model of one's own too
                self.arguments += ["--data", data.lower()]
            self.label += "-" + data.lower()
        elif isinstance(data, (str, os.PathLike)):
            path = Path(data).resolve()
            self.arguments += ["--data", str(path)]
            self.label += "-" + path.stem
        else:
            raise UsageError("data: expected a zoo dataset, a path or (images, labels), got " + type(data).__name__)

    def add_faults(self, faults):
        if faults is None:
            return
        if hasattr(faults, "columns"):  # a pandas DataFrame
            content = fault_list_csv(faults)
            record = list_record_json(faults.attrs.get("dnnfi"))
            path = self._write("faults.csv", content, "faults (the DataFrame given)")
            if record is not None:
                Path(str(path) + ".json").write_bytes(record)
                # The record is part of what the list is: another record, another campaign.
                self.written[str(path)] = hashlib.sha256(content + b"\0" + record).hexdigest()
            self.frame = faults
            self.faults_csv = path
            self.arguments += ["-f", str(path)]
        elif isinstance(faults, (str, os.PathLike)):
            self.arguments += ["-f", str(Path(faults).resolve())]
        else:
            raise UsageError(f"faults: expected a path or a DataFrame, got {type(faults).__name__}")


def is_zoo_dataset(data):
    """A zoo dataset's name ("cifar10"), as `dnnfi models --json` lists them."""
    return (isinstance(data, str) and data and "/" not in data and "." not in data
            and data.lower() in zoo_datasets())


def list_settings(faults):
    """What a fault list says about its campaign (format, target, bits, burst): a DataFrame's
    attrs["dnnfi"], or the record `dnnfi faultlist` wrote beside a CSV; {} when there is none."""
    if faults is None:
        return {}
    if hasattr(faults, "columns"):
        record = faults.attrs.get("dnnfi") or {}
    else:
        record = read_list_record(faults) or {}
    return {key: record[key] for key in LIST_SETTINGS if record.get(key) not in (None, "")}


def read_list_record(path):
    """The settings of the record beside a fault list (FILE.csv.json of `dnnfi faultlist`) or a
    results file (its provenance): format, target, bits, burst; None when there is none."""
    try:
        with open(str(path) + ".json") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not (record.get("kind") == "dnnfi fault list"
                                            or "provenance_version" in record):
        return None
    return {key: record[key] for key in LIST_SETTINGS if key in record}


def list_record_json(settings):
    """The record the tool reads beside a fault list (as `dnnfi faultlist` writes it), for a
    DataFrame that carries settings; None for one without."""
    if not settings:
        return None
    record = {"kind": "dnnfi fault list"}
    record.update({key: settings[key] for key in LIST_SETTINGS if settings.get(key) not in (None, "")})
    return (json.dumps(record) + "\n").encode()


def apply_list_settings(function, faults, options):
    """The list's format and target as the run's options when the call gives none; a call that
    gives another one is a UsageError naming both (the list was drawn for its own)."""
    settings = list_settings(faults)
    what = "faults.attrs['dnnfi']" if hasattr(faults, "columns") else f"{faults}.json"
    for key in _RUN_SETTINGS:
        if key not in settings:
            continue
        given = options.get(key)
        if given is None:
            options[key] = settings[key]
        elif str(given) != str(settings[key]):
            raise UsageError(f"{function}: {key}={given!r} contradicts the fault list, drawn for "
                             f"{key} {settings[key]!r} ({what}); give {key}={settings[key]!r} or leave "
                             f"{key}= out")
    return options


def zoo_input_shape(dataset):
    """The image shape of a zoo dataset's models (C, H, W), from `dnnfi models --json`."""
    for model in zoo().get("models", ()):
        if model.get("dataset") == dataset and model.get("input"):
            return tuple(model["input"])
    return None


def tensor_file(images, labels):
    """(images, labels) as the tensor file --data reads: torch.save({'images': X, 'labels': y})
    with X uint8 (or float32 in 0..1) N x C x H x W and y int64 N; for a model of one's own X may
    also be float32 features of another shape or int64 token ids, given to the model as they are.
    Saved through a buffer so the bytes do not depend on the file's name (the provenance records
    their sha256)."""
    torch = _torch("data=(images, labels)")
    images = torch.as_tensor(images)
    labels = torch.as_tensor(labels)
    raw = images.dim() >= 1 and (images.dtype == torch.int64 or (images.dtype == torch.float32 and images.dim() != 4))
    if not raw and (images.dim() != 4 or images.dtype not in (torch.uint8, torch.float32)):
        raise InputError(f"data: images must be uint8 (or float32 in 0..1) N x C x H x W (or, for a model of "
                         f"one's own, float32 features or int64 token ids), got {images.dtype} "
                         f"of shape {tuple(images.shape)}")
    if labels.dim() != 1 or labels.shape[0] != images.shape[0] or labels.dtype.is_floating_point:
        raise InputError(f"data: labels must be N integers for N = {images.shape[0]} images, got {labels.dtype} "
                         f"of shape {tuple(labels.shape)}")
    if images.dtype == torch.float32 and images.numel() and not raw:
        finite = torch.isfinite(images)
        if not bool(finite.all()):
            bad = int((~finite).sum())
            raise InputError(f"data: float32 images must be pixels in 0..1, found {bad} NaN/Inf value"
                             f"{'s' if bad != 1 else ''}")
        low, high = float(images.min()), float(images.max())
        if low < 0 or high > 1:
            raise InputError(f"data: float32 images must be pixels in 0..1 (dnnfi normalizes them with "
                             f"mean=/std=), found values from {low:g} to {high:g}: give them before "
                             "normalization, or 8-bit images as uint8")
    buffer = io.BytesIO()
    torch.save({"images": images.contiguous().cpu(), "labels": labels.to(torch.int64).contiguous().cpu()}, buffer)
    return buffer.getvalue()


def example_batch(data, options, batch_size):
    """A float batch shaped as the tool will feed the model, to trace it on: the first images of
    (images, labels) or of a tensor file, else zeros of the data's image shape."""
    torch = _torch("a torch.nn.Module")
    images = None
    if isinstance(data, tuple) and len(data) == 2:
        images = torch.as_tensor(data[0])
    elif isinstance(data, (str, os.PathLike)) and str(data).lower().endswith((".pt", ".pth")):
        images = torch.load(str(data))["images"]
    if images is not None:
        batch = images[:batch_size]
        batch = batch.float() / 255 if batch.dtype == torch.uint8 else batch.float()
    else:
        shape = _image_shape(data)
        if shape is None:
            raise ExportError("model: to trace the module dnnfi needs the shape of its input; give data as "
                              "(images, labels), a .pt tensor file, a CIFAR .bin or a zoo dataset")
        batch = torch.zeros((min(batch_size, 8),) + tuple(shape))
    size = options.get("size")
    if size:
        batch = torch.nn.functional.interpolate(batch, size=tuple(size), mode="bilinear", antialias=True,
                                                align_corners=False)
    mean, std = options.get("mean"), options.get("std")
    if mean is not None and std is not None:
        view = (1, -1, 1, 1)
        batch = (batch - torch.tensor(mean).view(view)) / torch.tensor(std).view(view)
    return batch


def _image_shape(data):
    if data is None:
        return None
    if is_zoo_dataset(data):
        return zoo_input_shape(data.lower())
    if str(data).lower().endswith(".bin"):
        return _CIFAR_BIN_SHAPE
    if os.path.isdir(str(data)):  # a folder of class folders: the first image decides
        from PIL import Image
        for folder in sorted(Path(data).iterdir()):
            for image in sorted(folder.iterdir()) if folder.is_dir() else []:
                with Image.open(image) as picture:
                    return (len(picture.getbands()), picture.height, picture.width)
    return None


def module_to_torchscript(module, example):
    """TorchScript bytes of a module in eval mode: scripted, else traced on ``example()``. When
    both fail the ExportError says why each did."""
    torch = _torch("a torch.nn.Module")
    was_training = module.training
    module.eval()
    try:
        try:
            exported = torch.jit.script(module)
        except Exception as e:
            scripting = _first_line(e)
            try:
                batch = example()
            except ExportError as e2:
                raise ExportError(f"model: torch.jit.script failed ({scripting}); {e2}") from None
            except Exception as e2:
                raise ExportError(f"model: torch.jit.script failed ({scripting}); a batch of the data to "
                                  f"trace it on could not be read: {_first_line(e2)}") from None
            try:
                with torch.no_grad():
                    exported = torch.jit.trace(module, batch)
            except Exception as e2:
                raise ExportError(
                    f"model: {type(module).__name__} can be neither scripted nor traced to TorchScript: "
                    f"torch.jit.script failed: {scripting}; torch.jit.trace on a batch of "
                    f"{'x'.join(map(str, batch.shape))} failed: {_first_line(e2)}") from None
        buffer = io.BytesIO()
        torch.jit.save(exported, buffer)
        return buffer.getvalue()
    finally:
        module.train(was_training)


def _first_line(error):
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _format_cell(value):
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)


def fault_list_csv(frame):
    """A DataFrame of faults as the seed's CSV (Injection, Layer, TensorIndex, Bit, and
    fault_model when present), as ``dnnfi faultlist`` writes it. TensorIndex may be tuples and
    Bit a list of bits; a missing Injection column numbers the rows from 0."""
    needed = ["Layer", "TensorIndex", "Bit"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(f"faults: the DataFrame has no {', '.join(missing)} column "
                         "(a fault list has Injection, Layer, TensorIndex, Bit)")
    columns = ["Injection"] + needed + (["fault_model"] if "fault_model" in frame.columns else [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    injections = frame["Injection"] if "Injection" in frame.columns else range(len(frame))
    for injection, (_, row) in zip(injections, frame.iterrows()):
        bit = row["Bit"]
        bit = "|".join(str(b) for b in bit) if isinstance(bit, (tuple, list)) else bit
        cells = [int(injection), row["Layer"], _format_cell(row["TensorIndex"]), bit]
        if "fault_model" in frame.columns:
            cells.append(row["fault_model"])
        writer.writerow(cells)
    return out.getvalue().encode()
