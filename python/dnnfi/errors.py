"""The dnnfi tool's exit statuses as Python exceptions.

Each carries the tool's message (``str(e)``), its exit status (``e.exit_code``; None for an
error found before the tool ran), the command line that failed (``e.command``) and everything
the tool wrote on stderr (``e.stderr``).
"""


class Error(Exception):
    """Any failure of dnnfi; also exit status 1 (an internal or LibTorch error)."""

    def __init__(self, message, exit_code=None, command=None):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.command = command
        self.stderr = ""


class UsageError(Error):
    """Exit status 2: an option or argument the tool refuses (the value is named)."""


class InputError(Error):
    """Exit status 3: a malformed input (fault list, results file, test data, a model that
    does not fit); the message names the file and line when there is one."""


class ExportError(InputError):
    """A torch.nn.Module that could be neither scripted nor traced to TorchScript."""


class ResourceError(Error):
    """Exit status 4: a model, checkpoint, data set or the tool itself that cannot be found or
    verified."""


class OutputError(ResourceError):
    """Exit status 4 for an output of this call (results file, report) that cannot be written."""


class Interrupted(Error):
    """Exit status 130 when the tool was stopped from outside this process (SIGTERM); every
    finished row is kept and the same call resumes. Ctrl-C in Python raises KeyboardInterrupt."""


_BY_STATUS = {2: UsageError, 3: InputError, 4: ResourceError, 130: Interrupted}


def error_for_status(status, message, command=None, outputs=()):
    """The exception for exit status ``status``; status 4 naming one of ``outputs`` (the
    absolute paths this call writes) is an OutputError."""
    cls = _BY_STATUS.get(status, Error)
    if cls is ResourceError and any(str(path) in message for path in outputs):
        cls = OutputError
    return cls(message, exit_code=status, command=command)


for _cls in (Error, UsageError, InputError, ExportError, ResourceError, OutputError, Interrupted):
    _cls.__module__ = "dnnfi"  # shown as dnnfi.InputError, where users catch it
