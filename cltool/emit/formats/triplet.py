"""triplet: anchor, positive, negative; one line per negative (TripletLoss, MultipleNegativesRankingLoss)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cltool.emit.formats.registry import Format, LineTexts, register

if TYPE_CHECKING:
    import pyarrow as pa


@register("triplet", order=1, library="sentence-transformers", fixed_negatives=True)
class Triplet(Format):
    def lines(self, rows, index, negatives):
        return [(r, [r], [(r, j)]) for r in index.tolist() for j in range(len(negatives[r]))]

    def table(self, texts: LineTexts, n: int, include_scores: bool, prompt: str | None) -> pa.Table:
        import pyarrow as pa

        columns = {"anchor": texts.anchor, "positive": [p[0] for p in texts.positives],
                   "negative": [x[0] for x in texts.negatives]}
        if include_scores:
            columns["scores"] = texts.scores()
        return pa.table(columns)
