"""What a judge is, what every judge reads (`Work`) and returns (`Verdict`), and the registry of
judges by name (`--judge NAME[:MODEL]`).

A judge is a class registered with `@register`, one module of this package each. It declares its
`name`, a one-line `help`, whether it takes an `argument` (a model: "required", "optional" or
"none"), its `Options` (a `cltool.options.Options` dataclass: each field one option of `cltool
filter`, checked only when the judge is chosen), how it is `build`-t from them, and the columns it
fills: `score_column`, its score of every kept negative (None for a judge that only flags), and
`positive_column`, its score of every row's positive (None for most).

Light at import (the CLI reads the names and options): numpy is imported where a judge runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cltool.errors import UsageError
from cltool.options import Options
from cltool.registry import Registry

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from cltool.filter.settings import Settings
    from cltool.progress import Reporter


@dataclass
class Work:
    """What every judge reads: anchors, unique texts, and each anchor's positives (CSR)."""

    anchor_texts: list[str]
    texts: list[str]
    text_ids: list[str]
    positive_offsets: np.ndarray  # positives of anchor a: positive_texts[positive_offsets[a]:positive_offsets[a + 1]]
    positive_texts: np.ndarray  # indices into texts

    def positives_of(self, anchor: int) -> np.ndarray:
        return self.positive_texts[self.positive_offsets[anchor]:self.positive_offsets[anchor + 1]]


@dataclass
class Verdict:
    flags: np.ndarray  # bool per pair: a false negative
    scores: np.ndarray  # float32 per pair: the judge's score of the negative (NaN where it has none)
    reference: np.ndarray  # float32 per pair: what it was compared with (Judge.reference_name says what), or NaN


class Judge:
    """A judge scores a batch of (anchor, text) pairs and flags the false negatives; it may be called
    again with more pairs (refill), so what it computes once per anchor it keeps."""

    name: ClassVar[str]
    help: ClassVar[str]  # one line for --judge's help
    order: ClassVar[int]  # where messages and the output's columns list it
    Options: ClassVar[type[Options]] = Options
    argument: ClassVar[str] = "none"  # "required", "optional" (a model; the bundled one by default) or "none"
    argument_hint: ClassVar[str | None] = None  # what to do when a required argument is missing
    score_column: ClassVar[str | None] = None
    positive_column: ClassVar[str | None] = None
    reports_scores: ClassVar[bool] = False  # the summary gives the distributions of its scores
    # what a verdict's `reference` is: the removed negative's record calls its column JUDGE_<reference_name>
    reference_name: ClassVar[str] = "positive_score"
    described: dict[str, Any]

    @classmethod
    def build(cls, argument: str, options: Options, settings: Settings, cache_dir: Path) -> Judge:
        """The judge with its model (`argument`), its options, and the step's settings (device, batch
        size, seed)."""
        raise NotImplementedError

    def prepare(self, work: Work) -> None:
        """Called once before the first pairs."""

    def independence(self, schema: pa.Schema, reporter: Reporter | None = None) -> dict[str, Any] | None:
        """None when the judge is independent of how the input was mined; else what the manifest
        records, after a warning (a model judge with mine's own model repeats mine's scores)."""
        return None

    def judge(self, work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray) -> Verdict:
        raise NotImplementedError

    def explain(self, score: float, reference: float) -> str:
        """Why it flagged a pair, for the removed negative's record."""
        return f"{self.name}: {score:.4f} vs positive {reference:.4f}"


JUDGES: Registry[type[Judge]] = Registry("judge", package="cltool.filter.judges", infrastructure=("base", "scored"))


def register(cls: type[Judge]) -> type[Judge]:
    """Class decorator: make a judge available as `--judge NAME`."""
    JUDGES.add(cls.name, cls)
    return cls


def form(cls: type[Judge]) -> str:
    """How --judge names it: lexical, paraphrase[:MODEL], cross-encoder:MODEL."""
    return {"required": f"{cls.name}:MODEL", "optional": f"{cls.name}[:MODEL]"}.get(cls.argument, cls.name)


def score_columns() -> tuple[str, ...]:
    """The columns of judges' scores of the kept negatives (parallel to `negatives`), in the judges'
    order: what emit and inspect read besides mine's negative_scores."""
    return tuple(dict.fromkeys(j.score_column for j in JUDGES.values() if j.score_column))


def parse_judges(specs: list[str]) -> list[tuple[str, str]]:
    """`cross-encoder:PATH`, `bi-encoder[:MODEL]`, ... -> (name, argument)."""
    out = []
    for spec in specs:
        name, _, argument = spec.partition(":")
        name = name.strip().lower()
        judge = JUDGES.get(name)
        if judge is None:
            raise UsageError(f"unknown judge {spec!r}; judges: {', '.join(form(j) for j in JUDGES.values())}")
        if judge.argument == "required" and not argument:
            raise UsageError(f"--judge {name} needs a model: {name}:PATH_OR_NAME", hint=judge.argument_hint)
        if judge.argument == "none" and argument:
            raise UsageError(f"--judge {name} takes no argument (its thresholds are options), not {spec!r}")
        out.append((name, argument))
    if len({k for k, _ in out}) != len(out):
        raise UsageError("each judge may be given once")
    return out


def build_judges(settings: Settings, cache_dir: Path, reporter: Reporter | None = None) -> list[Judge]:
    judges = []
    for name, argument in parse_judges(list(settings.judges)):
        if reporter is not None and JUDGES[name].argument != "none":  # loading a model can take a while
            reporter.info(f"filter: the {name} judge with {argument or 'the bundled model'}")
        judges.append(JUDGES[name].build(argument, settings.options_of(name), settings, cache_dir))
    return judges


def best_of_positives(work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray, similarity) -> np.ndarray:
    """Per pair, the highest similarity(texts, positives) of the negative with one of its anchor's
    positives; NaN for an anchor without positives."""
    import numpy as np

    counts = np.diff(work.positive_offsets)[pair_anchor]
    left = np.repeat(pair_text, counts)
    right = np.concatenate([work.positives_of(a) for a in pair_anchor.tolist()]) if len(pair_anchor) else left
    values = similarity(left.astype(np.int64), right.astype(np.int64))
    best = np.full(len(pair_text), np.nan, dtype=np.float32)
    has = counts > 0
    if has.any():
        best[has] = np.maximum.reduceat(values, np.concatenate([[0], np.cumsum(counts)[:-1]])[has])
    return best
