"""How library code tells the user what it is doing without printing.

Library functions take a `Reporter`; the CLI passes one that writes to stderr with rich, tests and
library users get the silent default.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, contextmanager
from typing import Iterator, Protocol


class Task(Protocol):
    def advance(self, n: int = 1) -> None: ...


class Reporter(Protocol):
    def info(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...

    def task(self, description: str, total: int | None = None, unit: str = "rows") -> AbstractContextManager[Task]: ...


class NullTask:
    def advance(self, n: int = 1) -> None:
        pass


class NullReporter:
    """Says nothing. Warnings are kept so that callers (and tests) can look at them."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def info(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    @contextmanager
    def task(self, description: str, total: int | None = None, unit: str = "rows") -> Iterator[Task]:
        yield NullTask()


# Who hears what happens outside any step's own calls (Numba compiling a kernel): the CLI sets the
# reporter of the command it runs; a library caller's process has none, and hears nothing.
_process_reporter: Reporter | None = None


def set_process_reporter(reporter: Reporter | None) -> None:
    global _process_reporter
    _process_reporter = reporter


def process_reporter() -> Reporter | None:
    return _process_reporter
