"""What a sampler is, and the registry of samplers by name.

A sampler picks each anchor's negatives from its eligible candidates (those that passed every
rule, best first). It is a class registered with `@register`; it declares its `name` (the value
of `--sampling`), the settings it reads (`options`, fields of `cltool.mine.Settings`, each the CLI
option `--FIELD-WITH-DASHES`, with their checks) and `pick`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from cltool.errors import UsageError
from cltool.registry import Registry

if TYPE_CHECKING:
    from cltool.mine.settings import Settings


@dataclass(frozen=True)
class Pool:
    """What a sampler picks from, per anchor: the eligible ranks (best first, -1 padded), how many
    there are, the ranked scores they index, the anchor's lowest positive score and its seed."""

    ranks: np.ndarray  # (anchors, width) int32
    counts: np.ndarray  # (anchors,) int32
    scores: np.ndarray  # (anchors, depth) float32: scores[a, ranks[a, i]]
    lowest: np.ndarray  # (anchors,) float32
    seeds: np.ndarray  # (anchors,) uint64: each anchor's own random stream


@dataclass(frozen=True)
class Option:
    """A setting a sampler reads: a field of mine's Settings (and the CLI's --FIELD-WITH-DASHES)."""

    field: str
    minimum: float | None = None

    @property
    def flag(self) -> str:
        return "--" + self.field.replace("_", "-")


class Sampler:
    name: ClassVar[str]
    options: ClassVar[tuple[Option, ...]] = ()

    def check(self, settings: Settings) -> None:
        for option in self.options:
            value = getattr(settings, option.field)
            if option.minimum is not None and value < option.minimum:
                raise UsageError(f"{option.flag} must be {option.minimum:g} or more, not {value}")

    def pick(self, pool: Pool, num: int, settings: Settings) -> np.ndarray:
        """Up to `num` ranks per anchor from pool.ranks: (anchors, num) int32, ascending (best first), -1 padded."""
        raise NotImplementedError


SAMPLERS: Registry[Sampler] = Registry("sampler")


def register(cls: type[Sampler]) -> type[Sampler]:
    """Class decorator: make a sampler available as `--sampling NAME`."""
    SAMPLERS.add(cls.name, cls())
    return cls


def first(ranks: np.ndarray, num: int) -> np.ndarray:
    """The first `num` columns of -1 padded ranks, padded to `num` columns."""
    out = np.full((len(ranks), num), -1, dtype=np.int32)
    width = min(num, ranks.shape[1])
    out[:, :width] = ranks[:, :width]
    return out
