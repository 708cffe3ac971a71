"""labeled-pair: anchor, text, label (1 positive, 0 negative); one line per text (ContrastiveLoss).
With --include-scores the text's score replaces the label."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cltool.emit.formats.registry import Format, LineTexts, register

if TYPE_CHECKING:
    import pyarrow as pa


@register("labeled-pair", order=3, library="sentence-transformers", fixed_negatives=False)
class LabeledPair(Format):
    def lines(self, rows, index, negatives):  # the positive's line, then one line per negative
        return [line for r in index.tolist()
                for line in [(r, [r], []), *((r, [], [(r, j)]) for j in range(len(negatives[r])))]]

    def table(self, texts: LineTexts, n: int, include_scores: bool, prompt: str | None) -> pa.Table:
        import pyarrow as pa

        columns = {"anchor": texts.anchor, "text": [(p + x)[0] for p, x in zip(texts.positives, texts.negatives)]}
        if include_scores:
            columns["score"] = pa.array([(ps + ns)[0] for ps, ns in zip(texts.positive_scores, texts.negative_scores)],
                                        pa.float32())
        else:
            columns["label"] = pa.array([1 if p else 0 for p in texts.positives], pa.int64())
        return pa.table(columns)
