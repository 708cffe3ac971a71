"""`--sampling top`: the hardest eligible candidates, in rank order."""

from __future__ import annotations

from cltool.mine.samplers.base import Pool, Sampler, first, register


@register
class Top(Sampler):
    name = "top"
    help = "hardest first"

    def pick(self, pool: Pool, num: int, options):
        return first(pool.ranks, num)
