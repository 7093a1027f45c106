"""Running a campaign with its progress as a tqdm bar, and Ctrl-C that keeps its rows.

The tool writes `run --progress json` lines to a pipe of its own. It runs in its own session,
so a Ctrl-C typed in a terminal reaches Python only, and Python hands the tool exactly one
SIGINT: the tool then stops after the current fault, keeping every finished row, and exits
130. A second Ctrl-C ends it at once (its rows are flushed one by one, so that loses at most
the faults being computed).
"""
import json
import os
import signal
import subprocess
import tempfile

from ._tool import check_status, forward_log
from .errors import ResourceError


def _tqdm():
    """tqdm's widget in a notebook where ipywidgets can draw it (7 or newer), else its text bar,
    which a notebook shows as well: Debian 12's ipywidgets 6 speaks a widget protocol that
    nbclient (headless execution) fails on."""
    try:
        import ipywidgets
        widgets = int(ipywidgets.__version__.split(".")[0]) >= 7
    except Exception:  # not installed, or an unreadable version
        widgets = False
    if widgets:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm


class _Bar:
    """A tqdm bar (a widget in a notebook, text in a terminal) fed by the progress events."""

    def __init__(self, enabled, label):
        self.enabled = enabled
        self.label = label
        self.bar = None
        self.last = None

    def show(self, event):
        self.last = event
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = _tqdm()(total=event["total"], initial=event["done"], unit="fault", desc=self.label,
                            dynamic_ncols=True)
        elif event["total"] != self.bar.total:  # an iterative campaign's next round
            self.bar.total = event["total"]
        if event["injections"]:
            self.bar.set_postfix_str(f"critical {100 * event['critical'] / event['injections']:.2f}% of images",
                                     refresh=False)
        self.bar.update(event["done"] - self.bar.n)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def run_campaign_process(command, outputs, show_progress, label, rename=None):
    """Runs ``dnnfi run ...`` (``command``, without the progress options) to its end. Returns the
    tool's stdout and the last progress event. Ctrl-C stops the tool and raises
    KeyboardInterrupt once it has exited; another failure raises the exception of its exit
    status, its message put in the user's terms by ``rename``."""
    read_end, write_end = os.pipe()
    full = command + ["--progress", "json", "--progress-fd", str(write_end)]
    # The tool stops, keeping its rows, if this process dies first (run_command.cpp).
    env = dict(os.environ, DNNFI_WORKER_PARENT=str(os.getpid()))
    bar = _Bar(show_progress, label)
    interrupt = None
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            process = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                       pass_fds=(write_end,), start_new_session=True, env=env)
        except OSError as e:
            os.close(read_end)
            raise ResourceError(f"cannot start {full[0]}: {e.strerror}", command=full) from None
        finally:
            os.close(write_end)

        def stop(signal_number):
            if process.poll() is None:
                process.send_signal(signal_number)

        try:
            pending = b""
            while True:
                try:
                    chunk = os.read(read_end, 1 << 16)
                    if not chunk:
                        break
                    *lines, pending = (pending + chunk).split(b"\n")
                    for line in lines:
                        bar.show(json.loads(line))
                except KeyboardInterrupt as e:
                    interrupt = interrupt or e
                    stop(signal.SIGINT)
            while True:
                try:
                    status = process.wait()
                    break
                except KeyboardInterrupt as e:
                    interrupt = interrupt or e
                    stop(signal.SIGINT)
        except BaseException:
            stop(signal.SIGTERM)  # stops after the current fault, keeping the rows
            process.wait()
            raise
        finally:
            os.close(read_end)
            bar.close()
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    forward_log(stderr, rename)
    if interrupt is not None:
        last = bar.last
        if last is not None and hasattr(interrupt, "add_note"):
            interrupt.add_note(f"dnnfi stopped with {last['done']} of {last['total']} faults in {outputs[0]}; "
                               "the same call resumes")
        raise interrupt
    check_status(status, stderr, full, outputs, rename)
    return stdout, bar.last
