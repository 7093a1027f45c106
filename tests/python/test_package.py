"""The dnnfi Python package against the dnnfi tool: the same rows from a module as from its
TorchScript file, DataFrame fault lists as CSV ones (with the format and target they were drawn
for), exit statuses as exceptions, messages in the user's terms, exports kept where the
provenance says, overwrite, unknown keyword arguments, findings as DataFrames and charts, Ctrl-C
that keeps the rows and resumes to the same file, modules that cannot be exported, the tool lookup.

Run by CTest (python.package) with build/python on PYTHONPATH and the shared data, weights and
seed files through DNNFI_SHARED / DNNFI_DATA_DIR / DNNFI_WEIGHTS_DIR:
    /usr/bin/python3 -m pytest tests/python/test_package.py
"""
import copy
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import dnnfi

IMAGES = 200
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
TEST_DATA = Path(__file__).resolve().parent.parent / "data"


def cifar10_test_images(count):
    """The first ``count`` images of the official CIFAR-10 test batch, uint8 N x 3 x 32 x 32."""
    path = Path(os.environ["DNNFI_DATA_DIR"], "cifar-10-batches-bin", "test_batch.bin")
    records = np.fromfile(path, dtype=np.uint8, count=count * 3073).reshape(count, 3073)
    return records[:, 1:].reshape(count, 3, 32, 32).copy(), records[:, 0].astype(np.int64)


