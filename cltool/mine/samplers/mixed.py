"""`--sampling mixed`: the hardest `--mixed-top` eligible candidates, then the rest drawn uniformly
from the eligible candidates after them (seeded per anchor). Hard negatives teach the most, but the
very hardest are the likeliest false negatives; mixing keeps some of each, as people training
retrievers often do by hand (a few top-ranked plus random ones from the window)."""

from __future__ import annotations

from dataclasses import dataclass

from cltool.mine.samplers.base import Pool, Sampler, first, register
from cltool.options import Options, option


@register
class Mixed(Sampler):
    name = "mixed"
    help = "the hardest --mixed-top, the rest at random"

    @dataclass(frozen=True)
    class Options(Options):
        mixed_top: int = option(1, "How many of each anchor's negatives are its hardest eligible candidates; the "
                                   "rest are drawn at random from the eligible ones after them.", minimum=0)

    def pick(self, pool: Pool, num: int, options):
        import numpy as np

        from cltool.kernels.sample import gumbel_top_k

        top = min(options.mixed_top, num)
        chosen = first(pool.ranks, num)
        if top >= num:
            return chosen
        taken = np.minimum(pool.counts.astype(np.int64), top)
        # the rest of the pool, each row's first `taken` columns removed (rows shift left by their own count)
        width = pool.ranks.shape[1]
        columns = np.minimum(np.arange(width)[None, :] + taken[:, None], max(width - 1, 0))
        rest = np.take_along_axis(pool.ranks, columns, axis=1) if width else pool.ranks
        rest_counts = (pool.counts - taken).astype(np.int32)
        uniform = np.zeros((len(pool.ranks), 0), dtype=np.float64)  # no columns: every weight equal
        drawn = gumbel_top_k(rest, rest_counts, uniform, num - top, pool.seeds)
        out = np.concatenate([chosen[:, :top], drawn], axis=1)  # an anchor short of `top`: its draw is empty
        return _ascending(out)


def _ascending(ranks):
    """Each row's ranks best first, -1 padding last (the samplers' contract)."""
    import numpy as np

    big = np.iinfo(np.int32).max
    ordered = np.sort(np.where(ranks < 0, big, ranks), axis=1)
    return np.where(ordered == big, -1, ordered).astype(np.int32)
