"""Errors that carry their exit code and a hint naming the fix.

Library code raises these; only the CLI turns them into `error: ...` lines and exit codes.
"""

from __future__ import annotations

import errno

EXIT_OK = 0
EXIT_DATA_CHECK = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class CltoolError(Exception):
    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(CltoolError):
    """A bad option or a bad combination of options (exit 2)."""

    exit_code = EXIT_USAGE


class InputError(CltoolError):
    """Input that cannot be used: missing, unreadable, corrupt, wrong columns or types, empty (exit 2)."""

    exit_code = EXIT_USAGE


class DataCheckError(CltoolError):
    """The data was read fine but failed a check the user asked for (exit 1)."""

    exit_code = EXIT_DATA_CHECK


class OutputClosedError(CltoolError):
    """The reader of our stdout went away (a broken pipe) (exit 3)."""

    exit_code = EXIT_INTERNAL


class ResourceError(CltoolError):
    """The machine ran out of something (disk space, a file-size limit) while writing (exit 3):
    nothing is wrong with the data or cltool, and the unfinished output was removed."""

    exit_code = EXIT_INTERNAL


_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def from_environment(exc: BaseException) -> CltoolError | None:
    """The one place where an error raised by the OS, a decoder or the interpreter while reading the
    user's data or writing outputs becomes a CltoolError naming it; None for anything else (a bug)."""
    if isinstance(exc, CltoolError):
        return exc
    if isinstance(exc, BrokenPipeError) or (isinstance(exc, OSError) and (
            exc.errno == errno.EPIPE or "Broken pipe" in str(exc))):  # polars and Arrow raise a bare OSError
        return OutputClosedError("the program reading cltool's output closed the pipe before the end",
                                 hint="check the command after the |")
    if isinstance(exc, OSError) and (exc.errno in _FULL or any(  # Arrow's errors carry only the message
            text in str(exc) for text in ("No space left", "File too large", "Disk quota"))):
        where = f" {exc.filename}" if exc.filename else ""
        return ResourceError(f"cannot write{where}: {exc.strerror or exc} (disk full or file too large)",
                             hint="free some space or raise the limit, then run it again; nothing half-written "
                                  "was left")
    if isinstance(exc, PermissionError):
        return InputError(f"permission denied: {exc.filename or exc}",
                          hint="choose an input you may read and an output folder you may write")
    if isinstance(exc, UnicodeDecodeError):
        return InputError(f"the input is not UTF-8 text ({exc.reason} at byte {exc.start})",
                          hint="convert it to UTF-8 first, e.g. iconv -f LATIN1 -t UTF-8")
    if isinstance(exc, RecursionError):
        return InputError("the input nests too deeply to read (a value hundreds of levels deep)",
                          hint="flatten the nested values; cltool reads text columns")
    if isinstance(exc, OverflowError):
        return UsageError(f"a number is too large: {exc}", hint="give a value within the option's range")
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return InputError(f"{where}{exc.strerror or exc}", hint="check the path, the disk and the permissions")
    return None
