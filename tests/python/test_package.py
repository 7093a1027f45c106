"""The dnnfi Python package against the dnnfi tool: the same rows from a module as from its
TorchScript file, DataFrame fault lists as CSV ones, exit statuses as exceptions, Ctrl-C that
keeps the rows and resumes to the same file, modules that cannot be exported, the tool lookup.

Run by CTest (python.package) with build/python on PYTHONPATH and the shared data, weights and
seed files through DNNFI_SHARED / DNNFI_DATA_DIR / DNNFI_WEIGHTS_DIR:
    /usr/bin/python3 -m pytest tests/python/test_package.py
"""
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
    with pytest.raises(dnnfi.UsageError, match="--no-such-option"):
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

    assert found(package.parent, fake.parent, named) == str((package / "../../dnnfi").resolve())
    assert found(source.parent, fake.parent, named) == str(fake)
    assert found(source.parent, tmp_path / "empty", named) == str(named)
    assert found(source.parent, tmp_path / "empty").startswith(
        "ResourceError: cannot find the dnnfi executable: none is installed beside this package, none is on PATH")
