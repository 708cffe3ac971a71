"""Which rows emit writes, with which negatives, and in what order: blank rows and (under --short
drop) anchors short of negatives are left out with a reason, short anchors are filled or sent to the
pairs file, extra negatives are cut, --shuffle orders and --max-rows caps the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from cltool.dataset.columns import ANCHOR, EMPTY_TEXT, POSITIVE, TOO_FEW_NEGATIVES
from cltool.dataset.pairs import blank_mask
from cltool.emit.fill import fill
from cltool.emit.formats import Format
from cltool.emit.read import Rows
from cltool.emit.settings import Settings

MAX_ROWS = "max_rows"


@dataclass
class Selection:
    """What emit does with each input row, decided before anything is written."""

    negatives: list[list[str]]  # per row, the negatives its lines hold: filled, and cut to n
    scores: list[list]  # per row, parallel to negatives (None for a filled one)
    reasons: list[str | None]  # per row, why it is not emitted (None: it is)
    details: list[str | None]
    left_out: np.ndarray  # per row, whether it has a reason
    to_pairs: np.ndarray  # per row, whether it goes to the (anchor, positive) pairs file (--short pairs)
    order: np.ndarray  # the order rows are written in
    summary: dict[str, Any]

    def leave_out(self, row: int, reason: str, detail: str) -> None:
        self.reasons[row], self.details[row] = reason, detail
        self.left_out[row] = True

    @property
    def usable(self) -> np.ndarray:
        return ~self.left_out

    def rows_of(self, split_of: np.ndarray, split: int, pairs_file: bool) -> np.ndarray:
        """The rows written to one split's training file (or its pairs file), in order."""
        order = self.order
        return order[(split_of[order] == split) & self.usable[order] & (self.to_pairs[order] == pairs_file)]


def select(table: pa.Table, rows: Rows, fmt: Format, n: int, settings: Settings) -> Selection:
    count = len(rows.anchors)
    selection = Selection(negatives=[list(x) for x in rows.negatives], scores=[list(x) for x in rows.negative_scores],
                          reasons=[None] * count, details=[None] * count, left_out=np.zeros(count, dtype=bool),
                          to_pairs=np.zeros(count, dtype=bool), order=np.arange(count),
                          summary={"format": settings.format, "num_negatives": n, "scores": rows.score_source})
    blank = blank_mask(table.column(ANCHOR)) | blank_mask(table.column(POSITIVE))
    for r in np.nonzero(blank)[0].tolist():
        selection.leave_out(r, EMPTY_TEXT, "anchor or positive is null or blank")
    if fmt.fixed_negatives:
        _short_anchors(selection, rows, blank, n, settings)
        for r in range(count):  # more negatives than asked: the first n (the hardest, as mined)
            if len(selection.negatives[r]) > n:
                selection.negatives[r], selection.scores[r] = selection.negatives[r][:n], selection.scores[r][:n]
    else:
        selection.summary["rows_short"] = 0
    if settings.shuffle:
        selection.order = np.random.default_rng(settings.seed).permutation(count)
    if settings.max_rows is not None:
        candidates = selection.order[selection.usable[selection.order]]
        for r in candidates[settings.max_rows:].tolist():
            selection.leave_out(r, MAX_ROWS, f"beyond --max-rows {settings.max_rows}")
    return selection


def _short_anchors(selection: Selection, rows: Rows, blank: np.ndarray, n: int, settings: Settings) -> None:
    """Rows with fewer than n negatives, in a format whose lines hold n: filled, dropped or paired (--short)."""
    negatives = selection.negatives
    short = np.nonzero((np.array([len(x) for x in negatives]) < n) & ~blank)[0]
    selection.summary["rows_short"] = int(len(short))
    if len(short) and settings.short == "fill":
        fills, added = fill(rows, short, n, settings.seed)
        for r in short.tolist():
            extra = fills[int(rows.anchor_keys[r])][:n - len(negatives[r])]
            negatives[r] += extra
            selection.scores[r] += [None] * len(extra)
            if len(negatives[r]) < n:
                selection.leave_out(r, TOO_FEW_NEGATIVES,
                                    f"{len(negatives[r])} negatives after filling from every other text, {n} asked")
        selection.summary["fill"] = {"anchors": len(fills), "negatives_added": added}
    elif len(short) and settings.short == "drop":
        for r in short.tolist():
            selection.leave_out(r, TOO_FEW_NEGATIVES, f"{len(negatives[r])} negatives, {n} asked (--short drop)")
    elif len(short):
        selection.to_pairs[short] = True
