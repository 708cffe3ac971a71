"""`--sampling semi-hard`: skip the hardest `--semi-hard-skip` eligible candidates and take the next
ones in rank order. The hardest candidates that pass every rule are still the likeliest false
negatives; InterCLR (Xie et al., 2022) found semi-hard negatives more reliable than the very hardest.
An anchor with too few beyond the skipped ones takes back the skipped ones nearest the cut, so no
anchor loses a negative. Deterministic: no random draw.
"""

from __future__ import annotations

import numpy as np

from cltool.mine.samplers.base import Option, Pool, Sampler, register


@register
class SemiHard(Sampler):
    name = "semi-hard"
    options = (Option("semi_hard_skip", minimum=0),)

    def pick(self, pool: Pool, num: int, settings) -> np.ndarray:
        counts = pool.counts.astype(np.int64)
        take = np.minimum(counts, num)
        # the window of `take` eligible ranks starts after the skipped ones, or earlier when that
        # would run past the last eligible one
        start = np.clip(counts - take, 0, settings.semi_hard_skip)
        chosen = np.full((len(counts), num), -1, dtype=np.int32)
        if pool.ranks.shape[1] == 0:
            return chosen
        columns = np.minimum(start[:, None] + np.arange(num), pool.ranks.shape[1] - 1)
        taken = np.arange(num) < take[:, None]
        chosen[taken] = np.take_along_axis(pool.ranks, columns, axis=1)[taken]
        return chosen