class SmallNet(nn.Module):
    """Not in the zoo; random weights, its classifier scaled so that images decide the class."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(16, 10)

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))


@pytest.fixture(scope="module")
def small_net():
    torch.manual_seed(0)
    model = SmallNet()
    with torch.no_grad():
        model.classifier.weight.mul_(40)
    return model.eval()


@pytest.fixture(scope="module")
def cifar():
    return cifar10_test_images(IMAGES)


def tool_command(*arguments):
    return [str(dnnfi.tool())] + [str(a) for a in arguments]


def run_cli(*arguments):
    done = subprocess.run(tool_command(*arguments), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


def write_tensor_file(path, images, labels):
    torch.save({"images": torch.from_numpy(images), "labels": torch.from_numpy(labels)}, str(path))


def test_module_gives_the_rows_of_the_cli_on_its_torchscript_file(tmp_path, small_net, cifar):
    write_tensor_file(tmp_path / "test.pt", *cifar)
    run_cli("faultlist", "--model", scripted_file(small_net, tmp_path), "--per-layer", 6, "--bits", "20-31",
            "-o", tmp_path / "faults.csv")
    common = ["--data", tmp_path / "test.pt", "--mean", ",".join(map(str, MEAN)), "--std", ",".join(map(str, STD)),
              "-f", tmp_path / "faults.csv", "--threads", 1, "-q"]
    # The file a user would write by hand, scripted as the package does and traced as the README does.
    traced = tmp_path / "traced.pt"
    torch.jit.trace(small_net, torch.zeros(1, 3, 32, 32)).save(str(traced))
    for name, model_file in ("scripted", tmp_path / "scripted.pt"), ("traced", traced):
        run_cli("run", "--model", model_file, *common, "-o", tmp_path / f"cli-{name}.csv")

    campaign = dnnfi.run(small_net, cifar, str(tmp_path / "faults.csv"), mean=MEAN, std=STD, threads=1,
                         output=tmp_path / "python.csv", progress=False)
    python_rows = (tmp_path / "python.csv").read_bytes()
    assert python_rows == (tmp_path / "cli-scripted.csv").read_bytes()
    assert python_rows == (tmp_path / "cli-traced.csv").read_bytes()

    results = campaign.results
    assert len(results) == 18
    for column in ("Injection", "Bit", "n_injections", "masked", "non_critical", "critical", "non_finite"):
        assert results[column].dtype == np.int64, column
    assert (results["n_injections"] == IMAGES).all()
    assert results["critical"].sum() > 0 and results["masked"].sum() > 0, results
    assert campaign.provenance["images"] == IMAGES
    report = campaign.report()
    assert report["faults"] == 18 and [layer["layer"] for layer in report["layers"]] == [
        "features.0", "features.4", "classifier"]
    page = campaign.html(tmp_path / "report.html")
    assert page.read_text().lstrip().lower().startswith("<!doctype html")


def scripted_file(module, folder):
    path = Path(folder, "scripted.pt")
    torch.jit.script(module).save(str(path))
    return path


def test_dataframe_fault_list_equals_the_csv(tmp_path, small_net, cifar):
    frame = dnnfi.fault_list(small_net, per_layer=5, bits="23-30", seed=7)
    run_cli("faultlist", "--model", scripted_file(small_net, tmp_path), "--per-layer", 5, "--bits", "23-30",
            "--seed", 7, "-o", tmp_path / "faults.csv")
    assert frame.equals(pd.read_csv(tmp_path / "faults.csv"))
    # The same faults written by hand: tuples for indices, lists of bits.
    by_hand = frame.drop(columns="Injection").assign(
        TensorIndex=[tuple(int(i) for i in t.strip("()").split(", ")) for t in frame["TensorIndex"]],
        Bit=[[int(b)] for b in frame["Bit"]])
    options = dict(mean=MEAN, std=STD, threads=1, progress=False)
    runs = {"csv": tmp_path / "faults.csv", "frame": frame, "by_hand": by_hand}
    for name, faults in runs.items():
        dnnfi.run(small_net, cifar, faults, output=tmp_path / f"{name}.csv", **options)
    expected = (tmp_path / "csv.csv").read_bytes()
    with open(tmp_path / "csv.csv.json") as f:
        expected_list = json.load(f)["fault_list_sha256"]
    for name in ("frame", "by_hand"):
        assert (tmp_path / f"{name}.csv").read_bytes() == expected, name
        with open(tmp_path / f"{name}.csv.json") as f:
            assert json.load(f)["fault_list_sha256"] == expected_list, name


def test_exit_statuses_are_exceptions_with_the_tools_message(tmp_path):
    with pytest.raises(dnnfi.UsageError) as usage:
        dnnfi.evaluate("resnet20", "cifar10", batch_size=0)
    assert usage.value.exit_code == 2
    assert str(usage.value) == "-b/--batch-size must be at least 1, got 0"
    with pytest.raises(TypeError, match="'no_such_option'"):
        dnnfi.evaluate("resnet20", "cifar10", no_such_option=3)

    with pytest.raises(dnnfi.InputError) as bad_list:
        dnnfi.run("resnet20", "cifar10", TEST_DATA / "bad_unknown_layer.csv", images=10, threads=1,
                  output=tmp_path / "bad.csv", progress=False)
    assert bad_list.value.exit_code == 3
    assert "bad_unknown_layer.csv:3: " in str(bad_list.value) and "\n" not in str(bad_list.value)

    with pytest.raises(dnnfi.ResourceError) as missing:
        dnnfi.evaluate("resnet20", "cifar10", data_dir=TEST_DATA, images=10)
    assert missing.value.exit_code == 4 and not isinstance(missing.value, dnnfi.OutputError)
    assert "cifar-10-batches-bin/test_batch.bin does not exist" in str(missing.value)

    (tmp_path / "a-file").write_text("not a folder\n")
    with pytest.raises(dnnfi.OutputError) as unwritable:
        dnnfi.run("resnet20", "cifar10", TEST_DATA / "good.csv", images=10, threads=1,
                  output=tmp_path / "a-file" / "r.csv", progress=False)
    assert unwritable.value.exit_code == 4 and "a-file/r.csv" in str(unwritable.value)

    with pytest.raises(dnnfi.ResourceError, match="no_such_model.pt"):
        dnnfi.layers(tmp_path / "no_such_model.pt")
    with pytest.raises(dnnfi.UsageError, match="device='tpu'"):
        dnnfi.run("resnet20", device="tpu")


def rows(path):
    return len(Path(path).read_text().splitlines()) - 1


def test_a_stopped_campaign_of_a_module_resumes_the_same_default_output(tmp_path, monkeypatch, small_net, cifar):
    monkeypatch.chdir(tmp_path)
    faults = dnnfi.fault_list(small_net, per_layer=8, bits="20-30")
    options = dict(mean=MEAN, std=STD, threads=1, progress=False)
    dnnfi.run(small_net, cifar, faults, output=tmp_path / "clean.csv", **options)
    # Stopped by SIGINT at an exact row, as from outside this process: dnnfi.Interrupted.
    monkeypatch.setenv("DNNFI_TEST_SIGNAL_AFTER_ROWS", "5:INT")
    with pytest.raises(dnnfi.Interrupted) as stopped:
        dnnfi.run(small_net, cifar, faults, **options)
    monkeypatch.delenv("DNNFI_TEST_SIGNAL_AFTER_ROWS")
    assert stopped.value.exit_code == 130
    [output] = (tmp_path / "dnnfi-runs").glob("*.csv")  # named from the module, data and options
    assert output.name.startswith("smallnet-data-") and rows(output) == 5
    # The same call exports the module and writes the data again, byte for byte: it resumes.
    resumed = dnnfi.run(small_net, cifar, faults, **options)
    assert resumed.output == output and "19 done now, 5 resumed" in resumed.summary
    assert output.read_bytes() == (tmp_path / "clean.csv").read_bytes()


def test_ctrl_c_keeps_the_rows_and_the_next_run_resumes_to_the_same_file(tmp_path):
    campaign = dict(model="resnet20", data="cifar10", sample=24, images=IMAGES, threads=1, progress=False)
    dnnfi.run(output=tmp_path / "clean.csv", **campaign)
    # Ctrl-C in Python (SIGINT to this process) once 3 rows are written: KeyboardInterrupt once
    # the tool has stopped, its rows kept.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    output = tmp_path / "ctrl-c.csv"

    run_ended = threading.Event()

    def press_ctrl_c():
        while not output.exists() or rows(output) < 3:
            if run_ended.wait(0.005):
                return  # the run failed before its third row: pytest.raises reports it
        os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt) as interrupted:
            dnnfi.run(output=output, **campaign)
    finally:
        run_ended.set()
        presser.join()
        signal.signal(signal.SIGINT, previous)
    kept = rows(output)
    assert 3 <= kept < 24, kept
    assert any(f"{kept} of 24 faults" in note for note in interrupted.value.__notes__)
    resumed = dnnfi.run(output=output, **campaign)
    assert f"{24 - kept} done now, {kept} resumed" in resumed.summary
    assert output.read_bytes() == (tmp_path / "clean.csv").read_bytes()


class Unexportable(nn.Module):
    """A lambda (no TorchScript) returning Python lists (no trace)."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3 * 32 * 32, 10)
        self.activation = lambda t: t.relu()

    def forward(self, x):
        return self.activation(self.linear(x.flatten(1))).tolist()


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_a_module_that_cannot_be_exported_says_why(cifar, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(dnnfi.ExportError) as failed:
        dnnfi.run(Unexportable(), cifar, progress=False)
    message = str(failed.value)
    assert message.startswith("model: Unexportable can be neither scripted nor traced to TorchScript: ")
    assert "torch.jit.script failed: " in message
    assert "torch.jit.trace on a batch of 128x3x32x32 failed: " in message
    assert failed.value.exit_code is None
    assert not (tmp_path / "dnnfi-runs").exists()


def test_progress_json_lines(tmp_path, small_net, cifar):
    write_tensor_file(tmp_path / "test.pt", *cifar)
    model = scripted_file(small_net, tmp_path)
    run_cli("faultlist", "--model", model, "--per-layer", 4, "-o", tmp_path / "faults.csv")
    arguments = ["run", "--model", model, "--data", tmp_path / "test.pt", "-f", tmp_path / "faults.csv",
                 "--threads", 1, "--progress", "json", "-o", tmp_path / "r.csv"]
    events = [json.loads(line) for line in run_cli(*arguments).stderr.splitlines() if line.startswith("{")]
    assert events[0]["event"] == "start" and events[-1]["event"] == "end"
    assert [e["total"] for e in events] == [12] * len(events)
    done = [e["done"] for e in events]
    assert done == sorted(done) and done[0] == 0 and done[-1] == 12
    assert events[-1]["injections"] == 12 * IMAGES and events[-1]["rate"] > 0
    # A resumed campaign starts where the file ends.
    again = [json.loads(line) for line in run_cli(*arguments).stderr.splitlines() if line.startswith("{")]
    assert [(e["event"], e["done"], e["resumed"]) for e in again] == [("start", 12, 12), ("end", 12, 12)]


def test_the_tool_is_found_beside_the_package_then_on_path_then_through_dnnfi_bin(tmp_path):
    package = Path(dnnfi.__file__).parent
    fake = tmp_path / "path" / "dnnfi"
    named = tmp_path / "named" / "dnnfi"
    for tool in fake, named:
        tool.parent.mkdir()
        tool.write_text("#!/bin/sh\nexit 0\n")
        tool.chmod(0o755)
    source = tmp_path / "source" / "dnnfi"  # the package without its _layout.py, as in a checkout
    shutil.copytree(package, source, ignore=shutil.ignore_patterns("_layout.py", "__pycache__"))

    def found(package_root, path, dnnfi_bin=None):
        env = {k: v for k, v in os.environ.items() if k != "DNNFI_BIN"}
        env.update(PYTHONPATH=str(package_root), PATH=str(path), PYTHONDONTWRITEBYTECODE="1")
        if dnnfi_bin:
            env["DNNFI_BIN"] = str(dnnfi_bin)
        done = subprocess.run([sys.executable, "-c", "import dnnfi\ntry:\n print(dnnfi.tool())\n"
                               "except dnnfi.ResourceError as e:\n print('ResourceError:', e)"],
                              capture_output=True, text=True, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    if (package / "_layout.py").exists():  # the package as installed or built (build/python)
        assert found(package.parent, fake.parent, named) == str((package / "../../dnnfi").resolve())
    assert found(source.parent, fake.parent, named) == str(fake)
    assert found(source.parent, tmp_path / "empty", named) == str(named)
    assert found(source.parent, tmp_path / "empty").startswith(
        "ResourceError: cannot find the dnnfi executable: none is installed beside this package, none is on PATH")


# ---- JSON listings, zoo datasets by name -------------------------------------------------------

def test_listings_come_from_the_tools_json_with_their_columns(small_net, cifar):
    zoo = json.loads(run_cli("models", "--json").stdout)
    frame = dnnfi.models()
    assert list(frame.columns) == ["name", "dataset", "classes", "input", "weights", "faults", "faults_exact",
                                   "seed_top1", "checkpoint", "checkpoint_file"]
    assert len(frame) == len(zoo["models"])
    resnet20 = frame.set_index(["name", "dataset"]).loc[("resnet20", "cifar10")]
    assert (resnet20["input"], resnet20["classes"], resnet20["weights"]) == ("3x32x32", 10, 268336)
    assert resnet20["checkpoint"] in ("verified", "present", "missing", "not published")
    assert frame["faults"].dtype == np.int64 and frame["seed_top1"].dtype == np.float64

    zoo_layers = dnnfi.layers("resnet20", "cifar10")
    assert list(zoo_layers.columns) == ["layer", "shape", "weights"] and len(zoo_layers) == 20
    assert zoo_layers.iloc[0].tolist() == ["conv1", "16x3x3x3", 432]
    assert dnnfi.layers(small_net).values.tolist() == [
        ["features.0", "8x3x3x3", 216], ["features.4", "16x8x3x3", 1152], ["classifier", "10x16", 160]]

    printed = json.loads(run_cli("eval", "-n", "resnet20", "-d", "cifar10", "--images", IMAGES, "--threads", 1,
                                 "--json").stdout)
    assert dnnfi.evaluate("resnet20", "cifar10", images=IMAGES, threads=1) == printed["correct"] / printed["total"]
    # A zoo dataset's name as the data of a model of one's own: the tool finds its test set, the
    # same images as (images, labels) read from it here.
    by_name = dnnfi.evaluate(small_net, "cifar10", images=IMAGES, mean=MEAN, std=STD, threads=1)
    assert by_name == dnnfi.evaluate(small_net, cifar, mean=MEAN, std=STD, threads=1)


# ---- what a fault list was drawn for goes with it ----------------------------------------------

def test_a_lists_format_and_target_reach_the_run_and_a_contradiction_is_refused(tmp_path, small_net, cifar):
    options = dict(mean=MEAN, std=STD, threads=1, progress=False)
    int8 = dnnfi.fault_list(small_net, format="int8", per_layer=4)
    assert int8.attrs["dnnfi"] == {"format": "int8", "target": "weights", "bits": "0-7", "burst": 1}
    assert int8["Bit"].max() <= 7
    campaign = dnnfi.run(small_net, cifar, int8, output=tmp_path / "int8.csv", **options)
    # The format applied, and the bits of the list's record, which the tool reads only from the
    # record the package wrote beside the CSV.
    assert campaign.provenance["format"] == "int8" and campaign.provenance["bits"] == "0-7"

    with pytest.raises(dnnfi.UsageError) as contradiction:
        dnnfi.run(small_net, cifar, int8, format="fp32", output=tmp_path / "fp32.csv", **options)
    assert "'fp32'" in str(contradiction.value) and "'int8'" in str(contradiction.value)
    assert not (tmp_path / "fp32.csv").exists()
    # The record the package writes beside the CSV is the tool's: the tool refuses the list as
    # fp32 too.
    from dnnfi._inputs import Inputs
    write_tensor_file(tmp_path / "test.pt", *cifar)
    (tmp_path / "list").mkdir()
    Inputs(tmp_path / "list").add_faults(int8)
    refused = subprocess.run(tool_command("run", "--model", scripted_file(small_net, tmp_path), "--data",
                                          tmp_path / "test.pt", "-f", tmp_path / "list" / "faults.csv", "-q",
                                          "-o", tmp_path / "cli.csv"), capture_output=True, text=True)
    assert refused.returncode == 2 and "drawn for weights stored as int8" in refused.stderr, refused.stderr

    # A list kept as a CSV carries it too: read_results fills attrs, run applies it to a path.
    dnnfi.fault_list(small_net, format="int8", per_layer=4, output=tmp_path / "kept.csv")
    assert dnnfi.read_results(tmp_path / "kept.csv").attrs["dnnfi"]["format"] == "int8"
    from_path = dnnfi.run(small_net, cifar, tmp_path / "kept.csv", output=tmp_path / "path.csv", **options)
    assert from_path.provenance["format"] == "int8"
    # The same faults as FP32 weights (a list without a record): compare refuses to pair them.
    plain = int8.copy()
    plain.attrs = {}
    fp32 = dnnfi.run(small_net, cifar, plain, output=tmp_path / "plain.csv", **options)
    assert fp32.provenance["format"] == "fp32"
    with pytest.raises(dnnfi.UsageError, match="'int8'.*'fp32'"):
        dnnfi.compare(campaign, fp32)


def test_activation_faults_of_a_module_take_its_data(tmp_path, small_net, cifar):
    with pytest.raises(dnnfi.UsageError, match="activations"):
        dnnfi.fault_list(small_net, target="activations", per_layer=2)
    faults = dnnfi.fault_list(small_net, cifar, target="activations", per_layer=2, mean=MEAN, std=STD)
    assert faults.attrs["dnnfi"]["target"] == "activations"
    # An element of one image's output: (C, H, W) for a conv, (F,) for a linear layer.
    ranks = {layer: len(index.strip("()").split(",")) for layer, index in zip(faults["Layer"], faults["TensorIndex"])}
    assert ranks == {"features.0": 3, "features.4": 3, "classifier": 1}
    campaign = dnnfi.run(small_net, cifar, faults, mean=MEAN, std=STD, threads=1, progress=False,
                         output=tmp_path / "act.csv")
    assert campaign.provenance["target"] == "activations" and len(campaign.results) == 6


# ---- in-memory data, messages, exports ---------------------------------------------------------

def test_float_images_must_be_pixels_in_0_to_1(small_net, cifar):
    images, labels = cifar
    pixels = torch.from_numpy(images).float()
    with pytest.raises(dnnfi.InputError) as unscaled:
        dnnfi.evaluate(small_net, (pixels, labels))
    assert "found values from 0 to 255" in str(unscaled.value) and unscaled.value.exit_code is None
    assert "/tmp" not in str(unscaled.value) and ".pt" not in str(unscaled.value)
    broken = pixels / 255
    broken[3, 1, 2, 2] = float("nan")
    with pytest.raises(dnnfi.InputError, match="found 1 NaN/Inf value"):
        dnnfi.evaluate(small_net, (broken, labels))
    options = dict(mean=MEAN, std=STD, threads=1)
    assert dnnfi.evaluate(small_net, (pixels / 255, labels), **options) == dnnfi.evaluate(small_net, cifar, **options)


def test_messages_name_what_the_user_gave_not_temporary_files(tmp_path, small_net, cifar):
    options = dict(mean=MEAN, std=STD, threads=1, progress=False, output=tmp_path / "r.csv")
    faults = dnnfi.fault_list(small_net, per_layer=2)
    bad = faults.copy()
    bad.loc[1, "Layer"] = "features.9"
    with pytest.raises(dnnfi.InputError) as row:
        dnnfi.run(small_net, cifar, bad, **options)
    assert str(row.value).startswith("faults (the DataFrame given), row 1 (CSV line 3): unknown layer 'features.9'")
    # A row of a filtered DataFrame: its position and its index label.
    with pytest.raises(dnnfi.InputError) as labelled:
        dnnfi.run(small_net, cifar, bad.iloc[1:], **options)
    assert str(labelled.value).startswith("faults (the DataFrame given), row 0 (index 1, CSV line 2): ")
    images, labels = cifar
    with pytest.raises(dnnfi.InputError) as data:
        dnnfi.evaluate(small_net, (images, labels + 12))
    assert str(data.value).startswith("data (the images and labels given): image 0 has label ")
    with pytest.raises(dnnfi.InputError) as model:
        dnnfi.layers(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()))
    assert str(model.value).startswith("model (the Sequential module given, exported to TorchScript): no conv")
    for error in row, labelled, data, model:
        assert "/tmp" not in str(error.value) and "dnnfi-" not in str(error.value), error.value
    assert not (tmp_path / "r.csv").exists()


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_a_modules_export_and_data_stay_where_the_provenance_says(tmp_path, monkeypatch, small_net, cifar):
    home = tmp_path / "home"
    monkeypatch.setenv("DNNFI_HOME", str(home))
    faults = dnnfi.fault_list(small_net, per_layer=2)
    campaign = dnnfi.run(small_net, cifar, faults, mean=MEAN, std=STD, threads=1, progress=False,
                         output=tmp_path / "r.csv")
    provenance = campaign.provenance
    model = Path(provenance["model"])
    assert model.parent == home / "models" / "own" and model.is_file()
    assert model.name == provenance["model_sha256"] + ".pt" == sha256(model) + ".pt"
    data = Path(provenance["dataset"].split(" ")[0])
    assert data.parent == home / "data" / "own" and data.name == sha256(data) + ".pt"
    assert sorted(p.name for p in (home / "models" / "own").iterdir()) == [model.name]  # no partial files
    # The same module again: the kept files are reused, not written again.
    before = model.stat().st_mtime_ns, data.stat().st_mtime_ns
    again = dnnfi.run(small_net, cifar, faults, mean=MEAN, std=STD, threads=1, progress=False,
                      output=tmp_path / "r.csv")
    assert "0 done now, 6 resumed" in again.summary
    assert (model.stat().st_mtime_ns, data.stat().st_mtime_ns) == before


def test_overwrite_replaces_another_campaign_never_a_file_dnnfi_did_not_write(tmp_path, small_net, cifar):
    options = dict(mean=MEAN, std=STD, threads=1, progress=False)
    faults = dnnfi.fault_list(small_net, per_layer=3)
    output = tmp_path / "r.csv"
    first = dnnfi.run(small_net, cifar, faults, output=output, **options).provenance["model_sha256"]
    retrained = copy.deepcopy(small_net)
    with torch.no_grad():
        retrained.classifier.weight.mul_(-1)
    with pytest.raises(dnnfi.InputError, match="another campaign's results.*overwrite=True"):
        dnnfi.run(retrained, cifar, faults, output=output, **options)
    replaced = dnnfi.run(retrained, cifar, faults, output=output, overwrite=True, **options)
    assert replaced.provenance["model_sha256"] != first
    fresh = dnnfi.run(retrained, cifar, faults, output=tmp_path / "fresh.csv", **options)
    assert output.read_bytes() == fresh.output.read_bytes()

    foreign = tmp_path / "notes.csv"
    foreign.write_text("my,own\n1,2\n")
    before = sha256(foreign)
    with pytest.raises(dnnfi.InputError, match="not a dnnfi results file"):
        dnnfi.run(retrained, cifar, faults, output=foreign, overwrite=True, **options)
    assert sha256(foreign) == before and not Path(str(foreign) + ".json").exists()


def test_unknown_keyword_arguments_are_type_errors_naming_them(tmp_path, small_net, cifar):
    from dnnfi._tool import option_names
    assert {"overwrite", "format", "target", "threads", "images"} <= option_names("run")  # the tool's --help
    with pytest.raises(TypeError) as run_error:
        dnnfi.run(small_net, cifar, thread=1, output=tmp_path / "r.csv", progress=False)
    assert "'thread'" in str(run_error.value) and "did you mean 'threads'" in str(run_error.value)
    assert not (tmp_path / "r.csv").exists()
    with pytest.raises(TypeError, match="'per_layers' .did you mean 'per_layer'"):
        dnnfi.fault_list(small_net, per_layers=3)
    with pytest.raises(TypeError, match="'imags' .did you mean 'images'.*, 'colour'"):
        dnnfi.evaluate("resnet20", "cifar10", imags=10, colour="red")
    with pytest.raises(TypeError, match="'json'"):
        dnnfi.layers("resnet20", "cifar10", json=True)
    with pytest.raises(TypeError, match="'weight_dir' .did you mean 'weights_dir'"):
        dnnfi.models(weight_dir="x")


# ---- findings as DataFrames and charts ---------------------------------------------------------

def test_bit_fields_of_each_format():
    from dnnfi.campaign import bit_field
    expected = {"fp32": {31: "sign", 30: "exponent", 23: "exponent", 22: "mantissa", 0: "mantissa"},
                "fp16": {15: "sign", 14: "exponent", 10: "exponent", 9: "mantissa"},
                "bf16": {15: "sign", 14: "exponent", 7: "exponent", 6: "mantissa"},
                "int8": {7: "sign", 6: "magnitude", 0: "magnitude"}}
    for word_format, fields in expected.items():
        assert {bit: bit_field(word_format, bit) for bit in fields} == fields, word_format
    assert bit_field("fp32", "22|23") == "mantissa|exponent" and bit_field("int8", 8) is None


def test_results_tables_and_html_of_a_campaign(tmp_path, small_net, cifar):
    faults = dnnfi.fault_list(small_net, format="int8", per_layer=4, seed=3)
    campaign = dnnfi.run(small_net, cifar, faults, mean=MEAN, std=STD, threads=1, progress=False,
                         output=tmp_path / "r.csv")
    results = campaign.results
    assert results["field"].tolist() == ["sign" if bit == 7 else "magnitude" for bit in results["Bit"]]
    assert np.allclose(results["sdc1_rate"], results["critical"] / results["n_injections"])
    assert results["sdc1_rate"].dtype == np.float64

    tables = campaign.tables()
    assert set(tables) == {"overall", "layers", "bits", "fields"}  # no per-class findings in the report
    findings = ["faults", "critical_faults", "critical_fault_rate", "ci99_low", "ci99_high", "mean_sdc1_rate",
                "sdc1_ci99_low", "sdc1_ci99_high", "masked_share", "non_finite_share"]
    overall = tables["overall"]
    assert len(overall) == 1 and list(overall.columns[:10]) == findings
    assert overall.loc[0, "faults"] == 12 and overall.loc[0, "critical_faults"] == (results["critical"] > 0).sum()
    assert overall.loc[0, "format"] == "int8"
    layers = tables["layers"]
    assert list(layers.columns[:11]) == ["layer"] + findings
    assert layers["layer"].tolist() == ["features.0", "features.4", "classifier"]
    assert (layers["ci99_low"] <= layers["critical_fault_rate"]).all()
    assert (layers["critical_fault_rate"] <= layers["ci99_high"]).all()
    assert (layers["sdc1_ci99_low"] <= layers["mean_sdc1_rate"]).all()
    assert (layers["mean_sdc1_rate"] <= layers["sdc1_ci99_high"]).all()
    bits = tables["bits"]
    assert list(bits.columns[:2]) == ["bit", "field"] and bits["faults"].sum() == 12
    assert all(field == ("sign" if bit == 7 else "magnitude") for bit, field in zip(bits["bit"], bits["field"]))
    assert tables["fields"]["field"].tolist() == ["sign", "magnitude"]

    page = campaign._repr_html_()
    assert "SmallNet module" in page and "critical faults" in page and "features.4" in page
    assert "99% Wilson" in page


def test_charts_of_a_campaign(tmp_path, small_net, cifar):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba
    from matplotlib.container import ErrorbarContainer
    faults = dnnfi.fault_list(small_net, bits="23-31", layers=r"^(features\.0|classifier)$", per_layer=8)
    campaign = dnnfi.run(small_net, cifar, faults, mean=MEAN, std=STD, threads=1, progress=False,
                         output=tmp_path / "r.csv")

    def legend_of(ax):
        legend = ax.get_legend()
        handles = getattr(legend, "legend_handles", None) or legend.legendHandles
        return {text.get_text(): handle for text, handle in zip(legend.get_texts(), handles)}

    # Per layer: every layer of the model, the one without faults hatched, not a rate of 0.
    ax = campaign.plot("layer")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["features.0", "features.4", "classifier"]
    assert ax.patches[1].get_hatch() and ax.patches[1].get_facecolor()[3] == 0
    assert "no faults" in legend_of(ax)
    assert sum(isinstance(c, ErrorbarContainer) for c in ax.containers) == 2
    plt.close(ax.figure)

    # Per bit: 32 bits, a bar coloured by field where there are faults with its interval, the
    # legend's colour the bars' colour, hatched bits without faults.
    ax = campaign.plot("bit")
    assert len(ax.patches) == 32
    legend = legend_of(ax)
    hit = set(campaign.results["Bit"])
    assert set(legend) == ({"sign", "exponent", "no faults"} if 31 in hit else {"exponent", "no faults"})
    for bit, bar in enumerate(ax.patches):
        if bit in hit:
            field = "sign" if bit == 31 else "exponent"
            assert bar.get_facecolor() == to_rgba(legend[field].get_facecolor()), bit
        else:
            assert bar.get_hatch() and bar.get_facecolor()[3] == 0, bit
    assert legend["sign" if 31 in hit else "exponent"].get_facecolor() != legend["no faults"].get_facecolor()
    assert sum(isinstance(c, ErrorbarContainer) for c in ax.containers) == len(hit)
    plt.close(ax.figure)

    # Outcomes: masked, non-critical and critical shares stacked to 1, overall and per layer.
    figure, given = plt.subplots()
    ax = campaign.plot("outcomes", ax=given)
    assert ax is given
    assert [t.get_text() for t in ax.get_xticklabels()] == ["all", "features.0", "classifier"]
    assert list(legend_of(ax)) == ["masked", "non-critical", "critical (SDC-1)"]
    tops = [bar.get_y() + bar.get_height() for bar in ax.patches[-3:]]
    assert np.allclose(tops, 1)
    plt.close(figure)

    with pytest.raises(dnnfi.UsageError, match="no per-image outcomes .*per_image=True"):
        campaign.plot("classes")
    with pytest.raises(dnnfi.UsageError, match="'layer', 'bit', 'outcomes', 'classes'"):
        campaign.plot("layers")


def test_per_image_outcomes_are_an_eager_loops_classes(tmp_path, small_net, cifar):
    """run(..., per_image=True): Campaign.per_image holds, for every fault and image, the class an
    eager PyTorch loop (channels-last, batches of 128, as dnnfi runs) gives; the report's classes
    table and chart follow from it."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    faults = dnnfi.fault_list(small_net, bits="23-30", per_layer=5)
    campaign = dnnfi.run(small_net, cifar, faults, mean=MEAN, std=STD, threads=1, progress=False,
                         per_image=True, output=tmp_path / "p.csv")
    outcomes = campaign.per_image
    rows = campaign.results
    assert outcomes.faulty.shape == (len(rows), IMAGES)
    assert list(outcomes.injections) == list(rows["Injection"])
    assert list(outcomes.critical.sum(axis=1)) == list(rows["critical"])
    assert rows["critical"].sum() > 20 and (rows["critical"] == 0).any()  # both kinds of fault

    model = copy.deepcopy(small_net).to(memory_format=torch.channels_last)
    images, labels = cifar
    x = (torch.from_numpy(images).float() / 255 - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)

    def classes():
        with torch.no_grad():
            return torch.cat([model(x[s:s + 128].contiguous(memory_format=torch.channels_last))
                              for s in range(0, IMAGES, 128)]).argmax(1).numpy()
    golden = classes()
    assert list(outcomes.golden) == list(golden) and list(outcomes.labels) == list(labels)
    params = dict(model.named_parameters())
    for i, row in rows.iterrows():
        word = params[row["Layer"] + ".weight"].data.view(torch.int32)
        index = tuple(int(v) for v in row["TensorIndex"].strip("()").split(","))
        old = word[index].clone()
        word[index] = old ^ torch.tensor(1 << int(row["Bit"]), dtype=torch.int64).to(torch.int32)
        faulty = classes()
        word[index] = old
        assert list(outcomes.faulty[i]) == list(faulty), row["Injection"]
        assert list(outcomes.critical[i]) == list(faulty != golden), row["Injection"]

    frame = outcomes.frame()
    assert list(frame.columns) == ["Injection", "image", "label", "golden", "faulty"]
    assert len(frame) == rows["critical"].sum() and (frame["faulty"] != frame["golden"]).all()
    every = outcomes.frame(all_images=True)
    assert len(every) == len(rows) * IMAGES and every["critical"].sum() == len(frame)
    table = campaign.tables()["classes"]
    assert list(table.columns) == ["class", "images", "critical_images", "critical_rate"]
    by_golden = frame.groupby("golden").size()
    for _, c in table.iterrows():
        assert c["images"] == (golden == c["class"]).sum()
        assert c["critical_images"] == by_golden.get(c["class"], 0)
    ax = campaign.plot("classes")
    assert len(ax.patches) == len(table)
    plt.close(ax.figure)


def test_a_stratified_campaign_gives_both_rates_and_its_strata_as_dataframes(tmp_path):
    """margin= and estimand= reach the run; tables() has the design's rates and one row per
    stratum, whose populations add up to the list (the published one, replayed: no inference)."""
    published = Path(os.environ["DNNFI_SHARED"], "seed", "ResNet20_FL.csv")
    campaign = dnnfi.run("resnet20", "cifar10", faults=published, replay=published, margin=0.001,
                         estimand="inferences", output=tmp_path / "s.csv", progress=False)
    tables = campaign.tables()
    design = tables["design"].iloc[0]
    assert design["description"].startswith("stage-delta strata") and "estimand inferences" in design["description"]
    assert design["sdc1_ci99_high"] - design["sdc1_ci99_low"] <= 2 * 0.001
    assert design["sdc1_ci99_low"] <= design["sdc1_rate"] <= design["sdc1_ci99_high"]
    strata = tables["strata"]
    assert strata["population"].sum() == sum(1 for _ in open(published)) - 1
    assert strata["faults"].sum() == len(campaign.results)
    assert {"stratum", "exact", "critical_fault_rate", "ci99_low", "ci99_high", "mean_sdc1_rate"} <= set(strata)
    # Layers and bits as the design weighs them, each with both rates' intervals.
    for key, name in (("weighted_layers", "layer"), ("weighted_bits", "bit")):
        groups = tables[key]
        assert {name, "faults", "population", "critical_fault_rate", "ci99_low", "ci99_high", "mean_sdc1_rate",
                "sdc1_ci99_low", "sdc1_ci99_high"} <= set(groups)
        assert groups["faults"].sum() == len(campaign.results)
        assert (groups["ci99_low"] <= groups["critical_fault_rate"]).all()
        assert (groups["critical_fault_rate"] <= groups["ci99_high"]).all()
        assert (groups["sdc1_ci99_low"] <= groups["mean_sdc1_rate"]).all()
        assert (groups["mean_sdc1_rate"] <= groups["sdc1_ci99_high"]).all()
    assert len(tables["weighted_layers"]) == 20 and len(tables["weighted_bits"]) == 32
