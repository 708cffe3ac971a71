"""Errors that carry their exit code and a hint naming the fix.

Library code raises these; only the CLI turns them into `error: ...` lines and exit codes.
"""

from __future__ import annotations

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
