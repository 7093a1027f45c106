#!/usr/bin/env python3
"""Export a zoo model to TorchScript for dnnfi, with its metadata file.

Builds the architecture (scripts/arch), loads the published checkpoint strictly,
traces it and writes OUT/<name>-<dataset>.pt and OUT/<name>-<dataset>.meta.
Checkpoints come from --weights-dir (or DNNFI_WEIGHTS_DIR) when the file is there,
else from DNNFI_HOME/weights, downloading from the registry's URL if needed; a file
whose sha256 differs from the registry's is refused.
With --structure-only no checkpoint is needed and only the metadata is written
(enough for `dnnfi layers` and `dnnfi faultlist`).

Run with Debian's interpreter: /usr/bin/python3 scripts/export_model.py -n resnet20 -d cifar10 -o DIR
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fetch  # noqa: E402
import model_info  # noqa: E402
import zoo  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

import arch  # noqa: E402


class ExportError(RuntimeError):
    pass


def default_home():
    return os.environ.get("DNNFI_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "dnnfi")


def locate_checkpoint(entry, weights_dir, home):
    file = entry["weights_file"]
    if file == "-":
        raise ExportError(f"no checkpoint of {entry['name']}/{entry['dataset']} is published; "
                          f"put a state_dict in a weights directory and pass --weights-dir")
    sha = None if entry["sha256"] == "-" else entry["sha256"]
    size = None if entry["size"] == "-" else int(entry["size"])
    if weights_dir:
        path = os.path.join(weights_dir, file)
        if os.path.exists(path):
            try:
                fetch.check_file(path, sha256=sha, size=size)
            except fetch.FetchError as e:
                raise ExportError(f"{e}: not the published checkpoint; replace it or remove it") from None
            return path
    dest = os.path.join(home, "weights", file)
    try:
        return fetch.fetch(entry["url"], dest, sha256=sha, size=size)
    except fetch.FetchError as e:
        where = f" or put {file} in {weights_dir}" if weights_dir else " or pass --weights-dir DIR holding " + file
        raise ExportError(f"{e}; retry{where}") from None


def load_state_dict(path, verified):
    try:
        # A checkpoint whose sha256 matched the zoo's is the published file: its full pickle is
        # safe to read (some are whole modules, which PyTorch 2.6 and later refuse by default).
        # Any other file gets PyTorch's default.
        obj = torch.load(path, map_location="cpu", weights_only=False) if verified else torch.load(path, map_location="cpu")
    except Exception as e:  # a corrupt pickle raises many different types
        raise ExportError(f"{path}: cannot be read as a PyTorch checkpoint ({e}); delete it and run again") from None
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    for wrapper in ("state_dict", "net", "model"):  # training scripts' checkpoint containers
        if isinstance(obj, dict) and isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
            break
    if not isinstance(obj, dict):
        raise ExportError(f"{path}: holds a {type(obj).__name__}, expected a state_dict")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in obj.items()}


def injectable_layers(model):
    layers = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            layers.append((name, list(module.weight.shape)))
    return layers


def multiply_accumulates(model, input_shape):
    """Multiply-accumulates per image of each conv / linear layer (for throughput figures)."""
    macs, hooks = {}, []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            def hook(mod, args, out, name=name):
                per_output = mod.weight[0].numel()  # in/groups x kh x kw, or in_features
                macs[name] = out[0].numel() * per_output
            hooks.append(module.register_forward_hook(hook))
    with torch.no_grad():
        model(torch.zeros([1] + list(input_shape)))
    for h in hooks:
        h.remove()
    return macs


def is_plain_sequence(model, example):
    """True when running the top-level children in order gives forward's output bit for bit."""
    with torch.no_grad():
        x = example
        for child in model.children():
            x = child(x)
        return torch.equal(x, model(example))


def conv_geometry(model):
    """stride, padding, dilation and groups of every zero-padded Conv2d, for engines that
    recompute a single output channel."""
    records = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d) and m.padding_mode == "zeros" and not isinstance(m.padding, str):
            pair = lambda v: ",".join(map(str, v))  # noqa: E731
            records.append(("conv", [name, pair(m.stride), pair(m.padding), pair(m.dilation), m.groups]))
    return records


def residual_plans(model):
    """Blocks computing post(main(x) + shortcut(x)), as their classes declare them."""
    records = []
    for name, m in model.named_modules():
        plan = getattr(type(m), "dnnfi_residual", None)
        if plan:
            main, shortcut, post = plan
            records.append(("residual", [name, ",".join(main), shortcut, post]))
    return records


def write_info(path, entry, layers, checkpoint, sequential, macs, structure=()):
    records = [(key, [entry[key]]) for key in ("name", "dataset", "classes", "input", "mean", "std")]
    records.append(("checkpoint", [checkpoint]))
    records.append(("sequential", [1 if sequential else 0]))
    records += [("layer", [name, "x".join(map(str, shape)), macs.get(name, 0)]) for name, shape in layers]
    records += list(structure)
    model_info.write(path, records)


def export(name, dataset, out_dir, weights_dir=None, home=None, structure_only=False):
    entry = zoo.find(name, dataset)
    shape = zoo.input_shape(entry)
    model = arch.build(entry["name"], entry["dataset"], int(entry["classes"]), shape[1:])
    model.eval()
    layers = injectable_layers(model)
    stem = os.path.join(out_dir, f"{entry['name']}-{entry['dataset']}")
    os.makedirs(out_dir, exist_ok=True)
    example = torch.randn([4] + shape, generator=torch.Generator().manual_seed(0))
    if structure_only:
        write_info(stem + ".meta", entry, layers, "none", is_plain_sequence(model, example),
                   multiply_accumulates(model, shape))
        return stem + ".meta"
    path = locate_checkpoint(entry, weights_dir, home or default_home())
    state = load_state_dict(path, verified=entry["sha256"] != "-")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise ExportError(f"{path}: does not fit the {entry['name']} architecture: {e}") from None
    for p in model.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        traced = torch.jit.trace(model, example)
        if not torch.equal(traced(example), model(example)):
            raise ExportError(f"traced {entry['name']} disagrees with the eager model")
    tmp = f"{stem}.pt.{os.getpid()}.part"  # concurrent shards may export at once
    traced.save(tmp)
    os.replace(tmp, stem + ".pt")
    write_info(stem + ".meta", entry, layers, os.path.basename(path), is_plain_sequence(model, example),
               multiply_accumulates(model, shape), conv_geometry(model) + residual_plans(model))
    return stem + ".pt"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--name", required=True)
    ap.add_argument("-d", "--dataset", required=True)
    ap.add_argument("-o", "--out-dir", required=True)
    ap.add_argument("--weights-dir", default=os.environ.get("DNNFI_WEIGHTS_DIR"))
    ap.add_argument("--home", default=None)
    ap.add_argument("--structure-only", action="store_true")
    args = ap.parse_args()
    try:
        path = export(args.name, args.dataset, args.out_dir, args.weights_dir, args.home, args.structure_only)
        print(f"dnnfi: exported {path}", file=sys.stderr)
    except (ExportError, KeyError) as e:
        print(f"dnnfi: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
