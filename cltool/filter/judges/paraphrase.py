"""`--judge paraphrase[:MODEL]`: the cosine of the negative and a positive under an embedding model
(the bundled one by default): a paraphrase of a positive is a false negative (mine's
--near-duplicate rule, for negatives that mine did not choose). Its threshold is read off the data
by default (`--paraphrase-threshold auto`, cltool.calibration): the cosine that only 1% of random
(positive, negative) pairs of this input reach under this model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cltool.errors import UsageError
from cltool.filter.judges.base import Judge, Verdict, Work, best_of_positives, register
from cltool.options import AUTO, Options, option

if TYPE_CHECKING:
    import numpy as np


@register
class ParaphraseJudge(Judge):
    """The negative's highest cosine with one of the anchor's positives, under an embedding model
    (the bundled one by default). Word overlap and MinHash never see a paraphrase; this does: on the
    known false negatives of bench/outcome.py's two real sets it separated false from true negatives
    with an AUC of 0.95 (Debian) and 0.81 (man pages). Texts are embedded through the embedding
    cache, so after `cltool embed` with the same model nothing is encoded again."""

    name = "paraphrase"
    help = "an embedding model's cosine of the negative with a positive (the bundled model by default)"
    order = 3
    argument = "optional"
    score_column = "negative_paraphrase_scores"
    reference_name = "threshold"  # a negative is compared with the threshold, not with a positive's score

    @dataclass(frozen=True)
    class Options(Options):
        paraphrase_threshold: float | str = option(
            AUTO, "false when the negative's cosine with a positive reaches this; auto (the default): the cosine "
                  "that only 1% of random (positive, negative) pairs of the input reach under the judge's model.",
            kind="threshold", minimum=-1.0, maximum=1.0)

        def validate(self, context) -> None:
            if self.paraphrase_threshold is None:
                raise UsageError("--paraphrase-threshold cannot be off", hint="leave out --judge paraphrase instead")

    @classmethod
    def build(cls, argument, options, settings, cache_dir) -> ParaphraseJudge:
        return cls(argument, options.paraphrase_threshold, settings.device, settings.batch_size, cache_dir,
                   settings.seed)

    def __init__(self, model: str, threshold: float | str, device: str, batch_size: int, cache_dir: Path,
                 seed: int):
        from cltool.embed.embedder import Embedder, TextVectors
        from cltool.embed.backend import model_on_backend

        spec = model_on_backend(model or None, device, cache_dir)
        self.threshold = threshold  # AUTO until the first pairs are judged
        self.seed = seed
        self.described = {**spec.describe(), "threshold": threshold}
        self.prompt = spec.prompts.get("document")
        # the embedding cache is opened while encoding only
        self._embed = Embedder(spec, None, lambda: spec.load(device, batch_size, None, normalize=True), True,
                               spec.max_seq_length, batch_size=batch_size)
        self._texts = TextVectors(self._embed, cache_dir, self.prompt)

    def _vectors_of(self, work: Work, texts: list[int]) -> np.ndarray:
        """The unit vectors of these texts (indices into work.texts), embedded once each."""
        return self._texts.of(work.texts, texts)

    def _cosines(self, work: Work, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        import numpy as np

        self._vectors_of(work, np.concatenate([left, right]).tolist())
        if not len(left):
            return np.empty(0, dtype=np.float32)
        a = self._vectors_of(work, left.tolist())
        b = self._vectors_of(work, right.tolist())
        return np.einsum("ij,ij->i", a, b).astype(np.float32)

    def judge(self, work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray) -> Verdict:
        import numpy as np

        # texts are embedded as pairs arrive (a refill brings new ones)
        best = best_of_positives(work, pair_anchor, pair_text, lambda left, right: self._cosines(work, left, right))
        if self.threshold == AUTO:  # from the first pairs (a refill's are judged on the same scale)
            self._calibrate(work, pair_text)
        return Verdict(best >= self.threshold, best, np.full(len(pair_text), self.threshold, dtype=np.float32))

    def explain(self, score: float, reference: float) -> str:
        return f"paraphrase: cosine {score:.4f} with a positive, at or above the threshold {reference:.4f}"

    def _calibrate(self, work: Work, pair_text: np.ndarray) -> None:
        """The threshold on this model's scale: random (positive, judged text) pairs of this input."""
        from cltool.calibration import NEAR_DUPLICATE_TAIL, Tail, random_pair_cosines

        left = self._vectors_of(work, sorted(set(work.positive_texts.tolist())))
        right = self._vectors_of(work, sorted(set(pair_text.tolist())))
        near = Tail.from_background(random_pair_cosines(left, right, self.seed), NEAR_DUPLICATE_TAIL)
        self.threshold = near.value if near.value is not None else float("inf")
        self.described["threshold"] = near.value
        self.described["calibration"] = {**near.describe(), "applied": True}
