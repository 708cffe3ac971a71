"""What the model judges (cross-encoder, bi-encoder) share: a score per pair, compared with the
anchor's lowest-scoring positive by a sign-safe ratio, and the one `--ratio` option they both read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cltool.filter.judges.base import Judge, Verdict, Work
from cltool.options import Options, option

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Ratio(Options):
    """The option both model judges read: declared once, so it is one --ratio."""

    ratio: float = option(0.95, "false when the negative scores at least this share of the lowest positive's "
                                "score (sign-safe: pos - |pos| x (1 - ratio)).", above=0.0, maximum=1.0)


def sign_safe_floor(positive: np.ndarray, ratio: float) -> np.ndarray:
    """The score at or above which a negative counts as a positive: ratio x positive, made sign-safe
    (positive - |positive| x (1 - ratio)), so that a negative score cannot flip the rule."""
    import numpy as np

    return positive - np.abs(positive) * (1.0 - ratio)


class ScoreJudge(Judge):
    """A judge that scores pairs with a model and compares with the anchor's lowest positive."""

    argument = "optional"
    reports_scores = True
    Options = Ratio

    def __init__(self, ratio: float, max_score: float | None):
        self.ratio, self.max_score = ratio, max_score
        self.positive_scores: np.ndarray | None = None  # per entry of Work.positive_texts
        self.lowest: np.ndarray | None = None  # per anchor
        self.described = {}

    def prepare(self, work: Work) -> None:
        import numpy as np

        anchors = np.repeat(np.arange(len(work.anchor_texts)), np.diff(work.positive_offsets))
        self.positive_scores = self.score(work, anchors, work.positive_texts)
        self.lowest = np.full(len(work.anchor_texts), np.nan, dtype=np.float32)
        has = np.diff(work.positive_offsets) > 0
        if has.any():  # positives are stored anchor by anchor (CSR): one reduction per anchor's slice
            self.lowest[has] = np.minimum.reduceat(self.positive_scores, work.positive_offsets[:-1][has])

    def judge(self, work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray) -> Verdict:
        scores = self.score(work, pair_anchor, pair_text)
        reference = self.lowest[pair_anchor]
        flags = scores >= sign_safe_floor(reference, self.ratio)  # an anchor without positives: NaN, never
        if self.max_score is not None:
            flags |= scores >= self.max_score
        return Verdict(flags, scores, reference)

    @property
    def pairs_scored(self) -> int:
        """Distinct (anchor, text) pairs the model scored."""
        raise NotImplementedError

    def score(self, work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray) -> np.ndarray:
        raise NotImplementedError
