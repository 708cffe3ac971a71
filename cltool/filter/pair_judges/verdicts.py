"""Every pair judge's shares and flags on every row of filter's input, and the vote."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cltool.dataset.read import Dataset
from cltool.filter.pair_judges.base import PairJudge, Pairs, PairVectors
from cltool.progress import Reporter

if TYPE_CHECKING:
    from cltool.filter.load import Loaded


@dataclass
class PairsJudged:
    judges: list[PairJudge] = field(default_factory=list)
    shares: list[np.ndarray] = field(default_factory=list)  # per judge, per row (NaN: not judged)
    flags: list[np.ndarray] = field(default_factory=list)
    mismatched: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # per row: the vote
    vectors: dict[str, dict[str, Any]] = field(default_factory=dict)  # model -> what made its vectors

    def detail(self, row: int) -> str:
        return "; ".join(judge.explain(float(self.shares[i][row])) for i, judge in enumerate(self.judges)
                         if self.flags[i][row])


def judge_rows(dataset: Dataset, loaded: Loaded, judges: list[PairJudge], needed: int, device: str,
                batch_size: int, cache_dir: Path, reporter: Reporter | None = None) -> PairsJudged:
    """Score every row with every pair judge; a row is mismatched when `needed` of them flag it."""
    from cltool.filter.pair_judges.vectors import INPUT, input_vectors, model_vectors

    pairs = Pairs.of(loaded.work, loaded.row_anchor, loaded.row_positive)
    vectors: dict[str, PairVectors] = {}
    out = PairsJudged(judges)
    for judge in judges:
        if judge.model not in vectors:
            if judge.model != INPUT and reporter is not None:  # loading a model and encoding can take a while
                reporter.info(f"filter: the {judge.name} pair judge embeds the pairs with {judge.model}")
            vectors[judge.model] = (input_vectors(dataset, loaded.work, loaded.row_anchor, loaded.row_positive)
                                    if judge.model == INPUT else
                                    model_vectors(judge.model, loaded.work, loaded.row_anchor, loaded.row_positive,
                                                  device, batch_size, cache_dir))
            out.vectors[judge.model or "input"] = vectors[judge.model].model
        verdict = judge.judge(pairs, vectors[judge.model])
        out.shares.append(verdict.shares)
        out.flags.append(verdict.flags)
    out.mismatched = np.sum(out.flags, axis=0) >= needed
    return out
