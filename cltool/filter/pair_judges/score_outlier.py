"""`--pair-judge score-outlier`: the pair's cosine against the file's own background, random
mismatched (anchor, positive) pairings of its rows. The share of them that outscore the pair is on
the same scale under any model; a pair the background often beats is far below the dataset's
distribution of its pairs. One view of the pair, not two: it cannot tell a generic positive (high
against everything) from a right one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cltool.filter.pair_judges.base import PairJudge, Pairs, PairVectors, register

if TYPE_CHECKING:
    import numpy as np


@register
class ScoreOutlierJudge(PairJudge):
    name = "score-outlier"
    help = "random mismatched pairs of the file"
    order = 3
    share_column = "pair_outscored_share"
    described_as = "random mismatched pairs of the file"

    def shares(self, pairs: Pairs, vectors: PairVectors, rng: np.random.Generator) -> np.ndarray:
        import numpy as np

        from cltool.filter.pair_judges.shares import SAMPLE, own_scores

        own = own_scores(pairs, vectors)
        judged = np.nonzero(~np.isnan(own))[0]
        if len(judged) < 2:
            return np.full(len(own), np.nan, dtype=np.float32)
        left = judged[rng.integers(0, len(judged), 4 * SAMPLE)]
        right = judged[rng.integers(0, len(judged), 4 * SAMPLE)]
        anchor, text = pairs.row_anchor[left], pairs.row_positive[right]
        offsets, positives = pairs.positive_offsets, pairs.positive_texts
        mismatched = np.array([text[i] not in positives[offsets[a]:offsets[a + 1]]
                               for i, a in enumerate(anchor.tolist())], dtype=bool)
        anchor, text = anchor[mismatched][:SAMPLE], text[mismatched][:SAMPLE]
        if not len(anchor):
            return np.full(len(own), np.nan, dtype=np.float32)
        background = np.sort(np.einsum("ij,ij->i", vectors.anchors[anchor], vectors.texts[text]).astype(np.float32))
        shares = np.full(len(own), np.nan, dtype=np.float32)
        shares[judged] = 1.0 - np.searchsorted(background, own[judged], side="right") / len(background)
        return shares
