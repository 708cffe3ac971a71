"""bge: FlagEmbedding JSONL: query, pos, neg, [pos_scores, neg_scores], [prompt]; one line per anchor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cltool.emit.formats.registry import Format, LineTexts, register

if TYPE_CHECKING:
    import pyarrow as pa


@register("bge", order=5, library="FlagEmbedding JSONL", fixed_negatives=True, takes_prompt=True)
class Bge(Format):
    def lines(self, rows, index, negatives):
        """One line per anchor: its positives and negatives gathered from all its rows, in order, each text once."""
        members: dict[int, list[int]] = {}
        for r in index.tolist():
            members.setdefault(int(rows.anchor_keys[r]), []).append(r)
        lines = []
        for group in members.values():
            positives: dict[str, int] = {}
            slots: dict[str, tuple[int, int]] = {}
            for r in group:
                positives.setdefault(rows.positives[r], r)
                for j, text in enumerate(negatives[r]):
                    slots.setdefault(text, (r, j))
            lines.append((group[0], list(positives.values()), list(slots.values())))
        return lines

    def table(self, texts: LineTexts, n: int, include_scores: bool, prompt: str | None) -> pa.Table:
        import pyarrow as pa

        columns = {"query": texts.anchor, "pos": texts.positives, "neg": texts.negatives}
        if include_scores:
            columns["pos_scores"] = pa.array(texts.positive_scores, pa.list_(pa.float32()))
            columns["neg_scores"] = pa.array(texts.negative_scores, pa.list_(pa.float32()))
        if prompt is not None:
            columns["prompt"] = [prompt] * len(texts.anchor)
        return pa.table(columns)
