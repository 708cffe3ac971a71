"""The verdicts of every judge on every pair so far, and the vote."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from cltool.filter.judges import Judge, Verdict, Work


@dataclass
class Judged:
    """Verdicts of every judge on every pair so far (grown by refills)."""

    flags: list[np.ndarray] = field(default_factory=list)  # per judge, per pair
    scores: list[np.ndarray] = field(default_factory=list)
    references: list[np.ndarray] = field(default_factory=list)

    def extend(self, verdicts: list[Verdict]) -> None:
        if not self.flags:
            self.flags = [v.flags for v in verdicts]
            self.scores = [v.scores for v in verdicts]
            self.references = [v.reference for v in verdicts]
            return
        for i, v in enumerate(verdicts):
            self.flags[i] = np.concatenate([self.flags[i], v.flags])
            self.scores[i] = np.concatenate([self.scores[i], v.scores])
            self.references[i] = np.concatenate([self.references[i], v.reference])

    def false(self, needed: int) -> np.ndarray:
        """Per pair: flagged by at least `needed` judges."""
        return np.sum(self.flags, axis=0) >= needed if self.flags else np.zeros(0, dtype=bool)


def judge_pairs(judges: list[Judge], work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray,
                advance: Callable[[int], None] | None = None) -> list[Verdict]:
    """Every judge's verdict on these (anchor, negative) pairs; `advance(1)` after each judge."""
    verdicts = []
    for judge in judges:
        verdicts.append(judge.judge(work, pair_anchor, pair_text))
        if advance is not None:
            advance(1)
    return verdicts
