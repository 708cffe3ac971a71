"""`--sampling simans`: SimANS (Zhou et al., 2022), ambiguous negatives first: each eligible
candidate is drawn with weight exp(-a (s - pos - b)^2), pos being the anchor's lowest positive
score, so candidates scoring near pos + b are the likeliest; seeded per anchor."""

from __future__ import annotations

import numpy as np

from cltool.mine.samplers.base import Option, Pool, Sampler, register


@register
class Simans(Sampler):
    name = "simans"
    options = (Option("simans_a", minimum=0.0), Option("simans_b"))

    def pick(self, pool: Pool, num: int, settings) -> np.ndarray:
        from cltool.kernels.sample import gumbel_top_k, simans_log_weights

        weights = simans_log_weights(pool.ranks, pool.counts, pool.scores, pool.lowest, settings.simans_a,
                                     settings.simans_b)
        return gumbel_top_k(pool.ranks, pool.counts, weights, num, pool.seeds)
