"""Python values turned into what the tool reads: options, a TorchScript file for a module, a
tensor file for in-memory data, a CSV file for a DataFrame fault list."""
import csv
import hashlib
import io
import os
from pathlib import Path

from .errors import ExportError, InputError, ResourceError, UsageError

ZOO_DATASETS = ("cifar10", "cifar100", "gtsrb")
# Where a zoo test set lies under --data-dir / DNNFI_DATA_DIR / DNNFI_HOME/data (as the tool
# looks for it), for a model of one's own evaluated on it.
_TEST_SET_FILES = {"cifar10": "cifar-10-batches-bin/test_batch.bin", "cifar100": "cifar-100-binary/test.bin"}
_CIFAR_SHAPE = (3, 32, 32)
_MODEL_SUFFIXES = (".pt", ".pth", ".ptl", ".zip")


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
    """The command-line arguments for one call, and the temporary files they name (in
    ``folder``, which the caller removes when the tool is done)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.arguments = []
        self.zoo = None          # (name, dataset) of a zoo model
        self.label = "model"     # a short name for the default output file
        self.written = {}        # temporary file -> sha256 of its content

    def _write(self, name, content):
        path = self.folder / name
        path.write_bytes(content)
        self.written[str(path)] = hashlib.sha256(content).hexdigest()
        return path

    def identity(self):
        """The arguments with temporary files named by their content: the same call gives the
        same identity, so it finds (and resumes) the same default output."""
        return [self.written.get(a, a) for a in self.arguments]

    def add_model_and_data(self, model, data, options, batch_size):
        self.add_model(model, data, options, batch_size)
        self.add_data(data, options)

    def add_model(self, model, data, options, batch_size, needs_data=True):
        zoo_name = isinstance(model, str) and not is_model_file(model)
        if data is None and needs_data and not zoo_name:
            raise UsageError("data: a model of one's own needs test data (a path, a zoo dataset or "
                             "(images, labels))")
        if is_module(model):
            self.label = type(model).__name__.lower()
            exported = module_to_torchscript(model, lambda: example_batch(data, options, batch_size))
            path = self._write("model.pt", exported)
            self.arguments += ["--model", str(path)]
        elif is_model_file(model):
            path = Path(model).resolve()
            self.label = path.stem
            self.arguments += ["--model", str(path)]
        elif isinstance(model, str):
            self.zoo = (model, None)
            self.label = model.lower()
            self.arguments += ["-n", model]
        else:
            raise UsageError("model: expected a zoo name, a TorchScript file or a torch.nn.Module, got "
                             + type(model).__name__)

    def add_data(self, data, options):
        if data is None:
            return
        if isinstance(data, tuple) and len(data) == 2:
            path = self._write("data.pt", tensor_file(*data))
            self.arguments += ["--data", str(path)]
            self.label += "-data"
        elif isinstance(data, str) and data.lower() in ZOO_DATASETS:
            if self.zoo is not None:
                self.zoo = (self.zoo[0], data.lower())
                self.arguments += ["-d", data.lower()]
            else:
                self.arguments += ["--data", str(zoo_test_set_file(data.lower(), options))]
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
            path = self._write("faults.csv", fault_list_csv(faults))
            self.arguments += ["-f", str(path)]
        elif isinstance(faults, (str, os.PathLike)):
            self.arguments += ["-f", str(Path(faults).resolve())]
        else:
            raise UsageError(f"faults: expected a path or a DataFrame, got {type(faults).__name__}")


def zoo_test_set_file(dataset, options):
    """The local file of a zoo test set, for a model of one's own (the tool reads zoo data by
    itself only for zoo models)."""
    if dataset not in _TEST_SET_FILES:
        raise UsageError(f"data={dataset!r}: a model of one's own takes cifar10 or cifar100 by name; "
                         "give the GTSRB test set as a folder of class folders")
    roots = [options.get("data_dir"), os.environ.get("DNNFI_DATA_DIR")]
    home = os.environ.get("DNNFI_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "dnnfi")
    roots.append(os.path.join(home, "data"))
    for root in roots:
        if root and os.path.isfile(os.path.join(root, _TEST_SET_FILES[dataset])):
            return Path(root, _TEST_SET_FILES[dataset]).resolve()
    raise ResourceError(f"data={dataset!r}: no {_TEST_SET_FILES[dataset]} under data_dir, DNNFI_DATA_DIR or "
                        f"{home}/data; set DNNFI_DATA_DIR, or let a zoo model download it once "
                        f"(dnnfi.evaluate('resnet20', '{dataset}'))")


def tensor_file(images, labels):
    """(images, labels) as the tensor file --data reads: torch.save({'images': X, 'labels': y})
    with X uint8 (or float32 in 0..1) N x C x H x W and y int64 N. Saved through a buffer so the
    bytes do not depend on the file's name (the provenance records their sha256)."""
    torch = _torch("data=(images, labels)")
    images = torch.as_tensor(images)
    labels = torch.as_tensor(labels)
    if images.dim() != 4 or images.dtype not in (torch.uint8, torch.float32):
        raise InputError(f"data: images must be uint8 (or float32 in 0..1) N x C x H x W, got {images.dtype} "
                         f"of shape {tuple(images.shape)}")
    if labels.dim() != 1 or labels.shape[0] != images.shape[0] or labels.dtype.is_floating_point:
        raise InputError(f"data: labels must be N integers for N = {images.shape[0]} images, got {labels.dtype} "
                         f"of shape {tuple(labels.shape)}")
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
    text = str(data).lower()
    if text in ("cifar10", "cifar100") or text.endswith(".bin"):
        return _CIFAR_SHAPE
    if text == "gtsrb":
        return (3, 50, 50)
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
