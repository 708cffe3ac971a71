"""`--pair-judge consistency` and `--pair-judge anchor-consistency`: is the positive the answer its
anchor picks out, and is the anchor the question its positive picks out?

E5's consistency filter keeps a pair when its positive ranks among the top few for its anchor; a
fixed rank means something else in every corpus, so these give the rank as a share of a sample of
the file's own pool: other rows' positives for the anchor (`consistency`), other rows' anchors for
the positive (`anchor-consistency`). A swapped positive is one of those pool members, so its share
is about uniform on [0, 1]; a correct pair's share is near 0 unless the model cannot tell it apart.
The two are independent views of one pair (a generic positive outscores few anchors' own answers
but is outscored by none; a hub anchor the other way round), so by default both must agree."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cltool.filter.pair_judges.base import PairJudge, Pairs, PairVectors, register

if TYPE_CHECKING:
    import numpy as np


@register
class ConsistencyJudge(PairJudge):
    name = "consistency"
    help = "other rows' positives for its anchor"
    order = 1
    share_column = "positive_outscored_share"
    described_as = "other rows' positives for its anchor"

    def shares(self, pairs: Pairs, vectors: PairVectors, rng: np.random.Generator) -> np.ndarray:
        import numpy as np

        from cltool.filter.pair_judges.shares import outscored, own_scores, sample, with_vectors

        own = own_scores(pairs, vectors)
        positives = with_vectors(pairs.row_positive[~np.isnan(own)], vectors.texts)
        pool = positives[sample(len(positives), rng)]
        return outscored(vectors.anchors, pairs.row_anchor, own, vectors.texts[pool], pool,
                         pairs.positive_offsets, pairs.positive_texts, pairs.row_anchor)


@register
class AnchorConsistencyJudge(PairJudge):
    name = "anchor-consistency"
    help = "other rows' anchors for its positive"
    order = 2
    share_column = "anchor_outscored_share"
    described_as = "other rows' anchors for its positive"

    def shares(self, pairs: Pairs, vectors: PairVectors, rng: np.random.Generator) -> np.ndarray:
        import numpy as np

        from cltool.filter.pair_judges.shares import outscored, own_scores, sample, with_vectors

        own = own_scores(pairs, vectors)
        anchors = with_vectors(pairs.row_anchor[~np.isnan(own)], vectors.anchors)
        pool = anchors[sample(len(anchors), rng)]
        offsets, items = pairs.anchors_of_texts(len(vectors.texts))
        return outscored(vectors.texts, pairs.row_positive, own, vectors.anchors[pool], pool,
                         offsets, items, pairs.row_positive)
