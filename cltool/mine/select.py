"""Choosing each anchor's negatives from its ranked candidates: the rules say which are eligible
(`eligible`, the `cltool.kernels.mine` kernel; filter's refill uses it too), then the sampler named
by --sampling picks among them (`cltool.mine.samplers`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from cltool.mine.samplers import SAMPLERS, Pool
from cltool.mine.settings import Rules, Settings

if TYPE_CHECKING:
    from cltool.mine.ranked import Ranked


@dataclass
class Positives:
    """The positives of each anchor a (CSR): their rows among the candidates (-1: not among them) and
    normalised-text keys at offsets[a]:offsets[a + 1]."""

    offsets: np.ndarray  # int64, anchors + 1
    candidate_rows: np.ndarray  # int64, indices into the candidates (not their string ids)
    keys: np.ndarray  # uint64

    def of(self, rows: np.ndarray) -> Positives:
        """The positives of the anchors `rows`, with offsets into their own arrays."""
        counts = self.offsets[rows + 1] - self.offsets[rows]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        flat = np.repeat(self.offsets[rows] - offsets[:-1], counts) + np.arange(offsets[-1])
        return Positives(offsets, self.candidate_rows[flat], self.keys[flat])


@dataclass
class Eligible:
    """Per anchor: the ranks that passed every rule (best first, -1 padded), how many, and how many
    candidates each rule removed (anchors, len(RULES))."""

    ranks: np.ndarray
    counts: np.ndarray
    removed: np.ndarray


def _off(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def eligible(ranked_rows: np.ndarray, ranked_scores: np.ndarray, *, near: np.ndarray | None,
             candidate_keys: np.ndarray, positives: Positives, anchor_keys: np.ndarray, lowest: np.ndarray,
             rules: Rules, range_min: int, range_maxes: np.ndarray) -> Eligible:
    """The candidates each anchor may take as negatives, inside ranks range_min .. range_maxes[a] - 1.

    ranked_rows / ranked_scores: (anchors, depth) candidate rows and scores, best first (-1: none);
    near: each one's highest cosine with one of the anchor's positives (None: not known, so the
    near-duplicate rule cannot apply); candidate_keys: every candidate's normalised-text key;
    anchor_keys, lowest: each anchor's own key and its lowest positive score, which the margins
    are measured against."""
    from cltool.kernels.mine import eligible_candidates

    if near is None:
        near = np.full(ranked_rows.shape, np.nan, dtype=np.float32)
    ranks, counts, removed = eligible_candidates(
        ranked_rows, ranked_scores, near, candidate_keys, positives.offsets, positives.candidate_rows, positives.keys,
        anchor_keys, lowest, range_min, range_maxes, _off(rules.max_score), _off(rules.absolute_margin),
        _off(rules.relative_margin), _off(rules.min_score), _off(rules.near_duplicate))
    return Eligible(ranks, counts, removed)


@dataclass
class Chosen:
    """Per anchor: the negatives chosen (row among the candidates, score, rank; -1 padded), how many
    candidates passed every rule, and how many each rule removed."""

    candidate_rows: np.ndarray  # indices into the candidates (not their string ids)
    scores: np.ndarray
    ranks: np.ndarray
    eligible: np.ndarray
    removed: np.ndarray

    @classmethod
    def empty(cls, anchors: int, num: int) -> Chosen:
        from cltool.kernels.mine import RULES

        return cls(np.full((anchors, num), -1, dtype=np.int32), np.full((anchors, num), np.nan, dtype=np.float32),
                   np.full((anchors, num), -1, dtype=np.int32), np.zeros(anchors, dtype=np.int32),
                   np.zeros((anchors, len(RULES)), dtype=np.int32))

    @property
    def found(self) -> np.ndarray:
        return (self.candidate_rows >= 0).sum(axis=1)


@dataclass
class Selector:
    """What choosing reads, for every anchor of the input: the candidates' text keys, the anchors' own
    keys, positives and lowest positive scores, each anchor's window (deepening grows it) and seed."""

    candidate_keys: np.ndarray
    anchor_keys: np.ndarray
    positives: Positives
    lowest: np.ndarray
    range_maxes: np.ndarray
    settings: Settings
    seeds: np.ndarray = field(init=False)  # each anchor's own random stream: from its text and --seed alone

    def __post_init__(self) -> None:
        self.sampler, self.sampler_options = SAMPLERS[self.settings.sampling], self.settings.sampler_options()
        self.seeds = self.anchor_keys ^ np.uint64((self.settings.seed * 0x9E3779B97F4A7C15) % (1 << 64))

    def select(self, parts: list[Ranked]) -> Chosen:
        """Each part in turn; a later part (the deeper search) overrides an earlier one."""
        chosen = Chosen.empty(len(self.anchor_keys), self.settings.num_negatives)
        for part in parts:
            self.select_part(part, chosen)
        return chosen

    def select_part(self, part: Ranked, chosen: Chosen) -> None:
        """The rules, then the sampler, over one part's anchors; their choices replace what `chosen` held."""
        settings, a = self.settings, part.anchors
        pool = eligible(part.candidate_rows, part.scores, near=part.near, candidate_keys=self.candidate_keys,
                        positives=self.positives.of(a), anchor_keys=self.anchor_keys[a], lowest=self.lowest[a],
                        rules=settings.rules, range_min=settings.range_min, range_maxes=self.range_maxes[a])
        ranks = self.sampler.pick(Pool(pool.ranks, pool.counts, part.scores, self.lowest[a], self.seeds[a]),
                                  settings.num_negatives, self.sampler_options)
        taken = ranks >= 0
        safe = np.maximum(ranks, 0)
        chosen.candidate_rows[a] = np.where(taken, np.take_along_axis(part.candidate_rows, safe, axis=1), -1)
        chosen.scores[a] = np.where(taken, np.take_along_axis(part.scores, safe, axis=1), np.nan)
        chosen.ranks[a] = ranks
        chosen.eligible[a] = pool.counts
        chosen.removed[a] = pool.removed


def positive_ranks(parts: list[Ranked], selector: Selector, row_anchor: np.ndarray, row_score: np.ndarray,
                   candidates: int) -> np.ndarray:
    """Each row's positive's rank among its anchor's candidates that are not its positives (-1: deeper
    than the search went; -1 too for a row without an anchor), from the latest part that ranked the
    anchor (a deeper search replaces the first): the consistency signal of a pair, at no search cost."""
    from cltool.kernels.mine import positive_ranks as kernel

    ranks = np.full(len(row_anchor), -1, dtype=np.int32)
    from cltool.mine.ranked import latest_parts

    latest, row_of = latest_parts(parts, len(selector.anchor_keys))
    usable = np.nonzero(row_anchor >= 0)[0]
    for number, part in enumerate(parts):
        rows = usable[latest[row_anchor[usable]] == number]
        if not len(rows):
            continue
        positives = selector.positives.of(part.anchors)
        ranks[rows] = kernel(row_of[row_anchor[rows]], row_score[rows].astype(np.float32), part.candidate_rows,
                             part.scores, positives.offsets, positives.candidate_rows, part.depth >= candidates)
    return ranks
