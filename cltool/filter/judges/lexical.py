"""`--judge lexical`: Jaccard of the normalised word sets of the negative and a positive."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cltool.filter.judges.base import Judge, Verdict, Work, best_of_positives, register
from cltool.options import Options, option

if TYPE_CHECKING:
    import numpy as np

LEXICAL_NORMALIZATION = ("nfkc", "case", "whitespace", "punctuation")


@register
class LexicalJudge(Judge):
    """Jaccard similarity of word sets (after NFKC, case folding, whitespace and punctuation
    normalisation) between the negative and each positive; the highest counts. Exact, on hashed
    word sets: cheaper than MinHash here, where each text meets only its anchor's few positives."""

    name = "lexical"
    help = "Jaccard of the negative's and a positive's normalised word sets"
    order = 4
    score_column = "negative_lexical_scores"

    @dataclass(frozen=True)
    class Options(Options):
        lexical_threshold: float = option(0.9, "false when the word sets' Jaccard with a positive reaches this.",
                                          above=0.0, maximum=1.0)

    @classmethod
    def build(cls, argument, options, settings, cache_dir) -> LexicalJudge:
        return cls(options.lexical_threshold)

    def __init__(self, threshold: float):
        self.threshold = threshold
        self.described = {"threshold": threshold, "shingles": "words", "normalization": list(LEXICAL_NORMALIZATION)}
        self._sets: tuple[np.ndarray, np.ndarray] | None = None
        self._size = -1

    def prepare(self, work: Work) -> None:
        import pyarrow as pa

        from cltool.dedup.near import utf8_buffers
        from cltool.dedup.text import normalize
        from cltool.kernels.minhash import WORD, shingle_sets

        data, offsets = utf8_buffers(normalize(pa.array(work.texts, pa.large_string()), LEXICAL_NORMALIZATION))
        self._sets = shingle_sets(data, offsets, 1, WORD)
        self._size = len(work.texts)

    def judge(self, work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray) -> Verdict:
        import numpy as np

        from cltool.kernels.minhash import jaccard_pairs

        if self._size != len(work.texts):  # a refill brought new texts
            self.prepare(work)

        best = best_of_positives(work, pair_anchor, pair_text,
                                 lambda left, right: jaccard_pairs(*self._sets, left, right))
        return Verdict(best >= self.threshold, best, np.full(len(pair_text), np.nan, dtype=np.float32))

    def explain(self, score: float, reference: float) -> str:
        return f"lexical: Jaccard {score:.3f} with a positive"
