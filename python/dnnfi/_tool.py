"""Finding the dnnfi executable and running it as a child process.

The package never loads LibTorch itself: the user's torch and dnnfi's LibTorch may be different
builds, which cannot share one process. Each call is one run of the tool.
"""
import difflib
import json
import logging
import os
import re
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


def forward_log(stderr, rename=None):
    """Re-issues the tool's log lines through the 'dnnfi' logger (warnings reach stderr with
    Python's default logging setup, info lines when the user asks for them)."""
    for line in stderr.splitlines():
        for level_tag, level in _LOG_LEVELS.items():
            if line.startswith(level_tag + " "):
                text = line[len(level_tag) + 1:]
                log.log(level, "%s", rename(text) if rename else text)


def check_status(status, stderr, command, outputs=(), rename=None):
    """Raises the exception of a non-zero exit status. ``rename``: a function that puts the
    names of files the package wrote for the user's values (a DataFrame's CSV, a module's
    TorchScript file) back into the user's terms in the message."""
    if status == 0:
        return
    if status < 0:
        error = Error(f"dnnfi was killed by signal {-status}", exit_code=status, command=command)
    else:
        message = error_message(stderr)
        error = error_for_status(status, rename(message) if rename else message, command=command,
                                 outputs=[str(Path(p).resolve()) for p in outputs])
    # What the tool printed before its message (a failed export's traceback, say) goes with it.
    error.stderr = stderr
    before = [line for line in stderr.splitlines()
              if line.strip() and not any(line.startswith(p) for p in _ERROR_PREFIXES + tuple(_LOG_LEVELS))]
    if before and hasattr(error, "add_note") and status != 2:
        error.add_note("dnnfi's output before it:\n" + "\n".join(before[-20:]))
    raise error


def run_tool(arguments, outputs=(), rename=None):
    """Runs ``dnnfi ARGUMENTS...`` to its end and returns its stdout; a failure raises the
    exception of its exit status. ``outputs``: the paths the command writes; ``rename``: as
    for :func:`check_status`."""
    command = [str(tool())] + [str(a) for a in arguments]
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    except OSError as e:
        raise ResourceError(f"cannot start {command[0]}: {e.strerror}", command=command) from None
    forward_log(done.stderr, rename)
    check_status(done.returncode, done.stderr, command, outputs, rename)
    return done.stdout


def run_tool_json(arguments, rename=None):
    """Runs a command that prints one JSON object on stdout (``models``, ``layers`` and
    ``eval`` with ``--json``) and returns it as a dict."""
    text = run_tool(list(arguments) + ["--json"], rename=rename)
    try:
        return json.loads(text)
    except ValueError:
        raise Error(f"dnnfi {arguments[0]} --json printed no JSON object:\n{text.strip()}") from None


_ZOO = {}


def zoo():
    """``dnnfi models --json`` (models and datasets), asked once per process."""
    if "zoo" not in _ZOO:
        _ZOO["zoo"] = run_tool_json(["models"])
    return _ZOO["zoo"]


def zoo_datasets():
    """The zoo's dataset names as the tool lists them ("datasets" of ``dnnfi models --json``)."""
    return tuple(zoo().get("datasets", ()))


# "  -e,--error-margin FLOAT=0.01   ..." / "  --json    ..." / "  --format TEXT:{fp32,...}": an
# option's line of CLI11's help starts with its names.
_HELP_OPTION = re.compile(r"^\s+(?:-\w,)?--([A-Za-z0-9][A-Za-z0-9-]*)")
_OPTION_NAMES = {}


def option_names(command):
    """The long option names ``dnnfi COMMAND --help`` lists (``error-margin``, ``format``, ...),
    read once per command and tool per process; empty when the help lists none (a tool too old
    or too odd to ask: the tool then checks the options itself)."""
    key = (str(tool()), command)
    if key not in _OPTION_NAMES:
        try:
            done = subprocess.run([key[0], command, "--help"], stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True)
            lines = done.stdout.splitlines() if done.returncode == 0 else []
        except OSError:
            lines = []
        _OPTION_NAMES[key] = frozenset(m.group(1) for m in map(_HELP_OPTION.match, lines) if m)
    return _OPTION_NAMES[key]


def check_options(function, command, options, reserved=()):
    """TypeError for keyword arguments of ``function`` (its name, for the message) that are no
    option of ``dnnfi COMMAND`` by the tool's own --help, or that the package sets itself
    (``reserved``: Python name -> what to use instead), with the closest valid name."""
    if not options:
        return
    names = option_names(command)
    if not names:
        return
    listed = {n.replace("-", "_") for n in names if n != "help"}
    valid = sorted(listed - set(reserved))
    problems = []
    for name in options:
        if name in reserved and name in listed:
            problems.append(f"{name!r} ({reserved[name]})")
        elif name not in valid:
            close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
            problems.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    if problems:
        what = "an unexpected keyword argument" if len(problems) == 1 else "unexpected keyword arguments"
        raise TypeError(f"{function}() got {what} {', '.join(problems)}; the options of `dnnfi {command}` "
                        f"it takes: {', '.join(valid)}")
