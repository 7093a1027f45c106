"""Finding the dnnfi executable and running it as a child process.

The package never loads LibTorch itself: the user's torch and dnnfi's LibTorch may be different
builds, which cannot share one process. Each call is one run of the tool.
"""
import logging
import os
import shutil
import subprocess
from pathlib import Path

from .errors import Error, ResourceError, error_for_status

log = logging.getLogger("dnnfi")

# The tool's own messages on stderr: "[info] ..." / "[warning] ..." log lines, then for a
# failure "dnnfi: error: MESSAGE" (the message may go on over a few indented lines).
_ERROR_PREFIXES = ("dnnfi: error: ", "dnnfi: LibTorch error: ")
_LOG_LEVELS = {"[debug]": logging.DEBUG, "[info]": logging.INFO, "[warning]": logging.WARNING,
               "[error]": logging.ERROR}


def _installed_beside():
    """The dnnfi installed with this package (``cmake --install`` writes _layout.py with the
    tool's path relative to the package, so a moved prefix keeps working), else None."""
    try:
        from ._layout import TOOL_FROM_PACKAGE
    except ImportError:  # a source checkout: nothing is beside it
        return None
    return (Path(__file__).resolve().parent / TOOL_FROM_PACKAGE).resolve()


def tool():
    """The dnnfi executable: the one installed beside this package, else ``dnnfi`` on PATH,
    else the file named by ``DNNFI_BIN``."""
    beside = _installed_beside()
    if beside is not None and os.access(beside, os.X_OK):
        return beside
    on_path = shutil.which("dnnfi")
    if on_path:
        return Path(on_path)
    named = os.environ.get("DNNFI_BIN")
    if named:
        if os.access(named, os.X_OK) and Path(named).is_file():
            return Path(named)
        raise ResourceError(f"DNNFI_BIN={named}: not an executable file")
    raise ResourceError(
        "cannot find the dnnfi executable: none is installed beside this package"
        + (f" ({beside})" if beside is not None else "")
        + ", none is on PATH and DNNFI_BIN is not set; build dnnfi (scripts/setup.sh) and set "
        "DNNFI_BIN=/path/to/dnnfi")


def error_message(stderr):
    """The tool's message for a failure: the text after its last 'dnnfi: error:' line, else
    (an option the parser refused) its stderr without the --help hint."""
    lines = stderr.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        for prefix in _ERROR_PREFIXES:
            if lines[i].startswith(prefix):
                return "\n".join([lines[i][len(prefix):]] + lines[i + 1:]).strip()
    kept = [line for line in lines if line.strip() and not line.startswith("Run with --help")
            and not any(line.startswith(level) for level in _LOG_LEVELS)]
    return "\n".join(kept).strip() or "dnnfi failed with no message"


def forward_log(stderr):
    """Re-issues the tool's log lines through the 'dnnfi' logger (warnings reach stderr with
    Python's default logging setup, info lines when the user asks for them)."""
    for line in stderr.splitlines():
        for level_tag, level in _LOG_LEVELS.items():
            if line.startswith(level_tag + " "):
                log.log(level, "%s", line[len(level_tag) + 1:])


def check_status(status, stderr, command, outputs=()):
    """Raises the exception of a non-zero exit status."""
    if status == 0:
        return
    if status < 0:
        error = Error(f"dnnfi was killed by signal {-status}", exit_code=status, command=command)
    else:
        error = error_for_status(status, error_message(stderr), command=command,
                                 outputs=[str(Path(p).resolve()) for p in outputs])
    # What the tool printed before its message (a failed export's traceback, say) goes with it.
    error.stderr = stderr
    before = [line for line in stderr.splitlines()
              if line.strip() and not any(line.startswith(p) for p in _ERROR_PREFIXES + tuple(_LOG_LEVELS))]
    if before and hasattr(error, "add_note") and status != 2:
        error.add_note("dnnfi's output before it:\n" + "\n".join(before[-20:]))
    raise error


def run_tool(arguments, outputs=()):
    """Runs ``dnnfi ARGUMENTS...`` to its end and returns its stdout; a failure raises the
    exception of its exit status. ``outputs``: the paths the command writes."""
    command = [str(tool())] + [str(a) for a in arguments]
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    except OSError as e:
        raise ResourceError(f"cannot start {command[0]}: {e.strerror}", command=command) from None
    forward_log(done.stderr)
    check_status(done.returncode, done.stderr, command, outputs)
    return done.stdout
