"""The emit formats, by name. A format says how the selected rows become lines (`lines`), which
columns a line has (`table`), and whether a line holds a set number of negatives
(`fixed_negatives`: then an anchor short of them is filled, dropped or paired, and extra ones are
cut). A new format is one module in this package with a `@register(...)` class: the registry finds it,
and lists it by its `order`. Light at import (the CLI builds --format's help from here): pyarrow is
imported where a table is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from cltool.registry import Registry

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from cltool.emit.read import Rows

# One line of a training file: the row whose anchor it holds, the rows whose positives it holds, and the
# negatives it holds as (row, position in that row's negatives). The training columns and the hardness
# file are both made from these, so they line up row for row.
Line = tuple[int, list[int], list[tuple[int, int]]]


@dataclass
class LineTexts:
    """Per line, its anchor and the texts and label scores of its positives and negatives, in order."""

    anchor: list[str]
    positives: list[list[str]]
    negatives: list[list[str]]
    positive_scores: list[list[float | None]]
    negative_scores: list[list[float | None]]

    @classmethod
    def of(cls, rows: Rows, lines: list[Line], negatives: list[list[str]], scores: list[list]) -> LineTexts:
        """`negatives` and `scores`: per row, as selected (filled and cut)."""
        return cls([rows.anchors[a] for a, _, _ in lines],
                   [[rows.positives[r] for r in ps] for _, ps, _ in lines],
                   [[negatives[r][j] for r, j in slots] for _, _, slots in lines],
                   [[rows.positive_scores[r] for r in ps] for _, ps, _ in lines],
                   [[scores[r][j] for r, j in slots] for _, _, slots in lines])

    def scores(self) -> pa.Array:
        """Per line, the scores of its texts: positives, then negatives (sentence-transformers' `scores`)."""
        import pyarrow as pa

        return pa.array([ps + ns for ps, ns in zip(self.positive_scores, self.negative_scores)],
                        pa.list_(pa.float32()))


class Format:
    name: ClassVar[str]
    order: ClassVar[int]  # its place in FORMATS (--format's help and errors): ascending
    library: ClassVar[str]  # who loads it, for --help
    fixed_negatives: ClassVar[bool]
    takes_prompt: ClassVar[bool] = False  # has a prompt field (--prompt)

    def lines(self, rows: Rows, index: np.ndarray, negatives: list[list[str]]) -> list[Line]:
        """The lines of the rows `index`, in order (negatives: per row, filled and cut). By default one
        line per row, holding its positive and all its negatives."""
        return [(r, [r], [(r, j) for j in range(len(negatives[r]))]) for r in index.tolist()]

    def table(self, texts: LineTexts, n: int, include_scores: bool, prompt: str | None) -> pa.Table:
        """The training table of the lines (n: the negatives a line of a fixed-negatives format holds)."""
        raise NotImplementedError


FORMATS: Registry[Format] = Registry("emit format", package="cltool.emit.formats",
                                    infrastructure=("registry",))  # by ascending order


def register(name: str, *, order: int, library: str, fixed_negatives: bool, takes_prompt: bool = False):
    """Class decorator: add a Format subclass to FORMATS under `name` (also the --format value), at
    `order` among the formats."""
    def add(cls: type[Format]) -> type[Format]:
        cls.name, cls.library, cls.fixed_negatives, cls.takes_prompt = name, library, fixed_negatives, takes_prompt
        cls.order = order
        FORMATS.add(name, cls())
        return cls
    return add


def help_text() -> str:
    """The formats for --help, grouped by who loads them: "triplet, ... (sentence-transformers), bge (...)."."""
    by_library: dict[str, list[str]] = {}
    for name, fmt in FORMATS.items():
        by_library.setdefault(fmt.library, []).append(name)
    return ", ".join(f"{', '.join(names)} ({library})" for library, names in by_library.items()) + "."
