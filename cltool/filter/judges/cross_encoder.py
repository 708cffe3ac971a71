"""`--judge cross-encoder:MODEL`: rescores (anchor, text) jointly; false when the negative scores
within (1 - ratio) of the anchor's lowest positive (sign-safe), or above --max-score."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cltool.dataset.columns import NEGATIVE_CE_SCORES, POSITIVE_CE_SCORE
from cltool.errors import InputError, UsageError
from cltool.filter.judges.base import Work, register
from cltool.filter.judges.scored import Ratio, ScoreJudge
from cltool.options import option

if TYPE_CHECKING:
    import numpy as np


@register
class CrossEncoderJudge(ScoreJudge):
    """A sentence-transformers CrossEncoder over (anchor, text); each distinct pair scored once."""

    name = "cross-encoder"
    help = "rescores (anchor, negative) jointly: false within --ratio of the lowest positive"
    order = 1
    argument = "required"
    argument_hint = "cltool ships no cross-encoder; pass the folder of one you have"
    score_column = NEGATIVE_CE_SCORES
    positive_column = POSITIVE_CE_SCORE  # for distillation: the teacher's score of every row's positive

    @dataclass(frozen=True)
    class Options(Ratio):
        max_score: float | None = option(None, "false at or above this score too.", kind="number-or-off")

    @classmethod
    def build(cls, argument, options, settings, cache_dir) -> CrossEncoderJudge:
        return cls(argument, options.ratio, options.max_score, settings.device, settings.batch_size)

    def __init__(self, name: str, ratio: float, max_score: float | None, device: str, batch_size: int):
        super().__init__(ratio, max_score)
        from cltool.embed.model import fingerprint, model_folder, offline

        offline()
        path, model_id = model_folder(name)
        _require_cross_encoder(name, path)
        self.described = {"model": name, "model_id": model_id, "model_path": str(path),
                          "model_fingerprint": fingerprint(path)}
        import torch
        from sentence_transformers import CrossEncoder

        if device.startswith("cuda") and not torch.cuda.is_available():
            raise UsageError("--device cuda, but torch sees no CUDA device", hint="use --device cpu")
        try:
            self.model = CrossEncoder(str(path), device=device, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - whatever the loader says, the user needs to know which model
            raise InputError(f"cannot load cross-encoder {name!r} from {path}: {type(exc).__name__}: {exc}",
                             hint="pass the folder of a saved sentence-transformers CrossEncoder") from None
        self.batch_size = batch_size
        self._cache: dict[tuple[int, int], float] = {}

    @property
    def pairs_scored(self) -> int:
        return len(self._cache)

    def score(self, work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray) -> np.ndarray:
        import numpy as np

        keys = list(zip(pair_anchor.tolist(), pair_text.tolist()))
        todo = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if todo:
            # sorted by length, so a batch pads to similar lengths (the largest saving on CPU)
            todo.sort(key=lambda k: len(work.anchor_texts[k[0]]) + len(work.texts[k[1]]))
            inputs = [(work.anchor_texts[a], work.texts[t]) for a, t in todo]
            scores = self.model.predict(inputs, batch_size=self.batch_size, show_progress_bar=False,
                                        convert_to_numpy=True)
            scores = np.asarray(scores, dtype=np.float32)
            if scores.ndim != 1:
                raise InputError(f"cross-encoder {self.described['model']!r} gives {scores.shape[-1]} scores per pair",
                                 hint="use a cross-encoder with a single relevance output (num_labels=1)")
            self._cache.update(zip(todo, scores.tolist()))
        return np.array([self._cache[k] for k in keys], dtype=np.float32)


def _require_cross_encoder(name: str, path: Path) -> None:
    """A bi-encoder folder would load as a CrossEncoder with a fresh, random head: refuse it."""
    import json

    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(f"cross-encoder {name!r}: {path} has no readable config.json",
                         hint="pass the folder of a saved sentence-transformers CrossEncoder") from None
    architectures = config.get("architectures") or []
    if not any(a.endswith("ForSequenceClassification") for a in architectures):
        raise InputError(f"{name!r} ({path}) is not a cross-encoder: its architecture is "
                         f"{', '.join(architectures) or 'not stated'}, with no classification head",
                         hint="an embedding model belongs to --judge bi-encoder:MODEL")
