"""The dedup methods, by name. A method removes rows (through `Job.remove`) from those still alive
when its turn comes; the methods take their turns in a fixed order, whatever order `--method`
names them in. Each registers, with `@register`, its name (the `--method` value), its order, the
rejection reason of the rows it removes, how such a row's `detail` reads, its `options` (a
`cltool.options.Options` dataclass, checked only when the method is chosen) and whether it compares
embeddings; its function returns its part of the manifest's summary (or None). A new method is one
module in this package: the registry finds it. Light at import (the CLI reads the names and options).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from cltool.errors import UsageError
from cltool.options import Options, option
from cltool.registry import Registry

if TYPE_CHECKING:
    import numpy as np

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
    Options: type[Options] = Options  # what it may be asked (job.options holds the chosen values)
    embeddings: bool = False  # compares the `<column>_embedding` vectors of the deciding columns
    help: str = ""  # a few words for --method's help

    def describe(self, similarity: float, duplicate_of: str, in_reference: bool) -> str:
        """The detail of a row this method removed as a duplicate of the row `duplicate_of`."""
        where = " in the reference" if in_reference else ""
        return self.detail.format(similarity=similarity, duplicate_of=duplicate_of, where=where)


METHODS: Registry[Method] = Registry("dedup method", package="cltool.dedup.methods",
                                    infrastructure=("registry",))  # in run order


def register(name: str, *, order: int, reason: str, detail: str | None = None, options: type[Options] = Options,
             embeddings: bool = False, help: str = ""):
    """Function decorator: add the method whose run function it decorates to METHODS under `name`."""
    def add(run: Callable[[Job], dict[str, Any] | None]) -> Callable[[Job], dict[str, Any] | None]:
        METHODS.add(name, Method(name, order, reason, run, detail, options, embeddings, help))
        return run
    return add


NORMALIZATIONS = ("nfkc", "case", "whitespace", "punctuation")


def parse_normalization(spec: str | Sequence[str]) -> tuple[str, ...]:
    """--normalize's text (or names) -> the steps, in the order they apply; "none": no step."""
    parts = [p.strip() for p in (spec.split(",") if isinstance(spec, str) else spec) if p.strip()]
    unknown = [p for p in parts if p not in NORMALIZATIONS and p != "none"]
    if unknown:
        raise UsageError(f"--normalize takes a comma-separated subset of {', '.join(NORMALIZATIONS)} (or none); "
                         f"got {', '.join(unknown)}")
    return tuple(p for p in NORMALIZATIONS if p in parts)


@dataclass(frozen=True)
class Normalized(Options):
    """The option of the methods that compare normalised text (exact, minhash): one declaration, shared."""

    normalization: tuple[str, ...] = option(("nfkc", "case", "whitespace"), "nfkc, case, whitespace, punctuation, "
                                            "or none.", kind="words", flag="--normalize",
                                            parse=parse_normalization)


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
    settings: Settings  # the step's: seed, engine, dry run
    options: Options  # the method's own (its Options)
    decisions: Decisions
    reporter: Reporter

    @property
    def live(self) -> np.ndarray:
        """The positions of the rows still alive."""
        import numpy as np

        return np.nonzero(self.alive)[0]

    def remove(self, rows: np.ndarray, duplicate_of: np.ndarray | None = None, similarity: np.ndarray | None = None,
               details: Sequence[str] | None = None) -> None:
        """Remove `rows` (input positions) for this method's reason; `duplicate_of`: the rows they
        duplicate (reference positions with --against)."""
        self.decisions.remove(rows, self.method.reason, duplicate_of, similarity,
                              in_reference=self.reference is not None, details=details)
