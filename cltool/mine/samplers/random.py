"""`--sampling random` (the default): uniformly among the eligible candidates of the window, seeded
per anchor."""

from __future__ import annotations

from cltool.mine.samplers.base import Pool, Sampler, register


@register
class Random(Sampler):
    name = "random"
    help = "uniform in the window (the default)"

    def pick(self, pool: Pool, num: int, options):
        import numpy as np

        from cltool.kernels.sample import gumbel_top_k

        uniform = np.zeros((len(pool.ranks), 0), dtype=np.float64)  # no columns: every weight equal
        return gumbel_top_k(pool.ranks, pool.counts, uniform, num, pool.seeds)
