"""What became of each input row: alive, or the reason it went, the row it duplicates, the similarity."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class Decisions:
    """Per input row: alive, or the reason it went, the row it duplicates, the similarity."""

    def __init__(self, n: int):
        self.alive = np.ones(n, dtype=bool)
        self.reason = np.full(n, "", dtype=object)
        self.detail: dict[int, str] = {}
        self.duplicate_row = np.full(n, -1, dtype=np.int64)
        self.in_reference = np.zeros(n, dtype=bool)
        self.similarity = np.full(n, np.nan, dtype=np.float32)
        self.counts: dict[str, int] = {}

    def remove(self, rows: np.ndarray, reason: str, duplicate_of=None, similarity=None, in_reference=False,
               details: Sequence[str] | None = None) -> None:
        self.alive[rows] = False
        self.reason[rows] = reason
        if duplicate_of is not None:
            self.duplicate_row[rows] = duplicate_of
            self.in_reference[rows] = in_reference
        if similarity is not None:
            self.similarity[rows] = similarity
        if details is not None:
            self.detail.update(zip(rows.tolist(), details))
        self.counts[reason] = self.counts.get(reason, 0) + len(rows)
