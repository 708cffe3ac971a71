"""n-tuple: anchor, positive, negative_1 .. negative_n; one line per pair (MultipleNegativesRankingLoss)."""

from __future__ import annotations

import pyarrow as pa

from cltool.emit.formats.registry import Format, LineTexts, register


@register("n-tuple", library="sentence-transformers", fixed_negatives=True)
class NTuple(Format):
    def table(self, texts: LineTexts, n: int, include_scores: bool, prompt: str | None) -> pa.Table:
        columns = {"anchor": texts.anchor, "positive": [p[0] for p in texts.positives],
                   **{f"negative_{j + 1}": [x[j] for x in texts.negatives] for j in range(n)}}
        if include_scores:
            columns["scores"] = texts.scores()
        return pa.table(columns)
