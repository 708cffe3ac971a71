"""`--sampling random`: uniformly among the eligible candidates of the window, seeded per anchor."""

from __future__ import annotations

import numpy as np

from cltool.mine.samplers.base import Pool, Sampler, register


@register
class Random(Sampler):
    name = "random"

    def pick(self, pool: Pool, num: int, settings) -> np.ndarray:
        from cltool.kernels.sample import gumbel_top_k

        uniform = np.zeros((len(pool.ranks), 0), dtype=np.float64)  # no columns: every weight equal
        return gumbel_top_k(pool.ranks, pool.counts, uniform, num, pool.seeds)
