"""`--sampling simans`: SimANS (Zhou et al., 2022), ambiguous negatives first: each eligible
candidate is drawn with weight exp(-a (s - pos - b)^2), pos being the anchor's lowest positive
score, so candidates scoring near pos + b are the likeliest; seeded per anchor."""

from __future__ import annotations

from dataclasses import dataclass

from cltool.mine.samplers.base import Pool, Sampler, register
from cltool.options import Options, option


@register
class Simans(Sampler):
    name = "simans"
    help = "weight exp(-a (s - pos - b)^2)"

    @dataclass(frozen=True)
    class Options(Options):
        simans_a: float = option(50.0, "SimANS sharpness, on cosine scores.", minimum=0.0)
        simans_b: float = option(0.0, "SimANS offset from the positive's score.")

    def pick(self, pool: Pool, num: int, options):
        from cltool.kernels.sample import gumbel_top_k, simans_log_weights

        weights = simans_log_weights(pool.ranks, pool.counts, pool.scores, pool.lowest, options.simans_a,
                                     options.simans_b)
        return gumbel_top_k(pool.ranks, pool.counts, weights, num, pool.seeds)
