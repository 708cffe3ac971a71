"""`--sampling top`: the hardest eligible candidates, in rank order (the default)."""

from __future__ import annotations

import numpy as np

from cltool.mine.samplers.base import Pool, Sampler, first, register


@register
class Top(Sampler):
    name = "top"

    def pick(self, pool: Pool, num: int, settings) -> np.ndarray:
        return first(pool.ranks, num)
