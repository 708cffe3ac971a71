"""`--judge bi-encoder[:MODEL]`: the cross-encoder's rule on the cosine of another embedding model
(the bundled one by default)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cltool.dataset.pairs import JUDGE_SCORE_COLUMNS
from cltool.filter.judges.base import Work, register
from cltool.filter.judges.scored import ScoreJudge


@register
class BiEncoderJudge(ScoreJudge):
    """The cosine of another embedding model (or the same one, re-embedded), each text embedded once."""

    name = "bi-encoder"
    score_column = JUDGE_SCORE_COLUMNS[name]

    @classmethod
    def build(cls, argument, settings, cache_dir) -> BiEncoderJudge:
        return cls(argument, settings.ratio, None, settings.device, settings.batch_size, cache_dir)

    def __init__(self, name: str, ratio: float, max_score: float | None, device: str, batch_size: int,
                 cache_dir: Path):
        super().__init__(ratio, max_score)
        from cltool.embed.model import resolve_model

        spec = resolve_model(name or None, cache_dir)
        self.described = spec.describe()
        self.encoder = spec.load(device, batch_size, None, normalize=True)
        self.prompts = spec.prompts
        self._anchors: np.ndarray | None = None
        self._texts: dict[int, np.ndarray] = {}

    @property
    def pairs_scored(self) -> int:
        return len(self._texts) + (len(self._anchors) if self._anchors is not None else 0)

    def score(self, work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray) -> np.ndarray:
        if self._anchors is None:
            self._anchors = self.encoder.encode(work.anchor_texts, self.prompts.get("query"))
        todo = [t for t in dict.fromkeys(pair_text.tolist()) if t not in self._texts]
        if todo:
            vectors = self.encoder.encode([work.texts[t] for t in todo], self.prompts.get("document"))
            self._texts.update(zip(todo, vectors))
        if not len(pair_text):
            return np.empty(0, dtype=np.float32)
        texts = np.stack([self._texts[t] for t in pair_text.tolist()])
        return np.einsum("ij,ij->i", self._anchors[pair_anchor], texts).astype(np.float32)
