"""`--judge bi-encoder[:MODEL]`: the cross-encoder's rule on the cosine of another embedding model
(the bundled one by default).

Texts are embedded through the embedding cache (as `cltool embed` and the paraphrase judge do), so
after `cltool embed` with the same model nothing is encoded again. A bi-encoder judge with the model
mine scored with is no independent judge: its cosines are mine's scores, so it can only repeat mine's
ranking; `independence` tells (from the input's embedding metadata) and the judge says so."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cltool.dataset.columns import ANCHOR, POSITIVE, embedding_column
from cltool.filter.judges.base import Work, register
from cltool.filter.judges.scored import ScoreJudge

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from cltool.progress import Reporter


@register
class BiEncoderJudge(ScoreJudge):
    """The cosine of another embedding model (or the same one, re-embedded), each text embedded once,
    through the embedding cache."""

    name = "bi-encoder"
    help = "the cross-encoder's rule on another embedding model's cosine"
    order = 2
    score_column = "negative_bi_encoder_scores"

    @classmethod
    def build(cls, argument, options, settings, cache_dir) -> BiEncoderJudge:
        return cls(argument, options.ratio, None, settings.device, settings.batch_size, cache_dir)

    def __init__(self, name: str, ratio: float, max_score: float | None, device: str, batch_size: int,
                 cache_dir: Path, reporter: Reporter | None = None):
        super().__init__(ratio, max_score)
        from cltool.embed.embedder import query_and_document_vectors

        self.spec, self.embedder, self._anchors, self._texts = query_and_document_vectors(
            name, device, batch_size, cache_dir, reporter)
        self.described = self.spec.describe()

    @property
    def pairs_scored(self) -> int:
        return len(self._texts) + len(self._anchors)

    def score(self, work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray) -> np.ndarray:
        import numpy as np

        if not len(pair_text):
            return np.empty(0, dtype=np.float32)
        anchors = self._anchors.of(work.anchor_texts, pair_anchor.tolist())
        texts = self._texts.of(work.texts, pair_text.tolist())
        self.described["embedding_cache"] = {"cache_hits": self.embedder.cache_hits,
                                             "encoded": self.embedder.encoded}
        return np.einsum("ij,ij->i", anchors, texts).astype(np.float32)

    def independence(self, schema: pa.Schema, reporter: Reporter | None = None) -> dict[str, Any] | None:
        """None when this judge's model differs from the one the input was embedded (and mined) with;
        else what the manifest records, after a warning to `reporter`: the same weights give mine's
        scores back, so the judge only repeats mine's ranking."""
        mined_with = _input_fingerprints(schema)
        if self.spec.fingerprint not in mined_with:
            self.described["independent"] = True
            return None
        note = {"independent": False,
                "same_model_as": sorted(mined_with[self.spec.fingerprint]),
                "note": f"--judge bi-encoder uses {self.spec.model_id}, the model the input was embedded and mined "
                        "with: its scores equal mine's, so it is not an independent judge"}
        self.described.update(note)
        if reporter is not None:
            reporter.warn(note["note"] + "; give it another model (--judge bi-encoder:MODEL) or use a cross-encoder")
        return note


def _input_fingerprints(schema: pa.Schema) -> dict[str, set[str]]:
    """Model fingerprint -> the input's embedding columns made with it (cltool embed's field metadata)."""
    from cltool.dataset.pairs import embedding_info

    out: dict[str, set[str]] = {}
    for column in (ANCHOR, POSITIVE):
        name = embedding_column(column)
        if name in schema.names:
            info = embedding_info(schema.field(name)) or {}
            if info.get("model_fingerprint"):
                out.setdefault(info["model_fingerprint"], set()).add(name)
    return out
