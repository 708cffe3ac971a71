"""labeled-list: anchor, texts, labels (1 for the positive, 0 for each negative); one line per pair
(ListNet-style losses). With --include-scores the scores replace the labels."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cltool.emit.formats.registry import Format, LineTexts, register

if TYPE_CHECKING:
    import pyarrow as pa


@register("labeled-list", order=4, library="sentence-transformers", fixed_negatives=False)
class LabeledList(Format):
    def table(self, texts: LineTexts, n: int, include_scores: bool, prompt: str | None) -> pa.Table:
        import pyarrow as pa

        columns = {"anchor": texts.anchor, "texts": [p + x for p, x in zip(texts.positives, texts.negatives)]}
        if include_scores:
            columns["scores"] = texts.scores()
        else:
            labels = [[1] * len(p) + [0] * len(x) for p, x in zip(texts.positives, texts.negatives)]
            columns["labels"] = pa.array(labels, pa.list_(pa.int64()))
        return pa.table(columns)
