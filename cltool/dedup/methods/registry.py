"""The dedup methods, by name. A method removes rows (through `Job.remove`) from those still alive
when its turn comes; the methods take their turns in a fixed order, whatever order `--method`
names them in. Each registers, with `@register`, its name (the `--method` value), its order, the
rejection reason of the rows it removes, how such a row's `detail` reads, the check of its options
and whether it compares embeddings; its function returns its part of the manifest's summary (or
None). A new method is one module in this package, and its import in `methods/__init__.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from cltool.registry import Registry

if TYPE_CHECKING:
    from cltool.dedup.decisions import Decisions
    from cltool.dedup.load import DecidingColumns
    from cltool.dedup.settings import Settings
    from cltool.progress import Reporter


@dataclass(frozen=True)
class Method:
    name: str
    order: int  # its turn: methods run by ascending order
    reason: str  # the rejection reason of the rows it removes
    run: Callable[[Job], dict[str, Any] | None]
    # the detail of a row it removed as a duplicate, from {similarity}, {duplicate_of} (the kept row's id)
    # and {where}; None for a method that removes no duplicates and gives each row's detail itself
    detail: str | None = None
    check: Callable[[Settings], None] | None = None  # raises UsageError for a bad value of its options
    embeddings: bool = False  # compares the `<column>_embedding` vectors of the deciding columns

    def describe(self, similarity: float, duplicate_of: str, in_reference: bool) -> str:
        """The detail of a row this method removed as a duplicate of the row `duplicate_of`."""
        where = " in the reference" if in_reference else ""
        return self.detail.format(similarity=similarity, duplicate_of=duplicate_of, where=where)


METHODS: Registry[Method] = Registry("dedup method")  # in run order


def register(name: str, *, order: int, reason: str, detail: str | None = None,
             check: Callable[[Settings], None] | None = None, embeddings: bool = False):
    """Function decorator: add the method whose run function it decorates to METHODS under `name`."""
    def add(run: Callable[[Job], dict[str, Any] | None]) -> Callable[[Job], dict[str, Any] | None]:
        METHODS.add(name, Method(name, order, reason, run, detail, check, embeddings))
        ordered = sorted(METHODS.values(), key=lambda method: method.order)
        METHODS.clear()
        METHODS.update((method.name, method) for method in ordered)
        return run
    return add


def removed_by(reason: str) -> Method | None:
    """The method whose rows carry `reason` (None for the reasons no method gives: empty_text, ...)."""
    return next((method for method in METHODS.values() if method.reason == reason), None)


@dataclass
class Job:
    """One method's turn: the rows, which of them are still alive, the reference (with --against: then
    only rows that duplicate a reference row go), the settings, and the decisions it adds to."""

    method: Method
    rows: DecidingColumns
    alive: np.ndarray  # a copy: the method's own removals do not change it
    reference: DecidingColumns | None
    settings: Settings
    decisions: Decisions
    reporter: Reporter

    @property
    def live(self) -> np.ndarray:
        """The positions of the rows still alive."""
        return np.nonzero(self.alive)[0]

    def remove(self, rows: np.ndarray, duplicate_of: np.ndarray | None = None, similarity: np.ndarray | None = None,
               details: Sequence[str] | None = None) -> None:
        """Remove `rows` (input positions) for this method's reason; `duplicate_of`: the rows they
        duplicate (reference positions with --against)."""
        self.decisions.remove(rows, self.method.reason, duplicate_of, similarity,
                              in_reference=self.reference is not None, details=details)
