"""What a pair judge is, what it reads (`Pairs`, `PairVectors`) and returns (`PairVerdict`), and the
registry of pair judges by name (`--pair-judge NAME[:MODEL]`).

A pair judge says of a row whether its positive answers its anchor. Every judge here gives one number
per row on the same scale whatever the model: the share of mismatched pairings that outscore the
row's own pair (its anchor with other rows' positives, its positive with other rows' anchors, or
random pairs of the file). A mismatched positive is another anchor's positive, so its share is
uniform on [0, 1]: a judge that flags shares above Q finds 1 - Q of them on any model's cosine scale,
and what Q costs is the correct pairs that the model ranks as low.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from cltool.errors import UsageError
from cltool.registry import Registry

if TYPE_CHECKING:
    import numpy as np

    from cltool.filter.judges import Work
    from cltool.filter.settings import Settings


@dataclass
class Pairs:
    """The judged rows: per row its anchor (an index into the anchors) and its positive (into the
    texts), -1 for a row not judged (blank); and each anchor's positives (CSR, as filter's `Work`), so
    that a row is never compared with a pairing that is its own (another positive of its anchor)."""

    row_anchor: np.ndarray
    row_positive: np.ndarray
    positive_offsets: np.ndarray
    positive_texts: np.ndarray

    @classmethod
    def of(cls, work: Work, row_anchor: np.ndarray, row_positive: np.ndarray) -> Pairs:
        return cls(row_anchor, row_positive, work.positive_offsets, work.positive_texts)

    @classmethod
    def from_keys(cls, anchor_keys: list, positive_keys: list, judged: np.ndarray) -> Pairs:
        """Rows grouped by their anchor's and their positive's match keys (rows not `judged`: -1)."""
        import numpy as np

        anchors: dict = {}
        texts: dict = {}
        row_anchor = np.full(len(anchor_keys), -1, dtype=np.int64)
        row_positive = np.full(len(anchor_keys), -1, dtype=np.int64)
        for r in np.nonzero(judged)[0].tolist():
            row_anchor[r] = anchors.setdefault(anchor_keys[r], len(anchors))
            row_positive[r] = texts.setdefault(positive_keys[r], len(texts))
        own = np.unique(np.stack([row_anchor, row_positive], axis=1)[judged], axis=0).reshape(-1, 2)
        offsets = np.zeros(len(anchors) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum(np.bincount(own[:, 0], minlength=len(anchors)))
        return cls(row_anchor, row_positive, offsets, own[:, 1].copy())

    def anchors_of_texts(self, texts: int) -> tuple[np.ndarray, np.ndarray]:
        """Each text's anchors (CSR over range(texts)): the anchors it is a positive of."""
        import numpy as np

        counts = np.diff(self.positive_offsets)
        anchor = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        order = np.argsort(self.positive_texts, kind="stable")
        offsets = np.zeros(texts + 1, dtype=np.int64)
        offsets[1:] = np.cumsum(np.bincount(self.positive_texts, minlength=texts))
        return offsets, anchor[order]


@dataclass
class PairVectors:
    """Unit vectors of every anchor and of every positive text (rows of Work's anchors and texts;
    texts that are no row's positive, and vectors the input lacks, are zeros), from one model."""

    anchors: np.ndarray
    texts: np.ndarray
    model: dict[str, Any]  # what made them: the input's embedding metadata, or the judge's model


@dataclass
class PairVerdict:
    flags: np.ndarray  # bool per row: mismatched
    shares: np.ndarray  # float32 per row: the share of mismatched pairings that outscore the row's pair


class PairJudge:
    """A pair judge scores every row once; `share_column` is its column in the output (every kept
    and every rejected row)."""

    name: ClassVar[str]
    help: ClassVar[str]  # one line for --pair-judge's help
    order: ClassVar[int]  # where messages and the output's columns list it
    share_column: ClassVar[str]
    described_as: ClassVar[str]  # what its share is, for the removed row's detail

    def __init__(self, model: str, settings: Settings):
        self.model = model  # "": the input's own vectors (the mining model), else this model embeds the pairs
        self.threshold = settings.mismatch_share
        self.seed = settings.seed

    def judge(self, pairs: Pairs, vectors: PairVectors) -> PairVerdict:
        import numpy as np

        shares = self.shares(pairs, vectors, np.random.default_rng(self.seed))
        return PairVerdict(shares > self.threshold, shares)

    def shares(self, pairs: Pairs, vectors: PairVectors, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def explain(self, share: float) -> str:
        return f"{self.name}: {share:.1%} of {self.described_as} outscore it (> {self.threshold:.1%})"


PAIR_JUDGES: Registry[type[PairJudge]] = Registry("pair judge", package="cltool.filter.pair_judges",
                                                  infrastructure=("base", "shares", "vectors", "verdicts"))


def register(cls: type[PairJudge]) -> type[PairJudge]:
    """Class decorator: make a pair judge available as `--pair-judge NAME`."""
    PAIR_JUDGES.add(cls.name, cls)
    return cls


NONE = "none"  # --pair-judge none: judge no pair


def parse_pair_judges(specs: list[str]) -> list[tuple[str, str]]:
    """`consistency`, `anchor-consistency:static`, ... -> (name, model); `none` alone: no judge."""
    if [s.strip().lower() for s in specs] == [NONE]:
        return []
    out = []
    for spec in specs:
        name, _, model = spec.partition(":")
        name = name.strip().lower()
        if name not in PAIR_JUDGES:
            raise UsageError(f"unknown pair judge {spec!r}; pair judges: "
                             f"{', '.join(f'{n}[:MODEL]' for n in PAIR_JUDGES)}, or {NONE}")
        out.append((name, model.strip()))
    if len({name for name, _ in out}) != len(out):
        raise UsageError("each pair judge may be given once")
    return out


def build_pair_judges(settings: Settings) -> list[PairJudge]:
    return [PAIR_JUDGES[name](model, settings) for name, model in parse_pair_judges(list(settings.pair_judges))]
