"""What a sampler is, and the registry of samplers by name.

A sampler picks each anchor's negatives from its eligible candidates (those that passed every
rule, best first). It is a class registered with `@register`; it declares its `name` (the value
of `--sampling`), its `Options` (a `cltool.options.Options` dataclass: each field one option of
`cltool mine`, checked only when the sampler is chosen) and `pick`.

Light at import (the CLI reads the names and options): numpy is imported where a sampler runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from cltool.options import Options
from cltool.registry import Registry

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Pool:
    """What a sampler picks from, per anchor: the eligible ranks (best first, -1 padded), how many
    there are, the ranked scores they index, the anchor's lowest positive score and its seed."""

    ranks: np.ndarray  # (anchors, width) int32
    counts: np.ndarray  # (anchors,) int32
    scores: np.ndarray  # (anchors, depth) float32: scores[a, ranks[a, i]]
    lowest: np.ndarray  # (anchors,) float32
    seeds: np.ndarray  # (anchors,) uint64: each anchor's own random stream


class Sampler:
    name: ClassVar[str]
    help: ClassVar[str]  # one line for --sampling's help
    Options: ClassVar[type[Options]] = Options

    def pick(self, pool: Pool, num: int, options: Options) -> np.ndarray:
        """Up to `num` ranks per anchor from pool.ranks: (anchors, num) int32, ascending (best first), -1 padded."""
        raise NotImplementedError


SAMPLERS: Registry[Sampler] = Registry("sampler", package="cltool.mine.samplers", infrastructure=("base",))


def register(cls: type[Sampler]) -> type[Sampler]:
    """Class decorator: make a sampler available as `--sampling NAME`."""
    SAMPLERS.add(cls.name, cls())
    return cls


def first(ranks: np.ndarray, num: int) -> np.ndarray:
    """The first `num` columns of -1 padded ranks, padded to `num` columns."""
    import numpy as np

    out = np.full((len(ranks), num), -1, dtype=np.int32)
    width = min(num, ranks.shape[1])
    out[:, :width] = ranks[:, :width]
    return out
