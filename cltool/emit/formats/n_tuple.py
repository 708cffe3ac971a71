"""n-tuple: anchor, positive, negative_1 .. negative_n; one line per pair (MultipleNegativesRankingLoss)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cltool.emit.formats.registry import Format, LineTexts, register

if TYPE_CHECKING:
    import pyarrow as pa


@register("n-tuple", order=2, library="sentence-transformers", fixed_negatives=True)
class NTuple(Format):
    def table(self, texts: LineTexts, n: int, include_scores: bool, prompt: str | None) -> pa.Table:
        import pyarrow as pa

        columns = {"anchor": texts.anchor, "positive": [p[0] for p in texts.positives],
                   **{f"negative_{j + 1}": [x[j] for x in texts.negatives] for j in range(n)}}
        if include_scores:
            columns["scores"] = texts.scores()
        return pa.table(columns)
